/** Retries with exponential backoff, around every native connector's export and the agent's requests. */

export interface RetryOptions {
  /** Further attempts after the first one. */
  readonly retries: number;
  /** Whether an error is worth another attempt (a dropped connection, a busy server). */
  readonly isTransient: (error: unknown) => boolean;
  /** A delay the server asked for (HTTP Retry-After), in milliseconds. */
  readonly requestedDelayMs?: (error: unknown) => number | undefined;
  /** Delay before the first retry; doubled at each further one, at most `maxDelayMs`. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Called before waiting for a retry. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_BASE_DELAY_MS = 1000;
export const DEFAULT_MAX_DELAY_MS = 30_000;

/** Runs `run` until it succeeds, the error is not transient, or the retries are spent. */
export async function withRetries<T>(
  run: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt);
    } catch (error) {
      if (attempt > options.retries || !options.isTransient(error)) throw error;
      const delay = retryDelayMs(attempt, options, options.requestedDelayMs?.(error));
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/** The wait before retry number `attempt` (1-based): exponential, with ±20 % jitter, capped. */
export function retryDelayMs(
  attempt: number,
  options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">,
  requested?: number,
  random: () => number = Math.random,
): number {
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  if (requested !== undefined && requested >= 0) return Math.min(requested, max);
  const base = (options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS) * 2 ** (attempt - 1);
  return Math.round(Math.min(max, base * (0.8 + 0.4 * random())));
}
