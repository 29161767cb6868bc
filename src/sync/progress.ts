/**
 * The progress of a synchronization, for a progress bar: how many rows of each prepared file
 * have been read. It is polled from the mapping reports that the staging and loading steps keep
 * up to date anyway, a few times a second and once more at the end, rather than threaded as a
 * callback through every step: a progress bar needs no more, and the steps stay as they are.
 */
import type { Prepared } from "./prepared.js";
import type { MappingReport, SyncProgress } from "./types.js";

/** Polls `reports` every `everyMs` for `onProgress`; the function returned stops, after a last report. */
export function watchProgress(
  reports: ReadonlyMap<string, MappingReport>,
  prepared: Prepared,
  onProgress: SyncProgress,
  everyMs = 200,
): () => void {
  const shown = new Map<string, number>();
  const report = () => {
    for (const [mapping, { rows }] of reports) {
      if ((shown.get(mapping) ?? 0) === rows) continue;
      shown.set(mapping, rows);
      onProgress(mapping, rows, Math.max(rows, prepared.files.get(mapping)?.rows ?? 0));
    }
  };
  const timer = setInterval(report, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    report();
  };
}
