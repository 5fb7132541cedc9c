import type { ControlEnv, IntersectionPhases, SimReader } from '../core/controller.js';

/**
 * Pressure and demand of a phase, the one definition max-pressure,
 * pressure-plus and the predictive controller (its base policy, its ranking
 * of candidates) all read, for any per-lane load (waiting vehicles, queues,
 * moving vehicles):
 * - pressure of phase p = Σ over its movements of (mean load on the incoming
 *   lanes − mean load on the outgoing lanes) (Varaiya 2013);
 * - demand of phase p = Σ over its movements of the mean load on the incoming
 *   lanes, movements green in the yellow phase too or in every green (right
 *   turns) excluded: they need no green.
 * The mean over no lanes (a roadLink without laneLinks) is 0.
 */

/**
 * An intersection's movements flattened into typed arrays, built once per
 * IntersectionPhases object: these measures run for every intersection at
 * every step of every rollout, where walking the object graph cost as much as
 * the simulation itself. Sums keep the order of the plain definition
 * (movement by movement, each mean its own sum over its lanes), so results
 * are bit for bit those of the object walk.
 */
export interface PhaseTables {
  /** movements of phase p: [phaseStart[p], phaseStart[p + 1]) */
  phaseStart: Int32Array;
  /** per movement: its incoming lanes in lanes[inStart[m], inStart[m + 1]) and outgoing in lanes[outStart[m], outStart[m + 1]) */
  inStart: Int32Array;
  outStart: Int32Array;
  lanes: Int32Array;
  /** per movement: 1 when it is green in the yellow phase too or in every green (a right turn) */
  always: Uint8Array;
  /** lanes phase p serves beyond the always-green movements: served[servedStart[p], servedStart[p + 1]) */
  servedStart: Int32Array;
  served: Int32Array;
  greens: Int32Array;
}

/**
 * The roadLinks green whatever the controller chooses, the one rule every
 * measure leaves out of a phase's pressure and demand: green in the yellow
 * too (CityFlow's right turns), or in every green (SUMO's programs permit
 * right turns in each green but not in the yellow). No phase is needed for them.
 */
export function alwaysGreen(ix: IntersectionPhases): Set<number> {
  const always = new Set(ix.movements[ix.yellow]?.map((m) => m.roadLink) ?? []);
  const greenIn = new Map<number, number>();
  for (const p of ix.greens) for (const m of ix.movements[p]) greenIn.set(m.roadLink, (greenIn.get(m.roadLink) ?? 0) + 1);
  for (const [r, n] of greenIn) if (n === ix.greens.length && ix.greens.length > 1) always.add(r);
  return always;
}

const tableCache = new WeakMap<IntersectionPhases, PhaseTables>();

export function phaseTables(ix: IntersectionPhases): PhaseTables {
  let f = tableCache.get(ix);
  if (f) return f;
  const always = alwaysGreen(ix);
  const phaseStart = [0], inStart: number[] = [], outStart: number[] = [], lanes: number[] = [], alw: number[] = [];
  const servedStart = [0], served: number[] = [];
  for (const ms of ix.movements) {
    const mine = new Set<number>();
    for (const m of ms) {
      inStart.push(lanes.length);
      lanes.push(...m.inLanes);
      outStart.push(lanes.length);
      lanes.push(...m.outLanes);
      alw.push(always.has(m.roadLink) ? 1 : 0);
      if (!always.has(m.roadLink)) for (const l of m.inLanes) mine.add(l);
    }
    phaseStart.push(inStart.length);
    served.push(...mine);
    servedStart.push(served.length);
  }
  // each movement's out lanes end where the next movement's in lanes start
  inStart.push(lanes.length);
  f = {
    phaseStart: Int32Array.from(phaseStart), inStart: Int32Array.from(inStart), outStart: Int32Array.from(outStart),
    lanes: Int32Array.from(lanes), always: Uint8Array.from(alw),
    servedStart: Int32Array.from(servedStart), served: Int32Array.from(served), greens: Int32Array.from(ix.greens),
  };
  tableCache.set(ix, f);
  return f;
}

