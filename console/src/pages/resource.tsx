/** One resource: its values, links both ways and mono-valued references (each clickable), its history. */
import { ApiError, get } from "../api.js";
import { Empty, ErrorBanner, Loading } from "../components/feedback.js";
import { date } from "../format.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import type { ResourceDetail } from "../types.js";

interface HistoryEntry {
  batchId: string;
  mode?: string;
  at?: string | null;
  finishedAt?: string | null;
  operation: string;
  kind?: string;
  association?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  changed?: string[];
  decidedBy?: string | null;
}

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
            <thead>
              <tr>
                <th scope="col">Association</th>
                <th scope="col">Property</th>
                <th scope="col">Direction</th>
                <th scope="col">Other end</th>
              </tr>
            </thead>
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
        ) : history.data === null ? (
          <p>This server does not keep the history of resources yet.</p>
        ) : history.data.length === 0 ? (
          <Empty>No change recorded for this resource.</Empty>
        ) : (
          <table class="list compact">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Batch</th>
                <th scope="col">Change</th>
                <th scope="col">Before → after</th>
                <th scope="col">Decided by</th>
              </tr>
            </thead>
            <tbody>
              {history.data.map((h, i) => (
                <tr key={i}>
                  <td>{date(h.at ?? h.finishedAt ?? null)}</td>
                  <td>
                    <a href={href("batches", h.batchId)}>{h.batchId.slice(0, 8)}</a> {h.mode ?? ""}
                  </td>
                  <td>
                    {h.operation} {h.kind ?? ""} {h.association ?? ""}
                  </td>
                  <td>
                    {(h.changed ?? Object.keys(h.after ?? h.before ?? {})).map((name) => (
                      <div key={name}>
                        {name}: <del>{show(h.before?.[name])}</del> → <ins>{show(h.after?.[name])}</ins>
                      </div>
                    ))}
                  </td>
                  <td>{h.decidedBy ?? "–"}</td>
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

/** The resource's history, or null where the server has no history route. */
async function historyOf(id: string): Promise<HistoryEntry[] | null> {
  try {
    const answer = await get<HistoryEntry[] | { rows: HistoryEntry[] }>(
      `/resources/${encodeURIComponent(id)}/history`,
    );
    return Array.isArray(answer) ? answer : answer.rows;
  } catch (e) {
    if (e instanceof ApiError && e.code === "NOT_FOUND") return null;
    throw e;
  }
}
