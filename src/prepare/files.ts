/**
 * The file helpers live in `src/support/` (`json-file.ts`, `file-hash.ts`); these names stay
 * for `src/agent/transfer.ts` until it imports them from there.
 */
export { readJsonIfExists, writeJsonAtomic } from "../support/json-file.js";
export { sha256File } from "../support/file-hash.js";
