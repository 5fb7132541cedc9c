import type { Controller } from '../core/controller.js';
import { buildPhaseTables, maxPressurePhase } from '../measures/pressure.js';

export interface MaxPressureOptions {
  /** seconds between decisions; default 15 (the benchmark protocol) */
  period?: number;
}

/**
 * Max-pressure (Varaiya 2013) as the CityFlow benchmarks run it: every period,
 * choose the phase of maximal pressure (measures/pressure.ts) counting waiting
 * vehicles: the largest sum over its movements of (mean waiting vehicles on the
 * movement's incoming lanes − mean on its outgoing lanes); ties keep the
 * lowest phase index.
 */
export function maxPressure(opts: MaxPressureOptions = {}): Controller {
  const period = opts.period ?? 15;
  let waiting = new Int32Array(0);
  let countedAt = -1;
  return {
    name: 'max-pressure',
    init(env) {
      waiting = new Int32Array(env.net.nLanes);
      buildPhaseTables(env.intersections);
    },
    decide(ix, s, env) {
      const t = env.twin.time;
      if (Math.round(t / env.twin.interval) % Math.round(period / env.twin.interval) !== 0) return s.green;
      if (countedAt !== t) {
        env.twin.laneWaitingCounts(waiting);
        countedAt = t;
      }
      return maxPressurePhase(ix, waiting);
    },
  };
}
