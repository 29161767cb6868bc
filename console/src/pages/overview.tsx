/** Every connector at a glance, blocked ones first with the thresholds they crossed in words. */
import { get } from "../api.js";
import { Empty, ErrorBanner, Loading, StateBadge } from "../components/feedback.js";
import { date, num, shortId } from "../format.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import type { BatchSummary, ConnectorOverview } from "../types.js";
import { Head } from "../components/form.js";

const MODES = ["initial", "complete", "incremental"] as const;

export function OverviewPage() {
  const { data, error } = usePoll(() => get<ConnectorOverview[]>("/connectors"), "overview");
  return (
    <>
      <h1>Overview</h1>
      <ErrorBanner error={error} />
      {data === undefined ? (
        error === undefined && <Loading what="the connectors" />
      ) : data.length === 0 ? (
        <Empty>
          The configuration has no connectors: add one under connectors: in syncup.yaml and restart the
          server.
        </Empty>
      ) : (
        <div class="cards">
          {data.map((c) => (
            <ConnectorCard key={c.name} connector={c} />
          ))}
        </div>
      )}
    </>
  );
}

function ConnectorCard({ connector: c }: { connector: ConnectorOverview }) {
  const orphans = c.orphans.reduce((n, o) => n + o.count, 0);
  return (
    <section class={`card ${c.state === "blocked" ? "blocked" : ""}`} aria-labelledby={`connector-${c.name}`}>
      <h2 id={`connector-${c.name}`}>
        {c.name} <StateBadge state={c.state} />
      </h2>
      {c.blocked !== null && (
        <div class="banner error">
          <p>
            Blocked by batch <a href={href("batches", c.blocked.batch.id)}>{shortId(c.blocked.batch.id)}</a> (
            {c.blocked.batch.mode}): it crossed{" "}
            {c.blocked.crossed.length === 1 ? "a threshold" : `${c.blocked.crossed.length} thresholds`}.
          </p>
          <ul>
            {c.blocked.crossed.map((check) => (
              <li key={`${check.scope}-${check.threshold}`}>It {check.words}.</li>
            ))}
          </ul>
          <p>Review its changes, then approve, reject or cancel it on the batch page.</p>
        </div>
      )}
      <table>
        <caption>Last batch of each mode</caption>
        <Head columns={["Mode", "Batch", "State", "Created"]} />
        <tbody>
          {MODES.map((mode) => (
            <LastBatch key={mode} mode={mode} batch={c.lastBatches[mode]} />
          ))}
        </tbody>
      </table>
      <dl class="facts">
        <dt>Resources</dt>
        <dd>
          {c.resources.length === 0
            ? "none yet"
            : c.resources.map((r) => (
                <span key={r.entityType} class="fact">
                  <a href={href("resources", { connector: c.name, entityType: r.entityType })}>
                    {r.entityType}
                  </a>
                  : {num(r.count)}
                </span>
              ))}
        </dd>
        <dt>Orphans</dt>
        <dd>
          {orphans === 0 ? "none" : <a href={href("orphans", { connector: c.name })}>{num(orphans)}</a>}
        </dd>
        <dt>Waiting batches</dt>
        <dd>{num(c.pending)}</dd>
        <dt>Next scheduled job</dt>
        <dd>
          {c.nextJob === null
            ? "none scheduled"
            : `${c.nextJob.job} (${c.nextJob.mode}), ${date(c.nextJob.at)}`}
        </dd>
      </dl>
      {c.state === "never run" && (
        <Empty>
          No batch yet: run <code>npx syncup run --config syncup.yaml {c.name}</code>, or start the agent that
          serves it.
        </Empty>
      )}
    </section>
  );
}

function LastBatch({ mode, batch }: { mode: string; batch: BatchSummary | null }) {
  return (
    <tr>
      <th scope="row">{mode}</th>
      {batch === null ? (
        <td colSpan={3}>never run</td>
      ) : (
        <>
          <td>
            <a href={href("batches", batch.id)} title={batch.id}>
              {shortId(batch.id)}
            </a>
          </td>
          <td>
            <StateBadge state={batch.state} />
          </td>
          <td>{date(batch.createdAt)}</td>
        </>
      )}
    </tr>
  );
}
