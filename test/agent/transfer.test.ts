/**
 * notify → upload → seal → accept against the test peer, and the resume of an interrupted
 * transfer: only the files the server lacks are sent again; a seal already confirmed only
 * advances previous/; a cancelled batch or changed prepared files are dropped.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerClient } from "../../src/agent/client.js";
import {
  notifyBatch,
  readTransfer,
  recordPrepared,
  resumeTransfer,
  sendBatch,
  transferPath,
} from "../../src/agent/transfer.js";
import type { Config } from "../../src/config/config.js";
import { SyncupError } from "../../src/errors.js";
import { readPreviousManifest } from "../../src/prepare/previous.js";
import { CONNECTOR, dataset, tempDir, testConfig, writeComplete, writeIncremental } from "../sync/helpers.js";
import { memoryLogger } from "./helpers.js";
import { TestPeer } from "./peer.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

let peer: TestPeer;
let config: Config;
let workDir: string;
beforeEach(async () => {
  peer = await TestPeer.start();
  workDir = tempDir("syncup-transfer-");
  dirs.push(workDir);
  config = testConfig(workDir);
});
afterEach(() => peer.close());

function clientFor(retries = 0) {
  const { logger, lines } = memoryLogger();
  const client = new ServerClient({
    serverUrl: peer.url,
    agentId: "agent1",
    secret: "s3cret",
    retries,
    requestTimeoutMs: 5000,
    logger,
    baseDelayMs: 10,
    maxDelayMs: 20,
  });
  return { client, logger, lines };
}

const FILES = [
  "User.sorted.csv",
  "Group.sorted.csv",
  "Membership.sorted.csv",
  "Manager.sorted.csv",
  "prepare.json",
];

/** Notifies a complete batch and prepares it, as the runner does. */
async function notifiedAndPrepared(client: ServerClient) {
  const notified = await notifyBatch(client, config, CONNECTOR, "complete", null);
  expect(await readTransfer(config, CONNECTOR)).toEqual(notified);
  expect(notified.preparedAt).toBeNull();
  await writeComplete(workDir, dataset(30));
  return recordPrepared(config, notified);
}

describe("sendBatch", () => {
  it("uploads every prepared file and prepare.json, seals, then advances previous/ and forgets the transfer", async () => {
    const { client, logger } = clientFor();
    const state = await notifiedAndPrepared(client);
    const manifest = JSON.parse(readFileSync(join(workDir, CONNECTOR, "prepare.json"), "utf8")) as {
      preparedAt: string;
      files: { file: string; sha256: string }[];
    };
    expect(state.preparedAt).toBe(manifest.preparedAt);
    let committed = false;
    const sent = await sendBatch(client, config, state, {
      logger,
      commitState: async () => {
        // previous/ has advanced before the export state is committed
        expect((await readPreviousManifest(config, CONNECTOR))?.batch).toBe(state.batchId);
        committed = true;
      },
    });
    expect(sent).toMatchObject({ files: 5, uploaded: 5 });
    const batch = peer.batches.get(state.batchId)!;
    expect([...batch.files.keys()].sort()).toEqual([...FILES].sort());
    for (const f of manifest.files) expect(batch.files.get(f.file)?.sha256).toBe(f.sha256);
    expect(batch.state).toBe("applied");
    expect(committed).toBe(true);
    expect(existsSync(transferPath(config, CONNECTOR))).toBe(false);
  });

  it("sends the deltas (not the sorted files) of an incremental", async () => {
    const { client, logger } = clientFor();
    const before = dataset(30);
    const after = { ...before, users: before.users.slice(1) };
    await writeIncremental(workDir, before, after);
    const notified = await notifyBatch(client, config, CONNECTOR, "incremental", null);
    const state = await recordPrepared(config, notified);
    await sendBatch(client, config, state, { logger });
    expect([...peer.batches.get(state.batchId)!.files.keys()].sort()).toEqual(
      [
        "Group.sorted.delta",
        "Manager.sorted.delta",
        "Membership.sorted.delta",
        "User.sorted.delta",
        "prepare.json",
      ].sort(),
    );
  });
});

