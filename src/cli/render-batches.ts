/** How `syncup batches` shows batches, their staged changes and a validation's outcome to people. */
import { describeCheck } from "../core/thresholds.js";
import type { ChangePage, ChangeRow, DecisionView } from "../protocol/api.js";
import type { BatchRow } from "../store/types.js";
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

/** A batch: its row, its error, its report with the thresholds checked, its changes, its decisions. */
export function renderBatchDetail(
  batch: BatchRow,
  counts: StagedCounts,
  decisions: readonly DecisionView[] = [],
): string {
  const report = batch.report as SyncReport | null;
  const lines = [renderBatches([batch])];
  if (batch.error !== null) lines.push(`Error: ${batch.error}`);
  if (report !== null) {
    lines.push(renderSyncReport({ ...report, state: batch.state === "applied" ? "applied" : report.state }));
    if (report.crossed.length === 0 && report.thresholds.length > 0) {
      lines.push(`Thresholds checked: ${report.thresholds.map(describeCheck).join("; ")}`);
    }
  }
  if (batch.undoOf !== null) lines.push(`This batch undoes batch ${batch.undoOf}.`);
  if (batch.approved !== null) {
    lines.push(
      `Decided: ${batch.approved} approved, ${batch.rejected ?? 0} rejected${batch.partial ? " (applied in part: the next run of the connector is a complete, which proposes the rejected changes again)" : ""}.`,
    );
  }
  if (batch.expiresAt !== null && batch.state === "previewed") {
    lines.push(
      `Preview kept until ${batch.expiresAt}: review it with \`syncup batches changes ${batch.id}\`.`,
    );
  }
  lines.push(batch.state === "applied" ? "Journal:" : "Staged changes:", renderCounts(counts));
  lines.push(renderDecisions(decisions));
  return lines.join("\n");
}

/** One value as a cell shows it: text as is, other JSON as JSON, an absent value as ∅. */
function valueText(value: unknown): string {
  if (value === undefined || value === null) return "∅";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A change's values side by side: for an update, each changed property `name: before → after`;
 * for an insert, the values it brings; for a delete, the values it removes.
 */
export function describeValues(row: ChangeRow): string {
  if (row.kind === "link") {
    const l = row.link;
    if (l === null) return "";
    const ends = `${l.end1Type} ${l.end1Key ?? row.key} ↔ ${l.end2Type} ${l.end2Key ?? row.key2 ?? ""}`;
    return l.cascaded ? `${ends} (taken along by a deleted end)` : ends;
  }
  if (row.operation === "update") {
    return row.changed
      .map(
        (name) =>
          `${name}: ${clip(valueText(row.before?.[name]), 30)} → ${clip(valueText(row.after?.[name]), 30)}`,
      )
      .join("; ");
  }
  const values = row.after ?? row.before ?? {};
  return Object.entries(values)
    .map(([name, value]) => `${name}=${clip(valueText(value), 30)}`)
    .join("; ");
}

/** A page of changes, and how to get the next one. */
export function renderChangesPage(page: ChangePage, batchId: string): string[] {
  const table = renderTable(
    ["id", "operation", "entity type / association", "key", "decision", "values (before → after)"],
    page.rows.map((r) => [
      r.id,
      r.operation,
      r.entityType ?? r.association ?? "",
      r.key2 === null ? r.key : `${r.key} → ${r.key2}`,
      r.decision ?? "",
      clip(describeValues(r), 120),
    ]),
  );
  const lines = [page.rows.length === 0 ? "(no change matches)" : table];
  if (page.total !== null) {
    lines.push(`${page.totalExact ? "" : "More than "}${page.total.toLocaleString("en-US")} changes match.`);
  }
  if (page.next !== null)
    lines.push(`Next page: syncup batches changes ${batchId} --after ${page.next} (with the same filters)`);
  return lines;
}

/** A batch's decision journal: who decided what, when, on how many changes. */
export function renderDecisions(decisions: readonly DecisionView[]): string {
  if (decisions.length === 0) return "Decisions: none";
  return [
    "Decisions:",
    renderTable(
      ["when", "who", "role", "action", "changes", "selection / note"],
      decisions.map((d) => [
        d.at.replace("T", " ").slice(0, 19),
        d.principal,
        d.role,
        d.action,
        d.changes,
        clip(
          [d.selection === null ? "" : JSON.stringify(d.selection), d.note ?? ""]
            .filter((t) => t !== "")
            .join(" "),
          80,
        ),
      ]),
    ),
  ].join("\n");
}

/** What a local validation did to the connector's `previous/`. */
export function describePrevious(previous: PreviousOutcome): string {
  if (previous.reason === "partial") {
    return `Applied in part: previous/ of connector "${previous.connector}" stays as it was, and its next run is a complete synchronization, which proposes the rejected changes again.`;
  }
  return previous.advanced
    ? `previous/ of connector "${previous.connector}" now holds the files of this batch: the next incremental run is based on it.`
    : `This batch was not staged from connector "${previous.connector}"'s last prepare: previous/ stays as it was, so run a complete synchronization next.`;
}
