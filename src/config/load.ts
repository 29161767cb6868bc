/**
 * Reads `syncup.yaml`: YAML syntax, then the schema, then cross-references. Every problem
 * is reported at once, each with its path and, where the YAML has it, its line and column.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from "yaml";
import { z } from "zod";
import { SyncupError } from "../errors.js";
import type { Config } from "./config.js";
import { folderProblems } from "./folders.js";
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
  const source = new ConfigSource(text, path);
  const config = source.resolve({ file, env });
  // The folders the commands will write to: a file in their place fails here, not mid-run.
  const problems = await folderProblems(config);
  if (problems.length > 0) source.fail(problems);
  return config;
}

/** Validates configuration text; `label` names the file in messages. */
export function parseConfig(
  text: string,
  options: { file: string; label: string; env: Readonly<Record<string, string | undefined>> },
): Config {
  return new ConfigSource(text, options.label).resolve(options);
}

/**
 * At most this many alias expansions when the YAML becomes data: a "billion laughs" document,
 * whose nested aliases expand exponentially, stops here instead of exhausting memory.
 */
export const MAX_YAML_ALIASES = 100;

/** A configuration's text, parsed, with what turns a problem's path into its line. */
class ConfigSource {
  private readonly lineCounter = new LineCounter();
  private readonly doc: Document;

  constructor(
    text: string,
    private readonly label: string,
  ) {
    // logLevel "error": no process warnings (a collection used as a key); the schema refuses such keys.
    this.doc = parseDocument(text, {
      lineCounter: this.lineCounter,
      uniqueKeys: true,
      prettyErrors: false,
      logLevel: "error",
    });
  }

  /** Syntax, then the schema, then cross-references: the resolved configuration, or CONFIG_INVALID. */
  resolve(options: { file: string; env: Readonly<Record<string, string | undefined>> }): Config {
    const { doc, lineCounter } = this;
    if (doc.errors.length > 0) {
      this.failAt(
        doc.errors.map((e) => {
          const pos = lineCounter.linePos(e.pos[0]);
          return `line ${pos.line}, column ${pos.col}: ${e.message.split("\n")[0] ?? ""}`;
        }),
      );
    }
    const data = this.toData();
    const cycle = cycleIn(data);
    if (cycle !== undefined) {
      return this.fail([
        {
          path: cycle,
          message: "this alias (*name) stands for a node that holds it: the configuration would be endless",
        },
      ]);
    }
    const parsed = configSchema.safeParse(data);
    const problems = [...nulProblems(data), ...(parsed.success ? [] : flattenIssues(parsed.error.issues))];
    if (!parsed.success || problems.length > 0) return this.fail(problems);
    const { config, problems: unresolved } = resolveConfig(parsed.data, {
      file: options.file,
      baseDir: dirname(options.file),
      env: options.env,
    });
    return config ?? this.fail(unresolved);
  }

  /** Throws CONFIG_INVALID with these problems, each with its path and line. */
  fail(problems: readonly ConfigProblem[]): never {
    return this.failAt(problems.map((p) => describe(p, this.doc, this.lineCounter)));
  }

  private failAt(lines: readonly string[]): never {
    throw new SyncupError(
      "CONFIG_INVALID",
      `"${this.label}" has ${lines.length} problem${lines.length === 1 ? "" : "s"}:\n${lines.map((l) => `  - ${l}`).join("\n")}`,
      { details: lines },
    );
  }

  /** The document as plain data, its aliases expanded (at most MAX_YAML_ALIASES of them). */
  private toData(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const alias = firstAliasPath(this.doc);
      if (alias === undefined) return this.failAt([`the YAML cannot be read as data: ${reason}`]);
      return this.fail([
        {
          path: alias,
          message: `this alias and those it expands make too much data (more than ${MAX_YAML_ALIASES} expansions: ${reason}): write the values out instead of nesting aliases`,
        },
      ]);
    }
  }
}

/** The configuration path of the document's first alias (`*name`), or undefined when it has none. */
function firstAliasPath(doc: Document): (string | number)[] | undefined {
  let found: (string | number)[] | undefined;
  visit(doc, {
    Alias(_key, alias, ancestors) {
      const chain = [...ancestors, alias];
      found = [];
      for (let i = 0; i + 1 < chain.length; i++) {
        const node = chain[i];
        const child = chain[i + 1];
        if (isPair(node) && child === node.value) {
          found.push(String(isScalar(node.key) ? node.key.value : node.key));
        } else if (isSeq(node)) {
          found.push(node.items.indexOf(child));
        }
      }
      return visit.BREAK;
    },
  });
  return found;
}

/** The path of a value that is its own ancestor (an alias inside the node it names), or undefined. */
function cycleIn(
  data: unknown,
  path: (string | number)[] = [],
  ancestors = new Set<object>(),
): (string | number)[] | undefined {
  if (data === null || typeof data !== "object") return undefined;
  if (ancestors.has(data)) return path;
  ancestors.add(data);
  const entries: [string | number, unknown][] = Array.isArray(data)
    ? data.map((item: unknown, i) => [i, item])
    : Object.entries(data);
  for (const [key, value] of entries) {
    const found = cycleIn(value, [...path, key], ancestors);
    if (found !== undefined) return found;
  }
  ancestors.delete(data);
  return undefined;
}

/** Every string of the configuration (keys and values) holding a NUL character, which no path, name or command can hold. */
function nulProblems(data: unknown, path: (string | number)[] = []): ConfigProblem[] {
  const problem = { path, message: "contains a NUL character (\\0), which no path, name or value can hold" };
  if (typeof data === "string") return data.includes("\0") ? [problem] : [];
  if (Array.isArray(data)) return data.flatMap((item: unknown, i) => nulProblems(item, [...path, i]));
  if (data === null || typeof data !== "object") return [];
  return Object.entries(data).flatMap(([key, value]) =>
    key.includes("\0") ? [{ ...problem, path: [...path, key] }] : nulProblems(value, [...path, key]),
  );
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
  // A key with a control character in it (a line break, a NUL) is shown quoted, escaped.
  const shown = problem.path.map((p) => ([...String(p)].some(isControl) ? JSON.stringify(p) : p));
  const where = shown.length === 0 ? "(top level)" : shown.join(".");
  let node: unknown = undefined;
  for (let n = problem.path.length; n >= 0 && !isNode(node); n--) {
    node = doc.getIn(problem.path.slice(0, n), true);
  }
  const range = isNode(node) ? node.range : undefined;
  const pos = range ? lineCounter.linePos(range[0]) : undefined;
  return `${where}: ${problem.message}${pos ? ` (line ${pos.line})` : ""}`;
}

function isControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}
