/**
 * The "may import" column of ARCHITECTURE.md's folder table, read as the rules of the import
 * lint (`eslint.config.js`): one source of truth, so that the map and the build cannot disagree.
 *
 * How a row reads (its first cell names a folder, `src/core/`, or a file, `src/errors.ts`; its
 * last cell is split into clauses on ";"):
 *
 * - `nothing of ours`: no other file of `src/`; `everything`: any file of `src/`.
 * - a backticked `src/…` path: that folder or file may be imported; `(types only)` right after
 *   it allows `import type` only. Other text in parentheses is a comment.
 * - a clause that starts with "no": what it names is forbidden: `src/…` paths (even inside an
 *   allowed folder), modules (`node:fs` and its sub-paths), and the module groups that the
 *   list under the table defines (`- _driver_: `pg`, …`), named by their word ("no driver").
 * - other backticked names (`node:fs`, `zod`) say what a folder uses; they govern nothing.
 *
 * A file may always import its own folder's files, and what the line "Every folder may also
 * import …" under the table names. For an import, the most specific path decides (a file over
 * its folder, a forbidden path over an allowed one of the same length). Relative specifiers are
 * matched per directory, so `../config/x.js` from `src/core/` and `../../config/x.js` from
 * `src/store/sqlite/` are the same target; a specifier that is not in its shortest form
 * (`../cli/../core/x.js`) is refused, so that no path gets round the table.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, posix } from "node:path";

const TABLE_HEADER = /^\|\s*folder\s*\|.*\|\s*may import\s*\|\s*$/m;
const EVERY_FOLDER = /^Every folder may also import (.+)$/m;
const GROUP_LINE = /^- _([^_]+)_: (.+)$/gm;
const TICKED = /`([^`]+)`/g;

/**
 * Reads ARCHITECTURE.md's table. Throws, naming the line, on a row it cannot read: a broken
 * table must fail the lint, not switch it off.
 *
 * @param {string} root the repository's folder
 */
export function readArchitecture(root) {
  const text = readFileSync(join(root, "ARCHITECTURE.md"), "utf8");
  const header = TABLE_HEADER.exec(text);
  if (header === null) throw new Error('ARCHITECTURE.md: no table with the columns "folder" … "may import"');
  const lines = text.slice(header.index).split("\n");
  const tableLines = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith("|")) break;
    tableLines.push(line);
  }
  const groups = new Map();
  for (const match of text.matchAll(GROUP_LINE)) {
    groups.set(match[1].toLowerCase(), ticked(match[2]));
  }
  const every = EVERY_FOLDER.exec(text);
  const everyFolder = every === null ? [] : ticked(every[1]).map(srcPath);
  const rows = [];
  for (const line of tableLines) {
    const cells = line.split("|").slice(1, -1);
    const name = /`([^`]+)`/.exec(cells[0] ?? "")?.[1];
    if (name === undefined) throw new Error(`ARCHITECTURE.md: a row without a folder: ${line}`);
    if (!name.startsWith("src/")) continue;
    const cell = (cells.at(-1) ?? "").trim();
    rows.push({ path: srcPath(name), isFile: name.endsWith(".ts"), cell, ...parseCell(cell, groups, name) });
  }
  return { rows, everyFolder, groups };
}

/** @param {string} text */
function ticked(text) {
  return [...text.matchAll(TICKED)].map((m) => m[1]);
}

/** `src/core/` → `src/core`. */
function srcPath(name) {
  return name.replace(/\/+$/, "");
}

function parseCell(cell, groups, row) {
  const allowed = [];
  const forbiddenPaths = [];
  const forbiddenModules = [];
  let everything = false;
  let nothing = false;
  for (const raw of cell.split(";")) {
    const clause = raw.trim();
    if (clause === "") continue;
    if (/^no\b/i.test(clause)) {
      const bare = clause.replace(/\([^)]*\)/g, "");
      for (const name of ticked(bare)) {
        if (name.startsWith("src/")) forbiddenPaths.push(srcPath(name));
        else forbiddenModules.push(name);
      }
      for (const [word, modules] of groups) {
        if (new RegExp(`\\b${word}s?\\b`, "i").test(bare.replace(TICKED, "")))
          forbiddenModules.push(...modules);
      }
      continue;
    }
    if (/\beverything\b/i.test(clause)) everything = true;
    if (/\bnothing of ours\b/i.test(clause)) nothing = true;
    for (const match of clause.matchAll(/`(src\/[^`]+)`(\s*\(types only\))?/g)) {
      allowed.push({ path: srcPath(match[1]), typesOnly: match[2] !== undefined });
    }
  }
  if (!everything && !nothing && allowed.length === 0 && forbiddenModules.length === 0) {
    throw new Error(`ARCHITECTURE.md: the row of ${row} says nothing that the lint can read: "${cell}"`);
  }
  return { allowed, forbiddenPaths, forbiddenModules, everything };
}

