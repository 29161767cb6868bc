/**
 * In-memory stable sort of keys in ordinal (code point) order.
 *
 * Comparison sorts on JavaScript strings are slow here: `<` on the sliced strings a CSV parser
 * produces goes through the runtime, and every comparison chases pointers across the heap. So
 * rows are kept as UTF-16 code units and records of typed arrays (see `row-store.ts`) and
 * sorted by a most-significant-digit radix sort of the records' offsets. Each element carries a small window of
 * its key's next values, moved along with it, so that the passes read memory in order. The
 * sort is stable: equal keys keep their input order. Small groups finish by insertion sort.
 *
 * Each hot loop is a method of its own, so that V8 optimizes it with complete type feedback.
 */
import { Buffer } from "node:buffer";

/**
 * Records to sort (see `row-store.ts`): `records` are their offsets in `meta`, in input order;
 * a record is the start of the row's text in `text`, its width and its field lengths.
 */
export interface KeyTable {
  text: Uint16Array;
  meta: Uint32Array;
  records: Int32Array;
  /** Whether keys are pairs (associations): column 0, then column 1. */
  two: boolean;
}

/** Groups smaller than this are finished by insertion sort. */
const INSERTION_CUTOFF = 16;
/**
 * Values of a key each element carries along, two to a 32-bit word. Values above 0xFFFF (only
 * for U+DFFD–U+DFFF) are kept as 0xFFFF there and looked up again when it matters.
 */
const WINDOW = 8;
const WORDS = WINDOW / 2;
const SATURATED = 0xffff;

/** Returns the first n record offsets ordered by key, equal keys in their given order. */
export function sortKeys(table: KeyTable, n: number, space = new SortSpace()): Int32Array {
  return new RadixSorter(table, n, space).sort();
}

/**
 * The arrays a sort works in, kept from one sort to the next (the runs of one external sort):
 * fresh memory costs a zero fill and a page fault a page, and these are about 40 bytes a row.
 * Their content does not outlive a sort.
 */
export class SortSpace {
  scratch = new Int32Array(0);
  window = new Uint32Array(0);
  windowScratch = new Uint32Array(0);
  digits = new Uint16Array(0);

  /** Makes room for sorting n elements. */
  reserve(n: number): void {
    if (this.scratch.length >= n) return;
    const size = Math.ceil(n * 1.25);
    this.scratch = new Int32Array(uninitialized(size * 4));
    this.window = new Uint32Array(uninitialized(size * WORDS * 4));
    this.windowScratch = new Uint32Array(uninitialized(size * WORDS * 4));
    this.digits = new Uint16Array(uninitialized(size * 2));
  }
}

