/** The configured jobs: schedule, next and last run, the agents that run them, and the runs' history. */
import { get } from "../api.js";
import { Empty, ErrorBanner, Loading, StateBadge } from "../components/feedback.js";
import { date, duration } from "../format.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import type { JobInstance, JobView } from "../types.js";

export function JobsPage() {
  const jobs = usePoll(() => get<JobView[]>("/jobs"), "jobs");
  const runs = usePoll(() => get<JobInstance[]>("/job-instances", { limit: 50 }), "runs");
  return (
    <>
      <h1>Jobs</h1>
      <ErrorBanner error={jobs.error ?? runs.error} />
      {jobs.data === undefined ? (
        jobs.error === undefined && <Loading what="the jobs" />
      ) : jobs.data.length === 0 ? (
        <Empty>No job is configured: add one under jobs: in syncup.yaml (connector, mode, schedule).</Empty>
      ) : (
        <table class="list">
          <caption>Schedules</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Connector</th>
              <th scope="col">Mode</th>
              <th scope="col">Schedule</th>
              <th scope="col">Next run</th>
              <th scope="col">Last run</th>
              <th scope="col">Run by</th>
            </tr>
          </thead>
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
                  ) : (
                    <>
                      <code>syncup jobs run {j.name}</code> or <code>syncup jobs start</code>
                    </>
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
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Outcome</th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
              <th scope="col">Mode run</th>
              <th scope="col">Tasks</th>
              <th scope="col">Batch</th>
            </tr>
          </thead>
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
    </>
  );
}
