/**
 * What the change feed costs, on SQLite and PostgreSQL in the same run: two repositories side
 * by side, one with `server.changeFeed` set and one without, each loaded with the same initial
 * load and then synchronized alternately (a complete with 1 % changed; an incremental of 10k
 * changes), each synchronization in a child process of its own; the ratio is feed on ÷ feed
 * off. Then the pull API's throughput: one consumer, a process of its own, reading and parsing
 * every event of the feed through `GET /api/v1/changes` (pages of 10,000) from a server
 * started on the feed's repository; and
 * NATS JetStream delivery of an incremental's events, from its commit (NATS at 127.0.0.1:4222).
 *
 * Usage (after `npm run build`): `node dist/bench/feed.js [rows]`, or through `npm run bench`.
 * PostgreSQL: $SYNCUP_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test
 * (schemas syncup_feedbench_*, dropped at the end).
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { connect } from "nats";
import pg from "pg";
import pino from "pino";
import { parseConfig } from "../config/load.js";
import { hashSecret } from "../protocol/secret-hash.js";
import type { ChangePage } from "../protocol/change-feed.js";
import { FeedPusher } from "../feed/pusher.js";
import { Mutex } from "../server/mutex.js";
import { startServer } from "../server/server.js";
import { openStore } from "../store/store.js";
import { generateSyncBench, runChild } from "./sync.js";
import { childJson, median, type BenchResult } from "./result.js";

const POSTGRES_URL = process.env["SYNCUP_BENCH_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const self = fileURLToPath(import.meta.url);
const TOKEN = "bench-t0ken";

const fmt = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

/**
 * Serves the feed of `url` (`configFile` without a server section) and has a consumer in a
 * process of its own read all of it: `{ events, seconds }` as the consumer measured them.
 */
