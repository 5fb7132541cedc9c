// The server's API contract as the dashboard sees it (mirrors packages/server/src/api).

import type { Role } from '@citybrain/server/contract';
export type { Role };

export interface Me {
  name: string;
  role: Role;
}

export type MovementType = 'go_straight' | 'turn_left' | 'turn_right';

// the shapes the server declares itself come from its contract module: one definition for both ends
import type { Incident, IntersectionSummary, KpiSample, PhaseChange } from '@citybrain/server/contract';
import type { ComparisonPoint, ComparisonStatus, ComparisonWinner, KpiVerdict } from '@citybrain/server/compare';
import type { IntersectionRecord } from '@citybrain/engine';
export type { ClusterView, ClusterWorkerView, Incident, IntersectionSummary, KpiSample, NetworkView, PhaseChange } from '@citybrain/server/contract';

export interface IntersectionDetail extends IntersectionSummary {
  greenSince: number;
  greens: number[];
  time: number;
  phaseLog: PhaseChange[];
  approaches: { road: string; queue: number; vehicles: number; meanSpeed: number | null }[];
}


export interface ControllerFault {
  controller: string;
  intersection: string;
  time: number;
  /** the server's English detail */
  error: string;
  /** what happened (control's ControllerFault.kind): the dashboard's sentence is by this */
  kind: 'error' | 'gridlock' | 'deadlock' | 'starvation' | 'ring' | 'gate' | 'loop';
}

export interface SimulationClock {
  time: number;
  speed: number;
  running: boolean;
  /** simulated seconds per second achieved lately, and whether that is short of `speed` (servers before issue #12 send neither) */
  achievedSpeed?: number;
  lagging?: boolean;
  vehicles?: number;
  /** the server runs a virtual street (the demo) */
  virtualStreet?: boolean;
  /** with a virtual street: its demand runs, has ended, or the scenario has finished (every vehicle arrived) */
  streetDemand?: StreetDemand;
}

export type StreetDemand = 'running' | 'ended' | 'finished';

export interface Point {
  x: number;
  y: number;
}

/**
 * One signalised intersection ahead of an emergency vehicle and the green
 * phase that serves it: `ahead` not requested yet, `requested` held for it,
 * `yielding` held for an earlier vehicle, `free` (a right turn) nothing to ask.
 */
export interface CorridorStep {
  intersection: string;
  phase: number;
  /** seconds until the vehicle reaches it */
  eta?: number;
  state?: 'ahead' | 'requested' | 'yielding' | 'free';
}

/** `POST /api/v1/emergency` answer. */
export interface EmergencyDispatch {
  id: string;
  route: string[];
  corridor: CorridorStep[];
  /** seconds to the destination; null until the server can estimate it */
  eta: number | null;
}

/** `GET /api/v1/emergency` item (and live `emergency` field): vehicles with priority now. */
export interface EmergencyVehicle {
  id: string;
  /** position in metres; null while waiting to enter the network */
  x: number | null;
  y: number | null;
  /** intersections still ahead, in route order */
  corridor: CorridorStep[];
  /** simulated seconds to arrival */
  eta: number;
  /** `waiting` to enter, or `running` */
  state: string;
  dispatchedAt?: number;
}

/** `GET /api/v1/live` JSON message. */
export interface LiveState {
  type: 'state';
  t: number;
  speed: number;
  achievedSpeed?: number;
  lagging?: boolean;
  running: boolean;
  phases: number[];
  lanes: { queue: number[]; vehicles: number[]; speed: number[] };
  kpi: KpiSample | null;
  emergency?: EmergencyVehicle[];
  /** the incidents not cleared yet (servers before incident detection send none) */
  incidents?: Incident[];
  /** the server runs a virtual street (the demo), whose ground truth the stream gives on request (servers before issue #14 send none) */
  virtualStreet?: boolean;
  streetDemand?: StreetDemand;
  /** the newest plate-watchlist alerts: sent to the roles that see plates (police, operators) only */
  watchlistAlerts?: WatchlistAlertRecord[];
}

