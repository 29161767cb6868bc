/**
 * Stages the link changes of one association mapping, for complete and incremental modes
 * alike: removals of stored pairs as they come, and candidate pairs (new, stored but with an
 * end that the batch deletes or re-keys, or pending since an earlier run) resolved in chunks
 * against the repository as it will be after the batch. A candidate whose end is not found is
 * an orphan, and a second link of a mono-valued property a conflict: both are reported and set
 * aside as pending pairs (`UR_PendingLinks`), tried again at every run until they resolve or
 * leave the export.
 */
import type { AssociationMappingDef } from "../config/config.js";
import type { PendingReason, StagedPending } from "../store/pending.js";
import type { LinkScope, StagedLink, StoredLink } from "../store/types.js";
import { CHUNK, resolveKeys, type StageContext } from "./context.js";
import { missingReason, OrphanFile } from "./orphans.js";
import type { MappingReport } from "./types.js";

interface Candidate {
  /** Its line in the prepared file; null for a pair the file's rows did not name (stale, pending). */
  readonly line: number | null;
  readonly key1: string;
  readonly key2: string;
  /** The stored pair with these keys, when it must be checked again. */
  readonly stored?: StoredLink;
  /** A pending pair tried again, with why it was pending: staged only when that changes. */
  readonly pending?: PendingReason;
}

export class LinkStager {
  private readonly staged: StagedLink[] = [];
  private readonly pendingChanges: StagedPending[] = [];
  private candidates: Candidate[] = [];
  private readonly orphans: OrphanFile;

  constructor(
    private readonly ctx: StageContext,
    private readonly mapping: AssociationMappingDef,
    readonly scope: LinkScope,
    private readonly report: MappingReport,
  ) {
    this.orphans = new OrphanFile(ctx.dir, mapping.name);
  }

  /** Stages the removal of a stored pair. */
  async remove(stored: StoredLink, line: number | null): Promise<void> {
    this.staged.push({
      operation: "delete",
      scope: this.scope,
      key1: stored.key1,
      key2: stored.key2,
      resource1Pk: null,
      resource2Pk: null,
      resource1Id: stored.resource1,
      resource2Id: stored.resource2,
      line,
    });
    this.report.deleted++;
    if (this.staged.length >= CHUNK) await this.flushStaged();
  }

  /** A pair to resolve: new, or `stored` whose ends may have changed. */
  async candidate(line: number | null, key1: string, key2: string, stored?: StoredLink): Promise<void> {
    this.candidates.push(stored === undefined ? { line, key1, key2 } : { line, key1, key2, stored });
    if (this.candidates.length >= CHUNK) await this.resolveCandidates();
  }

  /** A pending pair to try again (`line`: where this batch's file names it, if it does). */
  async retry(line: number | null, key1: string, key2: string, missing: PendingReason): Promise<void> {
    this.candidates.push({ line, key1, key2, pending: missing });
    if (this.candidates.length >= CHUNK) await this.resolveCandidates();
  }

  /** A pending pair left the export: it is pending no more. */
  async forget(key1: string, key2: string, line: number): Promise<void> {
    await this.pend("remove", key1, key2, "", line);
  }

  /** A complete: the association's pending pairs are the ones this batch sets aside, no others. */
  async resetPending(): Promise<void> {
    await this.pend("reset", "", "", "", null);
  }

  /** Resolves and stages what is left, then sets aside mono-valued conflicts. Returns the orphans file, if any. */
  async finish(): Promise<string | null> {
    try {
      await this.resolveCandidates();
      await this.flushStaged();
      await this.setAsideConflicts();
      await this.flushPending();
    } catch (error) {
      await this.orphans.abort();
      throw error;
    }
    return this.orphans.close();
  }

  /** Drops the orphans file being written (the batch failed). */
  abort(): Promise<void> {
    return this.orphans.abort();
  }

