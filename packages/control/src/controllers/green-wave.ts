import { LINK_PRIORITY, type Network } from '@citybrain/engine/core';
import type { Controller, ControlEnv, IntersectionPhases } from '../core/controller.js';
import { checkOption } from './options.js';
import { intersectionSlots } from '../core/slots.js';
import { FlowRatioMeter } from '../measures/flow-ratios.js';
import { phaseLaneSets } from '../measures/phase-lanes.js';
import { splitGreen } from './green-split.js';
import { websterCycle } from './webster.js';
import type { SpillBack } from '../measures/spill-back.js';
import { SpillGuard } from '../measures/spill-guard.js';
import { GATE_GREEN, GateGuard, gateRegionCount, type GateHold } from '../core/gate.js';
import { fixedTime } from './fixed-time.js';

/**
 * Share of the internal lanes' capacity standing (the perimeter gate's accumulation, core/gate.ts) at which
 * green-wave runs its congestion plan: every intersection on the plan in step. See greenWave; measured, not derived.
 */
export const GREEN_WAVE_CONGESTION_SHARE = 0.1;

/** roadLinkType of go_straight (the engine stores a roadLink's type as its priority) */
const STRAIGHT = LINK_PRIORITY.go_straight;

export interface GreenWaveOptions {
  /**
   * Common cycle in seconds. When set, the cycle stays this and only the
   * splits follow the detector counts. When omitted (default), the cycle
   * starts at `initialCycle` and is re-estimated Webster-style from detector
   * counts (see greenWave).
   */
  cycle?: number;
  /** seconds without a crossing counted at the stop line of a non-coordinated green's lanes that end it (gap-out); default 3 */
  gap?: number;
  /** common cycle before the first flow estimate; default 80 */
  initialCycle?: number;
  /** progression speed as a share of each road's lane speed limit; default 0.8 */
  speedFactor?: number;
  /** before the first estimate, the through phase's green weight, the others weighing 1; default 2 */
  arterialWeight?: number;
  /** as in webster(): saturation flow per lane (veh/s, default 0.5), cycle bounds (40..180 s), first estimate after `warmup` (300 s), then every `period` (300 s) */
  saturationFlow?: number;
  minCycle?: number;
  maxCycle?: number;
  warmup?: number;
  period?: number;
  /** see GREEN_WAVE_CONGESTION_SHARE; 1 runs the congestion plan only with every internal lane standing full */
  congestionShare?: number;
}

/** A directed chain of signalised intersections joined by straight-through movements. */
export interface Arterial {
  /** intersection numbers in the direction of travel */
  intersections: number[];
  /** roads[k]: the arterial's road entering intersections[k] */
  roads: number[];
  /** links[k]: the straight roadLink the arterial takes through intersections[k] */
  links: number[];
  /** travel[k]: seconds from intersections[k]'s stop line to intersections[k+1]'s at the progression speed */
  travel: number[];
}

export interface GreenWavePlan {
  intersection: string;
  /** index into `arterials()`, or -1 off the arterials (offset 0, phases[0] coordinated all the same) */
  arterial: number;
  cycle: number;
  /** `phases[0]` shows green from the simulated time offset (mod cycle) on, having turned green then or earlier */
  offset: number;
  /** phases in the order shown; phases[0] is the arterial's through phase when coordinated */
  phases: number[];
  /** planned green seconds of each of `phases` (the split): the coordinated phase's hold to its yield point, the others' most before their force-off; actuation shortens them and gives the rest to phases[0] */
  greens: number[];
}

export interface GreenWaveController extends Controller {
  /** coordinated arterials (the progression direction, the intersections each coordinates) after init */
  arterials(): Arterial[];
  /** every controlled intersection's plan after init, in `env.intersections` order */
  plans(): GreenWavePlan[];
  /** every time the network went on the congestion plan (all intersections, in step), in time order: when, the accumulation then and its critical value */
  congested(): readonly Pick<GateHold, 'time' | 'vehicles' | 'critical'>[];
  /** whether every intersection runs the congestion plan at simulated second `now` */
  congestedAt(now: number): boolean;
}

