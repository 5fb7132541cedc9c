import type { Scenario, Simulation } from '@citybrain/engine';

/** What the controller worker is started with: it builds its own copy of the brain's twin (the network, no flows). */
export interface ControllerWorkerInit {
  scenario: Scenario;
  seed: number;
}

export type TwinState = ReturnType<Simulation['exportState']>;

/** The city as the controllers see it at one instant: the brain's twin (its exported state) and what the devices reported (env.observed). */
export interface ViewData {
  state: TwinState;
  vehicles: Int32Array;
  queue: Int32Array;
  reportedAt: Float64Array;
  counted: Float64Array;
  seen: Float64Array;
  confirmedPhase: Int32Array;
}

/** The supervisor's signal state of every intersection, as the controller's decide sees it. */
export interface StatusData {
  green: Int32Array;
  greenSince: Float64Array;
  yellowLeft: Int32Array;
  /** 1 where the supervisor will ask this controller for a decision (in its charge, not fallen back) */
  inCharge: Uint8Array;
}

export type ControllerRequest =
  | { kind: 'init'; id: number; slot: number; name: string; view: ViewData; yellowTime: number; minGreen: number }
  | { kind: 'step'; id: number; slot: number; view: ViewData; status: StatusData }
  | { kind: 'drop'; slot: number };

export type ControllerReply =
  | { ready: true }
  | { id: number; ok: true }
  /** per intersection: the phase wanted, NaN when not asked; errors[k] when its decide threw */
  | { id: number; wants: Float64Array; errors: (string | null)[] }
  | { id: number; error: string };
