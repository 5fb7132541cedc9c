import type { Simulation } from '@citybrain/engine';
import { freezeIntersection, intersectionPhases } from '@citybrain/control';
import type { Plan, SignalEvent } from '@citybrain/brain';
import { FieldSignalController, roadnetPlan, type FieldSignalControllerState, type PlanVerdict } from './signal-controller.js';
import { deviceId } from './device-id.js';

export interface FieldSignalsOptions {
  /**
   * Whether a plan is the brain's (its signature verifies against the brain's
   * public key). Default: none is, and every intersection runs its local plan.
   */
  verify?: (plan: Plan) => boolean;
  /** seconds without a valid plan before a controller runs its local plan; default 10 */
  watchdog?: number;
  /** seconds of yellow a controller shows before leaving a green; default 5 */
  yellowTime?: number;
  /** epoch ms of simulated second 0 (the confirmations' ts) */
  epochMs: number;
  /** the confirmations' ids' middle part (a restarted street's ids never repeat stored ones) */
  idBase: number;
}

/**
 * The street's signal controllers, one per signalised intersection: they
 * take the brain's plans (`receive`), run their local plans when the brain
 * falls silent, and each step set the phase the street shows and say what
 * they show (signal events with their mode). The street is the only one that
 * sets its own phases.
 */
export class FieldSignals {
  readonly controllers: readonly FieldSignalController[];
  private readonly byId = new Map<string, FieldSignalController>();
  private readonly at: Int32Array;

  constructor(private readonly sim: Simulation, opts: FieldSignalsOptions) {
    const verify = opts.verify ?? (() => false);
    const ixs = intersectionPhases(sim);
    this.at = Int32Array.from(ixs, (ix) => ix.intersection);
    this.controllers = ixs.map((ix) => {
      freezeIntersection(ix);
      const c = new FieldSignalController(ix, roadnetPlan(sim.net, ix.intersection), verify, {
        device: deviceId('sig', sim.net, ix.intersection), watchdog: opts.watchdog, yellowTime: opts.yellowTime, epochMs: opts.epochMs, idBase: opts.idBase,
        initialPhase: sim.phase(ix.intersection),
      });
      this.byId.set(ix.id, c);
      return c;
    });
  }

  /** A plan message arrives (from the brain, or from anyone: it is checked). */
  receive(plan: unknown): PlanVerdict {
    const id = plan !== null && typeof plan === 'object' ? (plan as { intersection?: unknown }).intersection : undefined;
    const c = typeof id === 'string' ? this.byId.get(id) : undefined;
    // a plan for no intersection of this street goes to none: the first controller refuses it in its words (invalid, forged or another intersection)
    return (c ?? this.controllers[0]).receive(plan, this.sim.time);
  }

  /** Before each street step: every controller decides what it shows, the street shows it; the confirmations due go into `out`. */
  tick(out: SignalEvent[]): void {
    const t = this.sim.time;
    for (let k = 0; k < this.controllers.length; k++) {
      const c = this.controllers[k];
      const confirmation = c.tick(t);
      this.sim.setPhase(this.at[k], c.phase());
      if (confirmation) out.push(confirmation);
    }
  }

  exportState(): FieldSignalControllerState[] {
    return this.controllers.map((c) => c.exportState());
  }

  importState(s: readonly FieldSignalControllerState[]): void {
    if (s.length !== this.controllers.length) throw new RangeError(`street state: ${s.length} signal controllers, this street has ${this.controllers.length}`);
    s.forEach((st, k) => this.controllers[k].importState(st));
  }
}
