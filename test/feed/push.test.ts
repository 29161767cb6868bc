/**
 * Pushing the change feed, on both databases, with batches sent by an agent to a real server:
 * a webhook receiver that answers 500 then 200 (retried, signed, verified by the README's
 * snippet), a receiver down for a while then back (caught up in order), dead letters after
 * the last attempt (in /metrics), and the real NATS JetStream and RabbitMQ brokers.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import amqp from "amqplib";
import { AckPolicy, connect, DeliverPolicy, DiscardPolicy } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../src/protocol/change-feed.js";
import { testDatabases } from "../store/dialects.js";
import { AS_APPROVER, AS_VIEWER, withAdmins } from "../server/admins.js";
import {
  AS_HR,
  Api,
  cleanedAfterEach,
  expectRefusal,
  makeEnv,
  prepare,
  serve,
  writeHr,
  type TestEnv,
} from "../server/helpers.js";
// @ts-expect-error: the README's snippet is plain JavaScript
import { verifySyncupSignature } from "../../examples/webhook/verify.mjs";

const verify = verifySyncupSignature as (
  secret: string,
  header: string | undefined,
  body: string,
  toleranceSeconds?: number,
  now?: number,
) => boolean;

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const SECRET = "whsec-test-0123456789";
process.env["SYNCUP_TEST_WEBHOOK_SECRET"] = SECRET;

interface Received {
  readonly body: string;
  readonly signature: string | undefined;
  readonly events: ChangeEvent[];
  readonly ids: string[];
}

/**
 * A webhook receiver: answers with `statuses` in turn (then 200), keeps what it was sent; while
 * `down`, it cuts each connection without an answer.
 */
class Receiver {
  readonly received: Received[] = [];
  down = false;
  private server: Server | null = null;
  constructor(
    readonly port: number,
    private readonly statuses: number[] = [],
  ) {}
  static async start(statuses: number[] = []): Promise<Receiver> {
    const probe = createServer();
    const port = await new Promise<number>((ok) =>
      probe.listen(0, "127.0.0.1", () => ok((probe.address() as { port: number }).port)),
    );
    await new Promise((ok) => probe.close(ok));
    const receiver = new Receiver(port, statuses);
    await receiver.listen();
    return receiver;
  }
  async listen(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response) => {
      if (this.down) {
        request.socket.destroy();
        return;
      }
      let body = "";
      request.on("data", (d: Buffer) => (body += d.toString()));
      request.on("end", () => {
        const status = this.statuses.shift() ?? 200;
        if (status === 200) {
          const cloudEvents = JSON.parse(body) as { id: string; data: ChangeEvent }[];
          this.received.push({
            body,
            signature: request.headers["syncup-signature"] as string | undefined,
            events: cloudEvents.map((c) => c.data),
            ids: cloudEvents.map((c) => c.id),
          });
        }
        response.statusCode = status;
        response.end();
      });
    });
    await new Promise<void>((ok) => this.server?.listen(this.port, "127.0.0.1", ok));
  }
  /** Answers 200 from now on. */
  acceptAll(): void {
    this.statuses.length = 0;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((ok) => this.server?.close(ok));
    this.server = null;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
  events(): ChangeEvent[] {
    return this.received.flatMap((r) => r.events);
  }
}

async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An initial load of 60 people and a complete that changes some: the feed's events. */
async function runBatches(env: TestEnv, api: Api): Promise<void> {
  writeHr(env, 60);
  const initial = await api.notifyAndSend(await prepare(env, "HR", "initial"));
  expect((await api.waitFor(initial.id)).state).toBe("applied");
  writeHr(env, 50, 4);
  const complete = await api.notifyAndSend(await prepare(env, "HR", "complete"));
  expect((await api.waitFor(complete.id)).state).toBe("applied");
}

it("the README shows the verification snippet and the consumers that these tests run", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  for (const example of ["webhook/verify.mjs", "consumers/nats.mjs", "consumers/rabbitmq.mjs"]) {
    expect(readme).toContain(
      readFileSync(new URL(`../../examples/${example}`, import.meta.url), "utf8").trim(),
    );
  }
});

