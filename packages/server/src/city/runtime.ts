import type { Scenario } from '@citybrain/engine';
import { ControllerAssignment, EmergencyPriority, SignalSupervisor, controllers, type Controller, type ControllerFault } from '@citybrain/control';
import { VirtualCity, type FieldEvent, type VirtualCityOptions, type VirtualCityState } from './virtual-city.js';
import { LaneEstimate, estimatedView } from './lane-estimate.js';
import { IncidentDetector, type IncidentDetectorOptions, type IncidentDetectorState } from './incidents.js';
import type { Event } from '../events.js';
import type { KpiSample, PhaseChange } from '../api/contract.js';

export type { KpiSample, PhaseChange } from '../api/contract.js';

export interface Region {
  id: string;
  intersections: number[];
}


export interface CityRuntimeOptions extends VirtualCityOptions {
  /** controller in charge of every intersection at start; default max-pressure */
  controller?: string;
  /** simulated seconds per wall-clock second; default 1 (real time) */
  speed?: number;
  /** seconds between KPI samples; default 10 */
  kpiPeriod?: number;
  /** KPI samples kept in memory; default 8640 (a day at 10 s) */
  kpiHistory?: number;
  /** where the field devices' events go (the ingestion pipeline); may apply backpressure by rejecting */
  sink?: (events: FieldEvent[]) => Promise<unknown>;
  /** extra controllers on top of the registry (third-party plug-ins) */
  extraControllers?: Record<string, () => Controller>;
  /** told when the loop stops on an unexpected error (the server logs it; the API stays up) */
  onError?: (e: unknown) => void;
  /**
   * What the controllers know of the lanes: 'detectors' (default), the
   * estimate built from the lane events field devices report (fed by
   * `ingested`, e.g. from ingestion); or 'twin', the twin's own state
   * (perfect observation, for what-if studies).
   */
  laneState?: 'detectors' | 'twin';
  /** the automatic incident detection's settings */
  incidents?: IncidentDetectorOptions;
}

type Listener = (rt: CityRuntime) => void;

/**
 * The City Brain loop over a virtual city: every step the supervisor decides
 * the signal plans (safety enforced), the street advances, field devices
 * report, and their events go to ingestion. Runs in real time or accelerated.
 */
export class CityRuntime {
  readonly city: VirtualCity;
  readonly assignment: ControllerAssignment;
  /** emergency-vehicle priority over whatever controllers are assigned */
  readonly emergency: EmergencyPriority;
  readonly supervisor: SignalSupervisor;
  /** lane states estimated from detector reports */
  readonly estimate: LaneEstimate;
  /** lane-blocking incidents detected from the same reports */
  readonly incidents: IncidentDetector;
  readonly regions: Region[];
  readonly kpis: KpiSample[] = [];
  readonly phaseLog = new Map<number, PhaseChange[]>();
  readonly faults: ControllerFault[] = [];
  readonly factories: Record<string, () => Controller>;
  speed: number;
  private readonly kpiPeriod: number;
  private readonly kpiHistory: number;
  private readonly sink?: (events: FieldEvent[]) => Promise<unknown>;
  private backlog: FieldEvent[] = [];
  /** the batch the sink holds now (not yet durable): a snapshot keeps it with the backlog */
  private inflight: FieldEvent[] = [];
  private flushing = false;
  private timer?: ReturnType<typeof setTimeout>;
  private running = false;
  private lastWall = 0;
  private stepDebt = 0;
  private lastDelay = 0;
  private vehicleSeconds = 0;
  private lastFinished = 0;
  private readonly listeners = new Set<Listener>();
  private readonly stats = new Float64Array(4);
  /** incoming lanes per signalised intersection, as the supervisor derived them */
  private readonly inLanes: Map<number, number[]>;
  /** events dropped nowhere: counted while waiting for the sink to accept them */
  eventsDelivered = 0;
  eventsRetried = 0;
  decisionMs = 0;
  /** why the loop stopped, when an unexpected error stopped it */
  error?: string;
  private readonly onError?: (e: unknown) => void;

