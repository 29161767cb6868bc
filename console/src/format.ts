/** Numbers with the browser's thousands separators, dates in the browser's time zone. */
const numbers = new Intl.NumberFormat();
const dates = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function num(n: number | null | undefined): string {
  return n === null || n === undefined ? "–" : numbers.format(n);
}

export function date(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dates.format(d);
}

/** How long from `from` to `to` (or now), in words: `2 min 5 s`. */
export function duration(from: string | null | undefined, to: string | null | undefined): string {
  if (from === null || from === undefined) return "–";
  const ms = (to === null || to === undefined ? Date.now() : Date.parse(to)) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `1 change`, `2 changes`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${num(n)} ${n === 1 ? word : many}`;
}

/** A short form of a batch GUID for tables (the full id is in the link's title). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
