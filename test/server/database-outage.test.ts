/**
 * The server outlives its database connections. The backends of both its connections (the
 * API's and the worker's) are terminated at each step of a batch's synchronization: the batch
 * is applied once (requeued when it was interrupted), and the queue goes on with the next
 * batch. While the database stays out of reach, `/ready` says so (`/health`, liveness, does
 * not) and the metrics count the failed reads of the queue.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Readiness } from "../../src/server/readiness.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { openStore, type Store } from "../../src/store/store.js";
import { testDatabases } from "../store/dialects.js";
import {
  AS_AD,
  AS_HR,
  Api,
  counted,
  expectRefusal,
  makeEnv,
  metric,
  prepare,
  writeAd,
  writeHr,
  type PreparedBatch,
  type TestEnv,
} from "./helpers.js";
import { PgProxy, terminateBackends, type Trap } from "./pg-faults.js";

const postgres = testDatabases().filter((db) => db.dialect === "postgres");
let proxy: PgProxy;
beforeAll(async () => {
  proxy = await PgProxy.start();
});
afterAll(async () => {
  await proxy.close();
  for (const db of postgres) await db.cleanup();
});

const POLL_MS = 50;

/** A server whose sessions go through the proxy, named so that they can be terminated. */
interface Fixture {
  readonly env: TestEnv;
  readonly server: RunningServer;
  /** The repository, read on a connection of its own (never terminated). */
  readonly direct: Store;
  readonly appName: string;
  readonly hr: Api;
  readonly ad: Api;
  readonly hrBatch: PreparedBatch;
  readonly adBatch: PreparedBatch;
  close(): Promise<void>;
}

async function fixture(url: string): Promise<Fixture> {
  const env = await makeEnv(url, { thresholdsOff: true });
  const appName = `syncup_outage_${Math.random().toString(36).slice(2, 10)}`;
  const server = await startServer(await env.withDatabase(proxy.proxied(url, appName)), {
    port: 0,
    pollMs: POLL_MS,
    log: pino({ level: process.env["SYNCUP_TEST_SERVER_LOG"] ?? "silent" }),
  });
  const direct = await openStore(url);
  writeHr(env, 300);
  const hrBatch = await prepare(env, "HR", "complete");
  writeAd(env, 0);
  const adBatch = await prepare(env, "AD", "complete");
  return {
    env,
    server,
    direct,
    appName,
    hr: new Api(server.url, AS_HR),
    ad: new Api(server.url, AS_AD),
    hrBatch,
    adBatch,
    close: async () => {
      await server.close();
      await direct.close();
      env.cleanup();
    },
  };
}

/** Polls the batch's state in the repository until it is one of `states`. */
async function stateReached(
  store: Store,
  id: string,
  states: readonly string[],
  ms = 20_000,
): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = (await store.batches.get(id))?.state ?? "missing";
    if (states.includes(state)) return state;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${state} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Polls `GET path` until `accept` takes the answer. */
