/**
 * The change feed with real processes, on both databases: a server killed (SIGKILL) while a
 * webhook delivery is under way, then restarted, loses nothing and delivers again only what
 * was not confirmed, with the same event ids; `syncup changes tail` prints the feed from the
 * repository, and `--follow --server` prints a batch's events as it commits.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../src/protocol/change-feed.js";
import { testDatabases } from "../store/dialects.js";
import { freePort, root, ServerProcess, sleep, syncup, waitFor } from "../e2e/harness.js";
import { withAdmins } from "../server/admins.js";
import { ADMIN_TOKEN, AS_HR, Api, makeEnv, prepare, writeHr } from "../server/helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const SECRET = "whsec-processes";

describe.each(databases)("the change feed with real processes on $dialect", (db) => {
  it("a server killed during a delivery loses nothing after its restart; duplicates carry the same ids", async () => {
    const env = await makeEnv(db.url(), { thresholdsOff: true });
    const received: { id: string; event: ChangeEvent }[] = [];
    let holdNext = true;
    let held: (() => void) | null = null;
    const receiver: Server = createServer((request, response) => {
      let body = "";
      request.on("data", (d: Buffer) => (body += d.toString()));
      request.on("end", () => {
        // The first delivery is taken in but never answered: the server dies waiting for it.
        for (const c of JSON.parse(body) as { id: string; data: ChangeEvent }[])
          received.push({ id: c.id, event: c.data });
        if (holdNext) {
          holdNext = false;
          held = () => response.destroy();
          return;
        }
        response.end();
      });
    });
    const hookPort = await freePort();
    await new Promise<void>((ok) => receiver.listen(hookPort, "127.0.0.1", ok));
    const port = await freePort();
    const processEnv = { SYNCUP_DATABASE_URL: env.databaseUrl, SYNCUP_TEST_HOOK_SECRET: SECRET };
    try {
      await withAdmins(env, {
        changeFeed: {
          sinks: {
            hook: {
              type: "webhook",
              url: `http://127.0.0.1:${hookPort}/`,
              secretEnv: "SYNCUP_TEST_HOOK_SECRET",
              batchSize: 40,
              retrySeconds: 0.1,
              timeoutSeconds: 60,
            },
          },
        },
      });
      let server = await ServerProcess.start({ cwd: env.dir, config: env.configPath, port, env: processEnv });
      const hr = new Api(`http://127.0.0.1:${port}`, null).as(AS_HR);
      writeHr(env, 100);
      const initial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
      expect((await hr.waitFor(initial.id)).state).toBe("applied");
      await waitFor("the first delivery", () => Promise.resolve(held === null ? undefined : true));
      await server.kill();
      (held as (() => void) | null)?.();

      server = await ServerProcess.start({ cwd: env.dir, config: env.configPath, port, env: processEnv });
      try {
        writeHr(env, 90, 3);
        const complete = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
        expect((await hr.waitFor(complete.id)).state).toBe("applied");
        const admin = new Api(`http://127.0.0.1:${port}`, null).as(`Bearer admin:${ADMIN_TOKEN}`);
        const all: ChangeEvent[] = [];
        for (let after = 0; ;) {
          const page = await admin.request<{ events: ChangeEvent[]; next: number }>(
            "GET",
            `/api/v1/changes?after=${after}&limit=1000`,
          );
          if (page.body.events.length === 0) break;
          all.push(...page.body.events);
          after = page.body.next;
        }
        const last = all.at(-1)?.seq ?? 0;
        await waitFor("every event delivered", () =>
          Promise.resolve(received.some((r) => r.event.seq === last) ? true : undefined),
        );
        // Nothing lost, in order; what was delivered twice is the same event with the same id.
        const seen = new Map<string, ChangeEvent>();
        for (const r of received) {
          expect(r.id).toBe(String(r.event.seq));
          const before = seen.get(r.id);
          if (before !== undefined) expect(r.event).toEqual(before);
          seen.set(r.id, r.event);
        }
        expect([...seen.keys()].map(Number).sort((a, b) => a - b)).toEqual(all.map((e) => e.seq));
        // The unconfirmed first delivery came again, whole: the duplicates are its events.
        expect(received.length).toBe(all.length + 40);
        expect(received.slice(40, 80).map((r) => r.id)).toEqual(received.slice(0, 40).map((r) => r.id));

        // The CLI: the feed from the repository, and followed through the server.
        const tail = await syncup(
          ["changes", "tail", "--config", env.configPath, "--after", String(last - 5), "--json"],
          {
            cwd: env.dir,
            env: processEnv,
          },
        );
        expect(tail.code, tail.stderr).toBe(0);
        expect(
          tail.stdout
            .trim()
            .split("\n")
            .map((l) => (JSON.parse(l) as ChangeEvent).seq),
        ).toEqual(all.slice(-5).map((e) => e.seq));
        const follow = spawn(
          process.execPath,
          [
            join(root, "bin", "syncup.js"),
            "changes",
            "tail",
            "--follow",
            "--after",
            String(last),
            "--server",
            `http://127.0.0.1:${port}`,
          ],
          {
            cwd: env.dir,
            env: { ...process.env, SYNCUP_ADMIN_TOKEN: ADMIN_TOKEN },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let followed = "";
        follow.stdout.on("data", (d: Buffer) => (followed += d.toString()));
        try {
          await sleep(500);
          writeHr(env, 88);
          const third = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
          expect((await hr.waitFor(third.id)).state).toBe("applied");
          // The output comes in chunks: wait for as many lines as the batch wrote events.
          const page = await admin.request<{ events: ChangeEvent[] }>(
            "GET",
            `/api/v1/changes?after=${last}&limit=1000`,
          );
          const written = page.body.events.length;
          expect(written).toBeGreaterThan(0);
          await waitFor("the followed events", () =>
            Promise.resolve(followed.split("\n").length > written ? true : undefined),
          );
          const lines = followed.trim().split("\n");
          expect(lines).toHaveLength(written);
          expect(lines[0]).toMatch(new RegExp(`^${last + 1}\\tHR\\t`));
          expect(followed).toContain("delete Person");
        } finally {
          follow.kill("SIGKILL");
        }
      } finally {
        await server.stop();
      }
    } finally {
      receiver.closeAllConnections();
      await new Promise((ok) => receiver.close(ok));
      env.cleanup();
    }
  }, 120_000);
});
