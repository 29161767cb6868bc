// A RabbitMQ consumer of syncup's change feed: a durable queue bound to the exchange for the
// events of connector HR, each acknowledged once handled. Exchange, binding and queue come from
// the environment (defaults: syncup, syncup.HR.#, provisioning).
import amqp from "amqplib";

const exchange = process.env.SYNCUP_EXCHANGE ?? "syncup";
const connection = await amqp.connect(process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672");
const channel = await connection.createChannel();
await channel.assertExchange(exchange, "topic", { durable: true });
const { queue } = await channel.assertQueue(process.env.SYNCUP_QUEUE ?? "provisioning", { durable: true });
await channel.bindQueue(queue, exchange, process.env.SYNCUP_BINDING ?? "syncup.HR.#");
await channel.consume(queue, (m) => {
  const event = JSON.parse(m.content.toString()).data; // de-duplicate by m.properties.messageId
  console.log(event.seq, m.fields.routingKey, event.kind, event.operation);
  channel.ack(m);
});
console.log("consuming", queue);
