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
  /** The target, as text, e.g. "≤ 2.5×". */
  readonly target: string;
}
