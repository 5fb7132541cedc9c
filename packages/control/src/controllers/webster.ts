import type { Controller, ControlEnv } from '../core/controller.js';
import { checkOption } from './options.js';
import { intersectionSlots } from '../core/slots.js';
import { FlowRatioMeter } from '../measures/flow-ratios.js';
import { phaseLaneSets } from '../measures/phase-lanes.js';
import { splitGreen } from './green-split.js';
import { SpillBack } from '../measures/spill-back.js';
import { SpillGuard } from '../measures/spill-guard.js';

export interface WebsterOptions {
  /** saturation flow per lane, vehicles per second; default 0.5 (1800 veh/h/lane) */
  saturationFlow?: number;
  /** cycle bounds in seconds; defaults 40 and 180 */
  minCycle?: number;
  maxCycle?: number;
  /** seconds of measurement before the first flow-based plan; default 300 */
  warmup?: number;
  /** seconds between re-plans, each from the flows of the window just ended; default 300 (900 reacts too slowly on the public HZ/JN scenarios) */
  period?: number;
  /** cycle of the equal-split plan run before the first measurement; default 80 */
  initialCycle?: number;
  /** highest total flow ratio Y used in the cycle formula (keeps 1 - Y away from 0); default 0.9 */
  maxFlowRatio?: number;
}

/** One intersection's current fixed-time plan, as `webster().plans()` reports it. */
export interface WebsterPlan {
  intersection: string;
  cycle: number;
  /** green seconds per phase of `greens` */
  greens: number[];
  /** critical flow ratio y per phase of `greens` */
  flowRatios: number[];
}

export interface WebsterController extends Controller {
  /** the plans in force, in `env.intersections` order (empty before init) */
  plans(): WebsterPlan[];
}

/**
 * Webster's (1958) fixed-time plan, re-estimated from detector counts.
 *
 * Estimation: at the end of each window (the warm-up, then every `period`)
 * the arrival flow q_l of each lane is, per second of the window, what its
 * stop-line detector counted plus the growth of the vehicles it reports,
 * plus, on a lane full at the window's end, its queue (spill-back hides its
 * demand: FlowRatioMeter, from `env.observed`). A green whose waiting
 * movements all lead into full exits ends early, and the cycle moves on to
 * the next phase that does not (measures/spill-back.ts); and a lane about
 * to spill back calls its phase ahead of the plan, extended while it
 * discharges (queue-spillback protection, measures/spill-guard.ts: without
 * it Webster's long cycles near saturation, up to maxCycle, let the one-lane
 * left turns round an overloaded 4 x 4 grid fill and lock it). For each
 * green phase, y_i = max over the lanes it serves (movements green in every
 * phase, e.g. right turns, excluded) of q_l / s. With lost time L = yellow × number of phases and Y = Σ y_i
 * (capped at `maxFlowRatio`), the cycle is C0 = (1.5 L + 5) / (1 − Y) clamped
 * to [minCycle, maxCycle], and its green time C − L is split in proportion
 * to y_i; a phase below minGreen is raised to it, lengthening the cycle as
 * Webster's method does, except that past maxCycle the long greens give the
 * excess back (the cycle exceeds maxCycle only if the minGreens and yellows
 * alone do).
 * Phases are shown cyclically in the roadnet's order. Counts at the stop
 * line under saturation are capped by the green the lane got; the queue's
 * growth adds the demand held back. Arrivals upstream are still capped by
 * what upstream signals let through, so the plan follows served demand, as
 * a traffic engineer's counts would.
 */
