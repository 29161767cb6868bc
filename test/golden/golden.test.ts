/**
 * Golden-file tests of export + prepare. Each folder of test/fixtures/ is a case:
 *
 *   syncup.yaml          its configuration (the csv connection reads ./source, workDir ./work)
 *   case.yaml            the steps: which input folder becomes ./source, the mode, what to expect
 *   <input>/             the CSV files as a user would drop them
 *   <expected>/          the prepared files expected in work/<connector>/ after the step
 *
 * A step that expects an error also checks that the outputs of the last good step and
 * previous/ are left exactly as they were.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import type { Mode } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load.js";
import { SyncupError } from "../../src/errors.js";
import { exportConnector } from "../../src/export/export.js";
import { prepareConnector } from "../../src/prepare/prepare.js";
import { acceptPrepared } from "../../src/prepare/previous.js";

interface Step {
  mode: Mode;
  input: string;
  accept?: boolean;
  expect?: string;
  error?: { code: string; message: string };
}

const fixtures = join(import.meta.dirname, "..", "fixtures");
const scratch = mkdtempSync(join(tmpdir(), "syncup-golden-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every file below `dir` with its content, by relative path. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return out;
}

for (const name of readdirSync(fixtures).filter((n) => existsSync(join(fixtures, n, "case.yaml")))) {
  describe(`golden: ${name}`, () => {
    const spec = parse(readFileSync(join(fixtures, name, "case.yaml"), "utf8")) as {
      connector: string;
      steps: Step[];
    };
    const dir = join(scratch, name);
    cpSync(join(fixtures, name), dir, { recursive: true });

    spec.steps.forEach((step, index) => {
      it(`step ${index + 1}: ${step.mode} from ${step.input}${step.error ? ` fails with ${step.error.code}` : ""}`, async () => {
        rmSync(join(dir, "source"), { recursive: true, force: true });
        cpSync(join(dir, step.input), join(dir, "source"), { recursive: true });
        const config = await loadConfig(join(dir, "syncup.yaml"), {});
        const work = join(config.workDir, spec.connector);
        const before = snapshot(work);
        const run = async () => {
          await exportConnector(config, spec.connector, step.mode);
          await prepareConnector(config, spec.connector, step.mode);
        };
        if (step.error !== undefined) {
          const error = await run().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(SyncupError);
          expect((error as SyncupError).code).toBe(step.error.code);
          expect((error as SyncupError).message).toContain(step.error.message);
          expect(snapshot(work)).toEqual(before);
          return;
        }
        await run();
        if (step.expect !== undefined) {
          const expected = snapshot(join(dir, step.expect));
          // A missing or empty expected folder would compare nothing.
          expect(Object.keys(expected).length, `files in ${step.expect}`).toBeGreaterThan(0);
          const actual = snapshot(work);
          for (const [file, content] of Object.entries(expected)) {
            expect(actual[file], `${file} of step ${index + 1}`).toBe(content);
          }
        }
        if (step.accept === true) await acceptPrepared(config, spec.connector, `batch-${index + 1}`);
      });
    });
  });
}
