import type { GridlockAlarm } from './standstill.js';

/** A region's figures from its approach lanes. */
export interface RegionKpis {
  queued: number;
  vehicles: number;
  /** m/s, vehicle-weighted */
  meanSpeed: number;
  congestionIndex: number;
  /** lanes standing: stopped vehicles and no crossing for STANDING_SECONDS (standstill.ts) */
  standingLanes: number;
}

/** One KPI sample of the city (`GET /api/v1/kpis` item; the server's contract re-exports it). */
export interface KpiSample {
  /** simulated seconds */
  t: number;
  /** epoch ms */
  ts: number;
  /** seconds: mean of the plate-matched trips completed in the last window (ObservedKpisOptions.travelTimeWindowSeconds, 10 min); 0 when none */
  averageTravelTime: number;
  /** seconds: mean of every plate-matched trip completed since the KPIs started (a restart continues it); 0 before the first */
  averageTravelTimeSinceStart: number;
  vehiclesInNetwork: number;
  finishedVehicles: number;
  /** vehicles leaving the network per hour over the last window */
  throughput: number;
  /** vehicles stopped on lanes */
  queued: number;
  /** travel time over free-flow travel time in the last window (1 = free flow) */
  congestionIndex: number;
  /** share of parking bays occupied */
  parkingOccupancy: number;
  /** incidents detected and not cleared yet (see Incident) */
  activeIncidents: number;
  /** per region: vehicles and queued vehicles on its approaches, their mean speed, its congestion index and its standing lanes */
  regions: Record<string, RegionKpis>;
  /** the gridlock alarm: regions where vehicles wait and none leaves (standstill.ts); null when none is */
  gridlock: GridlockAlarm | null;
}

/**
 * The congestion index of vehicles on some lanes: their free-flow travel time
 * over their actual one, from `free` = sum of vehicles x speed limit and
 * `moving` = sum of vehicles x speed (1 = free flow, 2 twice the free-flow
 * time; capped at 10 so that a standing queue stays finite; 1 with no vehicle).
 */
export function congestionIndex(free: number, moving: number): number {
  return free > 0 ? Math.min(10, free / Math.max(moving, free / 10)) : 1;
}
