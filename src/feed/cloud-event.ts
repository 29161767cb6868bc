/**
 * A change event as a CloudEvent 1.0 in structured JSON (the `cloudevents` package checks the
 * attributes): `id` the event's id, `source` `/syncup/<connector>`, `type`
 * `io.syncup.<kind>.<operation>` (e.g. io.syncup.resource.update), `subject` the subject of
 * NATS and the routing key of RabbitMQ (`syncup.<connector>.<entity type or association>.<operation>`),
 * `time` when the apply wrote it, `data` the event itself.
 */
import { CloudEvent } from "cloudevents";
import { subjectOf, type ChangeEvent } from "../protocol/change-feed.js";

export function toCloudEvent(event: ChangeEvent, prefix = "syncup"): Record<string, unknown> {
  return new CloudEvent<ChangeEvent>({
    specversion: "1.0",
    id: event.id,
    source: `/syncup/${encodeURIComponent(event.connector)}`,
    type: `io.syncup.${event.kind}.${event.operation}`,
    subject: subjectOf(event, prefix),
    time: event.at,
    datacontenttype: "application/json",
    data: event,
  }).toJSON();
}
