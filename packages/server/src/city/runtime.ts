import type { Scenario } from '@citybrain/engine';
import { ControllerAssignment, EmergencyPriority, SignalSupervisor, controllers, type Controller, type ControllerFault } from '@citybrain/control';
import { VirtualCity, type VirtualCityOptions, type VirtualCityState } from '@citybrain/field';
import { IncidentDetector, LaneEstimate, estimatedView, type Event, type IncidentDetectorOptions, type IncidentDetectorState } from '@citybrain/brain';
import type { HostSources } from './controller-host.js';
import { soon } from './yield.js';
import type { ControllerWorkerInit } from './controller-protocol.js';
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
  sink?: (events: Event[]) => Promise<unknown>;
  /**
   * The admission of the field devices' events as they report, before they
   * wait for the sink (the server: the ingestion pipeline's validation, network
   * and scope checks, city/field-admission.ts): the events it returns go on,
   * the others are refused (it reports them). Default: all go on.
   */
  admit?: (events: readonly Event[]) => Event[];
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
  /**
   * Where heavy controllers decide off the event loop. The runtime itself is
   * pure (it runs in Node, a worker and the browser): the server passes the
   * Node worker-thread host (controller-host.ts, nodeControllerHost); without
   * one every controller decides in this thread.
   */
  controllerHost?: ControllerHostFactory;
  /** built-in controllers the host runs; default the host's own list (`hosted`), [] for none */
  hostedControllers?: readonly string[];
  /** field events waiting for ingestion beyond which the city waits for it instead of stepping on; default 20000 */
  maxPendingEvents?: number;
  /**
   * simulated seconds a field event may wait for ingestion before the city
   * waits for it instead of stepping on; default 10 (two detector periods).
   * The controllers decide from what ingestion took in: a city far ahead of
   * it is controlled blind (at 1000x with this unbounded, the demo city
   * jammed solid).
   */
  maxIngestLag?: number;
}

/** Wall-clock milliseconds the loop steps before it lets the event loop in (I/O, timers). */
const SLICE_MS = 15;
/** Wall-clock seconds of steps the loop may owe; beyond that it drops them and runs slower than asked (lagging). */
const MAX_LAG_S = 1;
/** Field events handed to ingestion at once, at most. */
const FLUSH_BATCH = 1000;
/** Wall-clock milliseconds over which the achieved speed is measured. */
const SPEED_WINDOW_MS = 5000;

/** Controllers deciding somewhere else than the event loop's thread, behind the ordinary Controller interface. */
export interface ControllerHosting {
  /** the built-in controllers it runs by default */
  readonly hosted: readonly string[];
  /** a controller deciding like the built-in `name` */
  controller(name: string): Controller;
  /** a controller just put in charge that is still starting, for the next step to wait for */
  starting(): Promise<void> | undefined;
  close(): Promise<void>;
}

