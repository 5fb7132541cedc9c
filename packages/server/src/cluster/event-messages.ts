/**
 * What a message on `city.events.<region>` is, and which region an event
 * belongs to: the gateways write it, the writers and brain workers read it,
 * so both sides take the rule from here.
 *
 * A message is JSON `{"events": [...]}`: events as the gateway admitted them
 * (normalised: `ts` in epoch ms, a plate as its keyed hash), in the order the
 * device sent them.
 */
import type { Network } from '@citybrain/engine';
import { cityRegions, eventIntersection, regionOfIntersections, type Event } from '@citybrain/brain';
import { batchMsgId, CITY_PARTITION, eventsSubject } from './subjects.js';

/** The region (partition) an event goes to. */
export type Partitioner = (e: Event) => string;

/** A city's partitions: each intersection's region, the partitions' ids (`_city` among them), and the rule for an event. */
export interface CityPartitions {
  /** intersection id -> region id */
  regionOf: ReadonlyMap<string, string>;
  /** every partition's id, the regions' and `_city`, sorted */
  ids: string[];
  partition: Partitioner;
}

/**
 * The partitions of a city cut into `regions` regions (cityRegions): an
 * event naming an intersection goes to that intersection's region, any
 * other (a parking bay, an AVL unit) to `_city`.
 */
export function cityPartitions(net: Network, regions: number): CityPartitions {
  const of = regionOfIntersections(net, cityRegions(net, regions));
  const regionOf = new Map<string, string>();
  net.interIds.forEach((id, i) => regionOf.set(id, of[i]));
  return {
    regionOf,
    ids: [...new Set([...regionOf.values(), CITY_PARTITION])].sort(),
    partition: (e) => {
      const ix = eventIntersection(e);
      // an intersection the network lacks never gets here (lane-check refuses it); `_city` keeps it rather than lose it
      return ix === undefined ? CITY_PARTITION : regionOf.get(ix) ?? CITY_PARTITION;
    },
  };
}

/** One message of a batch: its subject, id (for JetStream's de-duplication) and body. */
export interface EventsMessage {
  region: string;
  subject: string;
  msgId: string;
  events: Event[];
}

/** A batch split by region, each region's events in batch order: one message per region it touches. */
export function splitByRegion(events: readonly Event[], partition: Partitioner): EventsMessage[] {
  const by = new Map<string, Event[]>();
  for (const e of events) {
    const r = partition(e);
    let list = by.get(r);
    if (!list) by.set(r, (list = []));
    list.push(e);
  }
  return [...by].map(([region, evs]) => ({ region, subject: eventsSubject(region), msgId: batchMsgId(evs), events: evs }));
}

export function encodeEvents(events: readonly Event[]): Uint8Array {
  return Buffer.from(JSON.stringify({ events }));
}

/**
 * The events of a message, or why it is not one (a poison message: the
 * writer terminates it with that reason rather than retry it for ever).
 * Checks the envelope and each event's key fields; the gateway checked the rest.
 */
export function decodeEvents(data: Uint8Array): { events: Event[] } | { error: string } {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (e) {
    return { error: `not JSON (${(e as Error).message})` };
  }
  const events = (body as { events?: unknown } | null)?.events;
  if (!Array.isArray(events) || events.length === 0) return { error: 'not {"events": [...]} with at least one event' };
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as Record<string, unknown> | null;
    if (e === null || typeof e !== 'object' || typeof e.device !== 'string' || typeof e.id !== 'string' || typeof e.kind !== 'string' || typeof e.ts !== 'number') {
      return { error: `events[${i}] lacks a string device, id and kind and a numeric ts` };
    }
  }
  return { events: events as Event[] };
}
