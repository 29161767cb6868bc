/** Read-only views of the repository for `syncup resources` and `syncup batches`. */
import type { Config } from "../config/config.js";
import { requireConnector } from "../config/require-connector.js";
import type { Store } from "../store/store.js";
import type { ChangePage, ChangePageQuery, HistoryEntry } from "../protocol/api.js";
import type { ResourceRow, StagedCount } from "../store/types.js";
import { requireBatch } from "./batches.js";

export interface LinkView {
  readonly association: string;
  /** Which end of the association this resource is. */
  readonly end: 1 | 2;
  readonly otherEntityType: string;
  readonly otherKey: string;
  /** Stored in a mono-valued column (of this resource, or of the other one). */
  readonly mono: boolean;
}

export interface ResourceView {
  readonly id: number;
  readonly entityType: string;
  readonly key: string;
  readonly uniqueKeys: readonly (string | null)[];
  readonly properties: Readonly<Record<string, unknown>>;
  readonly lastBatch: string;
  readonly createdBatch: string;
  readonly links: readonly LinkView[];
}

/** The resources of a connector with primary key `key` (one per entity type), with their links. */
export async function getResources(
  store: Store,
  config: Config,
  connectorName: string,
  key: string,
  entityType?: string,
): Promise<ResourceView[]> {
  const connector = requireConnector(config, connectorName);
  const rows = await store.resources.get(connector.name, key, entityType);
  const views: ResourceView[] = [];
  for (const row of rows) {
    const links: { association: string; end: 1 | 2; other: number; mono: boolean }[] = [];
    for (const l of await store.links.linksOf(row.id)) {
      if (l.resource1 === row.id)
        links.push({ association: l.association, end: 1, other: l.resource2, mono: false });
      if (l.resource2 === row.id)
        links.push({ association: l.association, end: 2, other: l.resource1, mono: false });
    }
    for (const [column, target] of Object.entries(row.mono)) {
      const found = monoAssociation(config, row.entityType, Number(column));
      if (found !== undefined)
        links.push({ association: found.name, end: found.end, other: target, mono: true });
    }
    for (const holder of await store.resources.referencing(row.id)) {
      for (const [column, target] of Object.entries(holder.mono)) {
        const found =
          target === row.id ? monoAssociation(config, holder.entityType, Number(column)) : undefined;
        if (found !== undefined) {
          links.push({ association: found.name, end: found.end === 1 ? 2 : 1, other: holder.id, mono: true });
        }
      }
    }
    const others = new Map(
      (await store.resources.byIds([...new Set(links.map((l) => l.other))])).map((r) => [r.id, r]),
    );
    views.push({
      id: row.id,
      entityType: row.entityType,
      key: row.pk,
      uniqueKeys: [row.uk1, row.uk2, row.uk3].slice(
        0,
        uniqueKeyCount(config, connector.name, row.entityType),
      ),
      properties: JSON.parse(row.properties) as Record<string, unknown>,
      lastBatch: row.batchId,
      createdBatch: row.createdBatchId,
      links: links
        .map((l) => ({
          association: l.association,
          end: l.end,
          otherEntityType: others.get(l.other)?.entity_type ?? "?",
          otherKey: others.get(l.other)?.pk ?? `#${l.other}`,
          mono: l.mono,
        }))
        .sort((a, b) =>
          a.association === b.association
            ? a.otherKey < b.otherKey
              ? -1
              : 1
            : a.association < b.association
              ? -1
              : 1,
        ),
    });
  }
  return views;
}

export function listResources(
  store: Store,
  options: { connector: string; entityType?: string; limit: number; offset: number },
): Promise<ResourceRow[]> {
  return store.resources.list(options);
}

/**
 * What the journal holds of a primary key: every applied change of the resource and of its
 * links, before → after, oldest first, with who decided on each batch. Initial loads are not
 * journaled row by row: a key whose journal does not start with an insert came from the last
 * initial load before, shown first (its values are the resource's first journaled before-image).
 */
export async function resourceHistory(store: Store, connector: string, key: string): Promise<HistoryEntry[]> {
  const journal = await store.changePages.history(connector, key);
  const who = new Map<string, string[]>();
  for (const id of new Set(journal.map((e) => e.batchId))) {
    who.set(id, [...new Set((await store.journal.decisions(id)).map((d) => d.principal))]);
  }
  const entries: HistoryEntry[] = journal.map((e) => ({ ...e, decidedBy: who.get(e.batchId) ?? [] }));
  const first = entries.find((e) => e.change.kind === "resource");
  if (first?.change.operation === "insert") return entries;
  const current = first === undefined ? await store.resources.get(connector, key) : [];
  if (first === undefined && current.length === 0) return entries;
  const initial = await store.batches.lastApplied(connector, {
    mode: "initial",
    ...(first === undefined ? {} : { before: first.seq }),
  });
  if (initial === undefined) return entries;
  const values = first?.change.before ?? parseObject(current[0]?.properties);
  const created: HistoryEntry = {
    batchId: initial.id,
    seq: initial.seq,
    mode: "initial",
    finishedAt: initial.finishedAt,
    undoOf: null,
    decidedBy: [],
    change: {
      id: "",
      kind: "resource",
      operation: "insert",
      entityType: first?.change.entityType ?? current[0]?.entityType ?? "",
      association: null,
      key,
      key2: null,
      before: null,
      after: values,
      changed: Object.keys(values ?? {}),
      link: null,
      decision: null,
      line: null,
    },
  };
  return [created, ...entries];
}

function parseObject(text: string | undefined): Record<string, unknown> | null {
  return text === undefined ? null : (JSON.parse(text) as Record<string, unknown>);
}

/** A page of a batch's changes (staged, or once applied its journal), before → after. */
export async function batchChanges(store: Store, id: string, query: ChangePageQuery): Promise<ChangePage> {
  await requireBatch(store, id);
  return store.changePages.page(id, query);
}

/** Changes per entity type / association and operation: what the batch staged or applied. */
export async function batchSummary(
  store: Store,
  id: string,
): Promise<{ resources: StagedCount[]; links: StagedCount[] }> {
  await requireBatch(store, id);
  return store.changes.counts(id);
}

function monoAssociation(
  config: Config,
  entityType: string,
  column: number,
): { name: string; end: 1 | 2 } | undefined {
  for (const a of Object.values(config.associations)) {
    if (a.end1.entityType === entityType && a.end1.monoColumnIndex === column)
      return { name: a.name, end: 1 };
    if (a.end2.entityType === entityType && a.end2.monoColumnIndex === column)
      return { name: a.name, end: 2 };
  }
  return undefined;
}

function uniqueKeyCount(config: Config, connector: string, entityType: string): number {
  return (
    config.connectors[connector]?.entityTypeMappings.find((m) => m.name === entityType)?.uniqueKeys.length ??
    3
  );
}
