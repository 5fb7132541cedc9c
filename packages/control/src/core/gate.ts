import type { ControlEnv, Observed } from './controller.js';
import { JAM_SPACING } from '../measures/spill-back.js';
import { positiveOption, shareOption } from './guard-options.js';

/** the guard's name in its option errors */
const GUARD = 'gate';

/**
 * The perimeter gate: while the vehicles inside the network stand past its
 * critical accumulation, the flow admitted at its boundary is metered by the
 * plan in step at the perimeter intersections (perimeter or gating control on
 * the network's fundamental diagram: Keyvan-Ekbatani et al. 2012, Geroliminis,
 * Haddad & Ramezani 2013). From what the devices report only (`env.observed`:
 * each lane's vehicles), never from the twin's vehicles.
 *
 * Lanes: an entry lane comes from the boundary (its road starts at a virtual
 * intersection, or none) into a real one; an internal lane runs between two
 * real intersections. The accumulation n is the vehicles the detectors report
 * on the internal lanes; the critical accumulation is GATE_CRITICAL_SHARE of
 * their capacity (length / JAM_SPACING). The perimeter intersections are those
 * with a road to or from the boundary, the interior the rest. The gate is on
 * only where there is an interior to protect: with none (an arterial, a grid
 * two deep) or more than GATE_MAX_PERIMETER_SHARE of the intersections on the
 * perimeter (3 x 3: 8 of 9), metering the perimeter would be handing the
 * network over. Every GATE_CHECK_SECONDS, n at or past the critical
 * accumulation puts them on the plan in step (the common clock, GATE_GREEN s
 * greens: the ring guard's plan) for GATE_HOLD_SECONDS, renewed at every check
 * that finds it so; then the controller has them back. Intersections inside
 * keep their controller. A controller that holds an intersection on purpose
 * (an emergency vehicle's corridor, Controller.holdsAt) keeps it.
 *
 * Why (issue #16, test/spill-ring.test.ts): on CityFlow's 4 x 4 grid at 0.12
 * veh/s a route the fixed plan in step carries the hour and every adaptive
 * controller locked it: in step, each staircase route's left turns get the
 * same green at every intersection, so the first one meters what reaches the
 * centre; the adaptive controllers serve the busy entries more and the
 * centre's left-turn lanes fill until a ring of full lanes locks. The plan at
 * the perimeter alone gives back that metering, the inside keeps its
 * controller. The accumulation tells the two demands apart before the lock:
 * under schedule the internal lanes hold at most 12.8% of their capacity on
 * 4 x 4 at 0.1 (which it carries, ATT 285.8 s) and pass 15% at about 800 s
 * at 0.12 (locked at 1,310 s).
 *
 * Measured (2026-12-07, one hour, seed 0, ATT s; 'L' locked intersections):
 * - 4 x 4 at 0.12: schedule 1,069.5 L16 -> 598.2, sotl 881.4 L16 -> 601.3,
 *   sotl-fading 822.5 L16 -> 582.0, pressure-plus 983.9 L16 -> 608.1, webster
 *   1,150.2 L16 -> 675.7; actuated 1,073.2 L16 -> 763.7 L16 (at 2,760 s, not
 *   1,295) and green-wave 1,130.6 L16 -> 1,010.7 L16 still lock (the fixed
 *   plan: 584.1). 4 x 4 at 0.15: schedule 1,324.5 L16 -> 840.0. Green-wave
 *   carries it since its congestion plan (controllers/green-wave.ts: this
 *   accumulation at 10%, every intersection on the plan): 652.2.
 * - scripts/stress-scan.mjs (90 grids): schedule locks 15 (17 without the
 *   gate), max-pressure 21 (22). Schedule's ATT changes only where it locked
 *   before and still does: 4 x 4 two through lanes at 0.15 1,114.8 -> 934.7,
 *   6 x 6 at 0.12 880.5 -> 908.5 (+3.2%), at 0.15 1,234.3 -> 1,250.3, two
 *   through lanes at 0.12 412.6 -> 414.1, at 0.15 1,073.6 -> 1,103.0 (+2.7%),
 *   three at 0.15 859.8 -> 858.9; the 82 others (the arterials among them),
 *   the five real scenarios (every controller but predictive, bench control),
 *   5 x 5 at 0.1 and 3 x 16 at 0.1-0.15 unchanged to the last digit.
 * - between (schedule / sotl / pressure-plus, off -> on): 4 x 4 at 0.13
 *   1,032.8 L16 / 998.1 L16 / 1,253.0 L16 -> 672.7 / 693.9 / 795.3 L12, at
 *   0.14 1,297.8 L16 / 1,265.3 L16 / 1,239.0 L16 -> 779.3 / 878.3 L14 /
 *   774.4, 5 x 5 at 0.15 1,005.4 L25 / 1,178.9 L24 / 1,155.1 L25 -> 843.5 /
 *   848.5 / 847.8, 4 x 6 at 0.12 557.1 L9 / 615.2 L17 / 615.8 L11 -> 601.6 L1
 *   / 597.3 / 594.8; unchanged at 4 x 4 0.09 and 4 x 8 0.1.
 * - grids it was not tuned on (scripts/guard-effect.mjs, 58 runs: 4 x 5, 5 x 4,
 *   5 x 6, 4 x 7, 5 x 5, 6 x 5, 4 x 6 at 0.1-0.13, two through lanes at
 *   0.1-0.15; schedule, sotl, max-pressure; seeds 1-2): unchanged at 0.1 where
 *   the controller carries it; locked intersections 688 -> 454 (fewer in 35
 *   runs, more in 4: 6 x 5 at 0.13 schedule 680.2 L28 -> 861.8 L30), ATT worse
 *   by > 2% in 24 runs and better in 13.
 * - not carried: 6 x 6 at 0.12 (above); 5 x 5 at 0.12 locks more (606.7 L13
 *   at 1,725 s -> 746.1 L25 at 2,000 s); 4 x 4 at 0.11, where schedule locks
 *   (933.6 s, L16 at 1,620 s) either way: its accumulation crawls to 14.6% by
 *   1,200 s and passes 15% only after, when the plan no longer carries it (as
 *   the ring guard found), and sotl there locks sooner (807.1 -> 915.4 s);
 *   5 x 5 and 6 x 6 at 0.11 and 4 x 8 at 0.12 lock either way (ATT within
 *   +2% to +7%). The accumulation is a late and coarse precursor: no share
 *   catches 0.11 without firing at 0.1 (sotl and pressure-plus pass 14%).
 * - the plan's green: 15 s carries all seven on 4 x 4 at 0.12 (actuated
 *   718.3, green-wave 726.0) but costs the five others about 12% there
 *   (schedule 669.5) and webster at 0.1 more (520.3); kept at the ring
 *   guard's 20 s so that the two guards' plans stay in step. Webster at 0.1
 *   pays for the gate either way (380.4 -> 459.4 s: its accumulation passes
 *   15% there), the only cost found where a controller carried the grid.
 * - a second, higher share putting the whole network on the plan (17-21%)
 *   moved actuated and green-wave one way or the other by the share, no
 *   better than chance.
 * - the perimeter share: on with any interior, the gate fired on 3 x 3 at 0.1
 *   (schedule 271.5 -> 344.3), on 3 x 3 with two through lanes at 0.12 (291.7
 *   L1 -> 669.4 L9) and at 0.15 (seed 0 739.2 -> 957.3, seeds 0-4 845.1 ->
 *   749.4), though it carried 3 x 3 at 0.12 (886.9 L9 -> 550.2); on the 1 x 4
 *   arterials (every intersection on the perimeter: the network handed over)
 *   it doubled schedule's ATT (218.2 -> 450.8 at 0.12) and locked two
 *   through lanes at 0.15 (197.2 -> 566.0 L2). Three quarters keeps the 4 x 4
 *   grids (12 of 16) and HZ1/HZ2 in, the 3 x 3 and 3 x 4 ones (JN1-3) out: a
 *   measured line, not a derived one.
 * - the critical share: 0.14 fires on 4 x 4 at 0.1 (sotl 297.4 -> 342.2,
 *   pressure-plus 313.2 -> 365.2), 0.16 fires too late at 0.12 (schedule
 *   locks at 1,875 s); 0.15 is a measured figure, not derived: a link's
 *   critical density by its saturation flow over its free speed (0.5 veh/s /
 *   16.7 m/s against 1 / 7.5 m) would be 22.5%, past the locks.
 * - rejected: the PI gating law itself (admitted inflow q = q_prev + K_P
 *   (n_prev - n) + K_I (n_crit - n), shared among the perimeter intersections
 *   by their entry queues, each refusing or ending greens whose entry part
 *   outweighs their internal part once its share is spent): at 12-15% it did
 *   not carry schedule on 4 x 4 at 0.12 (locked at 1,260-1,630 s), carried
 *   sotl and pressure-plus at 12% only at a cost (1,140.4 and 1,183.5 s, the
 *   entries held nearly shut) and locked pressure-plus on 4 x 4 at 0.1 (694.4
 *   s); refusing every green with an entry vehicle (strict) carried schedule
 *   at 12% at 1,208.3 s but froze the inside unseen by the gridlock check
 *   (the accumulation stood at 613 for the last 40 minutes). The locks form at
 *   the accumulation the fixed plan carries (about 820 vehicles, 17.8%): what
 *   matters is where the vehicles stand, which the plan's metering of the
 *   left turns keeps right and cutting the inflow does not. Gating the
 *   inner regions too (intersections two or three roads in, each on the plan
 *   when its own region passes 15-20%) carried 5 x 5 and 6 x 6 at 0.12 but
 *   locked 4 x 4 at 0.12 and cost schedule on 4 x 4 at 0.1 (395 s) and 6 x 6
 *   at 0.1 (392-449 s); the whole network on the plan carried actuated at
 *   13-14% but not at 15%, and not 6 x 6 or 5 x 5 at 0.12.
 * - not kept (docs/benchmarks.md "Schedule against max-pressure on 6 x 6 at
 *   0.12 and 0.15"): the perimeter metered also when a region (an interior
 *   intersection and its neighbours) stands past 16% of its capacity and rose
 *   4 points in 300 s, with schedule weighing a lane 1 / sqrt(its movement's
 *   lanes). It carried 6 x 6 at 0.12 and 0.15 (640.4, 860.0) and bettered
 *   the 90-grid family over three seeds, but on the Osnabrück import at
 *   3,000 trips/h a small region of short lanes swings 15-43% as greens come
 *   and go: it fired at 310-330 s under every controller (ATT +2-5%) and
 *   locked fixed time (80.3 -> 303.2 s, 13 gridlocks).
 */

