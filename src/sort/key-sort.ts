/**
 * In-memory stable sort of keys in ordinal (code point) order.
 *
 * Comparison sorts on JavaScript strings are slow here: `<` on the sliced strings a CSV parser
 * produces goes through the runtime, and every comparison chases pointers across the heap. So
 * keys are kept as UTF-16 code units in one typed array (see `row-store.ts`) and sorted by a
 * most-significant-digit radix sort on an index array. Each element carries a small window of
 * its key's next values, moved along with it, so that the passes read memory in order. The
 * sort is stable: equal keys keep their input order. Small groups finish by insertion sort.
 *
 * Each hot loop is a method of its own, so that V8 optimizes it with complete type feedback.
 */

/** The keys to sort: row i's key is `units[keyStart[i] .. keyEnd[i])`. */
export interface KeyTable {
  units: Uint16Array;
  keyStart: Int32Array;
  /** Length of column 0; for associations column 1 follows it directly, up to `keyEnd`. */
  firstLength: Int32Array;
  keyEnd: Int32Array;
  /** Whether keys are pairs (associations). */
  two: boolean;
}

/** Groups smaller than this are finished by insertion sort. */
const INSERTION_CUTOFF = 16;
/** Values of a key each element carries along. */
const WINDOW = 8;

/** Returns the row indices 0..n-1 ordered by key, equal keys in index order. */
export function sortKeys(table: KeyTable, n: number): Int32Array {
  return new RadixSorter(table, n).sort();
}

