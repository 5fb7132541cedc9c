/**
 * The API/dashboard server's view of a cluster (issue #20; `citybrain serve
 * --cluster NATS_URL`, the ClusterFeed serve takes): it controls nothing. It
 * follows every partition of the event stream (one ordered consumer on
 * `city.events.>`, from `replayMs` in the past so its brain's estimate, twin,
 * KPIs and incidents are rebuilt at start), puts the workers' verified plans
 * on its board (`city.plans.>`), publishes what is posted to it to the stream
 * as a gateway does, and reads the owners' and workers' KV buckets for
 * `GET /api/v1/cluster`.
 */
import { Network, type Scenario } from '@citybrain/engine';
import { cityRegions, type Event } from '@citybrain/brain';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { ClusterFeed } from '../api/cluster-routes.js';
import type { ClusterView, ClusterWorkerView } from '../api/contract.js';
import { redactSecrets } from '../redact.js';
import { cityPartitions, decodeEvents } from './event-messages.js';
import { JetStreamSink } from './gateway.js';
import { connectNats, ensureEventsStream, followEvents, ensurePlatesStream, keysWithin, openJetStream, type EventsStreamOptions, type PlatesStreamOptions } from './nats.js';

/** ms a cluster view waits for the workers' bucket to list its keys */
const VIEW_LIST_MS = 2000;
import { followPlans, type PlanFollower } from './plan-follower.js';
import { EVENTS_SUBJECTS, OWNERS_BUCKET, PLATES_STREAM, PLATES_SUBJECTS, WATCHLIST_CONSUMER, WORKERS_BUCKET } from './subjects.js';
import type { WorkerHealth } from './worker.js';

export interface ClusterFollowerOptions {
  /** NATS URL(s), e.g. nats://127.0.0.1:4222 */
  natsUrl: string;
  /** the city (its roadnet: the regions and partitions) */
  scenario: Pick<Scenario, 'roadnet'>;
  /** regions the city is cut into: the workers' and gateways' --regions */
  regions: number;
  /** ms of the stream's past taken at start, to rebuild the brain; default 120000 (the workers' replay) */
  replayMs?: number;
  /** the stream's settings, ensured at start as a gateway does (this server publishes its own ingestion there) */
  stream?: EventsStreamOptions;
  /** the plates stream's settings (as the gateways'), ensured at start: the watchlist's reads come from there */
  plates?: PlatesStreamOptions;
  /** ms to wait for JetStream's acknowledgement of a batch posted here before 503; default the gateway's */
  publishTimeoutMs?: number;
  /** ms after its last report a worker counts as not alive (the buckets' TTL); default 3000 */
  ttlMs?: number;
  /** ms a worker that stopped reporting is still listed (not alive); default 300000 */
  forgetMs?: number;
  log?: (line: string) => void;
}

export class ClusterFollower implements ClusterFeed {
  readonly sink: JetStreamSink;
  /** events taken from the stream so far */
  eventsTaken = 0;
  /** stream messages that were not event batches (skipped) */
  badMessages = 0;
  private messages?: ConsumerMessages;
  private plateMessages?: ConsumerMessages;
  /** plate reads taken from the plates stream and judged by the watchlist */
  platesTaken = 0;
  private plans?: PlanFollower;
  private owners?: KV;
  private workers?: KV;
  /** every worker seen, its latest health and when it was seen in the bucket */
  private readonly seen = new Map<string, { health: WorkerHealth; seenAt: number }>();
  private readonly regionList: { id: string; intersections: string[] }[];
  private readonly log: (line: string) => void;
  private closed = false;

  private constructor(private readonly nc: NatsConnection, private readonly js: JetStreamClient, private readonly opts: ClusterFollowerOptions) {
    const net = new Network(opts.scenario.roadnet);
    this.sink = new JetStreamSink(js, cityPartitions(net, opts.regions).partition, { timeoutMs: opts.publishTimeoutMs, maxPayload: nc.info?.max_payload ?? 1 << 20 });
    this.regionList = cityRegions(net, opts.regions).map((r) => ({ id: r.id, intersections: r.intersections.map((i) => net.interIds[i]) }));
    this.log = opts.log ?? (() => {});
  }

  /** Connects to NATS and ensures the events stream (a ClusterStartError when it cannot: the CLI prints it in one line). */
  static async start(opts: ClusterFollowerOptions): Promise<ClusterFollower> {
    const log = opts.log ?? (() => {});
    const nc = await connectNats(opts.natsUrl, { name: 'citybrain-api', onStatus: (what, server) => log(`NATS ${what} (${server})`) });
    try {
      const jsm = await openJetStream(nc);
      await ensureEventsStream(jsm, opts.stream, (changes) => log(`events stream updated: ${changes.join(', ')}`));
      await ensurePlatesStream(jsm, opts.plates);
      await ensureWatchlistConsumer(jsm);
      return new ClusterFollower(nc, jetstream(nc), opts);
    } catch (e) {
      await nc.close().catch(() => {});
      throw e;
    }
  }

  get nats(): string {
    return redactSecrets(this.opts.natsUrl);
  }

