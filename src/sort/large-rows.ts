/**
 * Rows too large to travel through a sort in memory: written to a file of their own as they
 * arrive, while the sort carries only their key and a reference (`LargeRowRef`).
 *
 * Why: the k-way merge holds the current chunk of every run, and a chunk holds at least one
 * row. Rows of 20 MiB, one per run, would all be in memory at once; as references they cost
 * their key, and each row is read back once, when the merge hands it out.
 *
 * A row on disk: a 12-byte header (encoding 0 Latin-1 / 1 UTF-16LE, width, text bytes), the
 * field lengths (32-bit, native byte order: the file never leaves the process that wrote it),
 * then the text of all fields one after the other.
 */
import { Buffer } from "node:buffer";
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { Row } from "../core/rows.js";
import { NOT_LATIN1 } from "./row-store.js";

/** Rows of more characters than this are kept out of line. */
export const LARGE_ROW_CHARS = 64 * 1024;

const HEADER_BYTES = 12;
const LATIN1 = 0;
const UTF16 = 1;
/** Text is encoded and written in pieces of about this many characters. */
const PIECE_CHARS = 1024 * 1024;

/** Where a large row lies in its file, as one field: `<offset>:<bytes>`. */
export type LargeRowRef = string;

/** Characters of a row's fields. */
export function rowChars(row: Row): number {
  let chars = 0;
  for (let k = 0; k < row.length; k++) chars += (row[k] as string).length;
  return chars;
}

/** An append-only file of large rows, read back by reference. */
export class LargeRows {
  private handle: FileHandle | undefined;
  private size = 0;

  private constructor(handle: FileHandle) {
    this.handle = handle;
  }

  static async create(path: string): Promise<LargeRows> {
    return new LargeRows(await open(path, "wx+"));
  }

  /** Writes a row; returns its reference. */
  async write(row: Row): Promise<LargeRowRef> {
    const handle = this.live();
    const latin1 = !row.some((field) => NOT_LATIN1.test(field));
    const encoding = latin1 ? "latin1" : "utf16le";
    const unit = latin1 ? 1 : 2;
    const head = new Uint32Array(3 + row.length);
    head[0] = latin1 ? LATIN1 : UTF16;
    head[1] = row.length;
    head[2] = rowChars(row) * unit;
    for (let k = 0; k < row.length; k++) head[3 + k] = (row[k] as string).length;
    const start = this.size;
    let at = start;
    at += await writeAll(handle, new Uint8Array(head.buffer), at);
    for (const field of row) {
      for (let from = 0; from < field.length; from += PIECE_CHARS) {
        const piece = Buffer.from(field.slice(from, from + PIECE_CHARS), encoding);
        at += await writeAll(handle, piece, at);
      }
    }
    this.size = at;
    return `${start}:${at - start}`;
  }

  /** Reads a row back. */
  async read(ref: LargeRowRef): Promise<Row> {
    const handle = this.live();
    const colon = ref.indexOf(":");
    const offset = Number(ref.slice(0, colon));
    const bytes = Number(ref.slice(colon + 1));
    // Not from the pool: its own ArrayBuffer, 4-byte aligned for the lengths' view.
    const data = Buffer.allocUnsafeSlow(bytes);
    for (let got = 0; got < bytes;) {
      const { bytesRead } = await handle.read(data, got, bytes - got, offset + got);
      if (bytesRead === 0) throw new Error("large row file is truncated");
      got += bytesRead;
    }
    const header = new Uint32Array(data.buffer, data.byteOffset, HEADER_BYTES / 4);
    const latin1 = header[0] === LATIN1;
    const width = header[1] as number;
    const lengths = new Uint32Array(width);
    lengths.set(new Uint32Array(data.buffer, data.byteOffset + HEADER_BYTES, width));
    const text = data.toString(latin1 ? "latin1" : "utf16le", HEADER_BYTES + width * 4);
    const row: Row = new Array<string>(width);
    let from = 0;
    for (let k = 0; k < width; k++) {
      const end = from + (lengths[k] as number);
      row[k] = text.slice(from, end);
      from = end;
    }
    return row;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private live(): FileHandle {
    if (this.handle === undefined) throw new Error("large row file is closed");
    return this.handle;
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<number> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
  return data.length;
}
