import { createHash, type Hash } from "node:crypto";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { temporaryPath } from "../support/temporary-path.js";
import { encodeCsvUnits, maxCsvLineBytes, type UnitsRow } from "./encode-units.js";
import { isCsvWhitespace } from "./format.js";

const QUOTE = '"';
/** Text is encoded and handed to the file in pieces of about this many characters. */
const CHUNK_CHARS = 64 * 1024;
/** Pieces that may wait for the file before `write` asks its caller to wait. */
const MAX_QUEUED = 4;
/** A row of more characters is formatted and encoded a piece at a time, never whole. */
const LARGE_ROW_CHARS = 1024 * 1024;

function checkSeparator(separator: string): void {
  if (separator.length !== 1 || separator === QUOTE || separator === "\r" || separator === "\n") {
    throw new RangeError(
      `CSV separator must be one character other than '"', CR and LF: ${JSON.stringify(separator)}`,
    );
  }
}

/**
 * Formats one CSV line ending in "\n". A field is quoted (quotes doubled) only when it contains the
 * separator, a quote, CR or LF, or starts or ends with whitespace (a space, tab, …); a single
 * empty field is written as `""` so that the line is not blank.
 */
export function formatCsvLine(fields: readonly string[], separator = ";"): string {
  if (separator !== lastSeparator) {
    checkSeparator(separator);
    lastSeparator = separator;
  }
  const sepCode = separator.charCodeAt(0);
  let line = "";
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as string;
    if (i > 0) line += separator;
    if (field.length === 0) {
      if (fields.length === 1) line += '""';
    } else if (needsQuotes(field, sepCode)) {
      line += QUOTE + quoted(field) + QUOTE;
    } else {
      line += field;
    }
  }
  return line + "\n";
}

/** A field's text inside quotes: quotes doubled. */
function quoted(text: string): string {
  return text.includes(QUOTE) ? text.replaceAll(QUOTE, QUOTE + QUOTE) : text;
}

let lastSeparator = ";";

function needsQuotes(field: string, sepCode: number): boolean {
  const n = field.length;
  if (isCsvWhitespace(field.charCodeAt(0)) || isCsvWhitespace(field.charCodeAt(n - 1))) return true;
  for (let i = 0; i < n; i++) {
    const c = field.charCodeAt(i);
    if (c === sepCode || c === 34 || c === 10 || c === 13) return true;
  }
  return false;
}

export interface CsvCommitResult {
  /** The final path. */
  path: string;
  /** Data rows written (without the header). */
  rows: number;
  /** Bytes of the file. */
  bytes: number;
  /** SHA-256 of the file's bytes, hex. */
  sha256: string;
}

/**
 * Writes a CSV file (UTF-8 without BOM, "\n" line ends, header first) atomically: to a temporary
 * file beside the target, which `commit` flushes, fsyncs and renames into place. Nothing is at the
 * final path before `commit`; `abort` removes the temporary file.
 *
 * `write` is cheap: it appends to a string and returns a promise only when the file must catch up
 * (when more than four 64 KiB pieces wait for the file); await it when it is returned.
 * `writeUnits` does the same for a row held as UTF-16 code units, encoding it straight into bytes.
 */
export class CsvFileWriter {
  private text = "";
  /** Bytes of rows written by `writeUnits`, not yet handed to the file (`text` is then empty). */
  private bytes: Buffer = Buffer.allocUnsafe(0);
  private used = 0;
  /** Buffers of `bytes`'s size whose bytes were written, for the next ones. */
  private readonly spare: Buffer[] = [];
  private readonly row: UnitsRow = {
    units: new Uint16Array(0),
    start: 0,
    lengths: new Uint32Array(0),
    at: 0,
    width: 0,
  };
  private rowCount = 0;
  private byteCount = 0;
  private readonly hash: Hash = createHash("sha256");
  /** Completes when every queued write has; never rejects (failures are kept in `failure`). */
  private chain: Promise<void> = Promise.resolve();
  /** Completion of each queued write, oldest first (they complete in order). */
  private queued: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;
  private state: "open" | "committing" | "committed" | "aborted" = "open";

