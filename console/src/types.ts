/**
 * The shapes the console reads, as the server's routes answer them: the protocol's (batches,
 * changes, decisions, jobs) and the console's read API (`src/server/*.ts`), imported as types only.
 */
export type {
  BatchDetail,
  BatchView,
  ChangePage,
  ChangeRow,
  DecisionOutcome,
  DecisionView,
  HistoryEntry,
  JobInstance,
} from "../../src/protocol/api.js";
export type { ConnectorOverview, BatchSummary } from "../../src/server/overview.js";
export type { JobView } from "../../src/server/job-schedules.js";
export type { OrphanView } from "../../src/server/orphans.js";
export type { ResourceDetail, ResourceSummary } from "../../src/server/resource-browser.js";

/** A keyset page of the console's read API. */
export interface Page<T> {
  readonly rows: readonly T[];
  readonly next: string | null;
}

/** `/api/v1/session` (the server's `SessionView`, whose module brings the server's HTTP types). */
export interface SessionView {
  readonly id: string;
  readonly role: "viewer" | "approver";
  readonly csrfToken: string;
  readonly expiresAt: string;
}
