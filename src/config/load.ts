/**
 * Reads `syncup.yaml`: YAML syntax, then the schema, then cross-references. Every problem
 * is reported at once, each with its path and, where the YAML has it, its line and column.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isNode, LineCounter, parseDocument, type Document } from "yaml";
import { z } from "zod";
import { SyncupError } from "../errors.js";
import type { Config } from "./config.js";
import { resolveConfig, type ConfigProblem } from "./resolve.js";
import { configSchema } from "./schema.js";

/** Loads, validates and freezes a configuration file; throws CONFIG_INVALID listing every problem. */
export async function loadConfig(
  path: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Config> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new SyncupError(
      "CONFIG_NOT_FOUND",
      `Cannot read the configuration "${path}": ${(error as NodeJS.ErrnoException).code ?? String(error)}. Pass --config with the path of a syncup.yaml.`,
      { cause: error },
    );
  }
  return parseConfig(text, { file, label: path, env });
}

/** Validates configuration text; `label` names the file in messages. */
export function parseConfig(
  text: string,
  options: { file: string; label: string; env: Readonly<Record<string, string | undefined>> },
): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const fail = (lines: string[]): never => {
    throw new SyncupError(
      "CONFIG_INVALID",
      `"${options.label}" has ${lines.length} problem${lines.length === 1 ? "" : "s"}:\n${lines.map((l) => `  - ${l}`).join("\n")}`,
      { details: lines },
    );
  };
  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `line ${pos.line}, column ${pos.col}: ${e.message.split("\n")[0] ?? ""}`;
      }),
    );
  }
  const parsed = configSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    fail(flattenIssues(parsed.error.issues).map((p) => describe(p, doc, lineCounter)));
    throw new Error("unreachable");
  }
  const { config, problems } = resolveConfig(parsed.data, {
    file: options.file,
    baseDir: dirname(options.file),
    env: options.env,
  });
  if (config === undefined) {
    fail(problems.map((p) => describe(p, doc, lineCounter)));
    throw new Error("unreachable");
  }
  return config;
}

/** Zod reports a failed union as one issue; show the branch that got furthest instead. */
function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // The branch with the fewest problems is the one the user meant; on a tie, the deepest.
      const best = [...issue.errors].sort((a, b) => a.length - b.length || depth(b) - depth(a))[0] ?? [];
      out.push(...flattenIssues(best, path));
    } else if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push({ path: [...toPath(path), key], message: `unknown key "${key}"` });
    } else {
      out.push({ path: toPath(path), message: issue.message });
    }
  }
  return out;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

function toPath(path: PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === "symbol" ? String(p) : p));
}

function describe(problem: ConfigProblem, doc: Document, lineCounter: LineCounter): string {
  const where = problem.path.length === 0 ? "(top level)" : problem.path.join(".");
  let node: unknown = undefined;
  for (let n = problem.path.length; n >= 0 && !isNode(node); n--) {
    node = doc.getIn(problem.path.slice(0, n), true);
  }
  const range = isNode(node) ? node.range : undefined;
  const pos = range ? lineCounter.linePos(range[0]) : undefined;
  return `${where}: ${problem.message}${pos ? ` (line ${pos.line})` : ""}`;
}
