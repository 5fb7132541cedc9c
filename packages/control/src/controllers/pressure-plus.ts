import type { Simulation } from '@citybrain/engine';
import type { Controller, ControlEnv, IntersectionPhases } from '../core/controller.js';

export interface PressurePlusOptions {
  /** seconds between decisions; default 5 */
  period?: number;
  /**
   * metres before the stop line in which a moving vehicle counts as demand;
   * default: what a vehicle at the lane's speed limit covers in `period` + the yellow
   */
  range?: number;
  /** weight of the current phase's demand and pressure against the others' pressure; default 2 */
  keepWeight?: number;
  /**
   * count vehicles waiting at the boundary to enter a lane as queued on it;
   * default false (they would make boundary approaches outweigh the inner ones)
   */
  entryQueue?: boolean;
  /**
   * metres: between decisions, end a green at once when no vehicle is within
   * this distance of the stop lines it serves and another phase has pressure
   * (an actuated controller's gap-out); 0 disables; default 50
   */
  gapOut?: number;
}

/**
 * Max-pressure that also sees vehicles about to reach the stop line, after
 * Advanced-MP (Zhang et al., "Expression might be enough", ICML 2022):
 *
 * - pressure of a phase = Σ over its movements of (mean queue on the incoming
 *   lanes − mean queue on the outgoing lanes), queue = vehicles slower than
 *   0.1 m/s (with `entryQueue`, plus those waiting at the boundary to enter);
 * - demand of a phase = Σ over its movements of the mean number of *moving*
 *   vehicles within `range` of the stop line: traffic the green would serve
 *   right away without having to restart a queue;
 * - every `period` seconds, keep the current phase while keepWeight × (its
 *   demand + its pressure) is at least the best other phase's pressure, else
 *   switch to the phase of maximal pressure (ties: lowest index, as max-pressure);
 * - in between, gap out: a green with nothing left within `gapOut` metres of
 *   its stop lines goes to the phase of maximal pressure if that is positive.
 * Movements green in every phase (right turns) count for no phase's demand.
 *
 * Keeping a phase whose platoon is still arriving avoids paying the yellow
 * for a queue that has just been served; a phase with nothing queued but a
 * platoon arriving can still win on demand; and a green nobody uses any more
 * is not held until the next decision.
 *
 * Defaults tuned on the five public HZ/JN scenarios (a 5 s period against
 * 2..15 s, weight 2 against 0..3, 50 m against 20..100 m), but not per
 * scenario: each setting was kept only if it helped on most of them.
 */
export function pressurePlus(opts: PressurePlusOptions = {}): Controller {
  const period = opts.period ?? 5;
  if (!(period > 0)) throw new RangeError(`pressure-plus: period must be > 0 s, got ${opts.period}`);
  if (opts.range !== undefined && !(opts.range >= 0)) throw new RangeError(`pressure-plus: range must be >= 0 m, got ${opts.range}`);
  if (opts.gapOut !== undefined && !(opts.gapOut >= 0)) throw new RangeError(`pressure-plus: gapOut must be >= 0 m, got ${opts.gapOut}`);
  const keepWeight = opts.keepWeight ?? 2;
  const entry = opts.entryQueue ?? false;
  const gapOut = opts.gapOut ?? 50;
  const lanes = new LaneLoad();
  return {
    name: 'pressure-plus',
    init(env) {
      lanes.init(env, opts.range ?? null, period);
    },
    decide(ix, s, env) {
      const steps = Math.max(1, Math.round(period / env.sim.interval));
      if (env.sim.stepCount % steps !== 0) {
        if (gapOut === 0 || !gappedOut(env.sim, ix, s.green, gapOut)) return s.green;
        lanes.refresh(env.sim, entry);
        return choosePhase(ix, s.green, lanes.queue, lanes.moving, 0);
      }
      lanes.refresh(env.sim, entry);
      return choosePhase(ix, s.green, lanes.queue, lanes.moving, keepWeight);
    },
  };
}

/** Per-lane queued and approaching-moving counts, recounted at most once per step. */
export class LaneLoad {
  queue = new Float64Array(0);
  moving = new Float64Array(0);
  private waiting = new Int32Array(0);
  private range = new Float64Array(0);
  private countedAt = -1;
  /** lanes that feed a controlled intersection: only these need the approach scan */
  private inLanes = new Int32Array(0);

  init(env: Pick<ControlEnv, 'net' | 'intersections' | 'yellowTime'>, range: number | null, period: number): void {
    const n = env.net.nLanes;
    this.queue = new Float64Array(n);
    this.moving = new Float64Array(n);
    this.waiting = new Int32Array(n);
    this.range = new Float64Array(n);
    const yellow = env.yellowTime;
    for (let l = 0; l < n; l++) this.range[l] = range ?? env.net.maxSpeed[l] * (period + yellow);
    const set = new Set<number>();
    for (const ix of env.intersections) {
      for (const l of ix.inLanes) set.add(l);
      // the rules' tables, built here rather than in the first decision
      flat(ix);
    }
    this.inLanes = Int32Array.from(set);
    this.countedAt = -1;
  }

  /** Forget the last count (the next refresh may see another simulation at the same step). */
  invalidate(): void {
    this.countedAt = -1;
  }

