/**
 * The writer role (issue #20): the events stream into the store. Writers
 * share one durable pull consumer (WRITER_CONSUMER): each message goes to
 * one of them; a message is acknowledged only after the store committed its
 * events, so a writer that dies leaves its unacknowledged messages to be
 * redelivered (after the consumer's ack wait) to another or to itself
 * restarted, and the store's key (device, id) keeps a redelivered event once.
 *
 * Two things only the writer sees: a message that is not events (a poison
 * message: terminated with a log line naming it, so it never blocks the
 * stream), and an event whose (device, id) the store holds with other
 * content (a device reusing an id, which a gateway cannot know: the store
 * keeps the first, the writer counts and logs the second and stores the rest).
 */
import { createServer, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, type Consumer, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Event } from '@citybrain/brain';
import { redactingDestination, redactSecrets, type LogDestination } from '../redact.js';
import { openStore } from '../store/open.js';
import { EventConflictError, type EventStore } from '../store/store.js';
import { decodeEvents } from './event-messages.js';
import { connectNats, ensureEventsStream, openJetStream, type EventsStreamOptions } from './nats.js';
import { EVENTS_STREAM, WRITER_CONSUMER } from './subjects.js';

export interface WriterOptions {
  natsUrl: string;
  /** `postgres://…` (production: every writer and API server shares it) or `sqlite:PATH` */
  storeUrl?: string;
  /** an open store to use instead of storeUrl (the writer closes it on close) */
  store?: EventStore;
  /** messages fetched and committed together; default 256 */
  batch?: number;
  /** messages delivered and not yet acknowledged, over all writers, before the stream holds back; default 4096 */
  maxAckPending?: number;
  /** ms before a message a writer took and did not acknowledge goes to another; default 30000 */
  ackWaitMs?: number;
  /** the events stream's settings, created (or updated) when a writer starts first */
  stream?: EventsStreamOptions;
  /** Prometheus metrics and /healthz on this port (0: a free one); default none */
  metricsPort?: number;
  metricsHost?: string;
  logger?: false | { level?: string; destination?: LogDestination };
}

export interface RunningWriter {
  store: EventStore;
  nats: NatsConnection;
  registry: Registry;
  log: Logger;
  /** where /metrics is served, when a port was given */
  metricsUrl?: string;
  /** events this writer stored (new to the store) so far */
  readonly stored: number;
  /** stops fetching, finishes (commits and acknowledges) the batch in hand, closes NATS and the store */
  close(): Promise<void>;
}

/** The consumer's settings; an existing consumer's ack wait and max ack pending are updated to them. */
async function ensureWriterConsumer(jsm: JetStreamManager, maxAckPending: number, ackWaitMs: number): Promise<void> {
  const want = { max_ack_pending: maxAckPending, ack_wait: nanos(ackWaitMs) };
  try {
    const c = (await jsm.consumers.info(EVENTS_STREAM, WRITER_CONSUMER)).config;
    if (c.ack_policy !== AckPolicy.Explicit) throw new Error(`consumer ${WRITER_CONSUMER} on ${EVENTS_STREAM} exists with ack policy "${c.ack_policy}", the writers need "explicit": delete it (nats consumer rm ${EVENTS_STREAM} ${WRITER_CONSUMER})`);
    if (c.max_ack_pending !== want.max_ack_pending || c.ack_wait !== want.ack_wait) await jsm.consumers.update(EVENTS_STREAM, WRITER_CONSUMER, want);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound)) throw e;
    await jsm.consumers.add(EVENTS_STREAM, {
      durable_name: WRITER_CONSUMER, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_deliver: -1, ...want,
    });
  }
}

/** Waits before retry `attempt` of a commit that failed through no fault of the messages: 0.1 s, doubling, at most 5 s. */
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));

