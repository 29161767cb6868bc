/**
 * Two server instances sharing one PostgreSQL database and one batch folder: an agent's
 * requests land on either; every batch is applied once, each connector's in notification order.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { BatchView } from "../../src/protocol/api.js";
import { testDatabases } from "../store/dialects.js";
import { AS_AD, AS_HR, Api, counted, makeEnv, prepare, serve, writeAd, writeHr } from "./helpers.js";

const postgres = testDatabases().filter((db) => db.dialect === "postgres");
afterAll(async () => {
  for (const db of postgres) await db.cleanup();
});

describe.each(postgres)("two server instances on $dialect", (db) => {
  it("applies every batch once, in notification order per connector, whichever instance got it", async () => {
    const env = await makeEnv(db.url(), { thresholdsOff: true });
    const a = await serve(env.config);
    const b = await serve(env.config);
    try {
      writeHr(env, 300);
      const hr300 = await prepare(env, "HR", "complete");
      writeHr(env, 280, 5);
      const hr280 = await prepare(env, "HR", "complete");
      writeAd(env, 0);
      const ad0 = await prepare(env, "AD", "complete");
      writeAd(env, 2);
      const ad2 = await prepare(env, "AD", "complete");
      const on = (i: number, auth: string) => new Api(i % 2 === 0 ? a.url : b.url, null).as(auth);

      const sent: { id: string; seq: number; connector: string; i: number }[] = [];
      for (let i = 0; i < 12; i++) {
        const connector = i % 3 === 0 ? "AD" : "HR";
        const notified = await on(i, connector === "HR" ? AS_HR : AS_AD).notify(connector, "complete");
        expect(notified.status, notified.text).toBe(201);
        sent.push({ id: notified.body.id, seq: notified.body.seq, connector, i });
      }
      // Uploaded through one instance, sealed through the other, newest first.
      for (const batch of [...sent].reverse()) {
        const auth = batch.connector === "HR" ? AS_HR : AS_AD;
        const prepared =
          batch.connector === "HR" ? (batch.i % 2 === 0 ? hr300 : hr280) : batch.i % 2 === 0 ? ad0 : ad2;
        await on(batch.i, auth).uploadAll(batch.id, prepared);
        const sealed = await on(batch.i + 1, auth).seal(batch.id, prepared.files);
        expect(sealed.status, sealed.text).toBe(200);
      }
      const views: BatchView[] = [];
      for (const batch of sent) {
        views.push(await on(batch.i, batch.connector === "HR" ? AS_HR : AS_AD).waitFor(batch.id));
      }
      for (const view of views) expect(view.state, view.error ?? "").toBe("applied");
      for (const connector of ["HR", "AD"]) {
        const mine = views.filter((v) => v.connector === connector);
        const finished = mine.map((v) => Date.parse(v.finishedAt ?? ""));
        expect(finished).toEqual([...finished].sort((x, y) => x - y));
      }
      const applied = (await a.store.batches.list({ limit: 100, state: "applied" })).length;
      expect(applied).toBe(12);
      const lastHr = sent.filter((s) => s.connector === "HR").at(-1)!;
      expect(await counted(a.store, "HR")).toEqual({ Person: lastHr.i % 2 === 0 ? 300 : 280 });
    } finally {
      await a.close();
      await b.close();
      env.cleanup();
    }
  }, 90_000);
});
