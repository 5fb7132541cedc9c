import type { Network, Simulation } from '@citybrain/engine';
import type { IntersectionPhases } from '../controller.js';
import { choosePhase, gappedOut, LaneLoad } from '../pressure-plus.js';
import { copySignals, tickSignals, type SignalRules, type SignalSnapshot } from './signals.js';

/** How a rollout runs; plain data, so it can be posted to a worker. */
export interface RolloutParams {
  /** steps simulated ahead */
  horizon: number;
  /** the base policy the other intersections (and everyone after `hold`) follow: pressure-plus */
  base: { period: number; periodSteps: number; range: number | null; keepWeight: number; entryQueue: boolean; gapOut: number | null };
  rules: SignalRules;
  /** seconds of yellow (the base policy's default approach range depends on it) */
  yellowTime: number;
}

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
 * Cost of one rollout: entry k is intersection k's local cost, the
 * vehicle-seconds spent queued (slower than 0.1 m/s) on its incoming lanes or
 * waiting at the boundary to enter them; the last entry is the sum over all.
 * Queued time is the part of travel time signals can change, so the lower the
 * better.
 */
export type RolloutCost = Float64Array;

/** Reusable per-thread buffers for rollouts on one network. */
export class RolloutRunner {
  private readonly load = new LaneLoad();
  private readonly waiting: Int32Array;
  private readonly inStart: Int32Array;
  private readonly inList: Int32Array;

  constructor(
    readonly net: Network,
    readonly ixs: readonly IntersectionPhases[],
    private readonly params: RolloutParams,
  ) {
    this.load.init({ net, intersections: ixs, yellowTime: params.yellowTime }, params.base.range, params.base.period);
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

  /** Runs `plan` on `sim` (a fork: it is stepped) from the signal state `signals0`. */
  run(sim: Simulation, signals0: SignalSnapshot, plan: Plan): RolloutCost {
    const { ixs, params, load, waiting, inStart, inList } = this;
    const sig = copySignals(signals0);
    const cost = new Float64Array(ixs.length + 1);
    const t0 = sim.stepCount;
    const { periodSteps, keepWeight, gapOut } = params.base;
    load.invalidate();
    for (let h = 0; h < params.horizon; h++) {
      const step = sim.stepCount;
      const elapsed = step - t0;
      const baseDue = step % periodSteps === 0;
      if (baseDue) load.refresh(sim, params.base.entryQueue);
      tickSignals(sim, ixs, sig, params.rules, (k) => {
        if (plan.phase[k] >= 0 && elapsed < plan.hold[k]) return plan.phase[k];
        if (baseDue) return choosePhase(ixs[k], sig.green[k], load.queue, load.moving, keepWeight);
        if (gapOut === null || !gappedOut(sim, ixs[k], sig.green[k], gapOut)) return sig.green[k];
        load.refresh(sim, params.base.entryQueue);
        return choosePhase(ixs[k], sig.green[k], load.queue, load.moving, 0);
      });
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
    }
    return cost;
  }
}
