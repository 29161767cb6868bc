/** The lookup every batch use case starts from, and who decides on the command line. */
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
