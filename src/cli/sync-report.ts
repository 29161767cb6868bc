import { describeCheck } from "../core/thresholds.js";
import type { SyncReport } from "../sync/index.js";
import { EXIT } from "./exit-codes.js";
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
    const heading =
      report.state === "blocked"
        ? "Thresholds crossed:"
        : report.state === "previewed"
          ? `Thresholds a real run would cross${report.forced ? " (ignored with --force)" : ": it would be blocked"}:`
          : "Thresholds crossed (ignored: forced or decided):";
    lines.push(heading);
    for (const check of report.crossed) lines.push(`  - ${describeCheck(check)}`);
  }
  lines.push(...nextSteps(report));
  return lines.join("\n");
}

/** What to do with a blocked batch or a kept preview. */
export function nextSteps(report: SyncReport, configFile?: string): string[] {
  const config = configFile === undefined ? "" : ` --config ${configFile}`;
  const id = report.batchId;
  if (report.state === "blocked") {
    return [
      `Nothing was applied. Review the staged changes: syncup batches changes ${id}${config}`,
      `Then decide: syncup batches validate ${id} (all), syncup batches approve|reject ${id} … and syncup batches apply ${id} (a part), or syncup batches cancel ${id}.`,
    ];
  }
  if (report.state === "previewed" && report.mode !== "initial") {
    return [
      `Dry run: nothing was applied. The staged changes are kept for review: syncup batches changes ${id}${config}`,
      `Apply them as they are (syncup batches validate ${id}) or in part (approve|reject, then apply), or discard them (syncup batches cancel ${id}).`,
    ];
  }
  if (report.state === "previewed")
    return ["Dry run: nothing was applied (an initial load's preview keeps no changes)."];
  return [];
}

/** The exit code of a synchronization: 3 when it is blocked, or when a dry run's real run would be. */
export function syncExitCode(report: SyncReport): number {
  if (report.state === "blocked") return EXIT.BLOCKED;
  if (report.state === "previewed" && !report.forced && report.crossed.length > 0) return EXIT.BLOCKED;
  return EXIT.OK;
}
