#!/usr/bin/env node
/**
 * `npm run check:sizes`: no file of src/ over 400 lines unless its opening comment says why (a
 * line starting with `Long file:`), and no function over 100 lines. src/bench/ is left aside
 * (benchmark scripts, not the product). Lengths are lines from a node's first token to its
 * last, both included, as the TypeScript compiler parses them: function declarations, methods,
 * constructors, accessors, arrow functions and function expressions; a function's length
 * includes the functions nested in it.
 *
 * Test files (`*.test.ts`) are held to the file rule only: a `describe` callback is a list of
 * cases, not a function one reads as a unit.
 *
 * Usage: node scripts/check-sizes.mjs [folder…]   (default: src). Exit 1 lists the offenders.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 100;
const ROOT = resolve(import.meta.dirname, "..");
/** Left aside: the benchmarks (`src/bench/`). */
const EXCLUDED = /(^|\/)src\/bench(\/|$)/;

/** Every .ts file below `dir` (declaration files aside), in a stable order. */
function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (EXCLUDED.test(relative(ROOT, path).split(sep).join("/"))) continue;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(c|m)?tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Whether the comments before the file's first statement hold a line starting with `Long file:`. */
function justifiedLong(source) {
  const comments = ts.getLeadingCommentRanges(source.text, 0) ?? [];
  return comments.some((c) =>
    source.text
      .slice(c.pos, c.end)
      .split("\n")
      .some((line) => /^\s*(\/\/+|\/\*+|\*)?\s*Long file:\s*\S/.test(line)),
  );
}

const lineOf = (source, pos) => source.getLineAndCharacterOfPosition(pos).line + 1;

/** A readable name of a function node: its own, its variable's or property's, or its caller's. */
function nameOf(node, source) {
  if (node.name !== undefined) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent)) {
    const callee = parent.expression.getText(source).replace(/\s+/g, "");
    const shown = callee.length > 40 ? `…${callee.slice(-40)}` : callee;
    return `(callback of ${shown})`;
  }
  return "(anonymous)";
}

function isFunction(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node)
  );
}

/** The offenders of one file, as lines of the report. */
function check(path) {
  const text = readFileSync(path, "utf8");
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const rel = relative(ROOT, path);
  const offenders = [];
  const fileLines = text.endsWith("\n") ? text.split("\n").length - 1 : text.split("\n").length;
  if (fileLines > MAX_FILE_LINES && !justifiedLong(source)) {
    offenders.push(
      `${rel}: ${fileLines} lines (over ${MAX_FILE_LINES}: split it, or say why in an opening comment starting with "Long file:")`,
    );
  }
  const isTest = /\.test\.(c|m)?tsx?$/.test(path);
  const visit = (node) => {
    if (isTest) return;
    if (isFunction(node) && node.body !== undefined) {
      const start = lineOf(source, node.getStart(source));
      const lines = lineOf(source, node.getEnd()) - start + 1;
      if (lines > MAX_FUNCTION_LINES) {
        offenders.push(
          `${rel}:${start}: function ${nameOf(node, source)}: ${lines} lines (over ${MAX_FUNCTION_LINES})`,
        );
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return offenders;
}

const folders = process.argv.length > 2 ? process.argv.slice(2) : ["src"];
const files = folders.flatMap((f) => sourceFiles(resolve(ROOT, f)));
const offenders = files.flatMap(check);
if (offenders.length > 0) {
  console.error(offenders.join("\n"));
  console.error(
    `check:sizes: ${offenders.length} offender(s) in ${files.length} files (at most ${MAX_FILE_LINES} lines a file, ${MAX_FUNCTION_LINES} a function).`,
  );
  process.exit(1);
}
console.log(
  `check:sizes: ${files.length} files, none over ${MAX_FILE_LINES} lines without a reason, no function over ${MAX_FUNCTION_LINES} lines.`,
);