/** Seconds between checks of the accumulation. */
export const GATE_CHECK_SECONDS = 10;

/** Share of the internal lanes' capacity standing in the network at which the perimeter is metered (the critical accumulation). */
export const GATE_CRITICAL_SHARE = 0.15;

/** Seconds the perimeter stays on the plan once metered, or since the last check that found the accumulation past critical. */
export const GATE_HOLD_SECONDS = 300;

/** Seconds of green per phase of the plan the perimeter runs (as the ring guard's). */
export const GATE_GREEN = 20;

/**
 * Largest share of the (real, not virtual) intersections on the perimeter (with a road to or from the boundary) for which the
 * gate is on: past it there is no interior to protect, only the network to hand over.
 */
export const GATE_MAX_PERIMETER_SHARE = 0.75;

export interface GateOptions {
  /** see GATE_CRITICAL_SHARE */
  criticalShare?: number;
  /** see GATE_HOLD_SECONDS */
  holdSeconds?: number;
  /** see GATE_GREEN */
  green?: number;
  /** see GATE_CHECK_SECONDS */
  checkEvery?: number;
  /** see GATE_MAX_PERIMETER_SHARE */
  maxPerimeterShare?: number;
}

/** One time the perimeter went on the plan: when, the accumulation then and its critical value. */
export interface GateHold {
  time: number;
  vehicles: number;
  critical: number;
  /** the perimeter intersections (network indices) */
  intersections: number[];
  /** what was found and done, for the operators */
  message: string;
}