  private constructor(
    readonly path: string,
    /** The temporary file written until `commit`. */
    readonly tempPath: string,
    private readonly handle: FileHandle,
    private readonly separator: string,
  ) {}

  static async open(
    path: string,
    header: readonly string[],
    options: { separator?: string } = {},
  ): Promise<CsvFileWriter> {
    const separator = options.separator ?? ";";
    checkSeparator(separator);
    const tempPath = temporaryPath(path);
    const handle = await open(tempPath, "wx");
    const writer = new CsvFileWriter(path, tempPath, handle, separator);
    writer.text = formatCsvLine(header, separator);
    return writer;
  }

  /** Data rows written so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** Appends a row. Returns a promise only when the caller must wait for the file to catch up. */
  write(fields: readonly string[]): void | Promise<void> {
    if (this.state !== "open") throw new Error(`CSV writer for "${this.path}" is ${this.state}`);
    let chars = 0;
    for (let i = 0; i < fields.length; i++) chars += (fields[i] as string).length;
    const waitBytes = this.used > 0 ? this.flushBytes() : undefined;
    if (chars > LARGE_ROW_CHARS) return this.writeLarge(fields);
    this.text += formatCsvLine(fields, this.separator);
    this.rowCount++;
    if (this.text.length >= CHUNK_CHARS) return this.flush();
    return waitBytes;
  }

  /**
   * Appends the row whose `width` fields are `units[start ..]`, one after the other, field k
   * `lengths[at + k]` units long: the same bytes as `write` of its fields as strings. Returns a
   * promise only when the caller must wait for the file to catch up.
   */
  writeUnits(
    units: Uint16Array,
    start: number,
    lengths: Uint32Array,
    at: number,
    width: number,
  ): void | Promise<void> {
    if (this.state !== "open") throw new Error(`CSV writer for "${this.path}" is ${this.state}`);
    let chars = 0;
    for (let k = at; k < at + width; k++) chars += lengths[k] as number;
    const separator = this.separator.charCodeAt(0);
    if (chars > LARGE_ROW_CHARS || separator >= 0x80) {
      return this.write(fieldsOfUnits(units, start, lengths, at, width));
    }
    const waitText = this.text.length > 0 ? this.flush() : undefined;
    const needed = maxCsvLineBytes(chars, width);
    if (this.used + needed > this.bytes.length) {
      const bytes = Buffer.allocUnsafe(Math.max(CHUNK_CHARS * 2, this.used + needed));
      bytes.set(this.bytes.subarray(0, this.used));
      this.bytes = bytes;
    }
    const row = this.row;
    row.units = units;
    row.start = start;
    row.lengths = lengths;
    row.at = at;
    row.width = width;
    this.used = encodeCsvUnits(row, separator, this.bytes, this.used);
    this.rowCount++;
    if (this.used >= CHUNK_CHARS) return this.flushBytes();
    return waitText;
  }

