import type { Network, Scenario } from '@citybrain/engine';
import { ControllerAssignment, DEFAULT_CONTROLLER, EmergencyPriority, SignalSupervisor, controllers, type Controller, type ControllerFault, type GridlockOptions } from '@citybrain/control';
import { VirtualCity, type VirtualCityOptions, type VirtualCityState } from '@citybrain/field';
import { BrainTwin, cityRegions, IncidentDetector, type Region, inProcessPlanSigner, LaneEstimate, ObservedKpis, PlanBoard, type ObservedKpisState, type BrainTwinState, type Event, type IncidentDetectorOptions, type IncidentDetectorState, type PlanSigner, type SignalEvent } from '@citybrain/brain';
import type { HostSources } from './controller-host.js';
import { soon } from './yield.js';
import type { ControllerWorkerInit } from './controller-protocol.js';
import type { KpiSample, PhaseChange } from '../api/contract.js';

export type { KpiSample, PhaseChange } from '../api/contract.js';

export type { Region } from '@citybrain/brain';


export interface CityRuntimeOptions extends VirtualCityOptions {
  /**
   * Whether the brain runs a virtual street in this process (default true:
   * `npm start` is a whole City Brain with nothing else installed). false:
   * the devices are real, or `citybrain field` in another process; their
   * events come in through ingestion (`ingested`) and the plans go out
   * through `plans` (its listeners: MQTT, the HTTP route).
   */
  street?: boolean;
  /**
   * What signs the brain's plans (the server: its Ed25519 brain key); the
   * virtual street's signal controllers obey only plans it verifies.
   * Default: an in-process signer, for a brain and street in one process
   * whose plans never leave it (the browser sandbox, tests).
   */
  planSigner?: PlanSigner;
  /** controller in charge of every intersection at start; default DEFAULT_CONTROLLER (schedule) */
  controller?: string;
  /** the supervisor's gridlock detection (control's core/gridlock.ts): its thresholds, or false for none; default on */
  gridlock?: GridlockOptions | false;
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
   * the form the brain holds plates in (the server: their keyed hash,
   * `storedPlate`): its travel-time matching and the snapshot's unsent events
   * hold no clear plate; default the plate itself
   */
  plateKey?: (plate: string) => string;
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
  /**
   * The intersections (network indices) this brain controls, when not all: a
   * cluster's brain worker (cluster/worker.ts) controls its regions only, and
   * changes the set as it takes regions over or hands them back. The others
   * are not decided (control's ControlEnv.active), not planned and cost no
   * decision time; their signals in the twin stay as they were.
   */
  controlled?: ReadonlySet<number>;
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

/** Simulated seconds between two plans to an intersection whose phase does not change (a change goes at once). */
const PLAN_HEARTBEAT = 1;

/**
 * The City Brain loop: every step the supervisor decides on the brain's twin
 * (safety enforced), its signed plans go to the signal controllers, the twin
 * advances and, when this process runs one, the virtual street too, whose
 * devices report through ingestion like any. Runs in real time or accelerated.
 */
export class CityRuntime {
  /**
   * The virtual street, when this process runs one: the brain reaches it only
   * through device protocols (its events through `admit` and the sink, its
   * signal controllers through plans). Benchmarks and tests score the brain
   * against its ground truth; the brain never reads it.
   */
  readonly street?: VirtualCity;
  /** wall-clock epoch (ms) of the brain's second 0 */
  readonly epochMs: number;
  readonly assignment: ControllerAssignment;
  /** emergency-vehicle priority over whatever controllers are assigned */
  readonly emergency: EmergencyPriority;
  readonly supervisor: SignalSupervisor;
  /** what the devices last reported: lane states and confirmed phases (the controllers' env.observed) */
  readonly estimate: LaneEstimate;
  /**
   * The brain's own twin of the city, kept in step with the devices' reports:
   * what the controllers read and fork, the supervisor sets signals on (its
   * plans then go to the street's signal controllers), and the API shows.
   * The street (`city`) is reached only through device protocols.
   */
  readonly twin: BrainTwin;
  /** lane-blocking incidents detected from the same reports */
  readonly incidents: IncidentDetector;
  /** the KPIs as the devices' events tell them (plate-matched trips, detector queues and speeds, parking sensors) */
  readonly observed: ObservedKpis;
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
  /** false once the server closes: no further batch goes to the sink; the backlog waits in the snapshot */
  private delivering = true;
  /** settles when the batch the sink holds is durable or refused */
  private inFlight: Promise<void> = Promise.resolve();
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
  private readonly listeners = new Set<Listener>();
  /** events dropped nowhere: counted while waiting for the sink to accept them */
  eventsDelivered = 0;
  eventsRetried = 0;
  decisionMs = 0;
  /** why the loop stopped, when an unexpected error stopped it */
  error?: string;
  private readonly onError?: (e: unknown) => void;
  private readonly plateKey?: (plate: string) => string;
  private readonly signer: PlanSigner;
  /**
   * The brain's side of its plans: each signalised intersection's latest
   * signed plan (what MQTT and the HTTP plan route hand out), and in which
   * mode it runs, from what its field controller confirms (kept by the lane
   * estimate): an intersection whose controller runs its local plan is 'local'.
   */
  readonly plans: PlanBoard;
  /** the phase last planned per intersection, and when (simulated s) */
  private readonly planned: Int32Array;
  private readonly plannedAt: Float64Array;
  /** plans the virtual street's controllers refused (a bug when it is not 0) */
  plansRefused = 0;
  /** see CityRuntimeOptions.controlled; undefined: all */
  private readonly controlled?: ReadonlySet<number>;

