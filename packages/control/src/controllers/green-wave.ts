import { LINK_PRIORITY, type Network } from '@citybrain/engine/core';
import type { Controller, ControlEnv, IntersectionPhases } from '../core/controller.js';
import { checkOption } from './options.js';
import { intersectionSlots } from '../core/slots.js';
import { FlowRatioMeter } from '../measures/flow-ratios.js';
import { phaseLaneSets } from '../measures/phase-lanes.js';
import { splitGreen } from './green-split.js';
import { websterCycle } from './webster.js';

/** roadLinkType of go_straight (the engine stores a roadLink's type as its priority) */
const STRAIGHT = LINK_PRIORITY.go_straight;

export interface GreenWaveOptions {
  /**
   * Common cycle in seconds. When set, the plan is fixed: green split by
   * weight (through phase `arterialWeight`, others 1). When omitted (default),
   * the cycle starts at `initialCycle` and is re-estimated Webster-style from
   * detector counts (see greenWave).
   */
  cycle?: number;
  /** common cycle before the first flow estimate; default 80 */
  initialCycle?: number;
  /** progression speed as a share of each road's lane speed limit; default 0.8 */
  speedFactor?: number;
  /** in weight-split plans (with `cycle`, and before the first estimate), the through phase's green weight, the others weighing 1; default 2 */
  arterialWeight?: number;
  /** as in webster(): saturation flow per lane (veh/s, default 0.5), cycle bounds (40..180 s), first estimate after `warmup` (300 s), then every `period` (300 s) */
  saturationFlow?: number;
  minCycle?: number;
  maxCycle?: number;
  warmup?: number;
  period?: number;
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
  /** index into `arterials()`, or -1 for plain fixed time */
  arterial: number;
  cycle: number;
  /** `phases[0]` turns green when the simulated time is offset (mod cycle) */
  offset: number;
  /** phases in the order shown; phases[0] is the arterial's through phase when coordinated */
  phases: number[];
  /** green seconds of each of `phases` */
  greens: number[];
}

