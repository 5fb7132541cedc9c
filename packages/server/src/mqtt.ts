/**
 * MQTT ingestion. Devices publish with QoS 1 to
 * `{prefix}/devices/{deviceId}/events`; the payload is JSON
 * `{"token": "<device token>", "events": [...]}` (or `"event": {...}` for one).
 *
 * Authentication is by the device token in the payload, checked exactly as
 * over HTTP, plus: the token's device must be the topic's deviceId. (A broker
 * ACL restricting each device to its own topic is good defence in depth, but
 * the server does not rely on it.)
 *
 * Durability: MQTT acknowledges hop by hop. The broker acknowledges the
 * device; this adapter holds a persistent session (clean start off, session
 * expiry one day, a client id of its own that a restart reuses: see
 * `sessionClientId`) and sends the broker its PUBACK only after
 * the store committed, so a crash before the commit makes the broker deliver
 * the message again, and the (device, id) key stores it once. When the queue
 * is full the PUBACK is held, the broker stops sending (its in-flight window
 * fills) and keeps further messages queued. Messages that are malformed, not
 * authorised, out of scope or over the rate limit are logged, counted, acked
 * with an MQTT 5 reason code and not stored; the reason is published to the
 * device's `{prefix}/devices/{deviceId}/errors` (a broker acknowledges the
 * publisher itself, so that code never reaches the device). mqtt.js hands
 * over one message at a time, so put many events in a message for throughput.
 * Several servers share the device topics with `shareGroup` (an MQTT shared
 * subscription): each message goes to one of them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import type { FastifyBaseLogger } from 'fastify';
import type { Auth } from './auth.js';
import { HttpError } from './errors.js';
import { DEFAULT_INGEST_BODY_LIMIT, type IngestPipeline, type RejectReason } from './ingest.js';
import { redactSecrets } from './redact.js';
import { parseJsonBytes } from './text.js';
import { PostgresStore } from './store/postgres.js';
import { SqliteStore } from './store/sqlite.js';
import { EventConflictError, type EventStore } from './store/store.js';


export interface MqttIngestOptions {
  /** broker URL, e.g. mqtt://127.0.0.1:1883 */
  url: string;
  pipeline: IngestPipeline;
  auth: Auth;
  /** topic prefix; default 'citybrain' */
  topicPrefix?: string;
  /** client id of the persistent session; default `sessionClientId(store, topicPrefix)`, this server's own */
  clientId?: string;
  /**
   * share the device topics with the other servers subscribed under this
   * group name (`$share/{group}/...`): each message goes to one of them; by
   * default every server gets every message
   */
  shareGroup?: string;
  username?: string;
  password?: string;
  /** largest payload, bytes; default 1 MiB like HTTP */
  maxPayloadBytes?: number;
  logger?: FastifyBaseLogger;
  /** default 5000 */
  connectTimeoutMs?: number;
}

/**
 * The persistent session's default client id: unique to this server's data,
 * and the same after a restart, so the session (and what the broker queued
 * for it while the server was away) is resumed, and two servers on one
 * broker do not take each other's session. With SQLite, a random id kept in
 * a file beside the database (`<db>.mqtt-client-id`), so it moves with the
 * data; with PostgreSQL, whose data several servers may share, derived from
 * this host's name, the schema and the topic prefix (give each server a
 * `clientId` of its own when host names are not stable, e.g. in containers).
 */
export function sessionClientId(store: EventStore, topicPrefix = 'citybrain'): string {
  if (store instanceof SqliteStore) {
    const file = `${store.path}.mqtt-client-id`;
    if (existsSync(file)) {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[A-Za-z0-9-]{1,23}$/.test(id)) return id;
    }
    // 23 characters: the longest id every MQTT 3.1.1 broker must accept
    const id = `citybrain-${randomBytes(6).toString('hex')}`;
    writeFileSync(file, `${id}\n`, { mode: 0o600 });
    return id;
  }
  const schema = store instanceof PostgresStore ? store.schema : '';
  return `citybrain-${createHash('sha256').update(`${hostname()}\0${store.backend}\0${schema}\0${topicPrefix}`).digest('hex').slice(0, 12)}`;
}