describe.each(databases)("pushing the change feed on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  async function start(sinks: Record<string, unknown>, options: { feedPollMs?: number } = {}) {
    const env = await makeEnv(db.url(), { thresholdsOff: true });
    envs.push(env);
    const config = await withAdmins(env, { changeFeed: { sinks } });
    const server = await serve(config, options);
    servers.push(server);
    return { env, server, hr: new Api(server.url, null).as(AS_HR) };
  }
  /** A server pushing to a NATS stream and a RabbitMQ exchange, and its first batches applied. */
  async function startBrokersAndRun(stream: string, prefix: string, exchange: string) {
    process.env["SYNCUP_TEST_RABBIT_PASSWORD"] = "guest";
    const { env, server, hr } = await start({
      nats: { type: "nats", servers: ["nats://127.0.0.1:4222"], stream, subjectPrefix: prefix },
      rabbit: {
        type: "rabbitmq",
        url: "amqp://guest@127.0.0.1:5672",
        passwordEnv: "SYNCUP_TEST_RABBIT_PASSWORD",
        exchange,
        routingPrefix: prefix,
      },
    });
    await runBatches(env, hr);
    return { server, last: (await server.store.feed.bounds()).last };
  }
  const webhook = (url: string, extra: Record<string, unknown> = {}) => ({
    type: "webhook",
    url,
    secretEnv: "SYNCUP_TEST_WEBHOOK_SECRET",
    batchSize: 25,
    retrySeconds: 0.05,
    ...extra,
  });

  it("webhooks: retried after 500s, signed, every event once in order; a receiver down then back catches up", async () => {
    const flaky = await Receiver.start([500, 500]);
    const down = await Receiver.start();
    // Down: it cuts every connection (its port stays its own, so that it can come back on it).
    down.down = true;
    const { env, server, hr } = await start({ flaky: webhook(flaky.url), down: webhook(down.url) });
    try {
      await runBatches(env, hr);
      const last = (await server.store.feed.bounds()).last;
      await until("the flaky receiver", () => (flaky.events().at(-1)?.seq === last ? true : undefined));
      const seqs = flaky.events().map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(flaky.received.every((r) => r.ids.length <= 25)).toBe(true);
      expect(flaky.received.flatMap((r) => r.ids)).toEqual(seqs.map(String));
      // Signed: the README's snippet accepts each request and refuses a wrong secret, a changed body, an old one.
      for (const r of flaky.received) expect(verify(SECRET, r.signature, r.body)).toBe(true);
      const first = flaky.received[0]!;
      expect(verify("another-secret", first.signature, first.body)).toBe(false);
      expect(verify(SECRET, first.signature, first.body.replace("Person", "Persona"))).toBe(false);
      expect(verify(SECRET, first.signature, first.body, 300, Date.now() + 301_000)).toBe(false);
      expect(verify(SECRET, undefined, first.body)).toBe(false);
      // The cursor moves once the receiver answered: a moment after it has the events.
      const states = await until("the flaky sink's cursor", async () => {
        const list = await server.store.feedSinks.list();
        return list.find((s) => s.name === "flaky")?.position === last ? list : undefined;
      });
      expect(states.find((s) => s.name === "flaky")).toMatchObject({ position: last, attempts: 0, dead: 0 });
      expect(states.find((s) => s.name === "down")).toMatchObject({ position: 0 });
      expect(states.find((s) => s.name === "down")?.attempts).toBeGreaterThan(0);

      down.down = false;
      await until("the receiver back", () => (down.events().at(-1)?.seq === last ? true : undefined), 30_000);
      const caughtUp = down.events().map((e) => e.seq);
      expect(caughtUp).toEqual(caughtUp.map((_, i) => i + 1));
    } finally {
      await flaky.stop();
      await down.stop();
    }
  });

  it("sets events aside as dead letters after the last attempt, in /metrics; an approver replays them", async () => {
    const refusing = await Receiver.start(Array.from({ length: 1000 }, () => 503));
    const { env, server, hr } = await start({
      refusing: webhook(refusing.url, {
        maxAttempts: 2,
        batchSize: 1000,
        filter: { operations: ["update"] },
      }),
    });
    try {
      await runBatches(env, hr);
      const last = (await server.store.feed.bounds()).last;
      const state = await until("the dead letters", async () => {
        const s = (await server.store.feedSinks.list())[0];
        return s?.position === last ? s : undefined;
      });
      expect(state.dead).toBe(4);
      const dead = await server.store.feedSinks.deadLetters("refusing", 10);
      expect(dead.map((d) => d.error)).toEqual(
        Array.from({ length: 4 }, () => `${refusing.url} answered HTTP 503`),
      );
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain('syncup_feed_sink_dead_letters{sink="refusing"} 4');
      expect(metrics).toContain(`syncup_feed_last_seq ${last}`);

      // Replayed: a viewer may not; to a receiver still refusing, nothing is lost; then taken.
      const approver = new Api(server.url, null).as(AS_APPROVER);
      const viewer = new Api(server.url, null).as(AS_VIEWER);
      const path = "/api/v1/changes/sinks/refusing/replay";
      expectRefusal(await viewer.request("POST", path), 403, "FORBIDDEN");
      expectRefusal(
        await approver.request("POST", "/api/v1/changes/sinks/nope/replay"),
        404,
        "SINK_NOT_FOUND",
      );
      expectRefusal(await approver.request("POST", path), 502, "SINK_DELIVERY_FAILED");
      expect((await server.store.feedSinks.get("refusing"))?.dead).toBe(4);
      refusing.acceptAll();
      const replayed = await approver.request<{ replayed: number; gone: number[] }>("POST", path);
      expect(replayed.body).toEqual({ sink: "refusing", replayed: 4, gone: [] });
      const updates = refusing.events();
      expect(updates.map((e) => e.seq)).toEqual(dead.map((d) => d.seq).sort((a, b) => a - b));
      expect(updates.every((e) => e.kind === "resource" && e.operation === "update")).toBe(true);
      expect((await server.store.feedSinks.get("refusing"))?.dead).toBe(0);
      expect(await server.store.feedSinks.deadLetters("refusing", 10)).toEqual([]);
    } finally {
      await refusing.stop();
    }
  });

  it("NATS JetStream and RabbitMQ: one message per event, in order, id = event id, subject by connector, type and operation", async () => {
    const tag = randomUUID().slice(0, 8);
    const stream = `SYNCUP_TEST_${tag}`;
    const prefix = `t${tag}`;
    const exchange = `syncup-test-${tag}`;
    const rabbit = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
    const channel = await rabbit.createChannel();
    await channel.assertExchange(exchange, "topic", { durable: true });
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, exchange, `${prefix}.HR.#`);
    const nc = await connect({ servers: "nats://127.0.0.1:4222" });
    const jsm = await nc.jetstreamManager();
    try {
      const { server, last } = await startBrokersAndRun(stream, prefix, exchange);
      await until("both brokers", async () => {
        const states = await server.store.feedSinks.list();
        return states.length === 2 && states.every((s) => s.position === last) ? true : undefined;
      });

      // NATS: the stream holds every event once, in order, under its subject, with its id.
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(last);
      await jsm.consumers.add(stream, {
        durable_name: "check",
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
      });
      const consumer = await nc.jetstream().consumers.get(stream, "check");
      const messages = await consumer.fetch({ max_messages: last, expires: 5000 });
      const fromNats: { subject: string; id: string | undefined; event: ChangeEvent }[] = [];
      for await (const m of messages) {
        const cloud = m.json<{ id: string; data: ChangeEvent }>();
        fromNats.push({ subject: m.subject, id: m.headers?.get("Nats-Msg-Id"), event: cloud.data });
        if (fromNats.length === last) break;
      }
      expect(fromNats.map((m) => m.event.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(fromNats.every((m) => m.id === String(m.event.seq))).toBe(true);
      expect(fromNats[0]?.subject).toBe(`${prefix}.HR.Person.insert`);
      expect(fromNats.some((m) => m.subject === `${prefix}.HR.Person.update`)).toBe(true);
      // A second publish with the same id is dropped by JetStream.
      const again = await nc.jetstream().publish(fromNats[0]!.subject, "{}", { msgID: "1" });
      expect(again.duplicate).toBe(true);

      // RabbitMQ: the bound queue received every event once, in order, with its id.
      const fromRabbit: { key: string; id: unknown; seq: number }[] = [];
      for (;;) {
        const m = await channel.get(queue, { noAck: true });
        if (m === false) {
          if (fromRabbit.length >= last) break;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const cloud = JSON.parse(m.content.toString()) as { data: ChangeEvent };
        fromRabbit.push({ key: m.fields.routingKey, id: m.properties.messageId, seq: cloud.data.seq });
      }
      expect(fromRabbit.map((m) => m.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(fromRabbit.every((m) => m.id === String(m.seq))).toBe(true);
      expect(fromRabbit[0]?.key).toBe(`${prefix}.HR.Person.insert`);
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
      await channel.deleteExchange(exchange).catch(() => undefined);
      await rabbit.close();
    }
  });

  it("a sink looks at the feed as soon as an apply commits, however long its poll", async () => {
    const receiver = await Receiver.start();
    try {
      const { env, server, hr } = await start({ hook: webhook(receiver.url) }, { feedPollMs: 60_000 });
      writeHr(env, 30);
      const initial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
      expect((await hr.waitFor(initial.id)).state).toBe("applied");
      const last = (await server.store.feed.bounds()).last;
      const committed = Date.now();
      await until("the delivery", () => (receiver.events().at(-1)?.seq === last ? true : undefined));
      expect(Date.now() - committed).toBeLessThan(5000);
    } finally {
      await receiver.stop();
    }
  });

  it("NATS JetStream: a publish the stream refuses is retried, then set aside; the events after it go on", async () => {
    const tag = randomUUID().slice(0, 8);
    const stream = `SYNCUP_TEST_${tag}`;
    const prefix = `t${tag}`;
    const nc = await connect({ servers: "nats://127.0.0.1:4222" });
    const jsm = await nc.jetstreamManager();
    try {
      // A stream that takes 5 messages and refuses the rest.
      await jsm.streams.add({
        name: stream,
        subjects: [`${prefix}.>`],
        max_msgs: 5,
        discard: DiscardPolicy.New,
      });
      const { env, server, hr } = await start({
        nats: {
          type: "nats",
          servers: ["nats://127.0.0.1:4222"],
          stream,
          subjectPrefix: prefix,
          batchSize: 4,
          maxAttempts: 2,
          retrySeconds: 0.05,
        },
      });
      writeHr(env, 10);
      const initial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
      expect((await hr.waitFor(initial.id)).state).toBe("applied");
      const last = (await server.store.feed.bounds()).last;
      const sink = await until("the sink past every event", async () => {
        const state = (await server.store.feedSinks.list()).find((s) => s.name === "nats");
        return state !== undefined && state.position === last ? state : undefined;
      });
      // The first delivery (4 events) was taken; the second was refused from its second event
      // on (the sixth message), twice, then set aside whole, and so was each delivery after it.
      expect((await jsm.streams.info(stream)).state.messages).toBe(5);
      expect(sink.dead).toBe(last - 4);
      expect(sink.lastError ?? "").toMatch(/JetStream refused event \d+: maximum messages exceeded/);
      const dead = await server.store.feedSinks.deadLetters("nats", 1000);
      expect(dead.map((d) => d.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: last - 4 }, (_, i) => i + 5),
      );
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });

  it("the README's NATS and RabbitMQ consumers print every HR event once, in order", async () => {
    const tag = randomUUID().slice(0, 8);
    const stream = `SYNCUP_TEST_${tag}`;
    const prefix = `t${tag}`;
    const exchange = `syncup-test-${tag}`;
    const queue = `syncup-test-${tag}`;
    // The RabbitMQ consumer declares and binds its queue first: the broker keeps nothing for a queue not yet bound.
    const rabbitConsumer = example("rabbitmq.mjs", {
      SYNCUP_EXCHANGE: exchange,
      SYNCUP_QUEUE: queue,
      SYNCUP_BINDING: `${prefix}.HR.#`,
    });
    let natsConsumer: ReturnType<typeof example> | null = null;
    const nc = await connect({ servers: "nats://127.0.0.1:4222" });
    try {
      await until("the RabbitMQ consumer", () =>
        rabbitConsumer.out().includes("consuming") ? true : undefined,
      );
      const { last } = await startBrokersAndRun(stream, prefix, exchange);
      natsConsumer = example("nats.mjs", {
        SYNCUP_STREAM: stream,
        SYNCUP_CONSUMER: "provisioning",
        SYNCUP_SUBJECTS: `${prefix}.HR.>`,
      });
      const expected = Array.from({ length: last }, (_, i) => i + 1);
      for (const [name, consumer] of [
        ["NATS", natsConsumer],
        ["RabbitMQ", rabbitConsumer],
      ] as const) {
        const seqs = await until(`the ${name} consumer's lines`, () => {
          const printed = consumer
            .out()
            .split("\n")
            .filter((l) => /^\d+ /.test(l));
          return printed.length >= last ? printed : undefined;
        });
        expect(seqs.map((l) => Number(l.split(" ")[0]))).toEqual(expected);
        expect(seqs[0]).toBe(`1 ${prefix}.HR.Person.insert resource insert`);
      }
    } finally {
      rabbitConsumer.kill();
      natsConsumer?.kill();
      await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
      await nc.close();
      const rabbit = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
      const channel = await rabbit.createChannel();
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await rabbit.close().catch(() => undefined);
    }
  });
});

/** Runs a consumer of `examples/consumers/` with `env`; its output so far, and a way to stop it. */
function example(file: string, env: Record<string, string>): { out: () => string; kill: () => void } {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL(`../../examples/consumers/${file}`, import.meta.url))],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return { out: () => out, kill: () => child.kill("SIGKILL") };
}
