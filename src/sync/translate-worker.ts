/**
 * The worker thread of an initial load: it reads an entity type's prepared file and translates
 * its rows (typed values, JSON, two SHA-1 per row), a batch ahead of the main thread, which
 * writes the batch before. See `translatedRows` in `initial.ts`.
 *
 * Messages to the parent: `{ kind: "batch", rows, problems, count }` once per batch of the
 * file (at most `credits` ahead of what the parent took), then `{ kind: "end" }`, or
 * `{ kind: "error", code, message, position }`. From the parent: a credit per batch it takes.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SyncupError } from "../errors.js";
import { translateFile, type TranslateWorkerData } from "./initial.js";

const { file, connector } = workerData as TranslateWorkerData;
const port = parentPort!;
let credits = 0;
let wake: (() => void) | undefined;
port.on("message", () => {
  credits++;
  wake?.();
  wake = undefined;
});

async function run(): Promise<void> {
  for await (const batch of translateFile(file, connector)) {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
    credits--;
    port.postMessage({ kind: "batch", ...batch });
  }
  port.postMessage({ kind: "end" });
}

run()
  .catch((error: unknown) => {
    port.postMessage(
      error instanceof SyncupError
        ? { kind: "error", code: error.code, message: error.message, position: error.position }
        : { kind: "error", code: null, message: error instanceof Error ? error.message : String(error) },
    );
  })
  .finally(() => port.close());
