import type { Controller, ControlEnv, IntersectionPhases } from '../../core/controller.js';
import { LaneLoad } from '../../measures/lane-load.js';
import { phasePressure } from '../../measures/pressure.js';
import { pressurePlusParams, type PressurePlusOptions } from '../pressure-plus.js';
import { inProcessExecutor, type RolloutExecutor } from './executor.js';
import { BasePolicy, networkDelay, type Plan, type RolloutBase, type RolloutParams } from './rollout.js';
import { sotlParams, type SotlOptions } from '../sotl.js';
import { copySignals, mayChange, newSignals, SignalCursor, type SignalSnapshot } from './signals.js';
import { countDownYellow, signalRules, switchGreen, type SignalRules } from '../../core/signal-rules.js';

export { copySignals, mayChange, newSignals, tickSignals, type SignalRules, type SignalSnapshot } from './signals.js';
export * from './rollout.js';
export * from './executor.js';

export interface PredictiveOptions {
  /** where rollouts run; default in this thread. The controller's close() closes it. */
  executor?: RolloutExecutor;
  /** seconds between decisions; default 5 */
  period?: number;
  /**
   * how the free intersections' phases are searched (the class comment says
   * more); default 'parallel'
   * - 'parallel': every intersection's candidates at once, each judged on its
   *   own approaches; (alternatives + 1) rollouts per decision whatever the
   *   network's size: city scale
   * - 'sequential': one intersection after another, each keeping the choices
   *   made before it, judged on the network-wide delay; (alternatives + 1) x
   *   free intersections + 1 rollouts per decision: a pilot area
   */
  search?: PredictiveSearch;
  /** seconds each rollout looks ahead; default 30 parallel, 40 sequential */
  horizon?: number;
  /** seconds a candidate phase is held in its rollout before the base policy takes over; default `period` */
  hold?: number;
  /** alternatives to the current phase tried per intersection, by decreasing pressure; default 2 parallel, 1 sequential */
  alternatives?: number;
  /**
   * the base policy: what the rollouts follow besides the candidates, and
   * what the controller does itself between its decisions. Default
   * pressure-plus for a parallel search (its defaults, except that vehicles
   * waiting to enter count as queued: in a rollout that decides better where
   * the boundary backs up, HZ2 399 -> 393 s), SOTL for a sequential one:
   * each the better base for its search in runs on the public scenarios
   * (parallel on SOTL: HZ2 405.6 s against 393.2; sequential on
   * pressure-plus: JN2 266.9 s against 264.1, JN3 263.4 against 259.7).
   */
  base?: PredictiveBase;
}

export type PredictiveSearch = 'parallel' | 'sequential';

export type PredictiveBase = ({ policy: 'sotl' } & SotlOptions) | ({ policy: 'pressure-plus' } & PressurePlusOptions);

export interface PredictiveController extends Controller {
  /** Closes the executor (terminates its worker threads). */
  close(): Promise<void>;
  /** A copy of the supervisor's signal state as this controller tracks it (what rollouts start from). */
  signalState(): SignalSnapshot;
}

/**
 * Model-predictive control on the twin. Every `period`, for the intersections
 * free to change, it rolls the twin forward `horizon` seconds under candidate
 * plans and applies the best. A candidate holds an intersection in one phase
 * (keep the current one, or switch to another, by decreasing pressure) for
 * `hold` seconds; everything else follows the base policy, with the
 * supervisor's yellow and minimum green applied inside the rollout. Between
 * decisions the controller follows the base policy too, as its rollouts assume.
 *
 * Parallel search: plan j gives every free intersection its j-th candidate,
 * and each intersection takes the phase whose rollout queued the fewest
 * vehicle-seconds on its own approaches. So the cost is (alternatives + 1)
 * rollouts per decision whatever the network's size, instead of one per
 * combination: each intersection is judged on its own approaches, where its
 * own phase dominates its neighbours'.
 *
 * Sequential search (multi-agent rollout, Bertsekas 2020): starting from the
 * base policy's plan, the free intersections in turn try their candidates on
 * top of the choices made before them, and keep one only if it lowers the
 * network-wide delay of the rollout (vehicle-seconds lost against free flow
 * plus waiting to enter). Every accepted change lowers the rollout's cost, so
 * the plan applied is never worse than the base policy over the horizon;
 * the price is a rollout per candidate and intersection.
 *
 * The fork carries the scenario's flows, i.e. the demand the rollouts expect
 * is the scenario's. In the field the twin's demand would come from estimation
 * (detector counts, turning ratios), and rollouts would be as good as that.
 */
