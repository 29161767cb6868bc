/** Batches, newest first, filtered by connector, state, mode and date; paged by key (`before`). */
import { get } from "../api.js";
import { Empty, ErrorBanner, Loading, StateBadge } from "../components/feedback.js";
import { Choice, Head } from "../components/form.js";
import { Pager, useCursors } from "../components/pager.js";
import { date, duration, num, shortId } from "../format.js";
import { usePoll } from "../poll.js";
import { href, navigate } from "../router.js";
import type { BatchView, ConnectorOverview } from "../types.js";

const PAGE = 25;
const STATES = [
  "blocked",
  "applied",
  "failed",
  "staging",
  "sealed",
  "notified",
  "cancelled",
  "superseded",
  "previewed",
];
const MODES = ["initial", "complete", "incremental"];

export function BatchesPage({ query }: { query: URLSearchParams }) {
  const filter = {
    connector: query.get("connector") ?? "",
    state: query.get("state") ?? "",
    mode: query.get("mode") ?? "",
    since: query.get("since") ?? "",
    until: query.get("until") ?? "",
  };
  const cursors = useCursors();
  const key = JSON.stringify(filter);
  const connectors = usePoll(() => get<ConnectorOverview[]>("/connectors"), "connectors", false);
  const { data, error } = usePoll(
    () =>
      get<BatchView[]>("/batches", {
        connector: filter.connector,
        state: filter.state,
        mode: filter.mode,
        // A day picked in the browser's time zone, from its start to the end of the day.
        since: filter.since === "" ? undefined : new Date(`${filter.since}T00:00:00`).toISOString(),
        until: filter.until === "" ? undefined : new Date(`${filter.until}T24:00:00`).toISOString(),
        before: cursors.after,
        limit: PAGE,
      }),
    `${key}|${cursors.after ?? ""}`,
  );
  const set = (name: string, value: string) => {
    cursors.reset();
    navigate(href("batches", { ...filter, [name]: value }));
  };
  const last = data?.[data.length - 1];
  return (
    <>
      <h1>Batches</h1>
      <form class="filters" aria-label="Filter the batches" onSubmit={(e) => e.preventDefault()}>
        <Choice
          label="Connector"
          value={filter.connector}
          options={(connectors.data ?? []).map((c) => c.name)}
          onChange={(v) => set("connector", v)}
        />
        <Choice label="State" value={filter.state} options={STATES} onChange={(v) => set("state", v)} />
        <Choice label="Mode" value={filter.mode} options={MODES} onChange={(v) => set("mode", v)} />
        <label>
          From
          <input type="date" value={filter.since} onChange={(e) => set("since", e.currentTarget.value)} />
        </label>
        <label>
          To
          <input type="date" value={filter.until} onChange={(e) => set("until", e.currentTarget.value)} />
        </label>
      </form>
      <ErrorBanner error={error} />
      {data === undefined ? (
        error === undefined && <Loading what="the batches" />
      ) : data.length === 0 ? (
        <Empty>
          No batch matches
          {Object.values(filter).some((v) => v !== "")
            ? " these filters: widen them"
            : ": run a job or syncup run to make one"}
          .
        </Empty>
      ) : (
        <table class="list">
          <caption class="sr-only">Batches, newest first</caption>
          <Head
            columns={[
              "Batch",
              "Connector",
              "Mode",
              "State",
              "Created",
              "Took",
              "Inserted#",
              "Updated#",
              "Deleted#",
              "Links +/−#",
            ]}
          />
          <tbody>
            {data.map((b) => (
              <tr key={b.id}>
                <td>
                  <a href={href("batches", b.id)} title={b.id}>
                    {shortId(b.id)}
                  </a>
                </td>
                <td>{b.connector}</td>
                <td>{b.mode}</td>
                <td>
                  <StateBadge state={b.state} />
                </td>
                <td>{date(b.createdAt)}</td>
                <td>{duration(b.createdAt, b.finishedAt)}</td>
                <td class="num">{num(b.counts.resourcesInserted)}</td>
                <td class="num">{num(b.counts.resourcesUpdated)}</td>
                <td class="num">{num(b.counts.resourcesDeleted)}</td>
                <td class="num">
                  {num(b.counts.linksInserted)} / {num(b.counts.linksDeleted)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        cursors={cursors}
        next={data !== undefined && data.length === PAGE && last !== undefined ? String(last.seq) : null}
        label="batches"
      />
    </>
  );
}
