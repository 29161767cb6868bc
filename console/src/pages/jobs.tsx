/**
 * The configured jobs: schedule, next and last run, the agents that run them, and the runs'
 * history; an approver runs a job that no agent runs on the server ("Run now").
 */
import { useState } from "preact/hooks";
import { get, post } from "../api.js";
import { ConfirmDialog } from "../components/confirm.js";
import { Empty, ErrorBanner, Loading, Notice, StateBadge } from "../components/feedback.js";
import { Pager, useCursors } from "../components/pager.js";
import { date, duration } from "../format.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import type { JobInstance, JobView } from "../types.js";
import { Head } from "../components/form.js";

/** Runs per page of the history. */
const RUNS = 50;

interface RunNowAnswer {
  readonly job: string;
  readonly state: "running" | "finished";
  readonly instance: JobInstance | null;
}

export function JobsPage({ approver }: { approver: boolean }) {
  const jobs = usePoll(() => get<JobView[]>("/jobs"), "jobs");
  const cursors = useCursors();
  const runs = usePoll(
    () => get<JobInstance[]>("/job-instances", { limit: RUNS, before: cursors.after }),
    `runs|${cursors.after ?? ""}`,
  );
  const lastRun = runs.data?.[runs.data.length - 1];
  const [asked, setAsked] = useState<JobView | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | undefined>(undefined);
  const runNow = async (job: JobView) => {
    setAsked(null);
    setFailure(undefined);
    try {
      const answer = await post<RunNowAnswer>(`/jobs/${encodeURIComponent(job.name)}/run`);
      setOutcome(
        answer.instance === null
          ? `Job ${job.name} is running on the server: its outcome will show in the history.`
          : `Job ${job.name} ran: ${answer.instance.outcome}.`,
      );
      void runs.reload();
      void jobs.reload();
    } catch (e) {
      setFailure(e instanceof Error ? e : new Error(String(e)));
    }
  };
  return (
    <>
      <h1>Jobs</h1>
      {outcome !== null && <Notice>{outcome}</Notice>}
      <ErrorBanner error={failure ?? jobs.error ?? runs.error} />
      {jobs.data === undefined ? (
        jobs.error === undefined && <Loading what="the jobs" />
      ) : jobs.data.length === 0 ? (
        <Empty>No job is configured: add one under jobs: in syncup.yaml (connector, mode, schedule).</Empty>
      ) : (
        <table class="list">
          <caption>Schedules</caption>
          <Head columns={["Job", "Connector", "Mode", "Schedule", "Next run", "Last run", "Run by"]} />
          <tbody>
            {jobs.data.map((j) => (
              <tr key={j.name}>
                <th scope="row">{j.name}</th>
                <td>{j.connector}</td>
                <td>{j.mode}</td>
                <td>
                  {j.schedule === null ? (
                    "on demand"
                  ) : (
                    <>
                      <code>{j.schedule}</code> ({j.timeZone})
                    </>
                  )}
                </td>
                <td>{date(j.nextRun)}</td>
                <td>
                  {j.lastRun === null ? (
                    "never"
                  ) : (
                    <>
                      <StateBadge state={j.lastRun.outcome} /> {date(j.lastRun.startedAt)}
                    </>
                  )}
                </td>
                <td>
                  {j.agents.length > 0 ? (
                    `agent ${j.agents.join(", ")}`
                  ) : approver ? (
                    <button type="button" onClick={() => setAsked(j)}>
                      Run {j.name} now
                    </button>
                  ) : (
                    "this server"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>History</h2>
      {runs.data === undefined ? (
        runs.error === undefined && <Loading what="the runs" />
      ) : runs.data.length === 0 ? (
        <Empty>No run recorded yet: agents record their job runs here when they run.</Empty>
      ) : (
        <table class="list">
          <caption class="sr-only">Job runs, newest first</caption>
          <Head columns={["Job", "Outcome", "Started", "Took", "Mode run", "Tasks", "Batch"]} />
          <tbody>
            {runs.data.map((r) => (
              <tr key={r.id}>
                <td>{r.job}</td>
                <td>
                  <StateBadge state={r.outcome} />
                  {r.message !== null && <div class="muted">{r.message}</div>}
                </td>
                <td>{date(r.startedAt)}</td>
                <td>{duration(r.startedAt, r.finishedAt)}</td>
                <td>{r.ranMode}</td>
                <td>
                  {r.tasks.map((t) => (
                    <div key={t.task}>
                      {t.task}: {t.outcome}
                    </div>
                  ))}
                </td>
                <td>
                  {r.batchId === null ? (
                    "–"
                  ) : (
                    <a href={href("batches", r.batchId)}>{r.batchId.slice(0, 8)}</a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        cursors={cursors}
        next={
          runs.data !== undefined && runs.data.length === RUNS && lastRun !== undefined ? lastRun.id : null
        }
        label="job runs"
      />
      {asked !== null && (
        <ConfirmDialog
          title="Run a job now"
          confirm="Run now"
          onCancel={() => setAsked(null)}
          onConfirm={() => void runNow(asked)}
        >
          <p>
            Run job {asked.name} ({asked.mode}) of connector {asked.connector} on the server now: it exports,
            prepares and synchronizes as its schedule would.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
