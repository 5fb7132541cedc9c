import type { Network, Simulation } from '@citybrain/engine';
import type { Forkable, IntersectionPhases } from '../../core/controller.js';
import { signalRules } from '../../core/signal-rules.js';
import { LaneLoad } from '../../measures/lane-load.js';
import { pressurePlusDecision, pressurePlusParams, type PressurePlusParams } from '../pressure-plus.js';
import { SotlPolicy, type SotlParams, type SotlState } from '../sotl.js';
import { copySignals, tickSignals, type SignalRules, type SignalSnapshot } from './signals.js';

/** How a rollout runs; plain data, so it can be posted to a worker. */
export interface RolloutParams {
  /** steps simulated ahead */
  horizon: number;
  /** the base policy the other intersections (and everyone after `hold`) follow */
  base: RolloutBase;
  rules: SignalRules;
  /** seconds of yellow (the base policy's default approach range depends on it) */
  yellowTime: number;
}

/** The rollouts' base policy: pressure-plus, or SOTL (whose counters the batch carries). */
export type RolloutBase =
  | ({ kind: 'pressure-plus' } & PressurePlusParams)
  | { kind: 'sotl'; sotl: SotlParams };

/**
 * A phase plan: for each intersection k (indexed like ControlEnv.intersections)
 * the green `phase[k]` to show during the first `hold[k]` steps, or -1 to
 * follow the base policy throughout.
 */
export interface Plan {
  phase: Int32Array;
  hold: Int32Array;
}

/**
 * Cost of one rollout, n + 2 entries for n intersections, the lower the better:
 * - entry k < n is intersection k's local cost: the vehicle-seconds spent
 *   queued (slower than 0.1 m/s) on its incoming lanes or waiting at the
 *   boundary to enter them, the part of travel time its signal changes most;
 * - entry n is the sum of those;
 * - entry n + 1 (networkDelay) is the network-wide delay: vehicle-seconds lost
 *   against free-flow speed by every vehicle, plus those spent waiting to enter,
 *   i.e. what the rollout adds to the total travel time beyond driving freely.
 */
export type RolloutCost = Float64Array;

/** The network-wide delay of a rollout (see RolloutCost). */
export function networkDelay(cost: RolloutCost): number {
  return cost[cost.length - 1];
}

/** Reusable per-thread buffers for rollouts on one network. */
export class RolloutRunner {
  private readonly base: BasePolicy;
  private readonly waiting: Int32Array;
  private readonly inStart: Int32Array;
  private readonly inList: Int32Array;

  constructor(
    readonly net: Network,
    readonly ixs: readonly IntersectionPhases[],
    private readonly params: RolloutParams,
  ) {
    this.base = new BasePolicy(net, ixs, params.base, params.yellowTime);
    this.waiting = new Int32Array(net.nLanes);
    const start = [0];
    const list: number[] = [];
    for (const ix of ixs) {
      list.push(...ix.inLanes);
      start.push(list.length);
    }
    this.inStart = Int32Array.from(start);
    this.inList = Int32Array.from(list);
  }

  /** the fork the last copyOf returned, whose buffers the next one reuses */
  private scratch: Simulation | null = null;

  /**
   * A fork of `sim` to run a plan on, in the buffers of the one this runner
   * returned last (which it overwrites): rollout after rollout without
   * allocating a whole network state each time.
   */
  copyOf(sim: Forkable): Simulation {
    this.scratch = this.scratch && this.scratch !== sim && this.scratch.net === sim.net ? sim.forkInto(this.scratch) : sim.fork();
    return this.scratch;
  }

