/**
 * A file of a batch as it arrives: whether the batch may hold its name, the SHA-256 its agent
 * announced, and the body streamed to disk while hashed, within the size the server accepts.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { mappingsOf, type ConnectorDef } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { FILE_NAME_PATTERN } from "../protocol/api.js";
import { PREPARED_SUFFIX } from "../protocol/manifest.js";
import type { BatchRow } from "../store/types.js";

/**
 * Only `prepare.json` and the prepared files of the batch's connector (`connector`, undefined
 * when the configuration no longer has it): nothing else is written.
 */
export function checkFileName(batch: BatchRow, connector: ConnectorDef | undefined, name: string): void {
  const allowed =
    FILE_NAME_PATTERN.test(name) &&
    (name === "prepare.json" ||
      (connector !== undefined &&
        mappingsOf(connector).some(
          (m) =>
            name === `${m.name}${PREPARED_SUFFIX.sorted}` || name === `${m.name}${PREPARED_SUFFIX.delta}`,
        )));
  if (!allowed) {
    throw new SyncupError(
      "FILE_NAME_INVALID",
      `"${name}" is not a file a batch of connector "${batch.connector}" may hold: only prepare.json and <mapping>.sorted.csv or <mapping>.sorted.delta of its mappings.`,
    );
  }
}

/** The announced SHA-256 (the x-content-sha256 header), which must be lowercase hex. */
export function checkAnnounced(name: string, announced: string | undefined): asserts announced is string {
  if (announced === undefined || !/^[0-9a-f]{64}$/.test(announced)) {
    throw new SyncupError(
      "FILE_CHECKSUM_MISMATCH",
      `Upload of "${name}": the x-content-sha256 header must hold the file's SHA-256 in lowercase hex.`,
    );
  }
}

/** Streams `body` to a new file at `path`, hashing it; refuses more than `limit` bytes. */
export async function receiveFile(
  body: Readable,
  path: string,
  name: string,
  limit: number,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  await pipeline(
    body,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        bytes += chunk.length;
        if (bytes > limit) {
          throw new SyncupError(
            "FILE_TOO_LARGE",
            `"${name}" is larger than the server accepts (${limit} bytes, server.maxFileMiB).`,
          );
        }
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(path, { flags: "wx" }),
  );
  return { sha256: hash.digest("hex"), bytes };
}
