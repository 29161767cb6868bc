/** Reading a SQL connection's URL (pure). Messages name `display`, never the URL, which may hold a password. */

export type SqlKind = "postgres" | "mysql" | "sqlite";

export interface ServerUrl {
  readonly kind: "postgres" | "mysql";
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  /** A password written in the URL (discouraged: use passwordEnv or passwordFile). */
  readonly password: string | undefined;
  readonly database: string;
  readonly params: Readonly<Record<string, string>>;
  /** `host:port/database`, for messages. */
  readonly display: string;
}

export interface SqliteUrl {
  readonly kind: "sqlite";
  readonly path: string;
  readonly display: string;
}

export function parseSqlUrl(url: string): ServerUrl | SqliteUrl {
  if (/^sqlite:/i.test(url)) {
    const path = url.slice("sqlite:".length);
    return { kind: "sqlite", path, display: path };
  }
  const parsed = new URL(url);
  const scheme = parsed.protocol.replace(/:$/, "").toLowerCase();
  const kind = scheme === "postgres" || scheme === "postgresql" ? "postgres" : "mysql";
  const host = decodeURIComponent(parsed.hostname.replace(/^\[(.*)\]$/, "$1"));
  const port = parsed.port === "" ? (kind === "postgres" ? 5432 : 3306) : Number(parsed.port);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  const params: Record<string, string> = {};
  for (const [k, v] of parsed.searchParams) params[k] = v;
  return {
    kind,
    host: params["host"] ?? host,
    port,
    user: parsed.username === "" ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === "" ? undefined : decodeURIComponent(parsed.password),
    database,
    params,
    display: `${host}:${port}/${database}`,
  };
}

/** A relative `sqlite:` path made absolute with `abs`; other URLs unchanged. */
export function resolveSqliteUrl(url: string, abs: (path: string) => string): string {
  if (!/^sqlite:/i.test(url)) return url;
  const path = url.slice("sqlite:".length);
  return path === ":memory:" ? url : `sqlite:${abs(path)}`;
}
