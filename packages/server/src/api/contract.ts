/**
 * The API's response types that the dashboard and third-party clients share
 * with the server: pure types, no runtime code and no Node imports, exported
 * as `@citybrain/server/contract`.
 */

/**
 * A token's role: viewer reads state and history; operator also controls
 * the city (audited) and manages tokens; app is a third-party application
 * reading through the public API (and running its own comparisons); device
 * publishes events for its own intersections and bays.
 */
export type Role = 'viewer' | 'operator' | 'device' | 'app';

/** The network as the API and the dashboard see it: string ids, geometry, phases. */
export interface NetworkView {
  bounds: { minX: number; minY: number; maxX: number; maxY: number };
  intersections: {
    id: string;
    x: number;
    y: number;
    width: number;
    virtual: boolean;
    signalised: boolean;
    /** green phases a controller may choose, and the yellow between them */
    greens: number[];
    yellow: number | null;
    /** per phase index: the movements with green */
    phases: { index: number; movements: { from: string; to: string; type: 'go_straight' | 'turn_left' | 'turn_right' }[] }[];
  }[];
  roads: {
    id: string;
    from: string;
    to: string;
    lanes: { id: string; width: number; maxSpeed: number; length: number; points: [number, number][] }[];
  }[];
  /** lane ids in the order live frames list lane figures */
  laneOrder: string[];
  regions: { id: string; intersections: string[] }[];
}

/** One KPI sample of the whole city or a region. */
export interface KpiSample {
  /** simulated seconds */
  t: number;
  /** epoch ms */
  ts: number;
  averageTravelTime: number;
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
  /** per region: vehicles and queued vehicles on its approaches, their mean speed, and its congestion index */
  regions: Record<string, { queued: number; vehicles: number; meanSpeed: number; congestionIndex: number }>;
}

export interface PhaseChange {
  t: number;
  phase: number;
}

/**
 * A lane-blocking incident the brain detected from lane detector reports:
 * green shown, vehicles standing on the lane, none crossing its stop line.
 */
export interface Incident {
  id: string;
  /** 'active' until the lane discharges again */
  status: 'active' | 'cleared';
  lane: string;
  road: string;
  /** the intersection the lane leads to */
  intersection: string;
  /** where on the lane, in map metres, as far as a whole-lane detector tells (the middle of the stretch its standing vehicles take back from the stop line) */
  x: number;
  y: number;
  /** simulated second the evidence started (the last report with a crossing or an empty lane before it) */
  since: number;
  /** simulated second and epoch ms of the report that tipped it */
  detectedAt: number;
  detectedTs: number;
  clearedAt: number | null;
  clearedTs: number | null;
  /** at detection: seconds of green without a crossing, and vehicles standing on the lane */
  evidence: { greenSeconds: number; queue: number };
  /** who confirmed it (police dispatched), and when (epoch ms) */
  acknowledged: { by: string; ts: number } | null;
}

/** `GET /api/v1/intersections` item: a signalised intersection and its live signal state. */
export interface IntersectionSummary {
  id: string;
  /** the phase shown now (the yellow one during a change) */
  phase: number;
  /** the green phase held, or being changed to */
  green: number;
  yellow: boolean;
  controller: string;
  /** handed to the fixed-time fallback after a controller fault */
  fallback: boolean;
  region: string;
  /** vehicles standing on its approach lanes */
  queue: number;
}
