/**
 * Rows gathered for an in-memory sort, kept compactly in typed arrays. Incoming rows are copied
 * while they are fresh in the cache and then die young, so the garbage collector never traces
 * (or moves) a budget's worth of small arrays and strings.
 *
 * `text` holds the text of all fields one after the other (UTF-16 code units); `meta` holds a
 * record per row: where its text starts, its width (the top bit set when its text is not all
 * Latin-1, the next one for a large row's stand-in), and the length of each field. Sorting
 * moves record offsets.
 *
 * A row of more than `LARGE_ROW_CHARS` characters is not copied here: `append` stops before
 * it, the sort writes it to its large-row file, and `appendLarge` adds its stand-in (its key
 * columns and the reference, flagged `LARGE_FLAG`).
 */
import { Buffer } from "node:buffer";
import type { KeyColumns, Row } from "../core/rows.js";
import { SyncupError } from "../errors.js";
import { SortSpace, uninitialized } from "./key-sort.js";

/** Matches a character beyond Latin-1. */
export const NOT_LATIN1 = /[\u0100-\uffff]/;

/** The memory a row is taken to use: ~ UTF-16 text + array and string headers. */
export function estimateRowBytes(row: readonly string[]): number {
  let chars = 0;
  for (let k = 0; k < row.length; k++) chars += (row[k] as string).length;
  return chars * 2 + 48 + 24 * row.length;
}

/** A store holding this many code units (2 GiB) counts as full whatever the budget. */
const MAX_UNITS = 0x40000000;
/** The flag of a record's width word: the row's text is not all Latin-1. */
export const NOT_LATIN1_FLAG = 0x80000000;
/** The flag of a record's width word: the row stands in for a large row (key columns, reference). */
export const LARGE_FLAG = 0x40000000;
/** A record's width word without its flags. */
export const WIDTH_MASK = 0x3fffffff;

export class RowStore {
  /** Text of all fields. */
  text = new Uint16Array(16 * 1024);
  textCount = 0;
  /** Records: text start, width (| NOT_LATIN1_FLAG), field lengths. */
  meta = new Uint32Array(16 * 1024);
  metaCount = 0;
  /** Per row: where its record starts in `meta` (increasing: input order). */
  records = new Int32Array(1024);
  rows = 0;
  /** Estimated memory of the rows as arrays of strings (the budget's measure). */
  estimatedBytes = 0;
  /** The arrays the sorts of this store's runs work in. */
  sortSpace = new SortSpace();
  private textBytes = Buffer.from(this.text.buffer);

  constructor(readonly keyColumns: KeyColumns) {}

  /**
   * Copies rows from `batch[start]` on until the estimate reaches `budget` or a row of more
   * than `largeChars` characters comes (not copied); returns the index of the first row not
   * copied (`batch.length` when all were).
   */
  append(batch: readonly Row[], start: number, budget: number, largeChars = Infinity): number {
    const keyColumns = this.keyColumns;
    const firstRecord = this.metaCount;
    // Concatenation beats collecting the fields and joining them (V8 flattens it once).
    let text = "";
    let estimate = this.estimatedBytes;
    let textEnd = this.textCount;
    let m = this.metaCount;
    let r = this.rows;
    let i = start;
    while (i < batch.length) {
      const row = batch[i] as Row;
      i++;
      const width = row.length;
      if (width < keyColumns) {
        throw new SyncupError(
          "INTERNAL",
          `sortRows: a row has ${width} fields, fewer than its ${keyColumns} key columns.`,
        );
      }
      if (m + width + 2 > this.meta.length) this.growMeta(m, m + width + 2, budget);
      if (r >= this.records.length) this.growRecords(r, r + 1, budget);
      const meta = this.meta;
      const rowStart = textEnd;
      const textBefore = text;
      const recordStart = m;
      meta[m++] = textEnd;
      meta[m++] = width;
      for (let k = 0; k < width; k++) {
        const field = row[k] as string;
        text += field;
        meta[m++] = field.length;
        textEnd += field.length;
      }
      if (textEnd - rowStart > largeChars) {
        // Left for the large-row file: undo, stop before it.
        text = textBefore;
        textEnd = rowStart;
        m = recordStart;
        i--;
        break;
      }
      this.records[r++] = recordStart;
      estimate += (textEnd - rowStart) * 2 + 48 + 24 * width;
      if (estimate >= budget || textEnd >= MAX_UNITS) break;
    }
    this.estimatedBytes = estimate;
    this.metaCount = m;
    this.rows = r;
    if (textEnd > this.text.length) this.growText(textEnd, budget);
    this.textBytes.write(text, this.textCount * 2, text.length * 2, "utf16le");
    this.textCount = textEnd;
    if (NOT_LATIN1.test(text)) {
      const meta = this.meta;
      for (let at = firstRecord; at < m; at += 2 + ((meta[at + 1] as number) & WIDTH_MASK)) {
        meta[at + 1] = ((meta[at + 1] as number) | NOT_LATIN1_FLAG) >>> 0;
      }
    }
    return i;
  }

