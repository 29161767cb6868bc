/**
 * SCIM attribute paths and how a resource's values become CSV cells (pure).
 *
 * A path is `[<schema URN>:]name[selector](.name[selector])*`, names matched without regard to
 * case (RFC 7643 2.1). A selector picks one element of a multi-valued attribute: `[primary]`
 * (the element with `primary: true`, else the first), `[<n>]` (0-based), `[<sub>=<value>]`
 * (the first element whose sub-attribute has that value, e.g. `emails[type=work].value`).
 * Through a multi-valued attribute without a selector the path yields every value; the cell
 * then joins them with `|` (escaping `\` and `|`), even when there is only one.
 */
import { joinValues } from "../../core/multi-value.js";

type Selector =
  | { readonly kind: "primary" }
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "match"; readonly attribute: string; readonly value: string };

interface Step {
  readonly name: string;
  readonly selector: Selector | undefined;
}

export interface AttributePath {
  readonly text: string;
  /** The extension schema URN the path starts in, if any. */
  readonly schema: string | undefined;
  readonly steps: readonly Step[];
}

/** Parses a path; throws on a malformed one (the settings schema checks the shape first). */
export function parsePath(text: string): AttributePath {
  let schema: string | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const cut = text.lastIndexOf(":");
    schema = text.slice(0, cut);
    rest = text.slice(cut + 1);
  }
  const steps = rest.split(".").map((part): Step => {
    const m = /^([^[\]]+)(?:\[([^\]]+)\])?$/.exec(part);
    if (m === null) throw new Error(`"${text}" is not an attribute path`);
    const [, name, selector] = m as unknown as [string, string, string | undefined];
    return { name, selector: selector === undefined ? undefined : parseSelector(selector.trim(), text) };
  });
  return { text, schema, steps };
}

function parseSelector(text: string, path: string): Selector {
  if (text.toLowerCase() === "primary") return { kind: "primary" };
  if (/^\d+$/.test(text)) return { kind: "index", index: Number(text) };
  const m = /^([A-Za-z$][\w$-]*)\s*=\s*"?([^"]*)"?$/.exec(text);
  if (m === null)
    throw new Error(`"${path}": unknown selector [${text}] (use [primary], [0] or [type=work])`);
  return { kind: "match", attribute: m[1] as string, value: m[2] as string };
}

/** The top-level attribute a path reads (for the `attributes` query parameter). */
export function topAttribute(path: AttributePath): string {
  const first = path.steps[0]?.name ?? "";
  return path.schema === undefined ? first : `${path.schema}:${first}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A member of an object by name, without regard to case. */
function member(object: Record<string, unknown>, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function select(elements: readonly unknown[], selector: Selector): unknown {
  switch (selector.kind) {
    case "primary":
      return elements.find((e) => isObject(e) && member(e, "primary") === true) ?? elements[0];
    case "index":
      return elements[selector.index];
    case "match":
      return elements.find((e) => isObject(e) && String(member(e, selector.attribute)) === selector.value);
  }
}

/** The values a path reaches in a resource, and whether it went through a multi-valued attribute. */
export function evaluatePath(
  resource: Record<string, unknown>,
  path: AttributePath,
): { values: unknown[]; multi: boolean } {
  let current: unknown[] = [path.schema === undefined ? resource : member(resource, path.schema)];
  let multi = false;
  for (const step of path.steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (!isObject(value)) continue;
      const found = member(value, step.name);
      if (found === undefined || found === null) continue;
      if (Array.isArray(found)) {
        if (step.selector !== undefined) {
          const one = select(found, step.selector);
          if (one !== undefined && one !== null) next.push(one);
        } else {
          multi = true;
          next.push(...(found as unknown[]).filter((v) => v !== undefined && v !== null));
        }
      } else if (step.selector === undefined) {
        next.push(found);
      } else {
        const one = select([found], step.selector);
        if (one !== undefined && one !== null) next.push(one);
      }
    }
    current = next;
  }
  return { values: current, multi };
}

/** A value as text: strings as they are, booleans `true`/`false`, numbers in JSON form, complex values as JSON. */
export function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  return JSON.stringify(value);
}

/** The cell of a path in a resource (see the module comment). */
export function pathCell(resource: Record<string, unknown>, path: AttributePath): string {
  const { values, multi } = evaluatePath(resource, path);
  const texts = values.map(valueText);
  return multi ? joinValues(texts) : (texts[0] ?? "");
}

/** The values of a path as text, without repeats (for link files). */
export function pathValues(resource: Record<string, unknown>, path: AttributePath): string[] {
  return [...new Set(evaluatePath(resource, path).values.map(valueText))];
}
