import type { Controller, IntersectionPhases, SimReader } from '../core/controller.js';
import { checkOption } from './options.js';
import { intersectionSlots } from '../core/slots.js';
import { approaching, phaseLaneSets } from '../measures/phase-lanes.js';
import { SpillBack } from '../measures/spill-back.js';
import { ApproachQueue } from '../measures/approach.js';
import { lanesOnRings, linkExits } from '../measures/lane-exits.js';

export interface ActuatedOptions {
  /** metres upstream of the stop line a lane's presence detector covers; default 30 */
  detectorLength?: number;
  /** seconds without a detection on the green's lanes that end the green (gap-out); default 3 */
  gap?: number;
  /** seconds after which a green ends when another phase has demand (max-out); default 60, and at most the green's discharge time (saturationFlow) */
  maxGreen?: number;
  /**
   * saturation flow per lane, veh/s; default 0.5 (webster's). A green maxes out, when another phase has demand, once
   * it has lasted the time its lanes' queue about to spill back (SpillBack.warnAt) takes to discharge at this flow,
   * if that is shorter than maxGreen
   */
  saturationFlow?: number;
}

/**
 * Fully actuated control with stop-line presence detectors on every
 * incoming lane. After minGreen, the green is extended while its lanes keep
 * detecting vehicles, and ends once no vehicle has been detected for `gap`
 * seconds (gap-out) or it has lasted `maxGreen` (max-out). It then goes to
 * the next phase, in the roadnet's order, whose detectors hold a vehicle
 * (phases without demand are skipped); with no demand anywhere else the
 * green rests where it is. A phase whose waiting vehicles all face full exits
 * (SpillBack) has no demand: presence detectors over a queue that cannot
 * move would otherwise hold its green for ever (maxGreen only if another
 * phase calls), sending vehicles into the junction to stop there.
 *
 * The max-out is the shorter of maxGreen and the time the green's lanes take
 * to discharge the queue at which they would spill back (SpillBack.warnAt, at
 * `saturationFlow`): past that, its lanes have been emptied of what they can
 * store and the green runs on vehicles arriving during it, while the red of
 * every other phase grows. On CityFlow's 4 x 4 grid at 0.12 veh/s a route
 * (test/spill-ring.test.ts; 240-270 m lanes: 40-44 s) a 60 s max-out let the
 * busy straight phases hold the interior for a 4-phase cycle of up to 260 s
 * while the left-turn lanes round the centre, fed by right turns (green
 * always), filled until a ring of full lanes locked the grid (at 2,760 s, the
 * perimeter gate on the plan from 660 s); bounded, it carries the hour (ATT
 * 763.7 -> 606.8 s; at 0.1 315.7 -> 297.1, 6 x 6 at 0.1 743.1 locked -> 364.8,
 * 3 x 16 at 0.1 233.7 -> 221.2). Over 24 generated grids (3 x 3 to 6 x 6,
 * 4 x 5, 5 x 4, 5 x 5, 4 x 6, 4 x 8, 2 x 5, 3 x 16, 16 x 3, 1 x 8, 1 x 4 at
 * 0.08-0.15; 2026-12-07)
 * the locked intersections went from 184 in 11 runs to 49 in 6 (4 x 4 at 0.11
 * 965.8 locked -> 491.1 s, at 0.13 1,321.4 locked -> 696.3; more only on 3 x 3
 * at 0.12, 6 -> 8, ATT 1,120.0 -> 729.6). The five real scenarios (bench
 * control) are unchanged to the last digit. Only at intersections with an
 * incoming lane on a ring of lanes (measures/lane-exits.ts lanesOnRings: a
 * deadlock needs one): on an arterial (no way back without a U-turn) the bound
 * cost past capacity (1 x 8 at 0.12 166.8 -> 178.8 s, at 0.15 274.6 -> 308.5,
 * 1 x 4 at 0.12 197.1 -> 224.3, at 0.15 377.4 -> 430.2; stress.test.ts's
 * 1 x 6 123.6 -> 124.4) and protected nothing; there actuated is as it was to
 * the last digit. It costs on test/stress.test.ts's
 * short-blocks (60 m lanes: a 10 s max-out) 242.2 -> 261.4, turning 130.3 ->
 * 133.7, unbalanced 116.3 -> 118.2. Measured and rejected (2026-12-07): the
 * spill guard (measures/spill-guard.ts) before the actuation (4 x 4 at 0.12
 * still locked at 2,645 s, at 0.1 315.7 -> 348.3 s with the gate firing); the
 * bound only while another phase has a vehicle on a lane a junction feeds (4 x 4
 * at 0.12 locked at 3,185 s); ending a green once another phase's lane is about
 * to spill back (a queue override: locked 4 x 4 at 0.1 and 6 x 6 at 0.1).
 *
 * Where phases overlap (SUMO's programs: a movement green in two of three phases) or a lane at the stop line is a
 * stub (imports: OSM splits a street at a crossing or a driveway, leaving 0.2-8 m lanes), three rules:
 * - a phase is called only by the lanes where it lets go a vehicle the green shown holds (callLanes): a lane whose
 *   movements in that phase are all green now too is served where it is;
 * - on a lane the green serves in part (a movement of it waits for another green: partLanes), only a moving vehicle
 *   extends the green: one standing there may wait for the other phase, and would hold this one to its max-out;
 * - the max-out bound counts the queue the lane's approach stores (measures/approach.ts): a stub holds one vehicle,
 *   the queue waiting for its green stands on the lanes upstream that lead only to it.
 * On the Osnabrück import at 4,000 trips/h (cluster_433935137_56328208, whose lane 40149625#0_1 goes on in phases 0
 * and 4, and whose phase 0 serves a 7.6 m stub behind a pedestrian crossing) phase 4, called and held by 40149625#0_1,
 * cut phase 0 to its 14 s max-out every 38 s, while the stub's approach backed up 150 m into a ring of streets that
 * locked: seed 7 ATT 657.4 s, 13 faults, 571 teleported -> 63.3 s, none; seed 42 264.2 s -> 63.5. Over 41 runs of the
 * import (2,000-4,500 trips/h, 10 seeds; 2026-12-07) summed ATT 13,423.5 -> 9,277.4 s, runs with gridlock faults
 * 14 -> 11 (the first rule alone: 11,950.6 s, 11). Near capacity the import locks every controller on some seeds
 * (at 3,500/h seed 7, before and after, from a vehicle waiting at the end of the 1.1 m lane 7763600#5_1 to change
 * lanes), and which runs lock shifts: one carried before locks now (4,000/h seed 1: 83.8 s, 6 faults -> 485.2, as
 * max-pressure and schedule lock it: 457.7, 469.8). No lane of the generated
 * grids or the five real scenarios is concerned: there actuated is as it was (Hangzhou's SUMO files, whose phases
 * overlap: 322.4 -> 322.3 s).
 */
