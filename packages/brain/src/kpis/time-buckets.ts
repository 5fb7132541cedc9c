/**
 * Sums over a sliding time window in fixed memory: a ring of `buckets` time
 * buckets of `bucketMs` each, every bucket holding `width` sums (one per key).
 * Adding to a bucket newer than the newest moves the window on and clears
 * what it leaves; a value older than the ring reaches is refused. The KPIs'
 * counters and means over recent windows, whatever the length of the run.
 */
export class TimeBuckets {
  private readonly data: Float64Array;
  /** number of the newest bucket (floor(ts / bucketMs)); -Infinity before the first */
  private head = -Infinity;

  constructor(readonly bucketMs: number, readonly buckets: number, readonly width = 1) {
    if (!(bucketMs > 0 && Number.isInteger(buckets) && buckets > 0 && Number.isInteger(width) && width > 0)) {
      throw new RangeError(`time buckets: bucketMs must be > 0 and buckets, width whole numbers > 0, got ${bucketMs}, ${buckets}, ${width}`);
    }
    this.data = new Float64Array(buckets * width);
  }

  /** Moves the window on to `ts` (clearing the buckets it leaves). */
  advance(ts: number): void {
    const b = Math.floor(ts / this.bucketMs);
    if (b <= this.head) return;
    const n = this.head === -Infinity ? 0 : Math.min(b - this.head, this.buckets);
    for (let k = 1; k <= n; k++) {
      const o = this.slot(this.head + k) * this.width;
      this.data.fill(0, o, o + this.width);
    }
    this.head = b;
  }

  /** Adds `value` to sum `key` at `ts`; false when `ts` is older than the ring reaches. */
  add(ts: number, key: number, value: number): boolean {
    this.advance(ts);
    const b = Math.floor(ts / this.bucketMs);
    if (b <= this.head - this.buckets) return false;
    this.data[this.slot(b) * this.width + key] += value;
    return true;
  }

  /** Sum `key` over the buckets of (fromTs, toTs] (to the bucket: the ones holding fromTs and older are left out). */
  sum(fromTs: number, toTs: number, key = 0): number {
    const [lo, hi] = this.range(fromTs, toTs);
    let s = 0;
    for (let b = lo; b <= hi; b++) s += this.data[this.slot(b) * this.width + key];
    return s;
  }

  /** Every key's sum over (fromTs, toTs], into `out` (width long). */
  sums(fromTs: number, toTs: number, out: Float64Array): Float64Array {
    out.fill(0);
    const [lo, hi] = this.range(fromTs, toTs);
    for (let b = lo; b <= hi; b++) {
      const o = this.slot(b) * this.width;
      for (let k = 0; k < this.width; k++) out[k] += this.data[o + k];
    }
    return out;
  }

  exportState(): TimeBucketsState {
    return { head: this.head, data: this.data.slice() };
  }

  /** Throws a RangeError naming `what` unless `s` has this ring's shape. */
  assertFits(s: TimeBucketsState, what: string): void {
    if (s.data.length !== this.data.length) throw new RangeError(`${what}: ${s.data.length} sums, expected ${this.data.length}`);
  }

  importState(s: TimeBucketsState, what: string): void {
    this.assertFits(s, what);
    this.head = s.head;
    this.data.set(s.data);
  }

  /** The bucket numbers of (fromTs, toTs] the ring holds; an empty range before the first value or for a time that is no number. */
  private range(fromTs: number, toTs: number): [number, number] {
    const lo = Math.max(Math.floor(fromTs / this.bucketMs) + 1, this.head - this.buckets + 1);
    const hi = Math.min(Math.floor(toTs / this.bucketMs), this.head);
    return Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : [0, -1];
  }

  private slot(b: number): number {
    return ((b % this.buckets) + this.buckets) % this.buckets;
  }
}

export interface TimeBucketsState {
  head: number;
  data: Float64Array;
}
