import { ERROR_CODES, SyncupError } from "../errors.js";

/** Exit codes of every `syncup` command. */
export const EXIT = Object.freeze({
  OK: 0,
  UNEXPECTED: 1,
  BAD_INPUT: 2,
  BLOCKED: 3,
});

/** Maps an error to its exit code: domain errors by their code's class, anything else is unexpected. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof SyncupError) {
    const kind: string = ERROR_CODES[error.code];
    if (kind === "blocked") return EXIT.BLOCKED;
    return kind === "bad-input" ? EXIT.BAD_INPUT : EXIT.UNEXPECTED;
  }
  return EXIT.UNEXPECTED;
}
