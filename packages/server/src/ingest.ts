/**
 * The ingestion pipeline between the transports (HTTP, MQTT) and the durable
 * step (an EventSink: the store in one process, JetStream on a gateway):
 * a bounded count of events admitted but not yet durable. A batch that would
 * exceed it is refused at once (HTTP 429 + Retry-After; MQTT holds its
 * PUBACK), never dropped after acceptance. Also the ingestion metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { checkDeviceScope, type Principal } from './auth.js';
import { HttpError } from './errors.js';
import { canonicalEvent, checkClockSkew, DEFAULT_CLOCK_SKEW, describeSchemaErrors, eventBatchSchema, normalizeEvent, type ClockSkew, type Event, type EventInput, type SchemaError } from '@citybrain/brain';
import type { AppendResult, CommitListener } from './store/store.js';
import { compileBodyValidator } from './validation.js';

/** Largest batch a transport takes, bytes (an HTTP body, an MQTT payload); default of both. */
export const DEFAULT_INGEST_BODY_LIMIT = 1 << 20;

export type RejectReason =
  | 'invalid' | 'conflict' | 'unauthenticated' | 'forbidden' | 'too_large' | 'unsupported_media_type' | 'rate_limited' | 'backpressure' | 'store_error' | 'stream_unavailable';

export interface IngestOptions {
  /** events admitted and not yet committed before new batches are refused; default 100000 */
  maxQueuedEvents?: number;
  /** where the metrics go; required, so two apps in one process do not clash */
  registry: Registry;
  /** how far from the server clock a device's `ts` may be; default DEFAULT_CLOCK_SKEW (5 min ahead, 7 days behind); false accepts any */
  clockSkew?: ClockSkew | false;
}

/**
 * Where an admitted batch becomes durable: the pipeline's one seam between
 * admission (the same everywhere) and what durable means. An EventStore is
 * one (one process: the database); a gateway's JetStream publisher another
 * (cluster/gateway.ts: durable once the stream acknowledged it). `append`
 * resolves only once the batch is durable, all or nothing for the device:
 * anything short of that rejects, and the device is not acknowledged.
 */
export interface EventSink {
  /**
   * `accepted`: ids durable by this call; `duplicates`: ids durable from an earlier try.
   * `asRead`: the same events as they came, before the stored form (a plate as read, not its
   * keyed hash), in memory, for a sink that must hand the clear read on (a gateway: the
   * watchlist's plates stream); a store ignores it.
   */
  append(events: readonly Event[], asRead?: readonly Event[]): Promise<AppendResult>;
  /** called after each durable write (its events and seconds), for the metrics */
  onCommit(listener: CommitListener): () => void;
}

/**
 * The event stream a gateway publishes to did not acknowledge the batch in
 * time (JetStream down, no quorum, timeout): answered 503 with Retry-After
 * (CB_STREAM_UNAVAILABLE); over MQTT the PUBACK is withheld. Part of it may
 * have reached the stream: the retry is de-duplicated by its message ids.
 */
export class StreamUnavailableError extends Error {
  override readonly name = 'StreamUnavailableError';
  constructor(message: string, readonly retryAfterSeconds = 2) {
    super(message);
  }
}

/** The queue is full: retry later. */
export class BackpressureError extends Error {
  override readonly name = 'BackpressureError';
  constructor(readonly retryAfterSeconds: number) {
    super(`ingestion queue is full; retry after ${retryAfterSeconds} s`);
  }
}

/**
 * Whether a body is one event rather than a batch: an object without `events`
 * that has an event's fields, so an event missing its `kind` is told so (and
 * not that `events` is missing).
 */
function isSingleEvent(body: unknown): body is object {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && !('events' in body) && ['kind', 'id', 'device', 'ts'].some((k) => k in body);
}

/** A bare array or a single event wrapped as a batch ({events}), so error paths always read events[i]; anything else as it is. */
export function asBatch(body: unknown): unknown {
  return Array.isArray(body) ? { events: body } : isSingleEvent(body) ? { events: [body] } : body;
}

/**
 * Whose clock an event's `ts` is on: a device's, held to the server clock's
 * skew; or the virtual city's simulated clock, ahead of the server's when it
 * runs faster than real time: the one exception to the skew rule (every other
 * check applies to it).
 */
export type EventClock = 'device' | 'simulated';

/** A compiled validator for the batch body ({events: [...]}), as Fastify's Ajv would build it for a route. */
export type BatchValidator = ((data: unknown) => boolean) & { errors?: (SchemaError & { schemaPath: string })[] | null };

/**
 * A check of a schema-valid event against what the server knows besides the
 * schema (startServer: the network's lanes): why it is refused, naming the
 * field under `path`, or undefined.
 */
export type EventCheck = (e: Event, path: string) => string | undefined;

/**
 * Normalises schema-valid events and checks the principal may publish them
 * (and, given `clock`, that their timestamps are within its skew of `now`).
 * Throws HttpError 400/403 naming the first offending event; all or nothing.
 */
