import type { ControlEnv, Observed } from './controller.js';
import { laneCapacity } from '../measures/spill-back.js';
import { nonNegativeOption, positiveOption, shareOption } from './guard-options.js';
import { movementWidths } from '../measures/lane-exits.js';

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
 * that finds it so; then the controller has them back. So does a region
 * filling: each interior intersection with its neighbours (GATE_REGION_ROADS)
 * is a region, its load the vehicles reported on the internal lanes into them
 * over their capacity (a GATE_REGION_SMOOTHING s moving average); a region
 * past GATE_REGION_SHARE whose load rose by GATE_REGION_RISE over the last
 * GATE_REGION_SPAN seconds fires the gate, and a region past GATE_REGION_SHARE
 * renews a hold; only a region large enough for that rise to be more than
 * one movement's queue (below). Intersections inside keep their controller,
 * but while a region's hold lasts (one fired it and one still stands past
 * GATE_REGION_SHARE) they run the plan too ("The whole network", below). A controller that holds an intersection on purpose
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
 */

/*
 * Why the regional trigger (issue #16; 2026-12-07, one hour, seed 0, ATT s, 'L' locked intersections): on the 6 x 6
 * grid at 0.12 schedule locked (908.5 L36, the gate at 1,600 s) where max-pressure carried (717.1: the ring guard
 * handed it over at 860 s). The perimeter on the plan carries it from about 800 s (the whole network's share at 9%:
 * 634.4, and 862.5 at 0.15), but the whole network's share is diluted on a larger grid: the staircase routes load
 * the diagonals through the centre, while the straight lanes round them stay light (at 900 s 9.5% on 6 x 6 at 0.12,
 * 10.2% on 4 x 4 at 0.1, which schedule carries; 9% fires there at 620 s: 285.8 -> 416.9). The fullest region (an
 * interior intersection and its neighbours) is where the load shows (scripts/region-load.mjs, guards off: 19% at
 * 900 s on 6 x 6 at 0.12), but its level alone does not tell a grid filling from one standing loaded: 4 x 4 at 0.1
 * stands at 20-21% from 2,400 s, 5 x 5 at 0.1 reaches 29%; at 18% the gate carried every overloaded grid tried and
 * fired on every 0.1 grid within the hour (4 x 4 285.8 -> 366.0, 6 x 6 334.6 -> 418.9), at 22-25% it came too late
 * (6 x 6 at 0.12: 792.5 L36, 897.1 L36); a 150-300 s average of the level fired later still. What tells them apart
 * is the rise: 6 x 6 at 0.12 goes 13 -> 19% between 600 and 900 s, a carried grid's fullest region stands level
 * once there. Past 16% with a rise of 4 points in 300 s: 6 x 6 at 0.12 908.5 L36 -> 640.4 (at 750 s), at 0.15
 * 1,250.3 L36 -> 860.0 (530 s), 6 x 6 at 0.11 746.2 L36 -> 555.9 L3, 4 x 4 at 0.11 933.6 L16 -> 501.2, 5 x 5 at
 * 0.12 746.1 L25 -> 606.1; unchanged on 4 x 4, 6 x 6, 4 x 6, 5 x 6, 6 x 5, 4 x 7 and 6 x 6 with two through lanes
 * at 0.1. It fires on 5 x 5 at 0.1 (1,040 s: 318.8 -> 403.5 within the hour) and 4 x 5 at 0.1 (2,240 s: 321.9 L1
 * -> 368.5), which schedule does not carry either: over two hours both lock without it (5 x 5 848.6 L25 at 4,165 s
 * -> 525.8, none; 4 x 5 885.6 L20 at 2,625 s -> 687.2 L20 at 4,755 s), as do 4 x 4 and 6 x 6 at 0.1 (at 6,410 and
 * 4,010 s, either way). Renewing a hold only while the region still rose released it on 6 x 6 at 0.12 after 300 s
 * and it locked at 2,015 s (848.9): a region past the share keeps it. Level 15% with a rise of 5 points did the
 * same within 1%; a 120 s average lost 0.15 (1,174.4 L35).
 *
 * A region large enough (issue #16, the Osnabrück import): a lane's count swings between a red's queue and a green's
 * discharge, and a movement's lanes swing together (one red fills them all), so one movement can move a region's
 * load by its lanes' capacity over the region's. Where GATE_REGION_RISE of the region's capacity (as weighed) is no
 * more than the largest lane's capacity, a rise past the trigger is one queue coming and going, not the region
 * filling: such a region does not count. With equal lanes it takes 1 / GATE_REGION_RISE = 25 movements. On the
 * generated grids every region counts (a 4 x 4 grid's: 54 lanes, 0.04 x 2,160 = 86 against 40 vehicles a lane; 6 x 6's
 * 60 lanes); on the Osnabrück extract none does (3-21 lanes of 0-680 m, 5-205 vehicles: the rise is at most 0.25 of
 * the largest lane), where without it a region of short lanes swinging 15-43% under fixed time fired the gate at
 * 310-1,570 s under every controller at 2,000-4,000 trips/h, seeds 42 and 7 (ATT +1-5%; fixed time locked at
 * 3,000/h: 80.3 -> 303.2 s, max-pressure at 3,000/h seed 7: 55.6 -> 518.0). Nor does a grid of through lanes only
 * (18 lanes a region).
 *
 * The whole network on the plan while a region fills (issue #16; one hour, seed 0, ATT s, 'L' locked intersections).
 * With the perimeter alone on it, a region's hold locked grids of short blocks (150-240 m) at 0.08-0.09 that the
 * controller carried: max-pressure on 4 x 4 at 0.08, 180 m, 237.3 -> 907.0 L16, schedule on 5 x 5 at 0.08, 150 m,
 * 193.0 -> 265.6 L3. Not the trigger's noise (the whole network's share at 12% fires the perimeter sooner, 560 s, and locks
 * it too, 286.0 L6) but the mix: the plan's in-step greens at the perimeter feed the interior whatever it holds, its
 * adaptive controller serves other movements than the plan's step, and the lanes between them fill (there the lanes
 * from the perimeter inward went 18 -> 53% of their capacity, 9 full, the interior locked at 1,355 s; the lanes out to
 * the perimeter stayed at 2-11%), the sooner the shorter the lanes. In step everywhere each route's movements get the
 * same green at every intersection, so a green fed is a green served on (why the fixed plan carries these grids:
 * 4 x 4 at 0.08, 180 m, 259.4). With the interior on the plan too, 36 short-block runs (4 x 4 to 6 x 6, 150-240 m,
 * 0.06-0.09) lock under schedule in 0 and max-pressure in 1 (as without the trigger), against 7 and 12 without the
 * trigger and 9 and 13 with the perimeter alone; it costs schedule on 5 x 5 at 0.08, 150 m (193.0 without the trigger
 * -> 272.2), on 6 x 6 at 0.12 (640.4 with the perimeter alone -> 685.3; 908.5 L36 without the trigger), and 4 x 4 with
 * two through lanes at 0.15 locks as without the trigger (508.4 -> 808.8 L16; 934.7 L16). Handing each perimeter intersection back to its controller while one of its lanes was
 * full lost what the gate carries (6 x 6 at 0.12 773.0 L35); a region firing only once its discharge stopped growing
 * (its fundamental diagram's peak) fired at 1,040 s on 6 x 6 at 0.12, too late (792.5 L36). The whole network's
 * accumulation keeps the perimeter alone (a network past critical everywhere: the ring guard's and the import's case).
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

/** Roads from an interior intersection to the intersections that make its region with it. */
export const GATE_REGION_ROADS = 1;

