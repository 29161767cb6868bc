/**
 * `SYNCUP_TEST_APPLY_PAUSE_MS`: a pause before each step of an apply transaction (resources,
 * links, deletes), so that fault tests can kill a process while a transaction is open. Unset
 * in production; it changes no outcome, only timing.
 */
export function applyPauseMs(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const ms = Number(env["SYNCUP_TEST_APPLY_PAUSE_MS"] ?? "");
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** The `beforeApplyStep` hook of that pause, or undefined. */
export function applyPauseHook(
  env: Readonly<Record<string, string | undefined>>,
): (() => Promise<void>) | undefined {
  const ms = applyPauseMs(env);
  return ms === undefined ? undefined : () => new Promise<void>((resolve) => setTimeout(resolve, ms));
}
