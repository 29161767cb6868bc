/**
 * Chunks of sorted rows, and the run files that hold them.
 *
 * A chunk is rows of one width: the lengths of their fields and the text of all their fields
 * one after the other. Field lengths instead of separators mean no escaping and no scanning: a
 * field may contain anything. On disk a chunk is a 24-byte header, the lengths (32-bit, native
 * byte order: run files never leave the process that wrote them) and the text, Latin-1 when
 * every character fits (one byte each; encoding and decoding are copies), else UTF-16LE,
 * padded to 4 bytes. Header (six 32-bit words): encoding (0 Latin-1, 1 UTF-16), rows, width,
 * number of lengths, text bytes, 1 when the rows stand in for large rows (key columns and a
 * reference into the sort's large-row file, see `large-rows.ts`) else 0.
 */
import { Buffer } from "node:buffer";
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { LARGE_FLAG, NOT_LATIN1_FLAG, WIDTH_MASK } from "./row-store.js";

const HEADER_BYTES = 24;
const LATIN1 = 0;
const UTF16 = 1;

/** A chunk holds about this many characters of field text. */
export const CHUNK_CHARS = 64 * 1024;
/** At most this many rows in a chunk. */
const MAX_CHUNK_ROWS = 8 * 1024;
/** Chunks are handed to the file system in groups of about this many bytes. */
const WRITE_BYTES = 1024 * 1024;

/** Decoded rows: row i's fields are cut from `units` by `lengths` (`chunkText` for strings). */
export interface Chunk {
  /** The text of the rows as UTF-16 code units. */
  units: Uint16Array;
  lengths: Uint32Array;
  rows: number;
  width: number;
  /** Whether all of the text is Latin-1. */
  latin1: boolean;
  /** Whether the rows stand in for large rows: key columns, then the reference. */
  large: boolean;
}

/** Where `chunkText` narrows Latin-1 code units to bytes before decoding them. */
let narrow = new Uint8Array(CHUNK_CHARS + 1024);

/**
 * The text of a chunk as a string, made only for rows handed out as strings (while the chunk's
 * arrays are valid).
 */
export function chunkText(chunk: Chunk): string {
  const units = chunk.units;
  if (!chunk.latin1) return Buffer.from(units.buffer, units.byteOffset, units.length * 2).toString("utf16le");
  if (narrow.length < units.length) narrow = new Uint8Array(units.length);
  narrow.set(units);
  return Buffer.from(narrow.buffer, 0, units.length).toString("latin1");
}

/** Collects rows (as code units and field lengths) into one chunk. */
export class ChunkBuilder {
  private units = new Uint16Array(CHUNK_CHARS + 1024);
  private lengths = new Uint32Array(MAX_CHUNK_ROWS * 2);
  private encoded = new Uint8Array(0);
  chars = 0;
  count = 0;
  rows = 0;
  width = 0;
  latin1 = true;
  large = false;

  /** Whether the chunk should be emitted before more rows join. */
  get full(): boolean {
    return this.chars >= CHUNK_CHARS || this.rows >= MAX_CHUNK_ROWS;
  }

  /**
   * Adds a row: `chars` code units from `units[start]`, `width` field lengths from
   * `lengths[at]`. Rows of a chunk must have the same width and kind (see `width`, `large`,
   * `rows`).
   */
  append(
    units: Uint16Array,
    start: number,
    chars: number,
    lengths: Uint32Array,
    at: number,
    width: number,
    latin1: boolean,
    large: boolean,
  ): void {
    if (this.chars + chars > this.units.length) this.growUnits(this.chars + chars);
    if (this.count + width > this.lengths.length) this.growLengths(this.count + width);
    const to = this.units;
    let c = this.chars;
    if (chars > 32) {
      to.set(units.subarray(start, start + chars), c);
      c += chars;
    } else {
      for (let k = start, end = start + chars; k < end; k++) to[c++] = units[k] as number;
    }
    this.chars = c;
    const toLengths = this.lengths;
    let n = this.count;
    for (let k = at, end = at + width; k < end; k++) toLengths[n++] = lengths[k] as number;
    this.count = n;
    this.width = width;
    this.large = large;
    this.rows++;
    if (!latin1) this.latin1 = false;
  }