/** Share of a region's capacity (its internal incoming lanes') that its load must pass to fire the gate or renew a hold. */
export const GATE_REGION_SHARE = 0.16;

/** Rise of a region's load (share of its capacity) over GATE_REGION_SPAN seconds that, past GATE_REGION_SHARE, fires the gate. */
export const GATE_REGION_RISE = 0.04;

/** Seconds over which a region's rise is measured. */
export const GATE_REGION_SPAN = 300;

/** Seconds of the moving average of a region's load: a lane's count swings with each green. */
export const GATE_REGION_SMOOTHING = 60;

/** What the regions show at a check: none past GATE_REGION_SHARE, one past it, one past it and risen by GATE_REGION_RISE. */
const REGION_NONE = 0, REGION_PAST = 1, REGION_RISING = 2;

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
  /** see GATE_REGION_SHARE */
  regionShare?: number;
  /** see GATE_REGION_RISE; false: regions do not fire the gate */
  regionRise?: number | false;
  /** see GATE_REGION_ROADS */
  regionRoads?: number;
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

/** The network's layout as the gate sees it: its perimeter and interior intersections, its internal lanes (both ends real), by the intersection they lead into, and their capacity. */
function gateLayout(env: ControlEnv, maxPerimeter: number) {
  const net = env.net;
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
  const anyInterior = nInterior > 0 && nReal - nInterior <= maxPerimeter * nReal;
  const inner: number[] = [];
  for (let i = 0; i < net.interIds.length && anyInterior; i++) if (interior(i)) inner.push(i);
  // the internal lanes (both ends real), and by the intersection they lead into
  const internal: number[] = [];
  const into: number[][] = Array.from({ length: net.interIds.length }, () => []);
  let capacity = 0;
  for (let l = 0; l < net.nLanes; l++) {
    const r = net.laneRoad[l];
    const a = net.roadStartInter[r], b = net.roadEndInter[r];
    if (real(a) && real(b) && anyInterior) {
      internal.push(l);
      into[b].push(l);
      capacity += laneCapacity(net, l);
    }
  }
  // no interior to protect: no perimeter to meter
  if (!anyInterior) perimeter.clear();
  return { perimeter, inner, internal, into, capacity };
}

