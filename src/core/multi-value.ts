/**
 * How the native connectors write a multi-valued attribute into one CSV cell: the values
 * joined by `|`, each value's `\` written `\\` and its `|` written `\|`. An empty cell is no
 * value. `splitValues` reads such a cell back.
 */
export const MULTI_VALUE_SEPARATOR = "|";

/** Joins values into one cell, escaping `\` and `|` in each value. */
export function joinValues(values: readonly string[]): string {
  let cell = "";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) cell += MULTI_VALUE_SEPARATOR;
    cell += escapeValue(values[i] as string);
  }
  return cell;
}

function escapeValue(value: string): string {
  if (!value.includes("\\") && !value.includes(MULTI_VALUE_SEPARATOR)) return value;
  return value.replaceAll("\\", "\\\\").replaceAll(MULTI_VALUE_SEPARATOR, "\\|");
}

/**
 * The values of a cell written by `joinValues` (an empty cell has none); `\` escapes the
 * next character, so a value may hold the separator.
 */
export function splitValues(cell: string, separator: string = MULTI_VALUE_SEPARATOR): string[] {
  if (cell === "") return [];
  const values: string[] = [];
  let current = "";
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i] as string;
    if (c === "\\" && i + 1 < cell.length) {
      current += cell[++i] as string;
    } else if (c === separator) {
      values.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  values.push(current);
  return values;
}
