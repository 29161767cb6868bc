import { SyncupError } from "../errors.js";

/**
 * Finds the header position of each wanted column. An exact match wins; otherwise a unique
 * case-insensitive match is accepted (directory attribute names are case-insensitive).
 * A missing column, or one that the header holds twice, is an error naming the file and
 * header line; every missing column is listed at once.
 */
export function resolveColumns(
  header: readonly string[],
  wanted: readonly string[],
  where: { file: string; headerLine: number; mapping: string },
): number[] {
  const missing: string[] = [];
  const indexes = wanted.map((name) => {
    let found = positions(header, (h) => h === name);
    if (found.length === 0) found = positions(header, (h) => h.toLowerCase() === name.toLowerCase());
    if (found.length === 0) {
      missing.push(name);
      return -1;
    }
    if (found.length > 1) {
      throw new SyncupError(
        "CSV_HEADER_DUPLICATE_COLUMN",
        `"${where.file}" line ${where.headerLine}: the header has column "${name}" ${found.length} times (columns ${found.map((i) => i + 1).join(", ")}), and mapping "${where.mapping}" uses it. Rename one of them in the export.`,
        { position: { file: where.file, line: where.headerLine, column: (found[1] ?? 0) + 1 } },
      );
    }
    return found[0] ?? -1;
  });
  if (missing.length > 0) {
    throw new SyncupError(
      "CSV_HEADER_MISSING_COLUMN",
      `"${where.file}" line ${where.headerLine}: the header lacks ${missing.map((m) => `"${m}"`).join(", ")}, used by mapping "${where.mapping}". The header has: ${header.map((h) => (h === "" ? "(empty)" : h)).join(", ")}. Fix the export or the mapping's columns.`,
      { position: { file: where.file, line: where.headerLine } },
    );
  }
  return indexes;
}

/** The position of the `command` column of an incremental export, or -1. */
export function findCommandColumn(header: readonly string[]): number {
  return header.findIndex((h) => h.toLowerCase() === "command");
}

function positions(header: readonly string[], match: (h: string) => boolean): number[] {
  const out: number[] = [];
  header.forEach((h, i) => {
    if (match(h)) out.push(i);
  });
  return out;
}
