/**
 * The thresholds of a staged batch: its counts per scope against what the connector's scopes
 * hold (`UR_ScopeCounts`), checked against the configuration's limits. A partial decision
 * checks the changes it takes only.
 */
import type { Config, ConnectorDef } from "../config/config.js";
import {
  evaluateThresholds,
  type ScopeCounts,
  type ThresholdCheck,
  type ThresholdScope,
} from "../core/thresholds.js";
import type { CountedScopes, HeldCounts } from "../store/counts.js";
import type { Store } from "../store/store.js";
import type { StagedCount } from "../store/types.js";
import { linkScopeOf } from "./context.js";

/** The scopes of the connector whose held rows the thresholds and `UR_ScopeCounts` count. */
export function countedScopes(config: Config, connector: ConnectorDef): CountedScopes {
  return {
    entityTypes: connector.entityTypeMappings.map((m) => m.name),
    associations: connector.associationMappings.map((m) => linkScopeOf(config, connector, m)),
  };
}

/**
 * Every threshold of the connector checked against a staged batch's changes (those a decision
 * takes, with `taken`), given what the scopes held before it.
 */
export async function batchThresholds(
  store: Store,
  connector: ConnectorDef,
  batchId: string,
  held: HeldCounts,
  options: { taken?: boolean } = {},
): Promise<ThresholdCheck[]> {
  const counts = await store.changes.counts(batchId, options);
  return evaluateThresholds(thresholdScopes(connector, counts, held));
}

function thresholdScopes(
  connector: ConnectorDef,
  staged: { resources: StagedCount[]; links: StagedCount[] },
  held: HeldCounts,
): ThresholdScope[] {
  const tally = (rows: StagedCount[], scope: string | undefined, heldCount: number): ScopeCounts => {
    const n = (op: string) =>
      rows
        .filter((r) => (scope === undefined || r.scope === scope) && r.operation === op)
        .reduce((s, r) => s + r.n, 0);
    return { inserted: n("insert"), updated: n("update"), deleted: n("delete"), held: heldCount };
  };
  const sum = (map: Map<string, number>) => [...map.values()].reduce((s, n) => s + n, 0);
  return [
    {
      level: "connector",
      name: connector.name,
      limits: connector.thresholds,
      resources: tally(staged.resources, undefined, sum(held.resources)),
      links: tally(staged.links, undefined, sum(held.links)),
    },
    ...connector.entityTypeMappings.map((m): ThresholdScope => ({
      level: "entity-type",
      name: m.name,
      limits: m.thresholds,
      resources: tally(staged.resources, m.name, held.resources.get(m.name) ?? 0),
    })),
    ...connector.associationMappings.map((m): ThresholdScope => ({
      level: "association",
      name: m.name,
      limits: m.thresholds,
      links: tally(staged.links, m.name, held.links.get(m.name) ?? 0),
    })),
  ];
}
