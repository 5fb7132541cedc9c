import type { ControlEnv, SimReader } from '../core/controller.js';

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

  sample(sim: SimReader): void {
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
    this.counter.since = env.twin.time;
    this.rates = new Float64Array(env.net.nLanes);
  }

  /** Call every step. */
  sample(sim: SimReader): void {
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
