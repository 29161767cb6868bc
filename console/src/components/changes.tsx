/**
 * A batch's changes (`GET /api/v1/batches/:id/changes`): filters, keyset pages, before → after
 * with the changed properties marked, links with both ends; rows can be selected for a decision.
 */
import { get } from "../api.js";
import { date, num } from "../format.js";
import { href } from "../router.js";
import type { ChangePage, ChangeRow } from "../types.js";
import { Empty, ErrorBanner, Loading } from "./feedback.js";
import { Choice } from "./form.js";
import { Pager, type Cursors } from "./pager.js";
import { usePoll } from "../poll.js";

export interface ChangeFilter {
  kind: string;
  operation: string;
  entityType: string;
  association: string;
  keyPrefix: string;
  decision: string;
}

export const NO_FILTER: ChangeFilter = {
  kind: "",
  operation: "",
  entityType: "",
  association: "",
  keyPrefix: "",
  decision: "",
};

export const PAGE = 50;

/** The changes page of a batch under a filter and a cursor; `total` is the first page's. */
export function useChanges(batchId: string, filter: ChangeFilter, cursors: Cursors, version: number) {
  return usePoll(
    () =>
      get<ChangePage>(`/batches/${encodeURIComponent(batchId)}/changes`, {
        ...filter,
        after: cursors.after,
        limit: PAGE,
      }),
    `${batchId}|${JSON.stringify(filter)}|${cursors.after ?? ""}|${version}`,
    false,
  );
}

export function ChangeFilters(props: {
  readonly filter: ChangeFilter;
  readonly scopes: { readonly entityTypes: readonly string[]; readonly associations: readonly string[] };
  readonly onChange: (filter: ChangeFilter) => void;
}) {
  const { filter } = props;
  const choose = (name: keyof ChangeFilter) => (value: string) =>
    props.onChange({ ...filter, [name]: value });
  return (
    <form class="filters" aria-label="Filter the changes" onSubmit={(e) => e.preventDefault()}>
      <Choice
        label="Kind"
        value={filter.kind}
        options={[
          ["resource", "resources"],
          ["link", "links"],
        ]}
        onChange={choose("kind")}
      />
      <Choice
        label="Operation"
        value={filter.operation}
        options={[
          ["insert", "inserts"],
          ["update", "updates"],
          ["delete", "deletes"],
        ]}
        onChange={choose("operation")}
      />
      <Choice
        label="Entity type"
        value={filter.entityType}
        options={props.scopes.entityTypes}
        onChange={choose("entityType")}
      />
      <Choice
        label="Association"
        value={filter.association}
        options={props.scopes.associations}
        onChange={choose("association")}
      />
      <label>
        Key starts with
        <input
          type="search"
          value={filter.keyPrefix}
          onChange={(e) => choose("keyPrefix")(e.currentTarget.value)}
        />
      </label>
      <Choice
        label="Decision"
        value={filter.decision}
        options={["undecided", "approved", "rejected"]}
        onChange={choose("decision")}
      />
    </form>
  );
}