/** Moves U+D800–U+DFFF above U+E000–U+FFFF so that code unit order is code point order. */
function fixup(unit: number): number {
  return unit < 0xd800 ? unit : unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/*
 * Values of a key at depth d: 0 when the key has ended, 1 for the boundary between a pair's
 * two columns, else the (fixed-up) code unit + 2. So a key that is a prefix of another sorts
 * first, and a pair compares column 0 first.
 *
 * Digits: mode 0 uses the value itself when below 256; bucket 256 collects the rest, which
 * modes 1 and 2 then split by the value's high and low byte.
 */
class RadixSorter {
  private readonly units: Uint16Array;
  private readonly keyStart: Int32Array;
  private readonly firstLength: Int32Array;
  private readonly keyEnd: Int32Array;
  private readonly two: boolean;
  private readonly n: number;
  private readonly order: Int32Array;
  private readonly scratch: Int32Array;
  private readonly window: Int32Array;
  private readonly windowScratch: Int32Array;
  private readonly digits: Uint16Array;
  private readonly counts = new Int32Array(257);
  private readonly held = new Int32Array(WINDOW);
  /** Work stack of groups: lo, hi, depth, window base, mode. */
  private readonly stack: number[] = [];

  constructor(table: KeyTable, n: number) {
    this.units = table.units;
    this.keyStart = table.keyStart;
    this.firstLength = table.firstLength;
    this.keyEnd = table.keyEnd;
    this.two = table.two;
    this.n = n;
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    const work = n < INSERTION_CUTOFF ? 0 : n;
    this.scratch = new Int32Array(work);
    this.window = new Int32Array(n * WINDOW);
    this.windowScratch = new Int32Array(work * WINDOW);
    this.digits = new Uint16Array(work);
  }

  sort(): Int32Array {
    const n = this.n;
    if (n < 2) return this.order;
    const common = this.commonPrefix();
    this.fill(0, n, common);
    const stack = this.stack;
    stack.push(0, n, common, common, 0);
    while (stack.length > 0) {
      const mode = stack.pop() as number;
      const base = stack.pop() as number;
      const d = stack.pop() as number;
      const hi = stack.pop() as number;
      const lo = stack.pop() as number;
      this.group(lo, hi, d, base, mode);
    }
    return this.order;
  }

  private valueAt(row: number, d: number): number {
    const start = this.keyStart[row] as number;
    const first = this.firstLength[row] as number;
    if (d < first) return fixup(this.units[start + d] as number) + 2;
    if (!this.two) return 0;
    if (d === first) return 1;
    const p = start + d - 1;
    return p < (this.keyEnd[row] as number) ? fixup(this.units[p] as number) + 2 : 0;
  }

  private compareFrom(a: number, b: number, depth: number): number {
    for (let d = depth; ; d++) {
      const va = this.valueAt(a, d);
      const vb = this.valueAt(b, d);
      if (va !== vb) return va - vb;
      if (va === 0) return 0;
    }
  }

  /** Length of the prefix of column 0 that all keys share. */
  private commonPrefix(): number {
    const units = this.units;
    const keyStart = this.keyStart;
    const firstLength = this.firstLength;
    let common = firstLength[0] as number;
    const start0 = keyStart[0] as number;
    for (let i = 1; i < this.n && common > 0; i++) {
      const start = keyStart[i] as number;
      const limit = Math.min(common, firstLength[i] as number);
      let j = 0;
      while (j < limit && units[start + j] === units[start0 + j]) j++;
      common = j;
    }
    return common;
  }

  /** Loads the windows of positions lo..hi with the values from depth `base`. */
  private fill(lo: number, hi: number, base: number): void {
    const order = this.order;
    const window = this.window;
    for (let i = lo; i < hi; i++) {
      const row = order[i] as number;
      const w = i * WINDOW;
      for (let j = 0; j < WINDOW; j++) window[w + j] = this.valueAt(row, base + j);
    }
  }

  /** Sorts positions lo..hi, whose keys agree before depth d (window from `base`). */
  private group(lo: number, hi: number, depth: number, windowBase: number, startMode: number): void {
    let d = depth;
    let base = windowBase;
    let mode = startMode;
    for (;;) {
      if (d - base >= WINDOW) {
        this.fill(lo, hi, d);
        base = d;
      }
      if (hi - lo < INSERTION_CUTOFF) {
        this.insertion(lo, hi, d - base, base);
        return;
      }
      const firstDigit = this.count(lo, hi, d - base, mode);
      if (firstDigit >= 0) {
        // One bucket: nothing moves, look at the next digit.
        if (mode === 0) {
          if (firstDigit === 0) return; // all keys ended: equal keys, in input order
          if (firstDigit === 256) mode = 1;
          else d++;
        } else if (mode === 1) {
          mode = 2;
        } else {
          mode = 0;
          d++;
        }
        continue;
      }
      this.scatter(lo, hi);
      this.pushBuckets(lo, d, base, mode);
      return;
    }
  }

  /** Counts the digits of positions lo..hi; returns the digit if all share it, else -1. */
  private count(lo: number, hi: number, at: number, mode: number): number {
    const counts = this.counts;
    const digits = this.digits;
    const window = this.window;
    counts.fill(0);
    for (let i = lo; i < hi; i++) {
      const v = window[i * WINDOW + at] as number;
      const digit = mode === 0 ? (v < 256 ? v : 256) : mode === 1 ? v >> 8 : v & 255;
      digits[i] = digit;
      counts[digit] = (counts[digit] as number) + 1;
    }
    const first = digits[lo] as number;
    return counts[first] === hi - lo ? first : -1;
  }

  /** Moves positions lo..hi into buckets by digit (stably); counts become bucket ends. */
  private scatter(lo: number, hi: number): void {
    const counts = this.counts;
    const digits = this.digits;
    const order = this.order;
    const scratch = this.scratch;
    const window = this.window;
    const windowScratch = this.windowScratch;
    let sum = lo;
    for (let b = 0; b < 257; b++) {
      const c = counts[b] as number;
      counts[b] = sum;
      sum += c;
    }
    for (let i = lo; i < hi; i++) {
      const digit = digits[i] as number;
      const to = counts[digit] as number;
      counts[digit] = to + 1;
      scratch[to] = order[i] as number;
      const tw = to * WINDOW;
      const fw = i * WINDOW;
      for (let k = 0; k < WINDOW; k++) windowScratch[tw + k] = window[fw + k] as number;
    }
    order.set(scratch.subarray(lo, hi), lo);
    window.set(windowScratch.subarray(lo * WINDOW, hi * WINDOW), lo * WINDOW);
  }

  private pushBuckets(lo: number, d: number, base: number, mode: number): void {
    const counts = this.counts;
    const stack = this.stack;
    let start = lo;
    for (let b = 0; b < 257; b++) {
      const end = counts[b] as number;
      if (end - start > 1) {
        if (mode === 0) {
          if (b === 256) stack.push(start, end, d, base, 1);
          else if (b !== 0) stack.push(start, end, d + 1, base, 0);
          // b === 0: keys that ended, all equal, already in input order.
        } else if (mode === 1) {
          stack.push(start, end, d, base, 2);
        } else {
          stack.push(start, end, d + 1, base, 0);
        }
      }
      start = end;
    }
  }

  /** Insertion sort of positions lo..hi on the windows from `at`, then beyond them. */
  private insertion(lo: number, hi: number, at: number, base: number): void {
    const order = this.order;
    const window = this.window;
    const held = this.held;
    const beyond = base + WINDOW;
    for (let i = lo + 1; i < hi; i++) {
      const x = order[i] as number;
      const xw = i * WINDOW;
      for (let k = 0; k < WINDOW; k++) held[k] = window[xw + k] as number;
      // A key that ended within the window equals any key with the same window.
      const xEnded = held[WINDOW - 1] === 0;
      let j = i - 1;
      while (j >= lo) {
        const jw = j * WINDOW;
        let c = 0;
        for (let k = at; k < WINDOW && c === 0; k++) c = (window[jw + k] as number) - (held[k] as number);
        if (c === 0 && !xEnded) c = this.compareFrom(order[j] as number, x, beyond);
        if (c <= 0) break;
        order[j + 1] = order[j] as number;
        for (let k = WINDOW - 1; k >= 0; k--) window[jw + WINDOW + k] = window[jw + k] as number;
        j--;
      }
      order[j + 1] = x;
      const to = (j + 1) * WINDOW;
      for (let k = 0; k < WINDOW; k++) window[to + k] = held[k] as number;
    }
  }
}
