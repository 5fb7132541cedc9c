/**
 * The connection to NATS and the events stream every cluster role relies on
 * (issue #20). One place says how a role connects (reconnecting for ever: a
 * NATS restart is an outage to ride out, not a reason to exit) and what the
 * stream is (file storage, limits retention, the duplicate window that makes
 * a gateway's retry harmless), so gateways and writers cannot disagree.
 */
import { connect, nanos, millis, type NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { DeliverPolicy, jetstreamManager, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import type { Event } from '@citybrain/brain';
import { redactSecrets } from '../redact.js';
import { decodeEvents } from './event-messages.js';
import { EVENTS_STREAM, EVENTS_SUBJECTS, PLATES_STREAM, PLATES_SUBJECTS } from './subjects.js';

/** NATS could not be reached at start, or the stream is not as CityBrain needs it: a problem of the options or the deployment. */
export class ClusterStartError extends Error {
  override readonly name = 'ClusterStartError';
}

export interface NatsOptions {
  /** the connection's name, as the server's monitoring shows it (e.g. `citybrain-gateway`) */
  name: string;
  /** ms to wait for the first connection; default 5000 */
  connectTimeoutMs?: number;
  /** called when the connection drops or comes back, for the log */
  onStatus?: (what: 'disconnected' | 'reconnected', server: string) => void;
}

/**
 * Connects to NATS at `url` (nats://host:port, several comma-separated). The
 * first connection must succeed within the timeout (a wrong URL is told at
 * start); after that the client reconnects for ever, every second, and
 * requests in between fail fast or time out (the gateway answers 503).
 */
export async function connectNats(url: string, opts: NatsOptions): Promise<NatsConnection> {
  const servers = url.split(',').map((s) => s.trim()).filter(Boolean);
  if (servers.length === 0) throw new ClusterStartError('--nats needs a URL, e.g. nats://127.0.0.1:4222');
  let nc: NatsConnection;
  try {
    nc = await connect({ servers, name: opts.name, timeout: opts.connectTimeoutMs ?? 5000, maxReconnectAttempts: -1, reconnectTimeWait: 1000 });
  } catch (e) {
    throw new ClusterStartError(redactSecrets(`cannot connect to NATS at ${url}: ${(e as Error).message}`));
  }
  if (opts.onStatus) {
    const onStatus = opts.onStatus;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') onStatus(s.type === 'disconnect' ? 'disconnected' : 'reconnected', redactSecrets(String(s.server)));
      }
    })().catch(() => {});
  }
  return nc;
}

/** The JetStream manager of a connection, or a ClusterStartError when that NATS has no JetStream (started without -js). */
export async function openJetStream(nc: NatsConnection): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc);
  } catch (e) {
    throw new ClusterStartError(`NATS at ${nc.getServer()} has no JetStream (start nats-server with -js -sd DIR): ${(e as Error).message}`);
  }
}

/** A stream's settings as CityBrain needs them: its name and subjects always given. */
export type StreamSettings = Partial<StreamConfig> & { name: string; subjects: string[] };

export interface EventsStreamOptions {
  /** copies of the stream in a NATS cluster; default 1 (one server); 3 survives the loss of a node */
  replicas?: number;
  /** ms an event is kept in the stream (limits retention); default 0, no age limit (the writers' store keeps history) */
  maxAge?: number;
  /** ms within which a message id seen before is dropped (a gateway's retry); default DEFAULT_DUPLICATE_WINDOW_MS */
  duplicateWindow?: number;
}

/** Two minutes: JetStream's own default, longer than any device's retry after a 503's Retry-After. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

/** The stream's settings as CityBrain needs them. */
export function eventsStreamConfig(o: EventsStreamOptions = {}): StreamSettings {
  const replicas = o.replicas ?? 1;
  const maxAge = o.maxAge ?? 0;
  const window = o.duplicateWindow ?? DEFAULT_DUPLICATE_WINDOW_MS;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new RangeError(`events stream: replicas must be 1 to 5, got ${replicas}`);
  if (!(maxAge >= 0)) throw new RangeError(`events stream: maxAge must be ms >= 0, got ${maxAge}`);
  if (!(window >= 100)) throw new RangeError(`events stream: duplicateWindow must be ms >= 100, got ${window}`);
  // JetStream refuses a duplicate window longer than max_age
  if (maxAge > 0 && window > maxAge) throw new RangeError(`events stream: duplicateWindow (${window} ms) must not exceed maxAge (${maxAge} ms)`);
  return {
    name: EVENTS_STREAM,
    subjects: [EVENTS_SUBJECTS],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: replicas,
    max_age: nanos(maxAge),
    duplicate_window: nanos(window),
  };
}

/**
 * Creates the events stream, or brings the one there to these settings (ensureStream); storage or retention of
 * another kind cannot be changed in place and are refused, naming the setting.
 */
export function ensureEventsStream(jsm: JetStreamManager, o: EventsStreamOptions = {}, onUpdate?: (changes: string[]) => void): Promise<StreamInfo> {
  return ensureStream(jsm, eventsStreamConfig(o), `move its messages elsewhere and delete it (nats stream rm ${EVENTS_STREAM}), or point the cluster at another NATS`, onUpdate);
}

/**
 * Creates a stream, or checks the one there: settings JetStream can change (subjects, replicas, age, duplicate
 * window) are updated to `want`, and `onUpdate` hears what changed; storage or retention of another kind cannot
 * be changed in place and are refused, naming the setting and what to do (`remedy`).
 */