  constructor(scenario: Scenario, opts: CityRuntimeOptions = {}) {
    this.signer = opts.planSigner ?? inProcessPlanSigner();
    if (opts.street ?? true) this.street = new VirtualCity(scenario, { ...opts, planVerify: this.signer.verify });
    this.epochMs = this.street?.epochMs ?? opts.epochMs ?? Date.now();
    // the brain's twin has its own randomness: it knows the street's neither
    this.twin = new BrainTwin(scenario, { seed: (opts.seed ?? 0) + 1 });
    this.factories = { ...controllers, ...opts.extraControllers };
    this.controlled = opts.controlled;
    this.host = opts.controllerHost?.({ scenario, seed: (opts.seed ?? 0) + 1 }, {
      view: () => ({
        state: this.sim.exportState(), vehicles: this.estimate.vehicles, queue: this.estimate.queue,
        reportedAt: this.estimate.reportedAt, counted: this.estimate.counted, seen: this.estimate.seen, confirmedPhase: this.estimate.confirmedPhase,
      }),
      status: (name) => {
        const st = this.supervisor.status;
        return {
          green: Int32Array.from(st, (s) => s.green),
          greenSince: Float64Array.from(st, (s) => s.greenSince),
          yellowLeft: Int32Array.from(st, (s) => s.yellowLeft),
          inCharge: Uint8Array.from(this.supervisor.env.intersections, (ix) => (this.assignment.controllerOf(ix.intersection) === name && !this.supervisor.fallen.has(ix.intersection) && !this.assignment.blind.has(ix.intersection) && this.controls(ix.intersection) ? 1 : 0)),
        };
      },
    });
    // the assignment makes the hosted ones in the worker (a plug-in of the same name stays a plug-in, in this thread)
    const inAssignment = { ...this.factories };
    const host = this.host;
    for (const name of host ? (opts.hostedControllers ?? host.hosted) : []) {
      if (Object.hasOwn(controllers, name) && inAssignment[name] === controllers[name]) inAssignment[name] = () => host!.controller(name);
    }
    this.assignment = new ControllerAssignment(inAssignment, opts.controller ?? DEFAULT_CONTROLLER);
    // a dispatched ambulance sets off in the street with its AVL unit; the brain's twin drives it along the route it was
    // given, and moves it to where its AVL unit reports it (BrainTwin.observe)
    this.emergency = new EmergencyPriority(this.assignment, {
      addVehicle: (v) => {
        // the twin checks the request first (it has the street's network and the same dispatched vehicles)
        this.twin.addVehicle(v);
        this.street?.addEmergencyVehicle(v);
      },
    });
    this.estimate = new LaneEstimate(this.twin.net);
    this.supervisor = new SignalSupervisor(this.twin.sim, this.emergency, { onFault: (f) => this.faults.push(f), observed: this.estimate, gridlock: opts.gridlock, active: opts.controlled });
    this.requestedSpeed = opts.speed ?? 1;
    this.kpiPeriod = opts.kpiPeriod ?? 10;
    this.kpiHistory = opts.kpiHistory ?? 8640;
    this.sink = opts.sink;
    this.admit = opts.admit;
    this.maxPendingEvents = opts.maxPendingEvents ?? 20000;
    this.maxIngestLagMs = (opts.maxIngestLag ?? 10) * 1000;
    this.onError = opts.onError;
    this.regions = cityRegions(this.twin.net);
    this.observed = new ObservedKpis(this.twin.net, {
      regions: this.regions, epochMs: this.epochMs, samplePeriodSeconds: this.kpiPeriod, estimate: this.estimate,
      // one pairing of a vehicle's plate reads serves the road travel times and the twin's turning counts
      onMovement: (from, to) => this.twin.movement(from, to),
      plateKey: opts.plateKey,
    });
    this.plateKey = opts.plateKey;
    // the confirmations are the lane estimate's (it takes the signal events): the board reads them
    this.plans = new PlanBoard(this.supervisor.env.intersections.map((ix) => ix.id), this.estimate, { watchdog: opts.watchdog, startMs: this.epochMs });
    this.planned = new Int32Array(this.supervisor.env.intersections.length).fill(-1);
    this.plannedAt = new Float64Array(this.supervisor.env.intersections.length).fill(-Infinity);
    this.incidents = new IncidentDetector(this.sim.net, this.supervisor.env.intersections, this.estimate, this.laneGreenSeconds(), (ts) => (ts - this.epochMs) / 1000, opts.incidents);
    for (const ix of this.supervisor.env.intersections) this.phaseLog.set(ix.intersection, [{ t: 0, phase: this.sim.phase(ix.intersection) }]);
  }

