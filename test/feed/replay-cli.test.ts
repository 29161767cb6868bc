/**
 * `syncup changes replay <sink>` with the real binary on a copy of the quickstart: a webhook
 * sink's dead letters delivered again from the command line, those whose events the retention
 * pruned named and kept, and a sink the configuration does not define refused.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { ChangeEvent } from "../../src/protocol/change-feed.js";
import { openStore } from "../../src/store/store.js";
import { root, syncup } from "../e2e/harness.js";

it("replays a sink's dead letters from the command line; names those the retention pruned", async () => {
  const dir = mkdtempSync(join(tmpdir(), "syncup-feed-replay-"));
  const received: ChangeEvent[] = [];
  const receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (d: Buffer) => (body += d.toString()));
    request.on("end", () => {
      received.push(...(JSON.parse(body) as { data: ChangeEvent }[]).map((c) => c.data));
      response.end();
    });
  });
  const port = await new Promise<number>((ok) =>
    receiver.listen(0, "127.0.0.1", () => ok((receiver.address() as { port: number }).port)),
  );
  try {
    cpSync(join(root, "examples"), join(dir, "examples"), { recursive: true });
    mkdirSync(join(dir, "data"));
    const cfg = "examples/quickstart/syncup.yaml";
    const file = join(dir, cfg);
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "  changeFeed:\n",
        `  changeFeed:\n    sinks:\n      hook: { type: webhook, url: "http://127.0.0.1:${port}/", secretEnv: HOOK_SECRET, batchSize: 7 }\n`,
      ),
    );
    const env = { HOOK_SECRET: "whsec-replay" };
    const first = await syncup(["run", "--config", cfg], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(0);

    // Events 1…30 set aside by the sink; the retention then pruned 1…10.
    const store = await openStore(`sqlite:${join(dir, "data", "syncup.db")}`);
    try {
      await store.feedSinks.ensure("hook", 0);
      await store.feedSinks.deadLetter(
        "hook",
        Array.from({ length: 30 }, (_, i) => i + 1),
        "answered HTTP 503",
      );
      await store.feed.prune({ before: null, keepRows: (await store.feed.bounds()).last - 10, floor: 10 });
    } finally {
      await store.close();
    }

    const replay = await syncup(["changes", "replay", "hook", "--config", cfg], { cwd: dir, env });
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout.trim()).toBe(
      "hook: 20 dead letters delivered again; 10 no longer kept by the retention (events 1, 2, 3, 4, 5, 6, 7, 8, 9, 10): resynchronize that consumer from the repository",
    );
    expect(received.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    const sinks = await syncup(["changes", "sinks", "--config", cfg, "--json"], { cwd: dir, env });
    const [hook] = JSON.parse(sinks.stdout) as { name: string; dead: number }[];
    expect(hook).toMatchObject({ name: "hook", dead: 10 });

    const unknown = await syncup(["changes", "replay", "nope", "--config", cfg], { cwd: dir, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No sink named "nope" in server.changeFeed.sinks (hook)');
  } finally {
    receiver.closeAllConnections();
    await new Promise((ok) => receiver.close(ok));
    rmSync(dir, { recursive: true, force: true });
  }
});
