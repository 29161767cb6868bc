/**
 * Refuses an import cycle between the folders of `src/` (ARCHITECTURE.md: "the folders form no
 * cycle"). Every module is collapsed into its folder (`src/store/sqlite/driver.ts` is
 * `src/store`; a file right under `src/` is its own node), every import counts (`import type`
 * too: a cycle of types still ties two folders together), and each strongly connected group of
 * folders is reported with every import between its members, one file for each:
 *
 *   Import cycle between folders: src/config, src/connectors
 *     src/config → src/connectors: src/config/resolve.ts imports "../connectors/index.js"
 *     src/connectors → src/config: src/connectors/native.ts imports "../config/config.js"
 *
 * Why a script: dependency-cruiser's `scope: "folder"` looks at each folder apart from its
 * subfolders, so `a → b/x` with `b/y → a` is no cycle to it; madge sees modules only.
 *
 * Usage: `node scripts/folder-cycles.mjs [root]`; exits 1 when there is a cycle.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

/** The import edges between the folders of `<root>/src`, with one example each. */
export function folderGraph(root) {
  /** @type {Map<string, Map<string, string>>} */
  const edges = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(?:ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) addFile(path);
    }
  };
  const addFile = (file) => {
    const from = folderOf(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const target = posix.join(posix.dirname(file), fileName);
      if (!target.startsWith("src/")) continue;
      const to = folderOf(target);
      if (to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      const out = edges.get(from);
      if (!out.has(to)) out.set(to, `${file} imports "${fileName}"`);
    }
  };
  walk("src");
  return edges;
}

/** `src/store/sqlite/driver.ts` → `src/store`; `src/errors.ts` → `src/errors.ts`. */
function folderOf(path) {
  const parts = path.split("/");
  return parts.length <= 2 ? path.replace(/\.js$/, ".ts") : `${parts[0]}/${parts[1]}`;
}

/**
 * The cycles of the graph, one per strongly connected group of two or more folders (Tarjan):
 * its folders, and its edges `{ from, to, example }`, the imports one would cut to break it.
 */
export function folderCycles(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  let next = 0;
  const connect = (node) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of edges.get(node)?.keys() ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node), index.get(to)));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) connect(node);
  return groups.map((folders) => ({
    folders,
    edges: folders.flatMap((from) =>
      [...(edges.get(from) ?? [])]
        .filter(([to]) => folders.includes(to))
        .map(([to, example]) => ({ from, to, example })),
    ),
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const root = resolve(process.argv[2] ?? ".");
  const cycles = folderCycles(folderGraph(root));
  for (const cycle of cycles) {
    console.error(`Import cycle between folders: ${cycle.folders.join(", ")}`);
    for (const edge of cycle.edges) console.error(`  ${edge.from} → ${edge.to}: ${edge.example}`);
  }
  if (cycles.length > 0) {
    console.error("ARCHITECTURE.md: the folders form no cycle; move what both sides need to the lower one.");
    process.exit(1);
  }
}
