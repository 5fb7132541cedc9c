import type { Simulation } from '@citybrain/engine';
import type { ControlEnv, IntersectionPhases } from '../core/controller.js';

/**
 * Lane sets shared by the classic controllers (webster, actuated, sotl,
 * green-wave). Internal to the package, but for phaseLaneSets, which the
 * server's incident detection reads too.
 */

/** Per green phase slot (index into `ix.greens`), the incoming lanes it serves. */
export interface PhaseLaneSets {
  /**
   * served[g]: incoming lanes of the movements green in `ix.greens[g]` that are
   * not green in every green phase. A movement green everywhere (right turns
   * in CityFlow's phases) never waits for a phase, so it says nothing about
   * which phase is needed.
   */
  served: Int32Array[];
}

export function phaseLaneSets(ix: IntersectionPhases): PhaseLaneSets {
  const inAll = new Map<number, number>();
  for (const p of ix.greens) for (const m of ix.movements[p]) inAll.set(m.roadLink, (inAll.get(m.roadLink) ?? 0) + 1);
  const served = ix.greens.map((p) => {
    const lanes = new Set<number>();
    for (const m of ix.movements[p]) if (inAll.get(m.roadLink)! < ix.greens.length) for (const l of m.inLanes) lanes.add(l);
    return Int32Array.from([...lanes].sort((a, b) => a - b));
  });
  return { served };
}

/** Index of intersection number -> position in `env.intersections`, -1 elsewhere. */
export function intersectionSlots(env: ControlEnv): Int32Array<ArrayBuffer> {
  const slot = new Int32Array(env.net.interIds.length).fill(-1);
  env.intersections.forEach((ix, k) => (slot[ix.intersection] = k));
  return slot;
}

/** Vehicles on `lanes` within `range` metres of their stop lines. */
export function approaching(sim: Simulation, lanes: Int32Array, range: number): number {
  let n = 0;
  for (let k = 0; k < lanes.length; k++) n += sim.laneApproachingCount(lanes[k], range);
  return n;
}

/** Throws a RangeError naming the option unless `v` is a finite number within [lo, hi]. */
export function checkOption(controller: string, name: string, v: number, lo: number, hi = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${controller}: option ${name} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

/**
 * Counts vehicles entering each lane, by following every running vehicle's
 * drivable from one sample to the next (a vehicle seen on a lane it was not on
 * at the previous sample has arrived there, including vehicles just admitted
 * at the boundary). Sample every step; arrivals are exact as long as no
 * vehicle crosses a whole lane within one step.
 */
export class ArrivalCounter {
  /** arrivals per lane in the current window */
  readonly arrivals: Float64Array;
  /** simulated second the current window started */
  since = 0;
  /** drivable + 1 each vehicle handle was on at the previous sample (0: unseen) */
  private last = new Int32Array(1024);
  private buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };
  private sampledStep = -1;

  constructor(private readonly nLanes: number) {
    this.arrivals = new Float64Array(nLanes);
  }

  sample(sim: Simulation): void {
    if (sim.stepCount === this.sampledStep) return;
    this.sampledStep = sim.stepCount;
    const n = sim.vehicleStates(this.buf);
    const ids = this.buf.ids;
    for (let r = 0; r < n; r++) {
      const v = ids[r];
      if (v >= this.last.length) {
        const grown = new Int32Array(Math.max(v + 1, this.last.length * 2));
        grown.set(this.last);
        this.last = grown;
      }
      const d = sim.vehicleDrivable(v);
      if (this.last[v] !== d + 1) {
        this.last[v] = d + 1;
        if (d < this.nLanes) this.arrivals[d]++;
      }
    }
  }

  /** Writes arrivals per second per lane since the last reset into `out`, then starts a new window at `now`. */
  rates(now: number, out: Float64Array): Float64Array {
    const span = now - this.since;
    for (let l = 0; l < this.nLanes; l++) out[l] = span > 0 ? this.arrivals[l] / span : 0;
    this.arrivals.fill(0);
    this.since = now;
    return out;
  }
}

/**
 * Critical flow ratios per intersection and green slot: y = max over the
 * slot's served lanes of (arrivals per second) / saturation flow, over the
 * window since the previous `measure`.
 */
export class FlowRatioMeter {
  private readonly counter: ArrivalCounter;
  private readonly rates: Float64Array;

  constructor(
    env: ControlEnv,
    private readonly served: Int32Array[][],
    private readonly saturationFlow: number,
  ) {
    this.counter = new ArrivalCounter(env.net.nLanes);
    this.counter.since = env.sim.time;
    this.rates = new Float64Array(env.net.nLanes);
  }

  /** Call every step. */
  sample(sim: Simulation): void {
    this.counter.sample(sim);
  }

  /** Writes each intersection's ratios into out[k][g] and starts a new window. */
  measure(now: number, out: Float64Array[]): void {
    const rates = this.counter.rates(now, this.rates);
    for (let k = 0; k < this.served.length; k++) {
      for (let g = 0; g < this.served[k].length; g++) {
        const lanes = this.served[k][g];
        let q = 0;
        for (let j = 0; j < lanes.length; j++) q = Math.max(q, rates[lanes[j]]);
        out[k][g] = q / this.saturationFlow;
      }
    }
  }
}

/**
 * Writes greens g_j = max(minGreen, λ·y_j) into `out`: λ = total / Y (the
 * plain proportional split), or with `exact`, the λ for which the greens sum
 * to `total` exactly (to n·minGreen if that is more).
 */
export function splitGreen(y: ArrayLike<number>, Y: number, total: number, minGreen: number, out: Float64Array, exact = false): void {
  const n = y.length;
  if (!(Y > 0)) {
    out.fill(Math.max(minGreen, total / n));
    return;
  }
  let lambda = total / Y;
  if (exact) {
    // water-filling: phases pinned at minGreen leave the rest to the others, in proportion to y
    const pinned = new Uint8Array(n);
    for (let changed = true; changed; ) {
      changed = false;
      let rest = total, ySum = 0;
      for (let j = 0; j < n; j++) {
        if (pinned[j]) rest -= minGreen;
        else ySum += y[j];
      }
      lambda = ySum > 0 ? rest / ySum : 0;
      for (let j = 0; j < n; j++) {
        if (!pinned[j] && lambda * y[j] < minGreen) {
          pinned[j] = 1;
          changed = true;
        }
      }
    }
  }
  let big = 0, given = 0;
  for (let j = 0; j < n; j++) {
    out[j] = Math.max(minGreen, lambda * y[j]);
    given += out[j];
    if (y[j] > y[big]) big = j;
  }
  // rounding (or every phase pinned) can leave a little over; the busiest phase takes it
  if (exact && given < total) out[big] += total - given;
}