export function ChangesTable(props: {
  readonly connector: string;
  readonly page: ReturnType<typeof useChanges>;
  readonly cursors: Cursors;
  readonly selectable: boolean;
  readonly selected: ReadonlyMap<string, ChangeRow>;
  readonly onSelect: (rows: readonly ChangeRow[], on: boolean) => void;
  readonly filtered: boolean;
}) {
  const { data, error } = props.page;
  if (data === undefined)
    return error === undefined ? <Loading what="the changes" /> : <ErrorBanner error={error} />;
  const rows = data.rows;
  const allOn = rows.length > 0 && rows.every((r) => props.selected.has(r.id));
  return (
    <>
      <ErrorBanner error={error} />
      {rows.length === 0 ? (
        <Empty>
          {props.filtered
            ? "No change matches these filters: clear some of them."
            : "This batch has no changes."}
        </Empty>
      ) : (
        <table class="list changes">
          <caption class="sr-only">Changes of the batch</caption>
          <thead>
            <tr>
              {props.selectable && (
                <th scope="col">
                  <input
                    type="checkbox"
                    aria-label="Select every change of this page"
                    checked={allOn}
                    onChange={(e) => props.onSelect(rows, e.currentTarget.checked)}
                  />
                </th>
              )}
              <th scope="col">Change</th>
              <th scope="col">Key</th>
              <th scope="col">Before → after</th>
              <th scope="col">Decision</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.id} class={row.decision ?? ""}>
                {props.selectable && (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select change ${row.id}: ${row.operation} ${row.key}`}
                      checked={props.selected.has(row.id)}
                      onChange={(e) => props.onSelect([row], e.currentTarget.checked)}
                    />
                  </td>
                )}
                <td>
                  <span class={`op ${row.operation}`}>{row.operation}</span> {row.kind}{" "}
                  <span class="scope">{row.entityType ?? row.association}</span>
                </td>
                <td>
                  <KeyCell connector={props.connector} row={row} />
                </td>
                <td>
                  <Values row={row} />
                </td>
                <td>{row.decision ?? "undecided"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="count" aria-live="polite">
        {data.total !== null && `${data.totalExact ? "" : "At least "}${num(data.total)} matching changes. `}
        {props.selected.size > 0 && `${num(props.selected.size)} selected.`}
      </p>
      <Pager cursors={props.cursors} next={data.next} label="changes" />
    </>
  );
}

function KeyCell({ connector, row }: { connector: string; row: ChangeRow }) {
  const find = (entityType: string, key: string | null) =>
    key === null ? (
      <span class="muted">(not found)</span>
    ) : (
      <a href={href("resources", { connector, entityType, keyPrefix: key })}>{key}</a>
    );
  if (row.link !== null) {
    return (
      <span>
        {row.link.end1Type} {find(row.link.end1Type, row.link.end1Key ?? row.key)}{" "}
        <span aria-label="linked to">→</span> {row.link.end2Type}{" "}
        {find(row.link.end2Type, row.link.end2Key ?? row.key2)}
        {row.link.cascaded && <span class="muted"> (with a deleted resource)</span>}
      </span>
    );
  }
  return find(row.entityType ?? "", row.key);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "∅";
  if (typeof value === "string") return /^\d{4}-\d\d-\d\dT/.test(value) ? `${value} (${date(value)})` : value;
  return JSON.stringify(value);
}

function Values({ row }: { row: ChangeRow }) {
  if (row.kind === "link") return <span class="muted">link</span>;
  const names = [...new Set([...Object.keys(row.before ?? {}), ...Object.keys(row.after ?? {})])];
  const changed = new Set(row.changed);
  const shown = row.operation === "update" ? names.filter((n) => changed.has(n)) : names;
  return (
    <dl class="values">
      {shown.map((name) => (
        <div key={name} class={changed.has(name) ? "changed" : ""}>
          <dt>{name}</dt>
          <dd>
            {row.operation === "update" ? (
              <>
                <del>{show(row.before?.[name])}</del> <span aria-label="becomes">→</span>{" "}
                <ins>{show(row.after?.[name])}</ins>
              </>
            ) : (
              show((row.after ?? row.before)?.[name])
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** `2 resource deletes of Person, 1 link delete of Person_Manager`. */
export function describeRows(rows: Iterable<ChangeRow>): string {
  const groups = new Map<string, number>();
  for (const r of rows) {
    const what = `${r.kind} ${r.operation}|${r.entityType ?? r.association ?? ""}`;
    groups.set(what, (groups.get(what) ?? 0) + 1);
  }
  return [...groups]
    .map(([what, n]) => {
      const [kindOp = "", scope = ""] = what.split("|");
      return `${num(n)} ${kindOp}${n === 1 ? "" : "s"} of ${scope}`;
    })
    .join(", ");
}
