import { InvalidArgumentError } from "commander";

/** Commander's parser of a whole-number option (`--limit`, `--offset`). */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
}