export function actuated(opts: ActuatedOptions = {}): Controller {
  const name = 'actuated';
  const zone = checkOption(name, 'detectorLength', opts.detectorLength ?? 30, 0);
  const gap = checkOption(name, 'gap', opts.gap ?? 3, 0);
  const maxGreen = checkOption(name, 'maxGreen', opts.maxGreen ?? 60, 0);
  const sat = checkOption(name, 'saturationFlow', opts.saturationFlow ?? 0.5, 1e-3);

  let slot = new Int32Array(0);
  let served: Int32Array[][] = [];
  /** per intersection slot, green slot g shown and green slot h: the lanes of h with a movement green in h but not in g */
  let calls: Int32Array[][][] = [];
  /** per intersection slot and green slot: its served lanes all of whose movements it shows green (whole), and the others (part) */
  let whole: Int32Array[][] = [];
  let part: Int32Array[][] = [];
  /** phase shown at each intersection at the previous step, to see greens start */
  let shown = new Int32Array(0);
  /** simulated second of the last detection on the green's lanes (or the green's start) */
  let lastSeen = new Float64Array(0);
  let spill: SpillBack;
  /** per intersection slot and green slot: seconds after which the green maxes out */
  let maxOut: Float64Array[] = [];

  return {
    name,
    // gaps in the vehicles approaching
    needs: 'approach',
    init(env) {
      slot = intersectionSlots(env);
      served = env.intersections.map((ix) => phaseLaneSets(ix).served);
      calls = env.intersections.map((ix, k) => callLanes(ix, served[k]));
      part = env.intersections.map((ix, k) => ix.greens.map((_, g) => partLanes(ix, g, served[k][g])));
      whole = served.map((sets, k) => sets.map((lanes, g) => lanes.filter((l) => !part[k][g].includes(l))));
      shown = new Int32Array(served.length).fill(-1);
      lastSeen = new Float64Array(served.length);
      spill = new SpillBack(env.net, env.intersections);
      // the longest of its lanes' discharge times: a queue about to spill back, at saturation flow
      // only where an incoming lane lies on a ring of lanes (laneLinks) can the queues a long green leaves close a deadlock
      const ringed = lanesOnRings(linkExits(env.net));
      // what a lane's approach stores: a stub at the stop line holds one vehicle, its queue stands upstream
      const store = new ApproachQueue(env.net, env.intersections).fill(spill.warnAt);
      maxOut = served.map((sets) => {
        const onRing = sets.some((lanes) => lanes.some((l) => ringed[l] === 1));
        return Float64Array.from(sets, (lanes) => {
          if (!onRing) return maxGreen;
          let most = 0;
          for (const l of lanes) most = Math.max(most, store[l] / sat);
          return Math.min(maxGreen, most);
        });
      });
    },
    beginStep(env) {
      // detectors are read every step, also during minGreen, so the gap is known when decisions start
      const { twin: sim, intersections } = env;
      const t = sim.time;
      for (let k = 0; k < intersections.length; k++) {
        const ix = intersections[k];
        const p = sim.phase(ix.intersection);
        if (p !== shown[k]) {
          shown[k] = p;
          lastSeen[k] = t;
        }
        const g = ix.greens.indexOf(p);
        if (g >= 0 && detected(sim, whole[k][g], part[k][g], zone) && !spill.blocked(k, g, env.observed.queue)) lastSeen[k] = t;
      }
    },
    decide(ix, s, env) {
      const k = slot[ix.intersection];
      const t = env.twin.time;
      const n = ix.greens.length;
      const g = ix.greens.indexOf(s.green);
      if (t - lastSeen[k] < gap && t - s.greenSince < (g >= 0 ? maxOut[k][g] : maxGreen)) return s.green;
      for (let j = 1; j < n; j++) {
        const h = (g + j) % n;
        if (approaching(env.twin, g >= 0 ? calls[k][g][h] : served[k][h], zone) > 0 && !spill.blocked(k, h, env.observed.queue)) return ix.greens[h];
      }
      return s.green;
    },
  };
}

