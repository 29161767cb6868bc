/**
 * The prepared-files manifest, `prepare.json`: what one prepare produced (the connector, the
 * mode, each file with its row count, size and SHA-256). The agent writes it last, as the commit
 * point of a prepare, and sends it with the batch; the server checks a seal against it and the
 * synchronization reads its files through it.
 *
 * This is a contract between two processes, so it has one validating reader that every side
 * uses: `parsePrepareManifest` takes whatever `JSON.parse` made of the file and answers the
 * typed manifest, or throws a `ManifestInvalidError` that lists every problem with its path
 * (`files[0].sha256: expected 64 lowercase hex digits, found "abc"`). Part of `src/protocol/`, a
 * leaf that imports nothing else of ours, so that both sides can depend on it.
 */
import { z } from "zod";
import { MODES, type Mode } from "./mode.js";

export const PREPARED_KINDS = ["sorted", "delta", "nullpk", "duplicates"] as const;
export const DELTA_SOURCES = ["none", "previous", "command"] as const;

export type PreparedKind = (typeof PREPARED_KINDS)[number];

/** A prepared file's name is its mapping's name and the suffix of its kind. */
export const PREPARED_SUFFIX: Readonly<Record<PreparedKind, string>> = {
  sorted: ".sorted.csv",
  delta: ".sorted.delta",
  nullpk: ".nullpk.csv",
  duplicates: ".duplicates.csv",
};

export function preparedFileName(mapping: string, kind: PreparedKind): string {
  return `${mapping}${PREPARED_SUFFIX[kind]}`;
}

/** A file name relative to the manifest's folder: no separator, no `.` or `..`, no NUL. */
const FILE_NAME = /^(?!\.{1,2}$)[^/\\\0]{1,255}$/;
const SHA256 = /^[0-9a-f]{64}$/;

const count = z.number().int().min(0);

const manifestFile = z.object({
  mapping: z.string().min(1),
  kind: z.enum(PREPARED_KINDS),
  file: z.string().regex(FILE_NAME, { error: "a file name without a folder" }),
  rows: count,
  bytes: count,
  sha256: z.string().regex(SHA256, { error: "64 lowercase hex digits" }),
});

const mappingSummary = z.object({
  mapping: z.string().min(1),
  kind: z.enum(["entity", "association"]),
  source: z.string(),
  rowsRead: count,
  kept: count,
  nullKeys: count,
  duplicates: count,
  inserts: count,
  updates: count,
  deletes: count,
  merges: count,
});

/**
 * Unknown properties are dropped rather than refused: a newer agent may add some, and an older
 * server reads what it knows.
 */
const prepareManifest = z.object({
  connector: z.string().min(1),
  mode: z.enum(MODES),
  preparedAt: z.string().min(1),
  /** Incremental: how the changes were computed. */
  deltaSource: z.enum(DELTA_SOURCES),
  /** The batch that `previous/` came from when this prepare ran (incremental), else null. */
  baseBatch: z.string().min(1).nullable(),
  files: z.array(manifestFile),
  summaries: z.array(mappingSummary),
});

/** One file of a prepare. */
export type ManifestFile = Readonly<z.infer<typeof manifestFile>>;
/** What a prepare did with one mapping's rows. */
export type MappingSummary = Readonly<z.infer<typeof mappingSummary>>;

/** `prepare.json`: what one prepare produced. */
export interface PrepareManifest {
  readonly connector: string;
  readonly mode: Mode;
  readonly preparedAt: string;
  readonly deltaSource: (typeof DELTA_SOURCES)[number];
  readonly baseBatch: string | null;
  readonly files: readonly ManifestFile[];
  readonly summaries: readonly MappingSummary[];
}

/** Problems a message lists; the error's `problems` holds them all. */
const MAX_SHOWN = 10;

/** A `prepare.json` that is not one: `problems` lists each, with its path in the manifest. */
export class ManifestInvalidError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    const shown = problems.slice(0, MAX_SHOWN).join("; ");
    const more = problems.length > MAX_SHOWN ? `; and ${problems.length - MAX_SHOWN} more` : "";
    super(`"${source}" is not a prepare manifest: ${shown}${more}.`);
    this.name = "ManifestInvalidError";
  }
}

/**
 * Validates what `JSON.parse` made of a `prepare.json`; `source` names it in the error (a path,
 * or "prepare.json of batch …").
 *
 * @throws ManifestInvalidError naming every problem.
 */
export function parsePrepareManifest(value: unknown, source: string): PrepareManifest {
  const result = prepareManifest.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new ManifestInvalidError(source, result.error.issues.map(describeIssue));
}

/**
 * Parses the text of a `prepare.json` and validates it.
 *
 * @throws ManifestInvalidError when the text is not JSON or not a manifest.
 */
export function parsePrepareManifestJson(text: string, source: string): PrepareManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestInvalidError(source, [`not JSON (${(error as Error).message})`]);
  }
  return parsePrepareManifest(value, source);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join("");
  return `${path === "" ? "the manifest" : path}: ${problem(issue)}`;
}

/** One problem in one voice: what was expected, what was found. */
function problem(issue: z.core.$ZodIssue): string {
  if (issue.input === undefined) return "missing";
  return `expected ${expectation(issue)}, found ${shown(issue.input)}`;
}

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.expected === "int") return "an integer";
      return `${issue.expected === "object" || issue.expected === "array" ? "an" : "a"} ${issue.expected}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return issue.origin === "string" ? "a non-empty string" : `a number >= ${String(issue.minimum)}`;
    default:
      return issue.message;
  }
}

function shown(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