async function until<T>(
  url: string,
  path: string,
  accept: (status: number, body: T) => boolean,
  ms = 15_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as T;
    if (accept(response.status, body)) return { status: response.status, body };
    if (Date.now() > deadline)
      throw new Error(`GET ${path} still ${response.status} ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for an armed trap to go off (and its fault to be made). */
async function wentOff(sprung: Promise<void>, ms = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`the trap did not go off within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([sprung, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** What the repository holds of HR once the batch of 300 people was applied exactly once. */
async function expectAppliedOnce(f: Fixture, id: string): Promise<void> {
  expect(await stateReached(f.direct, id, ["applied", "failed", "cancelled"])).toBe("applied");
  const hr = await f.direct.batches.list({ limit: 100, connector: "HR" });
  expect(hr.map((b) => [b.id, b.state])).toEqual([[id, "applied"]]);
  expect(hr[0]).toMatchObject({ resourcesInserted: 300, resourcesUpdated: 0, resourcesDeleted: 0 });
  expect(await counted(f.direct, "HR")).toEqual({ Person: 300 });
  // An apply adjusts the held counts by what it wrote: a batch applied twice would count 600.
  const held = await f.direct.counts.held("HR", { entityTypes: ["Person"], associations: [] });
  expect(held.resources.get("Person")).toBe(300);
}

/** Notifies the HR batch and uploads its files; returns its id. */
async function uploaded(f: Fixture): Promise<string> {
  const notified = await f.hr.notify("HR", "complete");
  expect(notified.status, notified.text).toBe(201);
  await f.hr.uploadAll(notified.body.id, f.hrBatch);
  return notified.body.id;
}

/** A request sent again while it is answered 5xx, as an agent does: one that met a terminated session fails. */
async function retried<T extends { status: number }>(request: () => Promise<T>): Promise<T> {
  let answer = await request();
  for (let i = 0; answer.status >= 500 && i < 5; i++) {
    await new Promise((r) => setTimeout(r, 100));
    answer = await request();
  }
  return answer;
}

/** The queue goes on: another connector's batch is applied. */
async function expectQueueMoves(f: Fixture): Promise<void> {
  const notified = await retried(() => f.ad.notify("AD", "complete"));
  expect(notified.status, notified.text).toBe(201);
  await f.ad.send(notified.body.id, f.adBatch);
  expect(await stateReached(f.direct, notified.body.id, ["applied", "failed", "blocked"])).toBe("applied");
}

/** The traps, one per step of a synchronization; `id` is the batch's. */
const STEPS: readonly {
  name: string;
  trap: (id: string) => (t: string, link: number) => boolean;
  /** Whether the worker's synchronization meets the loss (after the commit, only the lock's release does: it went with the session). */
  interrupted: boolean;
}[] = [
  {
    name: "before the batch is claimed",
    // sealed → staging: the parameters in that order (a requeue binds them the other way).
    trap: (id) => (t) =>
      t.includes("UPDATE UR_Batches SET state") &&
      t.includes(id) &&
      t.indexOf("staging") >= 0 &&
      t.indexOf("staging") < t.indexOf("sealed"),
    interrupted: true,
  },
  {
    name: "while it is staged",
    trap: () => (t) => t.includes("COPY UR_ResourcesChanges"),
    interrupted: true,
  },
  {
    name: "in the apply's transaction",
    trap: () => (t) => t.includes("INSERT INTO UR_Resources ("),
    interrupted: true,
  },
  {
    name: "at the apply's commit",
    interrupted: true,
    trap: () => {
      let applying = -1;
      return (t, link) => {
        if (t.includes("INSERT INTO UR_Resources (")) applying = link;
        return link === applying && t.includes("COMMIT");
      };
    },
  },
  {
    name: "after the apply's commit",
    interrupted: false,
    trap: () => {
      let applying = -1;
      let committed = false;
      return (t, link) => {
        if (link !== applying) {
          if (t.includes("INSERT INTO UR_Resources (")) applying = link;
          return false;
        }
        if (committed) return true;
        committed = t.includes("COMMIT");
        return false;
      };
    },
  },
];

describe.each(postgres)("a server losing its $dialect connections", (db) => {
  it.each(STEPS)(
    "terminated $name: the batch is applied once and the queue goes on",
    async (step) => {
      const f = await fixture(db.url());
      try {
        const id = await uploaded(f);
        let terminated = 0;
        const trap: Trap = {
          when: step.trap(id),
          fault: async () => {
            terminated = await terminateBackends(f.appName);
          },
        };
        const sprung = proxy.arm(trap);
        const sealed = await retried(() => f.hr.seal(id, f.hrBatch.files));
        expect(sealed.status, sealed.text).toBe(200);
        await wentOff(sprung);
        await expectAppliedOnce(f, id);
        // The API's session and the worker's (and a reader's while staging).
        expect(terminated).toBeGreaterThanOrEqual(2);
        const errors = metric(await metrics(f.server.url), "syncup_queue_errors_total");
        if (step.interrupted) expect(errors).toBeGreaterThanOrEqual(1);
        else expect(errors).toBe(0);
        await expectQueueMoves(f);
        // Both sessions are back.
        const ready = await until<Readiness>(f.server.url, "/ready", (status) => status === 200);
        expect(ready.body).toMatchObject({ status: "ready", checks: { database: "ok", queue: "ok" } });
        const view = await retried(() => f.hr.batch(id));
        expect(view.status, view.text).toBe(200);
        expect(view.body.state).toBe("applied");
      } finally {
        await f.close();
      }
    },
    60_000,
  );

  it("an outage that lasts: /ready answers 503 meanwhile, /health 200; the interrupted batch is applied once after", async () => {
    const f = await fixture(db.url());
    try {
      const id = await uploaded(f);
      const ready = await until<Readiness>(f.server.url, "/ready", (status) => status === 200);
      const lastReadBefore = ready.body.queue.lastReadAt;
      // In the apply's transaction, the database goes: its sessions terminated, new ones refused.
      const sprung = proxy.arm({
        when: (t) => t.includes("INSERT INTO UR_Resources ("),
        fault: async () => {
          proxy.refuse(true);
          await terminateBackends(f.appName);
        },
      });
      const sealed = await retried(() => f.hr.seal(id, f.hrBatch.files));
      expect(sealed.status, sealed.text).toBe(200);
      await wentOff(sprung);

      const degraded = await until<Readiness>(
        f.server.url,
        "/ready",
        (status, body) => status === 503 && body.checks.queue === "failing",
      );
      expect(degraded.body).toMatchObject({
        status: "degraded",
        checks: { database: "unavailable", queue: "failing" },
      });
      expect(degraded.body.queue.failures).toBeGreaterThanOrEqual(2);
      const health = await fetch(`${f.server.url}/health`);
      expect(health.status).toBe(200);
      // Agents are told to come back (they retry a 5xx).
      expectRefusal(await f.hr.batch(id), 503, "DATABASE_UNAVAILABLE");
      const during = await metrics(f.server.url);
      expect(metric(during, "syncup_database_up")).toBe(0);
      expect(metric(during, "syncup_queue_errors_total")).toBeGreaterThanOrEqual(2);
      const lastSuccess = metric(during, "syncup_queue_last_success_timestamp_seconds")!;
      expect(lastSuccess).toBeGreaterThan(0);
      // Nothing of the batch reached the repository; it waits, its connector's lock gone with the session.
      expect((await f.direct.batches.get(id))?.state).toBe("staging");
      expect(await counted(f.direct, "HR")).toEqual({});
      await new Promise((r) => setTimeout(r, 4 * POLL_MS));
      const later = await metrics(f.server.url);
      expect(metric(later, "syncup_queue_last_success_timestamp_seconds")).toBe(lastSuccess);
      expect(metric(later, "syncup_queue_errors_total")).toBeGreaterThan(
        metric(during, "syncup_queue_errors_total")!,
      );

      proxy.refuse(false);
      const back = await until<Readiness>(f.server.url, "/ready", (status) => status === 200);
      expect(back.body).toMatchObject({ status: "ready", queue: { failures: 0 } });
      expect(Date.parse(back.body.queue.lastReadAt!)).toBeGreaterThan(Date.parse(lastReadBefore!));
      await expectAppliedOnce(f, id);
      await expectQueueMoves(f);
      const after = await metrics(f.server.url);
      expect(metric(after, "syncup_database_up")).toBe(1);
      expect(metric(after, "syncup_queue_last_success_timestamp_seconds")).toBeGreaterThan(lastSuccess);
    } finally {
      proxy.refuse(false);
      await f.close();
    }
  }, 60_000);

  it("the worker alone loses the database: /ready reports the stuck queue while the API still answers", async () => {
    const f = await fixture(db.url());
    try {
      await until<Readiness>(f.server.url, "/ready", (status) => status === 200);
      // The server opened the API's connection, then the worker's; nothing else is open when idle.
      const open = proxy.open();
      expect(open).toHaveLength(2);
      const worker = open[1];
      proxy.refuse(true);
      proxy.cut(worker!);
      const stuck = await until<Readiness>(f.server.url, "/ready", (status) => status === 503);
      expect(stuck.body).toMatchObject({
        status: "degraded",
        checks: { database: "ok", queue: "failing" },
      });
      expect((await fetch(`${f.server.url}/health`)).status).toBe(200);
      expect(metric(await metrics(f.server.url), "syncup_database_up")).toBe(1);

      proxy.refuse(false);
      await until<Readiness>(f.server.url, "/ready", (status) => status === 200);
      await expectQueueMoves(f);
    } finally {
      proxy.refuse(false);
      await f.close();
    }
  }, 60_000);
});
