/**
 * The orphans of a connector's last batches: the pairs of its association files that are not
 * links yet (`UR_PendingLinks`), each with the key no resource has, paged by association and keys.
 */
import type { Config } from "../config/config.js";
import { requireConnector } from "../config/require-connector.js";
import type { Store } from "../store/store.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { Mutex } from "./mutex.js";

export interface OrphanView {
  readonly association: string;
  readonly key1: string;
  readonly key2: string;
  /** end1, end2, both (an end no resource has), or conflict (a second link of a mono-valued property). */
  readonly missing: string;
  /** The keys that were not found (none for a conflict). */
  readonly missingKeys: readonly string[];
  /** The batch that first set the pair aside. */
  readonly batchId: string;
}

export class OrphanService {
  constructor(
    private readonly deps: { readonly config: Config; readonly store: Store; readonly mutex: Mutex },
  ) {}

  async page(query: {
    connector: string;
    association?: string;
    after?: string;
    limit: number;
  }): Promise<{ rows: OrphanView[]; next: string | null }> {
    const connector = requireConnector(this.deps.config, query.connector);
    const after = query.after === undefined ? undefined : decodeCursor(query.after, 3);
    const rows = await this.deps.mutex.run(() =>
      this.deps.store.pending.page({
        connector: connector.name,
        limit: query.limit,
        ...(query.association === undefined ? {} : { association: query.association }),
        ...(after === undefined ? {} : { after: [after[0] ?? "", after[1] ?? "", after[2] ?? ""] as const }),
      }),
    );
    const last = rows[rows.length - 1];
    return {
      rows: rows.map((r) => ({
        ...r,
        missingKeys:
          r.missing === "end1"
            ? [r.key1]
            : r.missing === "end2"
              ? [r.key2]
              : r.missing === "both"
                ? [r.key1, r.key2]
                : [],
      })),
      next:
        rows.length < query.limit || last === undefined
          ? null
          : encodeCursor([last.association, last.key1, last.key2]),
    };
  }
}
