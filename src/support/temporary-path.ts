/**
 * The one rule of temporary names, shared by every atomic write (CSV files, JSON files) and by
 * the removal of killed runs' files, so that what one writes the other finds.
 */
import { randomBytes } from "node:crypto";

/**
 * The temporary name a file is written under until it is renamed into place:
 * `<path>.tmp-<pid>-<random hex>`. The pid tells a later run whether its writer may still be
 * at work (see `prepare/temp-files.ts`).
 */
export function temporaryPath(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
}

const TEMPORARY_NAME = /^(.+)\.tmp-(\d+)-[0-9a-f]+$/;

/** For a temporary name (`temporaryPath`), the final name and the writer's pid. */
export function parseTemporaryName(name: string): { target: string; pid: number } | undefined {
  const match = TEMPORARY_NAME.exec(name);
  return match === null ? undefined : { target: match[1] as string, pid: Number(match[2]) };
}
