import type { Controller } from '../core/controller.js';

export interface FixedTimeOptions {
  /** seconds of green per phase; default FIXED_GREEN */
  green?: number;
}

/** Seconds of green per phase of the fixed plan, the supervisor's fallback: 30 (the benchmark protocol: 30 s green + 5 s yellow). */
export const FIXED_GREEN = 30;

/** Cycles the green phases in order, each for a fixed time. */
export function fixedTime(opts: FixedTimeOptions = {}): Controller {
  const green = opts.green ?? FIXED_GREEN;
  return {
    name: 'fixed',
    fixedPlan: true,
    decide(ix, s, env) {
      if (env.twin.time - s.greenSince < green) return s.green;
      const k = ix.greens.indexOf(s.green);
      return ix.greens[(k + 1) % ix.greens.length];
    },
  };
}
