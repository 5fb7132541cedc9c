import type { Controller } from '../core/controller.js';
import { checkOption } from './options.js';
import { efficientTables, maxEfficientPressure, RunningLoad } from '../measures/efficient-pressure.js';
import { demandOf } from '../measures/pressure.js';
import { ApproachQueue } from '../measures/approach.js';

/**
 * The two non-learned reference controllers of Zhang et al., "Expression
 * might be enough" (ICML 2022), on the measures of measures/efficient-pressure.ts.
 * Both decide every `period` seconds and keep the green in between, like
 * max-pressure under the benchmark protocol.
 */

export interface EfficientMpOptions {
  /** seconds between decisions; default 15 (the benchmark protocol) */
  period?: number;
}

export interface AdvancedMpOptions extends EfficientMpOptions {
  /**
   * metres of road, centre to centre of its intersections, before the end
   * intersection in which a moving vehicle counts as running demand (see
   * RunningLoad); default 167, the reference code's
   */
  range?: number;
}

/** A decision period: a finite number of seconds > 0, else a RangeError naming the controller. */
function checkPeriod(controller: string, v: number | undefined): number {
  const period = v ?? 15;
  if (typeof period !== 'number' || !Number.isFinite(period) || !(period > 0)) {
    throw new RangeError(`${controller}: option period must be a number of seconds > 0, got ${String(period)}`);
  }
  return period;
}

/** Whether the supervisor's step at `time` is a decision step for `period` s at steps of `interval` s. */
function decisionStep(time: number, interval: number, period: number): boolean {
  return Math.round(time / interval) % Math.max(1, Math.round(period / interval)) === 0;
}

/**
 * Efficient-MP: every period, the green of maximal efficient pressure
 * (ties: the lowest index). It differs from max-pressure in that the exit
 * side is the mean over the whole exit road and right turns count for no phase.
 */
export function efficientMaxPressure(opts: EfficientMpOptions = {}): Controller {
  const name = 'efficient-mp';
  const period = checkPeriod(name, opts.period);
  const load = new RunningLoad();
  const best = { phase: 0, pressure: 0 };
  return {
    name,
    init(env) {
      load.init(env, null);
    },
    decide(ix, s, env) {
      if (!decisionStep(env.twin.time, env.twin.interval, period)) return s.green;
      load.refresh(env.twin);
      maxEfficientPressure(efficientTables(ix, env.net), load.queue, best);
      return best.phase;
    },
  };
}

/**
 * Advanced-MP: every period, keep the current green while its effective
 * running demand is at least the largest efficient pressure of any green
 * (a platoon still arriving on the green is worth more than restarting a
 * queue elsewhere, after a yellow); otherwise switch to the green of maximal
 * efficient pressure (ties: the lowest index).
 *
 * The queue an entry lane's pressure counts is its approach's (measures/approach.ts): on a lane of a few metres behind
 * a pedestrian crossing or a split of the street it is 1 at most, and a green kept on running demand never yields to
 * it. On the Osnabrück import at 4,000 trips/h (seed 7) cluster_433935137_56328208 kept phase 0 for 115 s while the
 * queues behind its 3 m approaches 296820174#1_0 and 37248071#1_* spilled back through the streets round it, which
 * locked (ATT 633.1 s, 13 faults, 519 teleported -> 61.5 s, none; seed 42 64.2 s, 2 faults -> 61.5, none; 2,000-3,000/h
 * equal or 0.2-1.0 s lower; over 40 runs of the import at 2,000-4,500/h, 10 seeds, summed 11,264.2 -> 9,148.7 s, runs with
 * gridlock faults 22 -> 13, none carried before locked now). No lane of the generated grids, the five real scenarios or Hangzhou's SUMO files has such an
 * approach: there advanced-mp is as it was. Efficient-MP (no keep rule) carries the import as it is.
 */
export function advancedMaxPressure(opts: AdvancedMpOptions = {}): Controller {
  const name = 'advanced-mp';
  const period = checkPeriod(name, opts.period);
  const range = checkOption(name, 'range', opts.range ?? 167, 0);
  const load = new RunningLoad();
  const best = { phase: 0, pressure: 0 };
  let approach: ApproachQueue;
  let filledAt = -1;
  return {
    name,
    // moving vehicles on the approach
    needs: 'approach',
    init(env) {
      load.init(env, range);
      approach = new ApproachQueue(env.net, env.intersections);
      filledAt = -1;
    },
    decide(ix, s, env) {
      if (!decisionStep(env.twin.time, env.twin.interval, period)) return s.green;
      load.refresh(env.twin);
      if (filledAt !== env.twin.stepCount) {
        approach.fill(load.queue);
        filledAt = env.twin.stepCount;
      }
      const f = efficientTables(ix, env.net);
      maxEfficientPressure(f, approach.queue, best);
      if (ix.greens.includes(s.green) && demandOf(f, s.green, load.running) >= best.pressure) return s.green;
      return best.phase;
    },
  };
}