export class GateGuard {
  /** the critical accumulation, vehicles */
  readonly critical: number;
  /** seconds of green per phase of the plan the perimeter runs */
  readonly green: number;
  /** the accumulation at the last check (vehicles on the internal lanes) */
  vehicles = 0;
  /** every time the perimeter went on the plan, in time order */
  readonly handOvers: GateHold[] = [];
  /** the perimeter intersections (network indices) */
  readonly perimeter: readonly number[];
  private readonly isPerimeter: Uint8Array;
  private readonly share: number;
  private readonly maxPerimeter: number;
  private readonly observed: Observed;
  private readonly internal: Int32Array;
  private readonly checkEvery: number;
  private readonly holdSeconds: number;
  /** the simulated second the hold ends; 0 when never held */
  private until = 0;
  private lastCheck: number;

  constructor(env: ControlEnv, opts: GateOptions = {}) {
    const net = env.net;
    this.observed = env.observed;
    const share = shareOption(GUARD, 'criticalShare', opts.criticalShare ?? GATE_CRITICAL_SHARE);
    this.share = share;
    this.maxPerimeter = opts.maxPerimeterShare ?? GATE_MAX_PERIMETER_SHARE;
    if (!(this.maxPerimeter >= 0 && this.maxPerimeter <= 1)) throw new RangeError(`gate: maxPerimeterShare must be in [0, 1], got ${String(this.maxPerimeter)}`);
    this.checkEvery = positiveOption(GUARD, 'checkEvery', opts.checkEvery ?? GATE_CHECK_SECONDS);
    this.holdSeconds = positiveOption(GUARD, 'holdSeconds', opts.holdSeconds ?? GATE_HOLD_SECONDS);
    this.green = positiveOption(GUARD, 'green', opts.green ?? GATE_GREEN);
    const real = (i: number) => i >= 0 && !net.interVirtual[i];
    const perimeter = new Set<number>();
    for (let r = 0; r < net.roadIds.length; r++) {
      const a = net.roadStartInter[r], b = net.roadEndInter[r];
      if (!real(a) && real(b)) perimeter.add(b);
      if (real(a) && !real(b)) perimeter.add(a);
    }
    // the interior: real intersections with no road to or from the boundary
    const interior = (i: number) => real(i) && !perimeter.has(i);
    let nReal = 0, nInterior = 0;
    for (let i = 0; i < net.interIds.length; i++) {
      if (real(i)) nReal++;
      if (interior(i)) nInterior++;
    }
    // metering the perimeter protects an interior: none (an arterial, a grid two deep), or too small a one, and the gate would hand the network over
    const anyInterior = nInterior > 0 && nReal - nInterior <= this.maxPerimeter * nReal;
    const internal: number[] = [];
    let capacity = 0;
    for (let l = 0; l < net.nLanes; l++) {
      const r = net.laneRoad[l];
      const a = net.roadStartInter[r], b = net.roadEndInter[r];
      if (real(a) && real(b) && anyInterior) {
        internal.push(l);
        capacity += Math.max(1, Math.floor(net.length[l] / JAM_SPACING));
      }
    }
    if (!anyInterior) perimeter.clear();
    this.internal = Int32Array.from(internal);
    this.critical = share * capacity;
    this.perimeter = [...perimeter].sort((x, y) => x - y);
    this.isPerimeter = new Uint8Array(net.interIds.length);
    for (const i of perimeter) this.isPerimeter[i] = 1;
    this.lastCheck = env.twin.time;
  }