/**
 * Every maximal directed chain of at least two `controlled` intersections in
 * which each intersection is left by a straight-through roadLink (type
 * go_straight) onto the road to the next. A grid gives each row and column
 * twice, once per direction. Where a road has several straight roadLinks the
 * first in the roadnet's order is followed.
 */
export function findArterials(net: Network, controlled: ArrayLike<number>, speedFactor = 0.8): Arterial[] {
  const nRoads = net.roadIds.length;
  const isCtl = new Uint8Array(net.interIds.length);
  for (let k = 0; k < controlled.length; k++) isCtl[controlled[k]] = 1;
  const succLink = new Int32Array(nRoads).fill(-1);
  const hasPred = new Uint8Array(nRoads);
  for (let k = 0; k < controlled.length; k++) {
    const i = controlled[k];
    for (let rl = net.interRoadLinkStart[i]; rl < net.interRoadLinkStart[i + 1]; rl++) {
      const r = net.roadLinkStartRoad[rl];
      if (net.roadLinkType[rl] !== STRAIGHT || succLink[r] >= 0) continue;
      succLink[r] = rl;
      hasPred[net.roadLinkEndRoad[rl]] = 1;
    }
  }
  const used = new Uint8Array(nRoads);
  const out: Arterial[] = [];
  const walk = (r0: number): void => {
    const a: Arterial = { intersections: [], roads: [], links: [], travel: [] };
    const seen = new Set<number>();
    for (let r = r0; r >= 0 && !used[r] && isCtl[net.roadEndInter[r]] && !seen.has(net.roadEndInter[r]); ) {
      used[r] = 1;
      const i = net.roadEndInter[r];
      seen.add(i);
      a.intersections.push(i);
      a.roads.push(r);
      a.links.push(succLink[r]);
      r = succLink[r] >= 0 ? net.roadLinkEndRoad[succLink[r]] : -1;
    }
    for (let k = 0; k + 1 < a.intersections.length; k++) a.travel.push(travelTime(net, a.links[k], a.roads[k + 1], speedFactor));
    if (a.intersections.length >= 2) out.push(a);
  };
  for (let r = 0; r < nRoads; r++) if (!hasPred[r]) walk(r);
  for (let r = 0; r < nRoads; r++) walk(r); // closed loops, which have no first road
  return out;
}

/** Seconds through straight roadLink `rl` and along road `road` to its stop line, at speedFactor × the lanes' speed limit. */
function travelTime(net: Network, rl: number, road: number, speedFactor: number): number {
  const d0 = net.roadLinkLinkStart[rl], d1 = net.roadLinkLinkStart[rl + 1];
  let link = 0;
  for (let d = d0; d < d1; d++) link += net.length[d] / (d1 - d0);
  const l0 = net.roadFirstLane[road], n = net.roadLaneCount[road];
  let len = 0, speed = 0;
  for (let l = l0; l < l0 + n; l++) {
    len += net.length[l] / n;
    speed += net.maxSpeed[l] / n;
  }
  return (link + len) / (speed * speedFactor);
}

