/**
 * Rows gathered for an in-memory sort, kept compactly in typed arrays: the text of all fields
 * one after the other as UTF-16 code units, and each field's length. Incoming rows are copied
 * while they are fresh in the cache and then die young, so the garbage collector never has to
 * trace (or move) a budget's worth of small arrays and strings.
 */
import { Buffer } from "node:buffer";
import type { KeyColumns, Row } from "../core/rows.js";
import { SyncupError } from "../errors.js";
import type { KeyTable } from "./key-sort.js";

const NOT_LATIN1 = /[^\u0000-\u00ff]/;

/** The memory a row is taken to use: ~ UTF-16 text + array and string headers. */
export function estimateRowBytes(row: readonly string[]): number {
  let chars = 0;
  for (let k = 0; k < row.length; k++) chars += (row[k] as string).length;
  return chars * 2 + 48 + 24 * row.length;
}

/** A store holding this many code units (2 GiB) counts as full whatever the budget. */
const MAX_UNITS = 0x40000000;

export class RowStore {
  /** Text of all fields. */
  units = new Uint16Array(16 * 1024);
  unitCount = 0;
  /** Length of every field. */
  lengths = new Uint32Array(4 * 1024);
  lengthCount = 0;
  /** Per row: where its text starts in `units`. */
  rowStart = new Int32Array(1024);
  /** Per row: where its field lengths start in `lengths` (one more entry: the end). */
  rowField = new Int32Array(1025);
  /** Per row: 1 when its text is all Latin-1 (then it is written one byte a character). */
  latin1 = new Uint8Array(1024);
  rows = 0;
  /** Estimated memory of the rows as arrays of strings (the budget's measure). */
  estimatedBytes = 0;
  private unitBytes = Buffer.from(this.units.buffer);

  constructor(private readonly keyColumns: KeyColumns) {}

  /**
   * Copies rows from `batch[start]` on until the estimate reaches `budget`; returns the index
   * of the first row not copied (`batch.length` when all were).
   */
  append(batch: readonly Row[], start: number, budget: number): number {
    const keyColumns = this.keyColumns;
    // Concatenation beats collecting the fields and joining them (V8 flattens it once).
    let text = "";
    const firstRow = this.rows;
    let estimate = this.estimatedBytes;
    let unitEnd = this.unitCount;
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
      const r = this.rows;
      if (r + 1 >= this.rowStart.length) this.growRows();
      if (this.lengthCount + width > this.lengths.length) this.growLengths(this.lengthCount + width);
      const lengths = this.lengths;
      let li = this.lengthCount;
      this.rowStart[r] = unitEnd;
      this.rowField[r] = li;
      let chars = 0;
      for (let k = 0; k < width; k++) {
        const field = row[k] as string;
        text += field;
        lengths[li++] = field.length;
        chars += field.length;
      }
      this.lengthCount = li;
      this.rows = r + 1;
      unitEnd += chars;
      estimate += chars * 2 + 48 + 24 * width;
      if (estimate >= budget || unitEnd >= MAX_UNITS) break;
    }
    this.rowField[this.rows] = this.lengthCount;
    this.estimatedBytes = estimate;
    if (unitEnd > this.units.length) this.growUnits(unitEnd);
    this.unitBytes.write(text, this.unitCount * 2, text.length * 2, "utf16le");
    this.unitCount = unitEnd;
    this.latin1.fill(NOT_LATIN1.test(text) ? 0 : 1, firstRow, this.rows);
    return i;
  }

  /** Empties the store, keeping its arrays for the next run. */
  clear(): void {
    this.unitCount = 0;
    this.lengthCount = 0;
    this.rows = 0;
    this.estimatedBytes = 0;
    this.rowField[0] = 0;
  }

  /** Whether the store should be sorted and spilled before it takes more rows. */
  isFull(budget: number): boolean {
    return this.estimatedBytes >= budget || this.unitCount >= MAX_UNITS;
  }

  /** The keys of all rows, for `sortKeys`. */
  keyTable(): KeyTable {
    const n = this.rows;
    const two = this.keyColumns === 2;
    const keyStart = this.rowStart.subarray(0, n);
    const firstLength = new Int32Array(n);
    const keyEnd = new Int32Array(n);
    const lengths = this.lengths;
    const rowField = this.rowField;
    for (let r = 0; r < n; r++) {
      const f = rowField[r] as number;
      const first = lengths[f] as number;
      firstLength[r] = first;
      keyEnd[r] = (keyStart[r] as number) + first + (two ? (lengths[f + 1] as number) : 0);
    }
    return { units: this.units, keyStart, firstLength, keyEnd, two };
  }

  private growRows(): void {
    const size = this.rowStart.length * 2;
    const rowStart = new Int32Array(size);
    rowStart.set(this.rowStart);
    this.rowStart = rowStart;
    const rowField = new Int32Array(size + 1);
    rowField.set(this.rowField);
    this.rowField = rowField;
    const latin1 = new Uint8Array(size);
    latin1.set(this.latin1);
    this.latin1 = latin1;
  }

  private growLengths(needed: number): void {
    const lengths = new Uint32Array(Math.max(needed, this.lengths.length * 2));
    lengths.set(this.lengths.subarray(0, this.lengthCount));
    this.lengths = lengths;
  }

  private growUnits(needed: number): void {
    const units = new Uint16Array(Math.max(needed, this.units.length * 2));
    units.set(this.units.subarray(0, this.unitCount));
    this.units = units;
    this.unitBytes = Buffer.from(units.buffer);
  }
}
