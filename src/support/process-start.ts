/**
 * Whether a file or folder named after a process (its pid) may still be in use by it: that
 * process is alive, and started before the thing was last written. A pid is reused once its
 * process is gone; a process that started after the last write cannot be the writer (when its
 * start time is known: this process's own, or any process's on Linux).
 */
import { readFile } from "node:fs/promises";
import { isProcessAlive } from "./file-lock.js";

/** Start times are known to about this much (Linux reports them in clock ticks after boot). */
const START_SLACK_MS = 2000;
/** Clock ticks per second of /proc's start times (USER_HZ: 100 on every Linux platform). */
const TICKS_PER_SECOND = 100;

/** When the process `pid` started (ms since the epoch), or undefined when it cannot be known. */
export async function processStartMs(pid: number): Promise<number | undefined> {
  if (pid === process.pid) return performance.timeOrigin;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime) counts from the end of the command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    const boot = /^btime (\d+)$/m.exec(await readFile("/proc/stat", "utf8"));
    if (!Number.isFinite(ticks) || boot === null) return undefined;
    return Number(boot[1]) * 1000 + (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Whether the process `pid` may still be writing what it last wrote at `modifiedMs`. */
export async function mayBeInUse(pid: number, modifiedMs: number): Promise<boolean> {
  if (pid !== process.pid && !isProcessAlive(pid)) return false;
  const started = await processStartMs(pid);
  return started === undefined || started <= modifiedMs + START_SLACK_MS;
}