  /** Whether intersection i (network index) runs the plan at simulated second `now`. */
  holds(i: number, now: number): boolean {
    return this.isPerimeter[i] === 1 && this.metering(now);
  }

  /** Whether the accumulation has the perimeter metered at simulated second `now` (past critical at a check within holdSeconds). */
  metering(now: number): boolean {
    return this.until > now;
  }

  /** Brings the accumulation and the hold up to simulated second `now`, every checkEvery seconds; returns the hold begun now, if any. */
  check(now: number): GateHold | undefined {
    if (now - this.lastCheck < this.checkEvery || this.internal.length === 0) return undefined;
    this.lastCheck = now;
    const veh = this.observed.vehicles;
    let n = 0;
    for (const l of this.internal) n += veh[l];
    this.vehicles = n;
    if (n < this.critical) return undefined;
    const fresh = !(this.until > now);
    this.until = now + this.holdSeconds;
    if (!fresh) return undefined;
    const message =
      `gate: ${n} vehicles on the network's internal lanes, past its critical accumulation (${Math.round(this.critical)}, ` +
      `${Math.round(this.share * 100)}% of their capacity); the perimeter intersections (those with entry lanes) handed to the plan ` +
      `in step (${this.green} s greens) for ${Math.round(this.holdSeconds)} s, renewed while it stands past it`;
    const hold = { time: now, vehicles: n, critical: this.critical, intersections: [...this.perimeter], message };
    this.handOvers.push(hold);
    return hold;
  }
}