/** Every folder of `src/` (and `src/` itself), as repository-relative paths. */
export function sourceFolders(root) {
  const out = [];
  const walk = (dir) => {
    out.push(dir);
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(posix.join(dir, entry.name));
    }
  };
  walk("src");
  return out;
}

/** The row that governs the files of `folder`: the longest folder row at or above it. */
export function rowOf(architecture, folder) {
  let best;
  for (const row of architecture.rows) {
    if (row.isFile) continue;
    if (folder === row.path || folder.startsWith(`${row.path}/`)) {
      if (best === undefined || row.path.length > best.path.length) best = row;
    }
  }
  return best;
}

/** Is `path` the same as `prefix`, or inside it? */
function within(path, prefix) {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * What a file governed by `row` may do with `target` (a path of `src/`): its own folder (or,
 * for a file row, itself) is allowed unless the row forbids it.
 * Answers "allow", "types" or "deny". `extra`: paths allowed to one file (known violations).
 */
function decide(architecture, row, target, extra) {
  /** @type {{ path: string, verdict: string, rank: number }[]} */
  const entries = [
    { path: "src", verdict: row.everything ? "allow" : "deny", rank: 0 },
    { path: row.path, verdict: "allow", rank: 0 },
    ...architecture.everyFolder.map((path) => ({ path, verdict: "allow", rank: 0 })),
    ...row.allowed.map((a) => ({ path: a.path, verdict: a.typesOnly ? "types" : "allow", rank: 1 })),
    ...row.forbiddenPaths.map((path) => ({ path, verdict: "deny", rank: 2 })),
    ...extra.map((path) => ({ path, verdict: "allow", rank: 3 })),
  ];
  let best;
  for (const entry of entries) {
    if (!within(target, entry.path)) continue;
    if (
      best === undefined ||
      entry.path.length > best.path.length ||
      (entry.path.length === best.path.length && entry.rank > best.rank)
    ) {
      best = entry;
    }
  }
  return best.verdict;
}

/** The paths that `decide` looks at for this row: where a verdict may change. */
function boundaries(architecture, row, extra) {
  return [
    row.path,
    ...architecture.everyFolder,
    ...row.allowed.map((a) => a.path),
    ...row.forbiddenPaths,
    ...extra,
  ];
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The regular expression of the specifiers, written in `folder`, that reach `target`. */
function specifierPattern(folder, target) {
  let rel = posix.relative(folder, target);
  if (!rel.startsWith(".")) rel = rel === "" ? "." : `./${rel}`;
  if (target.endsWith(".ts")) return `^${escapeRegExp(rel.slice(0, -3))}\\.(?:js|ts)$`;
  return `^${escapeRegExp(rel)}/`;
}

/**
 * The specifiers, written in `folder`, that are not in their shortest form: a `.` or `..` after
 * a folder name (`./../x`, `a/../b`), or a way up and back down into `folder` itself
 * (`../commands/x` from `src/cli/commands`), which would get round a rule on `./`.
 */
function longWay(folder) {
  const alternatives = ["^\\./\\.", "^(?:\\.\\./)*(?:\\./)?[^./][^/]*/(?:[^/]+/)*\\.\\.?(?:/|$)"];
  const parts = folder.split("/");
  for (let up = 1; up <= parts.length; up++) {
    alternatives.push(`^(?:\\.\\./){${up}}${escapeRegExp(parts.slice(-up).join("/"))}(?:/|$)`);
  }
  return alternatives.join("|");
}

/** The restricted-import patterns for the files of `folder` under `row`. */
export function patternsFor(root, architecture, row, folder, extra = []) {
  const cuts = boundaries(architecture, row, extra);
  const message = `ARCHITECTURE.md: ${row.path}${row.isFile ? "" : "/"} may import ${row.cell}`;
  const patterns = [];
  const visit = (path) => {
    const inside = cuts.some((cut) => cut !== path && cut.startsWith(`${path}/`));
    if (!inside) {
      const verdict = decide(architecture, row, path, extra);
      if (verdict !== "allow") {
        patterns.push({
          regex: specifierPattern(folder, path),
          message: verdict === "types" ? `${message} (here: types only)` : message,
          ...(verdict === "types" ? { allowTypeImports: true } : {}),
        });
      }
      return;
    }
    for (const entry of readdirSync(join(root, path), { withFileTypes: true })) {
      if (entry.isDirectory() || entry.name.endsWith(".ts")) visit(posix.join(path, entry.name));
    }
  };
  visit("src");
  for (const module of row.forbiddenModules) {
    const bare = module.startsWith("node:") ? module.slice(5) : undefined;
    const names = bare === undefined ? [module] : [module, bare];
    const alternatives = names.map((name) =>
      name.endsWith("/*") ? `${escapeRegExp(name.slice(0, -1))}` : `${escapeRegExp(name)}(?:/|$)`,
    );
    patterns.push({ regex: `^(?:${alternatives.join("|")})`, message });
  }
  patterns.push({ regex: longWay(folder), message: "Write a relative import in its shortest form." });
  return patterns;
}

/**
 * The flat-config blocks of the import lint: one per folder of `src/` (its files only), then
 * one per file row and per file with known violations, which come later and so win.
 *
 * @param {string} root
 * @param {readonly { file: string, import: string }[]} knownViolations
 */
export function importBoundaryConfigs(root, knownViolations = []) {
  const architecture = readArchitecture(root);
  const rule = "@typescript-eslint/no-restricted-imports";
  const configs = [];
  const missing = [];
  for (const folder of sourceFolders(root)) {
    const row = rowOf(architecture, folder);
    if (row === undefined) {
      if (folder !== "src" && hasSource(root, folder)) missing.push(folder);
      continue;
    }
    configs.push({
      files: [`${folder}/*.ts`],
      rules: { [rule]: ["error", { patterns: patternsFor(root, architecture, row, folder) }] },
    });
  }
  for (const topLevel of readdirSync(join(root, "src"))) {
    const path = `src/${topLevel}`;
    if (topLevel.endsWith(".ts") && !architecture.rows.some((r) => r.path === path)) missing.push(path);
  }
  if (missing.length > 0) {
    throw new Error(`ARCHITECTURE.md: the folder table has no row for ${missing.join(", ")}`);
  }
  const fileRows = new Map(architecture.rows.filter((r) => r.isFile).map((r) => [r.path, r]));
  const extras = new Map();
  for (const known of knownViolations) {
    if (!existsSync(join(root, known.file))) continue;
    const target = posix.join(posix.dirname(known.file), known.import).replace(/\.js$/, ".ts");
    extras.set(known.file, [...(extras.get(known.file) ?? []), target]);
  }
  for (const file of new Set([...fileRows.keys(), ...extras.keys()])) {
    if (!existsSync(join(root, file))) continue;
    const folder = posix.dirname(file);
    const row = fileRows.get(file) ?? rowOf(architecture, folder);
    if (row === undefined) continue;
    const patterns = patternsFor(root, architecture, row, folder, extras.get(file) ?? []);
    configs.push({ files: [file], rules: { [rule]: ["error", { patterns }] } });
  }
  return configs;
}

function hasSource(root, folder) {
  return readdirSync(join(root, folder)).some(
    (name) => name.endsWith(".ts") || statSync(join(root, folder, name)).isDirectory(),
  );
}
