/**
 * k-way merge of sorted chunk streams with a binary heap. Keys are compared on code units
 * (typed arrays), never as JavaScript strings; ties go to the earlier run, so the merge is
 * stable when runs are in input order.
 */
import type { KeyColumns, Row } from "../core/rows.js";
import { sortKeys } from "./key-sort.js";
import type { RowStore } from "./row-store.js";
import type { Chunk } from "./run-file.js";
import { ChunkBuilder } from "./run-file.js";

/** A sorted stream of chunks: a run file or the sorted rows in memory. */
export interface ChunkSource {
  next(): Promise<Chunk | undefined>;
}

/** Compares two ranges of code units in code point order. */
export function compareUnits(
  a: Uint16Array,
  aStart: number,
  aLength: number,
  b: Uint16Array,
  bStart: number,
  bLength: number,
): number {
  const n = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < n; i++) {
    const x = a[aStart + i] as number;
    const y = b[bStart + i] as number;
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        return (x >= 0xe000 ? x - 0x800 : x + 0x2000) - (y >= 0xe000 ? y - 0x800 : y + 0x2000);
      }
      return x - y;
    }
  }
  return aLength - bLength;
}

const EMPTY_UNITS: Uint16Array = new Uint16Array(0);
const EMPTY_CHUNK: Chunk = {
  text: "",
  units: EMPTY_UNITS,
  lengths: new Uint32Array(0),
  rows: 0,
  width: 0,
  latin1: true,
};

/** The current row of a chunk source, with its key's position for comparisons. */
export class Cursor {
  /** The current chunk's code units; the key is `units[keyStart ..]`. */
  units: Uint16Array = EMPTY_UNITS;
  keyStart = 0;
  /** Length of key column 0, and of column 1 (which follows directly) for pairs. */
  length0 = 0;
  length1 = 0;
  private chunk = EMPTY_CHUNK;
  private row = 0;
  private lengthIndex = 0;
  private rowChars = 0;

  constructor(
    private readonly source: ChunkSource,
    /** Index of the run in input order: ties go to the lower one. */
    readonly run: number,
    private readonly two: boolean,
  ) {}

  /** Fields per row of the current chunk. */
  get width(): number {
    return this.chunk.width;
  }

  /** Moves to the next row of the chunk; false when the chunk is used up (then `load()`). */
  advance(): boolean {
    const chunk = this.chunk;
    if (this.row + 1 >= chunk.rows) return false;
    this.row++;
    const width = chunk.width;
    const lengths = chunk.lengths;
    const at = (this.lengthIndex += width);
    this.keyStart += this.rowChars;
    let chars = 0;
    for (let k = at, end = at + width; k < end; k++) chars += lengths[k] as number;
    this.rowChars = chars;
    this.length0 = lengths[at] as number;
    this.length1 = this.two ? (lengths[at + 1] as number) : 0;
    return true;
  }

  /** Reads the next chunk (positioned before its first row); false at the end. */
  async load(): Promise<boolean> {
    const chunk = await this.source.next();
    this.chunk = chunk ?? EMPTY_CHUNK;
    this.units = this.chunk.units;
    this.row = -1;
    this.lengthIndex = -this.chunk.width;
    this.keyStart = 0;
    this.rowChars = 0;
    return chunk !== undefined;
  }

  /** Moves to the next row, loading chunks as needed; false at the end of the source. */
  async next(): Promise<boolean> {
    while (!this.advance()) {
      if (!(await this.load())) return false;
    }
    return true;
  }

  /** The current row's fields. */
  fields(): Row {
    const chunk = this.chunk;
    const text = chunk.text;
    const lengths = chunk.lengths;
    const width = chunk.width;
    const row: Row = new Array<string>(width);
    let at = this.keyStart;
    for (let k = 0; k < width; k++) {
      const end = at + (lengths[this.lengthIndex + k] as number);
      row[k] = text.slice(at, end);
      at = end;
    }
    return row;
  }

  /** Appends the current row to a chunk under construction. */
  copyTo(builder: ChunkBuilder): void {
    const chunk = this.chunk;
    builder.append(
      chunk.units,
      this.keyStart,
      this.rowChars,
      chunk.lengths,
      this.lengthIndex,
      chunk.width,
      chunk.latin1,
    );
  }

  /** Whether this cursor's current key equals the key at `units[start..]`. */
  sameKey(units: Uint16Array, start: number, length0: number, length1: number): boolean {
    if (this.length0 !== length0 || this.length1 !== length1) return false;
    return compareUnits(this.units, this.keyStart, length0 + length1, units, start, length0 + length1) === 0;
  }
}

/** The rows of a store in sorted order, as decoded chunks (nothing touches the disk). */
export class StoreSource implements ChunkSource {
  private position = 0;
  private readonly builder = new ChunkBuilder();

  constructor(
    private readonly store: RowStore,
    private readonly order: Int32Array,
  ) {}

  next(): Promise<Chunk | undefined> {
    return Promise.resolve(this.fill() ? this.builder.decode() : undefined);
  }

  /** The next chunk's bytes for a run file, or undefined at the end. */
  nextEncoded(): Uint8Array | undefined {
    return this.fill() ? this.builder.encode() : undefined;
  }

  /** Fills the builder with the next rows; false when there are none. */
  private fill(): boolean {
    const store = this.store;
    const order = this.order;
    const builder = this.builder;
    const rowStart = store.rowStart;
    const rowField = store.rowField;
    const latin1 = store.latin1;
    const units = store.units;
    const lengths = store.lengths;
    const rows = store.rows;
    let p = this.position;
    while (p < order.length) {
      const r = order[p] as number;
      const field = rowField[r] as number;
      const width = (rowField[r + 1] as number) - field;
      if (builder.rows > 0 && width !== builder.width) break;
      const start = rowStart[r] as number;
      const end = r + 1 < rows ? (rowStart[r + 1] as number) : store.unitCount;
      builder.append(units, start, end - start, lengths, field, width, latin1[r] === 1);
      p++;
      if (builder.full) break;
    }
    this.position = p;
    return builder.rows > 0;
  }
}

