/**
 * The sinks a server pushes the change feed to, one interface: `deliver` resolves once the
 * receiver confirmed every event given (a 2xx answer, JetStream's acks, RabbitMQ's publisher
 * confirms), in their order, and throws otherwise; the pusher then tries again from the same
 * cursor. Connections are made at the first delivery and again after a failure.
 *
 * - webhook: one POST per delivery, a JSON array of structured CloudEvents
 *   (`application/cloudevents-batch+json`), signed (`signature.ts`);
 * - NATS JetStream: one message per event on `<prefix>.<connector>.<scope>.<operation>`, the
 *   stream created when absent, `Nats-Msg-Id` the event id so that JetStream drops a duplicate
 *   within its duplicate window. A delivery publishes its events with a reply subject of its
 *   own and counts JetStream's acknowledgements there (the protocol `js.publish` speaks, one
 *   request at a time), so that a thousand events cost one round trip, not a thousand timers;
 * - RabbitMQ: one persistent message per event on a durable topic exchange, routing key as the
 *   subject, `message_id` the event id, on a confirm channel.
 *
 * The NATS and RabbitMQ clients, and the CloudEvents package, are imported at a sink's first
 * delivery: a command that pushes no feed does not load them.
 */
import type { ChannelModel, ConfirmChannel } from "amqplib";
import type { NatsConnection } from "nats";
import type { FeedSinkDef, SecretSourceDef } from "../config/config.js";
import { subjectFor } from "../protocol/change-feed.js";
import { readSecret } from "../support/secret.js";
import type { EncodedEvent } from "../sync/change-feed.js";
import { SIGNATURE_HEADER, signBody } from "./signature.js";

export interface Sink {
  deliver(events: readonly EncodedEvent[]): Promise<void>;
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

const cloudEvents = async () => (await import("./cloud-event.js")).cloudEventsJson;

export function sinkFor(def: FeedSinkDef, env: Env): Sink {
  switch (def.type) {
    case "webhook":
      return webhookSink(def, env);
    case "nats":
      return natsSink(def, env);
    case "rabbitmq":
      return rabbitSink(def, env);
  }
}

async function secretOf(source: SecretSourceDef | null, env: Env, what: string): Promise<string | undefined> {
  return source === null ? undefined : readSecret(source, env, what);
}

function webhookSink(def: Extract<FeedSinkDef, { type: "webhook" }>, env: Env): Sink {
  let secret: string | undefined;
  return {
    async deliver(events) {
      secret ??= await secretOf(def.secret, env, `Webhook sink "${def.name}": the signing secret`);
      const body = `[${(await cloudEvents())(events).join(",")}]`;
      const response = await fetch(def.url, {
        method: "POST",
        headers: {
          "content-type": "application/cloudevents-batch+json",
          [SIGNATURE_HEADER]: signBody(secret ?? "", body),
        },
        body,
        signal: AbortSignal.timeout(def.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`${def.url} answered HTTP ${response.status}`);
    },
    close: () => Promise.resolve(),
  };
}

/** How long a NATS delivery waits for JetStream's acknowledgements of all its events. */
const NATS_ACK_TIMEOUT_MS = 30_000;

function natsSink(def: Extract<FeedSinkDef, { type: "nats" }>, env: Env): Sink {
  let connection: NatsConnection | null = null;
  const open = async (): Promise<NatsConnection> => {
    if (connection !== null && !connection.isClosed()) return connection;
    const pass = await secretOf(def.password, env, `NATS sink "${def.name}": the password`);
    const token = await secretOf(def.token, env, `NATS sink "${def.name}": the token`);
    const { connect } = await import("nats");
    const nc = await connect({
      servers: [...def.servers],
      ...(def.user === null ? {} : { user: def.user }),
      ...(pass === undefined ? {} : { pass }),
      ...(token === undefined ? {} : { token }),
      reconnect: false,
      timeout: 5000,
    });
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(def.stream);
    } catch {
      await jsm.streams.add({ name: def.stream, subjects: [`${def.subjectPrefix}.>`] });
    }
    connection = nc;
    return nc;
  };
  return {
    async deliver(events) {
      const nc = await open();
      try {
        await publishAcknowledged(nc, events, def.subjectPrefix, NATS_ACK_TIMEOUT_MS);
      } catch (error) {
        connection = null;
        await nc.close().catch(() => undefined);
        throw error;
      }
    },
    async close() {
      await connection?.close().catch(() => undefined);
      connection = null;
    },
  };
}

/**
 * Publishes `events` in order on one connection, each with the reply subject `<inbox>.<i>`, and
 * resolves once JetStream acknowledged every one (a PubAck with the stream's sequence; a
 * duplicate is acknowledged as such). Throws on an error answer, on no stream for a subject
 * (no responders), or when the acknowledgements are not all in within `timeoutMs`.
 */
async function publishAcknowledged(
  nc: NatsConnection,
  events: readonly EncodedEvent[],
  prefix: string,
  timeoutMs: number,
): Promise<void> {
  const { createInbox, headers } = await import("nats");
  const inbox = createInbox();
  const subscription = nc.subscribe(`${inbox}.*`, { max: events.length });
  const acknowledged = (async () => {
    let count = 0;
    for await (const m of subscription) {
      const index = Number(m.subject.slice(inbox.length + 1));
      const event = events[index];
      if (m.headers?.hasError === true || m.data.length === 0) {
        throw new Error(
          `JetStream answered ${m.headers?.code ?? "nothing"} ${m.headers?.description ?? ""} for event ${event?.seq}`.trim(),
        );
      }
      const ack = JSON.parse(new TextDecoder().decode(m.data)) as {
        seq?: number;
        error?: { description?: string };
      };
      if (ack.error !== undefined || ack.seq === undefined) {
        throw new Error(
          `JetStream refused event ${event?.seq}: ${ack.error?.description ?? "no sequence in its acknowledgement"}`,
        );
      }
      if (++count === events.length) return;
    }
    throw new Error(`JetStream acknowledged ${count} of ${events.length} events`);
  })();
  // Awaited in the race below; a publish that throws first leaves it to end alone, handled.
  acknowledged.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`JetStream did not acknowledge ${events.length} events within ${timeoutMs / 1000} s`),
        ),
      timeoutMs,
    );
  });
  try {
    const bodies = (await cloudEvents())(events, prefix);
    events.forEach((e, i) => {
      const h = headers();
      h.set("Nats-Msg-Id", String(e.seq));
      nc.publish(subjectFor(e, prefix), Buffer.from(bodies[i] as string), {
        reply: `${inbox}.${i}`,
        headers: h,
      });
    });
    await Promise.race([acknowledged, timeout]);
  } finally {
    clearTimeout(timer);
    subscription.unsubscribe();
  }
}

