import type { Scenario, Simulation } from '@citybrain/engine';

/** What the controller worker is started with: it builds its own Simulation of the scenario. */
export interface ControllerWorkerInit {
  scenario: Scenario;
  seed: number;
  /** what the controllers see of the lanes: the detector estimate (overridden counts) or the twin itself */
  laneState: 'detectors' | 'twin';
}

export type TwinState = ReturnType<Simulation['exportState']>;

/** The twin as the controllers see it at one instant: its exported state and the lane estimate over it. */
export interface ViewData {
  state: TwinState;
  /** the lane estimate's vehicles and queue per lane (absent when the controllers see the twin) */
  vehicles?: Int32Array;
  queue?: Int32Array;
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
