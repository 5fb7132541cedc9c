import type { Simulation } from '@citybrain/engine';
import type { SimReader } from '../../core/controller.js';
import type { IntersectionPhases, SignalStatus } from '../../core/controller.js';
import { advanceSignal, minGreenServed, NO_CHANGE, type SignalRules } from '../../core/signal-rules.js';

export type { SignalRules };

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

export function newSignals(n: number): SignalSnapshot {
  return { green: new Int32Array(n), greenSince: new Float64Array(n), yellowLeft: new Int32Array(n) };
}

export function copySignals(s: SignalSnapshot): SignalSnapshot {
  return { green: s.green.slice(), greenSince: s.greenSince.slice(), yellowLeft: s.yellowLeft.slice() };
}

/** Whether intersection k may change phase at this tick (the supervisor would ask its controller). */
export function mayChange(s: SignalSnapshot, k: number, time: number, rules: SignalRules): boolean {
  return s.yellowLeft[k] === 0 && minGreenServed(s.greenSince[k], time, rules);
}

/** One slot of a snapshot as a SignalStatus, so the rules of core/signal-rules.ts run on it: `load`, apply, `store`. */
export class SignalCursor implements SignalStatus {
  green = 0;
  greenSince = 0;
  yellowLeft = 0;

  load(s: SignalSnapshot, k: number): this {
    this.green = s.green[k];
    this.greenSince = s.greenSince[k];
    this.yellowLeft = s.yellowLeft[k];
    return this;
  }

  store(s: SignalSnapshot, k: number): void {
    s.green[k] = this.green;
    s.greenSince[k] = this.greenSince;
    s.yellowLeft[k] = this.yellowLeft;
  }
}

/**
 * One tick of SignalSupervisor.decideAll on a fork: advanceSignal at every
 * intersection, with `want(k)` standing for the controller.
 */
export function tickSignals(
  sim: Simulation,
  ixs: readonly IntersectionPhases[],
  s: SignalSnapshot,
  rules: SignalRules,
  want: (k: number) => number,
): void {
  const t = sim.time;
  const c = new SignalCursor();
  for (let k = 0; k < ixs.length; k++) {
    const show = advanceSignal(c.load(s, k), k, t, rules, ixs[k].yellow, want);
    c.store(s, k);
    if (show !== NO_CHANGE) sim.setPhase(ixs[k].intersection, show);
  }
}