  constructor(scenario: Scenario, opts: CityRuntimeOptions = {}) {
    this.city = new VirtualCity(scenario, opts);
    this.factories = { ...controllers, ...opts.extraControllers };
    this.assignment = new ControllerAssignment(this.factories, opts.controller ?? 'max-pressure');
    this.emergency = new EmergencyPriority(this.assignment);
    this.estimate = new LaneEstimate(this.city.sim.net);
    const view = opts.laneState === 'twin' ? this.city.sim : estimatedView(this.city.sim, this.estimate);
    this.supervisor = new SignalSupervisor(view, this.emergency, {
      onFault: (f) => this.faults.push(f),
    });
    this.speed = opts.speed ?? 1;
    this.kpiPeriod = opts.kpiPeriod ?? 10;
    this.kpiHistory = opts.kpiHistory ?? 8640;
    this.sink = opts.sink;
    this.onError = opts.onError;
    this.regions = quadrants(this.city);
    this.inLanes = new Map(this.supervisor.env.intersections.map((ix) => [ix.intersection, ix.inLanes]));
    this.incidents = new IncidentDetector(this.sim.net, this.supervisor.env.intersections, this.estimate, this.laneGreenSeconds(), (ts) => (ts - this.city.epochMs) / 1000, opts.incidents);
    for (const ix of this.supervisor.env.intersections) this.phaseLog.set(ix.intersection, [{ t: 0, phase: this.city.sim.phase(ix.intersection) }]);
  }

  get sim() {
    return this.city.sim;
  }

