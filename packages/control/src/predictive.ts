import type { Controller, ControlEnv, IntersectionPhases } from './controller.js';
import { LaneLoad, phasePressure, type PressurePlusOptions } from './pressure-plus.js';
import { inProcessExecutor, type RolloutExecutor } from './predictive/executor.js';
import type { Plan, RolloutParams } from './predictive/rollout.js';
import { copySignals, mayChange, newSignals, type SignalRules, type SignalSnapshot } from './predictive/signals.js';

export * from './predictive/signals.js';
export * from './predictive/rollout.js';
export * from './predictive/executor.js';

export interface PredictiveOptions {
  /** where rollouts run; default in this thread. The controller's close() closes it. */
  executor?: RolloutExecutor;
  /** seconds between decisions; default 5 */
  period?: number;
  /** seconds each rollout looks ahead; default 30 */
  horizon?: number;
  /** seconds a candidate phase is held in its rollout before the base policy takes over; default `period` */
  hold?: number;
  /** alternatives to the current phase tried per intersection, by decreasing pressure; default 2 */
  alternatives?: number;
  /**
   * the base policy the rollouts follow besides the candidates: pressure-plus
   * with its defaults, except that vehicles waiting to enter count as queued
   * (entryQueue; it also ranks the alternatives): in a rollout that decides
   * better where the boundary backs up (HZ2: 399 -> 393 s)
   */
  base?: PressurePlusOptions;
}

export interface PredictiveController extends Controller {
  /** Closes the executor (terminates its worker threads). */
  close(): Promise<void>;
  /** A copy of the supervisor's signal state as this controller tracks it (what rollouts start from). */
  signalState(): SignalSnapshot;
}

/**
 * Model-predictive control on the twin. Every `period`, for the intersections
 * free to change, it rolls the twin forward `horizon` seconds under a few
 * candidate plans and applies, per intersection, the phase whose rollout
 * queued the fewest vehicle-seconds on that intersection's approaches.
 *
 * Plan j gives every free intersection its j-th candidate (0: keep the
 * current phase; 1..: the other phases by decreasing pressure) for `hold`
 * seconds; everything else follows pressure-plus, with the supervisor's yellow
 * and minimum green applied inside the rollout. So the cost is
 * (alternatives + 1) rollouts per decision whatever the network's size,
 * instead of one per combination: each intersection is judged on its own
 * approaches, where its own phase dominates its neighbours'.
 *
 * The fork carries the scenario's flows, i.e. the demand the rollouts expect
 * is the scenario's. In the field the twin's demand would come from estimation
 * (detector counts, turning ratios), and rollouts would be as good as that.
 */
