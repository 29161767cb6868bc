import { open, type FileHandle } from "node:fs/promises";
import { resolve } from "node:path";
import { SyncupError, formatPosition } from "../errors.js";
import { CsvDecodeError, CsvDecoder } from "./decode.js";
import { resolveCsvFormat, type CsvFormat } from "./format.js";
import { CsvParser, type CsvRow } from "./parser.js";

export type { CsvRow } from "./parser.js";

/** An open CSV file: its header, and its data rows as a stream of batches. */
export interface CsvReader {
  /** Label used in messages (the path as the user gave it). */
  readonly file: string;
  readonly header: string[];
  /** 1-based physical line of the header. */
  readonly headerLine: number;
  /**
   * The data rows in batches (those starting in about 64 Ki characters of text); can be iterated
   * once. Ending the iteration early (break, throw) closes the file.
   */
  readonly rows: AsyncIterable<CsvRow[]>;
  /** Bytes of the file consumed so far (for progress bars). */
  bytesRead(): number;
  /** File size in bytes. */
  readonly size: number;
  /** Closes the file without reading the rest; needed only when `rows` is not iterated to its end. */
  close(): Promise<void>;
}

export interface OpenCsvOptions {
  /** Name of the file in messages; default: the path. */
  label?: string;
  /** Bytes read at a time; default 1 MiB. */
  highWaterMark?: number;
  /**
   * Longest record accepted, in characters with its line end; default 64 Mi. It bounds the
   * memory a record takes (here and in what follows: a sort, a writer), also on a missing
   * closing quote.
   */
  maxRecordLength?: number;
  /** The setting that raises `maxRecordLength`, named in the error (e.g. "prepare.maxRecordMiB"). */
  maxRecordSetting?: string;
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Opens a CSV file and reads up to its header line. Streaming with bounded memory: the file is
 * read in chunks of `highWaterMark` bytes (the next read overlapping the parsing of the previous).
 *
 * Errors are SyncupErrors: CSV_FILE_MISSING, CSV_FILE_EMPTY (here); CSV_BAD_ENCODING,
 * CSV_BAD_QUOTE, CSV_UNTERMINATED_QUOTE, CSV_RAGGED_ROW, CSV_RECORD_TOO_LARGE (here for the
 * header, while iterating `rows` for the data).
 */
export async function openCsv(
  path: string,
  format: Partial<CsvFormat> = {},
  options: OpenCsvOptions = {},
): Promise<CsvReader> {
  const resolved = resolveCsvFormat(format);
  const file = options.label ?? path;
  const handle = await openFile(path, file);
  let source: ChunkSource | undefined;
  try {
    const size = (await handle.stat()).size;
    source = new ChunkSource(handle, options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK);
    const input = new Input(file, new CsvDecoder(resolved.encoding), source);
    const parser = new CsvParser(file, resolved, {
      maxRecordLength: options.maxRecordLength,
      maxRecordSetting: options.maxRecordSetting,
    });
    while (parser.header === undefined) {
      if (parser.next(input.ended, true) !== undefined) continue;
      if (input.ended) break; // unreachable: at the end, next() throws CSV_FILE_EMPTY
      const text = await input.next(parser);
      if (text !== undefined) parser.push(text);
    }
    return new Reader(file, parser, input, source, size);
  } catch (error) {
    await (source === undefined ? handle.close() : source.close());
    throw error;
  }
}

async function openFile(path: string, file: string): Promise<FileHandle> {
  try {
    const handle = await open(path, "r");
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new SyncupError(
        "CSV_FILE_MISSING",
        `"${file}" is a directory, not a CSV file (${resolve(path)}). Check the file name in the configuration.`,
        { position: { file } },
      );
    }
    return handle;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new SyncupError(
        "CSV_FILE_MISSING",
        `CSV file "${file}" does not exist (looked for ${resolve(path)}). Check the path and file name in ` +
          `the configuration, or run the export that creates the file first.`,
        { cause: error, position: { file } },
      );
    }
    if (code === "EISDIR") {
      throw new SyncupError(
        "CSV_FILE_MISSING",
        `"${file}" is a directory, not a CSV file (${resolve(path)}).`,
        {
          cause: error,
          position: { file },
        },
      );
    }
    throw error;
  }
}

