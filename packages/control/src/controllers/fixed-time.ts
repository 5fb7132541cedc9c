import type { Controller } from '../core/controller.js';

export interface FixedTimeOptions {
  /** seconds of green per phase; default 30 (the benchmark protocol: 30 s green + 5 s yellow) */
  green?: number;
}

/** Cycles the green phases in order, each for a fixed time. */
export function fixedTime(opts: FixedTimeOptions = {}): Controller {
  const green = opts.green ?? 30;
  return {
    name: 'fixed',
    decide(ix, s, env) {
      if (env.twin.time - s.greenSince < green) return s.green;
      const k = ix.greens.indexOf(s.green);
      return ix.greens[(k + 1) % ix.greens.length];
    },
  };
}
