import Table from "cli-table3";

/** Renders rows as a plain text table with a header line. */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const table = new Table({
    head: [...head],
    style: { head: [], border: [], compact: true },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const row of rows)
    table.push(row.map((cell) => (typeof cell === "number" ? cell.toLocaleString("en-US") : cell)));
  return table.toString();
}
