/**
 * A throwaway OpenLDAP server for the tests: Debian's `slapd`, started in a temporary folder
 * on free loopback ports (ldap:// with StartTLS, and ldaps://), with an mdb database, the
 * core/cosine/inetorgperson schemas and a small schema of Active Directory's objectGUID and
 * objectSid; loaded and changed with ldapadd / ldapmodify of `ldap-utils`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers.js";

export const SUFFIX = "dc=example,dc=com";
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PASSWORD = "root-secret";
export const READER_DN = `cn=reader,${SUFFIX}`;
export const READER_PASSWORD = "reader-secret";
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

const SLAPD_CANDIDATES = ["/usr/sbin/slapd", "/usr/local/sbin/slapd", "/usr/local/libexec/slapd"];
const MODULE_DIRS = [
  "/usr/lib/ldap",
  "/usr/lib64/openldap",
  "/usr/lib/openldap",
  "/usr/local/libexec/openldap",
];
const SCHEMA_DIR = "/etc/ldap/schema";

const TEST_SCHEMA = `
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID' EQUALITY octetStringMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.146 NAME 'objectSid' EQUALITY octetStringMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'syncupTestObject' AUXILIARY MAY ( objectGUID $ objectSid ) )
`;

function which(program: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Fails with the install command when slapd or ldap-utils are missing (never skips silently). */
function requireTools(): { slapd: string; modules: string | undefined } {
  const slapd = SLAPD_CANDIDATES.find((p) => existsSync(p)) ?? which("slapd");
  const missing = [
    slapd === undefined ? "slapd" : undefined,
    ...["ldapadd", "ldapmodify", "ldapsearch"].map((t) => (which(t) === undefined ? t : undefined)),
    existsSync(join(SCHEMA_DIR, "inetorgperson.schema")) ? undefined : `${SCHEMA_DIR}/inetorgperson.schema`,
  ].filter((m) => m !== undefined);
  if (slapd === undefined || missing.length > 0) {
    throw new Error(
      `The LDAP connector tests run a real OpenLDAP server, and ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing. Install them: DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils (the CI script installs them).`,
    );
  }
  return {
    slapd,
    modules: MODULE_DIRS.find(
      (d) => existsSync(join(d, "back_mdb.la")) || existsSync(join(d, "back_mdb.so")),
    ),
  };
}

export class Slapd {
  private stderr = "";

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly tlsPort: number,
    private readonly process: ChildProcess,
  ) {}

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `ldaps://localhost:${this.tlsPort}`;
  }

  /** Starts slapd in `dir`, waits until it answers, and loads the base entries and the reader account. */
  static async start(dir: string): Promise<Slapd> {
    const tools = requireTools();
    const [port, tlsPort] = [await freePort(), await freePort()];
    await mkdir(join(dir, "db"), { recursive: true });
    await writeFile(join(dir, "test.schema"), TEST_SCHEMA);
    const conf = [
      `include ${SCHEMA_DIR}/core.schema`,
      `include ${SCHEMA_DIR}/cosine.schema`,
      `include ${SCHEMA_DIR}/inetorgperson.schema`,
      `include ${join(dir, "test.schema")}`,
      `pidfile ${join(dir, "slapd.pid")}`,
      ...(tools.modules === undefined ? [] : [`modulepath ${tools.modules}`, "moduleload back_mdb"]),
      `TLSCACertificateFile ${join(FIXTURES, "ca.pem")}`,
      `TLSCertificateFile ${join(FIXTURES, "server.pem")}`,
      `TLSCertificateKeyFile ${join(FIXTURES, "server.key")}`,
      "sizelimit unlimited",
      "database mdb",
      "maxsize 1073741824",
      "dbnosync",
      `suffix "${SUFFIX}"`,
      `rootdn "${ROOT_DN}"`,
      `rootpw ${ROOT_PASSWORD}`,
      `directory ${join(dir, "db")}`,
      "index objectClass eq",
      "access to attrs=userPassword by self write by anonymous auth by * none",
      "access to * by * read",
      "",
    ].join("\n");
    await writeFile(join(dir, "slapd.conf"), conf);
    const child = spawn(
      tools.slapd,
      [
        "-h",
        `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`,
        "-f",
        join(dir, "slapd.conf"),
        "-d",
        "0",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const server = new Slapd(dir, port, tlsPort, child);
    child.stderr?.on("data", (chunk: Buffer) => {
      server.stderr = (server.stderr + chunk.toString("utf8")).slice(-4000);
    });
    await server.waitUntilListening();
    await server.add(`dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ${READER_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: ${READER_PASSWORD}
`);
    return server;
  }

  private async waitUntilListening(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) {
        throw new Error(`slapd exited with code ${this.process.exitCode}: ${this.stderr}`);
      }
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(this.port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      });
      if (open) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`slapd did not answer on port ${this.port} within 15 s: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.pid === undefined) return;
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Runs an ldap-utils program as the root DN with `input` on its standard input. */
  private async tool(program: string, args: string[], input: string): Promise<string> {
    const child = spawn(program, ["-x", "-H", this.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD, ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    if (code !== 0) throw new Error(`${program} ${args.join(" ")} exited with ${code}: ${err.slice(-2000)}`);
    return out;
  }

  add(ldif: string): Promise<string> {
    return this.tool("ldapadd", [], ldif);
  }

  modify(ldif: string): Promise<string> {
    return this.tool("ldapmodify", [], ldif);
  }

  /** ldapsearch's LDIF of `base`'s subtree (no line wrapping). */
  search(base: string, filter: string, attributes: string[]): Promise<string> {
    return this.tool("ldapsearch", ["-LLL", "-o", "ldif-wrap=no", "-b", base, filter, ...attributes], "");
  }
}

/** An entry of ldapsearch's LDIF: its DN and its values as bytes, by attribute name in lower case. */
export interface LdifEntry {
  dn: string;
  values: Map<string, Buffer[]>;
}

/** Parses the LDIF that ldapsearch -LLL -o ldif-wrap=no writes. */
export function parseLdif(text: string): LdifEntry[] {
  const entries: LdifEntry[] = [];
  for (const block of text.split(/\n\n+/)) {
    const lines = block.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    if (lines.length === 0) continue;
    let dn = "";
    const values = new Map<string, Buffer[]>();
    for (const line of lines) {
      const m = /^([^:]+)(::?) ?(.*)$/.exec(line);
      if (m === null) throw new Error(`unexpected LDIF line ${line}`);
      const [, name, colons, raw] = m as unknown as [string, string, string, string];
      const value = colons === "::" ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
      if (name.toLowerCase() === "dn") {
        dn = value.toString("utf8");
        continue;
      }
      const key = name.toLowerCase();
      values.set(key, [...(values.get(key) ?? []), value]);
    }
    entries.push({ dn, values });
  }
  return entries;
}
