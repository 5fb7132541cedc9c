import type { Controller, ControlEnv, IntersectionPhases } from '../core/controller.js';

export interface MaxPressureOptions {
  /** seconds between decisions; default 15 (the benchmark protocol) */
  period?: number;
}

/**
 * Max-pressure (Varaiya 2013) as the CityFlow benchmarks run it: every period,
 * choose the phase whose movements have the largest sum of
 * (mean waiting vehicles on the movement's incoming lanes − mean on its outgoing lanes);
 * ties keep the lowest phase index.
 */
export function maxPressure(opts: MaxPressureOptions = {}): Controller {
  const period = opts.period ?? 15;
  let waiting = new Int32Array(0);
  let countedAt = -1;
  return {
    name: 'max-pressure',
    init(env) {
      waiting = new Int32Array(env.net.nLanes);
    },
    decide(ix, s, env) {
      const t = env.sim.time;
      if (Math.round(t / env.sim.interval) % Math.round(period / env.sim.interval) !== 0) return s.green;
      if (countedAt !== t) {
        env.sim.laneWaitingCounts(waiting);
        countedAt = t;
      }
      return bestPhase(ix, env, (lane) => waiting[lane]);
    },
  };
}

/** The green phase with the highest pressure under `load`; ties keep the lowest index. */
export function bestPhase(ix: IntersectionPhases, _env: ControlEnv, load: (lane: number) => number): number {
  let best = ix.greens[0];
  let bestP = -Infinity;
  for (const p of ix.greens) {
    let pressure = 0;
    for (const m of ix.movements[p]) {
      let a = 0;
      for (const l of m.inLanes) a += load(l);
      let b = 0;
      for (const l of m.outLanes) b += load(l);
      pressure += a / m.inLanes.length - b / m.outLanes.length;
    }
    if (pressure > bestP) {
      bestP = pressure;
      best = p;
    }
  }
  return best;
}