/**
 * Coordinated-actuated control, as field controllers run it (NEMA
 * coordination): a green wave along each arterial on a common background
 * cycle, the cross streets and turns served on demand within it.
 *
 * Arterials come from the network (findArterials). The two directions of a
 * street form one arterial, and an intersection belongs to one arterial at
 * most (a grid's rows and columns cross everywhere, so only one family gets
 * the wave). Before any measurement the longer streets are coordinated first,
 * progressing in the direction with more lanes; once flows are measured the
 * streets carrying more vehicles per intersection (both directions' arrival
 * flows) are, progressing in their busier direction: the wave goes where the
 * traffic is (a 16 x 3 grid's short rows, not its long columns, when the
 * rows carry more: 280.7 s of ATT against 315.1 s keeping the columns, when
 * written). The arterials in force keep a 25% bonus, so two near
 * equal families do not swap the wave every period.
 *
 * Cycle and offsets: every intersection runs one common cycle; on an
 * arterial its through phase (the coordinated phase) comes first and turns
 * green at offset = (travel time from the arterial's first intersection at
 * the progression speed) mod cycle, so a platoon released by one green
 * reaches the next stop line as it turns green. Intersections off the
 * arterials run the same cycle with offset 0, their first phase as
 * coordinated one. The cycle and splits start as a weight split of
 * `initialCycle` (the through phase weighing `arterialWeight`, the others 1),
 * then are re-estimated like webster()'s from detector counts
 * (FlowRatioMeter): each intersection's own Webster cycle and split, the
 * common cycle the longest own cycle (the critical intersection sets it),
 * each split stretched to it with the slack going to the coordinated phase;
 * with a `cycle` option the cycle stays that and only the splits follow
 * the counts. The common cycle is bounded so that no red outlasts what an
 * approach lane can store at its measured arrival flow (the red taken as the
 * cycle less the phase's share y/Y of it; fullThresholds): a longer red
 * spills its queue back into the junction upstream.
 *
 * Within the cycle (all from `env.observed`): the coordinated phase is held
 * until its planned end (the yield point) while the band of the wave
 * crosses, and yields earlier only on a gap (below), counted from the offset
 * at the soonest: a gap before the band arrives says nothing of it. The
 * other phases are served in order, each only if a vehicle stands on one of
 * its lanes (a call; a right turn's standing queue calls the phase that
 * stops the streams it yields to) and its minimum green fits before its
 * force-off (its planned end in the cycle); it ends at its force-off, or
 * earlier when its lanes count no crossing at the stop line for `gap`
 * seconds (gap-out, judged once a report without a crossing came: a silent
 * detector keeps the plan). Time a phase leaves unused goes to the next
 * phase with a call or back to the coordinated phase, which therefore
 * starts early and rests when nobody calls; force-offs at fixed points keep
 * every intersection in step with its offset. (Holding the coordinated phase
 * to its yield point whatever the detectors say, as plain NEMA coordination
 * does, cost 40% of ATT on 16 x 3 and 3 x 16 grids: 394.7 and 412.8 s against
 * 279.4 and 291.1 s, measured as this was written.) A green whose waiting movements all lead into full
 * exits (SpillBack) has no call and yields at once, the coordinated phase
 * included. A phase with a lane about to spill back (SpillBack.warnAt)
 * whose window has passed is served late in the cycle, up to the last
 * force-off, rather than a cycle later: a red held that long locks the
 * junctions behind it (on those grids, right turns stood behind full lanes
 * for 90 s and the supervisor reported gridlock). Ahead of all that, the
 * queue-spillback protection (measures/spill-guard.ts) calls such a phase
 * at once, extended while it discharges; but in the coordinated phase's
 * window, while that phase's own lanes spill back, it goes first (the
 * plan's windows pick among spilling greens).
 *
 * Under load, the congestion plan (traffic-responsive plan selection, as
 * closed-loop systems pick a stored plan by their system detectors'
 * occupancy): while the vehicles the detectors report on the internal lanes
 * stand past GREEN_WAVE_CONGESTION_SHARE of their capacity (the perimeter
 * gate's accumulation and hold, core/gate.ts, at green-wave's own share),
 * every intersection runs the plan in step (the gate's: the common clock,
 * GATE_GREEN s greens, the phases in the roadnet's order), the same
 * phase at the same second everywhere, until the hold lapses. Progression
 * means nothing to standing queues, and what carries an overloaded grid is
 * the plan in step: each staircase route's left turns (fed by right turns,
 * green always) get the same green at every intersection, so the first one
 * meters what reaches the centre (issue #16, test/spill-ring.test.ts). Each
 * of green-wave's departures from the plan in step takes its intersections
 * out of step and brought the lock back there (measured: the spill guard's
 * out-of-turn calls, re-planned Webster splits, phases started early, each
 * alone), and at the gate's 15% the hand-over came too late for green-wave's
 * state (4 x 4 at 0.11 carried by green-wave alone locked under it): its
 * long cycles (180 s once a critical intersection's Y passes 0.8) let the
 * centre's left-turn lanes fill earlier than the other controllers do.
 *
 * Not on every network: the plan in step meters a grid's staircase routes,
 * and on a network with no region large enough for the gate's regional
 * trigger (core/gate.ts, "A region large enough": an import's irregular
 * streets, pedestrian crossings with one green) green-wave runs no
 * congestion plan. On the Osnabrück extract at 4,000 trips/h (seed 7) the
 * plan locked what green-wave alone carries (935.1 s, 13 faults -> 62.1 s,
 * none), as any equal-split plan in step does there (fixed time with 10-30 s
 * greens: 931.3-1,154.8 s). Nor has a grid of through lanes only (no
 * staircase to meter): there the plan cost up to 58% (6 x 6, two lanes, at
 * 0.2: 338.1 -> 211.3 s; 16 such runs summed 9,831.4 -> 8,983.3 s, none
 * worse). The grids with turns and the real scenarios (the Hangzhou SUMO
 * files among them) have such regions and keep it, unchanged.
 *
 * Not a fixed plan (Controller.fixedPlan false; fixedPlanAt true under the
 * congestion plan): greens end on detector gaps, so the starvation guard
 * may cut one; the next decision resumes the cycle where it stands.
 */
