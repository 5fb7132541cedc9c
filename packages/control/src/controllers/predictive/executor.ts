import type { Simulation } from '@citybrain/engine';
import type { Forkable, IntersectionPhases } from '../../core/controller.js';
import { RolloutRunner, type Plan, type RolloutCost, type RolloutParams } from './rollout.js';
import type { SignalSnapshot } from './signals.js';
import type { SotlState } from '../sotl.js';

/** Rollouts to score from one state: every plan starts from the same twin and signal state. */
export interface RolloutBatch {
  signals: SignalSnapshot;
  plans: Plan[];
  params: RolloutParams;
  /** the SOTL base policy's counters, when params.base is SOTL */
  sotl?: SotlState;
}

/**
 * Where rollouts run. `inProcessExecutor` runs them here (pure: tests,
 * browsers); @citybrain/workers runs them on a pool of worker threads. Both
 * must return the same costs for the same state.
 */
export interface RolloutExecutor {
  /** Costs of each plan of `batch`, in order, from the current state of `sim` (which is not modified). */
  evaluate(sim: Forkable, ixs: readonly IntersectionPhases[], batch: RolloutBatch): Promise<RolloutCost[]>;
  /** Releases threads or other resources; the executor is unusable afterwards. */
  close(): Promise<void>;
}

/** Runs rollouts one after another on forks of the twin, in this thread. */
export function inProcessExecutor(): RolloutExecutor {
  const runners = new RunnerCache();
  return {
    async evaluate(sim, ixs, batch) {
      const runner = runners.get(sim, ixs, batch.params);
      return batch.plans.map((plan) => runner.run(runner.copyOf(sim), batch.signals, plan, batch.sotl));
    },
    async close() {
      runners.clear();
    },
  };
}

/** One RolloutRunner per (network, parameters), reused across decisions. */
export class RunnerCache {
  private key = '';
  private runner: RolloutRunner | null = null;
  private sim: Forkable['net'] | null = null;

  get(sim: Forkable, ixs: readonly IntersectionPhases[], params: RolloutParams): RolloutRunner {
    const key = JSON.stringify(params);
    if (!this.runner || this.key !== key || this.sim !== sim.net) {
      this.runner = new RolloutRunner(sim.net, ixs, params);
      this.key = key;
      this.sim = sim.net;
    }
    return this.runner;
  }

  clear(): void {
    this.runner = null;
    this.sim = null;
  }
}
