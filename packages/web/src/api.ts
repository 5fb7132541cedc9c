// Every call the dashboard makes to the server lives here (REST + the live WebSocket).
import type {
  ClusterView, CompareListing, CompareRun, ControllerFault, EmergencyDispatch, EmergencyVehicle, Incident, IncidentStatusFilter, IntersectionDetail, IntersectionSummary,
  KpiSample, LiveState, Me, NetworkView, Point, ReplayFramesResponse, SimulationClock, VehicleFrame, WatchlistAlertRecord,
} from './types.js';
import type { ParkingBucket, ParkingReservation, ParkingSiteView } from './parking-types.js';
import type { HubAuditEntry, HubDataset, HubDepartment, HubQueryResult } from './hub.js';

/** A refused or failed API call; `status` 0 means the server could not be reached; `code` the error body's (errors.ts), when it had one. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export type LiveStatus = 'connecting' | 'open' | 'closed';

export interface LiveHandlers {
  onState(state: LiveState): void;
  /** the brain's view: its twin's vehicles */
  onVehicles(frame: VehicleFrame): void;
  /** the virtual street's ground truth, while subscribed (the demo's overlay) */
  onTruth?(frame: VehicleFrame): void;
  onStatus(status: LiveStatus): void;
}

export interface LiveConnection {
  subscribeVehicles(on: boolean): void;
  /** asks for the virtual street's ground truth too (only offered when the state says `virtualStreet`) */
  subscribeTruth(on: boolean): void;
  close(): void;
}

/** The server as the dashboard uses it; implemented over HTTP here and in-browser by the dev fixture. */
export interface CityApi {
  me(): Promise<Me>;
  network(): Promise<NetworkView>;
  intersections(): Promise<IntersectionSummary[]>;
  intersection(id: string): Promise<IntersectionDetail>;
  setIntersectionController(id: string, controller: string): Promise<void>;
  /** region id, or `city` for every signalised intersection */
  setRegionController(region: string, controller: string): Promise<void>;
  controllers(): Promise<string[]>;
  kpis(query?: { from?: number; to?: number; limit?: number }): Promise<KpiSample[]>;
  faults(): Promise<ControllerFault[]>;
  simulation(): Promise<SimulationClock>;
  setSimulation(change: { speed?: number; running?: boolean }): Promise<SimulationClock>;
  dispatchEmergency(from: Point, to: Point): Promise<EmergencyDispatch>;
  emergencies(): Promise<EmergencyVehicle[]>;
  cancelEmergency(id: string): Promise<void>;
  /** detected lane-blocking incidents, newest first */
  incidents(query?: { status?: IncidentStatusFilter; limit?: number }): Promise<Incident[]>;
  /** marks an incident acknowledged (police dispatched); operators only */
  acknowledgeIncident(id: string): Promise<Incident>;
  /** plate-watchlist alerts, newest first (police and operators; servers without a watchlist answer 404) */
  watchlistAlerts(query?: { status?: 'open' | 'acknowledged' | 'all'; limit?: number }): Promise<WatchlistAlertRecord[]>;
  /** marks a watchlist alert acknowledged (officers on it); police and operators */
  acknowledgeWatchlistAlert(id: string): Promise<WatchlistAlertRecord>;
  /** 2–4 different controllers */
  startCompare(controllers: string[], duration: number): Promise<{ id: string }>;
  /** every comparison kept, oldest first (viewers too) */
  compares(): Promise<CompareListing[]>;
  compare(id: string): Promise<CompareRun>;
  /** a comparison's download as text: its samples as CSV, or its self-contained HTML report */
  compareExport(id: string, kind: CompareExportKind): Promise<string>;
  compareReplay(id: string, controller: string, from: number, to: number): Promise<ReplayFramesResponse>;
  live(handlers: LiveHandlers): LiveConnection;
  /** a cluster's regions (their owner) and brain workers (their health); `cluster: false` from a one-process server */
  cluster(): Promise<ClusterView>;
  // smart parking: absent where the city has none (the in-browser fixture)
  parkingSites?(): Promise<ParkingSiteView[]>;
  parkingAvailability?(site: string): Promise<ParkingBucket[]>;
  parkingReservations?(query?: { site?: string; limit?: number }): Promise<ParkingReservation[]>;
  // the city data hub: absent where there is none (the in-browser fixture)
  /** the datasets the caller may read */
  hubDatasets?(): Promise<HubDataset[]>;
  hubDepartments?(): Promise<HubDepartment[]>;
  hubDataset?(id: string): Promise<HubDataset>;
  /** who read and wrote a dataset, newest first (its admins only: 403 for the others) */
  hubAccessLog?(id: string, limit?: number): Promise<HubAuditEntry[]>;
  /** SQL over the caller's datasets (audited) */
  hubQuery?(sql: string): Promise<HubQueryResult>;
  /** the same query's result as the server's CSV (audited as a CSV read) */
  hubQueryCsv?(sql: string): Promise<string>;
}

