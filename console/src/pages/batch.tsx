/**
 * One batch: its report (counts, thresholds with limit and actual, files and hashes, agent,
 * durations), its changes, the decisions an approver can take with a confirmation that says
 * how many changes of which kind, and the decision journal. A decision refused because the
 * batch changed meanwhile (another approver, an apply) says so, changes nothing, and reloads.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, post } from "../api.js";
import {
  ChangeFilters,
  ChangesTable,
  describeRows,
  NO_FILTER,
  useChanges,
  type ChangeFilter,
} from "../components/changes.js";
import { ConfirmDialog } from "../components/confirm.js";
import { ErrorBanner, Loading, Notice, StateBadge } from "../components/feedback.js";
import { useCursors } from "../components/pager.js";
import { date, duration, num, plural } from "../format.js";
import { usePoll } from "../poll.js";
import { href, navigate } from "../router.js";
import type { BatchDetail, BatchView, ChangeRow, DecisionOutcome } from "../types.js";
import { Head } from "../components/form.js";

interface ThresholdCheck {
  level: string;
  scope: string;
  threshold: string;
  limit: number;
  actual: number;
  unit: "lines" | "percent";
  crossed: boolean;
}

interface Report {
  resources?: { inserted: number; updated: number; deleted: number; unchanged: number };
  links?: { inserted: number; deleted: number };
  orphans?: number;
  monoConflicts?: number;
  thresholds?: ThresholdCheck[];
  seconds?: number;
}

/** How many changes are approved, rejected, undecided, as the last decision answered. */
type Tally = Omit<DecisionOutcome, "matched">;

interface Pending {
  readonly title: string;
  readonly confirm: string;
  readonly danger?: boolean;
  readonly text: string;
  readonly run: () => Promise<unknown>;
}

const DECIDABLE = new Set(["blocked", "previewed"]);

