#!/usr/bin/env bash
# Installs and starts what the tests need, and only what is missing: `npm test` and `.ci/run`
# both call it. When everything is there it only looks (well under a second).
#
#   Debian packages   slapd, ldap-utils   the LDAP connector's tests start their own slapd
#                     postgresql-client   pg_dump / pg_restore for the end-to-end tests
#                     chromium            /usr/bin/chromium for the admin console's browser tests
#   servers           PostgreSQL          127.0.0.1:5432, user postgres, database "test"
#                     MariaDB             127.0.0.1:3306, root with an empty password, database "test"
#                     NATS (JetStream)    127.0.0.1:4222
#                     RabbitMQ            127.0.0.1:5672
#
# Packages are installed with apt-get (as root; `apt-get update` first, only when something is
# to be installed). Where the script cannot act (not root, no apt-get, a server that is not
# installed) it stops with one message naming everything that is missing and how to install it.
set -uo pipefail

export DEBIAN_FRONTEND=noninteractive
problems=()

have() { command -v "$1" >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_for SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds or SECONDS pass.
wait_for() {
  local tries=$(($1 * 5))
  shift
  for _ in $(seq 1 "$tries"); do
    "$@" && return 0
    sleep 0.2
  done
  "$@"
}
can_install() { [ "$(id -u)" = 0 ] && have apt-get; }

# --- Debian packages ------------------------------------------------------------------------
packages=()
{ [ -x /usr/sbin/slapd ] || have slapd; } && [ -f /etc/ldap/schema/inetorgperson.schema ] || packages+=(slapd)
have ldapadd && have ldapmodify && have ldapsearch || packages+=(ldap-utils)
have pg_dump && have pg_restore || packages+=(postgresql-client)
[ -x /usr/bin/chromium ] || packages+=(chromium)

if [ ${#packages[@]} -gt 0 ]; then
  if can_install; then
    echo "setup-test-env: installing ${packages[*]}" >&2
    if ! { apt-get update -qq && apt-get install -y -qq "${packages[@]}" >/dev/null; }; then
      problems+=("apt-get could not install ${packages[*]}: run DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages[*]}")
    fi
  else
    why=$([ "$(id -u)" = 0 ] && echo "apt-get is not available" || echo "this script does not run as root")
    problems+=("Debian packages missing: ${packages[*]}, and $why: install them with sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages[*]}")
  fi
fi

# --- PostgreSQL -------------------------------------------------------------------------------
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_up; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ] || ! have pg_ctlcluster; then
    problems+=("PostgreSQL is not running at 127.0.0.1:5432 and no server is installed: apt-get install -y postgresql, then rerun this script")
  elif [ "$(id -u)" != 0 ]; then
    problems+=("PostgreSQL is not running at 127.0.0.1:5432: start it with sudo pg_ctlcluster --skip-systemctl-redirect $version main start")
  else
    echo "setup-test-env: starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1
    wait_for 30 pg_up || problems+=("PostgreSQL $version did not start: see /var/log/postgresql/postgresql-$version-main.log")
  fi
fi
if pg_up; then
  exists=$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>&1)
  if [ "$exists" != 1 ] && ! psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test" >/dev/null; then
    problems+=("cannot create the PostgreSQL database \"test\" as user postgres at 127.0.0.1:5432 ($exists)")
  fi
fi

# --- MariaDB ----------------------------------------------------------------------------------
maria_up() { mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }
if ! maria_up; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    problems+=("MariaDB is not running at 127.0.0.1:3306 and is not installed: apt-get install -y mariadb-server, then rerun this script")
  elif [ "$(id -u)" != 0 ]; then
    problems+=("MariaDB is not running at 127.0.0.1:3306: start it with sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd")
  else
    echo "setup-test-env: starting MariaDB" >&2
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for 30 maria_up || problems+=("MariaDB did not start: run /usr/sbin/mariadbd in a terminal to see why")
  fi
fi
if maria_up && ! mariadb -h 127.0.0.1 -P 3306 -u root -e "CREATE DATABASE IF NOT EXISTS test" >/dev/null 2>&1; then
  problems+=("cannot create the MariaDB database \"test\" as root (empty password) at 127.0.0.1:3306")
fi

# --- NATS with JetStream ----------------------------------------------------------------------
if ! port_open 4222; then
  if [ ! -x /usr/sbin/nats-server ]; then
    problems+=("NATS is not running at 127.0.0.1:4222 and is not installed: apt-get install -y nats-server, then rerun this script")
  elif [ "$(id -u)" != 0 ]; then
    problems+=("NATS is not running at 127.0.0.1:4222: start it with sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server")
  else
    echo "setup-test-env: starting NATS" >&2
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    wait_for 15 port_open 4222 || problems+=("NATS did not start: see /var/log/nats-server.log")
  fi
fi

# --- RabbitMQ ---------------------------------------------------------------------------------
if ! port_open 5672; then
  if ! have rabbitmq-server; then
    problems+=("RabbitMQ is not running at 127.0.0.1:5672 and is not installed: apt-get install -y rabbitmq-server, then rerun this script")
  elif [ "$(id -u)" != 0 ]; then
    problems+=("RabbitMQ is not running at 127.0.0.1:5672: start it with sudo rabbitmq-server -detached")
  else
    echo "setup-test-env: starting RabbitMQ" >&2
    rabbitmq-server -detached >/dev/null 2>&1
    wait_for 90 port_open 5672 || problems+=("RabbitMQ did not start: see /var/log/rabbitmq/")
  fi
fi

if [ ${#problems[@]} -gt 0 ]; then
  {
    echo "The tests cannot run on this machine yet:"
    for p in "${problems[@]}"; do echo "  - $p"; done
  } >&2
  exit 1
fi
