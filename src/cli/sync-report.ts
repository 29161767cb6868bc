import { describeCheck } from "../core/thresholds.js";
import type { SyncReport } from "../sync/index.js";
import { renderTable } from "./table.js";

/** A synchronization report for people: totals, per mapping, thresholds crossed, what to do next. */
export function renderSyncReport(report: SyncReport): string {
  const lines = [
    `Batch ${report.batchId}: ${report.connector} ${report.mode}${report.forced ? " (forced)" : ""} — ${report.state}`,
    renderTable(
      ["mapping", "rows", "inserted", "updated", "deleted", "unchanged", "orphans", "conflicts"],
      report.mappings.map((m) => [
        m.mapping,
        m.rows,
        m.inserted,
        m.updated,
        m.deleted,
        m.unchanged,
        m.orphans,
        m.conflicts,
      ]),
    ),
  ];
  for (const file of report.orphanFiles) lines.push(`Orphans written to ${file}`);
  if (report.crossed.length > 0) {
    lines.push(`Thresholds crossed${report.state === "blocked" ? "" : " (ignored)"}:`);
    for (const check of report.crossed) lines.push(`  - ${describeCheck(check)}`);
  }
  if (report.state === "blocked") {
    lines.push(
      "Nothing was applied. Review the staged changes with `syncup batches changes " +
        `${report.batchId}\`, then \`syncup batches validate ${report.batchId}\` or \`syncup batches cancel ${report.batchId}\`.`,
    );
  } else if (report.state === "previewed") {
    lines.push("Dry run: nothing was applied.");
  }
  return lines.join("\n");
}
