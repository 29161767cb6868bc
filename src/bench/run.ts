/**
 * End-to-end benchmark of `syncup run`: the command line (`bin/syncup.js`) in a child process
 * of its own, export (a csv connection reading a generated file) + prepare + synchronize, into a
 * fresh SQLite repository and into a fresh PostgreSQL schema, taken in turns:
 *
 * - the first run, the initial load into the empty repository (`--mode auto` resolves to it);
 * - a second run, `--mode complete`, after 1 % of the export changed (a third each updated,
 *   deleted and new, `writeBenchFile`'s `changes`).
 *
 * Each figure is the whole process, start, imports and exit included: wall seconds from spawn to
 * exit; CPU seconds (user + system) and peak RSS as GNU time (`/usr/bin/time`) reports them,
 * from the rusage of its child, which counts the child's whole tree (every thread, and every
 * descendant process it waited for; the peak RSS is that of the largest process of the tree).
 * The connector's resource thresholds are off, so that the complete applies its changes: more
 * than the 1 % of ids, as the generator's random values move after the first change (the task
 * says the share of resources that differ).
 *
 * PostgreSQL: $SYNCUP_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test, in a
 * schema syncup_bench_run_<pid>, dropped at the end.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchConfig, writeBenchFile } from "./generate.js";
import { fmtRows, median, type BenchResult } from "./result.js";

const POSTGRES_URL = process.env["SYNCUP_BENCH_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = join(root, "bin", "syncup.js");
const TIME = "/usr/bin/time";

type Step = "initial" | "complete";

/** One `syncup run`, measured from outside. */
interface Measured {
  readonly wall: number;
  readonly cpu: number;
  readonly rssMiB: number;
  /** Resources inserted, updated or deleted. */
  readonly changed: number;
}

/** The part of `syncup run --json` checked here. */
interface RunReport {
  readonly runs: readonly {
    readonly mode: string;
    readonly outcome: string;
    readonly sync: { readonly resources: Readonly<Record<string, number>> } | null;
  }[];
  readonly failures: readonly { readonly connector: string; readonly message: string }[];
}

/** A repository to load: its URL in the configuration, and how to empty it. */
interface Target {
  readonly name: "SQLite" | "PostgreSQL";
  readonly database: string;
  readonly reset: () => void;
}

function postgres(): Target {
  const schema = `syncup_bench_run_${process.pid}`;
  return {
    name: "PostgreSQL",
    database: `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}schema=${schema}`,
    reset: () =>
      execFileSync(
        "psql",
        ["-q", "-v", "ON_ERROR_STOP=1", POSTGRES_URL, "-c", `DROP SCHEMA IF EXISTS ${schema} CASCADE`],
        {
          stdio: ["ignore", "ignore", "inherit"],
          env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
        },
      ),
  };
}

/**
 * Runs `syncup run --mode <mode> --json` on `config` (repository `name`) under GNU time. Throws
 * unless it ran in `expected` mode and applied its batch.
 */