  refresh(sim: Simulation, entryQueue: boolean): void {
    if (this.countedAt === sim.stepCount) return;
    this.countedAt = sim.stepCount;
    sim.laneWaitingCounts(this.waiting);
    const n = this.queue.length;
    for (let l = 0; l < n; l++) this.queue[l] = this.waiting[l] + (entryQueue ? sim.laneEntryQueue(l) : 0);
    for (const l of this.inLanes) this.moving[l] = Math.max(0, sim.laneApproachingCount(l, this.range[l]) - this.waiting[l]);
  }
}

/**
 * An intersection's movements flattened into typed arrays, built once per
 * IntersectionPhases object: the rules below run for every intersection at
 * every step of every rollout, where walking the object graph cost as much as
 * the simulation itself. Sums keep the order of the plain definition
 * (movement by movement, each mean its own sum over its lanes), so results
 * are bit for bit those of the object walk.
 */
interface Flat {
  /** movements of phase p: [phaseStart[p], phaseStart[p + 1]) */
  phaseStart: Int32Array;
  /** per movement: its incoming lanes in lanes[inStart[m], inStart[m + 1]) and outgoing in lanes[outStart[m], outStart[m + 1]) */
  inStart: Int32Array;
  outStart: Int32Array;
  lanes: Int32Array;
  /** per movement: 1 when it is green in the yellow phase too (a right turn) */
  always: Uint8Array;
  /** lanes phase p serves beyond the always-green movements: served[servedStart[p], servedStart[p + 1]) */
  servedStart: Int32Array;
  served: Int32Array;
  greens: Int32Array;
}

const flatCache = new WeakMap<IntersectionPhases, Flat>();

function flat(ix: IntersectionPhases): Flat {
  let f = flatCache.get(ix);
  if (f) return f;
  const always = new Set(ix.movements[ix.yellow]?.map((m) => m.roadLink) ?? []);
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
  flatCache.set(ix, f);
  return f;
}

/** Mean of `load` over lanes[from, to), 0 for none. */
function meanOf(lanes: Int32Array, from: number, to: number, load: ArrayLike<number>): number {
  if (to === from) return 0;
  let s = 0;
  for (let j = from; j < to; j++) s += load[lanes[j]];
  return s / (to - from);
}

function pressureOf(f: Flat, p: number, queue: ArrayLike<number>): number {
  let pressure = 0;
  for (let m = f.phaseStart[p]; m < f.phaseStart[p + 1]; m++) {
    pressure += meanOf(f.lanes, f.inStart[m], f.outStart[m], queue) - meanOf(f.lanes, f.outStart[m], f.inStart[m + 1], queue);
  }
  return pressure;
}

/** Pressure of phase p: Σ movements (mean queue in − mean queue out). */
export function phasePressure(ix: IntersectionPhases, p: number, queue: ArrayLike<number>): number {
  return p < 0 || p >= ix.movements.length ? 0 : pressureOf(flat(ix), p, queue);
}

function demandOf(f: Flat, p: number, load: ArrayLike<number>): number {
  let d = 0;
  for (let m = f.phaseStart[p]; m < f.phaseStart[p + 1]; m++) if (!f.always[m]) d += meanOf(f.lanes, f.inStart[m], f.outStart[m], load);
  return d;
}

/** Demand of phase p: Σ movements mean of `load` over the incoming lanes. */
export function phaseDemand(ix: IntersectionPhases, p: number, load: ArrayLike<number>): number {
  return p < 0 || p >= ix.movements.length ? 0 : demandOf(flat(ix), p, load);
}

/** Whether no vehicle is within `range` of the stop lines the green `p` serves (its queue is gone and nothing follows). */
export function gappedOut(sim: Simulation, ix: IntersectionPhases, p: number, range: number): boolean {
  if (p < 0 || p >= ix.movements.length) return true;
  const f = flat(ix);
  for (let j = f.servedStart[p]; j < f.servedStart[p + 1]; j++) if (sim.laneApproachingCount(f.served[j], range) > 0) return false;
  return true;
}

/** Incoming lanes of the movements phase p serves beyond the always-green ones. */
export function servedLanes(ix: IntersectionPhases, p: number): number[] {
  if (p < 0 || p >= ix.movements.length) return [];
  const f = flat(ix);
  return Array.from(f.served.subarray(f.servedStart[p], f.servedStart[p + 1]));
}

/** The pressure-plus rule: keep `current` while its demand holds up against the best other pressure. */
export function choosePhase(ix: IntersectionPhases, current: number, queue: ArrayLike<number>, moving: ArrayLike<number>, keepWeight: number): number {
  const f = flat(ix);
  const greens = f.greens;
  let best = greens[0];
  let bestP = -Infinity;
  let bestOther = -Infinity;
  let curP = 0;
  let served = false;
  for (let g = 0; g < greens.length; g++) {
    const p = greens[g];
    const pr = pressureOf(f, p, queue);
    if (pr > bestP) {
      bestP = pr;
      best = p;
    }
    if (p === current) {
      curP = pr;
      served = true;
    } else if (pr > bestOther) bestOther = pr;
  }
  if (served && keepWeight * (demandOf(f, current, moving) + curP) >= bestOther) return current;
  return best;
}
