import type { Simulation } from '@citybrain/engine';
import { intersectionPhases, type ControlEnv, type Controller, type IntersectionPhases, type SignalStatus } from './controller.js';

export interface SupervisorOptions {
  /** seconds of yellow between two greens; default 5 (the CityFlow benchmark protocol) */
  yellowTime?: number;
  /** minimum green in seconds; default 5 */
  minGreen?: number;
  /** green phase every intersection starts in; default 1 */
  initialGreen?: number;
  /** wall-clock milliseconds a step's decisions may take before the controller is declared failed; default 1000 */
  budgetMs?: number;
  /** called when a controller fails at an intersection; the intersection then runs its fixed plan */
  onFault?: (fault: ControllerFault) => void;
}

export interface ControllerFault {
  controller: string;
  intersection: string;
  time: number;
  error: string;
}

/**
 * Runs a controller against the twin and enforces the safety rules whatever
 * the controller answers: only the roadnet's own (conflict-free) phases are
 * shown, a yellow separates every change, a green lasts at least minGreen,
 * and an intersection whose controller throws or answers nonsense falls back
 * to its built-in fixed plan, with the fault reported.
 */
export class SignalSupervisor {
  readonly env: ControlEnv;
  readonly status: SignalStatus[];
  readonly faults: ControllerFault[] = [];
  /** intersections handed back to their fixed plan after a fault */
  readonly fallen = new Set<number>();
  private readonly onFault?: (f: ControllerFault) => void;
  private readonly budgetMs: number;

  constructor(readonly sim: Simulation, readonly controller: Controller, opts: SupervisorOptions = {}) {
    const intersections = intersectionPhases(sim);
    this.env = { sim, net: sim.net, intersections, yellowTime: opts.yellowTime ?? 5, minGreen: opts.minGreen ?? 5 };
    this.onFault = opts.onFault;
    this.budgetMs = opts.budgetMs ?? 1000;
    const first = opts.initialGreen ?? 1;
    this.status = intersections.map((ix) => {
      const g = ix.greens.includes(first) ? first : ix.greens[0];
      sim.setPhase(ix.intersection, g);
      return { green: g, greenSince: sim.time, yellowLeft: 0 };
    });
    controller.init?.(this.env);
  }

  /**
   * Decides and sets every controlled intersection's phase for the coming
   * step. Call before `sim.step()`. Returns a promise only when the
   * controller's beginStep is async.
   */
  tick(): void | Promise<void> {
    const t0 = now();
    let pending: void | Promise<void>;
    try {
      pending = this.controller.beginStep?.(this.env);
    } catch (e) {
      return this.failAll(e);
    }
    if (pending && typeof (pending as Promise<void>).then === 'function') {
      let timer: unknown;
      const timeout = new Promise<'timeout'>((res) => (timer = timers.setTimeout(() => res('timeout'), this.budgetMs)));
      return Promise.race([(pending as Promise<void>).then(() => 'ok' as const), timeout]).then(
        (r) => {
          timers.clearTimeout(timer);
          if (r === 'timeout') this.failAll(new Error(`no decision within ${this.budgetMs} ms`));
          else this.decideAll(t0);
        },
        (e) => {
          timers.clearTimeout(timer);
          this.failAll(e);
        },
      );
    }
    this.decideAll(t0);
  }

  private decideAll(t0: number): void {
    const { sim, controller, env } = this;
    const yellowSteps = Math.round(env.yellowTime / sim.interval);
    const ixs = env.intersections;
    for (let k = 0; k < ixs.length; k++) {
      const ix = ixs[k];
      if (this.fallen.has(ix.intersection)) continue;
      const s = this.status[k];
      if (s.yellowLeft > 0) {
        if (--s.yellowLeft === 0) {
          s.greenSince = sim.time;
          sim.setPhase(ix.intersection, s.green);
        }
        continue;
      }
      if (sim.time - s.greenSince < env.minGreen) continue;
      let want: number;
      try {
        want = controller.decide(ix, s, env);
      } catch (e) {
        this.fail(ix, e);
        continue;
      }
      if (now() - t0 > this.budgetMs) {
        this.fail(ix, new Error(`decisions took over ${this.budgetMs} ms`));
        continue;
      }
      if (!ix.greens.includes(want)) {
        this.fail(ix, new Error(`answered phase ${String(want)}, not one of ${ix.greens.join(', ')}`));
        continue;
      }
      if (want === s.green) continue;
      s.green = want;
      if (yellowSteps > 0) {
        s.yellowLeft = yellowSteps;
        sim.setPhase(ix.intersection, ix.yellow);
      } else {
        s.greenSince = sim.time;
        sim.setPhase(ix.intersection, want);
      }
    }
  }

  /**
   * Hands an intersection that fell back to its fixed plan to the controller
   * again (after an operator fixed or replaced it). It goes through the
   * yellow first, like any change.
   */
  reinstate(i: number): void {
    if (!this.fallen.delete(i)) return;
    const k = this.env.intersections.findIndex((ix) => ix.intersection === i);
    const ix = this.env.intersections[k];
    const yellowSteps = Math.round(this.env.yellowTime / this.sim.interval);
    const green = this.status[k].green;
    this.status[k] = { green, greenSince: this.sim.time, yellowLeft: yellowSteps };
    this.sim.setPhase(i, yellowSteps > 0 ? ix.yellow : green);
  }

  private failAll(e: unknown): void {
    for (const ix of this.env.intersections) if (!this.fallen.has(ix.intersection)) this.fail(ix, e);
  }

  private fail(ix: IntersectionPhases, e: unknown): void {
    const fault: ControllerFault = {
      controller: this.controller.name,
      intersection: ix.id,
      time: this.sim.time,
      error: e instanceof Error ? e.message : String(e),
    };
    this.faults.push(fault);
    this.fallen.add(ix.intersection);
    // the built-in plan starts with its yellow phase, so the change is safe
    this.sim.resumePlan(ix.intersection, 0);
    this.onFault?.(fault);
  }
}

/** Timers exist in every JS runtime but not in the ES library types this pure package compiles against. */
const timers = globalThis as unknown as { setTimeout(f: () => void, ms: number): unknown; clearTimeout(h: unknown): void };

/** Wall-clock milliseconds; `performance` exists in Node, workers and browsers. */
function now(): number {
  return (globalThis as unknown as { performance: { now(): number } }).performance.now();
}