async function ensureStream(
  jsm: JetStreamManager, want: StreamSettings, remedy: string, onUpdate?: (changes: string[]) => void,
): Promise<StreamInfo> {
  const name = want.name;
  let have: StreamInfo;
  try {
    have = await jsm.streams.info(name);
  } catch (e) {
    if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) return jsm.streams.add(want);
    throw e;
  }
  const c = have.config;
  for (const k of ['storage', 'retention'] as const) {
    if (c[k] !== want[k]) throw new ClusterStartError(`stream ${name} exists with ${k} "${c[k]}", CityBrain needs "${want[k]}" (which cannot be changed in place): ${remedy}`);
  }
  const changes: string[] = [];
  if (c.subjects.join() !== want.subjects.join()) changes.push(`subjects ${JSON.stringify(c.subjects)} -> ${JSON.stringify(want.subjects)}`);
  if (c.num_replicas !== want.num_replicas) changes.push(`replicas ${c.num_replicas} -> ${want.num_replicas}`);
  if (c.max_age !== want.max_age) changes.push(`max age ${millis(c.max_age)} ms -> ${millis(want.max_age!)} ms`);
  if (c.duplicate_window !== want.duplicate_window) changes.push(`duplicate window ${millis(c.duplicate_window)} ms -> ${millis(want.duplicate_window!)} ms`);
  if (changes.length === 0) return have;
  let info: StreamInfo;
  try {
    info = await jsm.streams.update(name, { ...c, ...want });
  } catch (e) {
    throw new ClusterStartError(`stream ${name} exists with other settings (${changes.join(', ')}) and JetStream refused to update it: ${(e as Error).message}`);
  }
  onUpdate?.(changes);
  return info;
}

export interface PlatesStreamOptions {
  /** copies of the stream in a NATS cluster; default 1 */
  replicas?: number;
  /** ms a clear plate read is kept if the watchlist has not taken it; default DEFAULT_PLATES_MAX_AGE_MS */
  maxAge?: number;
}

/** Ten minutes: a restarting API server finds the reads it missed, and no clear plate stays longer. */
export const DEFAULT_PLATES_MAX_AGE_MS = 600_000;

/**
 * The plates stream's settings: the clear plate reads on their way to the
 * watchlist, the only place a clear plate transits in a cluster. Memory
 * storage (NATS never writes them to disk; a NATS restart loses the reads
 * the watchlist had not taken yet), limits retention with a max age of
 * minutes, the events stream's duplicate window for a gateway's retry.
 */
export function platesStreamConfig(o: PlatesStreamOptions = {}): StreamSettings {
  const replicas = o.replicas ?? 1;
  const maxAge = o.maxAge ?? DEFAULT_PLATES_MAX_AGE_MS;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new RangeError(`plates stream: replicas must be 1 to 5, got ${replicas}`);
  if (!(maxAge >= 1000 && maxAge <= 3_600_000)) throw new RangeError(`plates stream: maxAge must be 1000 to 3600000 ms (clear plates are kept minutes, not longer), got ${maxAge}`);
  return {
    name: PLATES_STREAM,
    subjects: [PLATES_SUBJECTS],
    storage: StorageType.Memory,
    retention: RetentionPolicy.Limits,
    num_replicas: replicas,
    max_age: nanos(maxAge),
    duplicate_window: nanos(Math.min(DEFAULT_DUPLICATE_WINDOW_MS, maxAge)),
  };
}

/**
 * Creates the plates stream, or brings the one there to these settings (ensureStream); one stored on file (not by
 * CityBrain) is refused: clear plates must not be kept on a disk.
 */
export function ensurePlatesStream(jsm: JetStreamManager, o: PlatesStreamOptions = {}): Promise<StreamInfo> {
  return ensureStream(jsm, platesStreamConfig(o), `CityBrain keeps clear plate reads in memory with limits retention: delete it (nats stream rm ${PLATES_STREAM}) and start again`);
}

/**
 * Follows `subject` of the events stream from `replayMs` ago on (an ordered consumer: a reader's, nothing
 * acknowledged), each message's events to `take`; a message that is no event batch goes to `bad`, is logged
 * and skipped (only the writers, whose consumer is durable, terminate one). The brain workers follow their
 * regions' subjects this way, the API server of a cluster all of them.
 */
export async function followEvents(
  js: JetStreamClient, subject: string, replayMs: number,
  on: { take: (events: Event[], m: JsMsg) => void; bad: (m: JsMsg, error: string) => void; log: (line: string) => void },
): Promise<ConsumerMessages> {
  const consumer = await js.consumers.get(EVENTS_STREAM, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(Date.now() - replayMs).toISOString(),
  });
  const messages = await consumer.consume();
  void (async () => {
    for await (const m of messages) {
      const got = decodeEvents(m.data);
      if ('error' in got) {
        on.bad(m, got.error);
        on.log(`${m.subject} #${m.seq}: ${got.error}`);
        continue;
      }
      on.take(got.events, m);
    }
  })().catch((e: unknown) => on.log(`the events consumer stopped: ${(e as Error).message}`));
  return messages;
}

/**
 * A KV bucket's keys, or undefined when the listing has not finished within `ms`. Listing a
 * bucket whose keys expire (the workers' and owners' keys have a TTL) can block and never
 * end (nats-server#3481); a worker's ownership round waiting on it would stop claiming the
 * regions of a worker killed -9, and a cluster view would never answer. The caller keeps
 * what it knew and tries again next round.
 */
export async function keysWithin(kv: KV, ms: number): Promise<string[] | undefined> {
  const it = await kv.keys();
  const out: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const listed = (async () => {
    for await (const k of it) out.push(k);
    return true;
  })();
  listed.catch(() => {}); // past the deadline, an error of the abandoned listing has no one to tell
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([listed, late]);
  clearTimeout(timer);
  if (done) return out;
  it.stop();
  return undefined;
}
