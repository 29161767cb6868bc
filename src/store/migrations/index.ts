import { initial } from "./001-initial.js";
import { transfer } from "./002-transfer.js";
import { scopeCountsSourceHashes } from "./003-scope-counts-source-hashes.js";
import { dropLinkInputs } from "./004-drop-link-inputs.js";
import { pendingLinks } from "./005-pending-links.js";
import { review } from "./006-review.js";
import { changeFeed } from "./007-change-feed.js";
import { batchSeq } from "./008-batch-seq.js";
import type { Migration } from "./types.js";

/** Every migration, in order. Append only: a released migration is never edited. */
export const MIGRATIONS: readonly Migration[] = [
  initial,
  transfer,
  scopeCountsSourceHashes,
  dropLinkInputs,
  pendingLinks,
  review,
  changeFeed,
  batchSeq,
];
