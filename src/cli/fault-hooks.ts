import type { ApplyStep } from "../store/apply.js";

/**
 * `SYNCUP_TEST_APPLY_PAUSE_MS`: a pause before each step of an apply transaction (resources,
 * links, deletes), so that fault tests can kill a process while a transaction is open. Unset
 * in production; it changes no outcome, only timing.
 */
function applyPauseMs(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const ms = Number(env["SYNCUP_TEST_APPLY_PAUSE_MS"] ?? "");
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/**
 * The `beforeApplyStep` hook of that pause, or undefined. `announce` is told each step before
 * the pause, so that a test knows the transaction is open (and, from the second step on, has
 * written) before it kills the process.
 */
export function applyPauseHook(
  env: Readonly<Record<string, string | undefined>>,
  announce: (step: ApplyStep) => void,
): ((step: ApplyStep) => Promise<void>) | undefined {
  const ms = applyPauseMs(env);
  if (ms === undefined) return undefined;
  return (step) => {
    announce(step);
    return new Promise<void>((resolve) => setTimeout(resolve, ms));
  };
}