/**
 * The regions whose load can fire the gate: each interior intersection of `inner` with the real intersections up to
 * `roads` roads away, their internal incoming lanes (`into`), weighed, those large enough for `rise` (see "A region
 * large enough" above) only.
 */
function gateRegions(env: ControlEnv, inner: readonly number[], into: readonly number[][], rise: number, roads: number) {
  const net = env.net;
  const real = (i: number) => i >= 0 && !net.interVirtual[i];
  // each interior intersection's region: it and the real intersections up to `roads` roads away; their internal incoming lanes
  const around: number[][] = Array.from({ length: net.interIds.length }, () => []);
  for (let r = 0; r < net.roadIds.length; r++) {
    const a = net.roadStartInter[r], b = net.roadEndInter[r];
    if (real(a) && real(b) && a !== b) {
      around[a].push(b);
      around[b].push(a);
    }
  }
  // each lane weighs 1 / its movement's lanes: a wide through movement's room does not hide a one-lane turn filling
  const width = movementWidths(net);
  const weight = new Float64Array(net.nLanes);
  for (let l = 0; l < net.nLanes; l++) weight[l] = 1 / width[l];
  const regionStart = [0], regionLanes: number[] = [], regionCapacity: number[] = [];
  for (const i of inner) {
    const members = new Set([i]);
    let frontier = [i];
    for (let d = 0; d < roads; d++) {
      const next: number[] = [];
      for (const a of frontier) for (const b of around[a]) if (!members.has(b)) members.add(b), next.push(b);
      frontier = next;
    }
    let cap = 0, movement = 0;
    const lanes: number[] = [];
    for (const j of members) for (const l of into[j]) {
      lanes.push(l);
      const c = laneCapacity(net, l);
      cap += weight[l] * c;
      // a movement's lanes fill together under one red: at most c between them, as weighed
      if (c > movement) movement = c;
    }
    // a rise one movement's queue can make alone is that movement's red and green, not the region filling (see
    // "A region large enough" above): such a region is no region for the trigger
    if (rise * cap <= movement) continue;
    regionLanes.push(...lanes);
    regionStart.push(regionLanes.length);
    regionCapacity.push(cap);
  }
  return { weight, regionStart, regionLanes, regionCapacity };
}

/**
 * How many regions can fire the gate under its default options on env's network (GateGuard.regions), without
 * building a guard: what green-wave asks to know whether the network has any (one rule, here).
 */
