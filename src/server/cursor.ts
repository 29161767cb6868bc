/**
 * The cursors of keyset paging: the sort key of a page's last row, handed to the client as an
 * opaque string (base64url of a JSON array of strings) and read back on the next request.
 */
import { SyncupError } from "../errors.js";

export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The key of a cursor of `parts` strings; REQUEST_INVALID when it is not one this server made. */
export function decodeCursor(cursor: string, parts: number): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== parts || !key.every((k) => typeof k === "string")) {
    throw new SyncupError(
      "REQUEST_INVALID",
      "The cursor (after) is not one this server made: start again from the first page.",
    );
  }
  return key;
}
