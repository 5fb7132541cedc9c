/**
 * The virtual street as its own process (`citybrain field`), transport aside:
 * the street steps in real time (or `speed` times it), each of its devices
 * sends what it reported, in order, as its own batches, and the brain's plans
 * go to its signal controllers. The transports (http.ts, mqtt.ts) only move
 * batches and plans; this loop holds the rules: one batch in flight per
 * device, at most `concurrency` in all, a batch the server could not take now
 * sent again unchanged until it is taken, and a bounded backlog.
 */
import type { RandomKind, Scenario } from '@citybrain/engine';
import type { Event, Plan } from '@citybrain/brain';
import { VirtualCity, type ParkingApp, type ParkingDrivers, type PlanRefusal, type SensingOptions, type SensingPreset } from '@citybrain/field';

/** The server cannot take a batch now (429, 503, a network error, the broker away): send the same batch again after `retryAfterMs` (default: backoff). */
export class RetryLater extends Error {
  override readonly name = 'RetryLater';
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** The server will never take this batch (400, 401, 403, 409, 413): it is dropped, logged and counted. */
export class BatchRefused extends Error {
  override readonly name = 'BatchRefused';
}

export interface FieldTransport {
  /** 'HTTP http://...' or 'MQTT mqtt://...', for the log */
  readonly name: string;
  /** Sends one device's batch under its token; resolves once the server (HTTP) or the broker (MQTT PUBACK) took it; throws RetryLater or BatchRefused. */
  send(device: string, events: readonly Event[]): Promise<void>;
  /** Starts handing the brain's plans (as received: checked by the controllers) to `onPlan`. */
  startPlans(onPlan: (plan: unknown) => void): void | Promise<void>;
  close(): Promise<void>;
}

export interface FieldLoopOptions {
  scenario: Scenario;
  transport: FieldTransport;
  /** whether a plan is the brain's (planVerifier of the brain's public key) */
  verify: (plan: Plan) => boolean;
  seed?: number;
  /** the street's random stream (SimulationOptions.random); default 'xoshiro' */
  random?: RandomKind;
  /** simulated seconds per wall-clock second; default 1 */
  speed?: number;
  /** the signal controllers' watchdog, seconds; default 10 */
  watchdog?: number;
  /** the street's devices (README "Sensing"); default 'default' */
  sensing?: SensingOptions | SensingPreset;
  /** drivers who reserve ahead through this app (the brain's API as an app: parking-app.ts); default none */
  parking?: { app: ParkingApp; bookingsPerHour?: number };
  /**
   * 'wall' (default): the street's clock is the wall clock, as a real
   * device's (NTP). 'brain': it starts at the first genuine plan's ts, the
   * brain's clock: a street faster than real time keeps time with a brain as
   * fast, also when it is restarted mid-run.
   */
  clock?: 'wall' | 'brain';
  /** how long start() waits for the brain's first plan with clock 'brain', ms; default 15000 */
  clockWaitMs?: number;
  /** batches in flight at once, all devices together; default 16 */
  concurrency?: number;
  /** events per batch at most; default 1000 */
  maxBatch?: number;
  /** events waiting to be sent beyond which the oldest are dropped (a device's buffer); default 100000 */
  maxBacklog?: number;
  /** wall ms between status lines; default 10000 */
  statusEveryMs?: number;
  log?: (line: string) => void;
}

export interface FieldStats {
  /** events the server (or broker) took */
  sent: number;
  /** events waiting, in flight included */
  backlog: number;
  /** events dropped because the backlog was full */
  dropped: number;
  /** events in batches the server refused for good */
  refused: number;
  plansAccepted: number;
  plansRefused: number;
  plansRefusedBy: Record<PlanRefusal, number>;
}

/** Wall ms the stepping runs before it lets I/O in. */
const SLICE_MS = 15;
/** Wall seconds of steps the street may owe; beyond, it drops them and runs slower than asked. */
const MAX_LAG_S = 1;

export class FieldLoop {
  private streetNow: VirtualCity;
  readonly speed: number;
  readonly stats: FieldStats = { sent: 0, backlog: 0, dropped: 0, refused: 0, plansAccepted: 0, plansRefused: 0, plansRefusedBy: { invalid: 0, forged: 0, intersection: 0, phase: 0, replay: 0 } };
  private readonly transport: FieldTransport;
  private readonly concurrency: number;
  private readonly maxBatch: number;
  private readonly maxBacklog: number;
  private readonly log: (line: string) => void;
  /** per device, the events not yet in flight, oldest first */
  private readonly pending = new Map<string, Event[]>();
  /** per device, the batch in flight (sent again as it is until taken) */
  private readonly inFlight = new Map<string, Event[]>();
  /** devices with pending events and none in flight, in turn */
  private readonly ready: string[] = [];
  private readonly isReady = new Set<string>();
  private sending = 0;
  private away?: string;
  private overflowing = false;
  private running = false;
  /** stopped: batches still retrying give up */
  private closed = false;
  private timer?: ReturnType<typeof setTimeout>;
  private statusTimer?: ReturnType<typeof setInterval>;
  private wallStart = 0;
  private simStart = 0;
  private drained?: () => void;
  private readonly opts: FieldLoopOptions;
  private parkingDrivers?: ParkingDrivers;

