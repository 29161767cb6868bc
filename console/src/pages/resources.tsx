/** Search a connector's resources by key prefix, unique key or a property's value. */
import { useState } from "preact/hooks";
import { get } from "../api.js";
import { Empty, ErrorBanner, Loading } from "../components/feedback.js";
import { Pager, useCursors } from "../components/pager.js";
import { usePoll } from "../poll.js";
import { href, navigate } from "../router.js";
import type { ConnectorOverview, Page, ResourceSummary } from "../types.js";
import { Head } from "../components/form.js";

const PAGE = 50;
const FIELDS = ["connector", "entityType", "keyPrefix", "uniqueKey", "property", "value"] as const;
type Search = Record<(typeof FIELDS)[number], string>;

export function ResourcesPage({ query }: { query: URLSearchParams }) {
  const search = Object.fromEntries(FIELDS.map((f) => [f, query.get(f) ?? ""])) as Search;
  const connectors = usePoll(() => get<ConnectorOverview[]>("/connectors"), "connectors", false);
  const connector = search.connector || connectors.data?.[0]?.name || "";
  const [draft, setDraft] = useState<Search>(search);
  const cursors = useCursors();
  const key = JSON.stringify(search);
  const results = usePoll(
    () =>
      connector === ""
        ? Promise.resolve(undefined)
        : get<Page<ResourceSummary>>("/resources", {
            ...search,
            connector,
            after: cursors.after,
            limit: PAGE,
          }),
    `${key}|${connector}|${cursors.after ?? ""}`,
    false,
  );
  const entityTypes =
    connectors.data?.find((c) => c.name === (draft.connector || connector))?.resources ?? [];
  const set = (name: keyof Search) => (e: Event) =>
    setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const submit = (e: Event) => {
    e.preventDefault();
    cursors.reset();
    navigate(href("resources", { ...draft, connector: draft.connector || connector }));
  };
  return (
    <>
      <h1>Resources</h1>
      <form class="filters search" aria-label="Search resources" onSubmit={submit}>
        <label>
          Connector
          <select value={draft.connector || connector} onChange={set("connector")}>
            {(connectors.data ?? []).map((c) => (
              <option key={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
        <label>
          Entity type
          <select value={draft.entityType} onChange={set("entityType")}>
            <option value="">all</option>
            {entityTypes.map((t) => (
              <option key={t.entityType}>{t.entityType}</option>
            ))}
          </select>
        </label>
        <label>
          Key starts with
          <input type="search" value={draft.keyPrefix} onInput={set("keyPrefix")} />
        </label>
        <label>
          Unique key
          <input type="search" value={draft.uniqueKey} onInput={set("uniqueKey")} />
        </label>
        <label>
          Property
          <input value={draft.property} onInput={set("property")} placeholder="e.g. lastName" />
        </label>
        <label>
          Value
          <input type="search" value={draft.value} onInput={set("value")} />
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorBanner error={results.error ?? connectors.error} />
      {connectors.data !== undefined && connectors.data.length === 0 ? (
        <Empty>The configuration has no connectors yet.</Empty>
      ) : results.data === undefined ? (
        results.error === undefined && <Loading what="the resources" />
      ) : results.data.rows.length === 0 ? (
        <Empty>No resource matches: shorten the key, or search another entity type or connector.</Empty>
      ) : (
        <table class="list">
          <caption class="sr-only">Resources found</caption>
          <Head columns={["Entity type", "Key", "Unique keys"]} />
          <tbody>
            {results.data.rows.map((r) => (
              <tr key={r.id}>
                <td>{r.entityType}</td>
                <td>
                  <a href={href("resources", String(r.id))}>{r.key}</a>
                </td>
                <td>{r.uniqueKeys.filter((k) => k !== null).join(", ") || "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager cursors={cursors} next={results.data?.next ?? null} label="resources" />
    </>
  );
}