export interface GreenWaveController extends Controller {
  /** coordinated arterials (the progression direction, the intersections each coordinates) after init */
  arterials(): Arterial[];
  /** every controlled intersection's plan after init, in `env.intersections` order */
  plans(): GreenWavePlan[];
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
 * Coordinated signal plans: a green wave along each arterial.
 *
 * Arterials come from the network (findArterials). The two directions of a
 * street form one arterial whose progression runs in the direction with more
 * lanes (the first found on a tie); longer arterials are coordinated first and
 * an intersection belongs to one arterial at most (a grid's rows and columns
 * cross everywhere, so only one family gets the wave).
 *
 * Every intersection cycles its green phases in one common cycle; on an
 * arterial its through phase comes first and turns green at
 * offset = (travel time from the arterial's first intersection at the
 * progression speed) mod cycle, so a platoon released by one green reaches
 * the next stop line as it turns green. Intersections off the arterials run
 * the same cycle with offset 0.
 *
 * Timing: every intersection's greens and yellows fill the common cycle
 * exactly, no green below minGreen. With a `cycle` option the plan is fixed:
 * the green time is shared by weight, the through phase weighing
 * `arterialWeight` and the others 1. Without it (the default), plans start
 * that way with `initialCycle`, then are re-estimated like webster()'s from
 * detector counts (FlowRatioMeter): each intersection's own Webster cycle
 * from its phases' critical flow ratios y, the common cycle the longest of them (the critical
 * intersection sets it), and each intersection's own Webster split, the
 * slack between the common and its own cycle going to the arterial's through
 * phase (to all phases in proportion to y off the arterials).
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

  let slot = new Int32Array(0);
  let ids: string[] = [];
  let chosen: Arterial[] = [];
  /** per intersection: arterial (-1 none), seconds from the arterial's start, through phase (-1 none) */
  let art = new Int32Array(0);
  let at = new Float64Array(0);
  let through = new Int32Array(0);
  /** per intersection: phases in the order shown, their flow ratios, and the cycle time each green ends */
  let order: Int32Array[] = [];
  let ratios: Float64Array[] = [];
  let greenEnd: Float64Array[] = [];
  let weights: Float64Array[] = [];
  let ownCycle = new Float64Array(0);
  let offset = new Float64Array(0);
  let cycle = 0;
  let yellow = 0;
  let meter: FlowRatioMeter | undefined;
  let nextPlan = 0;

  /** Sets the common cycle, every intersection's greens and offsets; `measured`: from `ratios`. */
  function plan(env: ControlEnv, measured: boolean): void {
    const Y = (yellow = env.yellowTime);
    // each intersection's own cycle; the longest becomes the common one
    let c = 0;
    for (let x = 0; x < order.length; x++) {
      const n = order[x].length;
      let own = fixedCycle ?? initialCycle;
      if (measured) own = Math.min(maxCycle, Math.max(minCycle, websterCycle(sum(ratios[x]), n * Y)));
      own = Math.max(own, n * (Y + env.minGreen));
      ownCycle[x] = own;
      c = Math.max(c, own);
    }
    cycle = c;
    for (let x = 0; x < order.length; x++) {
      const n = order[x].length;
      const ends = greenEnd[x];
      // greens must fill the common cycle exactly, or the intersection drifts out of coordination
      if (measured && through[x] >= 0) {
        // the intersection's own Webster split stretched to the common cycle, keeping each phase's
        // green ratio g/C; the lost time saved by the longer cycle goes to the arterial (order[0])
        const own = ownCycle[x];
        splitGreen(ratios[x], sum(ratios[x]), own - n * Y, env.minGreen, ends, true);
        let others = 0;
        for (let j = 1; j < n; j++) others += (ends[j] *= c / own);
        ends[0] = c - n * Y - others;
      } else {
        const w = weights[x];
        for (let j = 0; j < n; j++) w[j] = (measured ? ratios[x][j] : 1) * (order[x][j] === through[x] ? weight : 1);
        splitGreen(w, sum(w), c - n * Y, env.minGreen, ends, true);
      }
      for (let j = 1; j < n; j++) ends[j] += ends[j - 1] + Y;
      offset[x] = at[x] % c;
    }
  }

  return {
    name,
    fixedPlan: true,
    arterials: () => chosen,
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
      chosen = pickArterials(env.net, findArterials(env.net, ixs.map((ix) => ix.intersection), speedFactor));
      art = new Int32Array(ixs.length).fill(-1);
      at = new Float64Array(ixs.length);
      through = new Int32Array(ixs.length).fill(-1);
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
      order = ixs.map((ix, x) => {
        const first = Math.max(0, ix.greens.indexOf(through[x]));
        return Int32Array.from(ix.greens, (_, j) => ix.greens[(first + j) % ix.greens.length]);
      });
      ratios = order.map((o) => new Float64Array(o.length));
      greenEnd = order.map((o) => new Float64Array(o.length));
      weights = order.map((o) => new Float64Array(o.length));
      offset = new Float64Array(ixs.length);
      ownCycle = new Float64Array(ixs.length);
      if (fixedCycle === undefined) {
        // served lanes in `order`, so ratios line up with the phases shown
        const served = ixs.map((ix, x) => {
          const sets = phaseLaneSets(ix).served;
          return [...order[x]].map((p) => sets[ix.greens.indexOf(p)]);
        });
        meter = new FlowRatioMeter(env, served, sat);
        nextPlan = env.twin.time + warmup;
      }
      plan(env, false);
    },
    beginStep(env) {
      if (!meter) return;
      if (env.twin.time < nextPlan) return;
      nextPlan = env.twin.time + period;
      meter.measure(env.twin.time, ratios);
      plan(env, true);
    },
    decide(ix, _s, env) {
      const x = slot[ix.intersection];
      // position in this intersection's cycle; each phase's window is its yellow, then its green
      const tau = (((env.twin.time - offset[x]) % cycle) + cycle) % cycle;
      const ends = greenEnd[x];
      for (let j = 0; j < ends.length; j++) if (tau < ends[j]) return order[x][j];
      return order[x][0]; // the yellow before the first phase
    },
  };
}

/**
 * Pairs the two directions of each street, keeps the direction with more
 * lanes, and assigns intersections to arterials longest first; an arterial
 * loses the intersections an earlier one took and keeps its longest
 * remaining run of at least two.
 */
function pickArterials(net: Network, found: Arterial[]): Arterial[] {
  const lanes = (a: Arterial) => a.roads.slice(1).reduce((s, r) => s + net.roadLaneCount[r], 0);
  const byKey = new Map(found.map((a, n) => [a.intersections.join(','), n]));
  const drop = new Set<number>();
  const cands: { a: Arterial; lanes: number; n: number }[] = [];
  found.forEach((a, n) => {
    if (drop.has(n)) return;
    const rev = byKey.get([...a.intersections].reverse().join(','));
    let best = a;
    let both = lanes(a);
    if (rev !== undefined && rev !== n) {
      drop.add(rev);
      both += lanes(found[rev]);
      if (lanes(found[rev]) > lanes(a)) best = found[rev];
    }
    cands.push({ a: best, lanes: both, n });
  });
  cands.sort((p, q) => q.a.intersections.length - p.a.intersections.length || q.lanes - p.lanes || p.n - q.n);
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

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j];
  return s;
}
