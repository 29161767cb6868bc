/**
 * A lock file created with O_EXCL and holding the pid of the process that holds it (and what
 * it does). A lock whose process is gone (a crash, a kill -9) is stale and taken over; the
 * takeover is itself guarded by `<lock>.takeover` (O_EXCL) so that two processes that both
 * found the same stale lock cannot remove each other's fresh one.
 */
import { mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Locks this process holds or is taking, by path (a count: two calls of one process may race
 * for one lock): a lock file with our own pid that is not here is stale (pid reuse).
 */
const HELD = new Map<string, number>();

function hold(path: string, delta: 1 | -1): void {
  const n = (HELD.get(path) ?? 0) + delta;
  if (n > 0) HELD.set(path, n);
  else HELD.delete(path);
}

/** A takeover guard older than this was left by a process that died while taking over. */
const TAKEOVER_STALE_MS = 10_000;
/** An empty lock file younger than this is being written by its creator. */
const EMPTY_GRACE_MS = 5_000;

export interface FileLock {
  readonly path: string;
  /** Removes the lock file; calling it again does nothing. */
  release(): Promise<void>;
}

/** Whether a process with this pid exists (EPERM: it exists, owned by another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface LockHolder {
  readonly pid: number | undefined;
  /** What the holder said it does (a job's name, "synchronize"). */
  readonly job: string | undefined;
  readonly raw: string;
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const [first, second] = raw.split("\n");
  const pid = Number(first);
  return {
    pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
    job: second === undefined || second === "" ? undefined : second,
    raw,
  };
}

async function isStale(path: string, holder: LockHolder): Promise<boolean> {
  if (holder.pid === undefined) {
    const info = await stat(path).catch(() => undefined);
    return info === undefined || Date.now() - info.mtimeMs > EMPTY_GRACE_MS;
  }
  if (holder.pid === process.pid) return !HELD.has(path);
  return !isProcessAlive(holder.pid);
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** Removes `path` if it still holds `raw`, under the takeover guard; false when another process is at it. */
async function removeStale(path: string, raw: string): Promise<boolean> {
  const guard = `${path}.takeover`;
  if (!(await createExclusive(guard, String(process.pid)))) {
    const info = await stat(guard).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > TAKEOVER_STALE_MS) await rm(guard, { force: true });
    return false;
  }
  try {
    const again = await readHolder(path);
    if (again !== undefined && again.raw === raw) await rm(path, { force: true });
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

/**
 * Takes the lock file `path` for `what`, or throws the error `busy` makes of its holder.
 * A stale lock is taken over.
 */
export async function acquireFileLock(
  path: string,
  what: string,
  busy: (holder: LockHolder | undefined) => Error,
): Promise<FileLock> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 20; attempt++) {
    // Counted before the file exists, so that another call of this process that finds the
    // file meanwhile does not take it for a stale one of an earlier process with our pid.
    hold(path, 1);
    let created: boolean;
    try {
      created = await createExclusive(path, `${process.pid}\n${what}\n`);
    } catch (error) {
      hold(path, -1);
      throw error;
    }
    if (created) {
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          try {
            await rm(path, { force: true });
          } finally {
            hold(path, -1);
          }
        },
      };
    }
    hold(path, -1);
    const holder = await readHolder(path);
    if (holder === undefined) continue;
    if (!(await isStale(path, holder))) throw busy(holder);
    if (!(await removeStale(path, holder.raw))) await new Promise((r) => setTimeout(r, 50));
  }
  throw busy(undefined);
}