export function greenWave(opts: GreenWaveOptions = {}): GreenWaveController {
  const name = 'green-wave';
  const fixedCycle = opts.cycle === undefined ? undefined : checkOption(name, 'cycle', opts.cycle, 1);
  const initialCycle = checkOption(name, 'initialCycle', opts.initialCycle ?? 80, 1);
  const speedFactor = checkOption(name, 'speedFactor', opts.speedFactor ?? 0.8, 0.01);
  const weight = checkOption(name, 'arterialWeight', opts.arterialWeight ?? 2, 1);
  const sat = checkOption(name, 'saturationFlow', opts.saturationFlow ?? 0.5, 1e-3);
  const minCycle = checkOption(name, 'minCycle', opts.minCycle ?? 40, 1);
  const maxCycle = checkOption(name, 'maxCycle', opts.maxCycle ?? 180, minCycle);
  const warmup = checkOption(name, 'warmup', opts.warmup ?? 300, 1);
  const period = checkOption(name, 'period', opts.period ?? 300, 1);
  const gap = checkOption(name, 'gap', opts.gap ?? 3, 0);
  const congestionShare = checkOption(name, 'congestionShare', opts.congestionShare ?? GREEN_WAVE_CONGESTION_SHARE, 1e-3, 1);
  /** the plan in step every intersection runs under load, the perimeter gate's */
  const congestionPlan = fixedTime({ clock: true, green: GATE_GREEN });
  let load: GateGuard | undefined;
  let congested = false;

  let slot = new Int32Array(0);
  let ids: string[] = [];
  let found: Arterial[] = [];
  let chosen: Arterial[] = [];
  /** per intersection: arterial (-1 none), seconds from the arterial's start, through phase (-1 none) */
  let art = new Int32Array(0);
  let at = new Float64Array(0);
  let through = new Int32Array(0);
  /** per intersection: phases in the order shown, their slots in ix.greens, served lanes, flow ratios, and the cycle time each green ends (its force-off) */
  let order: Int32Array[] = [];
  let orderSlot: Int32Array[] = [];
  let served: Int32Array[][] = [];
  /** per intersection and phase (in `order`): lanes whose standing vehicles call it (served, and the always-green lanes it frees) */
  let callers: Int32Array[][] = [];
  let ratios: Float64Array[] = [];
  let greenEnd: Float64Array[] = [];
  let weights: Float64Array[] = [];
  let ownCycle = new Float64Array(0);
  let offset = new Float64Array(0);
  let cycle = 0;
  let yellow = 0;
  let meter: FlowRatioMeter | undefined;
  let spill: SpillBack;
  let protection: SpillGuard;
  let nextPlan = 0;
  /** per intersection: phase shown at the previous step, the last second a crossing was counted on its lanes (or its start), and whether a report without one came since */
  let shown = new Int32Array(0);
  let lastSeen = new Float64Array(0);
  let quiet = new Uint8Array(0);
  /** per lane: counted and reportedAt as last read */
  let prevCount = new Float64Array(0);
  let prevAt = new Float64Array(0);

  /** Coordinates `chosen`: each intersection's arterial, its time along it, its through phase first in `order`. */
  function coordinate(env: ControlEnv): void {
    const ixs = env.intersections;
    art.fill(-1);
    at.fill(0);
    through.fill(-1);
    chosen.forEach((a, n) => {
      let t = 0;
      a.intersections.forEach((i, k) => {
        const x = slot[i];
        art[x] = n;
        at[x] = t;
        through[x] = throughPhase(env.net, ixs[x], a.links[k], a.roads[k]);
        t += a.travel[k] ?? 0;
      });
    });
    const sets = ixs.map((ix) => phaseLaneSets(ix).served);
    ixs.forEach((ix, x) => {
      const first = Math.max(0, ix.greens.indexOf(through[x]));
      orderSlot[x] = Int32Array.from(ix.greens, (_, j) => (first + j) % ix.greens.length);
      order[x] = Int32Array.from(orderSlot[x], (g) => ix.greens[g]);
      served[x] = [...orderSlot[x]].map((g) => sets[x][g]);
      callers[x] = [...order[x]].map((p, j) => Int32Array.from(new Set([...served[x][j], ...alwaysGreenLanes(env.net, ix, p)])));
    });
  }

  /** Sets the common cycle, every intersection's greens and offsets; `measured`: from `ratios`. */
  function plan(env: ControlEnv, measured: boolean): void {
    const Y = (yellow = env.yellowTime);
    // each intersection's own cycle; the longest becomes the common one, unless a red that long spills back
    let c = 0, store = Infinity, floor = minCycle;
    for (let x = 0; x < order.length; x++) {
      const n = order[x].length;
      const Yx = sum(ratios[x]);
      let own = fixedCycle ?? initialCycle;
      if (measured && fixedCycle === undefined) own = Math.min(maxCycle, Math.max(minCycle, websterCycle(Yx, n * Y)));
      floor = Math.max(floor, n * (Y + env.minGreen));
      ownCycle[x] = Math.max(own, n * (Y + env.minGreen));
      c = Math.max(c, ownCycle[x]);
      if (!measured || !meter || fixedCycle !== undefined || !(Yx > 0)) continue;
      for (let j = 0; j < n; j++) {
        const red = Math.max(1 - ratios[x][j] / Yx, 0.1);
        for (const l of served[x][j]) {
          const q = meter.rate(l);
          if (q > 0) store = Math.min(store, spill.fullAt[l] / (q * red));
        }
      }
    }
    cycle = c = Math.max(floor, Math.min(c, store));
    for (let x = 0; x < order.length; x++) {
      const n = order[x].length;
      const ends = greenEnd[x];
      // greens must fill the common cycle exactly, or the intersection drifts out of coordination
      if (measured) {
        // the intersection's own Webster split stretched to the common cycle, keeping each phase's
        // green ratio g/C; the lost time saved by a longer cycle goes to the coordinated phase (order[0])
        const own = Math.min(ownCycle[x], c);
        splitGreen(ratios[x], sum(ratios[x]), own - n * Y, env.minGreen, ends, true);
        let others = 0;
        for (let j = 1; j < n; j++) others += (ends[j] *= c / own);
        ends[0] = c - n * Y - others;
        if (ends[0] < env.minGreen) splitGreen(ratios[x], sum(ratios[x]), c - n * Y, env.minGreen, ends, true);
      } else {
        const w = weights[x];
        for (let j = 0; j < n; j++) w[j] = order[x][j] === through[x] ? weight : 1;
        splitGreen(w, sum(w), c - n * Y, env.minGreen, ends, true);
      }
      for (let j = 1; j < n; j++) ends[j] += ends[j - 1] + Y;
      offset[x] = at[x] % c;
    }
  }

  /** Whether phase j (in `order`) of intersection x has a call: a vehicle standing on its lanes (`callers`), not all of them facing full exits. */
  function calls(x: number, j: number, queue: ArrayLike<number>): boolean {
    const lanes = callers[x][j];
    let waiting = false;
    for (let k = 0; k < lanes.length && !waiting; k++) waiting = queue[lanes[k]] > 0;
    return waiting && !spill.blocked(x, orderSlot[x][j], queue);
  }

  /** Whether a lane calling phase j (in `order`) of intersection x is about to spill back (SpillBack.warnAt: full, its queue would reach the junction upstream) and the phase can move it. */
  function spilling(x: number, j: number, queue: ArrayLike<number>): boolean {
    const lanes = callers[x][j];
    let full = false;
    for (let k = 0; k < lanes.length && !full; k++) full = queue[lanes[k]] >= spill.warnAt[lanes[k]];
    return full && !spill.blocked(x, orderSlot[x][j], queue);
  }

  return {
    name,
    fixedPlan: false,
    arterials: () => chosen,
    congested: () => load?.handOvers ?? [],
    congestedAt: (now) => load?.metering(now) ?? false,
    fixedPlanAt: () => congested,
    plans: () =>
      order.map((o, x) => ({
        intersection: ids[x],
        arterial: art[x],
        cycle,
        offset: offset[x],
        phases: [...o],
        greens: [...greenEnd[x]].map((e, j) => e - (j > 0 ? greenEnd[x][j - 1] + yellow : 0)),
      })),
    init(env) {
      const ixs = env.intersections;
      slot = intersectionSlots(env);
      ids = ixs.map((ix) => ix.id);
      found = findArterials(env.net, ixs.map((ix) => ix.intersection), speedFactor);
      chosen = pickArterials(env.net, found);
      art = new Int32Array(ixs.length);
      at = new Float64Array(ixs.length);
      through = new Int32Array(ixs.length);
      order = new Array(ixs.length);
      orderSlot = new Array(ixs.length);
      served = new Array(ixs.length);
      callers = new Array(ixs.length);
      coordinate(env);
      ratios = order.map((o) => new Float64Array(o.length));
      greenEnd = order.map((o) => new Float64Array(o.length));
      weights = order.map((o) => new Float64Array(o.length));
      offset = new Float64Array(ixs.length);
      ownCycle = new Float64Array(ixs.length);
      protection = new SpillGuard(env.net, ixs);
      spill = protection.spill;
      shown = new Int32Array(ixs.length).fill(-1);
      lastSeen = new Float64Array(ixs.length);
      quiet = new Uint8Array(ixs.length);
      prevCount = new Float64Array(env.net.nLanes);
      prevAt = new Float64Array(env.net.nLanes);
      // the meter reads each lane by number: `served` may be reordered when the arterials change
      meter = new FlowRatioMeter(env, served, sat);
      nextPlan = env.twin.time + warmup;
      plan(env, false);
      // the whole network's accumulation only, as measured for green-wave (the gate's regional trigger is the supervisor's);
      // none where no region is large enough for that trigger (see "Not on every network" above)
      load = gateRegionCount(env) > 0 ? new GateGuard(env, { criticalShare: congestionShare, regionRise: false }) : undefined;
      congested = false;
    },
    beginStep(env) {
      const t = env.twin.time;
      load?.check(t);
      congested = load?.metering(t) ?? false;
      if (meter && t >= nextPlan) {
        nextPlan = t + period;
        const before = chosen;
        meter.measure(t, ratios);
        const m = meter;
        const flow = new Float64Array(env.net.roadIds.length);
        for (let r = 0; r < flow.length; r++) {
          const l0 = env.net.roadFirstLane[r];
          for (let l = l0; l < l0 + env.net.roadLaneCount[r]; l++) flow[r] += m.rate(l);
        }
        chosen = pickArterials(env.net, found, flow, before);
        coordinate(env);
        // `ratios` were measured in the previous order; measure again in the new one (the window is the same)
        m.ratiosOf(ratios);
        plan(env, true);
      }
      // stop-line detectors: the last second each intersection's green saw a crossing counted
      const { counted, reportedAt } = env.observed;
      for (let x = 0; x < order.length; x++) {
        const i = env.intersections[x].intersection;
        if (env.active && !env.active.has(i)) continue;
        const p = env.twin.phase(i);
        if (p !== shown[x]) {
          shown[x] = p;
          lastSeen[x] = t;
          quiet[x] = 0;
        }
        const j = order[x].indexOf(p);
        if (j < 0) continue;
        for (const l of served[x][j]) {
          if (reportedAt[l] === prevAt[l]) continue;
          if (counted[l] > prevCount[l]) {
            lastSeen[x] = t;
            quiet[x] = 0;
          } else if (t > lastSeen[x]) quiet[x] = 1;
          prevAt[l] = reportedAt[l];
          prevCount[l] = counted[l];
        }
      }
    },
    decide(ix, s, env) {
      if (congested) return congestionPlan.decide(ix, s, env);
      const x = slot[ix.intersection];
      const t = env.twin.time;
      const queue = env.observed.queue;
      const ends = greenEnd[x];
      const n = ends.length;
      // position in this intersection's cycle; each phase's window is its yellow, then its green up to its force-off
      const tau = (((t - offset[x]) % cycle) + cycle) % cycle;
      const g = order[x].indexOf(s.green);
      // in the coordinated phase's window, its spill-back goes first: when several greens spill, the plan's windows
      // say which (the guard's own rule for a green past its end), and a cross phase the guard gave early or carried
      // past the cycle's start has no claim to that window. (Otherwise the cross phases of a saturated junction took
      // the guard's turns of up to SPILL_MAX s each across the coordinated window, and a coordinated green the guard
      // gave outside its window was cut at once as past its end: a 1 x 8 arterial at 0.12 veh/s a route showed its
      // last junction's through phase 10 s in 190, its queue stood back through three junctions and the supervisor
      // reported gridlock.)
      if (g > 0 && tau < ends[0] && spilling(x, 0, queue)) return order[x][0];
      // queue-spillback protection (measures/spill-guard.ts) ahead of the coordination: a lane about to spill back
      // calls its phase now, not at its window (lanes below the warn share wait for theirs as planned)
      const spilled = protection.choose(x, ix.greens.length, ix.greens.indexOf(s.green), env.observed, env.twin.time, g >= 0 && tau >= ends[g]);
      if (spilled >= 0) return ix.greens[spilled];
      const fits = (end: number) => tau + yellow + env.minGreen <= end + 1e-9;
      // the first phase from j on with a call whose minimum green fits before its force-off, else one whose lanes spill
      // back (served late, before the last force-off: a red to the next cycle would block the junction upstream), else the coordinated phase
      const next = (j: number): number => {
        for (let k = j; k < n; k++) if (fits(ends[k]) && calls(x, k, queue)) return order[x][k];
        if (fits(ends[n - 1])) for (let k = 1; k < n; k++) if (k !== g && spilling(x, k, queue)) return order[x][k];
        return order[x][0];
      };
      const gapOut = quiet[x] === 1 && t - lastSeen[x] >= gap;
      if (g <= 0) {
        // held to the yield point while the wave's band crosses; it yields early on a gap, or when it only feeds full exits.
        // Its gap counts from the offset: one before the band arrives says nothing of the band
        const bandGap = gapOut && t - Math.max(lastSeen[x], t - tau) >= gap;
        if (tau < ends[0] && !bandGap && !spill.blocked(x, orderSlot[x][0], queue)) return s.green;
        return next(1);
      }
      // force-off: the planned end (the last one for a phase whose lanes spill back), or a green begun in an earlier
      // cycle (a re-plan or the starvation guard moved it)
      const forced = tau >= (spilling(x, g, queue) ? ends[n - 1] : ends[g]) || tau - (t - s.greenSince) < -1e-9;
      if (!forced && !gapOut && !spill.blocked(x, orderSlot[x][g], queue)) return s.green;
      return next(g + 1);
    },
  };
}

