/** How `syncup resources` shows resources, their links and their history to people. */
import type { HistoryRow, ResourceRow } from "../store/types.js";
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

export function renderHistory(rows: readonly HistoryRow[]): string {
  return rows.length === 0
    ? "(no applied change of this key)"
    : renderTable(
        ["batch", "mode", "finished", "operation", "entity type", "values"],
        rows.map((r) => [
          r.batchId,
          r.mode,
          r.finishedAt ?? "",
          r.operation,
          r.entityType,
          r.properties ?? "",
        ]),
      );
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