function timedRun(config: string, mode: "auto" | "complete", expected: Step, name: string): Measured {
  const timing = join(dirname(config), "time.txt");
  const args = ["run", "--config", config, "--mode", mode, "--json", "--no-progress"];
  const started = performance.now();
  const child = spawnSync(TIME, ["-o", timing, "-f", "%U %S %M", process.execPath, cli, ...args], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const wall = (performance.now() - started) / 1000;
  if (child.error !== undefined) throw child.error;
  let report: RunReport | undefined;
  try {
    report = JSON.parse(child.stdout) as RunReport;
  } catch {
    // Not a report: said below with the exit status.
  }
  const run = report?.runs[0];
  if (child.status !== 0 || run?.mode !== expected || run.outcome !== "applied") {
    const why = report?.failures.map((f) => f.message).join("; ") ?? child.stdout.slice(0, 2000);
    throw new Error(
      `syncup run --mode ${mode} (exit ${child.status ?? child.signal}) ran ${run?.mode ?? "nothing"} ${run?.outcome ?? ""}, not an applied ${expected}: ${why}`,
    );
  }
  // GNU time's last line is ours; a line before it says a non-zero exit status.
  const [user, system, kib] = (readFileSync(timing, "utf8").trim().split("\n").pop() ?? "")
    .split(" ")
    .map(Number);
  if (user === undefined || system === undefined || kib === undefined || [user, system, kib].some(isNaN)) {
    throw new Error(`cannot read GNU time's figures in ${timing}`);
  }
  const counts = run.sync?.resources ?? {};
  const resources = Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const changed = (counts["inserted"] ?? 0) + (counts["updated"] ?? 0) + (counts["deleted"] ?? 0);
  process.stderr.write(
    `syncup run ${expected}, ${name}: ${wall.toFixed(2)} s, CPU ${(user + system).toFixed(2)} s, ${(kib / 1024).toFixed(0)} MiB (${resources})\n`,
  );
  return { wall, cpu: user + system, rssMiB: kib / 1024, changed };
}

/**
 * One turn on a target: a fresh folder and an empty repository, the first run on the first
 * export, the complete on the next one.
 */
function turn(target: Target, base: string, measured: Record<Step, Measured[]>): void {
  const dir = join(base, target.name.toLowerCase());
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "source"), { recursive: true });
  target.reset();
  const config = benchConfig(dir, { database: target.database, thresholdsOff: true });
  const source = join(dir, "source", "ad_entries.csv");
  cpSync(join(base, "first.csv"), source);
  measured.initial.push(timedRun(config, "auto", "initial", target.name));
  cpSync(join(base, "next.csv"), source);
  measured.complete.push(timedRun(config, "complete", "complete", target.name));
}

function resultOf(target: Target, step: Step, rows: number, measured: readonly Measured[]): BenchResult {
  const share = ((100 * (measured[0]?.changed ?? 0)) / rows).toFixed(1);
  const what =
    step === "initial"
      ? "initial load (export + prepare + synchronize)"
      : `complete, next export (1 % of ids changed, ${share} % of resources differ)`;
  return {
    task: `syncup run, ${what}, ${fmtRows(rows)} rows, ${target.name}`,
    rows,
    oursSeconds: median(measured.map((m) => m.wall)),
    cpuSeconds: median(measured.map((m) => m.cpu)),
    reference: null,
    referenceSeconds: null,
    peakRssMiB: Math.max(...measured.map((m) => m.rssMiB)),
    target: "—",
  };
}

/**
 * `syncup run` end to end at `rows` rows, on SQLite and PostgreSQL, `runs` times each (medians
 * of the wall and CPU seconds, the largest peak RSS): four rows of the table.
 */
export async function benchRun(options: { rows: number; dir: string; runs: number }): Promise<BenchResult[]> {
  const { rows, dir, runs } = options;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`syncup run: generating ${fmtRows(rows)} rows…\n`);
  await writeBenchFile(join(dir, "first.csv"), rows, { seed: 1 });
  await writeBenchFile(join(dir, "next.csv"), rows, { seed: 1, changes: 0.01 });
  const sqlite: Target = { name: "SQLite", database: "sqlite:./repo.db", reset: () => undefined };
  const targets = [sqlite, postgres()];
  const measured = targets.map(() => ({ initial: [] as Measured[], complete: [] as Measured[] }));
  try {
    // Taken in turns, so that a slower minute of the machine weighs on both alike.
    for (let i = 0; i < runs; i++) {
      targets.forEach((target, t) => turn(target, dir, measured[t] as Record<Step, Measured[]>));
    }
  } finally {
    for (const target of targets) target.reset();
    rmSync(dir, { recursive: true, force: true });
  }
  return targets.flatMap((target, t) =>
    (["initial", "complete"] as const).map((step) =>
      resultOf(target, step, rows, (measured[t] as Record<Step, Measured[]>)[step]),
    ),
  );
}