/**
 * Pairs the two directions of each street and assigns intersections to
 * streets in order of rank; a street loses the intersections an earlier one
 * took and keeps its longest remaining run of at least two. Without `flow`
 * (per road, vehicles/s) the longer streets rank first, progressing in the
 * direction with more lanes; with it, the streets carrying more vehicles per
 * intersection (both directions' roads into them), progressing in the busier
 * direction, a street coordinated in `before` counting 25% more.
 */
function pickArterials(net: Network, found: Arterial[], flow?: Float64Array, before: Arterial[] = []): Arterial[] {
  const lanes = (a: Arterial) => a.roads.slice(1).reduce((s, r) => s + net.roadLaneCount[r], 0);
  const vehicles = (a: Arterial) => a.roads.reduce((s, r) => s + flow![r], 0);
  const key = (a: Arterial) => [...a.intersections].sort((p, q) => p - q).join(',');
  const kept = new Set(before.map(key));
  const byKey = new Map(found.map((a, n) => [a.intersections.join(','), n]));
  const drop = new Set<number>();
  const cands: { a: Arterial; rank: number; lanes: number; n: number }[] = [];
  found.forEach((a, n) => {
    if (drop.has(n)) return;
    const rev = byKey.get([...a.intersections].reverse().join(','));
    const other = rev !== undefined && rev !== n ? found[rev] : undefined;
    if (other) drop.add(rev!);
    const size = (b: Arterial) => (flow ? vehicles(b) : lanes(b));
    const best = other && size(other) > size(a) ? other : a;
    const both = size(a) + (other ? size(other) : 0);
    let rank = a.intersections.length;
    if (flow) rank = (both / a.intersections.length) * (kept.has(key(best)) ? 1.25 : 1);
    cands.push({ a: best, rank, lanes: both, n });
  });
  cands.sort((p, q) => q.rank - p.rank || q.a.intersections.length - p.a.intersections.length || q.lanes - p.lanes || p.n - q.n);
  const taken = new Set<number>();
  const out: Arterial[] = [];
  for (const { a } of cands) {
    let bestFrom = 0, bestLen = 0;
    for (let k = 0; k < a.intersections.length; ) {
      if (taken.has(a.intersections[k])) {
        k++;
        continue;
      }
      let e = k;
      while (e < a.intersections.length && !taken.has(a.intersections[e])) e++;
      if (e - k > bestLen) [bestFrom, bestLen] = [k, e - k];
      k = e;
    }
    if (bestLen < 2) continue;
    const end = bestFrom + bestLen;
    const run: Arterial = {
      intersections: a.intersections.slice(bestFrom, end),
      roads: a.roads.slice(bestFrom, end),
      links: a.links.slice(bestFrom, end),
      travel: a.travel.slice(bestFrom, end - 1),
    };
    for (const i of run.intersections) taken.add(i);
    out.push(run);
  }
  return out;
}

