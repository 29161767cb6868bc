// Long file: the offset-value codes and the tree of losers that compares them are one algorithm, explained once below; a cursor's code means something only to the tree's matches, so apart each half would repeat the other's invariants.
/**
 * k-way merge of sorted chunk streams with a tree of losers and offset-value coding: each row
 * carries a code saying where (offset) and how (value) its key first differs from the row
 * before it in its run; codes relative to the same row compare like the keys, so most matches
 * of the tree are one comparison of numbers, and a row whose code says "equal" is a duplicate.
 * Keys are compared on code units (typed arrays), never as JavaScript strings. Ties go to the
 * earlier run, so the merge is stable when runs are in input order.
 */
import type { KeyColumns, Row } from "../core/rows.js";
import { SyncupError } from "../errors.js";
import { sortKeys } from "./key-sort.js";
import type { LargeRows } from "./large-rows.js";
import type { RowStore } from "./row-store.js";
import { LARGE_FLAG, NOT_LATIN1_FLAG } from "./row-store.js";
import type { Chunk } from "./run-file.js";
import { ChunkBuilder, chunkText } from "./run-file.js";

/**
 * A sorted stream of chunks: a run file or the sorted rows in memory. A chunk's `units` and
 * `lengths` may be reused by the next `next()`; its `text` stays valid.
 */
export interface ChunkSource {
  next(): Promise<Chunk | undefined>;
}

/*
 * Keys as sequences of values (as in `key-sort.ts`): 0 where the key has ended, 1 between a
 * pair's columns, else the code unit (in code point order) + 2. A code relative to a key not
 * greater: (OFFSETS - offset) * VALUES + value, so that a later first difference, or the same
 * with a smaller value, is a smaller code; EQUAL (0) for the same key; DONE for no more rows.
 */
const VALUES = 2 ** 17;
const OFFSETS = 2 ** 32;
const EQUAL = 0;
const DONE = Number.POSITIVE_INFINITY;