  async follow(to: Parameters<ClusterFeed['follow']>[0]): Promise<void> {
    this.plans = followPlans(this.nc, to.plans, to.verify, this.log);
    this.messages = await followEvents(this.js, EVENTS_SUBJECTS, this.opts.replayMs ?? 120_000, {
      take: (events) => {
        this.eventsTaken += events.length;
        to.events(events);
      },
      bad: () => this.badMessages++,
      log: this.log,
    });
    if (to.plates) await this.followPlates(to.plates);
  }

  /**
   * The clear plate reads through the watchlist's durable consumer: each
   * message acknowledged once `judge` has judged and stored its reads, so a
   * server that stops before that gets it again when it comes back (within
   * the plates stream's max age).
   */
  private async followPlates(judge: (events: Event[]) => Promise<void>): Promise<void> {
    const consumer = await this.js.consumers.get(PLATES_STREAM, WATCHLIST_CONSUMER);
    const messages = await consumer.consume();
    this.plateMessages = messages;
    void (async () => {
      for await (const m of messages) {
        const got = decodeEvents(m.data);
        if ('error' in got) {
          this.log(`${m.subject} #${m.seq}: ${got.error} (terminated)`);
          m.term(got.error);
          continue;
        }
        const reads = got.events.filter((e) => e.kind === 'plate');
        try {
          await judge(reads as Event[]);
          this.platesTaken += reads.length;
          m.ack();
        } catch (e) {
          this.log(`${m.subject} #${m.seq}: the watchlist did not take its reads (${(e as Error).message}); redelivered later`);
          m.nak(5000);
        }
      }
    })().catch((e: unknown) => this.log(`the plates consumer stopped: ${(e as Error).message}`));
  }

  /** A KV bucket, or undefined while no worker has made it. */
  private async bucket(name: string): Promise<KV | undefined> {
    const jsm = await this.js.jetstreamManager();
    try {
      await jsm.streams.info(`KV_${name}`);
    } catch {
      return undefined;
    }
    return new Kvm(this.nc).open(name);
  }

  async view(): Promise<ClusterView> {
    this.owners ??= await this.bucket(OWNERS_BUCKET);
    this.workers ??= await this.bucket(WORKERS_BUCKET);
    const now = Date.now();
    const ttl = this.opts.ttlMs ?? 3000;
    const owners = new Map<string, string>();
    if (this.owners) {
      const kv = this.owners;
      await Promise.all(this.regionList.map(async (r) => {
        const e = await kv.get(r.id);
        if (e && e.operation === 'PUT') owners.set(r.id, e.string());
      }));
    }
    const reporting = new Set<string>();
    if (this.workers) {
      // a listing that hangs (keys expiring, nats-server#3481) leaves the workers as last seen: the view still answers
      const listed = await keysWithin(this.workers, VIEW_LIST_MS);
      // not listed: each worker's last health stands, alive while it is fresh
      if (!listed) for (const id of this.seen.keys()) reporting.add(id);
      const keys = listed ?? [];
      const kv = this.workers;
      await Promise.all(keys.map(async (id) => {
        const e = await kv.get(id);
        if (!e || e.operation !== 'PUT') return;
        try {
          this.seen.set(id, { health: e.json<WorkerHealth>(), seenAt: now });
          reporting.add(id);
        } catch {
          this.log(`worker ${id}: its health is not JSON`);
        }
      }));
    }
    const forgetMs = this.opts.forgetMs ?? 300_000;
    const workers: ClusterWorkerView[] = [];
    for (const [id, { health: h, seenAt }] of [...this.seen].sort(([a], [b]) => a.localeCompare(b))) {
      if (now - seenAt > forgetMs) {
        this.seen.delete(id);
        continue;
      }
      workers.push({
        id, regions: h.regions ?? [], decisionMs: h.decisionMs ?? {}, eventsPerSecond: h.eventsPerSecond ?? 0, lagSeconds: h.lagSeconds ?? 0, updatedAt: h.updatedAt ?? 0,
        alive: reporting.has(id) && now - (h.updatedAt ?? 0) <= ttl,
      });
    }
    return { cluster: true, nats: this.nats, regions: this.regionList.map((r) => ({ ...r, owner: owners.get(r.id) ?? null })), workers, at: now };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.plans?.stop();
    this.messages?.stop();
    this.plateMessages?.stop();
    await this.nc.drain().catch(() => {});
  }
}

/** The watchlist's durable consumer on the plates stream, made when missing (explicit acks, every read kept). */
async function ensureWatchlistConsumer(jsm: JetStreamManager): Promise<void> {
  try {
    const c = (await jsm.consumers.info(PLATES_STREAM, WATCHLIST_CONSUMER)).config;
    if (c.ack_policy !== AckPolicy.Explicit) throw new Error(`consumer ${WATCHLIST_CONSUMER} on ${PLATES_STREAM} exists with ack policy "${c.ack_policy}", the watchlist needs "explicit": delete it (nats consumer rm ${PLATES_STREAM} ${WATCHLIST_CONSUMER})`);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound)) throw e;
    await jsm.consumers.add(PLATES_STREAM, {
      durable_name: WATCHLIST_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: PLATES_SUBJECTS, max_deliver: -1,
    });
  }
}
