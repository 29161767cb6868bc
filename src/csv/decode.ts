import { isAscii } from "node:buffer";
import { TextDecoder } from "node:util";
import type { CsvEncoding } from "./format.js";

/** Thrown by {@link CsvDecoder} at the first byte that is invalid in the declared encoding. */
export class CsvDecodeError extends Error {
  constructor(
    /** The text decoded from the bytes before the bad one (since the previous successful call). */
    readonly validText: string,
    /** Offset of the bad byte from the start of the file. */
    readonly byteOffset: number,
    /** What is wrong, e.g. "invalid UTF-8 byte 0xE9". */
    readonly reason: string,
  ) {
    super(reason);
    this.name = "CsvDecodeError";
  }
}

type Kind = "utf-8" | "utf-16le" | "utf-16be";

/**
 * A streaming decoder from bytes to text. UTF-8 and UTF-16 go through a fatal streaming
 * `TextDecoder` (which strips a matching byte order mark; for UTF-8 this class does); on a
 * failure the bad byte is located by re-scanning the chunk (with the few bytes the decoder held
 * back from the previous chunk). latin1 and windows-1252 never fail.
 *
 * ASCII chunks of UTF-8 bypass the decoder: `TextDecoder` returns two-byte strings, twice the
 * memory of the one-byte strings `Buffer`'s latin1 makes, and a large record joined from them
 * would be two-byte throughout.
 */
export class CsvDecoder {
  private kind: Kind | "latin1" | "windows-1252" | undefined;
  private decoder: TextDecoder | undefined;
  /** Bytes fed so far. */
  private offset = 0;
  /** Up to the last 4 bytes fed (copies). */
  private last: Buffer = Buffer.alloc(0);
  /** How many of `last` the decoder holds back (an incomplete character). */
  private held = 0;
  /** Bytes kept until the byte order mark of "utf-16" can be seen. */
  private head: Buffer | undefined;
  /** UTF-8: whether text has come out yet (a byte order mark is removed from its start). */
  private started = false;

  constructor(readonly encoding: CsvEncoding) {
    if (encoding === "utf-16") this.head = Buffer.alloc(0);
    else this.init(encoding);
  }

  /** Decodes the next chunk. The chunk may be reused by the caller after the call. */
  decode(chunk: Buffer): string {
    if (this.head !== undefined) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 2) return "";
      const head = this.head;
      this.head = undefined;
      this.init(head[0] === 0xfe && head[1] === 0xff ? "utf-16be" : "utf-16le");
      return this.decode(head);
    }
    if (this.kind === "latin1") return chunk.toString("latin1");
    if (this.kind === "windows-1252") return decodeWindows1252(chunk);
    if (this.kind === "utf-8" && this.held === 0 && isAscii(chunk)) {
      // ASCII is the same in UTF-8, and Buffer's latin1 is the fastest way to a string (a
      // one-byte one). No byte order mark is ASCII.
      this.advance(chunk);
      if (chunk.length > 0) this.started = true;
      return chunk.toString("latin1");
    }
    const decoder = this.decoder as TextDecoder;
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw this.locate(chunk, false);
    }
    this.advance(chunk);
    return this.utf8Start(text);
  }

  /** Removes a UTF-8 byte order mark from the start of the text (the decoder keeps it). */
  private utf8Start(text: string): string {
    if (this.started || this.kind !== "utf-8" || text.length === 0) return text;
    this.started = true;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  /** Flushes at the end of the input; throws when the input ends inside a character. */
  end(): string {
    if (this.head !== undefined) {
      const head = this.head;
      this.head = undefined;
      this.init("utf-16le");
      const text = this.decode(head);
      return text + this.end();
    }
    if (this.decoder === undefined) return "";
    try {
      return this.utf8Start(this.decoder.decode());
    } catch {
      throw this.locate(Buffer.alloc(0), true);
    }
  }

  private init(encoding: Exclude<CsvEncoding, "utf-16">): void {
    this.kind = encoding;
    // Single-byte encodings never fail and need no decoder state. (WHATWG's "latin1" label means
    // windows-1252, so latin1 is Buffer's ISO-8859-1.)
    if (encoding === "latin1" || encoding === "windows-1252") return;
    // UTF-8 keeps a byte order mark (removed by `utf8Start`): chunks that bypass the decoder
    // would make it take a U+FEFF further on for the start of the text.
    this.decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: encoding === "utf-8" });
  }

  /** Tracks the last bytes and how many of them the decoder holds back. */
  private advance(chunk: Buffer): void {
    this.offset += chunk.length;
    this.last =
      chunk.length >= 4
        ? Buffer.from(chunk.subarray(chunk.length - 4))
        : tail4(Buffer.concat([this.last, chunk]));
    this.held =
      this.kind === "utf-8"
        ? heldUtf8(this.last)
        : heldUtf16(this.last, this.offset, this.kind === "utf-16be");
  }

  /** Builds the error for the first bad byte in the held-back bytes plus `chunk`. */
  private locate(chunk: Buffer, final: boolean): CsvDecodeError {
    const data = Buffer.concat([this.last.subarray(this.last.length - this.held), chunk]);
    const start = this.offset - this.held;
    const kind = this.kind as Kind;
    const found =
      kind === "utf-8" ? findBadUtf8(data, final) : findBadUtf16(data, final, kind === "utf-16be");
    // Should the scan disagree with the decoder, blame the end of the data.
    const index = found?.index ?? data.length;
    let reason = found?.reason ?? `invalid ${kind.toUpperCase()} data`;
    if (kind === "utf-8" && start + index === 0 && data.length >= 2) {
      if ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff)) {
        reason += ` (the file starts with a UTF-16 byte order mark: it is UTF-16, not UTF-8)`;
      }
    }
    const prefix = new TextDecoder(kind, { ignoreBOM: start !== 0 }).decode(data.subarray(0, index));
    return new CsvDecodeError(prefix, start + index, reason);
  }
}