export function BatchPage({ id, approver }: { id: string; approver: boolean }) {
  const [version, setVersion] = useState(0);
  const path = `/batches/${encodeURIComponent(id)}`;
  const [filter, setFilter] = useState<ChangeFilter>(NO_FILTER);
  const cursors = useCursors();
  // The first page of changes is asked before the report, whose counts take longer on a
  // large batch: it shows while the report is still on its way.
  const changes = useChanges(id, filter, cursors, version);
  const batch = usePoll(() => get<BatchDetail>(path), `${id}|${version}`);
  // The tally comes with each decision's answer: counting it apart would read a large batch whole.
  const [tally, setTally] = useState<Tally | undefined>(undefined);
  useEffect(() => setTally(undefined), [id]);
  const [selected, setSelected] = useState<Map<string, ChangeRow>>(new Map());
  const [pending, setPending] = useState<Pending | null>(null);
  const [failure, setFailure] = useState<Error | undefined>(undefined);
  const [done, setDone] = useState<string | null>(null);

  if (batch.data === undefined) {
    if (batch.error instanceof ApiError && batch.error.code === "BATCH_NOT_FOUND") {
      return (
        <>
          <h1>Batch not found</h1>
          <ErrorBanner error={batch.error} />
          <p>
            Check the address, or find the batch in the <a href={href("batches")}>list of batches</a>.
          </p>
        </>
      );
    }
    if (batch.error !== undefined) return <ErrorBanner error={batch.error} />;
    return (
      <>
        <h1>Batch {id}</h1>
        <Loading what="the batch's report" />
        <section aria-labelledby="changes-title">
          <h2 id="changes-title">Changes</h2>
          <ChangesTable
            connector=""
            page={changes}
            cursors={cursors}
            selectable={false}
            selected={selected}
            filtered={false}
            onSelect={() => undefined}
          />
        </section>
      </>
    );
  }
  const b = batch.data;
  const report = (b.report ?? {}) as Report;
  const canDecide = approver && DECIDABLE.has(b.state);
  const scopes = {
    entityTypes: [...new Set(b.changes.resources.map((c) => c.scope))],
    associations: [...new Set(b.changes.links.map((c) => c.scope))],
  };
  const filtered = Object.values(filter).some((v) => v !== "");
  const refresh = () => {
    setSelected(new Map());
    cursors.reset();
    setVersion((v) => v + 1);
  };
  const act = (p: Pending) => {
    setFailure(undefined);
    setDone(null);
    setPending(p);
  };
  const confirm = async () => {
    const p = pending;
    setPending(null);
    if (p === null) return;
    try {
      await p.run();
      setDone(`${p.confirm}: done.`);
    } catch (e) {
      setFailure(e instanceof Error ? e : new Error(String(e)));
    }
    refresh();
  };
  const decide = (decision: "approve" | "reject", body: object, text: string) =>
    act({
      title: `${decision === "approve" ? "Approve" : "Reject"} changes`,
      confirm: decision === "approve" ? "Approve" : "Reject",
      danger: decision === "reject",
      text,
      run: async () => setTally(await post<DecisionOutcome>(`${path}/decisions`, { decision, ...body })),
    });
  const filterBody = () =>
    Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== "")) as Record<string, string>;
  const matching = changes.data?.total ?? null;
  const matchingText =
    matching === null
      ? "every change"
      : `${changes.data?.totalExact === false ? "at least " : ""}${plural(matching, "change")}`;

  return (
    <>
      <h1>
        Batch {b.id} <StateBadge state={b.state} />
      </h1>
      {done !== null && <Notice>{done}</Notice>}
      <ErrorBanner error={failure} />
      <BatchFacts batch={b} report={report} />
      <Thresholds checks={report.thresholds ?? []} />
      <Files batch={b} />

      <section aria-labelledby="changes-title">
        <h2 id="changes-title">Changes</h2>
        <p>
          {b.changes.resources.map((c) => `${num(c.n)} ${c.operation}s of ${c.scope}`).join(", ") ||
            "No resource changes"}
          {b.changes.links.length > 0 &&
            `; links: ${b.changes.links.map((c) => `${num(c.n)} ${c.operation}s of ${c.scope}`).join(", ")}`}
          .
        </p>
        {tally !== undefined && (
          <p>
            Decisions so far: {num(tally.approved)} approved, {num(tally.rejected)} rejected,{" "}
            {num(tally.undecided)} undecided.
          </p>
        )}
        <ChangeFilters
          filter={filter}
          scopes={scopes}
          onChange={(f) => {
            setFilter(f);
            cursors.reset();
          }}
        />
        {canDecide && (
          <div class="decisions" role="group" aria-label="Decide">
            <button
              type="button"
              disabled={selected.size === 0}
              onClick={() =>
                decide(
                  "approve",
                  { ids: [...selected.keys()] },
                  `Approve ${plural(selected.size, "selected change")}: ${describeRows(selected.values())}.`,
                )
              }
            >
              Approve selected
            </button>
            <button
              type="button"
              disabled={selected.size === 0}
              onClick={() =>
                decide(
                  "reject",
                  { ids: [...selected.keys()] },
                  `Reject ${plural(selected.size, "selected change")}: ${describeRows(selected.values())}. They will not be applied.`,
                )
              }
            >
              Reject selected
            </button>
            <button
              type="button"
              disabled={matching === 0}
              onClick={() =>
                decide(
                  "approve",
                  { filter: filterBody() },
                  `Approve ${matchingText} matching ${filtered ? describeFilter(filter) : "no filter: the whole batch"}.`,
                )
              }
            >
              Approve all matching
            </button>
            <button
              type="button"
              disabled={matching === 0}
              onClick={() =>
                decide(
                  "reject",
                  { filter: filterBody() },
                  `Reject ${matchingText} matching ${filtered ? describeFilter(filter) : "no filter: the whole batch"}.`,
                )
              }
            >
              Reject all matching
            </button>
            <ApplyButtons path={path} tally={tally} act={act} />
            <button
              type="button"
              class="danger"
              onClick={() =>
                act({
                  title: "Cancel the batch",
                  confirm: "Cancel the batch",
                  danger: true,
                  text: `Discard batch ${b.id} and its ${plural(sumChanges(b), "change")}: nothing of it is applied.`,
                  run: () => post(`${path}/cancel`),
                })
              }
            >
              Cancel batch
            </button>
          </div>
        )}
        {approver && b.state === "applied" && (
          <div class="decisions" role="group" aria-label="Undo">
            <button
              type="button"
              class="danger"
              onClick={() =>
                act({
                  title: "Undo the batch",
                  confirm: "Undo",
                  danger: true,
                  text: `Stage and apply the inverse of batch ${b.id} (${plural(sumChanges(b), "change")}) as a new batch.`,
                  run: async () => {
                    // The answer is the undo batch's report: its id is `batchId`.
                    const undo = await post<{ batchId: string }>(`${path}/undo`, {});
                    navigate(href("batches", undo.batchId));
                  },
                })
              }
            >
              Undo this batch
            </button>
          </div>
        )}
        {!approver && DECIDABLE.has(b.state) && (
          <p class="hint">You are signed in as a viewer: an approver decides on this batch.</p>
        )}
        <ChangesTable
          connector={b.connector}
          page={changes}
          cursors={cursors}
          selectable={canDecide}
          selected={selected}
          filtered={filtered}
          onSelect={(rows, on) => {
            const next = new Map(selected);
            for (const r of rows) {
              if (on) next.set(r.id, r);
              else next.delete(r.id);
            }
            setSelected(next);
          }}
        />
      </section>
      <Journal batch={b} />
      {pending !== null && (
        <ConfirmDialog
          title={pending.title}
          confirm={pending.confirm}
          danger={pending.danger ?? false}
          onCancel={() => setPending(null)}
          onConfirm={() => void confirm()}
        >
          <p>{pending.text}</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function ApplyButtons(props: { path: string; tally: Tally | undefined; act: (p: Pending) => void }) {
  const { tally } = props;
  const apply = (rest: "approve" | "reject" | undefined, text: string) =>
    props.act({
      title: "Apply the batch",
      confirm: "Apply",
      text,
      run: () => post(`${props.path}/apply`, rest === undefined ? {} : { rest }),
    });
  if (tally === undefined) {
    return (
      <>
        <button
          type="button"
          class="primary"
          onClick={() => apply("reject", "Apply the approved changes and reject every change not decided.")}
        >
          Apply approved, reject the rest
        </button>
        <button type="button" onClick={() => apply("approve", "Apply every change that is not rejected.")}>
          Apply all but the rejected
        </button>
      </>
    );
  }
  if (tally.undecided === 0) {
    return (
      <button
        type="button"
        class="primary"
        disabled={tally.approved === 0}
        onClick={() =>
          apply(
            undefined,
            `Apply the ${plural(tally.approved, "approved change")}; the ${plural(tally.rejected, "rejected change")} stay out.`,
          )
        }
      >
        Apply approved
      </button>
    );
  }
  return (
    <>
      <button
        type="button"
        class="primary"
        onClick={() =>
          apply(
            "reject",
            `Apply the ${plural(tally.approved, "approved change")} and reject the ${plural(tally.undecided, "undecided change")}.`,
          )
        }
      >
        Apply approved, reject the rest
      </button>
      <button
        type="button"
        onClick={() =>
          apply(
            "approve",
            `Apply the ${plural(tally.approved + tally.undecided, "change")} approved or undecided; the ${plural(tally.rejected, "rejected change")} stay out.`,
          )
        }
      >
        Apply all but the rejected
      </button>
    </>
  );
}

function describeFilter(filter: ChangeFilter): string {
  return Object.entries(filter)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

function sumChanges(b: BatchDetail): number {
  return [...b.changes.resources, ...b.changes.links].reduce((n, c) => n + c.n, 0);
}

function BatchFacts({ batch: b, report }: { batch: BatchDetail; report: Report }) {
  return (
    <section aria-labelledby="report-title">
      <h2 id="report-title">Report</h2>
      <dl class="facts grid">
        <dt>Connector</dt>
        <dd>{b.connector}</dd>
        <dt>Mode</dt>
        <dd>{b.mode}</dd>
        <dt>Agent</dt>
        <dd>{b.agent ?? "none (run on this host)"}</dd>
        <dt>Created</dt>
        <dd>{date(b.createdAt)}</dd>
        <dt>Sealed</dt>
        <dd>
          {b.sealedAt === null
            ? "–"
            : `${date(b.sealedAt)} (upload took ${duration(b.createdAt, b.sealedAt)})`}
        </dd>
        <dt>Finished</dt>
        <dd>
          {b.finishedAt === null
            ? "not yet"
            : `${date(b.finishedAt)} (${duration(b.sealedAt ?? b.createdAt, b.finishedAt)} after sealing)`}
        </dd>
        {report.seconds !== undefined && (
          <>
            <dt>Synchronization took</dt>
            <dd>{num(Math.round(report.seconds * 10) / 10)} s</dd>
          </>
        )}
        {b.baseBatch !== null && (
          <>
            <dt>Based on</dt>
            <dd>
              <a href={href("batches", b.baseBatch)}>{b.baseBatch}</a>
            </dd>
          </>
        )}
        {b.error !== null && (
          <>
            <dt>Error</dt>
            <dd class="bad-text">{b.error}</dd>
          </>
        )}
      </dl>
      <table class="list compact">
        <caption>Counts</caption>
        <Head columns={["What", "Inserted#", "Updated#", "Deleted#", "Unchanged#"]} />
        <tbody>
          <tr>
            <th scope="row">Resources</th>
            <td class="num">{num(b.counts.resourcesInserted)}</td>
            <td class="num">{num(b.counts.resourcesUpdated)}</td>
            <td class="num">{num(b.counts.resourcesDeleted)}</td>
            <td class="num">{num(report.resources?.unchanged)}</td>
          </tr>
          <tr>
            <th scope="row">Links</th>
            <td class="num">{num(b.counts.linksInserted)}</td>
            <td class="num">–</td>
            <td class="num">{num(b.counts.linksDeleted)}</td>
            <td class="num">–</td>
          </tr>
        </tbody>
      </table>
      <p>
        Orphans: {num(b.counts.orphans)}
        {report.monoConflicts !== undefined &&
          report.monoConflicts > 0 &&
          `; mono-valued conflicts: ${num(report.monoConflicts)}`}
        .
      </p>
    </section>
  );
}

function Thresholds({ checks }: { checks: readonly ThresholdCheck[] }) {
  return (
    <section aria-labelledby="thresholds-title">
      <h2 id="thresholds-title">Thresholds</h2>
      {checks.length === 0 ? (
        <p>None checked (an initial load, or thresholds switched off).</p>
      ) : (
        <table class="list compact">
          <Head columns={["Level", "Scope", "Threshold", "Limit#", "Actual#", "Crossed"]} />
          <tbody>
            {checks.map((c) => (
              <tr key={`${c.level}-${c.scope}-${c.threshold}`} class={c.crossed ? "crossed" : ""}>
                <td>{c.level}</td>
                <td>{c.scope}</td>
                <td>{c.threshold}</td>
                <td class="num">
                  {num(c.limit)}
                  {c.unit === "percent" ? " %" : ""}
                </td>
                <td class="num">
                  {num(c.actual)}
                  {c.unit === "percent" ? " %" : ""}
                </td>
                <td>{c.crossed ? <strong class="bad-text">crossed</strong> : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Files({ batch }: { batch: BatchView }) {
  return (
    <section aria-labelledby="files-title">
      <h2 id="files-title">Files</h2>
      {batch.files.length === 0 ? (
        <p>No file (a batch made on this host reads its prepared files where they are).</p>
      ) : (
        <table class="list compact">
          <Head columns={["Name", "Bytes#", "SHA-256"]} />
          <tbody>
            {batch.files.map((f) => (
              <tr key={f.name}>
                <td>{f.name}</td>
                <td class="num">{num(f.bytes)}</td>
                <td>
                  <code class="hash">{f.sha256}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Journal({ batch }: { batch: BatchDetail }) {
  const decisions = batch.decisions ?? [];
  return (
    <section aria-labelledby="journal-title">
      <h2 id="journal-title">Decision journal</h2>
      {decisions.length === 0 ? (
        <p>No decision yet.</p>
      ) : (
        <table class="list compact journal">
          <Head columns={["When", "Who", "Action", "Changes#", "Selection"]} />
          <tbody>
            {decisions.map((d, i) => (
              <tr key={i}>
                <td>{date(d.at)}</td>
                <td>
                  {d.principal} ({d.role})
                </td>
                <td>{d.action}</td>
                <td class="num">{num(d.changes)}</td>
                <td>
                  <code>
                    {d.selection === null || d.selection === undefined ? "–" : JSON.stringify(d.selection)}
                  </code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
