/**
 * The one drift policy of a connector's Sync Up, whichever entry point runs it (`syncup run`,
 * `syncup jobs run`, the agent): an incremental that has no valid base — no or tampered
 * `previous/`, or a base that is not the last batch the repository applied — runs again as a
 * complete, or as an initial when the repository holds nothing of the connector yet, unless
 * `agent.onDrift` is `stop`. A connector whose incrementals wait for a blocked batch ends
 * `waiting`. Both are outcomes the callers report, not failures.
 */
import type { Config, Mode } from "../config/config.js";
import { SyncupError } from "../errors.js";

/** An incremental run cannot go on: the run falls back, or stops, as `agent.onDrift` says. */
export class DriftDetected extends Error {
  /** The refusal: PREVIOUS_MISSING, PREVIOUS_INVALID or BASE_MISMATCH. */
  readonly error: SyncupError;

  constructor(error: SyncupError) {
    super(error.message, { cause: error });
    this.name = "DriftDetected";
    this.error = error;
  }
}

/** The connector's incrementals wait for a blocked batch: the run ends `waiting`. */
export class WaitingForBatch extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "WaitingForBatch";
  }
}

/** The codes by which prepare, the synchronization and the server say an incremental has no valid base. */
export function isDriftError(error: unknown): error is SyncupError {
  return (
    error instanceof SyncupError &&
    (error.code === "PREVIOUS_INVALID" || error.code === "PREVIOUS_MISSING" || error.code === "BASE_MISMATCH")
  );
}

/** An incremental with no accepted state to compute its changes from. */
export function noPreviousError(connector: string): SyncupError {
  return new SyncupError(
    "PREVIOUS_MISSING",
    `Connector "${connector}" has no previous/ (no batch of it was accepted yet, or it was removed): its changes cannot be computed.`,
  );
}

/** Turns the refusals of an incremental step into `DriftDetected` (no valid base) or `WaitingForBatch`. */
export async function driftAware<T>(mode: Mode, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (mode === "incremental" && isDriftError(error)) throw new DriftDetected(error);
    if (mode === "incremental" && error instanceof SyncupError && error.code === "CONNECTOR_BLOCKED") {
      throw new WaitingForBatch(error.message);
    }
    throw error;
  }
}

/** The message of a run that fell back from incremental. */
export function fallbackNote(reason: string, mode: Mode): string {
  const trimmed = reason.replace(/[.\s]+$/, "");
  return `The incremental run could not go on (${trimmed}); ran ${mode === "initial" ? "an" : "a"} ${mode} synchronization instead.`;
}

export interface DriftPolicyRun<T> {
  readonly value: T;
  /** The mode the run ended in. */
  readonly mode: Mode;
  /** Why it fell back from incremental, when it did. */
  readonly note: string | null;
}

/**
 * Runs `attempt` in `mode`; when an incremental attempt drifts and `agent.onDrift` allows,
 * runs it again in the mode `fallbackMode` gives (complete, or initial for a connector the
 * repository holds nothing of). `WaitingForBatch`, a drift under `onDrift: stop` and any
 * other error are the caller's.
 */
export async function withDriftPolicy<T>(
  config: Config,
  mode: Mode,
  attempt: (mode: Mode) => Promise<T>,
  fallbackMode: () => Promise<Mode>,
  onFallback: (note: string, mode: Mode, reason: DriftDetected) => void = () => undefined,
): Promise<DriftPolicyRun<T>> {
  const onDrift = config.agent?.onDrift ?? "complete";
  let current = mode;
  let note: string | null = null;
  for (;;) {
    try {
      return { value: await attempt(current), mode: current, note };
    } catch (error) {
      if (!(error instanceof DriftDetected) || current !== "incremental" || onDrift !== "complete")
        throw error;
      current = await fallbackMode();
      note = fallbackNote(error.message, current);
      onFallback(note, current, error);
    }
  }
}
