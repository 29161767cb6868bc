// A NATS JetStream consumer of syncup's change feed: a durable consumer on the stream, the events
// of connector HR, each acknowledged once handled. Stream, subjects and name come from the
// environment (defaults: SYNCUP, syncup.HR.>, provisioning).
import { AckPolicy, connect } from "nats";

const stream = process.env.SYNCUP_STREAM ?? "SYNCUP";
const durable = process.env.SYNCUP_CONSUMER ?? "provisioning";
const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await nc.jetstreamManager();
await jsm.consumers.add(stream, {
  durable_name: durable,
  ack_policy: AckPolicy.Explicit,
  filter_subject: process.env.SYNCUP_SUBJECTS ?? "syncup.HR.>",
});
const messages = await (await nc.jetstream().consumers.get(stream, durable)).consume();
for await (const m of messages) {
  const event = m.json().data; // a ChangeEvent; de-duplicate by event.id, then act on it
  console.log(event.seq, m.subject, event.kind, event.operation);
  m.ack();
}
