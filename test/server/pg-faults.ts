/**
 * Faults between a server and PostgreSQL, for the outage tests: a TCP proxy in front of the
 * test database that can hold a client's message until a fault is made (to strike at an exact
 * statement), cut connections and refuse new ones; and the termination of every backend of an
 * `application_name`, as an administrator (or a failover) does.
 */
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import pg from "pg";

export const POSTGRES_URL =
  process.env["SYNCUP_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** A proxied connection: the client's socket and the one to PostgreSQL. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
}

/** When a client's message matches `when`, `fault` runs before the message would go on. */
export interface Trap {
  /** The message's bytes as latin1 text (SQL and parameters are readable in it), and its link's number. */
  readonly when: (text: string, link: number) => boolean;
  readonly fault: () => Promise<void>;
}

export class PgProxy {
  private server: Server | null = null;
  private readonly links: Link[] = [];
  private refusing = false;
  private trap: { trap: Trap; sprung: () => void } | null = null;

  private constructor(private readonly target: URL) {}

  /** A proxy in front of the database of `url`; `proxied(url)` gives the URL through it. */
  static async start(url: string = POSTGRES_URL): Promise<PgProxy> {
    const proxy = new PgProxy(new URL(url));
    proxy.server = createServer((client) => proxy.accept(client));
    await new Promise<void>((ok) => proxy.server!.listen(0, "127.0.0.1", ok));
    return proxy;
  }

  /** `url` (of the same server) through the proxy, its sessions named `applicationName`. */
  proxied(url: string, applicationName: string): string {
    const through = new URL(url);
    through.hostname = "127.0.0.1";
    through.port = String((this.server!.address() as { port: number }).port);
    through.searchParams.set("application_name", applicationName);
    return through.toString();
  }

  /** Arms a one-shot trap; resolves once it went off and its fault was made. */
  arm(trap: Trap): Promise<void> {
    return new Promise((sprung) => (this.trap = { trap, sprung }));
  }

  /** While on, every new connection is closed as soon as it is made (the database is unreachable). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Connections open now, by number (order of connection). */
  open(): number[] {
    return this.links.flatMap((l, i) => (l.client.destroyed ? [] : [i]));
  }

  /** Cuts connection `n` (both ways), as a network failure does. */
  cut(n: number): void {
    const link = this.links[n];
    link?.client.destroy();
    link?.upstream.destroy();
  }

  async close(): Promise<void> {
    for (let i = 0; i < this.links.length; i++) this.cut(i);
    await new Promise<void>((ok) => this.server?.close(() => ok()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = netConnect(Number(this.target.port || 5432), this.target.hostname);
    const n = this.links.push({ client, upstream }) - 1;
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    upstream.on("data", (d: Buffer) => client.write(d));
    // Messages go on in order: one held for a fault holds those behind it.
    let queue = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      const armed = this.trap;
      if (armed === null || !armed.trap.when(chunk.toString("latin1"), n)) {
        queue = queue.then(() => void (upstream.destroyed || upstream.write(chunk)));
        return;
      }
      this.trap = null;
      client.pause();
      queue = queue.then(async () => {
        await armed.trap.fault();
        armed.sprung();
        // The backend the message was for may be gone: the client hears of it from PostgreSQL.
        if (!upstream.destroyed) upstream.write(chunk);
        client.resume();
      });
    });
  }
}

/**
 * Terminates every backend whose `application_name` is `name`, waiting until they have
 * exited; returns how many there were.
 */
export async function terminateBackends(name: string): Promise<number> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL, application_name: "syncup-test-admin" });
  await admin.connect();
  try {
    // The backends are chosen first, and only those terminated: in one WHERE clause, the
    // planner may call pg_terminate_backend before it compares the name.
    const found = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    const pids = found.rows.map((r) => r.pid);
    for (const pid of pids) await admin.query("SELECT pg_terminate_backend($1, 5000)", [pid]);
    return pids.length;
  } finally {
    await admin.end();
  }
}