function fixup(unit: number): number {
  return unit < 0xd800 ? unit : unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** A key's value at position d: `units[start..]` holds column 0 (`first` long), then column 1. */
function valueAt(
  units: Uint16Array,
  start: number,
  first: number,
  second: number,
  two: boolean,
  d: number,
): number {
  if (d < first) return fixup(units[start + d] as number) + 2;
  if (!two) return 0;
  if (d === first) return 1;
  return d <= first + second ? fixup(units[start + d - 1] as number) + 2 : 0;
}

/** Where two keys first differ, from position `from` on; -1 when they are equal. */
function firstDifference(
  a: Uint16Array,
  aStart: number,
  aFirst: number,
  aSecond: number,
  b: Uint16Array,
  bStart: number,
  bFirst: number,
  bSecond: number,
  two: boolean,
  from: number,
): number {
  // The units of both keys (column 0, then 1 for pairs) lie one after the other.
  if (!two || aFirst === bFirst) {
    const aEnd = two ? aFirst + aSecond : aFirst;
    const bEnd = two ? bFirst + bSecond : bFirst;
    const common = aEnd < bEnd ? aEnd : bEnd;
    // Positions beyond column 0 are one further in the value sequence (the boundary).
    let i = two && from > aFirst ? from - 1 : from;
    while (i < common && a[aStart + i] === b[bStart + i]) i++;
    if (i === common && aEnd === bEnd) return -1;
    return two && i >= aFirst ? i + 1 : i;
  }
  for (let d = from; ; d++) {
    const va = valueAt(a, aStart, aFirst, aSecond, two, d);
    const vb = valueAt(b, bStart, bFirst, bSecond, two, d);
    if (va !== vb) return d;
    if (va === 0) return -1;
  }
}

const EMPTY_UNITS: Uint16Array = new Uint16Array(0);
const EMPTY_CHUNK: Chunk = {
  units: EMPTY_UNITS,
  lengths: new Uint32Array(0),
  rows: 0,
  width: 0,
  latin1: true,
  large: false,
};

/** The current row of a chunk source, with its key's position and code. */
export class Cursor {
  /** The current chunk's code units; the key is `units[keyStart ..]`. */
  units: Uint16Array = EMPTY_UNITS;
  keyStart = 0;
  /** Length of key column 0, and of column 1 (which follows directly) for pairs. */
  length0 = 0;
  length1 = 0;
  /** The code of the current key relative to the key before it (see above). */
  code = EQUAL;
  private chunk = EMPTY_CHUNK;
  /** The current chunk's text, once a row of it was asked as strings. */
  private text: string | undefined;
  private row = 0;
  private lengthIndex = 0;
  private rowChars = 0;
  /** The key of the last row of the previous chunk (the chunk's arrays are reused). */
  private saved = new Uint16Array(64);
  private savedLength0 = -1;
  private savedLength1 = 0;

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

  /** Whether the current row stands in for a large row (its key columns and reference). */
  get large(): boolean {
    return this.chunk.large;
  }

  /** Characters of the current row's fields. */
  get chars(): number {
    return this.rowChars;
  }

  /** Moves to the next row of the chunk; false when the chunk is used up (then `load()`). */
  advance(): boolean {
    const chunk = this.chunk;
    if (this.row + 1 >= chunk.rows) return false;
    const first = this.row < 0;
    const previousStart = this.keyStart;
    const previous0 = this.length0;
    const previous1 = this.length1;
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
    if (!first) this.code = this.codeAfter(this.units, previousStart, previous0, previous1);
    else if (this.savedLength0 >= 0)
      this.code = this.codeAfter(this.saved, 0, this.savedLength0, this.savedLength1);
    return true;
  }

  /** Reads the next chunk (positioned before its first row); false at the end. */
  async load(): Promise<boolean> {
    if (this.row >= 0 && this.chunk.rows > 0) {
      // Keep the current key: the next row's code is relative to it.
      const length = this.length0 + this.length1;
      if (this.saved.length < length) this.saved = new Uint16Array(length * 2);
      this.saved.set(this.units.subarray(this.keyStart, this.keyStart + length));
      this.savedLength0 = this.length0;
      this.savedLength1 = this.length1;
    }
    const chunk = await this.source.next();
    this.chunk = chunk ?? EMPTY_CHUNK;
    this.text = undefined;
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
    const text = (this.text ??= chunkText(chunk));
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

  /** Hands the current row to a sink as code units (see `RowSink`). */
  writeTo(sink: RowSink, duplicate: boolean): void | Promise<void> {
    const chunk = this.chunk;
    return sink.units(chunk.units, this.keyStart, chunk.lengths, this.lengthIndex, chunk.width, duplicate);
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
      chunk.large,
    );
  }

  /**
   * Compares this cursor's key with another's from position `from` (where their codes say
   * they agree before): negative when this one is less, 0 when equal; `difference` is then
   * where they differ.
   */
  compareFrom(other: Cursor, from: number): number {
    const d = firstDifference(
      this.units,
      this.keyStart,
      this.length0,
      this.length1,
      other.units,
      other.keyStart,
      other.length0,
      other.length1,
      this.two,
      from,
    );
    this.difference = d;
    if (d < 0) return 0;
    return this.valueAt(d) - other.valueAt(d);
  }

  /** Where the last `compareFrom` found the keys to differ. */
  difference = -1;

  valueAt(d: number): number {
    return valueAt(this.units, this.keyStart, this.length0, this.length1, this.two, d);
  }

  /** The code of the current key relative to a key before it (checking the order). */
  private codeAfter(units: Uint16Array, start: number, first: number, second: number): number {
    const d = firstDifference(
      units,
      start,
      first,
      second,
      this.units,
      this.keyStart,
      this.length0,
      this.length1,
      this.two,
      0,
    );
    if (d < 0) return EQUAL;
    const value = this.valueAt(d);
    if (value < valueAt(units, start, first, second, this.two, d)) {
      throw new SyncupError("INTERNAL", "sortRows: a run file is not sorted (it was changed or damaged).");
    }
    return (OFFSETS - d) * VALUES + value;
  }
}

/** Rows whose memory is touched ahead of copying them. */
const PREFETCH = 16;

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
    const text = this.store.text;
    const meta = this.store.meta;
    const order = this.order;
    const builder = this.builder;
    let p = this.position;
    let touched = p;
    let sink = 0;
    while (p < order.length) {
      if (p === touched) {
        // Rows in key order lie all over memory: touch the next few first, so that their
        // cache misses overlap instead of coming one after the other.
        touched = Math.min(order.length, p + PREFETCH);
        for (let q = p; q < touched; q++) sink += meta[order[q] as number] as number;
        for (let q = p; q < touched; q++) sink += text[meta[order[q] as number] as number] ?? 0;
      }
      const record = order[p] as number;
      if (builder.rows > 0) {
        // Rows of a chunk have one width and kind (large or not).
        const kind = builder.width | (builder.large ? LARGE_FLAG : 0);
        if (((meta[record + 1] as number) & ~NOT_LATIN1_FLAG) !== kind) break;
      }
      builder.appendRecord(text, meta, record);
      p++;
      if (builder.full) break;
    }
    this.position = p;
    this.sink = sink;
    return builder.rows > 0;
  }

  /** Keeps the touching loads from being optimized away. */
  private sink = 0;
}

