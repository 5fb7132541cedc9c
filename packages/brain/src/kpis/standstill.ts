import type { LaneEstimate } from '../estimate/lane-estimate.js';

/**
 * Gridlock, as the devices show it: vehicles wait and nothing leaves. A lane
 * *stands* when its detector has reported at least STANDING_QUEUE stopped
 * vehicles at every sample for STANDING_SECONDS and counted none crossing its
 * stop line meanwhile. No signal keeps a lane red that long (cycles run
 * 60-180 s), so a lane that stands is blocked: by spill-back from a full exit,
 * by a crash, or by a controller that never serves it. A region is in gridlock
 * when GRIDLOCK_LANES of its lanes stand at once: one blocked lane is an
 * incident (the incident detector's), several are a standstill spreading.
 */
export const STANDING_SECONDS = 300;
export const STANDING_QUEUE = 3;
export const GRIDLOCK_LANES = 3;

/** What the alarm says: the regions in gridlock, how many lanes stand there, and since when. */
export interface GridlockAlarm {
  regions: string[];
  /** lanes standing in those regions */
  standingLanes: number;
  /** vehicles stopped on them */
  queued: number;
  /** epoch ms: when the longest-standing of them stopped moving */
  since: number;
}

export interface StandstillState {
  movedAt: Float64Array;
  counted: Float64Array;
}

/**
 * Watches every detected lane for a standstill (see above), from the lane
 * estimate's queues and stop-line counts. `update` is called at each KPI
 * sample; a lane whose report is older than `fresh` cannot be said to stand
 * (its detector is silent: that is a device fault, not a queue).
 */
export class StandstillWatch {
  /** epoch ms each lane last moved (a crossing counted, or fewer than STANDING_QUEUE stopped); NaN before its first report */
  private movedAt: Float64Array;
  /** each lane's count at that time */
  private counted: Float64Array;

  /** `reportedAt`: epoch ms of each lane's newest report (0: never), as the KPIs keep it */
  constructor(private readonly est: LaneEstimate, private readonly reportedAt: Float64Array) {
    const n = est.net.nLanes;
    this.movedAt = new Float64Array(n).fill(NaN);
    this.counted = new Float64Array(n);
  }

  /** Brings every lane up to `nowTs`, with reports older than `fresh` (epoch ms) treated as silent. */
  update(nowTs: number, fresh: number): void {
    const est = this.est;
    for (let l = 0; l < this.movedAt.length; l++) {
      const reported = this.reportedAt[l];
      // a changed count is a crossing (a restored estimate that starts its count again resets the lane once)
      if (reported === 0 || reported < fresh || est.queue[l] < STANDING_QUEUE || est.counted[l] !== this.counted[l]) {
        this.movedAt[l] = nowTs;
        this.counted[l] = est.counted[l];
      } else if (Number.isNaN(this.movedAt[l])) this.movedAt[l] = nowTs;
    }
  }

  /** Whether lane l has stood STANDING_SECONDS at `nowTs`. */
  standing(l: number, nowTs: number): boolean {
    return nowTs - this.movedAt[l] >= STANDING_SECONDS * 1000;
  }

  /** Standing lanes among `lanes` at `nowTs`: how many, their stopped vehicles, and since when the first stood still. */
  standingOf(lanes: Int32Array, nowTs: number): { lanes: number; queued: number; since: number } {
    let n = 0, queued = 0, since = Infinity;
    for (const l of lanes) {
      if (!this.standing(l, nowTs)) continue;
      n++;
      queued += this.est.queue[l];
      if (this.movedAt[l] < since) since = this.movedAt[l];
    }
    return { lanes: n, queued, since };
  }

  exportState(): StandstillState {
    return { movedAt: this.movedAt.slice(), counted: this.counted.slice() };
  }

  importState(s: StandstillState): void {
    if (s.movedAt.length !== this.movedAt.length || s.counted.length !== this.counted.length) {
      throw new RangeError(`standstill state: ${s.movedAt.length} lanes, the network has ${this.movedAt.length}`);
    }
    this.movedAt = Float64Array.from(s.movedAt);
    this.counted = Float64Array.from(s.counted);
  }
}
