import type { ControlEnv, SimReader } from '../core/controller.js';
import { buildPhaseTables } from './pressure.js';

/** Per-lane queued and approaching-moving counts, recounted at most once per step. */
export class LaneLoad {
  queue = new Float64Array(0);
  moving = new Float64Array(0);
  private waiting = new Int32Array(0);
  private range = new Float64Array(0);
  private countedAt = -1;
  /** lanes that feed a controlled intersection: only these need the approach scan */
  private inLanes = new Int32Array(0);

  /** `range`: metres before the stop line in which a moving vehicle counts; null: what the lane's speed limit covers in `period` + the yellow */
  init(env: Pick<ControlEnv, 'net' | 'intersections' | 'yellowTime'>, range: number | null, period: number): void {
    const n = env.net.nLanes;
    this.queue = new Float64Array(n);
    this.moving = new Float64Array(n);
    this.waiting = new Int32Array(n);
    this.range = new Float64Array(n);
    const yellow = env.yellowTime;
    for (let l = 0; l < n; l++) this.range[l] = range ?? env.net.maxSpeed[l] * (period + yellow);
    const set = new Set<number>();
    for (const ix of env.intersections) for (const l of ix.inLanes) set.add(l);
    this.inLanes = Int32Array.from(set);
    buildPhaseTables(env.intersections);
    this.countedAt = -1;
  }

  /** Forget the last count (the next refresh may see another simulation at the same step). */
  invalidate(): void {
    this.countedAt = -1;
  }

  /** queue: vehicles slower than 0.1 m/s (with `entryQueue`, plus those waiting at the boundary to enter); moving: the others within range. */
  refresh(sim: SimReader, entryQueue: boolean): void {
    if (this.countedAt === sim.stepCount) return;
    this.countedAt = sim.stepCount;
    sim.laneWaitingCounts(this.waiting);
    const n = this.queue.length;
    for (let l = 0; l < n; l++) this.queue[l] = this.waiting[l] + (entryQueue ? sim.laneEntryQueue(l) : 0);
    for (const l of this.inLanes) this.moving[l] = Math.max(0, sim.laneApproachingCount(l, this.range[l]) - this.waiting[l]);
  }
}
