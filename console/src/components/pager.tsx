/** Keyset paging controls: the cursors of the pages seen are kept, so Previous goes back. */
import { useState } from "preact/hooks";

export interface Cursors {
  readonly after: string | undefined;
  readonly page: number;
  next(cursor: string): void;
  previous(): void;
  reset(): void;
}

export function useCursors(): Cursors {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  return {
    after: stack[stack.length - 1],
    page: stack.length,
    next: (cursor) => setStack([...stack, cursor]),
    previous: () => setStack(stack.length > 1 ? stack.slice(0, -1) : stack),
    reset: () => setStack([undefined]),
  };
}

export function Pager(props: {
  readonly cursors: Cursors;
  readonly next: string | null;
  readonly label: string;
}) {
  const { cursors, next } = props;
  if (cursors.page === 1 && next === null) return null;
  return (
    <nav class="pager" aria-label={`Pages of ${props.label}`}>
      <button type="button" disabled={cursors.page === 1} onClick={() => cursors.previous()}>
        Previous page
      </button>
      <span>Page {cursors.page}</span>
      <button type="button" disabled={next === null} onClick={() => next !== null && cursors.next(next)}>
        Next page
      </button>
    </nav>
  );
}