export type ControllerHostFactory = (init: ControllerWorkerInit, sources: HostSources) => ControllerHosting;

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
  private requestedSpeed: number;
  private readonly kpiPeriod: number;
  private readonly kpiHistory: number;
  private readonly sink?: (events: Event[]) => Promise<unknown>;
  private readonly admit?: (events: readonly Event[]) => Event[];
  private backlog: Event[] = [];
  /** the batch the sink holds now (not yet durable; empty when none): a snapshot keeps it with the backlog */
  private sinkBatch: Event[] = [];
  /**
   * the city's ts when each backlog event was handed over, and when the sink's
   * batch was: how long one has waited (a device's late report carries an old
   * ts, but has not waited for ingestion any longer than the others)
   */
  private backlogAt: number[] = [];
  private sinkBatchAt = 0;
  private readonly maxPendingEvents: number;
  private readonly maxIngestLagMs: number;
  /** cancels the loop's next slice, scheduled as a timer or an immediate */
  private cancelNext?: () => void;
  private running = false;
  /** the loop that runs now; a loop from before a stop/start ends at its next check */
  private loopGen = 0;
  /** the step in progress, which a restarted loop waits for (two ticks must never interleave) */
  private stepping?: Promise<void>;
  private lastWall = 0;
  private stepDebt = 0;
  /** (wall ms, simulated s) once per slice over the last SPEED_WINDOW_MS */
  private readonly progress: { wall: number; sim: number }[] = [];
  /** wall ms the loop last dropped steps it owed */
  private lastDrop = -Infinity;
  private readonly host?: ControllerHosting;
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
    const twinView = opts.laneState === 'twin';
    this.host = opts.controllerHost?.({ scenario, seed: opts.seed ?? 0, laneState: twinView ? 'twin' : 'detectors' }, {
      view: () => ({ state: this.sim.exportState(), ...(twinView ? {} : { vehicles: this.estimate.vehicles, queue: this.estimate.queue }) }),
      status: (name) => {
        const st = this.supervisor.status;
        return {
          green: Int32Array.from(st, (s) => s.green),
          greenSince: Float64Array.from(st, (s) => s.greenSince),
          yellowLeft: Int32Array.from(st, (s) => s.yellowLeft),
          inCharge: Uint8Array.from(this.supervisor.env.intersections, (ix) => (this.assignment.controllerOf(ix.intersection) === name && !this.supervisor.fallen.has(ix.intersection) ? 1 : 0)),
        };
      },
    });
    // the assignment makes the hosted ones in the worker (a plug-in of the same name stays a plug-in, in this thread)
    const inAssignment = { ...this.factories };
    const host = this.host;
    for (const name of host ? (opts.hostedControllers ?? host.hosted) : []) {
      if (Object.hasOwn(controllers, name) && inAssignment[name] === controllers[name]) inAssignment[name] = () => host!.controller(name);
    }
    this.assignment = new ControllerAssignment(inAssignment, opts.controller ?? 'max-pressure');
    this.emergency = new EmergencyPriority(this.assignment);
    this.estimate = new LaneEstimate(this.city.sim.net);
    const view = opts.laneState === 'twin' ? this.city.sim : estimatedView(this.city.sim, this.estimate);
    this.supervisor = new SignalSupervisor(view, this.emergency, {
      onFault: (f) => this.faults.push(f),
    });
    this.requestedSpeed = opts.speed ?? 1;
    this.kpiPeriod = opts.kpiPeriod ?? 10;
    this.kpiHistory = opts.kpiHistory ?? 8640;
    this.sink = opts.sink;
    this.admit = opts.admit;
    this.maxPendingEvents = opts.maxPendingEvents ?? 20000;
    this.maxIngestLagMs = (opts.maxIngestLag ?? 10) * 1000;
    this.onError = opts.onError;
    this.regions = quadrants(this.city);
    this.inLanes = new Map(this.supervisor.env.intersections.map((ix) => [ix.intersection, ix.inLanes]));
    this.incidents = new IncidentDetector(this.sim.net, this.supervisor.env.intersections, this.estimate, this.laneGreenSeconds(), (ts) => (ts - this.city.epochMs) / 1000, opts.incidents);
    for (const ix of this.supervisor.env.intersections) this.phaseLog.set(ix.intersection, [{ t: 0, phase: this.city.sim.phase(ix.intersection) }]);
  }

  get sim() {
    return this.city.sim;
  }

  /**
   * Puts controller `name` in charge of `intersections`; an intersection that
   * had fallen back to its fixed plan is handed to it too. Returns the
   * controllers before, in the same order.
   */
  setController(intersections: readonly number[], name: string): string[] {
    const before = this.assignment.assign(intersections, name);
    for (const i of intersections) if (this.supervisor.fallen.has(i)) this.supervisor.reinstate(i);
    return before;
  }

  /**
   * Starts the loop; returns at once. The loop steps in slices of at most
   * SLICE_MS of wall time and yields to the event loop between them (a
   * macrotask: I/O, timers and shutdown get in); while a hosted controller
   * decides, the event loop is free anyway. It owes steps as wall time passes,
   * at most MAX_LAG_S worth: beyond that it drops them, so a city that cannot
   * keep the requested speed runs slower and says so (`achievedSpeed`,
   * `lagging`) instead of piling up work. It waits for ingestion instead of
   * stepping while `maxPendingEvents` field events wait for it or one has
   * waited `maxIngestLag` simulated seconds.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    const gen = ++this.loopGen;
    const live = () => this.running && this.loopGen === gen;
    this.lastWall = performance.now();
    this.stepDebt = 0;
    this.progress.length = 0;
    const slice = async () => {
      // a step of the loop before a stop/start may still be deciding
      if (this.stepping) await this.stepping;
      const t0 = performance.now();
      this.stepDebt += ((t0 - this.lastWall) / 1000) * this.speed / this.sim.interval;
      this.lastWall = t0;
      // a second's worth of steps plus the one falling due: at 1x the debt reaches a step and a bit before each step
      const maxDebt = (MAX_LAG_S * this.speed) / this.sim.interval + 1;
      if (this.stepDebt > maxDebt) {
        this.stepDebt = maxDebt;
        this.lastDrop = t0;
      }
      while (live() && this.stepDebt >= 1 && performance.now() - t0 < SLICE_MS) {
        // ingestion is behind: nothing accepted is dropped and memory stays bounded, so the city waits
        if (this.ingestionBehind()) {
          this.flush();
          break;
        }
        const step = this.stepOnce();
        this.stepping = step;
        try {
          await step;
        } finally {
          this.stepping = undefined;
        }
        this.stepDebt -= 1;
      }
      this.noteProgress(performance.now());
    };
    const next = () => {
      if (!live()) return;
      slice().then(
        () => {
          if (!live()) return;
          if (this.ingestionBehind()) return this.after(20, next);
          // behind: on at once, after pending I/O; on time: sleep until the next step is due (50 ms at most, so a new speed applies soon)
          if (this.stepDebt >= 1) {
            this.cancelNext = soon(next);
          } else this.after(Math.min(50, Math.max(1, ((1 - this.stepDebt) * this.sim.interval * 1000) / this.speed)), next);
        },
        (e: unknown) => {
          if (this.loopGen !== gen) return;
          this.running = false;
          this.error = e instanceof Error ? e.message : String(e);
          this.onError?.(e);
        },
      );
    };
    this.after(0, next);
  }

  /** Whether the city must wait for ingestion: too many events waiting, or one waiting too long. */
  private ingestionBehind(): boolean {
    const oldest = this.sinkBatch.length > 0 ? this.sinkBatchAt : this.backlogAt[0];
    return this.backlog.length >= this.maxPendingEvents || (oldest !== undefined && this.city.ts - oldest > this.maxIngestLagMs);
  }

  private after(ms: number, fn: () => void): void {
    const h = setTimeout(fn, ms);
    this.cancelNext = () => clearTimeout(h);
  }

  stop(): void {
    this.running = false;
    this.loopGen++;
    this.cancelNext?.();
    this.cancelNext = undefined;
  }

  /** Stops the loop and the controller worker (hosted controllers fail from then on). */
  async close(): Promise<void> {
    this.stop();
    await this.host?.close();
  }

  /** Simulated seconds per wall-clock second asked for. */
  get speed(): number {
    return this.requestedSpeed;
  }

  set speed(x: number) {
    this.requestedSpeed = x;
    // what was achieved at the speed before says nothing of this one
    this.progress.length = 0;
    this.lastDrop = -Infinity;
  }

  /** Simulated seconds per wall-clock second over the last few seconds; the requested speed until a second is measured; 0 while paused. */
  get achievedSpeed(): number {
    return this.running ? (this.measuredSpeed() ?? this.speed) : 0;
  }

  /**
   * Whether the city runs slower than asked: within the last few seconds the
   * loop dropped steps it owed, or it achieved less than 95% of the speed.
   */
  get lagging(): boolean {
    if (!this.running) return false;
    const measured = this.measuredSpeed();
    return performance.now() - this.lastDrop < SPEED_WINDOW_MS || (measured !== undefined && measured < 0.95 * this.speed);
  }

  /** Simulated seconds per wall-clock second over the progress window; undefined under a second of it. */
  private measuredSpeed(): number | undefined {
    const a = this.progress[0];
    const b = this.progress.at(-1);
    if (!a || !b || b.wall - a.wall < 1000) return undefined;
    return Math.round(((b.sim - a.sim) / ((b.wall - a.wall) / 1000)) * 100) / 100;
  }

  private noteProgress(wall: number): void {
    // the clock moves in whole steps while wall time flows: counting the step under way (the debt's fraction) keeps a
    // city on time from measuring, say, 4 steps in 4.6 s as 0.87x and calling itself lagging
    this.progress.push({ wall, sim: this.sim.time + Math.min(this.stepDebt, 1) * this.sim.interval });
    while (this.progress.length > 2 && wall - this.progress[1].wall > SPEED_WINDOW_MS) this.progress.shift();
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
    // a controller just put in charge in the controller worker decides from its first step, as one in this thread does
    const starting = this.host?.starting();
    if (starting) await starting;
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

  /**
   * What the brain learns from durable field events: the lane estimate, then
   * incident detection on top of it, report by report. A batch may hold
   * several reports of a lane (ingestion behind the city): each is judged on
   * the estimate as it stood at that report, not on the batch's last one
   * (which flagged incidents and cleared them within the same batch).
   */
  ingested(events: readonly Event[]): void {
    const one: Event[] = [];
    for (const e of events) {
      one[0] = e;
      this.estimate.apply(one);
      this.incidents.apply(one);
    }
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
  private deliver(reported: Event[]): void {
    const events = this.admit ? this.admit(reported) : reported;
    // without an ingestion pipeline the detectors report straight to the brain
    if (!this.sink) return this.ingested(events);
    this.queue(events);
  }

  private queue(events: readonly Event[]): void {
    const at = this.city.ts;
    for (const e of events) {
      this.backlog.push(e);
      this.backlogAt.push(at);
    }
    this.flush();
  }

  private flush(): void {
    if (this.sinkBatch.length > 0 || this.backlog.length === 0 || !this.sink) return;
    // in bounded batches: a device's event committed in the same group waits for the whole batch
    const batch = this.backlog.splice(0, FLUSH_BATCH);
    const batchAt = this.backlogAt.splice(0, FLUSH_BATCH);
    this.sinkBatch = batch;
    this.sinkBatchAt = batchAt[0];
    this.sink(batch).then(
      () => {
        this.sinkBatch = [];
        this.eventsDelivered += batch.length;
        // what the steps reported meanwhile goes now, not with the next step's events (there may be none: the city paused)
        this.flush();
      },
      () => {
        this.sinkBatch = [];
        this.eventsRetried += batch.length;
        this.backlog = batch.concat(this.backlog);
        this.backlogAt = batchAt.concat(this.backlogAt);
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
        estimate: { vehicles: this.estimate.vehicles, queue: this.estimate.queue, reportedAt: this.estimate.reportedAt, reportedBy: this.estimate.reportedBy, arrivals: this.estimate.arrivals, loopQueue: this.estimate.loopQueue },
        emergency: this.emergency.exportState(),
        incidents: this.incidents.exportState(),
        // already durable or not, they are sent again: the store keeps an event once
        pending: [...this.sinkBatch, ...this.backlog],
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
    this.estimate.reportedBy.splice(0, this.estimate.reportedBy.length, ...s.estimate.reportedBy);
    if (s.estimate.arrivals) this.estimate.arrivals.set(s.estimate.arrivals);
    if (s.estimate.loopQueue) this.estimate.loopQueue.set(s.estimate.loopQueue);
    this.emergency.importState(s.emergency);
    this.incidents.importState(s.incidents);
    // admitted when they were reported (the snapshot keeps only those): not judged twice
    if (s.pending.length > 0) {
      if (this.sink) this.queue(s.pending);
      else this.ingested(s.pending);
    }
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
  /** (arrivals and loopQueue: absent in a snapshot from before the loop detectors' model) */
  estimate: { vehicles: Int32Array; queue: Int32Array; reportedAt: Float64Array; reportedBy: (string | undefined)[]; arrivals?: Float64Array; loopQueue?: Float64Array };
  /** the emergency vehicles with priority (the vehicles themselves are in the twin's state) */
  emergency: ReturnType<EmergencyPriority['exportState']>;
  incidents: IncidentDetectorState;
  pending: Event[];
}