/** Where a ground-truth frame has this, a brain frame has its count (the server's TRUTH_FRAME_TAG, packages/server/src/city/views.ts). */
const TRUTH_FRAME_TAG = -1;

/** Reads a binary live frame: the brain's [t, n, x0, y0, heading0, speed0, …] or the street's ground truth [t, -1, n, x0, …]. */
export function decodeVehicleFrame(buf: ArrayBuffer): VehicleFrame {
  if (buf.byteLength < 8 || buf.byteLength % 4 !== 0) throw new Error(`vehicle frame of ${buf.byteLength} bytes is not a Float32Array [t, n, …]`);
  const data = new Float32Array(buf);
  const truth = data[1] === TRUTH_FRAME_TAG;
  const offset = truth ? 3 : 2;
  const n = data[offset - 1];
  if (!Number.isInteger(n) || n < 0 || data.length < offset + 4 * n) {
    throw new Error(`${truth ? 'ground-truth' : 'vehicle'} frame claims ${n} vehicles but holds ${(data.length - offset) / 4}`);
  }
  return { t: data[0], n, data, offset, truth };
}

export type CompareExportKind = 'csv' | 'report';
const COMPARE_EXPORT_PATH: Record<CompareExportKind, string> = { csv: 'export.csv', report: 'report.html' };

/** Close code of a live stream whose token was revoked (packages/server/src/api/live.ts). */
const LIVE_CLOSE_UNAUTHORIZED = 4401;

const q = (params: Record<string, number | string | undefined>): string => {
  const s = Object.entries(params)
    .filter(([, v]) => (typeof v === 'number' ? Number.isFinite(v) : v !== undefined))
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
  return s ? `?${s}` : '';
};
const enc = encodeURIComponent;