  /** Adds the row of a store record (see `row-store.ts`). */
  appendRecord(text: Uint16Array, meta: Uint32Array, record: number): void {
    const start = meta[record] as number;
    const flagged = meta[record + 1] as number;
    const width = flagged & WIDTH_MASK;
    if (this.count + width > this.lengths.length) this.growLengths(this.count + width);
    const lengths = this.lengths;
    let n = this.count;
    let chars = 0;
    for (let k = record + 2, end = record + 2 + width; k < end; k++) {
      const length = meta[k] as number;
      lengths[n++] = length;
      chars += length;
    }
    this.count = n;
    if (this.chars + chars > this.units.length) this.growUnits(this.chars + chars);
    const to = this.units;
    let c = this.chars;
    if (chars > 32) {
      to.set(text.subarray(start, start + chars), c);
      c += chars;
    } else {
      for (let k = start, end = start + chars; k < end; k++) to[c++] = text[k] as number;
    }
    this.chars = c;
    this.width = width;
    this.large = (flagged & LARGE_FLAG) !== 0;
    this.rows++;
    if ((flagged & NOT_LATIN1_FLAG) !== 0) this.latin1 = false;
  }

  /**
   * The chunk as bytes for a run file (valid until the next `encode`: the builder reuses its
   * memory); then the builder is empty.
   */
  encode(): Uint8Array {
    const textBytes = this.latin1 ? this.chars : this.chars * 2;
    const lengthBytes = this.count * 4;
    const size = HEADER_BYTES + lengthBytes + ((textBytes + 3) & ~3);
    if (this.encoded.length < size) this.encoded = new Uint8Array(Math.max(size, 2 * this.encoded.length));
    const bytes = this.encoded.subarray(0, size);
    // Padding too: the bytes of an earlier chunk must not reach the file.
    bytes.fill(0, size - 4);
    const header = new Uint32Array(bytes.buffer, 0, HEADER_BYTES / 4);
    header[0] = this.latin1 ? LATIN1 : UTF16;
    header[1] = this.rows;
    header[2] = this.width;
    header[3] = this.count;
    header[4] = textBytes;
    header[5] = this.large ? 1 : 0;
    new Uint32Array(bytes.buffer, HEADER_BYTES, this.count).set(this.lengths.subarray(0, this.count));
    const textAt = HEADER_BYTES + lengthBytes;
    if (this.latin1) {
      bytes.set(this.units.subarray(0, this.chars), textAt);
    } else {
      bytes.set(new Uint8Array(this.units.buffer, 0, textBytes), textAt);
    }
    this.reset();
    return bytes;
  }

  /**
   * The chunk decoded (for rows that never go to disk); then the builder is empty. Its `units`
   * and `lengths` are the builder's: valid until the builder is filled again.
   */
  decode(): Chunk {
    const chars = this.chars;
    const chunk: Chunk = {
      units: this.units.subarray(0, chars),
      lengths: this.lengths.subarray(0, this.count),
      rows: this.rows,
      width: this.width,
      latin1: this.latin1,
      large: this.large,
    };
    this.reset();
    return chunk;
  }

  private reset(): void {
    this.chars = 0;
    this.count = 0;
    this.rows = 0;
    this.width = 0;
    this.latin1 = true;
    this.large = false;
  }

  private growUnits(needed: number): void {
    const units = new Uint16Array(Math.max(needed, this.units.length * 2));
    units.set(this.units.subarray(0, this.chars));
    this.units = units;
  }

  private growLengths(needed: number): void {
    const lengths = new Uint32Array(Math.max(needed, this.lengths.length * 2));
    lengths.set(this.lengths.subarray(0, this.count));
    this.lengths = lengths;
  }
}

/**
 * Writes encoded chunks to a new run file, with one write in flight: chunks are copied into one
 * of two buffers, written in turns (fresh memory costs a page fault a page).
 */
export class RunWriter {
  private handle: FileHandle | undefined;
  private pending: Promise<unknown> = Promise.resolve();
  private buffer = new Uint8Array(WRITE_BYTES + 128 * 1024);
  private other = new Uint8Array(WRITE_BYTES + 128 * 1024);
  private used = 0;

  private constructor(handle: FileHandle) {
    this.handle = handle;
  }

  static async create(path: string): Promise<RunWriter> {
    return new RunWriter(await open(path, "wx"));
  }

