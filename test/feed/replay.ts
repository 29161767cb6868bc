/**
 * Replays change feed events onto a repository, as a downstream consumer would rebuild its
 * copy: each event by the entity types and primary keys it names, nothing else. An update or
 * delete must carry as its values before what the copy holds (whichever mode staged it).
 */
import { expect } from "vitest";
import type { ChangeEvent, FeedEnd } from "../../src/protocol/change-feed.js";
import type { Driver } from "../../src/store/driver.js";

const idOf = (connector: string, end: FeedEnd) => ({
  sql: "(SELECT id FROM UR_Resources WHERE connector = ? AND entity_type = ? AND pk = ?)",
  params: [connector, end.entityType, end.key],
});

export async function replay(db: Driver, events: readonly ChangeEvent[]): Promise<void> {
  for (const e of events) {
    const c = e.connector;
    if (e.kind === "resource") {
      const uk = (i: number) => e.after?.uniqueKeys[i] ?? null;
      const properties = JSON.stringify(e.after?.properties ?? {});
      if (e.operation !== "insert") {
        const held = await db.get<{ properties: string }>(
          "SELECT properties FROM UR_Resources WHERE connector = ? AND entity_type = ? AND pk = ?",
          [c, e.entityType, e.key],
        );
        expect(e.before?.properties, `${e.operation} of ${e.key}: its values before`).toEqual(
          JSON.parse(held?.properties ?? "null") as unknown,
        );
      }
      if (e.operation === "insert") {
        await db.run(
          `INSERT INTO UR_Resources (connector, entity_type, pk, uk1, uk2, uk3, hash, properties)
           VALUES (?, ?, ?, ?, ?, ?, '', ?)`,
          [c, e.entityType, e.key, uk(0), uk(1), uk(2), properties],
        );
      } else if (e.operation === "update") {
        await db.run(
          "UPDATE UR_Resources SET uk1 = ?, uk2 = ?, uk3 = ?, properties = ? WHERE connector = ? AND entity_type = ? AND pk = ?",
          [uk(0), uk(1), uk(2), properties, c, e.entityType, e.key],
        );
      } else {
        await db.run("DELETE FROM UR_Resources WHERE connector = ? AND entity_type = ? AND pk = ?", [
          c,
          e.entityType,
          e.key,
        ]);
      }
    } else if (e.kind === "link") {
      if (e.operation === "insert") {
        const [r1, r2] = [idOf(c, e.ends[0]), idOf(c, e.ends[1])];
        await db.run(
          `INSERT INTO UR_ResourceLinks (connector, association, key1, key2, resource1, resource2)
           VALUES (?, ?, ?, ?, ${r1.sql}, ${r2.sql})`,
          [c, e.association, e.keys[0], e.keys[1], ...r1.params, ...r2.params],
        );
      } else {
        await db.run(
          "DELETE FROM UR_ResourceLinks WHERE connector = ? AND association = ? AND key1 = ? AND key2 = ?",
          [c, e.association, e.keys[0], e.keys[1]],
        );
      }
    } else {
      const holder = idOf(c, e.holder);
      const target = idOf(c, e.target);
      if (e.operation === "insert") {
        await db.run(`UPDATE UR_Resources SET i${e.column} = ${target.sql} WHERE id = ${holder.sql}`, [
          ...target.params,
          ...holder.params,
        ]);
      } else {
        await db.run(
          `UPDATE UR_Resources SET i${e.column} = NULL WHERE id = ${holder.sql} AND i${e.column} = ${target.sql}`,
          [...holder.params, ...target.params],
        );
      }
    }
  }
}