  /** Whether this brain controls intersection i (CityRuntimeOptions.controlled). */
  controls(i: number): boolean {
    return this.controlled === undefined || this.controlled.has(i);
  }

  /** The brain's twin: what the API and the dashboard show of the city (the street's ground truth is `city.sim`, for the demo's labelled overlay and benchmarks). */
  get sim() {
    return this.twin.sim;
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
    return this.backlog.length >= this.maxPendingEvents || (oldest !== undefined && this.ts - oldest > this.maxIngestLagMs);
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

  /**
   * For a server closing: stops handing field events to the sink and resolves once the batch it holds has
   * settled (durable and taken in by the brain and the services, or refused back into the backlog), so nothing
   * reaches a store after it closed. What is left in the backlog is in the next snapshot, sent again on restart.
   */
  async holdDelivery(): Promise<void> {
    this.delivering = false;
    await this.inFlight;
  }

  /** Resolves once every field event reported so far is durable and the brain has taken it in (tests, a clean stop). */
  async whenIngested(): Promise<void> {
    if (!this.delivering) throw new Error('field events are no longer delivered: the server is closing');
    while (this.backlog.length > 0 || this.sinkBatch.length > 0) {
      this.flush();
      await new Promise<void>((res) => setTimeout(res, 5));
    }
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Called after every step (for live streams). */
  onStep(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * One step of the whole loop: the brain decides on its twin, its plans go
   * to the street's signal controllers, the street and the twin advance, the
   * street's devices report, and their events go to ingestion.
   */
  async stepOnce(): Promise<void> {
    // a controller just put in charge in the controller worker decides from its first step, as one in this thread does
    const starting = this.host?.starting();
    if (starting) await starting;
    const sim = this.sim;
    // a detector that stopped reporting sees nothing any more: controllers that need the approach are degraded there
    this.estimate.silence(this.ts);
    const t0 = performance.now();
    const pending = this.supervisor.tick();
    if (pending) await pending;
    this.decisionMs = performance.now() - t0;
    this.followLocal();
    this.sendPlans();
    // the street's devices (its signal controllers' confirmations among them) report what happened in its step
    const events = this.street ? this.street.step() : [];
    this.twin.step();
    for (const ix of this.supervisor.env.intersections) {
      const p = sim.phase(ix.intersection);
      const log = this.phaseLog.get(ix.intersection)!;
      if (p !== log.at(-1)!.phase) {
        log.push({ t: sim.time, phase: p });
        if (log.length > 500) log.splice(0, log.length - 500);
      }
    }
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
    this.twin.observe(events, this.ts);
    this.observed.apply(events);
  }

  /**
   * The brain's plans to the signal controllers, signed: the phase each
   * intersection is to show, as the supervisor set it on the twin, sent when
   * it changes and at least every PLAN_HEARTBEAT seconds (the controllers'
   * watchdog hears the brain is alive). They go to the board (MQTT, HTTP)
   * and to the virtual street's controllers, which check them like any.
   */
  private sendPlans(): void {
    const ixs = this.supervisor.env.intersections;
    const t = this.sim.time;
    const ts = this.ts;
    for (let k = 0; k < ixs.length; k++) {
      const ix = ixs[k];
      if (!this.controls(ix.intersection)) continue;
      const phase = this.sim.phase(ix.intersection);
      if (phase === this.planned[k] && t - this.plannedAt[k] < PLAN_HEARTBEAT) continue;
      this.planned[k] = phase;
      this.plannedAt[k] = t;
      const plan = this.signer.sign({ intersection: ix.id, seq: this.plans.nextSeq(ix.id, ts), ts, phase, validFor: this.plans.watchdog });
      this.plans.publish(plan);
      if (this.street && !this.street.receivePlan(plan).accepted) this.plansRefused++;
    }
  }

  /**
   * An intersection whose field controller runs its local plan shows what it
   * confirms, not what the brain plans: the twin follows the confirmation,
   * and the supervisor holds that green from the confirmed moment, so that on
   * the controller's return it starts from what the street shows (the
   * controller itself puts the yellow first). Under the brain again, the twin
   * shows what the supervisor holds. (The board also calls an intersection
   * local when its controller has not confirmed for long; the brain cannot
   * follow what it has not heard, and its plans keep going.)
   */
  private followLocal(): void {
    const ixs = this.supervisor.env.intersections;
    for (let k = 0; k < ixs.length; k++) {
      const ix = ixs[k];
      if (!this.controls(ix.intersection)) continue;
      // only what the controller says counts here: a confirmation delayed (ingestion behind) is no reason to follow a stale phase
      const said = this.plans.confirmation(ix.id);
      const shown = said?.mode === 'local' ? said.phase : -1;
      if (shown < 0) {
        const st = this.supervisor.status[k];
        const held = st.yellowLeft > 0 ? ix.yellow : st.green;
        if (this.sim.phase(ix.intersection) !== held) this.sim.setPhase(ix.intersection, held);
        continue;
      }
      this.sim.setPhase(ix.intersection, shown);
      const s = this.supervisor.status[k];
      if (ix.greens.includes(shown) && (s.green !== shown || s.yellowLeft > 0)) Object.assign(s, { green: shown, greenSince: this.sim.time, yellowLeft: 0 });
    }
  }

  /** Wall-clock timestamp (epoch ms) of the brain's current instant. */
  get ts(): number {
    return this.epochMs + Math.round(this.sim.time * 1000);
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
    const at = this.ts;
    for (const e of events) {
      this.backlog.push(e);
      this.backlogAt.push(at);
    }
    this.flush();
  }

  private flush(): void {
    if (!this.delivering || this.sinkBatch.length > 0 || this.backlog.length === 0 || !this.sink) return;
    // in bounded batches: a device's event committed in the same group waits for the whole batch
    const batch = this.backlog.splice(0, FLUSH_BATCH);
    const batchAt = this.backlogAt.splice(0, FLUSH_BATCH);
    this.sinkBatch = batch;
    this.sinkBatchAt = batchAt[0];
    this.inFlight = this.sink(batch).then(
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

  /** A KPI sample, from the devices' events only (ObservedKpis); the street's ground truth scores it in benchmarks and tests. */
  private sampleKpis(): void {
    this.kpis.push(this.observed.sample(this.ts, { t: this.sim.time, activeIncidents: this.incidents.activeCount }));
    if (this.kpis.length > this.kpiHistory) this.kpis.splice(0, this.kpis.length - this.kpiHistory);
  }

  // ---- persistence: the whole loop's state for a snapshot, and continued from one (see city/persistence.ts)

  /**
   * Everything the brain and its street know, as plain data: the street (when
   * this process runs one) and the brain's twin, the signals as the supervisor
   * holds them, KPI history and the observed KPIs' state, phase log, faults,
   * the lane estimate, incidents, and the field events not yet durable.
   * Controllers are not in it: they start afresh from it.
   */
  exportState(): CityRuntimeState {
    return {
      street: this.street?.exportState(),
      twin: this.twin.exportState(),
      ...structuredClone({
        signals: this.supervisor.status.map((s) => ({ green: s.green, greenSince: s.greenSince, yellowLeft: s.yellowLeft })),
        fallen: [...this.supervisor.fallen], relieved: [...this.supervisor.relieved],
        kpis: this.kpis, phaseLog: [...this.phaseLog], faults: this.faults,
        observed: this.observed.exportState(),
        estimate: {
          vehicles: this.estimate.vehicles, queue: this.estimate.queue, reportedAt: this.estimate.reportedAt, reportedBy: this.estimate.reportedBy,
          counted: this.estimate.counted, countedSlots: this.estimate.countedSlots, confirmations: this.estimate.confirmations,
          arrivals: this.estimate.arrivals, loopQueue: this.estimate.loopQueue, seen: this.estimate.seen,
          silent: this.estimate.silent, interval: this.estimate.interval,
        },
        emergency: this.emergency.exportState(),
        incidents: this.incidents.exportState(),
        // already durable or not, they are sent again: the store keeps an event once
        // (plates keyed: the stored form, which the store takes as the same event)
        pending: [...this.sinkBatch, ...this.backlog].map((e) => (e.kind === 'plate' && this.plateKey ? { ...e, plate: this.plateKey(e.plate) } : e)),
      }),
    };
  }

  /** Continues from exported state of a runtime of the same scenario (before start). */
  importState(s: CityRuntimeState): void {
    const ixs = this.supervisor.env.intersections;
    if (s.signals.length !== ixs.length) throw new RangeError(`city state: ${s.signals.length} signalised intersections, this city has ${ixs.length}`);
    if (!this.street !== !s.street) throw new RangeError(`city state: ${s.street ? 'made with' : 'made without'} a virtual street, this runtime has ${this.street ? 'one' : 'none'}`);
    if (this.street && s.street) this.street.importState(s.street);
    this.twin.importState(s.twin);
    s.signals.forEach((sig, k) => Object.assign(this.supervisor.status[k], sig));
    this.supervisor.fallen.clear();
    for (const i of s.fallen) this.supervisor.fallen.add(i);
    this.supervisor.relieved.clear();
    // absent in state saved before gridlock detection: those intersections run the fixed plan, as they did
    for (const i of s.relieved ?? []) this.supervisor.relieved.add(i);
    this.kpis.splice(0, this.kpis.length, ...s.kpis);
    this.phaseLog.clear();
    for (const [i, log] of s.phaseLog) this.phaseLog.set(i, log);
    this.faults.splice(0, this.faults.length, ...s.faults);
    this.observed.importState(s.observed);
    this.estimate.vehicles.set(s.estimate.vehicles);
    this.estimate.queue.set(s.estimate.queue);
    this.estimate.reportedAt.set(s.estimate.reportedAt);
    this.estimate.reportedBy.splice(0, this.estimate.reportedBy.length, ...s.estimate.reportedBy);
    this.estimate.counted.set(s.estimate.counted);
    this.estimate.countedSlots.set(s.estimate.countedSlots);
    // the confirmations through the one place that takes them
    this.estimate.apply(s.estimate.confirmations.filter((c) => c !== undefined));
    this.estimate.arrivals.set(s.estimate.arrivals);
    this.estimate.loopQueue.set(s.estimate.loopQueue);
    this.estimate.seen.set(s.estimate.seen);
    // absent in state saved before silences were told: none silent, each lane's interval known again at its next report
    if (s.estimate.silent) this.estimate.silent.set(s.estimate.silent);
    if (s.estimate.interval) this.estimate.interval.set(s.estimate.interval);
    this.emergency.importState(s.emergency);
    this.incidents.importState(s.incidents);
    // admitted when they were reported (the snapshot keeps only those): not judged twice
    if (s.pending.length > 0) {
      if (this.sink) this.queue(s.pending);
      else this.ingested(s.pending);
    }
  }
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** A CityRuntime's state as plain data (structured-cloneable; see exportState). */
export interface CityRuntimeState {
  street?: VirtualCityState;
  twin: BrainTwinState;
  signals: { green: number; greenSince: number; yellowLeft: number }[];
  fallen: number[];
  /** of `fallen`, those handed to max-pressure after a gridlock */
  relieved?: number[];
  kpis: KpiSample[];
  phaseLog: [number, PhaseChange[]][];
  faults: ControllerFault[];
  observed: ObservedKpisState;
  estimate: {
    vehicles: Int32Array; queue: Int32Array; reportedAt: Float64Array; reportedBy: (string | undefined)[];
    counted: Float64Array; countedSlots: Uint32Array; confirmations: (SignalEvent | undefined)[]; arrivals: Float64Array; loopQueue: Float64Array; seen: Float64Array;
    silent?: Uint8Array; interval?: Float64Array;
  };
  /** the emergency vehicles with priority (the vehicles themselves are in the twin's state) */
  emergency: ReturnType<EmergencyPriority['exportState']>;
  incidents: IncidentDetectorState;
  pending: Event[];
}
