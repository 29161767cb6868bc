/**
 * The admin console in real Chromium against a real `syncup server` process: sign-in, the
 * overview with the blocked connector, batches, the batch page (filter the deletes, approve a
 * selection, apply with the rest rejected, the journal, undo), a decision on a batch that
 * changed meanwhile, resources and a resource page, jobs, orphans, a viewer (no decision
 * buttons, and the server refuses anyway), CSRF, an ended session; axe-core on every page.
 * `npm run screenshots` runs these with SYNCUP_SCREENSHOTS=docs to make docs/console-*.png.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APPROVER,
  errorsOf,
  expectAccessible,
  launchBrowser,
  newPage,
  screenshot,
  signIn,
  startConsoleEnv,
  VIEWER,
  type ConsoleEnv,
} from "./harness.js";
import { AS_APPROVER } from "../server/admins.js";
import { prepare, writeHr } from "../server/helpers.js";

let env: ConsoleEnv;
let browser: Browser;

beforeAll(async () => {
  env = await startConsoleEnv();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

/** Calls the API from the page, as its own script would (the session cookie goes along). */
function fetchFromPage(page: Page, method: string, path: string, csrf: string | null) {
  return page.evaluate(
    async ({ method, path, csrf }) => {
      const response = await fetch(path, {
        method,
        headers: { "content-type": "application/json", ...(csrf === null ? {} : { "x-csrf-token": csrf }) },
        body: method === "GET" ? null : "{}",
      });
      return {
        status: response.status,
        body: (await response.json()) as { code?: string; csrfToken?: string },
      };
    },
    { method, path, csrf },
  );
}

async function csrfOf(page: Page): Promise<string> {
  const session = await fetchFromPage(page, "GET", "/api/v1/session", null);
  return session.body.csrfToken ?? "";
}

