/**
 * The pure rules of the LDAP and SCIM incremental exports: what the last export saw of an
 * object (a hash of its row and its link values), what command a changed object gets, which
 * links appear and vanish, and how far the watermark may advance.
 */
import { createHash } from "node:crypto";

/** What an export saw of one object: a hash of its row and, per link table, its link values. */
export interface ObjectRecord {
  readonly hash: string;
  readonly links: Readonly<Record<string, readonly string[]>>;
}

/** A short, stable hash of a row's fields. */
export function rowHash(fields: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(fields)).digest("base64url").slice(0, 22);
}

export interface ObjectChanges {
  /** The row's command, or undefined when the row did not change. */
  readonly command: "insert" | "update" | undefined;
  /** Per link table: the link values that vanished and those that appeared. */
  readonly links: Readonly<Record<string, { readonly removed: string[]; readonly added: string[] }>>;
}

/**
 * What changed in an object since the last export saw it (`previous` undefined: it is new).
 * A row whose hash did not change gets no command, even if the object was reported as
 * modified: a watermark that overlaps the last export reports objects twice.
 */
export function objectChanges(
  previous: ObjectRecord | undefined,
  current: ObjectRecord,
  linkTables: readonly string[],
): ObjectChanges {
  const command = previous === undefined ? "insert" : previous.hash === current.hash ? undefined : "update";
  const links: Record<string, { removed: string[]; added: string[] }> = {};
  for (const table of linkTables) {
    links[table] = diffValues(previous?.links[table] ?? [], current.links[table] ?? []);
  }
  return { command, links };
}

/** The values of `previous` missing from `current` and those of `current` missing from `previous`. */
export function diffValues(
  previous: readonly string[],
  current: readonly string[],
): { removed: string[]; added: string[] } {
  const before = new Set(previous);
  const after = new Set(current);
  return {
    removed: [...before].filter((v) => !after.has(v)),
    added: [...after].filter((v) => !before.has(v)),
  };
}

/** Removes repeated values, keeping the first of each. */
export function uniqueValues(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** A change time of an object as the source writes it, and as milliseconds since 1970. */
export interface Watermark {
  readonly raw: string;
  readonly ms: number;
}

/**
 * The watermark the next incremental export starts from: the newest change time seen, but
 * never later than `overlapMs` before this export started (by this machine's clock), so that
 * a change made while the export ran, or stamped by a server whose clock is a little behind,
 * is read again next time (and dropped then if it was already seen). When nothing was seen,
 * the previous watermark stays.
 */
export function nextWatermark(options: {
  readonly previous: string | undefined;
  readonly newest: Watermark | undefined;
  readonly startedMs: number;
  readonly overlapMs: number;
  readonly format: (ms: number) => string;
}): string | undefined {
  const { newest } = options;
  if (newest === undefined) return options.previous;
  const limit = options.startedMs - options.overlapMs;
  return newest.ms <= limit ? newest.raw : options.format(limit);
}

/** Keeps the newest of the watermarks it is shown. */
export class NewestWatermark {
  private best: Watermark | undefined;

  observe(raw: string | undefined, parse: (raw: string) => number | undefined): void {
    if (raw === undefined || raw === "") return;
    const ms = parse(raw);
    if (ms === undefined || Number.isNaN(ms)) return;
    if (this.best === undefined || ms > this.best.ms) this.best = { raw, ms };
  }

  get value(): Watermark | undefined {
    return this.best;
  }
}
