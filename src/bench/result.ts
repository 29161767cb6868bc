import { execFileSync } from "node:child_process";

/** One line of the benchmark table: our code beside a reference tool on the same data. */
export interface BenchResult {
  /** What was measured, e.g. "prepare 1M rows". */
  readonly task: string;
  readonly rows: number;
  /** Median seconds of our code. */
  readonly oursSeconds: number;
  /** The reference tool, e.g. "LC_ALL=C sort", and its median seconds; null when there is none. */
  readonly reference: string | null;
  readonly referenceSeconds: number | null;
  /** Peak resident set size of our code's process, in MiB, when measured. */
  readonly peakRssMiB: number | null;
  /** Median CPU seconds (user + system) of our code's process tree, when measured. */
  readonly cpuSeconds?: number;
  /** The target, as text, e.g. "≤ 2.5×". */
  readonly target: string;
}

/** Bytes on disk of our store beside the reference's, holding the same rows. */
export interface SizeResult {
  readonly task: string;
  /** Resources held. */
  readonly resources: number;
  readonly oursBytes: number;
  readonly reference: string;
  readonly referenceBytes: number;
  readonly target: string;
}

/** A count of rows as the table names it: 100k, 1M. */
export const fmtRows = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Runs a benchmark child (`node <script> <args…>`) and returns the JSON of the last line it
 * printed, its result; its standard error goes to ours when `stderr` is "inherit".
 */
export function childJson<T>(
  script: string,
  args: readonly string[],
  stderr: "inherit" | "pipe" = "inherit",
): T {
  const out = execFileSync(process.execPath, [script, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    stdio: ["ignore", "pipe", stderr],
  });
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as T;
}
