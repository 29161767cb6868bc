/** The pieces every filter form and table of the console is made of. */

/** A labelled choice among `options` (value, or [value, label]), with "all" first unless `all` is false. */
export function Choice(props: {
  readonly label: string;
  readonly value: string;
  readonly options: readonly (string | readonly [string, string])[];
  readonly onChange: (value: string) => void;
  readonly all?: boolean;
}) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.all !== false && <option value="">all</option>}
        {props.options.map((o) => {
          const [value, label] = typeof o === "string" ? [o, o] : o;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </label>
  );
}

/** A table's column headers; a name ending in `#` is a number column (right-aligned). */
export function Head({ columns }: { readonly columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) =>
          c.endsWith("#") ? (
            <th key={c} scope="col" class="num">
              {c.slice(0, -1)}
            </th>
          ) : (
            <th key={c} scope="col">
              {c}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}