export function gateRegionCount(env: ControlEnv): number {
  const { inner, into } = gateLayout(env, GATE_MAX_PERIMETER_SHARE);
  return gateRegions(env, inner, into, GATE_REGION_RISE, GATE_REGION_ROADS).regionCapacity.length;
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
  /** the interior intersections (network indices): on the plan too while a region filling holds it (see "The whole network") */
  readonly interior: readonly number[];
  private readonly isPerimeter: Uint8Array;
  private readonly isInterior: Uint8Array;
  /** the simulated second a region's hold (every intersection on the plan) ends; 0 when never held */
  private regionUntil = 0;
  private readonly share: number;
  private readonly maxPerimeter: number;
  private readonly observed: Observed;
  private readonly internal: Int32Array;
  private readonly checkEvery: number;
  private readonly holdSeconds: number;
  /** the simulated second the hold ends; 0 when never held */
  private until = 0;
  private lastCheck: number;
  /** the fullest region's load (moving average, share of its capacity) at the last check; 0 without regions */
  regionLoad = 0;
  /** the regions whose load can fire the gate (large enough, GATE_REGION_RISE) */
  readonly regions: number;
  /** per region: its lanes in regionLanes[regionStart[r], regionStart[r + 1]), and their capacity */
  private readonly regionStart: Int32Array;
  private readonly regionLanes: Int32Array;
  private readonly regionCapacity: Float64Array;
  /** per region: its load's moving average, and its last values at each check (a ring of `span` entries) */
  private readonly regionMean: Float64Array;
  private readonly regionPast: Float64Array;
  private readonly span: number;
  private checks = 0;
  private readonly regionShare: number;
  private readonly regionRise: number;
  /** per lane: its weight in a region's load */
  private readonly regionWeight: Float64Array;

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
    const { perimeter, inner, internal, into, capacity } = gateLayout(env, this.maxPerimeter);
    this.regionShare = shareOption(GUARD, 'regionShare', opts.regionShare ?? GATE_REGION_SHARE);
    const rise = opts.regionRise ?? GATE_REGION_RISE;
    this.regionRise = rise === false ? Infinity : nonNegativeOption(GUARD, 'regionRise', rise);
    const roads = Math.floor(nonNegativeOption(GUARD, 'regionRoads', opts.regionRoads ?? GATE_REGION_ROADS));
    const { weight, regionStart, regionLanes, regionCapacity } = gateRegions(env, rise === false ? [] : inner, into, this.regionRise, roads);
    this.regionWeight = weight;
    this.regions = regionCapacity.length;
    this.regionStart = Int32Array.from(regionStart);
    this.regionLanes = Int32Array.from(regionLanes);
    this.regionCapacity = Float64Array.from(regionCapacity);
    this.span = Math.max(1, Math.round(GATE_REGION_SPAN / this.checkEvery));
    this.regionMean = new Float64Array(regionCapacity.length);
    this.regionPast = new Float64Array(regionCapacity.length * this.span);
    this.internal = Int32Array.from(internal);
    this.critical = share * capacity;
    this.perimeter = [...perimeter].sort((x, y) => x - y);
    this.isPerimeter = new Uint8Array(net.interIds.length);
    for (const i of perimeter) this.isPerimeter[i] = 1;
    this.interior = inner;
    this.isInterior = new Uint8Array(net.interIds.length);
    for (const i of inner) this.isInterior[i] = 1;
    this.lastCheck = env.twin.time;
  }

  /** Whether intersection i (network index) runs the plan at simulated second `now`. */
  holds(i: number, now: number): boolean {
    if (this.isPerimeter[i] === 1) return this.metering(now);
    return this.isInterior[i] === 1 && this.regionUntil > now;
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
    // indexed, not for-of: the check runs 360 times an hour, much of it before V8 optimises it, and an iterator per
    // lane in the interpreter was most of its cost in a fresh process
    const internal = this.internal;
    for (let j = 0; j < internal.length; j++) n += veh[internal[j]];
    this.vehicles = n;
    const region = this.regionsFilling();
    const filling = region === REGION_RISING || (region === REGION_PAST && this.until > now);
    // the interior too, while a region fires or stands past its share since one fired (see "The whole network")
    const inner = region === REGION_RISING || (region === REGION_PAST && this.regionUntil > now);
    const freshInner = inner && !(this.regionUntil > now);
    if (inner) this.regionUntil = now + this.holdSeconds;
    if (n < this.critical && !filling) return undefined;
    const fresh = !(this.until > now);
    this.until = now + this.holdSeconds;
    if (!fresh && !freshInner) return undefined;
    const handed = [...(fresh ? this.perimeter : []), ...(freshInner ? this.interior : [])];
    const found = n >= this.critical
      ? `${n} vehicles on the network's internal lanes, past its critical accumulation (${Math.round(this.critical)}, ` +
        `${Math.round(this.share * 100)}% of their capacity)`
      : `a region of the network (an interior intersection and its neighbours) filling: ${Math.round(this.regionLoad * 100)}% of its ` +
        `lanes' capacity, past ${Math.round(this.regionShare * 100)}% and still rising`;
    const who = freshInner
      ? (fresh ? 'every intersection (the perimeter and the interior)' : 'the interior intersections (the perimeter already metered)')
      : 'the perimeter intersections (those with entry lanes)';
    const message =
      `gate: ${found}; ${who} handed to the plan ` +
      `in step (${this.green} s greens) for ${Math.round(this.holdSeconds)} s, renewed while it stands past it`;
    const hold = { time: now, vehicles: n, critical: this.critical, intersections: handed, message };
    this.handOvers.push(hold);
    return hold;
  }

  /**
   * Brings each region's load up to this check; whether one fires the gate (past the region share, and risen by the
   * region rise over the span) or, while held, renews it (past the region share).
   */
  private regionsFilling(): number {
    const veh = this.observed.vehicles;
    const { regionStart, regionLanes, regionCapacity, regionMean, regionPast, span } = this;
    const a = Math.min(1, this.checkEvery / GATE_REGION_SMOOTHING);
    const slot = this.checks % span;
    const full = this.checks >= span;
    this.checks++;
    let found = REGION_NONE, most = 0;
    for (let r = 0; r < regionCapacity.length; r++) {
      let v = 0;
      for (let j = regionStart[r]; j < regionStart[r + 1]; j++) v += this.regionWeight[regionLanes[j]] * veh[regionLanes[j]];
      const mean = (regionMean[r] += (v / regionCapacity[r] - regionMean[r]) * a);
      // the value `span` checks ago, replaced by this one
      const before = full ? regionPast[r * span + slot] : Infinity;
      regionPast[r * span + slot] = mean;
      if (mean > most) most = mean;
      if (mean >= this.regionShare) found = Math.max(found, mean - before >= this.regionRise ? REGION_RISING : REGION_PAST);
    }
    this.regionLoad = most;
    return found;
  }
}