function rabbitSink(def: Extract<FeedSinkDef, { type: "rabbitmq" }>, env: Env): Sink {
  let channel: ConfirmChannel | null = null;
  let model: ChannelModel | null = null;
  const open = async (): Promise<ConfirmChannel> => {
    if (channel !== null) return channel;
    const url = new URL(def.url);
    const password = await secretOf(def.password, env, `RabbitMQ sink "${def.name}": the password`);
    if (password !== undefined) url.password = encodeURIComponent(password);
    const { default: amqp } = await import("amqplib");
    model = await amqp.connect(url.toString());
    const lost = () => {
      channel = null;
      model = null;
    };
    model.on("error", lost);
    model.on("close", lost);
    const ch = await model.createConfirmChannel();
    ch.on("error", lost);
    ch.on("close", lost);
    await ch.assertExchange(def.exchange, "topic", { durable: true });
    channel = ch;
    return ch;
  };
  return {
    async deliver(events) {
      const ch = await open();
      try {
        const bodies = (await cloudEvents())(events, def.routingPrefix);
        for (const [i, e] of events.entries()) {
          ch.publish(def.exchange, subjectFor(e, def.routingPrefix), Buffer.from(bodies[i] as string), {
            messageId: String(e.seq),
            persistent: true,
            contentType: "application/cloudevents+json",
            timestamp: Math.floor(Date.parse(e.at) / 1000),
          });
        }
        await ch.waitForConfirms();
      } catch (error) {
        await model?.close().catch(() => undefined);
        channel = null;
        model = null;
        throw error;
      }
    },
    async close() {
      await model?.close().catch(() => undefined);
      channel = null;
      model = null;
    },
  };
}
