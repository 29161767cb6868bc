/** The lookup every batch use case starts from, who decides on the command line, and batches left behind. */
import { userInfo } from "node:os";
import { SyncupError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { BatchRow } from "../store/types.js";

export async function requireBatch(store: Store, id: string): Promise<BatchRow> {
  const batch = await store.batches.get(id);
  if (batch === undefined) {
    throw new SyncupError(
      "BATCH_NOT_FOUND",
      `There is no batch ${id}. \`syncup batches list\` shows the batches.`,
    );
  }
  return batch;
}

/** The command line's decisions are the OS user's (role `local`: whoever can open the repository). */
export function localActor(): { id: string; role: string } {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env["USER"] ?? "unknown";
  }
  return { id: name, role: "local" };
}

/**
 * Batches left in `staging` were interrupted (a kill, a crash): the apply being one transaction,
 * none of them reached the repository. An agent's batch goes back to `sealed`, to be
 * synchronized again in its turn; a local one is `failed` (its run reported the failure).
 * Call it holding the connector's lock, so that no batch being staged is taken for one that was
 * interrupted. Returns the batches recovered.
 */
export async function recoverInterrupted(store: Store, connector: string): Promise<BatchRow[]> {
  const interrupted = await store.batches.inState(connector, "staging");
  for (const batch of interrupted) {
    await store.changes.discard(batch.id);
    await store.batches.setState(
      batch.id,
      batch.agent === null ? "failed" : "sealed",
      { error: "interrupted while staging" },
      "staging",
    );
  }
  return interrupted;
}

/** Discards the staged changes of the connector's previews that expired (they end `cancelled`). */
export async function expirePreviews(store: Store, connector: string): Promise<void> {
  for (const batch of await store.batches.inState(connector, "previewed")) {
    if (batch.expiresAt === null || Date.parse(batch.expiresAt) > Date.now()) continue;
    if (await store.batches.setState(batch.id, "cancelled", { error: "preview expired" }, "previewed")) {
      await store.changes.discard(batch.id);
    }
  }
}
