/** One resource: its values, links both ways and mono-valued references (each clickable), its history. */
import { ApiError, get } from "../api.js";
import { Empty, ErrorBanner, Loading } from "../components/feedback.js";
import { date } from "../format.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import type { HistoryEntry, ResourceDetail } from "../types.js";
import { Head } from "../components/form.js";

export function ResourcePage({ id }: { id: string }) {
  const resource = usePoll(() => get<ResourceDetail>(`/resources/${encodeURIComponent(id)}`), id);
  const history = usePoll(() => historyOf(id), `${id}|history`, false);
  const r = resource.data;
  if (r === undefined) {
    if (
      resource.error instanceof ApiError &&
      (resource.error.code === "RESOURCE_NOT_FOUND" || resource.error.status === 400)
    ) {
      return (
        <>
          <h1>Resource not found</h1>
          <ErrorBanner error={resource.error} />
          <p>
            <a href={href("resources")}>Search the resources</a> by key instead.
          </p>
        </>
      );
    }
    return resource.error === undefined ? (
      <Loading what="the resource" />
    ) : (
      <ErrorBanner error={resource.error} />
    );
  }
  const ref = (other: { id: number; entityType: string; key: string }) => (
    <a href={href("resources", String(other.id))}>
      {other.entityType} {other.key}
    </a>
  );
  return (
    <>
      <h1>
        {r.entityType} {r.key}
      </h1>
      <p>
        Connector {r.connector}; last changed by batch <a href={href("batches", r.batchId)}>{r.batchId}</a>,
        created by <a href={href("batches", r.createdBatchId)}>{r.createdBatchId}</a>.
      </p>
      <section aria-labelledby="values-title">
        <h2 id="values-title">Values</h2>
        <table class="list compact">
          <tbody>
            {Object.entries(r.values).map(([name, value]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{value === null ? "∅" : typeof value === "string" ? value : JSON.stringify(value)}</td>
              </tr>
            ))}
            {r.uniqueKeys.some((k) => k !== null) && (
              <tr>
                <th scope="row">unique keys</th>
                <td>{r.uniqueKeys.filter((k) => k !== null).join(", ")}</td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="links-title">
        <h2 id="links-title">Links</h2>
        {r.links.length === 0 && r.references.length === 0 && r.referencedBy.length === 0 ? (
          <Empty>No links: no association of the last export names this resource.</Empty>
        ) : (
          <table class="list compact">
            <Head columns={["Association", "Property", "Direction", "Other end"]} />
            <tbody>
              {r.references.map((m) => (
                <tr key={`ref-${m.property}`}>
                  <td>mono-valued reference</td>
                  <td>{m.property}</td>
                  <td>to</td>
                  <td>{ref(m.target)}</td>
                </tr>
              ))}
              {r.referencedBy.map((m) => (
                <tr key={`by-${m.source.id}-${m.property}`}>
                  <td>mono-valued reference</td>
                  <td>{m.property} of the other end</td>
                  <td>from</td>
                  <td>{ref(m.source)}</td>
                </tr>
              ))}
              {r.links.map((l) => (
                <tr key={`${l.association}-${l.direction}-${l.other.id}`}>
                  <td>{l.association}</td>
                  <td>{l.property ?? "–"}</td>
                  <td>{l.direction === "out" ? "to" : "from"}</td>
                  <td>{ref(l.other)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {r.linksTruncated && <p class="hint">The first 500 links are shown.</p>}
      </section>
      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        {history.data === undefined ? (
          history.error === undefined ? (
            <Loading what="the history" />
          ) : (
            <ErrorBanner error={history.error} />
          )
        ) : history.data.length === 0 ? (
          <Empty>No change recorded for this resource.</Empty>
        ) : (
          <table class="list compact">
            <Head columns={["When", "Batch", "Change", "Before → after", "Decided by"]} />
            <tbody>
              {history.data.map((h) => (
                <tr key={`${h.batchId}-${h.change.id}`}>
                  <td>{date(h.finishedAt)}</td>
                  <td>
                    <a href={href("batches", h.batchId)} title={h.batchId}>
                      {h.batchId.slice(0, 8)}
                    </a>{" "}
                    {h.mode}
                    {h.undoOf !== null && " (an undo)"}
                  </td>
                  <td>
                    {h.change.operation} {h.change.kind} {h.change.association ?? ""}
                    {h.change.link !== null && ` ${h.change.key} → ${h.change.key2 ?? ""}`}
                  </td>
                  <td>
                    {(h.change.operation === "update"
                      ? h.change.changed
                      : Object.keys(h.change.after ?? h.change.before ?? {})
                    ).map((name) => (
                      <div key={name}>
                        {name}: <del>{show(h.change.before?.[name])}</del> →{" "}
                        <ins>{show(h.change.after?.[name])}</ins>
                      </div>
                    ))}
                  </td>
                  <td>{h.decidedBy.length === 0 ? "applied as staged" : h.decidedBy.join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function show(v: unknown): string {
  return v === undefined || v === null ? "∅" : typeof v === "string" ? v : JSON.stringify(v);
}

/** Every applied change of the resource and of its links, oldest first. */
function historyOf(id: string): Promise<HistoryEntry[]> {
  return get<HistoryEntry[]>(`/resources/${encodeURIComponent(id)}/history`);
}