  constructor(opts: FieldLoopOptions) {
    this.opts = opts;
    this.speed = opts.speed ?? 1;
    if (!(this.speed > 0 && Number.isFinite(this.speed))) throw new RangeError(`field: speed must be > 0, got ${opts.speed}`);
    this.concurrency = opts.concurrency ?? 16;
    this.maxBatch = opts.maxBatch ?? 1000;
    this.maxBacklog = opts.maxBacklog ?? 100_000;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) throw new RangeError(`field: concurrency must be a whole number >= 1, got ${opts.concurrency}`);
    if (!(Number.isInteger(this.maxBatch) && this.maxBatch >= 1 && this.maxBatch <= 10_000)) throw new RangeError(`field: maxBatch must be a whole number from 1 to 10000 (the server's limit), got ${opts.maxBatch}`);
    if (!(this.maxBacklog >= this.maxBatch)) throw new RangeError(`field: maxBacklog must be >= maxBatch (${this.maxBatch}), got ${opts.maxBacklog}`);
    this.transport = opts.transport;
    this.log = opts.log ?? (() => {});
    this.streetNow = this.newStreet(Date.now());
  }

  /** The virtual street (a new one once start() synchronised it with the brain's clock). */
  get street(): VirtualCity {
    return this.streetNow;
  }

  /** Signal controllers running their local plan now. */
  get localIntersections(): number {
    return this.streetNow.signals.controllers.filter((c) => c.mode === 'local').length;
  }

  private newStreet(epochMs: number): VirtualCity {
    const street = new VirtualCity(this.opts.scenario, { seed: this.opts.seed, random: this.opts.random, epochMs, watchdog: this.opts.watchdog, planVerify: this.opts.verify, sensing: this.opts.sensing });
    const p = this.opts.parking;
    if (p) this.parkingDrivers = street.useParkingApp(p.app, { bookingsPerHour: p.bookingsPerHour });
    return street;
  }

  /** The street's drivers who reserve ahead (their stats), when it has a parking app. */
  get drivers(): ParkingDrivers | undefined {
    return this.parkingDrivers;
  }