export async function startWriter(opts: WriterOptions): Promise<RunningWriter> {
  const log = opts.logger === false ? pino({ enabled: false }) : pino({ level: opts.logger?.level ?? process.env.CITYBRAIN_LOG_LEVEL ?? 'info', base: { role: 'writer' } }, redactingDestination(opts.logger?.destination));
  const batch = opts.batch ?? 256;
  const maxAckPending = opts.maxAckPending ?? 4096;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`writer: batch must be a whole number >= 1, got ${batch}`);
  if (!Number.isInteger(maxAckPending) || maxAckPending < batch) throw new RangeError(`writer: maxAckPending must be a whole number >= batch (${batch}), got ${maxAckPending}`);
  const store = opts.store ?? (await openStore(opts.storeUrl));
  let nc: NatsConnection;
  let consumer: Consumer;
  try {
    nc = await connectNats(opts.natsUrl, { name: 'citybrain-writer', onStatus: (what, server) => log[what === 'disconnected' ? 'warn' : 'info']({ server }, `NATS ${what}`) });
    try {
      const jsm = await openJetStream(nc);
      await ensureEventsStream(jsm, opts.stream, (changes) => log.warn({ changes }, 'events stream updated'));
      await ensureWriterConsumer(jsm, maxAckPending, opts.ackWaitMs ?? 30_000);
      consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, WRITER_CONSUMER);
    } catch (e) {
      await nc.close();
      throw e;
    }
  } catch (e) {
    await store.close();
    throw e;
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'citybrain_' });
  const registers = [registry];
  const m = {
    stored: new Counter({ name: 'citybrain_writer_events_stored_total', help: 'Events the writer stored (new to the store)', registers }),
    duplicates: new Counter({ name: 'citybrain_writer_events_duplicate_total', help: 'Events already stored (redelivered, or retried by a device after the stream\'s duplicate window): kept once', registers }),
    conflicts: new Counter({ name: 'citybrain_writer_id_conflicts_total', help: 'Events whose (device, id) was stored earlier with other content: not stored (the first stays)', registers }),
    poison: new Counter({ name: 'citybrain_writer_poison_messages_total', help: 'Stream messages that are not events: terminated, never stored', registers }),
    messages: new Counter({ name: 'citybrain_writer_messages_total', help: 'Stream messages committed and acknowledged', registers }),
    commitSeconds: new Histogram({ name: 'citybrain_writer_commit_seconds', help: 'Duration of one fetched batch\'s store commit', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers }),
  };
  // the lag: what the writers' consumer has still to deliver, and what is delivered but not acknowledged
  let lagCache: { at: number; pending: number; ackPending: number } | undefined;
  const lag = async () => {
    if (!lagCache || Date.now() - lagCache.at > 1000) {
      const i = await consumer.info(true);
      lagCache = { at: Date.now(), pending: i.num_pending, ackPending: i.num_ack_pending };
    }
    return lagCache;
  };
  new Gauge({ name: 'citybrain_writer_lag_messages', help: 'Stream messages not yet delivered to any writer', registers, async collect() { this.set((await lag()).pending); } });
  new Gauge({ name: 'citybrain_writer_unacknowledged_messages', help: 'Messages delivered to the writers and not yet acknowledged', registers, async collect() { this.set((await lag()).ackPending); } });

  let stopping = false;
  let stored = 0;

  /** Commits the events of `msgs` (in stream order), then acknowledges them; retries the store until it answers. */
  const write = async (msgs: JsMsg[]): Promise<void> => {
    const good: JsMsg[] = [];
    let events: Event[] = [];
    for (const msg of msgs) {
      const d = decodeEvents(msg.data);
      if ('error' in d) {
        m.poison.inc();
        log.error({ subject: msg.subject, seq: msg.seq, bytes: msg.data.byteLength }, `poison message ${EVENTS_STREAM} #${msg.seq} on ${msg.subject} terminated: ${d.error}`);
        msg.term(`not events: ${d.error}`);
        continue;
      }
      good.push(msg);
      events = events.concat(d.events);
    }
    if (events.length === 0) return;
    const t0 = performance.now();
    for (let attempt = 0; ;) {
      try {
        const r = await store.append(events);
        stored += r.accepted.length;
        m.stored.inc(r.accepted.length);
        m.duplicates.inc(r.duplicates.length);
        break;
      } catch (e) {
        if (e instanceof EventConflictError) {
          // the store keeps the first reading under this id; this one is dropped by name, the rest stored
          m.conflicts.inc();
          log.warn({ device: e.device, id: e.id }, `event ${e.device}/${e.id} was stored earlier with other content: this reading is not stored (the device reuses ids)`);
          events = events.filter((_, i) => i !== e.index);
          if (events.length === 0) break;
          continue;
        }
        // the store is away: keep the messages (no ack; ours while we keep telling the server we work on them) and retry
        log.error({ err: e, attempt, messages: good.length }, 'events not stored; retrying');
        for (const msg of good) msg.working();
        if (stopping) return; // unacknowledged: redelivered to the next writer
        await backoff(attempt++);
      }
    }
    m.commitSeconds.observe((performance.now() - t0) / 1000);
    // acknowledged only now: a writer dying before this leaves them to be redelivered, and the store's key keeps them once
    for (const msg of good) msg.ack();
    m.messages.inc(good.length);
  };

  const loop = (async () => {
    while (!stopping) {
      try {
        const it = await consumer.fetch({ max_messages: batch, expires: 1000 });
        const msgs: JsMsg[] = [];
        for await (const msg of it) msgs.push(msg);
        if (msgs.length > 0) await write(msgs);
      } catch (e) {
        if (stopping) break;
        // NATS away or the consumer's request refused: the loop goes on; what was not acknowledged comes again
        log.warn({ err: e }, 'fetching from the events stream failed; retrying');
        await backoff(3);
      }
    }
  })();

  let http: Server | undefined;
  let metricsUrl: string | undefined;
  if (opts.metricsPort !== undefined) {
    http = createServer((req, res) => {
      if (req.url === '/metrics') {
        registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), (e: unknown) => res.writeHead(500).end(String(e)));
      } else if (req.url === '/healthz') {
        res.writeHead(nc.isClosed() ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: nc.isClosed() ? 'nats-closed' : 'ok', stored }));
      } else res.writeHead(404).end();
    });
    const h = http;
    await new Promise<void>((resolve, reject) => h.once('error', reject).listen(opts.metricsPort, opts.metricsHost ?? '127.0.0.1', () => resolve()));
    const a = h.address();
    metricsUrl = typeof a === 'object' && a ? `http://${a.address}:${a.port}` : undefined;
  }
  log.info({ nats: redactSecrets(opts.natsUrl), store: store.backend, batch, maxAckPending, metrics: metricsUrl }, 'CityBrain writer is running');

  let closed = false;
  return {
    store, nats: nc, registry, log, metricsUrl,
    get stored() {
      return stored;
    },
    async close() {
      if (closed) return;
      closed = true;
      stopping = true;
      await loop;
      await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
      await nc.drain().catch(() => {});
      await store.close();
    },
  };
}
