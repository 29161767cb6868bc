/** How `syncup resources` shows resources, their links and their history to people. */
import type { HistoryEntry } from "../protocol/api.js";
import type { ResourceRow } from "../store/types.js";
import { describeValues } from "./render-batches.js";
import type { ResourceView } from "../sync/inspect.js";
import { renderTable } from "./table.js";

export function renderResourceList(rows: readonly ResourceRow[]): string {
  return rows.length === 0
    ? "(no resources)"
    : renderTable(
        ["entity type", "key", "unique keys", "last batch"],
        rows.map((r) => [
          r.entityType,
          r.pk,
          [r.uk1, r.uk2, r.uk3].filter((k) => k !== null).join(", "),
          r.batchId.slice(0, 8),
        ]),
      );
}

/** The JSON of a resource list: each row's properties as an object, not as their JSON text. */
export function resourceListJson(rows: readonly ResourceRow[]): string {
  return JSON.stringify(
    rows.map((r) => ({ ...r, properties: JSON.parse(r.properties) as unknown })),
    null,
    2,
  );
}

/** Each resource: a title line, its properties, and its links when it has some. */
export function renderResourceViews(views: readonly ResourceView[]): string[] {
  const out: string[] = [];
  for (const view of views) {
    out.push(`${view.entityType} ${view.key} (last changed by batch ${view.lastBatch})`);
    out.push(
      renderTable(
        ["property", "value"],
        Object.entries(view.properties).map(([p, v]) => [p, show(v)]),
      ),
    );
    if (view.links.length > 0) {
      out.push(
        renderTable(
          ["association", "end", "other end", "key", "mono-valued"],
          view.links.map((l) => [l.association, l.end, l.otherEntityType, l.otherKey, l.mono ? "yes" : ""]),
        ),
      );
    }
  }
  return out;
}

export function renderHistory(rows: readonly HistoryEntry[]): string {
  return rows.length === 0
    ? "(no applied change of this key)"
    : renderTable(
        [
          "batch",
          "mode",
          "finished",
          "change",
          "entity type / association",
          "values (before → after)",
          "decided by",
        ],
        rows.map((r) => [
          r.undoOf === null ? r.batchId : `${r.batchId} (undo of ${r.undoOf.slice(0, 8)})`,
          r.mode,
          r.finishedAt?.replace("T", " ").slice(0, 19) ?? "",
          `${r.change.kind} ${r.change.operation}`,
          r.change.entityType ?? r.change.association ?? "",
          describeValues(r.change),
          r.decidedBy.length === 0 ? "(automatic)" : r.decidedBy.join(", "),
        ]),
      );
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
