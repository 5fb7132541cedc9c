import type { Metrics, Simulation } from '@citybrain/engine';
import type { Controller } from './controller.js';
import { SignalSupervisor, type SupervisorOptions } from './supervisor.js';

export interface RunResult {
  metrics: Metrics;
  supervisor?: SignalSupervisor;
  /** sum over steps of vehicles in the network: the vehicle updates performed */
  vehicleUpdates: number;
}

/**
 * Runs `steps` steps under `controller`, or under the roadnet's own built-in
 * plans when it is 'plan'. `onStep` sees the simulation after every step.
 */
export async function runControlled(
  sim: Simulation,
  controller: Controller | 'plan',
  steps: number,
  opts: SupervisorOptions & { onStep?: (sim: Simulation, step: number) => void } = {},
): Promise<RunResult> {
  const supervisor = controller === 'plan' ? undefined : new SignalSupervisor(sim, controller, opts);
  let updates = 0;
  for (let k = 0; k < steps; k++) {
    const pending = supervisor?.tick();
    // only async controllers pay for an await; the synchronous path stays a tight loop
    if (pending) await pending;
    sim.step();
    updates += sim.runningCount;
    opts.onStep?.(sim, k);
  }
  return { metrics: sim.metrics(), supervisor, vehicleUpdates: updates };
}