  /** Takes a copy of `chunk` before it returns or awaits. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.used + chunk.length > this.buffer.length) {
      const bigger = new Uint8Array(this.used + chunk.length);
      bigger.set(this.buffer.subarray(0, this.used));
      this.buffer = bigger;
    }
    this.buffer.set(chunk, this.used);
    this.used += chunk.length;
    if (this.used >= WRITE_BYTES) await this.flush();
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    await this.pending;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /** Closes the file without caring about its content (on errors). */
  async abandon(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await this.pending.catch(() => undefined);
    await handle?.close().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    // The other buffer is free once its write is done.
    await this.pending;
    const handle = this.handle;
    if (handle === undefined) throw new Error("run file is closed");
    const full = this.buffer;
    const bytes = this.used;
    this.buffer = this.other;
    this.other = full;
    this.used = 0;
    // Leave the write running while the next chunks are encoded.
    const write = writeFully(handle, full, bytes);
    this.pending = write;
    write.catch(() => undefined);
  }
}

async function writeFully(handle: FileHandle, buffer: Uint8Array, bytes: number): Promise<void> {
  for (let at = 0; at < bytes;) at += (await handle.write(buffer, at, bytes - at)).bytesWritten;
}

/**
 * Reads a run file's chunks in order with large buffered reads. A chunk's `units` and
 * `lengths` are valid until the next `next()` (the arrays are reused).
 */
export class RunReader {
  private handle: FileHandle | undefined;
  private buffer: Uint8Array;
  private units = new Uint16Array(CHUNK_CHARS + 1024);
  private lengths = new Uint32Array(1024);
  private start = 0;
  private end = 0;
  private position = 0;
  private eof = false;

  private constructor(handle: FileHandle, readBytes: number) {
    this.handle = handle;
    // An ArrayBuffer of its own: chunks start 4-byte aligned, as 32-bit views need.
    this.buffer = new Uint8Array(new ArrayBuffer(Math.max(readBytes, 64 * 1024)));
  }

  static async open(path: string, readBytes: number): Promise<RunReader> {
    return new RunReader(await open(path, "r"), readBytes);
  }

  /** The next chunk, or undefined at the end of the file. */
  async next(): Promise<Chunk | undefined> {
    if (!(await this.ensure(HEADER_BYTES))) return undefined;
    const header = new Uint32Array(this.buffer.buffer, this.start, HEADER_BYTES / 4);
    const latin1 = header[0] === LATIN1;
    const rows = header[1] as number;
    const width = header[2] as number;
    const count = header[3] as number;
    const textBytes = header[4] as number;
    const large = header[5] === 1;
    const size = HEADER_BYTES + count * 4 + ((textBytes + 3) & ~3);
    if (!(await this.ensure(size))) throw new Error("run file is truncated");
    const buffer = this.buffer.buffer;
    if (this.lengths.length < count) this.lengths = new Uint32Array(Math.max(count, this.lengths.length * 2));
    const lengths = this.lengths.subarray(0, count);
    lengths.set(new Uint32Array(buffer, this.start + HEADER_BYTES, count));
    const textAt = this.start + HEADER_BYTES + count * 4;
    const chars = latin1 ? textBytes : textBytes / 2;
    if (this.units.length < chars) this.units = new Uint16Array(Math.max(chars, this.units.length * 2));
    const units = this.units.subarray(0, chars);
    units.set(latin1 ? new Uint8Array(buffer, textAt, textBytes) : new Uint16Array(buffer, textAt, chars));
    this.start += size;
    return { units, lengths, rows, width, latin1, large };
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /** Makes `bytes` bytes available from `start`; false when the file ends first (cleanly). */
  private async ensure(bytes: number): Promise<boolean> {
    while (this.end - this.start < bytes) {
      if (this.eof) {
        if (this.end === this.start) return false;
        throw new Error("run file is truncated");
      }
      if (this.start > 0) {
        this.buffer.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      if (this.buffer.length < bytes) {
        const bigger = new Uint8Array(new ArrayBuffer(Math.max(bytes, this.buffer.length * 2)));
        bigger.set(this.buffer.subarray(0, this.end));
        this.buffer = bigger;
      }
      const handle = this.handle;
      if (handle === undefined) throw new Error("run file is closed");
      const { bytesRead } = await handle.read(
        this.buffer,
        this.end,
        this.buffer.length - this.end,
        this.position,
      );
      if (bytesRead === 0) this.eof = true;
      this.end += bytesRead;
      this.position += bytesRead;
    }
    return true;
  }
}
