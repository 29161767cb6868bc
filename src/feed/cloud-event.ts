/**
 * A change event as a CloudEvent 1.0 in structured JSON (the `cloudevents` package checks the
 * attributes): `id` the event's id, `source` `/syncup/<connector>`, `type`
 * `io.syncup.<kind>.<operation>` (e.g. io.syncup.resource.update), `subject` the subject of
 * NATS and the routing key of RabbitMQ (`syncup.<connector>.<entity type or association>.<operation>`),
 * `time` when the apply wrote it, `data` the event itself. The event's JSON text is spliced in
 * as `data` as it is, not parsed and written again.
 *
 * `check` has the package validate the attributes; a delivery checks its first event's, the
 * others' being made the same way from values of the same kinds (the check costs more than
 * the rest of the event).
 */
import { CloudEvent } from "cloudevents";
import { subjectFor } from "../protocol/change-feed.js";
import type { EncodedEvent } from "../sync/change-feed.js";

export function cloudEventJson(event: EncodedEvent, prefix = "syncup", check = true): string {
  const attributes = new CloudEvent(
    {
      specversion: "1.0",
      id: String(event.seq),
      source: `/syncup/${encodeURIComponent(event.connector)}`,
      type: `io.syncup.${event.kind}.${event.operation}`,
      subject: subjectFor(event, prefix),
      time: event.at,
      datacontenttype: "application/json",
    },
    check,
  ).toJSON();
  return `${JSON.stringify(attributes).slice(0, -1)},"data":${event.json}}`;
}

/** The events of one delivery as CloudEvents' JSON texts, the first one checked. */
export function cloudEventsJson(events: readonly EncodedEvent[], prefix = "syncup"): string[] {
  return events.map((e, i) => cloudEventJson(e, prefix, i === 0));
}