  /**
   * Appends a large row as `formatCsvLine` would, a piece at a time: a copy of the whole line
   * (and of its UTF-8 bytes) would cost twice the row's size again.
   */
  private async writeLarge(fields: readonly string[]): Promise<void> {
    const sepCode = this.separator.charCodeAt(0);
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as string;
      if (i > 0) this.text += this.separator;
      if (field.length === 0) {
        if (fields.length === 1) this.text += '""';
        continue;
      }
      const quote = needsQuotes(field, sepCode);
      if (quote) this.text += QUOTE;
      for (let from = 0; from < field.length;) {
        let to = Math.min(field.length, from + CHUNK_CHARS);
        // Never between the two halves of a surrogate pair: each piece is encoded on its own.
        const last = field.charCodeAt(to - 1);
        if (to < field.length && last >= 0xd800 && last <= 0xdbff) to--;
        const piece = field.slice(from, to);
        this.text += quote ? quoted(piece) : piece;
        from = to;
        const pending = this.flush();
        if (pending !== undefined) await pending;
      }
      if (quote) this.text += QUOTE;
    }
    this.text += "\n";
    this.rowCount++;
    if (this.text.length >= CHUNK_CHARS) await this.flush();
  }

  /** Appends rows, waiting for the file when needed. */
  async writeBatch(rows: readonly (readonly string[])[]): Promise<void> {
    for (const fields of rows) {
      const wait = this.write(fields);
      if (wait !== undefined) await wait;
    }
  }

  /** Flushes, fsyncs and renames the file into place. On failure the temporary file is removed. */
  async commit(): Promise<CsvCommitResult> {
    if (this.state !== "open") throw new Error(`CSV writer for "${this.path}" is ${this.state}`);
    this.state = "committing";
    try {
      if (this.used > 0) void this.flushBytes()?.catch(() => undefined);
      if (this.text.length > 0) void this.flush()?.catch(() => undefined);
      await this.chain;
      if (this.failure !== undefined) throw this.failure.error;
      await this.handle.sync();
      await this.handle.close();
      await rename(this.tempPath, this.path);
      this.state = "committed";
    } catch (error) {
      this.state = "open";
      await this.abort();
      throw error;
    }
    await syncDirectory(dirname(this.path));
    return { path: this.path, rows: this.rowCount, bytes: this.byteCount, sha256: this.hash.digest("hex") };
  }

  /** Removes the temporary file. Idempotent; does nothing after a successful commit. */
  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    this.text = "";
    this.used = 0;
    await this.chain;
    await this.handle.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }

  private flush(): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure.error;
    const data = Buffer.from(this.text, "utf8");
    this.text = "";
    return this.enqueue(data);
  }

  /** Hands the bytes of `writeUnits` to the file; the next ones go to a buffer of their own. */
  private flushBytes(): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure.error;
    const full = this.bytes;
    const data = full.subarray(0, this.used);
    this.bytes = this.spare.pop() ?? Buffer.allocUnsafe(full.length);
    this.used = 0;
    return this.enqueue(data, full);
  }

  /**
   * Queues `data` for the file, in order; a promise when the caller must wait (see `write`).
   * `reuse`, once written, is kept for the next bytes: fresh memory costs a page fault a page.
   */
  private enqueue(data: Buffer, reuse?: Buffer): Promise<void> | undefined {
    this.hash.update(data);
    this.byteCount += data.length;
    const completion = this.chain
      .then(() => (this.failure === undefined && this.state !== "aborted" ? this.writeAll(data) : undefined))
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .then(() => {
        void this.queued.shift();
        if (reuse !== undefined && reuse.length === this.bytes.length) this.spare.push(reuse);
      });
    this.chain = completion;
    this.queued.push(completion);
    if (this.queued.length <= MAX_QUEUED) return undefined;
    return (this.queued[0] as Promise<void>).then(() => {
      if (this.failure !== undefined) throw this.failure.error;
    });
  }

  private async writeAll(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.handle.write(data, offset, data.length - offset, null);
      offset += bytesWritten;
    }
  }
}

/** The fields of a row held as code units (see `writeUnits`), as strings. */
function fieldsOfUnits(
  units: Uint16Array,
  start: number,
  lengths: Uint32Array,
  at: number,
  width: number,
): string[] {
  const fields: string[] = [];
  let from = start;
  for (let k = at; k < at + width; k++) {
    const end = from + (lengths[k] as number);
    fields.push(Buffer.from(units.buffer, units.byteOffset + from * 2, (end - from) * 2).toString("utf16le"));
    from = end;
  }
  return fields;
}

/** Makes a rename durable; best effort (not every platform can fsync a directory). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // ignore
  }
}