export function webster(opts: WebsterOptions = {}): WebsterController {
  const name = 'webster';
  const sat = checkOption(name, 'saturationFlow', opts.saturationFlow ?? 0.5, 1e-3);
  const minCycle = checkOption(name, 'minCycle', opts.minCycle ?? 40, 1);
  const maxCycle = checkOption(name, 'maxCycle', opts.maxCycle ?? 180, minCycle);
  const warmup = checkOption(name, 'warmup', opts.warmup ?? 300, 1);
  const period = checkOption(name, 'period', opts.period ?? 300, 1);
  const initialCycle = checkOption(name, 'initialCycle', opts.initialCycle ?? 80, 1);
  const maxY = checkOption(name, 'maxFlowRatio', opts.maxFlowRatio ?? 0.9, 0, 0.99);

  let ids: string[] = [];
  let slot = new Int32Array(0);
  let served: Int32Array[][] = [];
  let green: Float64Array[] = [];
  let ratios: Float64Array[] = [];
  let cycle = new Float64Array(0);
  let meter: FlowRatioMeter;
  let spill: SpillBack;
  let protection: SpillGuard;
  let nextPlan = warmup;

  /** Sets intersection k's plan from its flow ratios, or the initial equal split before any measurement. */
  function plan(k: number, env: ControlEnv, measured: boolean): void {
    const y = ratios[k];
    const n = y.length;
    const lost = n * env.yellowTime;
    let Y = 0;
    for (let g = 0; g < n; g++) Y += y[g];
    const c = measured ? Math.min(maxCycle, Math.max(minCycle, websterCycle(Y, lost, maxY))) : initialCycle;
    const g = green[k];
    splitGreen(y, Y, c - lost, env.minGreen, g);
    let total = lost;
    for (let j = 0; j < n; j++) total += g[j];
    // raising short greens to minGreen lengthens the cycle; past maxCycle, take it back from the long ones
    if (total > maxCycle) splitGreen(y, Y, maxCycle - lost, env.minGreen, g, true);
    total = lost;
    for (let j = 0; j < n; j++) total += g[j];
    cycle[k] = total;
  }

  return {
    name,
    fixedPlan: true,
    plans() {
      return served.map((_, k) => ({ intersection: ids[k], cycle: cycle[k], greens: [...green[k]], flowRatios: [...ratios[k]] }));
    },
    init(env) {
      ids = env.intersections.map((ix) => ix.id);
      slot = intersectionSlots(env);
      served = env.intersections.map((ix) => phaseLaneSets(ix).served);
      green = env.intersections.map((ix) => new Float64Array(ix.greens.length));
      ratios = env.intersections.map((ix) => new Float64Array(ix.greens.length));
      cycle = new Float64Array(env.intersections.length);
      meter = new FlowRatioMeter(env, served, sat);
      protection = new SpillGuard(env.net, env.intersections);
      spill = protection.spill;
      nextPlan = env.twin.time + warmup;
      for (let k = 0; k < served.length; k++) plan(k, env, false);
    },
    beginStep(env) {
      const t = env.twin.time;
      if (t < nextPlan) return;
      nextPlan = t + period;
      meter.measure(t, ratios);
      for (let k = 0; k < served.length; k++) plan(k, env, true);
    },
    decide(ix, s, env) {
      const k = slot[ix.intersection];
      const g = ix.greens.indexOf(s.green);
      const queue = env.observed.queue;
      const n = ix.greens.length;
      const inSplit = env.twin.time - s.greenSince < green[k][g];
      // queue detectors call a phase about to spill back ahead of the plan, as field controllers have it
      const spilled = protection.choose(k, n, g, env.observed, env.twin.time, !inSplit);
      if (spilled >= 0) return ix.greens[spilled];
      // a green feeding only full exits ends early: it discharges nothing and its vehicles would stop in the junction
      if (inSplit && !spill.blocked(k, g, queue)) return s.green;
      return ix.greens[nextOpen(spill, k, g, n, queue)];
    },
  };
}

/**
 * The slot after g in cyclic order whose green does not feed only full
 * exits (SpillBack): the plan's next phase, or the one after it if that one
 * is blocked; the next phase when all are.
 */
export function nextOpen(spill: SpillBack, k: number, g: number, n: number, queue: ArrayLike<number>): number {
  for (let j = 1; j <= n; j++) if (!spill.blocked(k, (g + j) % n, queue)) return (g + j) % n;
  return (g + 1) % n;
}

/** Webster's optimum cycle (1.5 L + 5) / (1 − Y) for total flow ratio Y and lost time L, with Y capped at maxY. */
export function websterCycle(Y: number, lostTime: number, maxY = 0.9): number {
  return (1.5 * lostTime + 5) / (1 - Math.min(Math.max(Y, 0), maxY));
}