/** Sorts a store's rows by key: a source of its rows in order. */
export function sortStore(store: RowStore): StoreSource {
  const table = { text: store.text, meta: store.meta, records: store.records, two: store.keyColumns === 2 };
  return new StoreSource(store, sortKeys(table, store.rows, store.sortSpace));
}

/** Rows per yielded batch. */
export const OUTPUT_BATCH_ROWS = 4096;
/** A batch is yielded once its rows hold this many characters (it keeps their chunks' text alive). */
export const OUTPUT_BATCH_CHARS = 1024 * 1024;

/**
 * A tree of losers over the cursors: the winner (least key, then least run) is known, and
 * replacing it costs one match per level, mostly decided by the codes alone. A loser's code is
 * relative to the winner of its match; the winner's relative to the winner before it.
 */
class LoserTree {
  /** `losers[node]` for internal nodes 1..k-1; leaves are k..2k-1 (cursor = leaf - k). */
  private readonly losers: Int32Array;
  winner = 0;
  /** Cursors not at their end. */
  live = 0;

  constructor(readonly cursors: Cursor[]) {
    const k = cursors.length;
    this.losers = new Int32Array(Math.max(k, 1));
    for (const cursor of cursors) if (cursor.code !== DONE) this.live++;
    this.winner = k > 0 ? this.build(1) : 0;
  }

  /** After the winner moved on (its code relative to the old winner) or ended, finds the new one. */
  replay(): void {
    const cursors = this.cursors;
    const losers = this.losers;
    let w = this.winner;
    if ((cursors[w] as Cursor).code === DONE) this.live--;
    for (let node = (w + cursors.length) >> 1; node >= 1; node >>= 1) {
      const l = losers[node] as number;
      if (this.beats(l, w)) {
        losers[node] = w;
        w = l;
      }
    }
    this.winner = w;
  }

  /**
   * Whether cursor a beats cursor b, both coded relative to the same key; the loser's code
   * becomes relative to the winner.
   */
  private beats(a: number, b: number): boolean {
    const x = this.cursors[a] as Cursor;
    const y = this.cursors[b] as Cursor;
    if (x.code !== y.code) return x.code < y.code;
    if (x.code === DONE) return false;
    let c = 0;
    if (x.code !== EQUAL) {
      // Same first difference with the same value: compare on from there.
      const offset = OFFSETS - Math.floor(x.code / VALUES);
      c = x.compareFrom(y, offset + 1);
    }
    const aWins = c < 0 || (c === 0 && a < b);
    const loser = aWins ? y : x;
    loser.code = c === 0 ? EQUAL : (OFFSETS - x.difference) * VALUES + loser.valueAt(x.difference);
    return aWins;
  }

  /** Plays the matches below `node` from scratch; returns their winner. */
  private build(node: number): number {
    const k = this.cursors.length;
    if (node >= k) return node - k;
    const a = this.build(2 * node);
    const b = this.build(2 * node + 1);
    const x = this.cursors[a] as Cursor;
    const y = this.cursors[b] as Cursor;
    let aWins: boolean;
    if (x.code === DONE || y.code === DONE) {
      aWins = y.code === DONE;
    } else {
      const c = x.compareFrom(y, 0);
      aWins = c < 0 || (c === 0 && a < b);
      const loser = aWins ? y : x;
      loser.code = c === 0 ? EQUAL : (OFFSETS - x.difference) * VALUES + loser.valueAt(x.difference);
    }
    this.losers[node] = aWins ? b : a;
    return aWins ? a : b;
  }
}

async function treeOf(sources: ChunkSource[], keyColumns: KeyColumns): Promise<LoserTree> {
  const two = keyColumns === 2;
  const cursors: Cursor[] = [];
  for (let i = 0; i < sources.length; i++) {
    const cursor = new Cursor(sources[i] as ChunkSource, i, two);
    if (!(await cursor.next())) cursor.code = DONE;
    cursors.push(cursor);
  }
  return new LoserTree(cursors);
}

