/** The orphans of a connector's last batches: pairs whose end no resource has, with the key not found. */
import { get } from "../api.js";
import { Empty, ErrorBanner, Loading } from "../components/feedback.js";
import { Pager, useCursors } from "../components/pager.js";
import { usePoll } from "../poll.js";
import { href, navigate } from "../router.js";
import type { ConnectorOverview, OrphanView, Page } from "../types.js";
import { Head } from "../components/form.js";

const PAGE = 100;

export function OrphansPage({ query }: { query: URLSearchParams }) {
  const connectors = usePoll(() => get<ConnectorOverview[]>("/connectors"), "connectors", false);
  const connector = query.get("connector") || connectors.data?.[0]?.name || "";
  const cursors = useCursors();
  const orphans = usePoll(
    () =>
      connector === ""
        ? Promise.resolve(undefined)
        : get<Page<OrphanView>>("/orphans", { connector, after: cursors.after, limit: PAGE }),
    `${connector}|${cursors.after ?? ""}`,
  );
  return (
    <>
      <h1>Orphans</h1>
      <form class="filters" aria-label="Choose the connector" onSubmit={(e) => e.preventDefault()}>
        <label>
          Connector
          <select
            value={connector}
            onChange={(e) => {
              cursors.reset();
              navigate(href("orphans", { connector: e.currentTarget.value }));
            }}
          >
            {(connectors.data ?? []).map((c) => (
              <option key={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
      </form>
      <p>
        Pairs of the last exports' association files that are not links, because no resource has one of their
        keys. They are tried again at every run.
      </p>
      <ErrorBanner error={orphans.error ?? connectors.error} />
      {orphans.data === undefined ? (
        orphans.error === undefined && <Loading what="the orphans" />
      ) : orphans.data.rows.length === 0 ? (
        <Empty>No orphans: every pair of {connector}'s last exports found both its ends.</Empty>
      ) : (
        <table class="list">
          <caption class="sr-only">Orphans of {connector}</caption>
          <Head columns={["Association", "Key 1", "Key 2", "Not found", "Since batch"]} />
          <tbody>
            {orphans.data.rows.map((o) => (
              <tr key={`${o.association}|${o.key1}|${o.key2}`}>
                <td>{o.association}</td>
                <td class={o.missingKeys.includes(o.key1) ? "bad-text" : ""}>{o.key1}</td>
                <td class={o.missingKeys.includes(o.key2) ? "bad-text" : ""}>{o.key2}</td>
                <td>
                  {o.missing === "conflict"
                    ? "a second link of a mono-valued property"
                    : o.missingKeys.join(" and ")}
                </td>
                <td>
                  <a href={href("batches", o.batchId)}>{o.batchId.slice(0, 8)}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager cursors={cursors} next={orphans.data?.next ?? null} label="orphans" />
    </>
  );
}
