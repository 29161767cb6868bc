import type { Config } from "../config/config.js";
import { loadConfig } from "../config/load.js";
import { openStore, type Store } from "../sync/index.js";
import type { CliContext } from "./context.js";

/** Opens the configuration's repository for the length of `fn`. */
export async function withStore<T>(
  ctx: CliContext,
  configFile: string,
  fn: (store: Store, config: Config) => Promise<T>,
): Promise<T> {
  const config = await loadConfig(configFile, ctx.env);
  const store = await openStore(config.databaseUrl);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}
