import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import { CsvDecodeError, CsvDecoder, findBadUtf16, findBadUtf8 } from "./decode.js";
import type { CsvEncoding } from "./format.js";

/** Decodes `bytes` fed in pieces of `size` bytes. */
function decode(encoding: CsvEncoding, bytes: Buffer, size = bytes.length || 1): string {
  const decoder = new CsvDecoder(encoding);
  let text = "";
  for (let i = 0; i < bytes.length; i += size) {
    // A reused buffer, as the reader's: the decoder must not keep a reference.
    const piece = Buffer.from(bytes.subarray(i, i + size));
    text += decoder.decode(piece);
    piece.fill(0);
  }
  return text + decoder.end();
}

function failure(
  encoding: CsvEncoding,
  bytes: Buffer,
  size: number,
): { error: CsvDecodeError; before: string } {
  const decoder = new CsvDecoder(encoding);
  let before = "";
  try {
    for (let i = 0; i < bytes.length; i += size) before += decoder.decode(bytes.subarray(i, i + size));
    before += decoder.end();
  } catch (error) {
    if (error instanceof CsvDecodeError) return { error, before };
    throw error;
  }
  throw new Error("expected a decoding error");
}

const sample = "id;näme\r\nZoë;€ 😀 Łukasz\n";

describe("CsvDecoder", () => {
  it.each([1, 2, 3, 4, 5, 1000])("decodes every encoding in pieces of %i bytes", (size) => {
    expect(decode("utf-8", Buffer.from(sample), size)).toBe(sample);
    expect(decode("utf-8", Buffer.from("\ufeff" + sample), size)).toBe(sample);
    expect(decode("utf-16le", Buffer.from("\ufeff" + sample, "utf16le"), size)).toBe(sample);
    expect(decode("utf-16be", Buffer.from("\ufeff" + sample, "utf16le").swap16(), size)).toBe(sample);
    expect(decode("utf-16", Buffer.from("\ufeff" + sample, "utf16le").swap16(), size)).toBe(sample);
    expect(decode("utf-16", Buffer.from("\ufeff" + sample, "utf16le"), size)).toBe(sample);
    expect(decode("utf-16", Buffer.from(sample, "utf16le"), size)).toBe(sample);
  });

  it("strips the BOM only at the start", () => {
    expect(decode("utf-8", Buffer.from("ab\ufeffc"), 2)).toBe("ab\ufeffc");
    expect(decode("utf-8", Buffer.from("\ufeff\ufeffx"))).toBe("\ufeffx");
  });

  it("latin1 and windows-1252 map every byte", () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(decode("latin1", all)).toBe(String.fromCharCode(...all));
    const windows = decode("windows-1252", all);
    const reference = iconv.decode(all, "win1252");
    for (let i = 0; i < 256; i++) {
      // iconv-lite turns the five undefined bytes into U+FFFD; WHATWG (and we) keep them as C1 controls.
      const expected = [0x81, 0x8d, 0x8f, 0x90, 0x9d].includes(i) ? String.fromCharCode(i) : reference[i];
      expect(windows[i], `byte ${i}`).toBe(expected);
    }
    expect(decode("windows-1252", Buffer.from([0x80, 0x41, 0x9f]), 1)).toBe("€AŸ");
  });

  it.each([1, 2, 3, 7, 100])("locates the bad byte whatever the pieces (%i bytes)", (size) => {
    const bytes = Buffer.concat([Buffer.from("aé€😀b"), Buffer.from([0xf0, 0x9f, 0x41]), Buffer.from("zz")]);
    const { error, before } = failure("utf-8", bytes, size);
    expect(error.byteOffset).toBe(11);
    expect(error.reason).toBe("invalid UTF-8 sequence 0xF0 0x9F 0x41");
    expect(before + error.validText).toBe("aé€😀b");
  });

  it("reports a truncated sequence at the end", () => {
    const { error, before } = failure("utf-8", Buffer.from([0x61, 0xe2, 0x82]), 1);
    expect(before + error.validText).toBe("a");
    expect(error.byteOffset).toBe(1);
    expect(error.reason).toMatch(/ends in the middle/);
  });

  it("finds bad UTF-8 and UTF-16 directly", () => {
    expect(findBadUtf8(Buffer.from("ok €"), true)).toBeUndefined();
    expect(findBadUtf8(Buffer.from([0xe2, 0x82]), false)).toBeUndefined();
    expect(findBadUtf8(Buffer.from([0x41, 0xc1, 0x81]), false)?.index).toBe(1); // overlong
    expect(findBadUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]), false)?.index).toBe(0); // > U+10FFFF
    expect(findBadUtf16(Buffer.from("a😀", "utf16le"), true, false)).toBeUndefined();
    expect(findBadUtf16(Buffer.from("a\ud83d", "utf16le"), false, false)).toBeUndefined();
    expect(findBadUtf16(Buffer.from("a\ud83d", "utf16le"), true, false)?.index).toBe(2);
    expect(findBadUtf16(Buffer.from([0x41, 0x00, 0x42]), true, false)?.reason).toMatch(/odd number of bytes/);
  });

  it("locates an unpaired surrogate split across pieces (UTF-16BE)", () => {
    for (const size of [1, 2, 3, 5]) {
      const bytes = Buffer.from("\ufeffab😀\ud800c", "utf16le").swap16();
      const { error, before } = failure("utf-16be", bytes, size);
      expect(error.byteOffset).toBe(10);
      expect(before + error.validText).toBe("ab😀");
    }
  });
});