describe("resumeTransfer", () => {
  it("does nothing without transfer.json", async () => {
    const { client, logger } = clientFor();
    expect(await resumeTransfer(client, config, CONNECTOR, logger)).toEqual({ kind: "none" });
  });

  it("uploads only what the server lacks after an interrupted upload, then seals and accepts", async () => {
    const { client, logger } = clientFor(0);
    const state = await notifiedAndPrepared(client);
    // The connection drops on every upload after the first one.
    peer.fault = (req) => {
      if (req.method === "PUT" && peer.requests.filter((r) => r.startsWith("PUT")).length > 1) {
        req.socket.destroy();
        return true;
      }
      return false;
    };
    const error = await sendBatch(client, config, state, { logger }).catch((e: unknown) => e);
    expect((error as SyncupError).code).toBe("SERVER_UNREACHABLE");
    expect(await readTransfer(config, CONNECTOR)).toEqual(state);
    expect(await readPreviousManifest(config, CONNECTOR)).toBeUndefined();
    expect(peer.batches.get(state.batchId)?.files.size).toBe(1);

    peer.fault = undefined;
    const resumed = await resumeTransfer(client, config, CONNECTOR, logger);
    expect(resumed).toMatchObject({ kind: "sent", batchId: state.batchId, sent: { files: 5, uploaded: 4 } });
    const first = [...peer.batches.get(state.batchId)!.files.keys()][0]!;
    expect(peer.uploadsOf(first)).toBe(1);
    expect(peer.batches.get(state.batchId)?.state).toBe("applied");
    expect((await readPreviousManifest(config, CONNECTOR))?.batch).toBe(state.batchId);
    expect(existsSync(transferPath(config, CONNECTOR))).toBe(false);
  });

  it("only advances previous/ when the seal was confirmed before the interruption", async () => {
    const { client, logger } = clientFor();
    const state = await notifiedAndPrepared(client);
    // The seal reached the server, but the agent died before accepting.
    const manifest = JSON.parse(readFileSync(join(workDir, CONNECTOR, "prepare.json"), "utf8")) as {
      files: { file: string; sha256: string; kind: string }[];
    };
    const { sha256File } = await import("../../src/support/file-hash.js");
    const files = [
      ...manifest.files
        .filter((f) => f.kind === "sorted")
        .map((f) => ({ name: f.file, sha256: f.sha256, path: join(workDir, CONNECTOR, f.file) })),
      {
        name: "prepare.json",
        sha256: await sha256File(join(workDir, CONNECTOR, "prepare.json")),
        path: join(workDir, CONNECTOR, "prepare.json"),
      },
    ];
    for (const f of files) await client.upload(state.batchId, f.name, f.path, f.sha256);
    await client.seal(state.batchId, { files: files.map(({ name, sha256 }) => ({ name, sha256 })) });
    const puts = peer.requests.filter((r) => r.startsWith("PUT")).length;

    expect(await resumeTransfer(client, config, CONNECTOR, logger)).toEqual({
      kind: "confirmed",
      batchId: state.batchId,
    });
    expect(peer.requests.filter((r) => r.startsWith("PUT")).length).toBe(puts);
    expect((await readPreviousManifest(config, CONNECTOR))?.batch).toBe(state.batchId);
    expect(existsSync(transferPath(config, CONNECTOR))).toBe(false);
  });

  it("drops a batch the server cancelled, leaving previous/ as it was", async () => {
    const { client, logger } = clientFor();
    const state = await notifiedAndPrepared(client);
    peer.batches.get(state.batchId)!.state = "cancelled";
    const resumed = await resumeTransfer(client, config, CONNECTOR, logger);
    expect(resumed).toMatchObject({ kind: "dropped", reason: "it is cancelled on the server" });
    expect(existsSync(transferPath(config, CONNECTOR))).toBe(false);
    expect(await readPreviousManifest(config, CONNECTOR)).toBeUndefined();
  });

  it("drops a batch the server does not know", async () => {
    const { client, logger } = clientFor();
    const state = await notifiedAndPrepared(client);
    peer.batches.delete(state.batchId);
    expect(await resumeTransfer(client, config, CONNECTOR, logger)).toMatchObject({ kind: "dropped" });
    expect(existsSync(transferPath(config, CONNECTOR))).toBe(false);
  });

  it("abandons the batch when the prepared files changed since the notification, or the prepare never finished", async () => {
    const { client, logger } = clientFor();
    const state = await notifiedAndPrepared(client);
    await new Promise((r) => setTimeout(r, 5));
    await writeComplete(workDir, dataset(31));
    expect(await resumeTransfer(client, config, CONNECTOR, logger)).toMatchObject({
      kind: "dropped",
      reason: "the prepared files changed since it was notified",
    });
    expect(peer.batches.get(state.batchId)?.state).toBe("cancelled");

    const unprepared = await notifyBatch(client, config, CONNECTOR, "complete", null);
    expect(await resumeTransfer(client, config, CONNECTOR, logger)).toMatchObject({
      kind: "dropped",
      reason: "its prepare did not finish",
    });
    expect(peer.batches.get(unprepared.batchId)?.state).toBe("cancelled");
    expect(await readPreviousManifest(config, CONNECTOR)).toBeUndefined();
  });
});