class Reader implements CsvReader {
  readonly header: string[];
  readonly headerLine: number;
  private iterated = false;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly parser: CsvParser,
    private readonly input: Input,
    private readonly source: ChunkSource,
    readonly size: number,
  ) {
    this.header = parser.header as string[];
    this.headerLine = parser.headerLine;
  }

  get rows(): AsyncIterable<CsvRow[]> {
    return { [Symbol.asyncIterator]: () => this.iterate() };
  }

  bytesRead(): number {
    return this.source.consumed;
  }

  close(): Promise<void> {
    this.closed = true;
    return this.source.close();
  }

  private async *iterate(): AsyncGenerator<CsvRow[], void, undefined> {
    if (this.iterated) throw new Error(`The rows of "${this.file}" can be iterated only once`);
    this.iterated = true;
    try {
      const parser = this.parser;
      const input = this.input;
      while (!this.closed) {
        const final = input.ended;
        for (let batch = parser.next(final); batch !== undefined; batch = parser.next(final)) {
          if (batch.length > 0) yield batch;
          if (this.closed) return;
        }
        if (final) break;
        const text = await input.next(parser);
        if (text !== undefined && !this.closed) parser.push(text);
      }
    } finally {
      await this.source.close();
    }
  }
}

/** Decoded text from the chunk source; turns decoding failures into CSV_BAD_ENCODING. */
class Input {
  /** Whether the end of the file has been reached (and all its text returned). */
  ended = false;

  constructor(
    private readonly file: string,
    private readonly decoder: CsvDecoder,
    private readonly source: ChunkSource,
  ) {}

  /** The next piece of text, or undefined at the end of the file. */
  async next(parser: CsvParser): Promise<string | undefined> {
    if (this.ended) return undefined;
    try {
      const chunk = await this.source.next();
      if (chunk !== undefined) return this.decoder.decode(chunk);
      const text = this.decoder.end();
      this.ended = true;
      return text;
    } catch (error) {
      if (!(error instanceof CsvDecodeError)) throw error;
      // Records before the bad byte may hold an earlier error; then the bad byte's line and column.
      parser.push(error.validText);
      while (parser.next() !== undefined) {
        // parse (and drop) them
      }
      const { line, column } = parser.positionAtEnd();
      const position = { file: this.file, line, column };
      const encoding = this.decoder.encoding;
      const suggestion = encoding.startsWith("utf-16")
        ? `Is the file really ${encoding.toUpperCase()}? Set the format's encoding option to how the file was written (e.g. "utf-8").`
        : `The file is not valid ${encoding.toUpperCase()}; if it was written in another encoding, set the format's encoding option (e.g. "windows-1252", "latin1" or "utf-16").`;
      throw new SyncupError(
        "CSV_BAD_ENCODING",
        `Cannot decode ${formatPosition(position)} (character column; byte offset ${error.byteOffset} in the file): ${error.reason}. ${suggestion}`,
        { cause: error, position },
      );
    }
  }
}

/** Reads a file in chunks, the next read in flight while the caller works on the current one. */
class ChunkSource {
  /** Bytes handed out so far. */
  consumed = 0;
  private readonly buffers: [Buffer, Buffer];
  private current: 0 | 1 = 0;
  private inflight: Promise<number> | undefined;
  private closed: Promise<void> | undefined;
  private done = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly chunkSize: number,
  ) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError("highWaterMark must be >= 1");
    this.buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
  }

  /** The next chunk (valid until the call after next), or undefined at the end. */
  async next(): Promise<Buffer | undefined> {
    if (this.done || this.closed !== undefined) return undefined;
    const pending = this.inflight ?? this.read(this.current);
    this.inflight = undefined;
    const bytes = await pending;
    if (bytes === 0) {
      this.done = true;
      return undefined;
    }
    const chunk = this.buffers[this.current].subarray(0, bytes);
    this.current = this.current === 0 ? 1 : 0;
    this.consumed += bytes;
    this.inflight = this.read(this.current);
    // A failed read-ahead surfaces on the next call; don't let it go unhandled meanwhile.
    this.inflight.catch(() => undefined);
    return chunk;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      const inflight = this.inflight;
      this.inflight = undefined;
      if (inflight !== undefined) await inflight.catch(() => undefined);
      await this.handle.close();
    })();
    return this.closed;
  }

  private async read(index: 0 | 1): Promise<number> {
    const { bytesRead } = await this.handle.read(this.buffers[index], 0, this.chunkSize, null);
    return bytesRead;
  }
}