async function pullChild(url: string, configFile: string): Promise<void> {
  const text = `${readFileSync(configFile, "utf8")}\nserver:\n  port: 0\n  adminTokenHash: ${JSON.stringify(await hashSecret(TOKEN))}\n  changeFeed: {}\n`;
  const config = parseConfig(text, {
    file: configFile,
    label: configFile,
    env: { SYNCUP_DATABASE_URL: url },
  });
  const server = await startServer(
    { ...config, databaseUrl: url },
    { port: 0, log: pino({ level: "silent" }) },
  );
  try {
    const consumer = spawn(process.execPath, [self, "consume", server.url], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    consumer.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((ok) => consumer.on("close", ok));
    if (code !== 0) throw new Error(`feed benchmark: the consumer ended with ${code}`);
    process.stdout.write(out);
  } finally {
    await server.close();
  }
}

/** A consumer: reads every event from `serverUrl`, parsing each page; prints `{ events, seconds }`. */
async function consume(serverUrl: string): Promise<void> {
  const headers = { authorization: `Bearer admin:${TOKEN}` };
  let events = 0;
  const started = performance.now();
  for (let after = 0; ;) {
    const response = await fetch(`${serverUrl}/api/v1/changes?after=${after}&limit=10000`, { headers });
    const page = (await response.json()) as ChangePage;
    if (page.events.length === 0) break;
    events += page.events.length;
    after = page.next;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ events, seconds })}\n`);
}

/**
 * NATS delivery of one incremental: the sink's cursor set at the feed's end, the incremental
 * applied (in this process), then the seconds from its commit until JetStream acknowledged its
 * last event: `{ events, seconds }`.
 */
async function natsChild(url: string, configFile: string, dir: string): Promise<void> {
  const stream = `SYNCUP_BENCH_${process.pid}`;
  const text = `${readFileSync(configFile, "utf8")}\nserver:\n  changeFeed:\n    sinks:\n      nats: { type: nats, servers: ["nats://127.0.0.1:4222"], stream: ${stream}, subjectPrefix: bench${process.pid} }\n`;
  const config = parseConfig(text, { file: configFile, label: configFile, env: {} });
  const store = await openStore(url);
  try {
    const before = (await store.feed.bounds()).last;
    await store.feedSinks.ensure("nats", before);
    await store.feedSinks.delivered("nats", before, 0);
    const { synchronize } = await import("../sync/synchronize.js");
    await synchronize({ store, config, connector: "BENCH", mode: "incremental", dir });
    const committed = performance.now();
    const last = (await store.feed.bounds()).last;
    // One connection, its statements one section at a time, as in the server.
    const mutex = new Mutex();
    const pusher = new FeedPusher({
      config,
      store,
      serialize: (fn) => mutex.run(fn),
      env: {},
      log: pino({ level: "silent" }),
      pollMs: 20,
    });
    pusher.start();
    while (((await store.feedSinks.get("nats"))?.position ?? 0) < last)
      await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - committed) / 1000;
    await pusher.stop();
    const nc = await connect({ servers: "nats://127.0.0.1:4222" });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    await nc.close();
    process.stdout.write(`${JSON.stringify({ events: last - before, seconds })}\n`);
  } finally {
    await store.close();
  }
}

interface Repositories {
  readonly name: string;
  fresh(): string;
  cleanup(): Promise<void>;
}

function sqlite(dir: string): Repositories {
  let n = 0;
  return {
    name: "SQLite",
    fresh: () => `sqlite:${join(dir, `feed-${++n}.db`)}`,
    cleanup: () => Promise.resolve(),
  };
}

function postgres(): Repositories {
  const schemas: string[] = [];
  return {
    name: "PostgreSQL",
    fresh: () => {
      const schema = `syncup_feedbench_${process.pid}_${schemas.length + 1}`;
      schemas.push(schema);
      return `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}schema=${schema}`;
    },
    cleanup: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function benchFeed(options: {
  rows: number;
  dir: string;
  runs?: number;
}): Promise<BenchResult[]> {
  const { rows } = options;
  const runs = Math.max(2, options.runs ?? 4);
  process.stderr.write(`feed bench: generating ${fmt(rows)} resources…\n`);
  const generated = await generateSyncBench(rows, resolve(options.dir));
  const off = generated.configFile;
  const on = join(generated.dir, "syncup-feed.yaml");
  writeFileSync(on, `${readFileSync(off, "utf8")}server:\n  changeFeed: {}\n`);
  const results: BenchResult[] = [];
  for (const repositories of [sqlite(generated.dir), postgres()]) {
    try {
      const label = `${repositories.name}, ${fmt(rows)} resources`;
      const urls = { off: repositories.fresh(), on: repositories.fresh() };
      process.stderr.write(`feed bench: ${label}: initial loads…\n`);
      const initial = {
        off: runChild(urls.off, off, "initial", generated.firstDir).seconds,
        on: runChild(urls.on, on, "initial", generated.firstDir).seconds,
      };
      results.push({
        task: `change feed: initial load with the feed on (its ${fmt(3 * rows)}-odd events), ${label}`,
        rows: 3 * rows,
        oursSeconds: initial.on,
        reference: "the same initial load, feed off",
        referenceSeconds: initial.off,
        peakRssMiB: null,
        target: "—",
      });
      // Side by side: each run synchronizes both repositories, the same files, one after the other.
      for (const [mode, dirs, target, what] of [
        ["complete", [generated.nextDir, generated.firstDir], "≤ 1.15×", "complete, 1 % changed"],
        [
          "incremental",
          [join(generated.dir, "forward"), join(generated.dir, "backward")],
          "≤ 1.25×",
          `incremental, ${fmt(generated.changes)} changes`,
        ],
      ] as const) {
        process.stderr.write(`feed bench: ${label}: ${mode}…\n`);
        const times = { off: [] as number[], on: [] as number[] };
        for (let r = 0; r < runs; r++) {
          const dir = dirs[r % 2] as string;
          times.off.push(runChild(urls.off, off, mode, dir).seconds);
          times.on.push(runChild(urls.on, on, mode, dir).seconds);
        }
        results.push({
          task: `change feed: ${what}, feed on, ${label}`,
          rows: mode === "complete" ? 3 * rows : generated.changes,
          oursSeconds: median(times.on),
          reference: "the same synchronization, feed off",
          referenceSeconds: median(times.off),
          peakRssMiB: null,
          target,
        });
      }
      process.stderr.write(`feed bench: ${label}: pull…\n`);
      const pulled = childJson<{ events: number; seconds: number }>(self, ["pull-child", urls.on, off]);
      process.stderr.write(`feed bench: ${label}: NATS…\n`);
      const nats = childJson<{ events: number; seconds: number }>(self, [
        "nats-child",
        urls.on,
        off,
        join(generated.dir, "forward"),
      ]);
      results.push({
        task: `change feed: NATS JetStream delivery of an incremental's ${fmt(nats.events)} events, from its commit, ${repositories.name}`,
        rows: nats.events,
        oursSeconds: nats.seconds,
        reference: null,
        referenceSeconds: null,
        peakRssMiB: null,
        target: "≤ 2 s",
      });
      results.push({
        task: `change feed: pull API, one consumer reading ${fmt(pulled.events)} events (pages of 10,000), ${repositories.name}`,
        rows: pulled.events,
        oursSeconds: pulled.seconds,
        reference: null,
        referenceSeconds: null,
        peakRssMiB: null,
        target: "≥ 50,000 events/s",
      });
    } finally {
      await repositories.cleanup();
    }
  }
  rmSync(generated.dir, { recursive: true, force: true });
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, ...args] = process.argv.slice(2);
  if (command === "nats-child") {
    const [url, configFile, dir] = args as [string, string, string];
    await natsChild(url, configFile, dir);
  } else if (command === "consume") {
    await consume(args[0] as string);
  } else if (command === "pull-child") {
    const [url, configFile] = args as [string, string];
    await pullChild(url, configFile);
  } else {
    const rows = Number(command ?? 100_000);
    for (const r of await benchFeed({ rows, dir: resolve(".bench", "feed") })) {
      process.stdout.write(
        `${r.task}: ${r.oursSeconds.toFixed(3)} s${r.referenceSeconds === null ? ` (${Math.round(r.rows / r.oursSeconds).toLocaleString("en-US")}/s)` : ` beside ${r.referenceSeconds.toFixed(3)} s (${(r.oursSeconds / r.referenceSeconds).toFixed(2)}×)`}\n`,
      );
    }
  }
}