/** Memory left as the allocator hands it out, neither zeroed nor touched. */
export function uninitialized(bytes: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(bytes).buffer;
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
  private readonly meta: Uint32Array;
  private readonly two: boolean;
  private readonly n: number;
  private readonly order: Int32Array;
  private readonly scratch: Int32Array;
  private readonly window: Uint32Array;
  private readonly windowScratch: Uint32Array;
  private readonly digits: Uint16Array;
  private readonly counts = new Int32Array(257);
  /** The range of digits the last `count` saw. */
  private low = 0;
  private high = 0;
  private readonly held = new Uint32Array(WORDS);
  /** Work stack of groups: lo, hi, depth, window base, mode. */
  private readonly stack: number[] = [];

  constructor(table: KeyTable, n: number, space: SortSpace) {
    this.units = table.text;
    this.meta = table.meta;
    this.two = table.two;
    this.n = n;
    this.order = table.records.slice(0, n);
    space.reserve(n);
    this.scratch = space.scratch;
    this.window = space.window;
    this.windowScratch = space.windowScratch;
    this.digits = space.digits;
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

  /** Where the key of the record at `record` starts. */
  private keyStart(record: number): number {
    return this.meta[record] as number;
  }

  /** Length of the record's field k (a key column). */
  private length(record: number, k: number): number {
    return this.meta[record + 2 + k] as number;
  }

  /** The value of a key at depth d (see above), given where it starts and its column lengths. */
  private value(start: number, first: number, second: number, d: number): number {
    if (d < first) return fixup(this.units[start + d] as number) + 2;
    if (!this.two) return 0;
    if (d === first) return 1;
    return d <= first + second ? fixup(this.units[start + d - 1] as number) + 2 : 0;
  }

  private compareFrom(a: number, b: number, depth: number): number {
    const aStart = this.keyStart(a);
    const aFirst = this.length(a, 0);
    const aSecond = this.two ? this.length(a, 1) : 0;
    const bStart = this.keyStart(b);
    const bFirst = this.length(b, 0);
    const bSecond = this.two ? this.length(b, 1) : 0;
    for (let d = depth; ; d++) {
      const va = this.value(aStart, aFirst, aSecond, d);
      const vb = this.value(bStart, bFirst, bSecond, d);
      if (va !== vb) return va - vb;
      if (va === 0) return 0;
    }
  }

  /** Length of the prefix of column 0 that all keys share. */
  private commonPrefix(): number {
    const units = this.units;
    const order = this.order;
    const first = order[0] as number;
    const start0 = this.keyStart(first);
    let common = this.length(first, 0);
    for (let i = 1; i < this.n && common > 0; i++) {
      const record = order[i] as number;
      const start = this.keyStart(record);
      const limit = Math.min(common, this.length(record, 0));
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
    const two = this.two;
    for (let i = lo; i < hi; i++) {
      const record = order[i] as number;
      const start = this.keyStart(record);
      const first = this.length(record, 0);
      const second = two ? this.length(record, 1) : 0;
      const w = i * WORDS;
      for (let j = 0; j < WORDS; j++) {
        const high = Math.min(this.value(start, first, second, base + 2 * j), SATURATED);
        const low = Math.min(this.value(start, first, second, base + 2 * j + 1), SATURATED);
        window[w + j] = high * 0x10000 + low;
      }
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
      this.count(lo, hi, d, d - base, mode);
      if (this.low === this.high) {
        // One bucket: nothing moves, look at the next digit.
        const firstDigit = this.low;
        this.counts[firstDigit] = 0;
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
      this.bucketStarts(lo);
      this.scatter(lo, hi);
      this.order.set(this.scratch.subarray(lo, hi), lo);
      this.window.set(this.windowScratch.subarray(lo * WORDS, hi * WORDS), lo * WORDS);
      this.pushBuckets(lo, d, base, mode);
      return;
    }
  }

  /**
   * Counts the digits of positions lo..hi (and notes each one's); `low`..`high` is the range
   * of digits seen. The counts are all 0 before (and again after the group is done).
   */
  private count(lo: number, hi: number, d: number, at: number, mode: number): void {
    const counts = this.counts;
    const digits = this.digits;
    const window = this.window;
    const word = at >> 1;
    const shift = at & 1 ? 0 : 16;
    let low = 256;
    let high = 0;
    for (let i = lo; i < hi; i++) {
      let v = ((window[i * WORDS + word] as number) >>> shift) & 0xffff;
      if (v === SATURATED && mode !== 0) v = this.exactValue(this.order[i] as number, d);
      const digit = mode === 0 ? (v < 256 ? v : 256) : mode === 1 ? v >> 8 : v & 255;
      digits[i] = digit;
      counts[digit] = (counts[digit] as number) + 1;
      if (digit < low) low = digit;
      if (digit > high) high = digit;
    }
    this.low = low;
    this.high = high;
  }

  /** Turns the counts into the start of each bucket. */
  private bucketStarts(lo: number): void {
    const counts = this.counts;
    let sum = lo;
    for (let b = this.low, high = this.high; b <= high; b++) {
      const c = counts[b] as number;
      counts[b] = sum;
      sum += c;
    }
  }

  /** Copies positions lo..hi into the scratch arrays by bucket (stably); counts become ends. */
  private scatter(lo: number, hi: number): void {
    const counts = this.counts;
    const digits = this.digits;
    const order = this.order;
    const scratch = this.scratch;
    const window = this.window;
    const windowScratch = this.windowScratch;
    for (let i = lo; i < hi; i++) {
      const digit = digits[i] as number;
      const to = counts[digit] as number;
      counts[digit] = to + 1;
      scratch[to] = order[i] as number;
      const tw = to * WORDS;
      const fw = i * WORDS;
      for (let k = 0; k < WORDS; k++) windowScratch[tw + k] = window[fw + k] as number;
    }
  }

  private pushBuckets(lo: number, d: number, base: number, mode: number): void {
    const counts = this.counts;
    const stack = this.stack;
    let start = lo;
    for (let b = this.low, high = this.high; b <= high; b++) {
      const end = counts[b] as number;
      counts[b] = 0;
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
      const xw = i * WORDS;
      for (let k = 0; k < WORDS; k++) held[k] = window[xw + k] as number;
      // A key that ended within the window equals any key with the same window.
      const xEnded = ((held[WORDS - 1] as number) & 0xffff) === 0;
      let j = i - 1;
      while (j >= lo) {
        const jw = j * WORDS;
        let c = 0;
        let k = at;
        for (; k < WINDOW; k++) {
          const shift = k & 1 ? 0 : 16;
          const a = ((window[jw + (k >> 1)] as number) >>> shift) & 0xffff;
          const b = ((held[k >> 1] as number) >>> shift) & 0xffff;
          if (a !== b) {
            c = a - b;
            break;
          }
          if (a === SATURATED) {
            c = this.compareFrom(order[j] as number, x, base + k);
            break;
          }
        }
        if (k === WINDOW && !xEnded) c = this.compareFrom(order[j] as number, x, beyond);
        if (c <= 0) break;
        order[j + 1] = order[j] as number;
        for (let m = WORDS - 1; m >= 0; m--) window[jw + WORDS + m] = window[jw + m] as number;
        j--;
      }
      order[j + 1] = x;
      const to = (j + 1) * WORDS;
      for (let m = 0; m < WORDS; m++) window[to + m] = held[m] as number;
    }
  }

  /** The exact value of a record's key at depth d. */
  private exactValue(record: number, d: number): number {
    const two = this.two;
    return this.value(this.keyStart(record), this.length(record, 0), two ? this.length(record, 1) : 0, d);
  }
}
