import type { Simulation } from '@citybrain/engine';
import type { Controller, ControlEnv, IntersectionPhases } from './controller.js';

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
    for (const ix of env.intersections) for (const l of ix.inLanes) set.add(l);
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

/** Pressure of phase p: Σ movements (mean queue in − mean queue out). */
export function phasePressure(ix: IntersectionPhases, p: number, queue: ArrayLike<number>): number {
  let pressure = 0;
  for (const m of ix.movements[p]) pressure += mean(m.inLanes, queue) - mean(m.outLanes, queue);
  return pressure;
}

/** Demand of phase p: Σ movements mean of `load` over the incoming lanes. */
export function phaseDemand(ix: IntersectionPhases, p: number, load: ArrayLike<number>): number {
  let d = 0;
  const always = alwaysGreen(ix);
  for (const m of ix.movements[p]) if (!always.has(m.roadLink)) d += mean(m.inLanes, load);
  return d;
}

/** Whether no vehicle is within `range` of the stop lines the green `p` serves (its queue is gone and nothing follows). */
export function gappedOut(sim: Simulation, ix: IntersectionPhases, p: number, range: number): boolean {
  for (const l of servedLanes(ix, p)) if (sim.laneApproachingCount(l, range) > 0) return false;
  return true;
}

const servedCache = new WeakMap<IntersectionPhases, number[][]>();

/** Incoming lanes of the movements phase p serves beyond the always-green ones. */
export function servedLanes(ix: IntersectionPhases, p: number): number[] {
  let all = servedCache.get(ix);
  if (!all) {
    const always = alwaysGreen(ix);
    all = ix.movements.map((ms) => [...new Set(ms.filter((m) => !always.has(m.roadLink)).flatMap((m) => m.inLanes))]);
    servedCache.set(ix, all);
  }
  return all[p] ?? [];
}

const alwaysCache = new WeakMap<IntersectionPhases, Set<number>>();

/** Movements green in the yellow phase too (right turns): no phase choice serves them more than another. */
function alwaysGreen(ix: IntersectionPhases): Set<number> {
  let s = alwaysCache.get(ix);
  if (!s) {
    s = new Set(ix.movements[ix.yellow]?.map((m) => m.roadLink) ?? []);
    alwaysCache.set(ix, s);
  }
  return s;
}

/** The pressure-plus rule: keep `current` while its demand holds up against the best other pressure. */
export function choosePhase(ix: IntersectionPhases, current: number, queue: ArrayLike<number>, moving: ArrayLike<number>, keepWeight: number): number {
  let best = ix.greens[0];
  let bestP = -Infinity;
  let bestOther = -Infinity;
  let curP = 0;
  for (const p of ix.greens) {
    const pr = phasePressure(ix, p, queue);
    if (pr > bestP) {
      bestP = pr;
      best = p;
    }
    if (p === current) curP = pr;
    else if (pr > bestOther) bestOther = pr;
  }
  if (ix.greens.includes(current) && keepWeight * (phaseDemand(ix, current, moving) + curP) >= bestOther) return current;
  return best;
}

function mean(lanes: number[], load: ArrayLike<number>): number {
  if (lanes.length === 0) return 0;
  let s = 0;
  for (const l of lanes) s += load[l];
  return s / lanes.length;
}