export function predictive(opts: PredictiveOptions = {}): PredictiveController {
  const period = opts.period ?? 5;
  const horizon = opts.horizon ?? 30;
  const hold = opts.hold ?? period;
  const alternatives = opts.alternatives ?? 2;
  for (const [k, v] of [['period', period], ['horizon', horizon], ['hold', hold]] as const) {
    if (!(v > 0)) throw new RangeError(`predictive: ${k} must be > 0 s, got ${v}`);
  }
  if (!(Number.isInteger(alternatives) && alternatives >= 1)) throw new RangeError(`predictive: alternatives must be an integer >= 1, got ${alternatives}`);
  const basePeriod = opts.base?.period ?? 5;
  const executor = opts.executor ?? inProcessExecutor();

  let rules: SignalRules = { yellowSteps: 0, minGreen: 0 };
  let signals: SignalSnapshot = newSignals(0);
  let decision = new Int32Array(0);
  let decidedAt = -1;
  let busy = false;
  let params: RolloutParams | null = null;
  let index = new Map<IntersectionPhases, number>();
  const load = new LaneLoad();
  const steps = (sec: number, dt: number) => Math.max(1, Math.round(sec / dt));

  return {
    name: 'predictive',
    init(env) {
      const dt = env.sim.interval;
      rules = { yellowSteps: Math.round(env.yellowTime / dt), minGreen: env.minGreen };
      const n = env.intersections.length;
      signals = newSignals(n);
      env.intersections.forEach((ix, k) => {
        signals.green[k] = env.sim.phase(ix.intersection);
        signals.greenSince[k] = env.sim.time;
      });
      decision = new Int32Array(n).fill(-1);
      index = new Map(env.intersections.map((ix, k) => [ix, k]));
      params = {
        horizon: steps(horizon, dt),
        base: { period: basePeriod, periodSteps: steps(basePeriod, dt), range: opts.base?.range ?? null, keepWeight: opts.base?.keepWeight ?? 2, entryQueue: opts.base?.entryQueue ?? true, gapOut: opts.base?.gapOut === 0 ? null : opts.base?.gapOut ?? 50 },
        rules,
        yellowTime: env.yellowTime,
      };
      load.init(env, params.base.range, basePeriod);
    },
    async beginStep(env) {
      const sim = env.sim;
      const t = sim.time;
      if (sim.stepCount % steps(period, sim.interval) === 0) {
        const free: number[] = [];
        for (let k = 0; k < env.intersections.length; k++) {
          const shown = sim.phase(env.intersections[k].intersection);
          if (signals.yellowLeft[k] === 0 && shown !== signals.green[k]) {
            // changed behind our back (the supervisor's fault fallback): adopt what is shown
            signals.green[k] = shown;
            signals.greenSince[k] = t;
            continue;
          }
          if (mayChange(signals, k, t, rules)) free.push(k);
        }
        // after a timeout the supervisor moves on while rollouts may still run: never start a second batch
        if (free.length > 0 && !busy) {
          busy = true;
          try {
            await decideByRollouts(env, free);
          } finally {
            busy = false;
          }
        }
      }
      // what the supervisor is about to do to the yellows this tick
      for (let k = 0; k < signals.green.length; k++) {
        if (signals.yellowLeft[k] > 0 && --signals.yellowLeft[k] === 0) signals.greenSince[k] = t;
      }
    },
    decide(ix, s, env) {
      const k = index.get(ix)!;
      let want = s.green;
      if (decidedAt === env.sim.stepCount && decision[k] >= 0) want = decision[k];
      // keep the replica of the supervisor's state exact
      signals.green[k] = want;
      signals.greenSince[k] = s.greenSince;
      signals.yellowLeft[k] = want !== s.green ? rules.yellowSteps : 0;
      if (want !== s.green && rules.yellowSteps === 0) signals.greenSince[k] = env.sim.time;
      return want;
    },
    close: () => executor.close(),
    signalState: () => copySignals(signals),
  };

  async function decideByRollouts(env: ControlEnv, free: number[]): Promise<void> {
    const ixs = env.intersections;
    const p = params!;
    load.invalidate();
    load.refresh(env.sim, p.base.entryQueue);
    // per free intersection: keep, then the other greens by decreasing pressure
    const keepSteps = steps(hold, env.sim.interval);
    const cands = free.map((k) => {
      const ix = ixs[k];
      const cur = signals.green[k];
      const others = ix.greens.filter((g) => g !== cur).map((g) => ({ g, pr: phasePressure(ix, g, load.queue) }));
      others.sort((a, b) => b.pr - a.pr || a.g - b.g);
      return [cur, ...others.slice(0, alternatives).map((o) => o.g)];
    });
    const nPlans = Math.max(...cands.map((c) => c.length));
    const plans: Plan[] = [];
    for (let j = 0; j < nPlans; j++) {
      const plan: Plan = { phase: new Int32Array(ixs.length).fill(-1), hold: new Int32Array(ixs.length) };
      free.forEach((k, f) => {
        if (j >= cands[f].length) return;
        plan.phase[k] = cands[f][j];
        // a switch is held for as long after its yellow as a keep is
        plan.hold[k] = j === 0 ? keepSteps : rules.yellowSteps + keepSteps;
      });
      plans.push(plan);
    }
    const costs = await executor.evaluate(env.sim, ixs, { signals, plans, params: p });
    decision.fill(-1);
    free.forEach((k, f) => {
      let best = 0;
      for (let j = 1; j < cands[f].length; j++) if (costs[j][k] < costs[best][k]) best = j;
      decision[k] = cands[f][best];
    });
    decidedAt = env.sim.stepCount;
  }
}
