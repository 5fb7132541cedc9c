import type { Controller } from '../core/controller.js';

export interface FixedTimeOptions {
  /** seconds of green per phase; default FIXED_GREEN */
  green?: number;
  /**
   * on the common clock: every intersection shows its k-th green (mod its greens) in the k-th slot of green + yellow
   * seconds counted from simulated time 0, all in step (offsets 0) as the plan run from t = 0 has them, as field
   * controllers keep a fallback plan on a shared time reference; default false: each green for `green` seconds
   * from when it began, so intersections that took the plan over at different moments run out of step
   */
  clock?: boolean;
}

/** Seconds of green per phase of the fixed plan, the supervisor's fallback: 30 (the benchmark protocol: 30 s green + 5 s yellow). */
export const FIXED_GREEN = 30;

/** Cycles the green phases in order, each for a fixed time. */
export function fixedTime(opts: FixedTimeOptions = {}): Controller {
  const green = opts.green ?? FIXED_GREEN;
  if (!(Number.isFinite(green) && green > 0)) throw new RangeError(`fixed: green must be a positive number of seconds, got ${String(opts.green)}`);
  const clock = opts.clock === true;
  return {
    name: 'fixed',
    fixedPlan: true,
    decide(ix, s, env) {
      // the slot's green at once (the supervisor still gives the green shown its minimum and a yellow); slot k's green
      // from (green + yellow) x k on, its yellow in the slot's last seconds, as the plan run from t = 0 shows them
      if (clock) return ix.greens[Math.floor((env.twin.time + env.yellowTime) / (green + env.yellowTime)) % ix.greens.length];
      if (env.twin.time - s.greenSince < green) return s.green;
      const k = ix.greens.indexOf(s.green);
      return ix.greens[(k + 1) % ix.greens.length];
    },
  };
}