/** Sorts a store's rows by key: a source of its rows in order. */
export function sortStore(store: RowStore): StoreSource {
  return new StoreSource(store, sortKeys(store.keyTable(), store.rows));
}

/** Rows per yielded batch. */
export const OUTPUT_BATCH_ROWS = 4096;

/**
 * A tournament tree of losers over the cursors: the winner (least key, then least run) is
 * known, and replacing it costs one comparison per level (a binary heap needs two).
 * Cursors at their end lose every match.
 */
class LoserTree {
  /** `losers[node]` for internal nodes 1..k-1; leaves are k..2k-1 (cursor = leaf - k). */
  private readonly losers: Int32Array;
  private readonly done: Uint8Array;
  winner = 0;
  /** Cursors not at their end. */
  live: number;

  constructor(
    readonly cursors: Cursor[],
    private readonly two: boolean,
    done: boolean[],
  ) {
    const k = cursors.length;
    this.losers = new Int32Array(Math.max(k, 1));
    this.done = new Uint8Array(k);
    let live = 0;
    for (let i = 0; i < k; i++) {
      if (done[i] === true) this.done[i] = 1;
      else live++;
    }
    this.live = live;
    this.winner = k > 0 ? this.build(1) : 0;
  }

  /** Whether cursor a comes before cursor b. */
  beats(a: number, b: number): boolean {
    if (this.done[a] === 1) return false;
    if (this.done[b] === 1) return true;
    const x = this.cursors[a] as Cursor;
    const y = this.cursors[b] as Cursor;
    let c = compareUnits(x.units, x.keyStart, x.length0, y.units, y.keyStart, y.length0);
    if (c === 0 && this.two) {
      c = compareUnits(
        x.units,
        x.keyStart + x.length0,
        x.length1,
        y.units,
        y.keyStart + y.length0,
        y.length1,
      );
    }
    return c < 0 || (c === 0 && a < b);
  }

  /** After the winner moved on (or ended: `ended`), finds the new winner. */
  replay(ended: boolean): void {
    let w = this.winner;
    if (ended) {
      this.done[w] = 1;
      this.live--;
    }
    const losers = this.losers;
    for (let node = (w + this.cursors.length) >> 1; node >= 1; node >>= 1) {
      const l = losers[node] as number;
      if (this.beats(l, w)) {
        losers[node] = w;
        w = l;
      }
    }
    this.winner = w;
  }

  private build(node: number): number {
    const k = this.cursors.length;
    if (node >= k) return node - k;
    const a = this.build(2 * node);
    const b = this.build(2 * node + 1);
    if (this.beats(a, b)) {
      this.losers[node] = b;
      return a;
    }
    this.losers[node] = a;
    return b;
  }
}

async function treeOf(sources: ChunkSource[], keyColumns: KeyColumns): Promise<LoserTree> {
  const two = keyColumns === 2;
  const cursors: Cursor[] = [];
  const done: boolean[] = [];
  for (let i = 0; i < sources.length; i++) {
    const cursor = new Cursor(sources[i] as ChunkSource, i, two);
    cursors.push(cursor);
    done.push(!(await cursor.next()));
  }
  return new LoserTree(cursors, two, done);
}

/**
 * Merges sources (in input order) into batches of rows in key order. With `unique`, rows whose
 * key equals the previous row's go to `duplicates`.
 */
export async function* mergeRows(
  sources: ChunkSource[],
  keyColumns: KeyColumns,
  unique: boolean,
): AsyncGenerator<{ rows: Row[]; duplicates: Row[] }> {
  const tree = await treeOf(sources, keyColumns);
  const cursors = tree.cursors;
  let rows: Row[] = [];
  let duplicates: Row[] = [];
  let previousUnits = EMPTY_UNITS;
  let previousStart = 0;
  let previousLength0 = -1;
  let previousLength1 = 0;
  while (tree.live > 0) {
    const top = cursors[tree.winner] as Cursor;
    if (unique && top.sameKey(previousUnits, previousStart, previousLength0, previousLength1)) {
      duplicates.push(top.fields());
    } else {
      rows.push(top.fields());
      previousUnits = top.units;
      previousStart = top.keyStart;
      previousLength0 = top.length0;
      previousLength1 = top.length1;
    }
    tree.replay(!(top.advance() || (await top.next())));
    if (rows.length + duplicates.length >= OUTPUT_BATCH_ROWS) {
      yield { rows, duplicates };
      rows = [];
      duplicates = [];
    }
  }
  if (rows.length + duplicates.length > 0) yield { rows, duplicates };
}

/** Merges sources (in input order) into encoded chunks, for a run file. */
export async function* mergeChunks(sources: ChunkSource[], keyColumns: KeyColumns): AsyncGenerator<Uint8Array> {
  const tree = await treeOf(sources, keyColumns);
  const cursors = tree.cursors;
  const builder = new ChunkBuilder();
  while (tree.live > 0) {
    const top = cursors[tree.winner] as Cursor;
    if (builder.rows > 0 && builder.width !== top.width) yield builder.encode();
    top.copyTo(builder);
    if (builder.full) yield builder.encode();
    tree.replay(!(top.advance() || (await top.next())));
  }
  if (builder.rows > 0) yield builder.encode();
}
