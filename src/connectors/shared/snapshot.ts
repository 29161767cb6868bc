/**
 * The state an incremental LDAP or SCIM export starts from, kept in the connection's state
 * folder: per object table, `<table>.state.json` (settings fingerprint, watermark, the name of
 * the snapshot file) and `<table>.<id>.snapshot.jsonl` (one line per object the last export
 * wrote: `[key, rowHash, {linkTable: [values]}]`). A new snapshot is written under a fresh
 * id; `commit` points the state file at it (an atomic rename) and only then removes the old
 * one, so a crash leaves either the old state or the new one.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readdir, readFile, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SyncupError } from "../../errors.js";
import type { ObjectRecord } from "./incremental.js";

const STATE_VERSION = 1;
const FLUSH_CHARS = 64 * 1024;

export interface SnapshotState {
  readonly version: number;
  readonly table: string;
  /** A hash of the settings that shape the exported files; another value means "run a complete export". */
  readonly fingerprint: string;
  readonly watermark: string | null;
  readonly snapshot: string;
  readonly objects: number;
  readonly exportedAt: string;
}

export interface LoadedSnapshot {
  readonly state: SnapshotState;
  readonly records: Map<string, ObjectRecord>;
}

const stateFile = (table: string) => `${table}.state.json`;

/** Reads the state of `table`, or undefined when there is none. */
export async function loadSnapshot(stateDir: string, table: string): Promise<LoadedSnapshot | undefined> {
  const path = join(stateDir, stateFile(table));
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const state = parseState(text, path);
  const records = new Map<string, ObjectRecord>();
  const snapshotPath = join(stateDir, state.snapshot);
  const lines = createInterface({ input: createReadStream(snapshotPath, "utf8"), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text === "") continue;
      const parsed = parseRecord(text);
      if (parsed === undefined) throw invalid(snapshotPath, `line ${line} is not a snapshot record`);
      records.set(parsed[0], parsed[1]);
    }
  } catch (error) {
    if (error instanceof SyncupError) throw error;
    throw invalid(
      snapshotPath,
      `it cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  if (records.size !== state.objects) {
    throw invalid(snapshotPath, `it holds ${records.size} objects, the state file says ${state.objects}`);
  }
  return { state, records };
}

function parseState(text: string, path: string): SnapshotState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(path, "it is not JSON");
  }
  const s = value as Partial<SnapshotState> | null;
  if (
    s === null ||
    typeof s !== "object" ||
    s.version !== STATE_VERSION ||
    typeof s.table !== "string" ||
    typeof s.fingerprint !== "string" ||
    (s.watermark !== null && typeof s.watermark !== "string") ||
    typeof s.snapshot !== "string" ||
    !/^[\w.-]+$/.test(s.snapshot) ||
    typeof s.objects !== "number" ||
    typeof s.exportedAt !== "string"
  ) {
    throw invalid(path, "it is not a state file of this version of syncup");
  }
  return s as SnapshotState;
}

function parseRecord(text: string): [string, ObjectRecord] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [key, hash, links] = value as unknown[];
  if (typeof key !== "string" || typeof hash !== "string" || links === null || typeof links !== "object")
    return undefined;
  const out: Record<string, string[]> = {};
  for (const [table, values] of Object.entries(links)) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) return undefined;
    out[table] = values as string[];
  }
  return [key, { hash, links: out }];
}

function invalid(path: string, why: string): SyncupError {
  return new SyncupError(
    "CONNECTOR_STATE_INVALID",
    `The incremental state "${path}" is unusable: ${why}. Run a complete export: it writes a new state.`,
  );
}

/** Writes a new snapshot of `table`; nothing changes for the next export before `commit`. */
export class SnapshotWriter {
  private text = "";
  private count = 0;
  private closed = false;

  private constructor(
    private readonly stateDir: string,
    private readonly table: string,
    private readonly file: string,
    private readonly handle: FileHandle,
  ) {}

  /** Opens a new snapshot file, first removing snapshot files that no state points to (failed exports). */
  static async open(stateDir: string, table: string): Promise<SnapshotWriter> {
    await removeOrphans(stateDir, table);
    const file = `${table}.${randomBytes(6).toString("hex")}.snapshot.jsonl`;
    const handle = await open(join(stateDir, file), "wx");
    return new SnapshotWriter(stateDir, table, file, handle);
  }

  async add(key: string, record: ObjectRecord): Promise<void> {
    this.text += JSON.stringify([key, record.hash, record.links]) + "\n";
    this.count++;
    if (this.text.length >= FLUSH_CHARS) await this.flush();
  }

  /** Finishes the file and returns the function that makes it the state of the next export. */
  async finish(fingerprint: string, watermark: string | undefined): Promise<() => Promise<void>> {
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
    this.closed = true;
    const state: SnapshotState = {
      version: STATE_VERSION,
      table: this.table,
      fingerprint,
      watermark: watermark ?? null,
      snapshot: this.file,
      objects: this.count,
      exportedAt: new Date().toISOString(),
    };
    return async () => {
      const path = join(this.stateDir, stateFile(this.table));
      const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      const handle = await open(temp, "wx");
      try {
        await handle.writeFile(JSON.stringify(state, null, 2) + "\n", "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await removeOrphans(this.stateDir, this.table);
    };
  }

  /** Removes the unfinished snapshot file. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await rm(join(this.stateDir, this.file), { force: true });
  }

  private async flush(): Promise<void> {
    if (this.text === "") return;
    const data = Buffer.from(this.text, "utf8");
    this.text = "";
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.handle.write(data, offset, data.length - offset, null);
      offset += bytesWritten;
    }
  }
}

/** Removes the snapshot files and temporary state files of `table` that its state file does not name. */
async function removeOrphans(stateDir: string, table: string): Promise<void> {
  let current: string | undefined;
  try {
    current = parseState(await readFile(join(stateDir, stateFile(table)), "utf8"), "").snapshot;
  } catch {
    current = undefined;
  }
  const prefix = `${table}.`;
  for (const name of await readdir(stateDir)) {
    if (!name.startsWith(prefix) || name === current) continue;
    const rest = name.slice(prefix.length);
    if (/^[0-9a-f]{12}\.snapshot\.jsonl$/.test(rest) || /^state\.json\.[0-9a-f]{12}\.tmp$/.test(rest)) {
      await rm(join(stateDir, name), { force: true });
    }
  }
}
