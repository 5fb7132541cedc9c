/**
 * The gateway role (issue #20): device ingestion over HTTP and MQTT, as the
 * one-process server does it (same routes, tokens, IngestPipeline:
 * validation, normalisation, lane check, scope, backpressure), except the
 * durable step: a batch is published to JetStream, split by region, and the
 * device is acknowledged only once the stream acknowledged every message.
 *
 * What a gateway cannot check that a store could: whether a (device, id) was
 * stored earlier with other content (the store's 409). The stream has no
 * such index; the writer finds it, keeps the first and counts and logs the
 * second (cluster/writer.ts). A device that reuses ids is thus told nothing.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { Network, type Scenario } from '@citybrain/engine';
import { PlanBoard, storedPlate, type ClockSkew, type Event } from '@citybrain/brain';
import { buildApp, type LogOptions } from '../app.js';
import { Auth, bootstrapTokens, type AuthOptions, type Role } from '../auth.js';
import { StreamUnavailableError, type EventSink } from '../ingest.js';
import { MqttIngest } from '../mqtt.js';
import { laneCheck } from '../city/lane-check.js';
import { keyedPlateCheck, loadPlateKey, plateKeyer } from '../watchlist/plate-key.js';
import { openStore, DEFAULT_STORE_URL } from '../store/open.js';
import type { AppendResult, CommitListener, EventStore } from '../store/store.js';
import { cityPartitions, encodeEvents, splitByRegion, type EventsMessage, type Partitioner } from './event-messages.js';
import { connectNats, ensureEventsStream, ensurePlatesStream, openJetStream, type EventsStreamOptions, type PlatesStreamOptions } from './nats.js';
import { batchMsgId, platesSubject } from './subjects.js';
import { planRoutes } from '../api/plan-routes.js';
import { planVerifier } from '../plans/brain-key.js';
import { followPlans, type PlanFollower } from './plan-follower.js';

/** ms a gateway waits for the stream's acknowledgement before answering 503; default */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;

/**
 * The durable step of a gateway: each region's events of a batch as one
 * message on `city.events.<region>` with `Nats-Msg-Id` = batchMsgId(its
 * events), and its plate reads as read (not keyed) on `city.plates.<region>`
 * for the watchlist (subjects.ts: the plates stream), all published at once;
 * resolves when JetStream acknowledged every one. `accepted` are the ids of messages new to the stream, `duplicates`
 * those JetStream recognised as a retry within its duplicate window (beyond
 * it, the writer's store recognises them). Any failure is a
 * StreamUnavailableError: the device retries the same batch, and the
 * messages that did reach the stream are then de-duplicated.
 */
export class JetStreamSink implements EventSink {
  private readonly listeners = new Set<CommitListener>();
  /** bytes a message may take: the server's max_payload less room for headers */
  private readonly maxBytes: number;

