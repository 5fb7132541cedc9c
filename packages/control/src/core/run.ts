import type { Metrics, Simulation } from '@citybrain/engine';
import type { Controller } from './controller.js';
import { now } from './clock.js';
import { SignalSupervisor, type SupervisorOptions } from './supervisor.js';

export interface RunResult {
  metrics: Metrics;
  supervisor?: SignalSupervisor;
  /** sum over steps of vehicles in the network: the vehicle updates performed */
  vehicleUpdates: number;
}

export interface RunOptions extends SupervisorOptions {
  /** sees the simulation after every step */
  onStep?: (sim: Simulation, step: number) => void;
  /**
   * the wall ms of every step's decisions: the supervisor's tick, the
   * controller's async step work awaited (never called under 'plan')
   */
  onTick?: (ms: number, step: number) => void;
}

/**
 * Runs `steps` steps under `controller`, or under the roadnet's own built-in
 * plans when it is 'plan'.
 */
export async function runControlled(
  sim: Simulation,
  controller: Controller | 'plan',
  steps: number,
  opts: RunOptions = {},
): Promise<RunResult> {
  const supervisor = controller === 'plan' ? undefined : new SignalSupervisor(sim, controller, opts);
  let updates = 0;
  // read once: without a timing hook no clock is read
  const onTick = supervisor && opts.onTick;
  for (let k = 0; k < steps; k++) {
    const t0 = onTick ? now() : 0;
    const pending = supervisor?.tick();
    // only async controllers pay for an await; the synchronous path stays a tight loop
    if (pending) await pending;
    if (onTick) onTick(now() - t0, k);
    sim.step();
    updates += sim.runningCount;
    opts.onStep?.(sim, k);
  }
  return { metrics: sim.metrics(), supervisor, vehicleUpdates: updates };
}