describe("the admin console", () => {
  it("a viewer reads every page, sees no decision buttons, and the server refuses a decision anyway", async () => {
    const page = await newPage(browser);
    await page.goto(`${env.url}/`);
    await expectAccessible(page, "the sign-in page");
    await screenshot(page, "sign-in");
    await signIn(page, env.url, VIEWER);
    await page.goto(`${env.url}/#/batches/${env.blocked}`);
    await page.getByRole("heading", { name: "Changes" }).waitFor();
    await page.getByText("You are signed in as a viewer").waitFor();
    expect(await page.getByRole("button", { name: "Approve selected" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Cancel batch" }).count()).toBe(0);
    expect(await page.getByRole("checkbox").count()).toBe(0);
    await expectAccessible(page, "the batch page (viewer)");
    const refused = await fetchFromPage(
      page,
      "POST",
      `/api/v1/batches/${env.blocked}/validate`,
      await csrfOf(page),
    );
    expect(refused).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });

    // Unknown ids: a clear message, nothing else.
    await page.goto(`${env.url}/#/batches/00000000-0000-4000-8000-000000000000`);
    await page.getByRole("heading", { name: "Batch not found" }).waitFor();
    await page.goto(`${env.url}/#/resources/999999999`);
    await page.getByRole("heading", { name: "Resource not found" }).waitFor();
    expect(errorsOf(page)).toEqual([]);
  });

  it("an approver reviews the blocked batch: filter the deletes, approve a selection, reject the rest, apply, undo", async () => {
    const page = await newPage(browser);
    await signIn(page, env.url, APPROVER);

    // The overview: the blocked connector first, with the threshold crossed in words.
    const hrCard = page.getByRole("region", { name: /HR/ });
    await hrCard.getByText("would delete 50 % of the resources of the connector (limit: 5 %)").waitFor();
    expect(await page.getByRole("heading", { level: 2 }).first().textContent()).toContain("HR");
    await expectAccessible(page, "the overview");
    await screenshot(page, "overview");

    // The batch page from the blocked banner.
    await hrCard
      .getByRole("link", { name: env.blocked.slice(0, 8) })
      .first()
      .click();
    await page.getByRole("heading", { name: "Thresholds" }).waitFor();
    expect(await page.getByText("crossed", { exact: true }).count()).toBeGreaterThan(0);
    await expectAccessible(page, "the batch page");

    // Filter the resource deletes, select two, approve them.
    await page.getByLabel("Kind").selectOption("resource");
    await page.getByLabel("Operation").selectOption("delete");
    await page.getByText("150 matching changes.").waitFor();
    const boxes = page.getByRole("checkbox", { name: /^Select change r/ });
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.getByRole("button", { name: "Approve selected" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Approve 2 selected changes: 2 resource deletes of Person.").waitFor();
    await expectAccessible(page, "the confirmation");
    await screenshot(page, "confirm");
    await dialog.getByRole("button", { name: "Approve" }).click();
    await page.getByText("Approve: done.").waitFor();
    await page.getByText(/Decisions so far: 2 approved, 0 rejected/).waitFor();
    await screenshot(page, "batch", page.getByRole("heading", { name: "Changes" }));

    // Apply the approved part; the undecided rest is rejected.
    await page.getByRole("button", { name: "Apply approved, reject the rest" }).click();
    await page
      .getByRole("dialog")
      .getByText(/Apply the 2 approved changes and reject the/)
      .waitFor();
    await page.getByRole("dialog").getByRole("button", { name: "Apply" }).click();
    await page.getByRole("heading", { name: /applied/ }).waitFor();
    const journal = page
      .getByRole("table")
      .filter({ has: page.getByRole("columnheader", { name: "Selection" }) });
    await journal.getByText("alex (approver)").first().waitFor();
    expect(await journal.getByRole("cell", { name: "approve", exact: true }).count()).toBeGreaterThan(0);
    await expectAccessible(page, "the applied batch");

    // The repository changed: two people fewer.
    const after = await fetchFromPage(page, "GET", "/api/v1/connectors", null);
    const hr = (after.body as unknown as { name: string; resources: { count: number }[] }[]).find(
      (c) => c.name === "HR",
    );
    expect(hr?.resources[0]?.count).toBe(298);

    // Undo: a batch of its own, and the two people are back.
    await page.getByRole("button", { name: "Undo this batch" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Undo" }).click();
    await page.waitForURL((u) => !u.hash.includes(env.blocked));
    await page.getByRole("heading", { name: /Batch .* applied/ }).waitFor({ timeout: 30_000 });
    const back = await fetchFromPage(page, "GET", "/api/v1/connectors", null);
    const hrBack = (back.body as unknown as { name: string; resources: { count: number }[] }[]).find(
      (c) => c.name === "HR",
    );
    expect(hrBack?.resources[0]?.count).toBe(300);
    expect(errorsOf(page)).toEqual([]);
  });

  it("a decision on a batch that changed meanwhile: a clear message, nothing changed", async () => {
    writeHr(env.env, 150);
    const next = await env.hr.notifyAndSend(await prepare(env.env, "HR", "complete"));
    expect((await env.hr.waitFor(next.id)).state).toBe("blocked");
    const page = await newPage(browser);
    await signIn(page, env.url, APPROVER);
    await page.goto(`${env.url}/#/batches/${next.id}`);
    await page.getByRole("button", { name: "Approve all matching" }).waitFor();
    // Another approver cancels it meanwhile.
    const cancelled = await env.hr.as(AS_APPROVER).request("POST", `/api/v1/batches/${next.id}/cancel`);
    expect(cancelled.status, cancelled.text).toBe(200);
    await page.getByRole("button", { name: "Approve all matching" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Approve" }).click();
    await page.getByRole("alert").getByText("The batch changed meanwhile; nothing was changed.").waitFor();
    expect((await env.hr.batch(next.id)).body.state).toBe("cancelled");
    expect(errorsOf(page)).toEqual([]);
  });

  it("batches, resources, a resource's links, jobs and orphans", async () => {
    const page = await newPage(browser);
    await signIn(page, env.url, APPROVER);

    await page.getByRole("link", { name: "Batches" }).click();
    await page.getByLabel("State").selectOption("applied");
    await page.getByRole("cell", { name: "initial" }).first().waitFor();
    expect(await page.getByRole("cell", { name: "blocked" }).count()).toBe(0);
    await expectAccessible(page, "the batches");
    await screenshot(page, "batches");

    await page.getByRole("link", { name: "Resources" }).click();
    await page.getByLabel("Connector").selectOption("HR");
    await page.getByLabel("Key starts with").fill("0001");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: "00010" }).waitFor();
    await expectAccessible(page, "the resources");
    await screenshot(page, "resources");
    await page.getByRole("link", { name: "00010" }).click();
    await page.getByRole("heading", { name: "Person 00010" }).waitFor();
    const links = page
      .getByRole("table")
      .filter({ has: page.getByRole("columnheader", { name: "Other end" }) });
    const other = links.getByRole("link").first();
    const otherName = (await other.textContent()) ?? "";
    await other.click();
    await page.getByRole("heading", { name: otherName }).waitFor();
    await expectAccessible(page, "a resource");
    await screenshot(page, "resource");

    // A person of the batch decided above: its history, with who decided.
    await page.goto(`${env.url}/#/resources?connector=HR&keyPrefix=00151`);
    await page.getByRole("link", { name: "00151" }).click();
    await page.getByRole("heading", { name: "History" }).waitFor();
    await page.getByRole("cell", { name: /alex/ }).first().waitFor();
    expect(await page.getByRole("cell", { name: /^delete resource/ }).count()).toBeGreaterThan(0);
    await expectAccessible(page, "a resource's history");

    await page.getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("rowheader", { name: "HR_daily" }).waitFor();
    await expectAccessible(page, "the jobs");
    await screenshot(page, "jobs");

    await page.goto(`${env.url}/#/orphans?connector=AD`);
    await page.getByRole("cell", { name: "CN=Nobody\\, Gone,OU=Users,DC=corp,DC=example" }).first().waitFor();
    await expectAccessible(page, "the orphans");
    await screenshot(page, "orphans");
    expect(errorsOf(page)).toEqual([]);
  });

  it("refuses a change without the CSRF token, and an ended session goes back to sign-in", async () => {
    const page = await newPage(browser);
    await signIn(page, env.url, APPROVER);
    const refused = await fetchFromPage(page, "POST", `/api/v1/batches/${env.hrInitial}/undo`, null);
    expect(refused).toMatchObject({ status: 403, body: { code: "CSRF" } });

    // The server no longer knows the session (expired, signed out elsewhere, restarted).
    await page.context().addCookies([{ name: "syncup_session", value: "ended", url: env.url }]);
    await page.getByText("Your session has ended").waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Sign in" }).waitFor();

    // Sign in again, then sign out.
    await page.getByLabel("Administrator name").fill(APPROVER.id);
    await page.getByLabel("Token").fill(APPROVER.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You are signed out.").waitFor();
    expect((await fetchFromPage(page, "GET", "/api/v1/session", null)).status).toBe(401);
    expect(errorsOf(page)).toEqual([]);
  });
});