  /** Adds the stand-in of a large row: its key columns and where the row lies (`large-rows.ts`). */
  appendLarge(row: Row, ref: string): void {
    const keyColumns = this.keyColumns;
    const standIn: Row = row.slice(0, keyColumns);
    standIn.push(ref);
    const record = this.metaCount;
    this.append([standIn], 0, Infinity);
    const meta = this.meta;
    meta[record + 1] = ((meta[record + 1] as number) | LARGE_FLAG) >>> 0;
  }

  /** Empties the store, keeping its arrays for the next run. */
  clear(): void {
    this.textCount = 0;
    this.metaCount = 0;
    this.rows = 0;
    this.estimatedBytes = 0;
  }

  /** Empties the store and lets its arrays go. */
  release(): void {
    this.clear();
    this.text = new Uint16Array(0);
    this.textBytes = Buffer.from(this.text.buffer);
    this.meta = new Uint32Array(0);
    this.records = new Int32Array(0);
    this.sortSpace = new SortSpace();
  }

  /** Whether the store should be sorted and spilled before it takes more rows. */
  isFull(budget: number): boolean {
    return this.estimatedBytes >= budget || this.textCount >= MAX_UNITS;
  }

  /*
   * The arrays grow at once to what a run under the budget can hold (the estimate of a row is
   * at least twice its characters, and 24 bytes per word of its record), fourfold at a time
   * under a large budget: no copies, and memory neither zeroed nor touched before it is written
   * (the operating system hands out pages as they are first written).
   */
  private growText(needed: number, budget: number): void {
    const text = new Uint16Array(uninitialized(grown(this.text.length, needed, budget / 2) * 2));
    text.set(this.text.subarray(0, this.textCount));
    this.text = text;
    this.textBytes = Buffer.from(text.buffer);
  }

  /** Grows `meta`, keeping its first `used` entries. */
  private growMeta(used: number, needed: number, budget: number): void {
    const meta = new Uint32Array(uninitialized(grown(this.meta.length, needed, budget / 24) * 4));
    meta.set(this.meta.subarray(0, used));
    this.meta = meta;
  }

  /** Grows `records`, keeping its first `used` entries. */
  private growRecords(used: number, needed: number, budget: number): void {
    const records = new Int32Array(uninitialized(grown(this.records.length, needed, budget / 72) * 4));
    records.set(this.records.subarray(0, used));
    this.records = records;
  }
}

/** Most elements an array grows to at once (beyond, fourfold at a time). */
const AT_ONCE = 64 * 1024 * 1024;

/** The next length of an array of `length` that must hold `needed`, up to `bound` (see above). */
function grown(length: number, needed: number, bound: number): number {
  const whole = Math.ceil(bound) + 1024;
  return Math.max(needed, whole <= AT_ONCE ? whole : Math.min(length * 4, whole));
}
