/**
 * Joins pieces of text into one string, large ones outside the JavaScript heap.
 *
 * Why: a large record's text, joined from the pieces it was decoded in, would be a flat string
 * on the heap, and the heap grows to about four times what it holds before the garbage
 * collector runs (when little is alive, collecting is fast and V8 lets it grow): a few records
 * of 20 MiB each, parsed one after another, took 250 MB of heap. Node makes a string of a
 * large `Buffer` an external one (its characters in memory of its own, counted as external
 * memory): growth of external memory brings the collector early, and the heap stays small.
 */
import { Buffer } from "node:buffer";

/** Text of more characters than this is joined outside the heap. */
export const EXTERNAL_JOIN_CHARS = 1024 * 1024;

const NOT_LATIN1 = /[\u0100-\uffff]/;

/** The pieces, one after the other (`total` is the sum of their lengths). */
export function joinText(pieces: readonly string[], total: number): string {
  if (total <= EXTERNAL_JOIN_CHARS) return pieces.join("");
  const latin1 = !pieces.some((piece) => NOT_LATIN1.test(piece));
  const encoding = latin1 ? "latin1" : "utf16le";
  const bytes = Buffer.allocUnsafeSlow(latin1 ? total : total * 2);
  let at = 0;
  for (const piece of pieces) at += bytes.write(piece, at, encoding);
  return bytes.toString(encoding, 0, at);
}