export function predictive(opts: PredictiveOptions = {}): PredictiveController {
  const search = opts.search ?? 'parallel';
  if (search !== 'parallel' && search !== 'sequential') throw new RangeError(`predictive: search must be "parallel" or "sequential", got ${JSON.stringify(search)}`);
  const sequential = search === 'sequential';
  const period = opts.period ?? 5;
  const horizon = opts.horizon ?? (sequential ? 40 : 30);
  const hold = opts.hold ?? period;
  const alternatives = opts.alternatives ?? (sequential ? 1 : 2);
  for (const [k, v] of [['period', period], ['horizon', horizon], ['hold', hold]] as const) {
    if (!(v > 0)) throw new RangeError(`predictive: ${k} must be > 0 s, got ${v}`);
  }
  if (!(Number.isInteger(alternatives) && alternatives >= 1)) throw new RangeError(`predictive: alternatives must be an integer >= 1, got ${alternatives}`);
  const baseOpts: PredictiveBase = opts.base ?? { policy: sequential ? 'sotl' : 'pressure-plus' };
  if (baseOpts.policy !== 'sotl' && baseOpts.policy !== 'pressure-plus') throw new RangeError(`predictive: base policy must be "sotl" or "pressure-plus", got ${JSON.stringify((baseOpts as { policy: unknown }).policy)}`);
  const executor = opts.executor ?? inProcessExecutor();

  let rules: SignalRules = { yellowSteps: 0, minGreen: 0 };
  let signals: SignalSnapshot = newSignals(0);
  /** one intersection of `signals` at a time, for the signal rules */
  const replica = new SignalCursor();
  let decision = new Int32Array(0);
  let busy = false;
  let params: RolloutParams | null = null;
  let index = new Map<IntersectionPhases, number>();
  /** ranks the alternatives by pressure, boundary queues included */
  const load = new LaneLoad();
  /** the base policy on the real twin: it decides between decisions, and its memory is what rollouts start from */
  let basePolicy: BasePolicy | null = null;
  /** per intersection: the step until which `decision` holds it (the plan's hold) */
  let holdUntil = new Float64Array(0);
  const steps = (sec: number, dt: number) => Math.max(1, Math.round(sec / dt));

  return {
    name: sequential ? 'predictive-sequential' : 'predictive',
    // approaching vehicles, and look-ahead on the twin
    needs: 'approach',
    init(env) {
      const dt = env.twin.interval;
      rules = signalRules(env);
      const n = env.intersections.length;
      signals = newSignals(n);
      env.intersections.forEach((ix, k) => {
        signals.green[k] = env.twin.phase(ix.intersection);
        signals.greenSince[k] = env.twin.time;
      });
      decision = new Int32Array(n).fill(-1);
      index = new Map(env.intersections.map((ix, k) => [ix, k]));
      let base: RolloutBase;
      if (baseOpts.policy === 'sotl') {
        base = { kind: 'sotl', sotl: sotlParams(baseOpts) };
      } else {
        // vehicles waiting to enter count as queued here (see PredictiveOptions.base)
        base = { kind: 'pressure-plus', ...pressurePlusParams(baseOpts, dt, true) };
      }
      // the ranking reads only the queues, so the approach range is pressure-plus's default whatever the base
      load.init(env, null, 5);
      params = { horizon: steps(horizon, dt), base, rules, yellowTime: env.yellowTime };
      basePolicy = new BasePolicy(env.net, env.intersections, base, env.yellowTime);
      holdUntil = new Float64Array(n).fill(-1);
    },
    async beginStep(env) {
      const sim = env.twin;
      const t = sim.time;
      basePolicy!.observe(sim);
      if (sim.stepCount % steps(period, sim.interval) === 0) {
        const free: number[] = [];
        for (let k = 0; k < env.intersections.length; k++) {
          const shown = sim.phase(env.intersections[k].intersection);
          if (signals.yellowLeft[k] === 0 && shown !== signals.green[k]) {
            if (env.intersections[k].greens.includes(shown)) {
              // changed behind our back (the supervisor's fault fallback): adopt what is shown
              signals.green[k] = shown;
              signals.greenSince[k] = t;
            } else {
              // a yellow we did not start (emergency priority answered for us): the green it leads to is
              // not shown yet, so count a whole yellow on the green we had; the next decide's status corrects it
              signals.yellowLeft[k] = rules.yellowSteps;
            }
            continue;
          }
          // no rollouts for an intersection another brain controls (ControlEnv.active)
          if (mayChange(signals, k, t, rules) && (!env.active || env.active.has(env.intersections[k].intersection))) free.push(k);
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
        if (signals.yellowLeft[k] === 0) continue;
        countDownYellow(replica.load(signals, k), t);
        replica.store(signals, k);
      }
    },
    decide(ix, s, env) {
      const k = index.get(ix)!;
      const want = env.twin.stepCount < holdUntil[k] ? decision[k] : basePolicy!.want(k, s.green, s.greenSince, env.twin);
      // keep the replica of the supervisor's state exact: what the supervisor does with this answer
      replica.green = s.green;
      replica.greenSince = s.greenSince;
      replica.yellowLeft = 0;
      switchGreen(replica, want, env.twin.time, rules, ix.yellow);
      replica.store(signals, k);
      return want;
    },
    close: () => executor.close(),
    signalState: () => copySignals(signals),
  };

  async function decideByRollouts(env: ControlEnv, free: number[]): Promise<void> {
    const ixs = env.intersections;
    const p = params!;
    const at = env.twin.stepCount;
    load.invalidate();
    load.refresh(env.twin, p.base.kind === 'sotl' || p.base.entryQueue);
    // per free intersection: keep, then the other greens by decreasing pressure
    const keepSteps = steps(hold, env.twin.interval);
    const cands = free.map((k) => {
      const ix = ixs[k];
      const cur = signals.green[k];
      const others = ix.greens.filter((g) => g !== cur).map((g) => ({ g, pr: phasePressure(ix, g, load.queue) }));
      others.sort((a, b) => b.pr - a.pr || a.g - b.g);
      return [cur, ...others.slice(0, alternatives).map((o) => o.g)];
    });
    const holdOf = (j: number) => (j === 0 ? keepSteps : rules.yellowSteps + keepSteps);
    const sotl = basePolicy!.state();
    if (sequential) {
      // multi-agent rollout: the base plan, then each free intersection's candidates on top of the choices before it
      const plan: Plan = { phase: new Int32Array(ixs.length).fill(-1), hold: new Int32Array(ixs.length) };
      const costs = async (plans: Plan[]) => (await executor.evaluate(env.twin, ixs, { signals, plans, params: p, sotl })).map(networkDelay);
      let [best] = await costs([plan]);
      for (let f = 0; f < free.length; f++) {
        const k = free[f];
        // one batch per intersection: an executor with workers runs its candidates side by side
        const tries = cands[f].map((g, j) => {
          const t: Plan = { phase: plan.phase.slice(), hold: plan.hold.slice() };
          t.phase[k] = g;
          t.hold[k] = holdOf(j);
          return t;
        });
        let chosen = -1;
        (await costs(tries)).forEach((c, j) => {
          if (c < best) {
            best = c;
            chosen = j;
          }
        });
        plan.phase[k] = chosen < 0 ? -1 : cands[f][chosen];
        plan.hold[k] = chosen < 0 ? 0 : holdOf(chosen);
        decision[k] = plan.phase[k];
        holdUntil[k] = chosen < 0 ? -1 : at + plan.hold[k];
      }
      return;
    }
    const nPlans = Math.max(...cands.map((c) => c.length));
    const plans: Plan[] = [];
    for (let j = 0; j < nPlans; j++) {
      const plan: Plan = { phase: new Int32Array(ixs.length).fill(-1), hold: new Int32Array(ixs.length) };
      free.forEach((k, f) => {
        if (j >= cands[f].length) return;
        plan.phase[k] = cands[f][j];
        // a switch is held for as long after its yellow as a keep is
        plan.hold[k] = holdOf(j);
      });
      plans.push(plan);
    }
    const costs = await executor.evaluate(env.twin, ixs, { signals, plans, params: p, sotl });
    free.forEach((k, f) => {
      let best = 0;
      for (let j = 1; j < cands[f].length; j++) if (costs[j][k] < costs[best][k]) best = j;
      decision[k] = cands[f][best];
      holdUntil[k] = at + plans[best].hold[k];
    });
  }
}