/** `GET /api/v1/incidents?status=`: which incidents to list. */
export type IncidentStatusFilter = 'active' | 'cleared' | 'all';

/**
 * A binary live frame: the brain's view, `data` = [t, n, x0, y0, heading0,
 * speed0, x1, …], or the virtual street's ground truth, [t, -1, n, x0, …].
 */
export interface VehicleFrame {
  t: number;
  n: number;
  data: Float32Array;
  /** floats before the first vehicle's record: 2, or 3 in a truth frame */
  offset: number;
  /** the virtual street's ground truth (the demo's overlay), not the brain's view */
  truth: boolean;
}

/** `GET /api/v1/compare` item: a comparison run and its winner so far (lowest ATT). */
export interface CompareListing {
  id: string;
  controllers: string[];
  /** the run's length, simulated s */
  duration: number;
  done: boolean;
  status: ComparisonStatus;
  /** simulated seconds run so far */
  time: number;
  /** epoch ms */
  createdAt: number;
  winner: ComparisonWinner | null;
}

/** `GET /api/v1/compare/:id`: the listing's line, each controller's samples, each KPI's winner, per-intersection delay. */
export interface CompareRun extends CompareListing {
  series: Record<string, ComparisonPoint[]>;
  kpis: KpiVerdict[];
  intersections: Record<string, IntersectionRecord[]>;
  error?: string | null;
  /** whether replay frames are kept (not for a run listed from before the server's restart) */
  replay?: boolean;
}

/**
 * `GET /api/v1/compare/:id/replay/:controller?from&to`: the twin's recorded
 * instants (both ends inclusive), phases in the live network's intersection
 * order, vehicles flat as [x, y, heading, speed, …] like the live binary frames.
 */
export interface ReplayFramesResponse {
  frames: { t: number; phases: number[]; vehicles: number[] }[];
  /** simulated seconds between frames */
  every?: number;
}

// ---- the plate watchlist (GET /api/v1/watchlist/alerts; server: brain/src/watchlist/matcher.ts)

export type WatchlistAlertKind = 'unregistered' | 'cloned' | 'illegal-taxi' | 'wanted' | 'stolen';

/** A camera's read as an alert's evidence shows it (ts: epoch ms). */
export interface WatchlistRead {
  plate: string;
  camera: string;
  intersection: string;
  ts: number;
  confidence: number;
}

export interface WatchlistTrip {
  from: WatchlistRead;
  to: WatchlistRead;
  reads: number;
  seconds: number;
  metres: number;
  atPickUp: boolean;
}

interface WatchlistAlertCommon {
  plate: string;
  key: string;
  ts: number;
  /** the evidence in one English sentence (the dashboard builds its own from `evidence`) */
  explanation: string;
}

export type WatchlistAlert =
  | (WatchlistAlertCommon & { kind: 'unregistered'; evidence: { read: WatchlistRead; maxConfusions: number; registerSize: number } })
  | (WatchlistAlertCommon & { kind: 'wanted' | 'stolen'; evidence: { read: WatchlistRead; entry: string; note?: string; confusions: number } })
  | (WatchlistAlertCommon & { kind: 'cloned'; evidence: { reads: [WatchlistRead, WatchlistRead]; metres: number; seconds: number; impliedKmh: number; maxKmh: number; distance: 'network' | 'straight' } })
  | (WatchlistAlertCommon & { kind: 'illegal-taxi'; evidence: { trips: WatchlistTrip[]; qualifying: number; minTrips: number; windowSeconds: number; maxTripSeconds: number; maxTripMeters: number; use: string } });

/** An alert as stored: its id, and who acknowledged it when (epoch ms). */
export interface WatchlistAlertRecord {
  id: string;
  kind: WatchlistAlertKind;
  ts: number;
  alert: WatchlistAlert;
  acknowledged: { by: string; ts: number } | null;
}