/**
 * Per green slot g shown and green slot h: the lanes of `served[h]` with a movement green in h and not in g. Only
 * they call h while g is shown: a lane all of whose movements in h are green in g too is served where it is.
 */
function callLanes(ix: IntersectionPhases, served: Int32Array[]): Int32Array[][] {
  const links = ix.greens.map((p) => new Set(ix.movements[p].map((m) => m.roadLink)));
  return ix.greens.map((_, g) =>
    ix.greens.map((p, h) => {
      const lanes = new Set<number>();
      for (const m of ix.movements[p]) if (!links[g].has(m.roadLink)) for (const l of m.inLanes) lanes.add(l);
      return served[h].filter((l) => lanes.has(l));
    }),
  );
}

/** The lanes of `served` (green slot g's) with a movement that green ix.greens[g] does not show. */
function partLanes(ix: IntersectionPhases, g: number, served: Int32Array): Int32Array {
  const green = new Set(ix.movements[ix.greens[g]].map((m) => m.roadLink));
  const lanes = new Set<number>();
  for (const p of ix.greens) for (const m of ix.movements[p]) if (!green.has(m.roadLink)) for (const l of m.inLanes) lanes.add(l);
  return served.filter((l) => lanes.has(l));
}

/**
 * Whether the green's detectors see a vehicle: one within `zone` of the stop line on a lane all of whose movements
 * it serves, or one moving on a lane it serves in part (one standing there may wait for another green).
 */
function detected(sim: SimReader, whole: Int32Array, part: Int32Array, zone: number): boolean {
  for (let i = 0; i < whole.length; i++) if (sim.laneApproachingCount(whole[i], zone) > 0) return true;
  for (let i = 0; i < part.length; i++) if (sim.laneMovingCount(part[i], zone) > 0) return true;
  return false;
}
