import type { JobRun } from "../jobs/runner.js";
import { EXIT, exitCodeOf } from "./exit-codes.js";

/** 0 succeeded, 3 blocked or waiting, else the failure's exit code (2 bad input, 1 unexpected). */
export function jobExitCode(run: JobRun): number {
  switch (run.instance.outcome) {
    case "succeeded":
      return EXIT.OK;
    case "blocked":
    case "waiting":
      return EXIT.BLOCKED;
    case "failed":
      return run.error === undefined ? EXIT.UNEXPECTED : exitCodeOf(run.error);
  }
}