  private async resolveCandidates(): Promise<void> {
    const chunk = this.candidates;
    if (chunk.length === 0) return;
    this.candidates = [];
    const { scope } = this;
    const ends1 = await resolveKeys(
      this.ctx,
      scope.end1Type,
      scope.key1Column,
      chunk.map((c) => c.key1),
    );
    const ends2 = await resolveKeys(
      this.ctx,
      scope.end2Type,
      scope.key2Column,
      chunk.map((c) => c.key2),
    );
    for (const c of chunk) {
      const end1 = ends1.get(c.key1);
      const end2 = ends2.get(c.key2);
      if (c.stored !== undefined) {
        const same =
          end1 !== undefined &&
          end2 !== undefined &&
          end1.id === c.stored.resource1 &&
          end2.id === c.stored.resource2;
        if (same) {
          this.report.unchanged++;
          continue;
        }
        await this.remove(c.stored, c.line);
      }
      if (end1 === undefined || end2 === undefined) {
        const missing =
          end1 === undefined && end2 === undefined ? "both" : end1 === undefined ? "end1" : "end2";
        await this.orphans.add(
          c.line,
          c.key1,
          c.key2,
          missing,
          missingReason(missing, scope.end1Type, scope.end2Type),
        );
        this.report.orphans++;
        // A pending pair still missing the same end stays as it is: nothing to stage.
        if (c.pending !== missing) await this.pend("add", c.key1, c.key2, missing, c.line);
        continue;
      }
      if (c.pending !== undefined) await this.pend("remove", c.key1, c.key2, "", c.line);
      this.staged.push({
        operation: "insert",
        scope,
        key1: c.key1,
        key2: c.key2,
        resource1Pk: end1.pk,
        resource2Pk: end2.pk,
        resource1Id: end1.id,
        resource2Id: end2.id,
        line: c.line,
      });
      this.report.inserted++;
    }
    await this.flushStaged();
  }

  private async pend(
    operation: StagedPending["operation"],
    key1: string,
    key2: string,
    missing: PendingReason | "",
    line: number | null,
  ): Promise<void> {
    this.pendingChanges.push({ operation, association: this.scope.association, key1, key2, missing, line });
    if (this.pendingChanges.length >= CHUNK) await this.flushPending();
  }

  private async flushPending(): Promise<void> {
    if (this.pendingChanges.length === 0) return;
    await this.ctx.store.pending.stage(this.ctx.batchId, this.pendingChanges);
    this.pendingChanges.length = 0;
  }

  private async flushStaged(): Promise<void> {
    if (this.staged.length === 0) return;
    await this.ctx.store.changes.stageLinks(this.ctx.batchId, this.staged);
    this.staged.length = 0;
  }

  /**
   * A mono-valued property holds one link: the first in file order; the others are reported
   * and pending, not staged, until the first leaves.
   */
  private async setAsideConflicts(): Promise<void> {
    const mono = this.scope.mono;
    if (mono === null) return;
    const conflicts = await this.ctx.store.links.monoConflicts(this.ctx.batchId, this.ctx.connector.name, {
      ...this.scope,
      mono,
    });
    if (conflicts.length === 0) return;
    const dropped: number[] = [];
    for (const c of conflicts) {
      if (c.id !== null) {
        dropped.push(c.id);
        this.report.inserted--;
      } else if (c.resource1 !== null && c.resource2 !== null) {
        const stored = {
          key1: c.key1,
          key2: c.key2,
          resource1: c.resource1,
          resource2: c.resource2,
          stale: 0,
        };
        await this.remove(stored, null);
      }
      await this.orphans.add(c.line, c.key1, c.key2, "", monoConflictReason(mono, c.winner1, c.winner2));
      // Pending as a conflict (a pending pair tried again was unstaged from pending: it comes back).
      await this.pend("add", c.key1, c.key2, "conflict", c.line);
      this.report.conflicts++;
    }
    await this.ctx.store.changes.removeLinkChanges(dropped);
    await this.flushStaged();
  }
}

export function monoConflictReason(
  mono: { column: number; end: 1 | 2 },
  winner1: string,
  winner2: string,
): string {
  return `the end${mono.end} resource already has ${winner1};${winner2}, first in file order, and holds one link of this association (mono-valued, column ${mono.column})`;
}
