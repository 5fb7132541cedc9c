/**
 * The arrival rate of each lane where vehicles enter the network, from its
 * detector's reports: over a sliding window of W seconds, the vehicles that
 * passed the stop line plus the change in vehicles on the lane,
 *   rate = counted / covered + (vehicles(now) - vehicles(now - W)) / W,
 * where `counted` is what the reports received in the window counted and
 * `covered` the seconds their intervals cover: a lost report takes its
 * count and its seconds with it (with one in five lost, counts over the
 * elapsed time put the demand 20% low).
 * The vehicle counts enter only at the window's two ends, so their noise is
 * divided by W; a rate per report (count + change since the previous report,
 * over 5 s) differentiates that noise instead, and cutting each such rate at
 * 0 biased the demand upwards (HZ1, default devices: 3,172 arrivals for the
 * street's 2,983; 1 s reports: 4,466). Only the window's rate is cut at 0.
 *
 * Samples of the window's old end are kept at most every W / (SLOTS - 2)
 * seconds, in a ring per entry lane: memory is per entry lane, not per report.
 */
const SLOTS = 26;

export interface EntryDemandState {
  counted: Float64Array;
  covered: Float64Array;
  ringCovered: Float64Array;
  vehicles: Float64Array;
  ts: Float64Array;
  ringTs: Float64Array;
  ringCounted: Float64Array;
  ringVehicles: Float64Array;
  head: Int32Array;
}

export class EntryDemand {
  /** per entry slot: cumulative vehicles counted, and the newest report's vehicles (-1 none) and ts */
  private readonly s: EntryDemandState;
  private readonly windowMs: number;
  private readonly spacingMs: number;

  /** `slot[l]`: lane l's entry slot, -1 for a lane that is not an entry */
  constructor(readonly slot: Int32Array, entries: number, windowS: number) {
    if (!(windowS >= 10)) throw new RangeError(`brain twin: the demand window must be at least 10 s, got ${windowS}`);
    this.windowMs = windowS * 1000;
    this.spacingMs = this.windowMs / (SLOTS - 2);
    this.s = {
      counted: new Float64Array(entries),
      covered: new Float64Array(entries),
      ringCovered: new Float64Array(entries * SLOTS),
      vehicles: new Float64Array(entries).fill(-1),
      ts: new Float64Array(entries),
      ringTs: new Float64Array(entries * SLOTS),
      ringCounted: new Float64Array(entries * SLOTS),
      ringVehicles: new Float64Array(entries * SLOTS),
      head: new Int32Array(entries).fill(-1),
    };
  }

  /**
   * Takes a report of entry lane `l` (`fresh`: newer than any before; a late
   * one's count still counts) and returns the lane's arrival rate, veh/s.
   */
  report(l: number, ts: number, count: number, interval: number, vehicles: number | undefined, fresh: boolean): number {
    const s = this.s;
    const e = this.slot[l];
    s.counted[e] += count;
    s.covered[e] += interval;
    if (fresh) {
      s.ts[e] = ts;
      // a loop reports no vehicles: the window is its counts alone
      s.vehicles[e] = vehicles ?? -1;
      const h = s.head[e];
      if (h < 0 || ts - s.ringTs[e * SLOTS + h] >= this.spacingMs) {
        const n = (h + 1) % SLOTS;
        s.head[e] = n;
        s.ringTs[e * SLOTS + n] = ts;
        s.ringCounted[e * SLOTS + n] = s.counted[e];
        s.ringCovered[e * SLOTS + n] = s.covered[e];
        s.ringVehicles[e * SLOTS + n] = s.vehicles[e];
      }
    }
    // the window's old end: the oldest sample not older than the window
    const h = s.head[e];
    let old = -1;
    for (let j = 0; j < SLOTS; j++) {
      const k = e * SLOTS + ((h - j + SLOTS) % SLOTS);
      if (s.ringTs[k] === 0 || s.ringTs[k] < s.ts[e] - this.windowMs) break;
      old = k;
    }
    const span = old < 0 ? 0 : (s.ts[e] - s.ringTs[old]) / 1000;
    // until the window spans a few reports: this report's count alone
    if (span < 2 * interval) return count / interval;
    const covered = s.covered[e] - s.ringCovered[old];
    let rate = covered > 0 ? (s.counted[e] - s.ringCounted[old]) / covered : 0;
    if (s.vehicles[e] >= 0 && s.ringVehicles[old] >= 0) rate += (s.vehicles[e] - s.ringVehicles[old]) / span;
    return Math.max(0, rate);
  }

  exportState(): EntryDemandState {
    const s = this.s;
    return {
      counted: s.counted.slice(), covered: s.covered.slice(), ringCovered: s.ringCovered.slice(), vehicles: s.vehicles.slice(), ts: s.ts.slice(),
      ringTs: s.ringTs.slice(), ringCounted: s.ringCounted.slice(), ringVehicles: s.ringVehicles.slice(), head: s.head.slice(),
    };
  }

  importState(d: EntryDemandState): void {
    const s = this.s;
    if (d?.counted?.length !== s.counted.length || d.ringTs?.length !== s.ringTs.length) {
      throw new RangeError(`brain twin state: its demand window is for ${d?.counted?.length} entry lanes, this network has ${s.counted.length}`);
    }
    for (const k of Object.keys(s) as (keyof EntryDemandState)[]) s[k].set(d[k] as never);
  }
}
