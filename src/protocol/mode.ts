/**
 * How a batch synchronizes: `initial` (an empty repository of the connector, loaded in bulk),
 * `complete` (every row, compared with what the repository holds), `incremental` (the changes
 * since the batch it is based on). The agent and the server, the manifest, the store and the
 * configuration all speak of these three.
 */
export const MODES = ["initial", "complete", "incremental"] as const;

export type Mode = (typeof MODES)[number];
