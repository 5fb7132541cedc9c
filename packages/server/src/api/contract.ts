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
export type Role = 'viewer' | 'operator' | 'device' | 'app' | 'police' | 'analyst';

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
    /** the street's name where the network has one (SUMO and OSM-imported networks do) */
    name?: string;
    from: string;
    to: string;
    lanes: { id: string; width: number; maxSpeed: number; length: number; points: [number, number][] }[];
  }[];
  /** lane ids in the order live frames list lane figures */
  laneOrder: string[];
  regions: { id: string; intersections: string[] }[];
}

/** One KPI sample of the whole city or a region. */
export type { KpiSample } from '@citybrain/brain';

export interface PhaseChange {
  t: number;
  phase: number;
}

export type { Incident } from '@citybrain/brain';

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
  /** handed to max-pressure after its controller gridlocked it (a gridlock or deadlock fault) */
  relieved: boolean;
  /** decided by max-pressure on the stop-line queues: its detectors do not see the approaches its controller needs (loops only) */
  degraded: boolean;
  /**
   * 'central' while its field controller obeys the brain's plans; 'local'
   * while it runs its own plan (it heard no plan for its watchdog time, or
   * it has not confirmed for twice that)
   */
  mode: 'central' | 'local';
  region: string;
  /** vehicles standing on its approach lanes */
  queue: number;
}

export type { ParkingSite, Reservation, ReservationStatus } from '@citybrain/brain';

/** A parking site's availability now, from its bay sensors (`GET /api/v1/parking/sites` item's `live`). */
export interface SiteLiveView {
  id: string;
  name: string;
  kind: 'onStreet' | 'offStreet';
  x: number;
  y: number;
  capacity: number;
  sensored: number;
  occupied: number;
  /** sensored bays reported unoccupied and not held by a reservation now */
  free: number;
  reserved: number;
  /** sensored bays whose sensor has not reported yet (neither free nor occupied for the brain) */
  unknown: number;
  open: boolean;
  observedAt: number | null;
}

/** A site's availability over one stored bucket (`GET /api/v1/parking/sites/:id/availability` item). */
export interface AvailabilityBucket {
  bucket: number;
  samples: number;
  /** mean over the samples */
  occupied: number;
  free: number;
  minFree: number;
}

/** One brain worker of a cluster, as `GET /api/v1/cluster` reports it (its health from the workers' KV bucket). */
export interface ClusterWorkerView {
  id: string;
  /** the regions it owns, as it last reported */
  regions: string[];
  /** mean wall-clock ms of decision per step of its brain's loop, per owned region */
  decisionMs: Record<string, number>;
  /** events it took from the stream per second over its last period */
  eventsPerSecond: number;
  /** seconds the newest event it took had waited in the stream (0: caught up) */
  lagSeconds: number;
  /** epoch ms of its last report */
  updatedAt: number;
  /** it reported within the buckets' TTL; a worker that stopped reporting is listed for a while as not alive */
  alive: boolean;
}

/** `GET /api/v1/cluster`: who owns which region of a cluster, and its workers' health. `cluster: false` on a one-process server (regions and workers empty). */
export interface ClusterView {
  cluster: boolean;
  /** the NATS server(s) of the cluster (no credentials) */
  nats?: string;
  /** every region: its owner (a worker id; null while none holds it, e.g. during a fail-over) and its signalised intersections */
  regions: { id: string; owner: string | null; intersections: string[] }[];
  workers: ClusterWorkerView[];
  /** epoch ms when this was read */
  at: number;
}

/** One entry of the audit log, as stored and as `GET /api/v1/audit` and a dataset's access log answer it. */
export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  /** the token's role, and `@department` for a department's token */
  role: string;
  /** what, e.g. set-controller, hub.read, hub.load */
  action: string;
  /** on what, e.g. intersection:ID, dataset:ID */
  target: string;
  before: unknown;
  after: unknown;
}