  /**
   * Runs `plan` on `sim` (a fork: it is stepped) from the signal state
   * `signals0`; a SOTL base starts from `sotl0`, its counters as observed
   * at this step (BasePolicy.state()).
   */
  run(sim: Simulation, signals0: SignalSnapshot, plan: Plan, sotl0?: SotlState): RolloutCost {
    const { ixs, params, base, waiting, inStart, inList } = this;
    const sig = copySignals(signals0);
    const cost = new Float64Array(ixs.length + 2);
    const t0 = sim.stepCount;
    const delay0 = sim.totalDelay;
    let entering = 0;
    base.restart(sotl0);
    const want = (k: number) => {
      const elapsed = sim.stepCount - t0;
      return plan.phase[k] >= 0 && elapsed < plan.hold[k] ? plan.phase[k] : base.want(k, sig.green[k], sig.greenSince[k], sim);
    };
    for (let h = 0; h < params.horizon; h++) {
      // the starting step was observed before the state was taken
      if (h > 0) base.observe(sim);
      tickSignals(sim, ixs, sig, params.rules, want);
      sim.step();
      sim.laneWaitingCounts(waiting);
      let total = 0;
      for (let k = 0; k < ixs.length; k++) {
        let c = 0;
        for (let j = inStart[k]; j < inStart[k + 1]; j++) {
          const l = inList[j];
          c += waiting[l] + sim.laneEntryQueue(l);
        }
        cost[k] += c;
        total += c;
      }
      cost[ixs.length] += total;
      entering += sim.waitingCount;
    }
    cost[ixs.length + 1] = sim.totalDelay - delay0 + entering * sim.interval;
    return cost;
  }
}

/**
 * The base policy: what an intersection does when no candidate holds it, in
 * the rollouts and in the predictive controller itself between its
 * decisions. Call `observe` once per step before that step's decisions;
 * `want` is the base's choice at intersection k (indexed like the list it was
 * built for) when the supervisor asks.
 */
export class BasePolicy {
  private readonly load = new LaneLoad();
  /** exactly one of the two is set, by the base's kind */
  private readonly pp: Extract<RolloutBase, { kind: 'pressure-plus' }> | null = null;
  private readonly sotl: SotlPolicy | null = null;

  constructor(
    net: Network,
    private readonly ixs: readonly IntersectionPhases[],
    base: RolloutBase,
    yellowTime: number,
  ) {
    if (base.kind === 'pressure-plus') {
      this.pp = base;
      this.load.init({ net, intersections: ixs, yellowTime }, base.range, base.period);
    } else this.sotl = new SotlPolicy(ixs, base.sotl, net);
  }

  /** Starts over on another simulation (a fork), from SOTL counters `sotl0` when the base is SOTL. */
  restart(sotl0: SotlState | undefined): void {
    this.load.invalidate();
    if (!this.sotl) return;
    if (!sotl0) throw new Error('rollout: a SOTL base needs the SOTL state to start from');
    this.sotl.setState(sotl0);
  }

  observe(sim: Forkable): void {
    this.sotl?.accumulate(sim);
  }

  want(k: number, green: number, greenSince: number, sim: Forkable): number {
    if (this.sotl) return this.sotl.choose(k, green, greenSince, sim);
    return pressurePlusDecision(this.pp!, this.load, this.ixs[k], green, sim);
  }

  /** A copy of the SOTL counters (undefined for another base): what a rollout from now starts from. */
  state(): SotlState | undefined {
    return this.sotl?.copyState();
  }
}

/**
 * One short rollout from the scenario's start, for a thread that will score
 * rollouts to run before its first real decision, so that decision does not
 * pay for compiling the simulation code (on a 36 x 36 grid that first
 * decision took over a second, past the supervisor's default budget).
 * `sim` is not modified.
 */
export function warmUpRollouts(sim: Forkable, ixs: readonly IntersectionPhases[]): void {
  const n = ixs.length;
  // a default predictive controller's rollout under the protocol's 5 s yellow and minimum green
  const params: RolloutParams = {
    horizon: Math.max(1, Math.round(60 / sim.interval)),
    base: { kind: 'pressure-plus', ...pressurePlusParams({}, sim.interval, true) },
    rules: signalRules({ twin: sim, yellowTime: 5, minGreen: 5 }),
    yellowTime: 5,
  };
  const signals = { green: Int32Array.from(ixs, (ix) => ix.greens[0] ?? 0), greenSince: new Float64Array(n), yellowLeft: new Int32Array(n) };
  const fork = sim.fork();
  for (const ix of ixs) fork.setPhase(ix.intersection, ix.greens[0] ?? 0);
  new RolloutRunner(sim.net, ixs, params).run(fork, signals, { phase: new Int32Array(n).fill(-1), hold: new Int32Array(n) });
}