export function prepareBatch(p: Principal, input: readonly EventInput[], check?: EventCheck, clock?: { now: number; skew: Readonly<ClockSkew> }): Event[] {
  const events: Event[] = new Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const e = normalizeEvent(input[i], `events[${i}]`);
    if (typeof e === 'string') throw new HttpError('CB_INVALID_EVENT', e);
    const skewed = clock && checkClockSkew(e.ts, clock.now, clock.skew, `events[${i}]`);
    if (skewed) throw new HttpError('CB_CLOCK_SKEW', skewed);
    const bad = check?.(e, `events[${i}]`);
    if (bad) throw new HttpError('CB_INVALID_EVENT', bad);
    events[i] = e;
  }
  const repeated = findConflictingRepeat(events);
  if (repeated) throw new HttpError('CB_INVALID_EVENT', repeated);
  const denied = checkDeviceScope(p, events);
  if (denied) throw new HttpError('CB_OUT_OF_SCOPE', denied);
  return events;
}

/**
 * An id given twice in one batch to events that differ: the store would keep
 * the first and call the second a duplicate, losing a reading. An exact
 * repeat (a gateway resending) is harmless and stays a duplicate.
 */
function findConflictingRepeat(events: readonly Event[]): string | undefined {
  const first = new Map<string, number>();
  for (let i = 0; i < events.length; i++) {
    const key = `${events[i].device}\u0000${events[i].id}`;
    const j = first.get(key);
    if (j === undefined) first.set(key, i);
    else if (canonicalEvent(events[i]) !== canonicalEvent(events[j])) {
      return `events[${i}].id: "${events[i].id}" is also the id of events[${j}], with other fields; ids must be unique per device`;
    }
  }
  return undefined;
}


export class IngestPipeline {
  /** the batch schema's one validator: the HTTP route validates with it, and `admit` (MQTT) does */
  readonly validator: BatchValidator = compileBodyValidator(eventBatchSchema) as BatchValidator;
  private opened = false;
  private eventCheck: EventCheck | undefined;
  private storedForm: ((e: Event) => Event) | undefined;
  readonly maxQueuedEvents: number;
  /** what a device's ts may differ from the server clock (not the virtual city's: it runs on its own clock, see EventClock) */
  readonly clockSkew: Readonly<ClockSkew> | false;
  private queued = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  private readonly m: {
    accepted: Counter<'source'>; duplicates: Counter<'source'>; rejected: Counter<'source' | 'reason'>;
    requestSize: Histogram; commitSize: Histogram; commitSeconds: Histogram; ackSeconds: Histogram<'source'>; depth: Gauge;
  };
  private readonly unsubscribe: () => void;
  private readonly acceptedListeners = new Set<(events: readonly Event[]) => void>();