/** Builds the tables of every intersection in `ixs` now (a controller's init), rather than in its first decision. */
export function buildPhaseTables(ixs: readonly IntersectionPhases[]): void {
  for (const ix of ixs) phaseTables(ix);
}

/** Mean of `load` over lanes[from, to), 0 for none. */
function meanOf(lanes: Int32Array, from: number, to: number, load: ArrayLike<number>): number {
  if (to === from) return 0;
  let s = 0;
  for (let j = from; j < to; j++) s += load[lanes[j]];
  return s / (to - from);
}

/** Pressure of phase p from its tables (p must be a phase of the intersection). */
export function pressureOf(f: PhaseTables, p: number, load: ArrayLike<number>): number {
  let pressure = 0;
  for (let m = f.phaseStart[p]; m < f.phaseStart[p + 1]; m++) {
    pressure += meanOf(f.lanes, f.inStart[m], f.outStart[m], load) - meanOf(f.lanes, f.outStart[m], f.inStart[m + 1], load);
  }
  return pressure;
}

/** Demand of phase p from its tables (p must be a phase of the intersection). */
export function demandOf(f: PhaseTables, p: number, load: ArrayLike<number>): number {
  let d = 0;
  for (let m = f.phaseStart[p]; m < f.phaseStart[p + 1]; m++) if (!f.always[m]) d += meanOf(f.lanes, f.inStart[m], f.outStart[m], load);
  return d;
}

/** Pressure of phase p: Σ movements (mean load in − mean load out); 0 for a phase the intersection does not have. */
export function phasePressure(ix: IntersectionPhases, p: number, load: ArrayLike<number>): number {
  return p < 0 || p >= ix.movements.length ? 0 : pressureOf(phaseTables(ix), p, load);
}

/** Demand of phase p: Σ movements (right turns excluded) mean of `load` over the incoming lanes. */
export function phaseDemand(ix: IntersectionPhases, p: number, load: ArrayLike<number>): number {
  return p < 0 || p >= ix.movements.length ? 0 : demandOf(phaseTables(ix), p, load);
}

/** The green phase of maximal pressure under `load` (per lane); ties keep the lowest index. */
export function maxPressurePhase(ix: IntersectionPhases, load: ArrayLike<number>): number {
  const f = phaseTables(ix);
  const greens = f.greens;
  let best = greens[0];
  let bestP = -Infinity;
  for (let g = 0; g < greens.length; g++) {
    const pressure = pressureOf(f, greens[g], load);
    if (pressure > bestP) {
      bestP = pressure;
      best = greens[g];
    }
  }
  return best;
}

/** maxPressurePhase with the load given per lane by a function (kept for callers of the earlier signature). */
export function bestPhase(ix: IntersectionPhases, _env: ControlEnv, load: (lane: number) => number): number {
  const lanes = phaseTables(ix).lanes;
  let n = 0;
  for (let j = 0; j < lanes.length; j++) n = Math.max(n, lanes[j] + 1);
  const loads = new Float64Array(n);
  for (let j = 0; j < lanes.length; j++) loads[lanes[j]] = load(lanes[j]);
  return maxPressurePhase(ix, loads);
}

/** Whether no vehicle is within `range` of the stop lines the green `p` serves (its queue is gone and nothing follows). */
export function gappedOut(sim: SimReader, ix: IntersectionPhases, p: number, range: number): boolean {
  if (p < 0 || p >= ix.movements.length) return true;
  const f = phaseTables(ix);
  for (let j = f.servedStart[p]; j < f.servedStart[p + 1]; j++) if (sim.laneApproachingCount(f.served[j], range) > 0) return false;
  return true;
}

/** Incoming lanes of the movements phase p serves beyond the always-green ones. */
export function servedLanes(ix: IntersectionPhases, p: number): number[] {
  if (p < 0 || p >= ix.movements.length) return [];
  const f = phaseTables(ix);
  return Array.from(f.served.subarray(f.servedStart[p], f.servedStart[p + 1]));
}