/**
 * The green phase serving the arterial at `ix` best: the one with the
 * arterial's straight roadLink (and the opposite direction's straight
 * roadLink from `link`'s end road back into `road`'s start) green, preferring
 * both; the first phase on a tie.
 */
function throughPhase(net: Network, ix: IntersectionPhases, link: number, road: number): number {
  const wanted = new Set<number>();
  if (link >= 0) wanted.add(link);
  for (let rl = net.interRoadLinkStart[ix.intersection]; rl < net.interRoadLinkStart[ix.intersection + 1]; rl++) {
    if (net.roadLinkType[rl] !== STRAIGHT) continue;
    // the opposite direction leaves towards where `road` came from
    if (net.roadEndInter[net.roadLinkEndRoad[rl]] === net.roadStartInter[road]) wanted.add(rl);
  }
  let best = ix.greens[0];
  let bestScore = -1;
  for (const p of ix.greens) {
    let score = 0;
    for (const m of ix.movements[p]) if (wanted.has(m.roadLink)) score++;
    if (score > bestScore) {
      bestScore = score;
      best = p;
    }
  }
  return best;
}

/**
 * Incoming lanes of the movements green in every phase (right turns in
 * CityFlow's phases) whose road goes straight on in phase p. Such a turn
 * yields to the streams it merges with or crosses; under a long coordinated
 * green those never pause and its queue stands until it fills the road (a
 * gridlock the supervisor reported on a 16 x 3 grid). Phase p stops them
 * (it serves its road's through movement, which crosses them), so the
 * turn's standing queue calls p.
 */
function alwaysGreenLanes(net: Network, ix: IntersectionPhases, p: number): number[] {
  const inAll = new Map<number, number>();
  for (const q of ix.greens) for (const m of ix.movements[q]) inAll.set(m.roadLink, (inAll.get(m.roadLink) ?? 0) + 1);
  const straightOn = new Set<number>();
  for (const m of ix.movements[p]) if (net.roadLinkType[m.roadLink] === STRAIGHT && inAll.get(m.roadLink)! < ix.greens.length) straightOn.add(net.roadLinkStartRoad[m.roadLink]);
  const out: number[] = [];
  for (const m of ix.movements[p]) if (inAll.get(m.roadLink)! >= ix.greens.length && straightOn.has(net.roadLinkStartRoad[m.roadLink])) out.push(...m.inLanes);
  return out;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j];
  return s;
}
