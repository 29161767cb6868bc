import { rm } from "node:fs/promises";
import { join } from "node:path";
import { CsvFileWriter } from "../csv/writer.js";

export const ORPHANS_HEADER = ["line", "key1", "key2", "missing", "reason"];

/** `end1`, `end2`, `both`, or empty for a mono-valued conflict. */
export type MissingEnd = "end1" | "end2" | "both" | "";

/**
 * `<dir>/<association>.orphans.csv`: the association rows that did not become links — an end
 * that no resource has (orphans), or a second link for a mono-valued property (conflicts).
 * Written only when there is something to report; an older file is removed otherwise, so
 * the folder always shows the last run.
 */
export class OrphanFile {
  private writer: CsvFileWriter | undefined;
  readonly path: string;

  constructor(dir: string, association: string) {
    this.path = join(dir, `${association}.orphans.csv`);
  }

  async add(
    line: number | null,
    key1: string,
    key2: string,
    missing: MissingEnd,
    reason: string,
  ): Promise<void> {
    this.writer ??= await CsvFileWriter.open(this.path, ORPHANS_HEADER);
    await this.writer.write([line === null ? "" : String(line), key1, key2, missing, reason]);
  }

  /** Commits the file; returns its path, or null when nothing was reported. */
  async close(): Promise<string | null> {
    if (this.writer === undefined) {
      await rm(this.path, { force: true });
      return null;
    }
    await this.writer.commit();
    return this.path;
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }
}

export function missingReason(missing: Exclude<MissingEnd, "">, end1Type: string, end2Type: string): string {
  if (missing === "both") return `no ${end1Type} has key1 and no ${end2Type} has key2`;
  return missing === "end1" ? `no ${end1Type} has key1` : `no ${end2Type} has key2`;
}