  constructor(private readonly js: JetStreamClient, private readonly partition: Partitioner, opts: { timeoutMs?: number; maxPayload: number }) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    this.maxBytes = opts.maxPayload - 4096;
  }

  private readonly timeoutMs: number;

  async append(events: readonly Event[], asRead: readonly Event[] = events): Promise<AppendResult> {
    const t0 = performance.now();
    const msgs = splitByRegion(events, this.partition).flatMap((m) => this.fit(m, encodeEvents(m.events)));
    // the plate reads as read, for the watchlist: on the plates stream, acknowledged with the batch (a retry is de-duplicated there too)
    const plates = splitByRegion(asRead.filter((e) => e.kind === 'plate'), this.partition)
      .flatMap((m) => this.fit({ ...m, subject: platesSubject(m.region) }, encodeEvents(m.events)));
    let acks: PubAck[];
    try {
      const publish = ([m, body]: [EventsMessage, Uint8Array]) => this.js.publish(m.subject, body, { msgID: m.msgId, timeout: this.timeoutMs });
      [acks] = await Promise.all([Promise.all(msgs.map(publish)), Promise.all(plates.map(publish))]);
    } catch (e) {
      throw new StreamUnavailableError(`the event stream did not acknowledge the batch (${(e as Error).message})`);
    }
    const r: AppendResult = { accepted: [], duplicates: [] };
    acks.forEach((a, i) => {
      for (const e of msgs[i][0].events) (a.duplicate ? r.duplicates : r.accepted).push(e.id);
    });
    const seconds = (performance.now() - t0) / 1000;
    for (const fn of this.listeners) fn({ events: events.length, seconds });
    return r;
  }

  /**
   * A message over the server's payload limit halved until each part fits
   * (a 1 MiB body grows a little when normalised): each part has its own
   * id, the same on a retry, so de-duplication holds.
   */
  private fit(m: EventsMessage, body: Uint8Array): [EventsMessage, Uint8Array][] {
    if (body.byteLength <= this.maxBytes || m.events.length === 1) return [[m, body]];
    const half = m.events.length >> 1;
    return [m.events.slice(0, half), m.events.slice(half)].flatMap((evs) => {
      const part = { ...m, events: evs, msgId: batchMsgId(evs) };
      return this.fit(part, encodeEvents(evs));
    });
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface GatewayOptions {
  /** the city: its roadnet is what the lane check and the regions are made of */
  scenario: Pick<Scenario, 'roadnet'>;
  /** regions the city is cut into (cityRegions); the brain workers must be given the same */
  regions: number;
  /** NATS URL(s), e.g. nats://127.0.0.1:4222 */
  natsUrl: string;
  /** the shared store the tokens and the plate key are read from (`postgres://…`; `sqlite:PATH` for one machine) */
  storeUrl?: string;
  /** an open store to use instead of storeUrl (the gateway closes it on close) */
  store?: EventStore;
  host?: string;
  /** 0 picks a free port; default 8081 */
  port?: number;
  mqttUrl?: string;
  /**
   * the MQTT session; gateways should share one group (`shareGroup`, default
   * 'citybrain-gateways'), so each device message reaches one of them
   */
  mqttSession?: { topicPrefix?: string; clientId?: string; shareGroup?: string };
  /** the events stream's settings, created or updated at start (ensureEventsStream) */
  stream?: EventsStreamOptions;
  /** the plates stream's settings (the clear reads for the watchlist, minutes in memory), created or updated at start */
  plates?: PlatesStreamOptions;
  /** ms to wait for JetStream's acknowledgement before answering 503; default DEFAULT_PUBLISH_TIMEOUT_MS */
  publishTimeoutMs?: number;
  clockSkew?: ClockSkew | false;
  /** events admitted and not yet acknowledged by the stream before 429; default 100000 */
  maxQueuedEvents?: number;
  logger?: false | LogOptions;
  auth?: AuthOptions;
  printToken?: (line: string) => void;
  /**
   * the cluster's brain key, its public half (SPKI PEM; a PKCS#8 private PEM
   * is taken too, only its public half kept): with it the gateway serves what
   * a field device needs of the brain, as serve does: `GET /api/v1/brain/key`
   * and each intersection's latest verified plan from the workers
   * (`GET /api/v1/intersections/:id/plan`, long poll with ?after=)
   */
  brainKey?: string;
  /** seconds a field controller holds a plan (the plan board's watchdog); default 10 */
  watchdog?: number;
}

export interface RunningGateway {
  app: FastifyInstance;
  nats: NatsConnection;
  store: EventStore;
  auth: Auth;
  url: string;
  /** the partitions this gateway publishes to: the regions' ids and `_city` */
  partitions: string[];
  createdTokens: { name: string; role: Role; token: string }[];
  /** with brainKey: the latest verified plan per intersection, from the workers (city.plans.>) */
  plans?: { board: PlanBoard; follower: PlanFollower };
  close(): Promise<void>;
}

/** Starts a gateway: the store (for tokens), NATS and the events stream, HTTP ingestion and optionally MQTT. */
export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const net = new Network(opts.scenario.roadnet);
  const partitions = cityPartitions(net, opts.regions);
  const store = opts.store ?? (await openStore(opts.storeUrl ?? DEFAULT_STORE_URL));
  let nc: NatsConnection | undefined;
  try {
    const auth = new Auth(store, opts.auth);
    const { created } = await bootstrapTokens(auth, { print: opts.printToken });
    // the stream is a log of personal data too: plates go into it as their keyed hash, as into the store
    const keyer = plateKeyer(await loadPlateKey(store));
    let app: FastifyInstance | undefined;
    nc = await connectNats(opts.natsUrl, {
      name: 'citybrain-gateway',
      onStatus: (what, server) => app?.log[what === 'disconnected' ? 'warn' : 'info']({ server }, `NATS ${what}`),
    });
    const jsm = await openJetStream(nc);
    await ensureEventsStream(jsm, opts.stream, (changes) => app?.log.warn({ changes }, 'events stream updated'));
    await ensurePlatesStream(jsm, opts.plates);
    // a key that is not one is found before the gateway listens
    const publicKey = opts.brainKey === undefined ? undefined : brainPublicKey(opts.brainKey);
    const sink = new JetStreamSink(jetstream(nc), partitions.partition, { timeoutMs: opts.publishTimeoutMs, maxPayload: nc.info?.max_payload ?? 1 << 20 });
    app = buildApp({ store, sink, auth, logger: opts.logger, limits: { clockSkew: opts.clockSkew, maxQueuedEvents: opts.maxQueuedEvents } });
    const pipeline = app.ingest;
    pipeline.setStoredForm((e) => (e.kind === 'plate' ? { ...e, plate: storedPlate(keyer, e.plate) } : e));
    const lanes = laneCheck(net);
    pipeline.setEventCheck((e, path) => keyedPlateCheck(e, path) ?? lanes(e, path));
    let plans: RunningGateway['plans'];
    if (publicKey) {
      const board = new PlanBoard([...net.signalised].map((i) => net.interIds[i]), { confirmation: () => undefined }, { watchdog: opts.watchdog });
      const log = app.log;
      const follower = followPlans(nc, board, planVerifier(publicKey), (line) => log.warn(line));
      plans = { board, follower };
      await app.register(planRoutes, {
        board, key: { publicPem: () => publicKey.export({ type: 'spki', format: 'pem' }).toString() },
        access: { require: (...roles: Role[]) => auth.requireRole(...roles), who: (req) => ({ actor: req.principal?.name ?? 'anonymous', role: req.principal?.role ?? 'none' }) },
      });
    }
    await app.ready();
    const mqtt = opts.mqttUrl
      ? await MqttIngest.start({ url: opts.mqttUrl, shareGroup: 'citybrain-gateways', ...opts.mqttSession, pipeline, auth, logger: app.log })
      : undefined;
    const url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8081 });
    app.log.info({ url, nats: opts.natsUrl, regions: opts.regions, store: store.backend, plans: publicKey !== undefined }, 'CityBrain gateway is running');
    const conn = nc;
    const running = app;
    let closed = false;
    return {
      app, nats: conn, store, auth, url, partitions: partitions.ids, createdTokens: created, plans,
      async close() {
        if (closed) return;
        closed = true;
        plans?.follower.stop();
        // devices first (what is in flight finishes, unacknowledged MQTT messages are redelivered), then NATS, then the store
        await mqtt?.close();
        await running.close();
        await conn.drain().catch(() => {});
        await store.close();
      },
    };
  } catch (e) {
    await nc?.close().catch(() => {});
    await store.close();
    throw e;
  }
}

/** The public half of a brain key given as PEM (public SPKI, or the private PKCS#8 the workers sign with); a RangeError naming what it is otherwise. */
export function brainPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = /PRIVATE KEY/.test(pem) ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch (e) {
    throw new RangeError(`brain key: not a PEM key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new RangeError(`brain key: must be an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  return key;
}
