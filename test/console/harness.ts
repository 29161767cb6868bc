/**
 * The admin console's browser tests: a real `syncup server` process (the built binary) on a free
 * port over a temporary SQLite repository, filled by agents sending real batches of the
 * quickstart's data (HR and AD loaded, then an HR complete that deletes half the people and is
 * blocked by its thresholds), and Debian's Chromium driven by `playwright-core`. axe-core is
 * injected into each page checked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import { APPROVER, VIEWER, withAdmins } from "../server/admins.js";
import { AS_AD, AS_HR, Api, makeEnv, prepare, writeHr, type TestEnv } from "../server/helpers.js";

const root = resolve(import.meta.dirname, "..", "..");
const BIN = join(root, "bin", "syncup.js");
export const CHROMIUM = "/usr/bin/chromium";
const AXE = join(root, "node_modules", "axe-core", "axe.min.js");

export { APPROVER, VIEWER };

export interface ConsoleEnv {
  readonly url: string;
  readonly env: TestEnv;
  readonly hr: Api;
  /** The HR complete batch blocked by its thresholds. */
  readonly blocked: string;
  readonly hrInitial: string;
  close(): Promise<void>;
}

/** A server process on the quickstart's data, with a viewer and an approver. */
export async function startConsoleEnv(): Promise<ConsoleEnv> {
  const dbDir = mkdtempSync(join(tmpdir(), "syncup-console-db-"));
  const base = await makeEnv(`sqlite:${join(dbDir, "repository.db")}`);
  const env: TestEnv = { ...base, config: await withAdmins(base) };
  // One membership whose member no entry has: an orphan to show.
  appendFileSync(
    join(env.dir, "ad", "ad_members.csv"),
    '"CN=SG_APP_Payroll,OU=Groups,DC=corp,DC=example";"CN=Nobody\\, Gone,OU=Users,DC=corp,DC=example"\n',
  );
  const server = spawn(process.execPath, [BIN, "server", "--config", env.configPath, "--port", "0"], {
    env: { ...process.env, SYNCUP_DATABASE_URL: env.databaseUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await listeningUrl(server);
  const anonymous = new Api(url, null);
  const hr = anonymous.as(AS_HR);
  const ad = anonymous.as(AS_AD);
  writeHr(env, 300);
  const hrInitial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
  expect((await hr.waitFor(hrInitial.id)).state).toBe("applied");
  const adInitial = await ad.notifyAndSend(await prepare(env, "AD", "initial"));
  expect((await ad.waitFor(adInitial.id)).state).toBe("applied");
  writeHr(env, 150);
  const blocked = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
  expect((await hr.waitFor(blocked.id)).state).toBe("blocked");
  return {
    url,
    env,
    hr,
    blocked: blocked.id,
    hrInitial: hrInitial.id,
    close: async () => {
      await stop(server);
      env.cleanup();
      rmSync(dbDir, { recursive: true, force: true });
    },
  };
}

/** The URL the server logs when it listens (its log is JSON lines on stdout). */
function listeningUrl(server: ChildProcess): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const output: string[] = [];
    const timer = setTimeout(
      () => reject(new Error(`the server did not start:\n${output.join("\n")}`)),
      30_000,
    );
    const lines = createInterface({ input: server.stdout! });
    lines.on("line", (line) => {
      output.push(line);
      const match = /"console":"([^"]+)\/"/.exec(line);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    server.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
    server.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${output.join("\n")}`));
    });
  });
}

function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    server.once("exit", () => resolvePromise());
    server.kill("SIGTERM");
  });
}

/** Debian's Chromium, headless; no browser is downloaded. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A fresh browser context (its own cookies) at a laptop's size, in a fixed time zone. */
export async function newPage(browser: Browser): Promise<Page> {
  // bypassCSP: the page's policy allows scripts of its origin only; axe-core is injected.
  const context = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    locale: "en-GB",
    timezoneId: "Europe/Paris",
    bypassCSP: true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  pageErrors.set(page, errors);
  return page;
}

const pageErrors = new WeakMap<Page, string[]>();

/** The script errors a page met (none, in a passing test). */
export function errorsOf(page: Page): readonly string[] {
  return pageErrors.get(page) ?? [];
}

export async function signIn(page: Page, url: string, who: { id: string; token: string }): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel("Administrator name").fill(who.id);
  await page.getByLabel("Token").fill(who.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: AxeViolation[] }> } })
      .axe;
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
  });
  expect(violations, `accessibility of ${label}`).toEqual([]);
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Where screenshots go when `npm run screenshots` runs the tests (SYNCUP_SCREENSHOTS=docs). */
const SHOTS = process.env["SYNCUP_SCREENSHOTS"];

/** Saves `docs/console-<name>.png` in screenshot mode (scrolled to `top`); does nothing otherwise. */
export async function screenshot(page: Page, name: string, top?: Locator): Promise<void> {
  if (SHOTS === undefined || SHOTS === "") return;
  // What is shown is the page after its data came: no request still running.
  await page.waitForLoadState("networkidle");
  if (top !== undefined) await top.evaluate('(element) => element.scrollIntoView({ block: "start" })');
  await page.screenshot({ path: join(root, SHOTS, `console-${name}.png`), fullPage: false });
}