  /**
   * Starts: plans in, then the street's clock (with clock 'brain', once the
   * first genuine plan came: a RangeError when none came in clockWaitMs), the
   * stepping and the status lines.
   */
  async start(): Promise<void> {
    if (this.running) return;
    let first: Plan | undefined;
    let synced!: () => void;
    const sync = new Promise<void>((r) => (synced = r));
    const brainClock = this.opts.clock === 'brain';
    await this.transport.startPlans((plan) => {
      if (brainClock && !first) {
        // the clock is taken only from a plan that verifies: anyone else could set it anywhere
        if (!isVerified(plan, this.opts.verify)) return void this.receive(plan);
        first = plan as Plan;
        this.streetNow = this.newStreet(first.ts);
        synced();
      }
      this.receive(plan);
    });
    if (brainClock) {
      const wait = this.opts.clockWaitMs ?? 15_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([sync.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), wait)))]);
      clearTimeout(timer);
      if (timedOut) throw new RangeError(`field: no plan from the brain within ${wait / 1000} s to take its clock from (is the server running, and sending plans?)`);
      this.log(`field: the street's clock follows the brain's (its first plan: ${new Date(first!.ts).toISOString()})`);
    }
    // on the wall clock, second 0 is now (not when the loop was made: the key fetch, the broker took time)
    if (!brainClock && this.streetNow.time === 0) this.streetNow = this.newStreet(Date.now());
    this.running = true;
    this.wallStart = performance.now();
    this.simStart = this.streetNow.time;
    this.schedule(0);
    const every = this.opts.statusEveryMs ?? 10_000;
    this.statusTimer = setInterval(() => this.log(this.status()), every);
    this.statusTimer.unref?.();
  }

  /** One status line: the street's time, events, plans, local intersections. */
  status(): string {
    const s = this.stats;
    const n = this.streetNow.signals.controllers.length;
    const d = this.parkingDrivers?.stats;
    const parking = d ? `; parking bookings ${d.asked}, booked ${d.booked}, none free ${d.refused}, failed ${d.failed}, arrived ${d.arrived}` : '';
    return `field: ${this.streetNow.time.toFixed(0)} s simulated; events sent ${s.sent}, backlog ${s.backlog}${s.dropped ? `, dropped ${s.dropped}` : ''}${s.refused ? `, refused ${s.refused}` : ''}; plans accepted ${s.plansAccepted}, refused ${s.plansRefused}; intersections local ${this.localIntersections}/${n}${parking}`;
  }

  /** A plan message arrives (from the transport, or injected): to the street's controllers; a refusal is logged and counted. */
  receive(plan: unknown): void {
    const v = this.streetNow.receivePlan(plan);
    if (v.accepted) {
      this.stats.plansAccepted++;
      return;
    }
    this.stats.plansRefused++;
    this.stats.plansRefusedBy[v.reason]++;
    this.log(`field: plan refused (${v.reason}): ${v.message}`);
  }

  /** Steps the street once and queues what its devices reported (the stepping calls it; tests may too). */
  stepOnce(): void {
    const events = this.streetNow.step();
    for (const e of events) {
      let q = this.pending.get(e.device);
      if (!q) this.pending.set(e.device, (q = []));
      q.push(e);
      if (!this.isReady.has(e.device) && !this.inFlight.has(e.device)) {
        this.isReady.add(e.device);
        this.ready.push(e.device);
      }
    }
    this.stats.backlog += events.length;
    if (this.stats.backlog > this.maxBacklog) this.shed();
    this.pump();
  }

  /**
   * Stops stepping, sends what it can within `graceMs`, then closes the
   * transport. Resolves with the events not sent (logged).
   */
  async stop(graceMs = 5000): Promise<{ unsent: number }> {
    this.running = false;
    clearTimeout(this.timer);
    clearInterval(this.statusTimer);
    if (this.stats.backlog > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise<void>((r) => (this.drained = r)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    const unsent = this.stats.backlog;
    this.log(unsent === 0 ? `field: stopped; every event sent (${this.stats.sent})` : `field: stopped; ${unsent} events not sent within ${graceMs / 1000} s (the server did not take them)`);
    this.closed = true;
    this.clear();
    await this.transport.close();
    return { unsent };
  }

  private clear(): void {
    this.pending.clear();
    this.ready.length = 0;
    this.isReady.clear();
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => this.tick(), ms);
  }

  /** Steps the street up to where the wall clock says it should be (at most SLICE_MS at once). */
  private tick(): void {
    if (!this.running) return;
    const t0 = performance.now();
    const interval = this.streetNow.sim.interval;
    let target = this.simStart + ((t0 - this.wallStart) / 1000) * this.speed;
    if (target - this.streetNow.time > MAX_LAG_S * this.speed + interval) {
      // too far behind (a slow machine, a busy process): drop the debt, run slower than asked
      this.wallStart = t0;
      this.simStart = this.streetNow.time;
      target = this.simStart;
    }
    while (this.streetNow.time + interval <= target + 1e-9 && performance.now() - t0 < SLICE_MS) this.stepOnce();
    const behind = this.streetNow.time + interval <= target + 1e-9;
    this.schedule(behind ? 0 : Math.max(1, ((this.streetNow.time + interval - target) / this.speed) * 1000));
  }

  /** The backlog is full (the server away for long): the oldest waiting events go, those in flight stay (the server may take them yet). */
  private shed(): void {
    let over = this.stats.backlog - this.maxBacklog;
    if (!this.overflowing) this.log(`field: backlog full (${this.maxBacklog} events waiting${this.away ? `, server away: ${this.away}` : ''}); dropping the oldest reports until it drains`);
    this.overflowing = true;
    while (over > 0) {
      let longest: Event[] | undefined;
      for (const q of this.pending.values()) if (!longest || q.length > longest.length) longest = q;
      if (!longest || longest.length === 0) break;
      const n = Math.min(over, Math.max(1, longest.length >> 1));
      longest.splice(0, n);
      over -= n;
      this.stats.backlog -= n;
      this.stats.dropped += n;
    }
  }

  /** Starts batches while there is room: the next device in turn with events and none in flight. */
  private pump(): void {
    while (this.sending < this.concurrency && this.ready.length > 0) {
      const device = this.ready.shift()!;
      this.isReady.delete(device);
      const q = this.pending.get(device);
      if (!q || q.length === 0) continue;
      const batch = q.splice(0, this.maxBatch);
      this.inFlight.set(device, batch);
      this.sending++;
      void this.deliver(device, batch);
    }
  }

  /** Sends one batch until it is taken (or refused for good), the same batch each time. */
  private async deliver(device: string, batch: Event[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) return;
      try {
        await this.transport.send(device, batch);
        this.stats.sent += batch.length;
        if (this.away !== undefined) this.log(`field: the server takes events again (backlog ${this.stats.backlog - batch.length})`);
        this.away = undefined;
        break;
      } catch (e) {
        if (e instanceof BatchRefused) {
          this.stats.refused += batch.length;
          this.log(`field: ${device}: batch of ${batch.length} events refused: ${e.message}`);
          break;
        }
        const why = (e as Error).message;
        if (this.away === undefined) this.log(`field: the server cannot take events now (${why}); sending the same batches again, backlog ${this.stats.backlog}`);
        this.away = why;
        await sleep(e instanceof RetryLater && e.retryAfterMs !== undefined ? e.retryAfterMs : Math.min(5000, 200 * 2 ** attempt));
        // stopped past the grace: it is counted unsent
        if (this.closed) return;
      }
    }
    this.stats.backlog -= batch.length;
    if (this.stats.backlog <= this.maxBacklog / 2) this.overflowing = false;
    this.inFlight.delete(device);
    this.sending--;
    const q = this.pending.get(device);
    if (q && q.length > 0 && !this.isReady.has(device)) {
      this.isReady.add(device);
      this.ready.push(device);
    }
    this.pump();
    if (this.stats.backlog === 0) this.drained?.();
  }
}

/** The street's signal controllers: the device whose token reads each intersection's plans. */
export function signalDevices(scenario: Scenario): { device: string; intersection: string }[] {
  return new VirtualCity(scenario).signals.controllers.map((c) => ({ device: c.device, intersection: c.phases.id }));
}

function isVerified(plan: unknown, verify: (p: Plan) => boolean): boolean {
  if (plan === null || typeof plan !== 'object') return false;
  try {
    return verify(plan as Plan) === true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
