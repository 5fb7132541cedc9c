import type { Scenario, Simulation, SimulationOptions } from '@citybrain/engine';
import type { Plan, RolloutParams, SignalSnapshot, SotlState } from '@citybrain/control';

/** What every worker is started with: it builds its own Simulation of the scenario. */
export interface WorkerInit {
  scenario: Scenario;
  simulation: SimulationOptions;
}

export type StateData = ReturnType<Simulation['exportState']>;

export interface EvaluateRequest {
  id: number;
  /** intersections the main thread controls, to check both sides derived the same list */
  intersections: number;
  state: StateData;
  signals: SignalSnapshot;
  plans: Plan[];
  params: RolloutParams;
  sotl?: SotlState;
}

export type WorkerReply =
  | { ready: true }
  | { id: number; costs: Float64Array[] }
  | { id: number; error: string };