/** Moves the winner to its next row (DONE at its end) and finds the new winner. */
async function step(tree: LoserTree, top: Cursor): Promise<void> {
  if (!top.advance() && !(await top.next())) top.code = DONE;
  tree.replay();
}

/**
 * Merges sources (in input order) into batches of rows in key order. With `unique`, rows whose
 * key equals the previous row's go to `duplicates`. Stand-ins of large rows are read back from
 * `large`; a batch ends after `OUTPUT_BATCH_ROWS` rows or `OUTPUT_BATCH_CHARS` characters.
 */
export async function* mergeRows(
  sources: ChunkSource[],
  keyColumns: KeyColumns,
  unique: boolean,
  large?: LargeRows,
): AsyncGenerator<{ rows: Row[]; duplicates: Row[] }> {
  const tree = await treeOf(sources, keyColumns);
  const cursors = tree.cursors;
  let rows: Row[] = [];
  let duplicates: Row[] = [];
  let chars = 0;
  let first = true;
  while (tree.live > 0) {
    const top = cursors[tree.winner] as Cursor;
    let row = top.fields();
    if (top.large) {
      if (large === undefined) throw new SyncupError("INTERNAL", "sortRows: a large row without its file.");
      row = await large.read(row[keyColumns] as string);
      for (const field of row) chars += field.length;
    } else chars += top.chars;
    // The winner's code is relative to the previous winner: EQUAL means the same key.
    if (unique && !first && top.code === EQUAL) duplicates.push(row);
    else rows.push(row);
    first = false;
    if (top.advance()) tree.replay();
    else await step(tree, top);
    if (rows.length + duplicates.length >= OUTPUT_BATCH_ROWS || chars >= OUTPUT_BATCH_CHARS) {
      yield { rows, duplicates };
      rows = [];
      duplicates = [];
      chars = 0;
    }
  }
  if (rows.length + duplicates.length > 0) yield { rows, duplicates };
}

/**
 * Where `mergeInto` hands the rows in key order: `units` for a row as code units (field k is
 * `lengths[at + k]` units long, from `units[start]` on; the arrays are valid only during the
 * call), `fields` for a large row read back from its file. `duplicate`: with `unique`, the key
 * equals the previous row's. A returned promise is awaited before the next row.
 */
export interface RowSink {
  units(
    units: Uint16Array,
    start: number,
    lengths: Uint32Array,
    at: number,
    width: number,
    duplicate: boolean,
  ): void | Promise<void>;
  fields(row: Row, duplicate: boolean): void | Promise<void>;
}

/**
 * Merges sources (in input order) into a sink, as `mergeRows` but without making strings of
 * the rows: the sink writes them from the chunks' code units.
 */
export async function mergeInto(
  sources: ChunkSource[],
  keyColumns: KeyColumns,
  unique: boolean,
  large: LargeRows | undefined,
  sink: RowSink,
): Promise<void> {
  const tree = await treeOf(sources, keyColumns);
  const cursors = tree.cursors;
  let first = true;
  while (tree.live > 0) {
    const top = cursors[tree.winner] as Cursor;
    const duplicate = unique && !first && top.code === EQUAL;
    first = false;
    let pending: void | Promise<void>;
    if (top.large) {
      if (large === undefined) throw new SyncupError("INTERNAL", "sortRows: a large row without its file.");
      pending = sink.fields(await large.read(top.fields()[keyColumns] as string), duplicate);
    } else pending = top.writeTo(sink, duplicate);
    if (pending !== undefined) await pending;
    if (top.advance()) tree.replay();
    else await step(tree, top);
  }
}

/** Merges sources (in input order) into encoded chunks, for a run file. */
export async function* mergeChunks(
  sources: ChunkSource[],
  keyColumns: KeyColumns,
): AsyncGenerator<Uint8Array> {
  const tree = await treeOf(sources, keyColumns);
  const cursors = tree.cursors;
  const builder = new ChunkBuilder();
  while (tree.live > 0) {
    const top = cursors[tree.winner] as Cursor;
    if (builder.rows > 0 && (builder.width !== top.width || builder.large !== top.large)) {
      yield builder.encode();
    }
    top.copyTo(builder);
    if (builder.full) yield builder.encode();
    if (top.advance()) tree.replay();
    else await step(tree, top);
  }
  if (builder.rows > 0) yield builder.encode();
}
