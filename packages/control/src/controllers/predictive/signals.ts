import type { Simulation } from '@citybrain/engine';
import type { IntersectionPhases } from '../../core/controller.js';

/**
 * The supervisor's view of every controlled intersection, as plain typed
 * arrays indexed like `ControlEnv.intersections`, so it can be copied into a
 * fork or posted to a worker. It is the state *before* a step's tick.
 */
export interface SignalSnapshot {
  green: Int32Array;
  greenSince: Float64Array;
  yellowLeft: Int32Array;
}

export interface SignalRules {
  /** steps of yellow between two different greens */
  yellowSteps: number;
  minGreen: number;
}

export function newSignals(n: number): SignalSnapshot {
  return { green: new Int32Array(n), greenSince: new Float64Array(n), yellowLeft: new Int32Array(n) };
}

export function copySignals(s: SignalSnapshot): SignalSnapshot {
  return { green: s.green.slice(), greenSince: s.greenSince.slice(), yellowLeft: s.yellowLeft.slice() };
}

/** Whether intersection k may change phase at this tick (the supervisor would ask its controller). */
export function mayChange(s: SignalSnapshot, k: number, time: number, rules: SignalRules): boolean {
  return s.yellowLeft[k] === 0 && time - s.greenSince[k] >= rules.minGreen;
}

/**
 * One tick of SignalSupervisor.decideAll on a fork: the same yellow insertion
 * and minimum green, with `want(k)` standing for the controller.
 */
export function tickSignals(
  sim: Simulation,
  ixs: readonly IntersectionPhases[],
  s: SignalSnapshot,
  rules: SignalRules,
  want: (k: number) => number,
): void {
  const t = sim.time;
  for (let k = 0; k < ixs.length; k++) {
    const i = ixs[k].intersection;
    if (s.yellowLeft[k] > 0) {
      if (--s.yellowLeft[k] === 0) {
        s.greenSince[k] = t;
        sim.setPhase(i, s.green[k]);
      }
      continue;
    }
    if (t - s.greenSince[k] < rules.minGreen) continue;
    const w = want(k);
    if (w === s.green[k]) continue;
    s.green[k] = w;
    if (rules.yellowSteps > 0) {
      s.yellowLeft[k] = rules.yellowSteps;
      sim.setPhase(i, ixs[k].yellow);
    } else {
      s.greenSince[k] = t;
      sim.setPhase(i, w);
    }
  }
}