  /** Starts the loop; returns at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastWall = performance.now();
    const loop = () => {
      if (!this.running) return;
      const now = performance.now();
      this.stepDebt += ((now - this.lastWall) / 1000) * this.speed / this.sim.interval;
      this.lastWall = now;
      // catch up in bounded chunks so a slow tick never freezes the server
      let budget = 2000;
      const work = async () => {
        while (this.stepDebt >= 1 && budget-- > 0 && this.running) {
          await this.stepOnce();
          this.stepDebt -= 1;
        }
        if (this.stepDebt > 50) this.stepDebt = 50;
      };
      work().then(
        () => {
          if (this.running) this.timer = setTimeout(loop, 20);
        },
        (e: unknown) => {
          this.running = false;
          this.error = e instanceof Error ? e.message : String(e);
          this.onError?.(e);
        },
      );
    };
    this.timer = setTimeout(loop, 0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  /** field events waiting for ingestion to accept them (backpressure) */
  get pendingEvents(): number {
    return this.backlog.length;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Called after every step (for live streams). */
  onStep(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One step of the whole loop: decide, advance the street, report, ingest. */
  async stepOnce(): Promise<void> {
    const sim = this.sim;
    const before = this.supervisor.env.intersections.map((ix) => sim.phase(ix.intersection));
    const t0 = performance.now();
    const pending = this.supervisor.tick();
    if (pending) await pending;
    this.decisionMs = performance.now() - t0;
    const events = this.city.step();
    this.supervisor.env.intersections.forEach((ix, k) => {
      const p = sim.phase(ix.intersection);
      if (p !== before[k]) {
        const log = this.phaseLog.get(ix.intersection)!;
        log.push({ t: sim.time, phase: p });
        if (log.length > 500) log.splice(0, log.length - 500);
        events.push(this.city.signalReport(ix.intersection));
      }
    });
    this.vehicleSeconds += sim.runningCount * sim.interval;
    if (Math.round(sim.time / sim.interval) % Math.round(this.kpiPeriod / sim.interval) === 0) this.sampleKpis();
    if (events.length > 0) this.deliver(events);
    for (const fn of this.listeners) fn(this);
  }

  /** What the brain learns from durable field events: the lane estimate, then incident detection on top of it. */
  ingested(events: readonly Event[]): void {
    this.estimate.apply(events);
    this.incidents.apply(events);
  }

  /**
   * Seconds of green for a lane between two simulated instants, from the
   * phases the brain had its intersection show (the phase log): green when
   * every movement from the lane is.
   */
  private laneGreenSeconds(): (lane: number, t0: number, t1: number) => number {
    const net = this.sim.net;
    const phasesOf: (number[] | undefined)[] = new Array(net.nLanes);
    for (const ix of this.supervisor.env.intersections) {
      const links = new Map<number, Set<number>>();
      for (const p of ix.greens) for (const m of ix.movements[p]) for (const l of m.inLanes) (links.get(l) ?? links.set(l, new Set()).get(l)!).add(m.roadLink);
      for (const [l, all] of links) {
        phasesOf[l] = ix.greens.filter((p) => [...all].every((rl) => ix.movements[p].some((m) => m.roadLink === rl)));
      }
    }
    const dt = this.sim.interval;
    return (lane, t0, t1) => {
      const phases = phasesOf[lane];
      const log = this.phaseLog.get(net.roadEndInter[net.laneRoad[lane]]);
      if (!phases || !log) return 0;
      let green = 0;
      let end = t1;
      // an entry logged at t shows from the step that ended at t, i.e. from t - dt
      for (let k = log.length - 1; k >= 0 && end > t0; k--) {
        const start = Math.max(t0, log[k].t - dt);
        if (start < end && phases.includes(log[k].phase)) green += end - start;
        end = Math.min(end, start);
      }
      return green;
    };
  }

  /** Hands events to the sink; a rejection (backpressure) keeps them for the next try, so nothing is lost. */
  private deliver(events: FieldEvent[]): void {
    // without an ingestion pipeline the detectors report straight to the brain
    if (!this.sink) return this.ingested(events as unknown as Event[]);
    for (const e of events) this.backlog.push(e);
    this.flush();
  }

  private flush(): void {
    if (this.flushing || this.backlog.length === 0 || !this.sink) return;
    this.flushing = true;
    const batch = this.backlog;
    this.backlog = [];
    this.inflight = batch;
    this.sink(batch).then(
      () => {
        this.inflight = [];
        this.eventsDelivered += batch.length;
        this.flushing = false;
        // what the steps reported meanwhile goes now, not with the next step's events (there may be none: the city paused)
        this.flush();
      },
      () => {
        this.inflight = [];
        this.eventsRetried += batch.length;
        this.backlog = batch.concat(this.backlog);
        this.flushing = false;
      },
    );
  }

  private sampleKpis(): void {
    const sim = this.sim;
    const m = sim.metrics();
    const delay = m.totalDelay - this.lastDelay;
    const vs = this.vehicleSeconds;
    this.lastDelay = m.totalDelay;
    this.vehicleSeconds = 0;
    const finished = m.finishedVehicles - this.lastFinished;
    this.lastFinished = m.finishedVehicles;
    const regions: KpiSample['regions'] = {};
    for (const r of this.regions) regions[r.id] = this.regionStats(r);
    const bays = this.city.bays;
    const sample: KpiSample = {
      t: m.time,
      ts: this.city.ts,
      averageTravelTime: round(m.averageTravelTime, 1),
      vehiclesInNetwork: m.vehiclesInNetwork,
      finishedVehicles: m.finishedVehicles,
      throughput: Math.round((finished / this.kpiPeriod) * 3600),
      queued: m.queuedVehicles,
      congestionIndex: vs > delay && vs > 0 ? round(vs / (vs - delay), 3) : 1,
      parkingOccupancy: bays.length ? round(bays.filter((b) => b.occupied).length / bays.length, 3) : 0,
      activeIncidents: this.incidents.activeCount,
      regions,
    };
    this.kpis.push(sample);
    if (this.kpis.length > this.kpiHistory) this.kpis.splice(0, this.kpis.length - this.kpiHistory);
  }

  /**
   * A region's figures from its approach lanes: vehicles, queued vehicles,
   * mean speed, and the congestion index (free-flow speed over actual speed
   * of the vehicles there, so 1 is free flow, 2 twice the free-flow travel time; capped at 10).
   */
  regionStats(r: Region): { queued: number; vehicles: number; meanSpeed: number; congestionIndex: number } {
    let queued = 0, vehicles = 0, speed = 0, free = 0;
    const net = this.sim.net;
    for (const i of r.intersections) {
      for (const lane of this.inLanes.get(i) ?? []) {
        this.sim.laneStats(lane, this.stats);
        vehicles += this.stats[0];
        queued += this.stats[1];
        speed += this.stats[2] * this.stats[0];
        free += net.maxSpeed[lane] * this.stats[0];
      }
    }
    return {
      queued, vehicles, meanSpeed: vehicles ? round(speed / vehicles, 2) : 0,
      congestionIndex: vehicles ? round(Math.min(10, free / Math.max(speed, free / 10)), 3) : 1,
    };
  }

  // ---- persistence: the whole loop's state for a snapshot, and continued from one (see city/persistence.ts)

  /**
   * Everything the brain and its street know, as plain data: the twin and its
   * field devices, the signals as the supervisor holds them, KPI history,
   * phase log, faults, the lane estimate, incidents, and the field events not
   * yet durable. Controllers are not in it: they start afresh from it.
   */
  exportState(): CityRuntimeState {
    return {
      city: this.city.exportState(),
      ...structuredClone({
        signals: this.supervisor.status.map((s) => ({ green: s.green, greenSince: s.greenSince, yellowLeft: s.yellowLeft })),
        fallen: [...this.supervisor.fallen],
        kpis: this.kpis, phaseLog: [...this.phaseLog], faults: this.faults,
        counters: { lastDelay: this.lastDelay, vehicleSeconds: this.vehicleSeconds, lastFinished: this.lastFinished },
        estimate: { vehicles: this.estimate.vehicles, queue: this.estimate.queue, reportedAt: this.estimate.reportedAt },
        incidents: this.incidents.exportState(),
        // already durable or not, they are sent again: the store keeps an event once
        pending: [...this.inflight, ...this.backlog],
      }),
    };
  }

  /** Continues from exported state of a runtime of the same scenario (before start). */
  importState(s: CityRuntimeState): void {
    const ixs = this.supervisor.env.intersections;
    if (s.signals.length !== ixs.length) throw new RangeError(`city state: ${s.signals.length} signalised intersections, this city has ${ixs.length}`);
    this.city.importState(s.city);
    s.signals.forEach((sig, k) => Object.assign(this.supervisor.status[k], sig));
    this.supervisor.fallen.clear();
    for (const i of s.fallen) this.supervisor.fallen.add(i);
    this.kpis.splice(0, this.kpis.length, ...s.kpis);
    this.phaseLog.clear();
    for (const [i, log] of s.phaseLog) this.phaseLog.set(i, log);
    this.faults.splice(0, this.faults.length, ...s.faults);
    ({ lastDelay: this.lastDelay, vehicleSeconds: this.vehicleSeconds, lastFinished: this.lastFinished } = s.counters);
    this.estimate.vehicles.set(s.estimate.vehicles);
    this.estimate.queue.set(s.estimate.queue);
    this.estimate.reportedAt.set(s.estimate.reportedAt);
    this.incidents.importState(s.incidents);
    if (s.pending.length > 0) this.deliver(s.pending);
  }
}

/** Regions by default: the signalised intersections split into four quadrants around the median point. */
function quadrants(city: VirtualCity): Region[] {
  const net = city.sim.net;
  const sig = [...net.signalised];
  if (sig.length < 4) return [{ id: 'city', intersections: sig }];
  const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mx = med(sig.map((i) => net.interX[i]));
  const my = med(sig.map((i) => net.interY[i]));
  const names = ['south-west', 'south-east', 'north-west', 'north-east'];
  const groups: number[][] = [[], [], [], []];
  for (const i of sig) groups[(net.interX[i] >= mx ? 1 : 0) + (net.interY[i] >= my ? 2 : 0)].push(i);
  return groups.map((g, k) => ({ id: names[k], intersections: g })).filter((r) => r.intersections.length > 0);
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** A CityRuntime's state as plain data (structured-cloneable; see exportState). */
export interface CityRuntimeState {
  city: VirtualCityState;
  signals: { green: number; greenSince: number; yellowLeft: number }[];
  fallen: number[];
  kpis: KpiSample[];
  phaseLog: [number, PhaseChange[]][];
  faults: ControllerFault[];
  counters: { lastDelay: number; vehicleSeconds: number; lastFinished: number };
  estimate: { vehicles: Int32Array; queue: Int32Array; reportedAt: Float64Array };
  incidents: IncidentDetectorState;
  pending: FieldEvent[];
}
