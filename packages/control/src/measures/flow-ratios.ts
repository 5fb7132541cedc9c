import type { ControlEnv, Observed } from '../core/controller.js';
import { fullThresholds } from './spill-back.js';

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
 * And a lane full at the window's end (spill-back: its queue reaches its
 * upstream end, measures/spill-back.ts) adds its standing queue: there
 * counts and growth both fall (nothing crosses, there is no room to grow)
 * while demand does not, and a plan on them starves the lane further (the
 * way green-wave and webster gridlocked grids). Its queue, to serve within
 * the next window, is the demand they hide. A lane not full adds nothing:
 * its queue is the red's, which the flow already plans for. (Unchanged on
 * the five public scenarios, where no lane ends a window full; on a 16 x 3
 * grid webster's ATT fell from 365 to 338 s and green-wave's from 431 to
 * 403 s; on the short-blocks stress scenario green-wave's run, which did not
 * clear, clears.)
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
  private readonly fullAt: Float64Array;

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
    this.fullAt = fullThresholds(env.net);
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
      // a lane full at the window's end had its demand hidden by spill-back: its queue is demand still to serve
      const held = queue[l] >= this.fullAt[l] ? queue[l] : 0;
      this.rates[l] = span > 0 ? (Math.max(0, arrived) + held) / span : 0;
    }
    this.ratiosOf(out);
    this.since = now;
    this.restart();
  }

  /** Writes the ratios of the last `measure`'s flows into out[k][g] for the served lanes as they are now (a caller that reorders its slots re-reads them). */
  ratiosOf(out: Float64Array[]): void {
    for (let k = 0; k < this.served.length; k++) {
      for (let g = 0; g < this.served[k].length; g++) {
        const lanes = this.served[k][g];
        let q = 0;
        for (let j = 0; j < lanes.length; j++) q = Math.max(q, this.rates[lanes[j]]);
        out[k][g] = q / this.saturationFlow;
      }
    }
  }

  /** Lane l's arrival flow, vehicles/s, as of the last `measure` (0 before it). */
  rate(l: number): number {
    return this.rates[l];
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
