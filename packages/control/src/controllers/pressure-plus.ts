import type { Controller, IntersectionPhases, SimReader } from '../core/controller.js';
import { LaneLoad } from '../measures/lane-load.js';
import { demandOf, gappedOut, phaseTables, pressureOf } from '../measures/pressure.js';
import { SpillGuard } from '../measures/spill-guard.js';
import { intersectionSlots } from '../core/slots.js';
import { checkOption, spillWarnOption } from './options.js';

export interface PressurePlusOptions {
  /** seconds between decisions; default 15 for the controller (PRESSURE_PLUS_PERIOD), 5 in the predictive controller's rollouts */
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
  /**
   * queue-spillback protection before the pressure rule (measures/spill-guard.ts); default true. False gives the
   * bare rule, which the predictive controller's rollouts run as their base policy (without the guard's state)
   */
  spillGuard?: boolean;
  /** share of a lane's capacity standing at which the guard calls its phase (SpillBack's warnShare); default PRESSURE_PLUS_SPILL_WARN */
  spillWarn?: number;
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
 * Before all that, queue-spillback protection (SpillGuard,
 * measures/spill-guard.ts): a lane about to spill back calls its phase.
 *
 * Keeping a phase whose platoon is still arriving avoids paying the yellow
 * for a queue that has just been served; a phase with nothing queued but a
 * platoon arriving can still win on demand; and a green nobody uses any more
 * is not held until the next decision.
 *
 * Weight and gap-out tuned on the five public HZ/JN scenarios (weight 2
 * against 0..3, 50 m against 20..100 m), but not per scenario: each setting
 * was kept only if it helped on most of them; the period was chosen on
 * saturated generated grids (PRESSURE_PLUS_PERIOD).
 */
/**
 * The controller's decision period. Every switch costs a 5 s yellow in which
 * only right turns move: deciding every 5 s (the period once tuned on the
 * five public scenarios) lost so much green under saturation that a 6 x 6
 * grid at 0.08 vehicles/s per route locked (ATT 580 s against max-pressure's
 * 330 s); every 15 s it takes 277 s there and as little or less on the five
 * (HZ1 311.0, HZ2 396.2, JN1 285.2 against 311.5, 399.6, 293.2). The gap-out
 * still ends a green nobody uses between decisions. The predictive
 * controller keeps 5 s in its rollouts: it prices each switch by looking ahead.
 */
export const PRESSURE_PLUS_PERIOD = 15;

/**
 * The share of a lane's capacity at which pressure-plus's spill guard calls
 * its phase: half, not SPILL_WARN_SHARE (0.6). A pressure sum calls a one-lane
 * left turn late, so the guard must start earlier: at 0.6 the centre ring of a
 * 4 x 4 grid at 0.1 veh/s a route locked (3,090 s, ATT 391.5 s) and a 6 x 6
 * grid's ATT was 365.3 s; at 0.5 neither locks (313.2, 353.9 s), and 3 x 16,
 * 16 x 3, 5 x 5 and 2 x 10 at 0.1 came out 0.4-2.4% shorter, an 8-intersection
 * arterial 5% longer (109.5 -> 114.8 s); the five public scenarios the same
 * within 0.9 s (HZ2 396.2 -> 395.3).
 */
export const PRESSURE_PLUS_SPILL_WARN = 0.5;

export function pressurePlus(opts: PressurePlusOptions = {}): Controller {
  const name = 'pressure-plus';
  // a period is a positive number of seconds (1 ms at least: below the step it rounds to one step)
  const period = checkOption(name, 'period', opts.period ?? PRESSURE_PLUS_PERIOD, 1e-3);
  if (opts.range !== undefined) checkOption(name, 'range', opts.range, 0);
  if (opts.gapOut !== undefined) checkOption(name, 'gapOut', opts.gapOut, 0);
  const spillWarn = spillWarnOption(name, opts.spillWarn ?? PRESSURE_PLUS_SPILL_WARN);
  const lanes = new LaneLoad();
  let params: PressurePlusParams;
  let slot = new Int32Array(0);
  let protection: SpillGuard | null = null;
  return {
    name: 'pressure-plus',
    // approaching vehicles
    needs: 'approach',
    init(env) {
      params = pressurePlusParams({ ...opts, period }, env.twin.interval);
      lanes.init(env, params.range, params.period);
      slot = intersectionSlots(env);
      protection = opts.spillGuard === false ? null : new SpillGuard(env.net, env.intersections, spillWarn);
    },
    decide(ix, s, env) {
      // queue-spillback protection (measures/spill-guard.ts): pressure sums over a phase's movements, so a one-lane
      // left turn loses to the straights while the right turns feeding it (green always) fill it
      const spilled = protection?.choose(slot[ix.intersection], ix.greens.length, ix.greens.indexOf(s.green), env.observed, env.twin.time) ?? -1;
      if (spilled >= 0) return ix.greens[spilled];
      return pressurePlusDecision(params, lanes, ix, s.green, env.twin);
    },
  };
}

/** PressurePlusOptions resolved for a step length: plain data, so a rollout on a worker runs the same rule. */
export interface PressurePlusParams {
  period: number;
  /** the period in steps (at least one) */
  periodSteps: number;
  /** null: the default range (see PressurePlusOptions.range) */
  range: number | null;
  keepWeight: number;
  entryQueue: boolean;
  /** null: no gap-out */
  gapOut: number | null;
}

/** The options' defaults applied, for steps of `interval` seconds; `entryQueue` defaults to `entryQueueDefault`. */
export function pressurePlusParams(opts: PressurePlusOptions, interval: number, entryQueueDefault = false): PressurePlusParams {
  const period = opts.period ?? 5;
  return {
    period,
    periodSteps: Math.max(1, Math.round(period / interval)),
    range: opts.range ?? null,
    keepWeight: opts.keepWeight ?? 2,
    entryQueue: opts.entryQueue ?? entryQueueDefault,
    gapOut: opts.gapOut === 0 ? null : opts.gapOut ?? 50,
  };
}

/**
 * The pressure-plus decision at intersection `ix`, which shows `green`: on a
 * period step keep or switch (choosePhase), between them gap out. The
 * controller decides with it, and so does the predictive controller's
 * pressure-plus base policy, in its rollouts and between its decisions.
 */
export function pressurePlusDecision(params: PressurePlusParams, load: LaneLoad, ix: IntersectionPhases, green: number, sim: SimReader): number {
  if (sim.stepCount % params.periodSteps === 0) {
    load.refresh(sim, params.entryQueue);
    return choosePhase(ix, green, load.queue, load.moving, params.keepWeight);
  }
  if (params.gapOut === null || !gappedOut(sim, ix, green, params.gapOut)) return green;
  load.refresh(sim, params.entryQueue);
  return choosePhase(ix, green, load.queue, load.moving, 0);
}

/** The pressure-plus rule: keep `current` while its demand holds up against the best other pressure. */
export function choosePhase(ix: IntersectionPhases, current: number, queue: ArrayLike<number>, moving: ArrayLike<number>, keepWeight: number): number {
  const f = phaseTables(ix);
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
