/**
 * The push sinks' durable state (`UR_FeedSinks`, `UR_FeedDeadLetters`): each sink's cursor
 * (the last event it delivered or set aside), its retry state, and the events it gave up on.
 * A cursor moves only after the sink confirmed a delivery, in a statement of its own: a
 * process killed between a delivery and that statement delivers the same events again.
 */
import type { Driver } from "./driver.js";

export interface SinkState {
  readonly name: string;
  /** The last event delivered or dead-lettered. */
  readonly position: number;
  /** Failed attempts at the events after `position`. */
  readonly attempts: number;
  readonly lastError: string | null;
  /** When the next attempt is due (ISO), after a failure. */
  readonly retryAt: string | null;
  readonly delivered: number;
  readonly dead: number;
  readonly updatedAt: string;
}

export interface DeadLetter {
  readonly sink: string;
  readonly seq: number;
  readonly error: string;
  readonly at: string;
}

interface RawSink {
  name: string;
  position: number | string;
  attempts: number | string;
  last_error: string | null;
  retry_at: string | null;
  delivered: number | string;
  dead: number | string;
  updated_at: string;
}

export class FeedSinkRepository {
  constructor(private readonly db: Driver) {}

  /** The sink's state; a sink seen for the first time starts at `start` (the oldest event kept). */
  async ensure(name: string, start: number): Promise<SinkState> {
    await this.db.run(
      `INSERT INTO UR_FeedSinks (name, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
      [name, start, new Date().toISOString()],
    );
    const state = await this.get(name);
    if (state === undefined) throw new Error(`sink ${name} vanished`);
    return state;
  }

  async get(name: string): Promise<SinkState | undefined> {
    const row = await this.db.get<RawSink>("SELECT * FROM UR_FeedSinks WHERE name = ?", [name]);
    return row === undefined ? undefined : sinkState(row);
  }

  async list(): Promise<SinkState[]> {
    return (await this.db.all<RawSink>("SELECT * FROM UR_FeedSinks ORDER BY name")).map(sinkState);
  }

  /** Records a confirmed delivery up to `position`. */
  async delivered(name: string, position: number, count: number): Promise<void> {
    await this.db.run(
      `UPDATE UR_FeedSinks SET position = ?, attempts = 0, last_error = NULL, retry_at = NULL,
              delivered = delivered + ?, updated_at = ? WHERE name = ? AND position < ?`,
      [position, count, new Date().toISOString(), name, position],
    );
  }

  /** Records a failed attempt; the next is due at `retryAt`. */
  async failed(name: string, error: string, retryAt: string): Promise<void> {
    await this.db.run(
      `UPDATE UR_FeedSinks SET attempts = attempts + 1, last_error = ?, retry_at = ?, updated_at = ? WHERE name = ?`,
      [error.slice(0, 2000), retryAt, new Date().toISOString(), name],
    );
  }

  /** Sets events aside after the sink's last attempt, and moves its cursor past them. */
  async deadLetter(name: string, seqs: readonly number[], error: string): Promise<void> {
    if (seqs.length === 0) return;
    const at = new Date().toISOString();
    await this.db.transaction(async () => {
      for (const seq of seqs) {
        await this.db.run("INSERT INTO UR_FeedDeadLetters (sink, seq, error, at) VALUES (?, ?, ?, ?)", [
          name,
          seq,
          error.slice(0, 2000),
          at,
        ]);
      }
      await this.db.run(
        `UPDATE UR_FeedSinks SET position = ?, attempts = 0, retry_at = NULL, dead = dead + ?, updated_at = ?
         WHERE name = ?`,
        [Math.max(...seqs), seqs.length, at, name],
      );
    });
  }

  /** The sequence numbers of the sink's dead letters after `after`, oldest first. */
  async deadSeqs(name: string, after: number, limit: number): Promise<number[]> {
    const rows = await this.db.all<{ seq: number | string }>(
      "SELECT seq FROM UR_FeedDeadLetters WHERE sink = ? AND seq > ? ORDER BY seq LIMIT ?",
      [name, after, limit],
    );
    return rows.map((r) => Number(r.seq));
  }

  /** Removes dead letters the sink has now taken (`syncup changes replay`). */
  async revived(name: string, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.db.transaction(async () => {
      const removed = await this.db.run(
        `DELETE FROM UR_FeedDeadLetters WHERE sink = ? AND seq IN (${seqs.map(() => "?").join(", ")})`,
        [name, ...seqs],
      );
      await this.db.run("UPDATE UR_FeedSinks SET dead = dead - ?, updated_at = ? WHERE name = ?", [
        removed,
        new Date().toISOString(),
        name,
      ]);
    });
  }

  /** The events a sink gave up on, newest first. */
  async deadLetters(name: string, limit: number): Promise<DeadLetter[]> {
    const rows = await this.db.all<{ sink: string; seq: number | string; error: string; at: string }>(
      "SELECT sink, seq, error, at FROM UR_FeedDeadLetters WHERE sink = ? ORDER BY seq DESC LIMIT ?",
      [name, limit],
    );
    return rows.map((r) => ({ sink: r.sink, seq: Number(r.seq), error: r.error, at: r.at }));
  }
}

function sinkState(r: RawSink): SinkState {
  return {
    name: r.name,
    position: Number(r.position),
    attempts: Number(r.attempts),
    lastError: r.last_error,
    retryAt: r.retry_at,
    delivered: Number(r.delivered),
    dead: Number(r.dead),
    updatedAt: r.updated_at,
  };
}