export class HttpApi implements CityApi {
  /**
   * `token` is the bearer token, `base` the server origin ('' = the page's own);
   * `onUnauthorized` hears of a 401 (the token was revoked or expired).
   */
  constructor(private readonly token: string, private readonly base = '', private readonly onUnauthorized?: () => void) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.fetchText(method, path, body);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The answer's body as text, with the bearer token (a plain link would not carry it). */
  private async fetchText(method: string, path: string, body?: unknown): Promise<string> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, `${method} ${path}: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 401) this.onUnauthorized?.();
    if (!res.ok) {
      let message = text || res.statusText;
      let code: string | undefined;
      try {
        const j = JSON.parse(text) as { message?: unknown; code?: unknown };
        if (typeof j.message === 'string') message = j.message;
        if (typeof j.code === 'string') code = j.code;
      } catch { /* not JSON: keep the text */ }
      throw new ApiError(res.status, message, code);
    }
    return text;
  }

  me = () => this.request<Me>('GET', '/api/v1/me');
  cluster = () => this.request<ClusterView>('GET', '/api/v1/cluster');
  parkingSites = () => this.request<ParkingSiteView[]>('GET', '/api/v1/parking/sites');
  parkingAvailability = (site: string) => this.request<ParkingBucket[]>('GET', `/api/v1/parking/sites/${enc(site)}/availability`);
  parkingReservations = (query: { site?: string; limit?: number } = {}) => this.request<ParkingReservation[]>('GET', `/api/v1/parking/reservations${q(query)}`);
  network = () => this.request<NetworkView>('GET', '/api/v1/network');
  hubDatasets = () => this.request<HubDataset[]>('GET', '/api/v1/hub/datasets');
  hubDepartments = () => this.request<HubDepartment[]>('GET', '/api/v1/hub/departments');
  hubDataset = (id: string) => this.request<HubDataset>('GET', `/api/v1/hub/datasets/${enc(id)}`);
  hubAccessLog = (id: string, limit?: number) => this.request<HubAuditEntry[]>('GET', `/api/v1/hub/datasets/${enc(id)}/access-log${q({ limit })}`);
  hubQuery = (sql: string) => this.request<HubQueryResult>('POST', '/api/v1/hub/query', { sql, format: 'json' });
  hubQueryCsv = (sql: string) => this.fetchText('POST', '/api/v1/hub/query', { sql, format: 'csv' });
  intersections = () => this.request<IntersectionSummary[]>('GET', '/api/v1/intersections');
  intersection = (id: string) => this.request<IntersectionDetail>('GET', `/api/v1/intersections/${enc(id)}`);
  setIntersectionController = async (id: string, controller: string) => {
    await this.request('PUT', `/api/v1/intersections/${enc(id)}/controller`, { controller });
  };
  setRegionController = async (region: string, controller: string) => {
    await this.request('PUT', `/api/v1/regions/${enc(region)}/controller`, { controller });
  };
  controllers = () => this.request<string[]>('GET', '/api/v1/controllers');
  kpis = (query: { from?: number; to?: number; limit?: number } = {}) => this.request<KpiSample[]>('GET', `/api/v1/kpis${q(query)}`);
  faults = () => this.request<ControllerFault[]>('GET', '/api/v1/faults');
  simulation = () => this.request<SimulationClock>('GET', '/api/v1/simulation');
  setSimulation = (change: { speed?: number; running?: boolean }) => this.request<SimulationClock>('PUT', '/api/v1/simulation', change);
  dispatchEmergency = (from: Point, to: Point) => this.request<EmergencyDispatch>('POST', '/api/v1/emergency', { from, to });
  emergencies = () => this.request<EmergencyVehicle[]>('GET', '/api/v1/emergency');
  cancelEmergency = async (id: string) => {
    await this.request('DELETE', `/api/v1/emergency/${enc(id)}`);
  };
  incidents = (query: { status?: IncidentStatusFilter; limit?: number } = {}) => this.request<Incident[]>('GET', `/api/v1/incidents${q(query)}`);
  acknowledgeIncident = (id: string) => this.request<Incident>('POST', `/api/v1/incidents/${enc(id)}/acknowledge`);
  watchlistAlerts = (query: { status?: 'open' | 'acknowledged' | 'all'; limit?: number } = {}) => this.request<WatchlistAlertRecord[]>('GET', `/api/v1/watchlist/alerts${q(query)}`);
  acknowledgeWatchlistAlert = (id: string) => this.request<WatchlistAlertRecord>('POST', `/api/v1/watchlist/alerts/${enc(id)}/acknowledge`);
  startCompare = (controllers: string[], duration: number) => this.request<{ id: string }>('POST', '/api/v1/compare', { controllers, duration });
  compares = () => this.request<CompareListing[]>('GET', '/api/v1/compare');
  compare = (id: string) => this.request<CompareRun>('GET', `/api/v1/compare/${enc(id)}`);
  compareExport = (id: string, kind: CompareExportKind) => this.fetchText('GET', `/api/v1/compare/${enc(id)}/${COMPARE_EXPORT_PATH[kind]}`);
  compareReplay = (id: string, controller: string, from: number, to: number) =>
    this.request<ReplayFramesResponse>('GET', `/api/v1/compare/${enc(id)}/replay/${enc(controller)}${q({ from, to })}`);

  live(h: LiveHandlers): LiveConnection {
    // browsers cannot set headers on a WebSocket, and a token in the URL would be logged:
    // each (re)connection opens with a single-use ticket that the bearer token buys
    const origin = (this.base || location.origin).replace(/^http/, 'ws');
    let ws: WebSocket | undefined;
    let vehicles = false;
    let truth = false;
    let closed = false;
    let retry = 500;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reconnect = () => {
      // with backoff: the server may be restarting
      timer = setTimeout(() => void open(), (retry = Math.min(retry * 2, 10_000)));
    };
    const open = async () => {
      h.onStatus('connecting');
      let ticket: string;
      try {
        ({ ticket } = await this.request<{ ticket: string }>('POST', '/api/v1/live/ticket'));
      } catch (e) {
        h.onStatus('closed');
        // a 401 has signed out (onUnauthorized): no point in asking again
        if (!closed && !(e instanceof ApiError && e.status === 401)) reconnect();
        return;
      }
      if (closed) return;
      const sock = new WebSocket(`${origin}/api/v1/live?ticket=${enc(ticket)}`);
      ws = sock;
      sock.binaryType = 'arraybuffer';
      sock.onopen = () => {
        retry = 500;
        h.onStatus('open');
        if (vehicles || truth) sock.send(JSON.stringify({ type: 'subscribe', vehicles, truth }));
      };
      sock.onmessage = (ev: MessageEvent<string | ArrayBuffer>) => {
        if (typeof ev.data === 'string') {
          const msg = JSON.parse(ev.data) as LiveState | { type: 'error'; message: string };
          if (msg.type === 'state') h.onState(msg);
          else console.warn('live:', msg.message);
        } else {
          const frame = decodeVehicleFrame(ev.data);
          if (frame.truth) h.onTruth?.(frame);
          else h.onVehicles(frame);
        }
      };
      sock.onclose = (ev) => {
        h.onStatus('closed');
        if (closed) return;
        // the server closes a stream whose token was revoked
        if (ev.code === LIVE_CLOSE_UNAUTHORIZED) return void this.onUnauthorized?.();
        // a refused upgrade does not say why: the next ticket request tells (its 401 signs out)
        reconnect();
      };
    };
    void open();
    return {
      subscribeVehicles(on: boolean) {
        vehicles = on;
        if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'subscribe', vehicles: on }));
      },
      subscribeTruth(on: boolean) {
        if (on === truth) return;
        truth = on;
        if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'subscribe', truth: on }));
      },
      close() {
        closed = true;
        clearTimeout(timer);
        ws?.close();
      },
    };
  }
}