// MQTT 5 PUBACK reason codes
const RC = { ok: 0, unauthorized: 0x87, quota: 0x97, badPayload: 0x99 } as const;

const reasonCode: Record<RejectReason, number> = {
  invalid: RC.badPayload, conflict: RC.badPayload, too_large: RC.badPayload, unsupported_media_type: RC.badPayload,
  unauthenticated: RC.unauthorized, forbidden: RC.unauthorized, rate_limited: RC.quota, backpressure: RC.quota, store_error: RC.quota, stream_unavailable: RC.quota,
};

/** Waits before retry `attempt` (0, 1, …) of what failed through no fault of the message: 0.1 s, doubling, at most 5 s. */
function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
}

/** The broker could not be reached or refused the subscription: a problem of the --mqtt option or the network, not a bug. */
/** Resolves when `client` connects, rejects on its first error or after `timeoutMs` ("no answer within ..."). */
export function connected(client: MqttClient, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    client.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export class MqttStartError extends Error {
  override readonly name = 'MqttStartError';
}

export class MqttIngest {
  private closing = false;

  private constructor(readonly client: MqttClient, readonly topic: string, private readonly prefix: string) {}

  /**
   * Publishes what the brain tells the field (e.g. incidents to the traffic
   * police's systems) on `{prefix}/{suffix}`, JSON, QoS 1, over the same
   * connection; while the broker is away mqtt.js queues it and sends it on
   * reconnection. `qos` 0 for messages the next one supersedes (SPaT).
   */
  async publish(suffix: string, message: unknown, qos: 0 | 1 = 1): Promise<void> {
    await this.client.publishAsync(`${this.prefix}/${suffix}`, JSON.stringify(message), { qos });
  }

  static async start(opts: MqttIngestOptions): Promise<MqttIngest> {
    // the broker hands over the messages queued for the session at once: before the app is ready they would be judged without the server's event checks
    if (!opts.pipeline.ready) throw new Error('cannot start MQTT ingestion before the app is ready: await app.ready() before MqttIngest.start');
    const prefix = opts.topicPrefix ?? 'citybrain';
    if (opts.shareGroup !== undefined && !/^[^/+#]+$/.test(opts.shareGroup)) throw new MqttStartError(`MQTT share group "${opts.shareGroup}" must be a non-empty name without / + #`);
    const topic = `${opts.shareGroup !== undefined ? `$share/${opts.shareGroup}/` : ''}${prefix}/devices/+/events`;
    const clientId = opts.clientId ?? sessionClientId(opts.auth.store, prefix);
    const topicRe = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/devices/([^/]+)/events$`);
    const maxBytes = opts.maxPayloadBytes ?? DEFAULT_INGEST_BODY_LIMIT;
    const log = opts.logger;
    let self: MqttIngest | undefined;

    const refuse = (device: string, reason: RejectReason, message: string, done: (code: number) => void) => {
      opts.pipeline.reject('mqtt', reason);
      log?.warn({ device, reason }, `MQTT message refused: ${message}`);
      done(reasonCode[reason]);
      // the broker acknowledged the device already (whatever code the PUBACK above carries): tell it on its own reply topic
      if (device === '?') return;
      const refusal = { reason, reasonCode: reasonCode[reason], message, at: Date.now() };
      client.publishAsync(`${prefix}/devices/${device}/errors`, JSON.stringify(refusal), { qos: 1 })
        .catch((e: unknown) => log?.error({ err: e, device }, 'MQTT refusal not published to the device'));
    };

    const handle = async (t: string, payload: Buffer, done: (code: number) => void): Promise<void> => {
      const device = topicRe.exec(t)?.[1];
      if (device === undefined) return refuse('?', 'invalid', `unexpected topic ${t}`, done);
      if (payload.length > maxBytes) return refuse(device, 'too_large', `payload of ${payload.length} bytes is over the ${maxBytes}-byte limit`, done);
      const parsed = parseJsonBytes(payload);
      if ('error' in parsed) return refuse(device, 'invalid', `payload is ${parsed.error}`, done);
      const msg = parsed.value;
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg) || typeof (msg as { token?: unknown }).token !== 'string') {
        return refuse(device, 'invalid', 'payload must be an object {"token": "...", "events": [...]} or {"token": "...", "event": {...}}', done);
      }
      const { token, events, event } = msg as { token: string; events?: unknown; event?: unknown };
      // a failed lookup is the store's fault, not the message's: retry it like a failed commit, the PUBACK waiting
      let principal;
      for (let attempt = 0; ; attempt++) {
        try {
          principal = await opts.auth.authenticate(token);
          break;
        } catch (e) {
          if (self?.closing) return; // no PUBACK: the broker redelivers to the next session
          log?.error({ err: e, device, attempt }, 'MQTT token lookup failed; retrying');
          await backoff(attempt);
        }
      }
      if (!principal) return refuse(device, 'unauthenticated', 'unknown or revoked token', done);
      if (principal.device !== device) {
        return refuse(device, 'forbidden', `token ${principal.tokenId} is for device "${principal.device ?? principal.role}", not the topic's "${device}"`, done);
      }
      if (opts.auth.takeRate(principal.tokenId) > 0) return refuse(device, 'rate_limited', `token ${principal.tokenId} is over its rate limit`, done);
      let batch;
      try {
        batch = opts.pipeline.admit(principal, events !== undefined ? { events } : event);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        return refuse(device, e.statusCode === 403 ? 'forbidden' : 'invalid', e.message, done);
      }
      // store failures are retried: the PUBACK waits, so nothing acknowledged is lost
      for (let attempt = 0; ; attempt++) {
        try {
          await opts.pipeline.ingestWhenRoom(batch, 'mqtt');
          return done(RC.ok);
        } catch (e) {
          // a second reading under a stored id is the message's fault: retrying it would hold every later message
          if (e instanceof EventConflictError) return refuse(device, 'conflict', e.message, done);
          if (self?.closing) return; // no PUBACK: the broker redelivers to the next session
          log?.error({ err: e, device, attempt }, 'MQTT batch not stored; retrying');
          await backoff(attempt);
        }
      }
    };

    const client = mqtt.connect(opts.url, {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 86400 },
      username: opts.username,
      password: opts.password,
      reconnectPeriod: 1000,
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      customHandleAcks: (t, payload, _packet, done) => {
        handle(t, payload, (code) => done(code)).catch((e: unknown) => {
          log?.error({ err: e }, 'MQTT message handling failed');
          done(RC.badPayload);
        });
      },
    });
    client.on('error', (e) => log?.error({ err: e }, 'MQTT client error'));

    try {
      await connected(client, opts.connectTimeoutMs ?? 5000);
      // the session keeps its subscriptions: a server joining a share group must also leave the plain one, or it still gets every message
      if (opts.shareGroup !== undefined) await client.unsubscribeAsync(`${prefix}/devices/+/events`);
      await client.subscribeAsync(topic, { qos: 1 });
    } catch (e) {
      await client.endAsync(true);
      throw new MqttStartError(redactSecrets(`cannot start MQTT ingestion from ${opts.url}: ${(e as Error).message}`));
    }
    log?.info({ url: redactSecrets(opts.url), topic }, 'MQTT ingestion subscribed');
    self = new MqttIngest(client, topic, prefix);
    return self;
  }

  /** Disconnects; messages not yet acknowledged are redelivered to the next session. */
  async close(): Promise<void> {
    this.closing = true;
    await this.client.endAsync();
  }
}
