/**
 * The names a CityBrain cluster agrees on (issue #20): one stream of device
 * events partitioned by region, the plans out, the owners' and workers' KV
 * buckets. Every role (gateway, writer, brain worker, API server) takes them
 * from here, so a name changes in one place.
 *
 * - Events: stream `CITY_EVENTS`, subjects `city.events.<region>`; a batch
 *   accepted by a gateway is published as one message per region it touches
 *   (the events of one device stay in order within a region's subject), each
 *   with a `Nats-Msg-Id` made from the events' (device, id) keys so a gateway
 *   retrying after a lost ack is de-duplicated within the stream's window; the
 *   writer's store is idempotent on (device, id) beyond it. Events naming no
 *   intersection (parking bays, AVL without one) go to the `_city` partition.
 * - Plans: `city.plans.<region>.<intersection>` (the signed plan, as on MQTT).
 * - Ownership: KV bucket `city-owners`, key = region, value = the worker id,
 *   kept alive by the owner within the bucket's TTL; a region whose key
 *   expired (its worker died) is claimed by another worker.
 * - Health: KV bucket `city-workers`, key = worker id, value = its health.
 * - Plate reads as read: stream `CITY_PLATES`, subjects `city.plates.<region>`,
 *   held in memory for minutes (platesStreamConfig). The events stream, the
 *   store and the workers hold a plate only as its keyed hash; the watchlist's
 *   rules (OCR-tolerant matching, clones, taxis) need the clear read, so a
 *   gateway also publishes each plate read there before it acknowledges the
 *   device, and the API server's watchlist takes them through one durable
 *   consumer (`watchlist`). It is the only place a clear plate transits.
 */
import { createHash } from 'node:crypto';
import type { Event } from '@citybrain/brain';

export const EVENTS_STREAM = 'CITY_EVENTS';
export const EVENTS_SUBJECTS = 'city.events.>';
/** Every plan of every region (what a gateway serves to field controllers, what the API server shows). */
export const PLANS_SUBJECTS = 'city.plans.>';
/** The partition of events that name no intersection. */
export const CITY_PARTITION = '_city';
export const OWNERS_BUCKET = 'city-owners';
export const WORKERS_BUCKET = 'city-workers';
/** The clear plate reads, for the watchlist only (see above). */
export const PLATES_STREAM = 'CITY_PLATES';
export const PLATES_SUBJECTS = 'city.plates.>';
/** The watchlist's durable consumer on the plates stream (the API server that runs the watchlist). */
export const WATCHLIST_CONSUMER = 'watchlist';
/** The writers' durable consumer (one group of writers shares it). */
export const WRITER_CONSUMER = 'writers';

/** A region id as a subject token: NATS tokens may not hold '.', '*', '>' or white space. */
export function subjectToken(id: string): string {
  if (id.length === 0 || /[.*>\s]/.test(id)) throw new RangeError(`cluster: "${id}" cannot be a subject token (no '.', '*', '>' or spaces)`);
  return id;
}

export function eventsSubject(region: string): string {
  return `city.events.${subjectToken(region)}`;
}

export function platesSubject(region: string): string {
  return `city.plates.${subjectToken(region)}`;
}

export function plansSubject(region: string, intersection: string): string {
  return `city.plans.${subjectToken(region)}.${subjectToken(intersection)}`;
}

/** The region a subject `city.events.<region>` carries. */
export function regionOfSubject(subject: string): string {
  const p = subject.split('.');
  if (p.length !== 3 || p[0] !== 'city' || p[1] !== 'events') throw new RangeError(`cluster: "${subject}" is not an events subject`);
  return p[2];
}

/**
 * The message id of a batch of events: a digest of their (device, id) keys in
 * order, so the same batch retried gets the same id (JetStream drops it within
 * the duplicate window) and different batches never share one.
 */
export function batchMsgId(events: readonly Pick<Event, 'device' | 'id'>[]): string {
  const h = createHash('sha256');
  for (const e of events) h.update(`${e.device}\u0000${e.id}\u0001`);
  return h.digest('base64url').slice(0, 32);
}
