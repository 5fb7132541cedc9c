/**
 * A cluster's brain worker (issue #20): it owns some of the city's regions,
 * takes their events from the stream, keeps its lane estimate and twin from
 * them, runs the controllers under the supervisor for its regions'
 * intersections only, and publishes their signed plans (NATS
 * `city.plans.<region>.<intersection>`, and with MQTT the topic the field
 * signal controllers obey). Several workers share the regions through the
 * owners' KV bucket (see ownership.ts for the balancing rule); a worker that
 * dies stops refreshing its keys, they expire, and the others claim its
 * regions, replaying the stream's recent past to rebuild what they know.
 * Meanwhile the field's signal controllers run their local plans (their
 * watchdog), and take the new owner's plans as soon as they come (its seqs
 * start at its clock's ms, above the dead worker's).
 *
 * Never two owners: a region is claimed with the bucket's atomic create, kept
 * with updates at the revision last written, and a worker stops controlling a
 * region (its lease) `ttl - LEASE_MARGIN_MS` after its last refresh was sent,
 * before the key can expire on the server and another worker claim it.
 */
import { hostname } from 'node:os';
import type { Scenario } from '@citybrain/engine';
import { cityRegions, regionOfIntersections, type Event, type Plan, type PlanSigner, type Region } from '@citybrain/brain';
import type { Controller } from '@citybrain/control';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { CityRuntime, type ControllerHostFactory } from '../city/runtime.js';
import { nodeControllerHost } from '../city/controller-host.js';
import { PlanPublisher, publishBoardPlans } from '../plans/plan-publisher.js';
import { connectNats, followEvents, keysWithin, openJetStream } from './nats.js';
import { CITY_PARTITION, EVENTS_STREAM, eventsSubject, OWNERS_BUCKET, plansSubject, subjectToken, WORKERS_BUCKET } from './subjects.js';
import { ownershipMoves } from './ownership.js';

/** What a worker says of itself in the workers' bucket (key: its id), refreshed every period. */
export interface WorkerHealth {
  /** the regions it owns */
  regions: string[];
  /** mean wall-clock ms of decision per step of the brain's loop, per owned region (its intersections' decisions, and the step's shared work by their share) */
  decisionMs: Record<string, number>;
  /** events taken from the stream per second over the last period (all owned regions) */
  eventsPerSecond: number;
  /** seconds the newest event taken had waited in the stream, when more were waiting; 0 when caught up */
  lagSeconds: number;
  /** epoch ms of this report */
  updatedAt: number;
}

export interface BrainWorkerOptions {
  /** the NATS server(s), e.g. nats://127.0.0.1:4222 */
  natsUrl: string;
  scenario: Scenario;
  /** how many regions the city is cut into (brain's cityRegions); every worker of a cluster must be given the same */
  regions: number;
  /** this worker's id (a KV key: letters, digits, '-', '_'); default host name and pid */
  id?: string;
  /** what signs the plans: the brain key shared by the cluster (the field controllers verify with its public half) */
  planSigner: PlanSigner;
  /** the controller in charge at start; default the registry's */
  controller?: string;
  extraControllers?: Record<string, () => Controller>;
  /** the MQTT broker the field signal controllers take their plans from */
  mqttUrl?: string;
  /** MQTT topic prefix; default 'citybrain' */
  mqttTopicPrefix?: string;
  /** seconds a field controller holds a plan before its local plan; default 10 */
  watchdog?: number;
  /** ms an owner's key and a worker's health live without a refresh (the buckets' TTL); default 3000 */
  ttlMs?: number;
  /** ms between refreshes of keys and health, and ownership moves; default 1000 */
  periodMs?: number;
  /** ms of the stream's past replayed when a region is taken over (to rebuild its estimate and twin); default 120000 */
  replayMs?: number;
  /** where heavy controllers decide; default the Node worker-thread host (as serve); null: in this thread */
  controllerHost?: ControllerHostFactory | null;
  /** told of ownership changes and problems, one line each */
  log?: (line: string) => void;
}

/** The worker cannot start: NATS unreachable, no events stream, the MQTT broker away. Not a bug: the CLI prints it in one line. */
export class WorkerStartError extends Error {}

/** ms before the key's expiry a worker stops controlling a region it could not refresh (see the file's comment). */
const LEASE_MARGIN_MS = 1000;
/** ms between checks of the leases (well under LEASE_MARGIN_MS). */
const LEASE_CHECK_MS = 100;

interface Owned {
  /** the key's revision last written by this worker */
  revision: number;
  /** epoch ms until which this worker may control the region (its lease) */
  leaseUntil: number;
  /** the region's events, from the stream */
  messages?: ConsumerMessages;
}

