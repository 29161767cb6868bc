/** How `syncup batches` shows batches, their staged changes and a validation's outcome to people. */
import { describeCheck } from "../core/thresholds.js";
import type { BatchRow, ChangeRow } from "../store/types.js";
import type { SyncReport } from "../sync/index.js";
import type { PreviousOutcome, StagedCounts } from "./batch-source.js";
import { renderSyncReport } from "./sync-report.js";
import { renderTable } from "./table.js";

export function renderBatches(batches: readonly BatchRow[]): string {
  return renderTable(
    [
      "batch",
      "connector",
      "mode",
      "state",
      "created",
      "res. +",
      "res. ~",
      "res. −",
      "links +",
      "links −",
      "orphans",
    ],
    batches.map((b) => [
      b.id,
      b.connector,
      b.mode,
      b.state,
      b.createdAt.replace("T", " ").slice(0, 19),
      b.resourcesInserted,
      b.resourcesUpdated,
      b.resourcesDeleted,
      b.linksInserted,
      b.linksDeleted,
      b.orphans,
    ]),
  );
}

function renderCounts(counts: StagedCounts): string {
  const rows = [...counts.resources, ...counts.links].map((c) => [c.scope, c.operation, c.n]);
  return rows.length === 0
    ? "(no staged changes)"
    : renderTable(["entity type / association", "operation", "changes"], rows);
}

/** A batch: its row, its error, its report with the thresholds checked, its changes. */
export function renderBatchDetail(batch: BatchRow, counts: StagedCounts): string {
  const report = batch.report as SyncReport | null;
  const lines = [renderBatches([batch])];
  if (batch.error !== null) lines.push(`Error: ${batch.error}`);
  if (report !== null) {
    lines.push(renderSyncReport({ ...report, state: batch.state === "applied" ? "applied" : report.state }));
    if (report.crossed.length === 0 && report.thresholds.length > 0) {
      lines.push(`Thresholds checked: ${report.thresholds.map(describeCheck).join("; ")}`);
    }
  }
  lines.push(batch.state === "applied" ? "Journal:" : "Staged changes:", renderCounts(counts));
  return lines.join("\n");
}

/** A page of changes starting at `offset`, and where it stands: `51–100 of 340`. */
export function renderChangesPage(
  page: { rows: readonly ChangeRow[]; total: number },
  offset: number,
): string[] {
  const table = renderTable(
    ["kind", "operation", "entity type / association", "key", "line", "values"],
    page.rows.map((r) => [
      r.kind,
      r.operation,
      r.scope,
      r.key2 === null ? r.key : `${r.key} → ${r.key2}`,
      r.line ?? "",
      r.properties === null ? "" : r.properties.length > 80 ? `${r.properties.slice(0, 77)}…` : r.properties,
    ]),
  );
  const last = Math.min(offset + page.rows.length, page.total);
  return [table, `${page.total === 0 ? 0 : offset + 1}–${last} of ${page.total}`];
}

/** What a local validation did to the connector's `previous/`. */
export function describePrevious(previous: PreviousOutcome): string {
  return previous.advanced
    ? `previous/ of connector "${previous.connector}" now holds the files of this batch: the next incremental run is based on it.`
    : `This batch was not staged from connector "${previous.connector}"'s last prepare: previous/ stays as it was, so run a complete synchronization next.`;
}