/** windows-1252 differs from ISO-8859-1 only in 0x80–0x9F (five of which it leaves undefined: kept). */
const WINDOWS_1252_HIGH =
  "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
  "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";
const C1 = /[\x80-\x9f]/g;

function decodeWindows1252(chunk: Buffer): string {
  const text = chunk.toString("latin1");
  C1.lastIndex = 0;
  if (!C1.test(text)) return text;
  return text.replace(C1, (c) => WINDOWS_1252_HIGH.charAt(c.charCodeAt(0) - 0x80));
}

function tail4(bytes: Buffer): Buffer {
  return bytes.length <= 4 ? bytes : Buffer.from(bytes.subarray(bytes.length - 4));
}

/** How many trailing bytes form an incomplete UTF-8 sequence (which a streaming decoder holds back). */
function heldUtf8(last: Buffer): number {
  for (let j = last.length - 1; j >= 0 && j >= last.length - 3; j--) {
    const b = last[j] as number;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0xc0) return 0;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    const have = last.length - j;
    return have < need ? have : 0;
  }
  return 0;
}

/** How many trailing bytes a streaming UTF-16 decoder holds back: an odd byte and/or a high surrogate. */
function heldUtf16(last: Buffer, endOffset: number, bigEndian: boolean): number {
  const odd = endOffset % 2;
  const unitEnd = last.length - odd;
  if (unitEnd >= 2) {
    const unit = bigEndian
      ? ((last[unitEnd - 2] as number) << 8) | (last[unitEnd - 1] as number)
      : (last[unitEnd - 2] as number) | ((last[unitEnd - 1] as number) << 8);
    if (unit >= 0xd800 && unit <= 0xdbff) return odd + 2;
  }
  return odd;
}

interface Bad {
  index: number;
  reason: string;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** Finds the first invalid UTF-8 sequence (its first byte). Incomplete at the end is bad only if final. */
export function findBadUtf8(b: Uint8Array, final: boolean): Bad | undefined {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return { index: i, reason: `invalid UTF-8 byte ${hex(c)}` };
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) {
        return final ? { index: i, reason: "the file ends in the middle of a UTF-8 character" } : undefined;
      }
      const d = b[i + k] as number;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) {
        const seq = Array.from(b.subarray(i, i + k + 1), hex).join(" ");
        return { index: i, reason: `invalid UTF-8 sequence ${seq}` };
      }
    }
    i += need + 1;
  }
  return undefined;
}

/** Finds the first unpaired surrogate (or a final odd byte) in UTF-16 data starting at a unit boundary. */
export function findBadUtf16(b: Uint8Array, final: boolean, bigEndian: boolean): Bad | undefined {
  const n = b.length;
  const unit = (i: number): number =>
    bigEndian
      ? ((b[i] as number) << 8) | (b[i + 1] as number)
      : (b[i] as number) | ((b[i + 1] as number) << 8);
  const name = bigEndian ? "UTF-16BE" : "UTF-16LE";
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const u = unit(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      if (i + 3 >= n) {
        if (!final) return undefined;
        return {
          index: i,
          reason: `unpaired ${name} surrogate 0x${u.toString(16).toUpperCase()} at the end`,
        };
      }
      const v = unit(i + 2);
      if (v < 0xdc00 || v > 0xdfff) {
        return { index: i, reason: `unpaired ${name} surrogate 0x${u.toString(16).toUpperCase()}` };
      }
      i += 2;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return { index: i, reason: `unpaired ${name} surrogate 0x${u.toString(16).toUpperCase()}` };
    }
  }
  if (i < n && final)
    return { index: i, reason: `odd number of bytes: the last byte is half a ${name} character` };
  return undefined;
}
