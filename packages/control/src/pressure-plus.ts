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
}

/**
 * Max-pressure that also sees vehicles about to reach the stop line, after
 * Advanced-MP (Zhang et al., "Expression might be enough", ICML 2022):
 *
 * - pressure of a phase = Σ over its movements of (mean queue on the incoming
 *   lanes − mean queue on the outgoing lanes), queue = vehicles slower than
 *   0.1 m/s (plus those waiting at the boundary to enter);
 * - demand of a phase = Σ over its movements of the mean number of *moving*
 *   vehicles within `range` of the stop line: traffic the green would serve
 *   right away without having to restart a queue;
 * - every `period` seconds, keep the current phase while keepWeight × (its
 *   demand + its pressure) is at least the best other phase's pressure, else switch to the
 *   phase of maximal pressure (ties: lowest index, as max-pressure).
 *
 * Keeping a phase whose platoon is still arriving avoids paying the yellow
 * for a queue that has just been served; a phase with nothing queued but a
 * platoon arriving can still win on demand.
 */
export function pressurePlus(opts: PressurePlusOptions = {}): Controller {
  const period = opts.period ?? 5;
  if (!(period > 0)) throw new RangeError(`pressure-plus: period must be > 0 s, got ${opts.period}`);
  if (opts.range !== undefined && !(opts.range >= 0)) throw new RangeError(`pressure-plus: range must be >= 0 m, got ${opts.range}`);
  const keepWeight = opts.keepWeight ?? 2;
  const entry = opts.entryQueue ?? false;
  const lanes = new LaneLoad();
  return {
    name: 'pressure-plus',
    init(env) {
      lanes.init(env, opts.range ?? null, period);
    },
    decide(ix, s, env) {
      const steps = Math.max(1, Math.round(period / env.sim.interval));
      if (env.sim.stepCount % steps !== 0) return s.green;
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