export class BrainWorker {
  readonly id: string;
  readonly runtime: CityRuntime;
  readonly regions: readonly Region[];
  /** region of each network intersection (regionOfIntersections) */
  readonly regionOf: readonly string[];
  /** the intersections this worker controls now: its owned regions' (the runtime reads this set) */
  private readonly controlled = new Set<number>();
  private readonly owned = new Map<string, Owned>();
  private readonly byId: ReadonlyMap<string, Region>;
  /** per region, the supervisor's slots of its intersections */
  private readonly slots = new Map<string, number[]>();
  private readonly ttlMs: number;
  private readonly periodMs: number;
  private readonly replayMs: number;
  private readonly log: (line: string) => void;
  private timer?: ReturnType<typeof setTimeout>;
  private leaseTimer?: ReturnType<typeof setInterval>;
  private closed = false;
  private round?: Promise<void>;
  /** decision ms summed per region and steps counted since the last health report */
  private readonly decided = new Map<string, number>();
  private steps = 0;
  private events = 0;
  private lastHealthAt = Date.now();
  private lagSeconds = 0;
  /** plans published on NATS so far, per region */
  readonly plansPublished = new Map<string, number>();
  /** events taken from the stream so far, per region */
  readonly eventsTaken = new Map<string, number>();
  /** stream messages that were not event batches (logged, skipped) */
  badMessages = 0;
  /** the city-wide partition's messages (the emergency vehicles' AVL) */
  private cityMessages?: ConsumerMessages;
  private stopPlans: () => void = () => {};
  private stopSteps: () => void = () => {};

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly owners: KV,
    private readonly workers: KV,
    private readonly mqtt: PlanPublisher | undefined,
    opts: BrainWorkerOptions,
  ) {
    this.id = subjectToken(opts.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-')}-${process.pid}`);
    if (!/^[A-Za-z0-9_-]+$/.test(this.id)) throw new RangeError(`worker: id "${this.id}" may hold only letters, digits, '-' and '_' (it is a KV key)`);
    this.ttlMs = opts.ttlMs ?? 3000;
    this.periodMs = opts.periodMs ?? 1000;
    this.replayMs = opts.replayMs ?? 120_000;
    if (!(this.periodMs > 0 && this.ttlMs >= 2 * this.periodMs + LEASE_MARGIN_MS)) {
      throw new RangeError(`worker: the key TTL (${this.ttlMs} ms) must be at least twice the refresh period (${this.periodMs} ms) plus ${LEASE_MARGIN_MS} ms`);
    }
    this.log = opts.log ?? (() => {});
    this.runtime = new CityRuntime(opts.scenario, {
      street: false,
      planSigner: opts.planSigner,
      controller: opts.controller,
      extraControllers: opts.extraControllers,
      watchdog: opts.watchdog,
      controllerHost: opts.controllerHost === null ? undefined : (opts.controllerHost ?? nodeControllerHost),
      controlled: this.controlled,
      onError: (e) => this.log(`the brain's loop stopped: ${(e as Error).message ?? String(e)}`),
    });
    const net = this.runtime.sim.net;
    this.regions = cityRegions(net, opts.regions);
    this.regionOf = regionOfIntersections(net, this.regions);
    this.byId = new Map(this.regions.map((r) => [r.id, r]));
    for (const r of this.regions) subjectToken(r.id);
    this.runtime.supervisor.env.intersections.forEach((ix, k) => {
      const r = this.regionOf[ix.intersection];
      (this.slots.get(r) ?? this.slots.set(r, []).get(r)!).push(k);
    });
  }

  /** Connects to NATS (and MQTT), opens the buckets and starts: the brain's loop, and the ownership rounds. */
  static async start(opts: BrainWorkerOptions): Promise<BrainWorker> {
    let nc: NatsConnection;
    try {
      // connected as every role is (nats.ts): reconnecting for ever, a NATS restart is an outage to ride out
      nc = await connectNats(opts.natsUrl, { name: opts.id ?? 'citybrain-worker', onStatus: (what, server) => opts.log?.(`NATS ${what} (${server})`) });
    } catch (e) {
      throw new WorkerStartError(`worker: ${(e as Error).message}`);
    }
    let mqtt: PlanPublisher | undefined;
    try {
      const jsm = await openJetStream(nc).catch((e: unknown) => {
        throw new WorkerStartError(`worker: ${(e as Error).message}`);
      });
      try {
        await jsm.streams.info(EVENTS_STREAM);
      } catch {
        throw new WorkerStartError(`worker: JetStream has no stream ${EVENTS_STREAM}: start the gateways first (they create it)`);
      }
      const ttl = opts.ttlMs ?? 3000;
      const kvm = new Kvm(nc);
      // history 1: a key is its owner now, nothing else; the TTL makes a dead owner's key disappear
      const owners = await kvm.create(OWNERS_BUCKET, { ttl, history: 1 });
      const workers = await kvm.create(WORKERS_BUCKET, { ttl, history: 1 });
      if (opts.mqttUrl) {
        mqtt = await PlanPublisher.connect(opts.mqttUrl, { topicPrefix: opts.mqttTopicPrefix, clientId: `citybrain-${opts.id ?? process.pid}-plans` }).catch((e: unknown) => {
          throw new WorkerStartError(`worker: ${(e as Error).message}`);
        });
      }
      const w = new BrainWorker(nc, jetstream(nc), owners, workers, mqtt, opts);
      w.begin();
      return w;
    } catch (e) {
      await mqtt?.close();
      await nc.close();
      throw e;
    }
  }

  /** The regions this worker owns now. */
  ownedRegions(): string[] {
    return [...this.owned.keys()].sort();
  }

  private begin(): void {
    const board = this.runtime.plans;
    // the board takes plans only for controlled intersections (the runtime plans no others); out on NATS by region
    const offNats = board.onPlan((plan) => this.publishPlan(plan));
    const offMqtt = this.mqtt ? publishBoardPlans(board, this.mqtt, (e, plan) => this.log(`plan for ${plan.intersection} not published over MQTT: ${(e as Error).message}`)) : () => {};
    this.stopPlans = () => {
      offNats();
      offMqtt();
    };
    this.stopSteps = this.runtime.onStep((rt) => this.countDecision(rt));
    // every worker follows the emergency vehicles (AVL, in the city-wide partition): a corridor crosses regions
    void this.consume(CITY_PARTITION, (events) => {
      const avl = events.filter((e) => e.kind === 'avl');
      if (avl.length > 0) this.runtime.ingested(avl);
    }).then((m) => {
      if (this.closed) m.stop();
      else this.cityMessages = m;
    }, (e: unknown) => this.log(`the city-wide partition (AVL) is not followed: ${(e as Error).message}`));
    this.runtime.start();
    this.leaseTimer = setInterval(() => this.checkLeases(), LEASE_CHECK_MS);
    const loop = () => {
      if (this.closed) return;
      this.round = this.ownershipRound().catch((e: unknown) => this.log(`ownership round failed: ${(e as Error).message}`));
      void this.round.then(() => {
        if (!this.closed) this.timer = setTimeout(loop, this.periodMs);
      });
    };
    loop();
  }

  private publishPlan(plan: Plan): void {
    const ix = this.runtime.sim.net.interIndex.get(plan.intersection);
    const region = ix === undefined ? undefined : this.regionOf[ix];
    if (region === undefined || !this.holds(region)) return;
    this.nc.publish(plansSubject(region, plan.intersection), JSON.stringify(plan));
    this.plansPublished.set(region, (this.plansPublished.get(region) ?? 0) + 1);
  }

  private holds(region: string): boolean {
    const o = this.owned.get(region);
    return o !== undefined && Date.now() < o.leaseUntil;
  }

  /** A region whose lease ran out (its refreshes failed or came too late) is no longer controlled: another may own it soon. */
  private checkLeases(): void {
    for (const [region, o] of this.owned) {
      if (Date.now() >= o.leaseUntil) {
        this.log(`lost ${region}: its key was not refreshed in time`);
        this.drop(region);
      }
    }
  }

  /** One round: refresh own keys, report health, read who owns what and who lives, then hand back and claim. */
  private async ownershipRound(): Promise<void> {
    await Promise.all([...this.owned.keys()].map((r) => this.refresh(r)));
    await this.reportHealth();
    // who lives: a listing that hangs (keys expiring, nats-server#3481) skips this round's hand-overs, not the next
    const live = await keysWithin(this.workers, this.periodMs);
    if (!live) return void this.log(`the workers' bucket did not list within ${this.periodMs} ms: no claims this round`);
    const ownersNow = new Map<string, string>();
    await Promise.all(this.regions.map(async (r) => {
      const e = await this.owners.get(r.id);
      if (e && e.operation === 'PUT') ownersNow.set(r.id, e.string());
    }));
    // what the bucket says of this worker's regions wins over what it believes
    for (const r of this.owned.keys()) if (ownersNow.get(r) !== this.id) this.drop(r);
    const moves = ownershipMoves({ self: this.id, regions: this.regions.map((r) => r.id), owners: ownersNow, live });
    for (const r of moves.release) await this.release(r);
    for (const r of moves.claim) await this.claim(r);
  }

  private async refresh(region: string): Promise<void> {
    const o = this.owned.get(region);
    if (!o) return;
    const sent = Date.now();
    try {
      o.revision = await this.owners.update(region, this.id, o.revision);
      o.leaseUntil = sent + this.ttlMs - LEASE_MARGIN_MS;
    } catch (e) {
      // another revision: the key expired and someone else holds it now
      this.log(`lost ${region}: ${(e as Error).message}`);
      this.drop(region);
    }
  }

  private async claim(region: string): Promise<void> {
    const sent = Date.now();
    let revision: number;
    try {
      revision = await this.owners.create(region, this.id);
    } catch {
      return; // another worker was first: the bucket decides
    }
    this.owned.set(region, { revision, leaseUntil: sent + this.ttlMs - LEASE_MARGIN_MS });
    await this.follow(region);
    for (const i of this.byId.get(region)!.intersections) this.controlled.add(i);
    this.log(`owns ${region} (${this.byId.get(region)!.intersections.length} intersections); now ${this.ownedRegions().join(', ')}`);
  }

  /** Hands a region back: stop controlling it first, then delete the key (at our revision: never someone else's). */
  private async release(region: string): Promise<void> {
    const o = this.owned.get(region);
    if (!o) return;
    this.drop(region);
    try {
      await this.owners.delete(region, { previousSeq: o.revision });
    } catch {
      // the key moved on (it expired, or is another's): nothing of ours to delete
    }
    this.log(`handed back ${region}; now ${this.ownedRegions().join(', ') || 'none'}`);
  }

  /** Stops controlling a region and taking its events (its key is left to the caller). */
  private drop(region: string): void {
    const o = this.owned.get(region);
    if (!o) return;
    this.owned.delete(region);
    for (const i of this.byId.get(region)!.intersections) this.controlled.delete(i);
    o.messages?.stop();
  }

  /** Takes the region's events: the last replayMs of the stream first (the estimate and twin rebuilt), then live. */
  private async follow(region: string): Promise<void> {
    const messages = await this.consume(region, (events) => {
      this.runtime.ingested(events);
      this.eventsTaken.set(region, (this.eventsTaken.get(region) ?? 0) + events.length);
    });
    const o = this.owned.get(region);
    if (o) o.messages = messages;
    else messages.stop();
  }

  /** A partition's events from the last replayMs on, handed to `take` batch by batch (followEvents: nats.ts). */
  private consume(partition: string, take: (events: Event[]) => void): Promise<ConsumerMessages> {
    return followEvents(this.js, eventsSubject(partition), this.replayMs, {
      take: (events, m) => {
        take(events);
        this.events += events.length;
        this.lagSeconds = m.info.pending > 0 ? Math.max(0, (Date.now() - m.info.timestampNanos / 1e6) / 1000) : 0;
      },
      bad: () => this.badMessages++,
      log: (line) => this.log(`${partition}: ${line}`),
    });
  }

  /** Each step's decision time, per owned region: its intersections' decisions, and the step's shared work by their share. */
  private countDecision(rt: CityRuntime): void {
    const sup = rt.supervisor;
    const n = this.controlled.size;
    if (n === 0) return;
    for (const region of this.owned.keys()) {
      const slots = this.slots.get(region) ?? [];
      let ms = (sup.stepMs * slots.length) / n;
      for (const k of slots) ms += sup.decideMs[k];
      this.decided.set(region, (this.decided.get(region) ?? 0) + ms);
    }
    this.steps++;
  }

  /** This worker's health, as it goes to the workers' bucket; resets the period's counts. */
  private health(): WorkerHealth {
    const now = Date.now();
    const decisionMs: Record<string, number> = {};
    for (const r of this.ownedRegions()) decisionMs[r] = this.steps > 0 ? Math.round(((this.decided.get(r) ?? 0) / this.steps) * 1000) / 1000 : 0;
    const h: WorkerHealth = {
      regions: this.ownedRegions(), decisionMs,
      eventsPerSecond: Math.round((this.events / Math.max(0.001, (now - this.lastHealthAt) / 1000)) * 10) / 10,
      lagSeconds: Math.round(this.lagSeconds * 10) / 10, updatedAt: now,
    };
    this.decided.clear();
    this.steps = 0;
    this.events = 0;
    this.lastHealthAt = now;
    return h;
  }

  /** The latest health written (tests, the CLI's status line). */
  lastHealth?: WorkerHealth;

  private async reportHealth(): Promise<void> {
    this.lastHealth = this.health();
    await this.workers.put(this.id, JSON.stringify(this.lastHealth));
  }

  /**
   * Stops politely: no more control, every key handed back (another worker
   * claims at its next round, not after the TTL), the health key deleted.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.leaseTimer);
    await this.round;
    const held = [...this.owned.entries()];
    for (const [r] of held) this.drop(r);
    this.cityMessages?.stop();
    this.stopPlans();
    this.stopSteps();
    await this.runtime.close();
    for (const [r, o] of held) await this.owners.delete(r, { previousSeq: o.revision }).catch(() => {});
    await this.workers.delete(this.id).catch(() => {});
    await this.mqtt?.close();
    await this.nc.drain();
  }
}
