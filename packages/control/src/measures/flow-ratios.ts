import type { ControlEnv, Observed } from '../core/controller.js';

/**
 * Critical flow ratios per intersection and green slot: y = max over the
 * slot's served lanes of q / saturation flow, q being the lane's arrival
 * flow over the window since the previous `measure`, read from what its
 * detector reported (`env.observed`), never from the twin's vehicles (on the
 * brain's twin data assimilation adds and removes vehicles: following them
 * counts what no device saw).
 *
 * q is, by input and output, the vehicles the detector counted crossing the
 * stop line over the window (`counted`) plus the growth of the vehicles it
 * reports on the lane (`vehicles`), over the seconds between the lane's
 * reports at the window's two ends (a delayed detector's figures refer to
 * its report, not to now). A lane first reported within the window is
 * divided by the window's length; one with no report within it keeps its
 * previous q; one never reported has q = 0.
 *
 * Why the growth: departures at a stop line under saturation are capped by
 * the green the lane got (at most s x g / C), so counts alone measure served
 * demand, not the queue building behind (a controller on counts alone, as a
 * plain count-based Webster or SCATS's counts, then keeps starving the phase
 * it starved: on the ground truth of HZ1 and JN1 that cost webster 7-12% and
 * green-wave 18-48% of ATT). The queue's growth is the demand held back.
 *
 * And the queue standing at the window's end (`queue`, as reported), over
 * the window: q is the flow to serve in the next window, and a residual
 * queue must be served too, or Webster's formula (which assumes none) plans
 * a cycle that never clears it. Where spill-back holds a lane full, its
 * counts and growth both fall while its demand does not; its standing queue
 * still says so. (On the stress scenarios of engine STRESS_PRESETS
 * green-wave's ATT fell 12-19% with it, and its short-blocks run, which did
 * not clear, now does; webster's fell up to 10%, rose 3% on short blocks; on
 * the five public scenarios both changed by -5..+3%, webster's fell on four.)
 */
export class FlowRatioMeter {
  private readonly observed: Observed;
  /** each lane's count, vehicles and report time (epoch ms; 0: never reported) at the window's start */
  private readonly fromCount: Float64Array;
  private readonly fromVehicles: Float64Array;
  private readonly fromAt: Float64Array;
  /** each lane's arrival flow, vehicles/s, as of the last measure */
  private readonly rates: Float64Array;
  /** simulated second the window started */
  private since: number;

  constructor(
    env: ControlEnv,
    private readonly served: Int32Array[][],
    private readonly saturationFlow: number,
  ) {
    const n = env.net.nLanes;
    this.observed = env.observed;
    this.fromCount = new Float64Array(n);
    this.fromVehicles = new Float64Array(n);
    this.fromAt = new Float64Array(n);
    this.rates = new Float64Array(n);
    this.since = env.twin.time;
    this.restart();
  }

  /** Writes each intersection's ratios into out[k][g] and starts a new window at `now` (simulated seconds). */
  measure(now: number, out: Float64Array[]): void {
    const { counted, vehicles, queue, reportedAt: at } = this.observed;
    const window = now - this.since;
    for (let l = 0; l < this.rates.length; l++) {
      if (at[l] === 0) this.rates[l] = 0;
      // no report within the window: the detector says nothing new, its last flow stands
      if (!(at[l] > this.fromAt[l])) continue;
      const span = this.fromAt[l] > 0 ? (at[l] - this.fromAt[l]) / 1000 : window;
      const arrived = counted[l] - this.fromCount[l] + vehicles[l] - this.fromVehicles[l];
      // the queue standing at the window's end is demand still to serve: planned to clear within the next window
      this.rates[l] = span > 0 ? (Math.max(0, arrived) + queue[l]) / span : 0;
    }
    for (let k = 0; k < this.served.length; k++) {
      for (let g = 0; g < this.served[k].length; g++) {
        const lanes = this.served[k][g];
        let q = 0;
        for (let j = 0; j < lanes.length; j++) q = Math.max(q, this.rates[lanes[j]]);
        out[k][g] = q / this.saturationFlow;
      }
    }
    this.since = now;
    this.restart();
  }

  private restart(): void {
    const { counted, vehicles, reportedAt } = this.observed;
    for (let l = 0; l < this.fromCount.length; l++) {
      this.fromCount[l] = counted[l];
      this.fromVehicles[l] = vehicles[l];
      this.fromAt[l] = reportedAt[l];
    }
  }
}
