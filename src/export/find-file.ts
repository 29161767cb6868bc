import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { SyncupError } from "../errors.js";

/**
 * The newest file of `dir` whose name matches `pattern` (by modification time; on a tie, the
 * greatest name, so that `hr_20261126.csv` beats `hr_20261125.csv`).
 */
export async function findNewestFile(dir: string, pattern: RegExp, what: string): Promise<string> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new SyncupError(
      "EXPORT_NO_FILE",
      `Cannot read the export folder "${dir}" of ${what}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. Check the connection's path.`,
      { cause: error },
    );
  }
  let best: { path: string; name: string; mtime: number } | undefined;
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const path = join(dir, name);
    const info = await stat(path);
    if (!info.isFile()) continue;
    const mtime = info.mtimeMs;
    if (best === undefined || mtime > best.mtime || (mtime === best.mtime && name > best.name)) {
      best = { path, name, mtime };
    }
  }
  if (best === undefined) {
    throw new SyncupError(
      "EXPORT_NO_FILE",
      `No file in "${dir}" matches /${pattern.source}/ for ${what}. Check that the managed system dropped its export there, or fix the table's "file" pattern.`,
    );
  }
  return best.path;
}