  constructor(readonly sink: EventSink, opts: IngestOptions) {
    this.maxQueuedEvents = opts.maxQueuedEvents ?? 100000;
    this.clockSkew = opts.clockSkew ?? DEFAULT_CLOCK_SKEW;
    if (this.clockSkew) {
      for (const k of ['aheadMs', 'behindMs'] as const) {
        const v = this.clockSkew[k];
        if (!(typeof v === 'number' && v >= 0)) throw new RangeError(`ingestion: clockSkew.${k} must be a number of ms >= 0, got ${String(v)}`);
      }
    }
    const registers = [opts.registry];
    const depthOf = () => this.queued;
    this.m = {
      accepted: new Counter({ name: 'citybrain_ingest_events_accepted_total', help: 'Events stored durably', labelNames: ['source'], registers }),
      duplicates: new Counter({ name: 'citybrain_ingest_events_duplicate_total', help: 'Events already stored (retries), acknowledged without a second copy', labelNames: ['source'], registers }),
      rejected: new Counter({ name: 'citybrain_ingest_rejected_total', help: 'Ingestion requests or messages refused, by reason', labelNames: ['source', 'reason'], registers }),
      requestSize: new Histogram({ name: 'citybrain_ingest_batch_events', help: 'Events per accepted request or message', buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000], registers }),
      commitSize: new Histogram({ name: 'citybrain_store_commit_events', help: 'Events per group commit', buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 20000], registers }),
      commitSeconds: new Histogram({ name: 'citybrain_store_commit_seconds', help: 'Duration of a group commit (until durable)', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers }),
      ackSeconds: new Histogram({ name: 'citybrain_ingest_ack_seconds', help: 'From admission to durable acknowledgement of a batch', labelNames: ['source'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers }),
      depth: new Gauge({ name: 'citybrain_ingest_queue_events', help: 'Events admitted and not yet durable', registers, collect() { this.set(depthOf()); } }),
    };
    this.unsubscribe = sink.onCommit((c) => {
      this.m.commitSize.observe(c.events);
      this.m.commitSeconds.observe(c.seconds);
    });
  }

  /**
   * Called by the app once it is ready: by then every event check the server
   * adds (startServer: the network's lanes) is in place, so a transport's
   * first messages (those a broker queued meanwhile) are judged like later ones.
   */
  open(): void {
    this.opened = true;
  }

  /** Adds a check every event from a transport must pass (HTTP and MQTT alike), e.g. against the network. */
  setEventCheck(check: EventCheck): void {
    this.eventCheck = check;
  }

  /**
   * What the store keeps of an event (startServer: a plate read's keyed hash
   * instead of the plate); the listeners (`onAccepted`) still get the event
   * as it came, in memory. Must be deterministic, so a retry is a duplicate.
   */
  setStoredForm(form: (e: Event) => Event): void {
    this.storedForm = form;
  }

  /** prepareBatch with this pipeline's event check and clock skew (for a device's clock): what the transports admit. */
  prepare(p: Principal, input: readonly EventInput[], clock: EventClock = 'device'): Event[] {
    return prepareBatch(p, input, this.eventCheck, this.clockSkew && clock === 'device' ? { now: Date.now(), skew: this.clockSkew } : undefined);
  }

  /** Whether the app is ready, so transports may take messages. */
  get ready(): boolean {
    return this.opened;
  }

  /**
   * Validates a body ({events}, a bare array or one event) against the event
   * schema, normalises and scope-checks it: the HTTP route's rules for
   * transports that do not go through Fastify (MQTT) and the virtual city's
   * devices (city/field-admission.ts, on their simulated clock).
   */
  admit(p: Principal, body: unknown, clock: EventClock = 'device'): Event[] {
    if (!this.opened) throw new Error('the ingestion pipeline is not open yet: await app.ready() first');
    const wrapped = asBatch(body);
    if (!this.validator(wrapped)) throw new HttpError('CB_INVALID_REQUEST', describeSchemaErrors(this.validator.errors ?? [], wrapped));
    return this.prepare(p, (wrapped as { events: EventInput[] }).events, clock);
  }

  /** Events admitted and not yet durable. */
  get depth(): number {
    return this.queued;
  }

  /**
   * Stores a validated, authorised batch; resolves once it is durable.
   * Throws BackpressureError at once when the queue cannot take it.
   */
  async ingest(events: readonly Event[], source: string): Promise<AppendResult> {
    if (this.queued > 0 && this.queued + events.length > this.maxQueuedEvents) throw new BackpressureError(1);
    return this.run(events, source);
  }

  /** Like ingest, but waits for room instead of refusing (MQTT: the broker holds further messages meanwhile). */
  async ingestWhenRoom(events: readonly Event[], source: string): Promise<AppendResult> {
    while (this.queued > 0 && this.queued + events.length > this.maxQueuedEvents) {
      await new Promise<void>((resolve) => this.waiters.push({ n: events.length, resolve }));
    }
    return this.run(events, source);
  }

  private async run(events: readonly Event[], source: string): Promise<AppendResult> {
    this.queued += events.length;
    const t0 = performance.now();
    try {
      const r = await this.sink.append(this.storedForm ? events.map(this.storedForm) : events, events);
      if (this.acceptedListeners.size > 0 && r.accepted.length > 0) {
        // consumers (the brain's state estimate) see each event once, after it is durable
        // (an exact repeat inside the batch is a duplicate of its first copy, which was stored: keep that one)
        let fresh = events;
        if (r.duplicates.length > 0) {
          const left = new Map<string, number>();
          for (const id of r.accepted) left.set(id, (left.get(id) ?? 0) + 1);
          fresh = events.filter((e) => {
            const n = left.get(e.id) ?? 0;
            if (n > 0) left.set(e.id, n - 1);
            return n > 0;
          });
        }
        for (const fn of this.acceptedListeners) fn(fresh);
      }
      this.m.accepted.inc({ source }, r.accepted.length);
      if (r.duplicates.length) this.m.duplicates.inc({ source }, r.duplicates.length);
      this.m.requestSize.observe(events.length);
      this.m.ackSeconds.observe({ source }, (performance.now() - t0) / 1000);
      return r;
    } finally {
      this.queued -= events.length;
      this.wake();
    }
  }

  private wake(): void {
    while (this.waiters.length > 0 && (this.queued === 0 || this.queued + this.waiters[0].n <= this.maxQueuedEvents)) {
      this.waiters.shift()!.resolve();
    }
  }

  /** Called with each batch's newly stored events once they are durable; returns an unsubscribe function. */
  onAccepted(fn: (events: readonly Event[]) => void): () => void {
    this.acceptedListeners.add(fn);
    return () => this.acceptedListeners.delete(fn);
  }

  /** Counts a refused request or message (the transports call this; nothing here counts twice). */
  reject(source: string, reason: RejectReason): void {
    this.m.rejected.inc({ source, reason });
  }

  close(): void {
    this.unsubscribe();
  }
}
