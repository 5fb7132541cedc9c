import { canonicalKey, KeyedPlates, type PlateKeyer } from './keyed-plates.js';
import { Confusions, correctRead, normalisePlate, plateFormat, WATCHLIST_CONFUSIONS, type PlateFormat } from './plates.js';

/**
 * The plate watchlist's rules, judged on each camera read as it comes:
 * - unregistered: a plate not in the vehicle register within `maxConfusions`;
 * - wanted / stolen: a plate on one of those lists (within `maxConfusions`);
 * - cloned: one plate read at two cameras too far apart for the time between
 *   (distance / time above `maxSpeedKmh`);
 * - illegal taxi: a vehicle not registered for hire making, within a day
 *   (`taxi.windowSeconds`), at least `taxi.minTrips` short trips that start or
 *   end at a pick-up point (see TaxiOptions).
 * Each alert carries its evidence: the reads, where and when, and the figures
 * compared. Plates are held as keyed hashes (`PlateKeyer`); a read's clear
 * text is kept only in memory for the rules' own evidence and in an alert.
 */

/** What a vehicle is registered for; vehicles for hire are not illegal taxis. */
export const VEHICLE_USES = ['private', 'taxi', 'ride-hailing', 'bus', 'goods', 'official'] as const;
export type VehicleUse = (typeof VEHICLE_USES)[number];
const FOR_HIRE: ReadonlySet<VehicleUse> = new Set(['taxi', 'ride-hailing', 'bus']);

export const LIST_KINDS = ['wanted', 'stolen'] as const;
export type ListKind = (typeof LIST_KINDS)[number];

export const ALERT_KINDS = ['unregistered', 'cloned', 'illegal-taxi', 'wanted', 'stolen'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface ListEntry {
  list: ListKind;
  /** the entry's id in its list */
  entry: string;
  note?: string;
}

/** A camera's read as the watchlist takes it (a plate event's fields). */
export interface PlateRead {
  plate: string;
  camera: string;
  intersection: string;
  /** epoch ms */
  ts: number;
  confidence: number;
}

/** A read as an alert shows it. */
export interface ReadEvidence extends PlateRead {
  /** position of the read's intersection (metres, the network's frame), when known */
  x?: number;
  y?: number;
}

export interface TripEvidence {
  from: ReadEvidence;
  to: ReadEvidence;
  reads: number;
  seconds: number;
  /** straight-line metres from its first read to its last */
  metres: number;
  /** whether it starts or ends within the pick-up radius of a pick-up point */
  atPickUp: boolean;
}

interface AlertCommon {
  /** the plate as read (the latest read for rules over several) */
  plate: string;
  /** the keyed hash of its canonical form: one vehicle's reads share it */
  key: string;
  /** epoch ms of the read that raised it */
  ts: number;
  /** the evidence in one English sentence (the dashboard builds its own from `evidence`) */
  explanation: string;
}

export type WatchlistAlert =
  | (AlertCommon & { kind: 'unregistered'; evidence: { read: ReadEvidence; format: PlateFormat; maxConfusions: number; registerSize: number } })
  | (AlertCommon & { kind: ListKind; evidence: { read: ReadEvidence; entry: string; note?: string; confusions: number } })
  | (AlertCommon & { kind: 'cloned'; evidence: { reads: [ReadEvidence, ReadEvidence]; metres: number; seconds: number; impliedKmh: number; maxKmh: number; distance: 'network' | 'straight' } })
  | (AlertCommon & {
    kind: 'illegal-taxi';
    evidence: { trips: TripEvidence[]; qualifying: number; minTrips: number; windowSeconds: number; maxTripSeconds: number; maxTripMeters: number; use: VehicleUse | 'unregistered' };
  });

/**
 * An illegal taxi, precisely: reads of one plate form trips (a read more than
 * `tripGapSeconds` after the last starts a new trip: the vehicle stood
 * somewhere unseen); a trip of two or more reads is short when it lasts at
 * most `maxTripSeconds` and its first and last reads are at most
 * `maxTripMeters` apart; it qualifies when it is short and starts or ends
 * within `pickUpRadiusM` of a pick-up point (any place when no pick-up points
 * are given). `minTrips` qualifying trips within `windowSeconds` raise the
 * alert, unless the register has the vehicle for hire.
 */
export interface TaxiOptions {
  /** default 300 */
  tripGapSeconds?: number;
  /** default 1200 */
  maxTripSeconds?: number;
  /** default 5000 */
  maxTripMeters?: number;
  /** default 8 */
  minTrips?: number;
  /** default 86400 (a day) */
  windowSeconds?: number;
  /** ranks, stations, hospitals, malls (metres, the network's frame); default none: every stop counts */
  pickUpPoints?: readonly { x: number; y: number }[];
  /** default 150 */
  pickUpRadiusM?: number;
}

export interface WatchlistOptions {
  /** the city's keyed hash of a plate */
  keyer: PlateKeyer;
  /** where a camera's intersection is (metres); reads at an unknown one are judged by the list rules only */
  locate: (intersection: string) => { x: number; y: number } | undefined;
  /** metres between two intersections on the network, when known; default the straight line (never more than the driven distance: fewer false clones) */
  networkDistance?: (a: string, b: string) => number | undefined;
  /** OCR confusion classes; default WATCHLIST_CONFUSIONS */
  confusions?: readonly string[];
  /** confusable characters a read may differ from a listed plate in and still be it; default 2 */
  maxConfusions?: number;
  /** reads less confident than this are judged by no rule; default 0.5 */
  minConfidence?: number;
  /** the fastest a vehicle plausibly drives between two cameras; default 150 km/h */
  maxSpeedKmh?: number;
  /** cameras closer than this are never far enough apart for a clone (camera positions are junctions, a block's length off); default 500 m */
  minCloneMetres?: number;
  /** one alert per plate and kind within this; default 86400 */
  repeatSeconds?: number;
  taxi?: TaxiOptions;
}

interface Trip {
  from: ReadEvidence;
  to: ReadEvidence;
  reads: number;
}

interface PlateState {
  last: ReadEvidence;
  trips: Trip[];
  /** the latest read's register standing, for the taxi rule */
  use: VehicleUse | 'unregistered';
}

export interface ReadOutcome {
  /** the keyed hash of the read's canonical form (undefined: not judged: no plate format, or too unsure) */
  key?: string;
  /** whether the read is listed anywhere (register, a list); reads matching nothing are kept for a shorter time */
  matched: boolean;
  alerts: WatchlistAlert[];
}

export interface WatchlistStats {
  reads: number;
  /** reads of no plate format or below minConfidence */
  unjudged: number;
  alerts: number;
  plates: number;
}

export class PlateWatchlist {
  readonly register = new KeyedPlates<VehicleUse>();
  readonly lists = new KeyedPlates<ListEntry>();
  readonly confusions: Confusions;
  private readonly o: Required<Omit<WatchlistOptions, 'networkDistance' | 'taxi'>> & Pick<WatchlistOptions, 'networkDistance'>;
  private readonly taxi: Required<Omit<TaxiOptions, 'pickUpPoints'>> & { pickUpPoints?: readonly { x: number; y: number }[] };
  private readonly plates = new Map<string, PlateState>();
  private readonly alerted = new Map<string, number>();
  readonly stats: WatchlistStats = { reads: 0, unjudged: 0, alerts: 0, plates: 0 };

  constructor(opts: WatchlistOptions) {
    this.o = {
      keyer: opts.keyer, locate: opts.locate, networkDistance: opts.networkDistance, confusions: opts.confusions ?? WATCHLIST_CONFUSIONS,
      maxConfusions: opts.maxConfusions ?? 2, minConfidence: opts.minConfidence ?? 0.5, maxSpeedKmh: opts.maxSpeedKmh ?? 150,
      minCloneMetres: opts.minCloneMetres ?? 500, repeatSeconds: opts.repeatSeconds ?? 86_400,
    };
    const t = opts.taxi ?? {};
    this.taxi = {
      tripGapSeconds: t.tripGapSeconds ?? 300, maxTripSeconds: t.maxTripSeconds ?? 1200, maxTripMeters: t.maxTripMeters ?? 5000, minTrips: t.minTrips ?? 8,
      windowSeconds: t.windowSeconds ?? 86_400, pickUpPoints: t.pickUpPoints, pickUpRadiusM: t.pickUpRadiusM ?? 150,
    };
    const o = this.o;
    const check = (name: string, v: number, ok: boolean, what: string) => {
      if (!ok) throw new RangeError(`watchlist: ${name} must be ${what}, got ${v}`);
    };
    check('maxConfusions', o.maxConfusions, Number.isInteger(o.maxConfusions) && o.maxConfusions >= 0 && o.maxConfusions <= 4, 'an integer 0..4');
    check('minConfidence', o.minConfidence, o.minConfidence >= 0 && o.minConfidence <= 1, 'in [0, 1]');
    for (const [name, v] of [['maxSpeedKmh', o.maxSpeedKmh], ['minCloneMetres', o.minCloneMetres], ['repeatSeconds', o.repeatSeconds], ['taxi.tripGapSeconds', this.taxi.tripGapSeconds],
      ['taxi.maxTripSeconds', this.taxi.maxTripSeconds], ['taxi.maxTripMeters', this.taxi.maxTripMeters], ['taxi.windowSeconds', this.taxi.windowSeconds], ['taxi.pickUpRadiusM', this.taxi.pickUpRadiusM]] as const) {
      check(name, v, Number.isFinite(v) && v > 0, 'a positive number');
    }
    check('taxi.minTrips', this.taxi.minTrips, Number.isInteger(this.taxi.minTrips) && this.taxi.minTrips >= 2, 'an integer >= 2');
    this.confusions = new Confusions(o.confusions);
  }

  /** The keys a plate is listed under (its own and its canonical form's): what a register or list row stores. */
  keysOf(plate: string): { key: string; canonicalKey: string } {
    const p = normalisePlate(plate);
    return { key: this.o.keyer(p), canonicalKey: canonicalKey(this.o.keyer, this.confusions.canonical(p)) };
  }

  /** Judges one read; returns its canonical key and the alerts it raised. */
  read(r: PlateRead): ReadOutcome {
    this.stats.reads++;
    const plate = correctRead(r.plate);
    const format = plateFormat(plate);
    if (format === undefined || !(r.confidence >= this.o.minConfidence)) {
      this.stats.unjudged++;
      return { matched: false, alerts: [] };
    }
    const o = this.o;
    const key = o.keyer(plate);
    const canon = canonicalKey(o.keyer, this.confusions.canonical(plate));
    const at = o.locate(r.intersection);
    const read: ReadEvidence = at ? { ...r, plate, x: at.x, y: at.y } : { ...r, plate };
    const alerts: WatchlistAlert[] = [];

    const listed = this.lists.size > 0 ? this.lists.lookup(plate, key, canon, o.keyer, this.confusions, o.maxConfusions) : undefined;
    if (listed) {
      const e = listed.value;
      this.raise(alerts, canon, {
        kind: e.list, plate, key: canon, ts: r.ts,
        explanation: `${plate} read at ${r.camera} (${r.intersection}) is on the ${e.list} list (entry ${e.entry}${listed.confusions ? `, ${listed.confusions} OCR confusion(s) apart` : ''})`,
        evidence: { read, entry: e.entry, note: e.note, confusions: listed.confusions },
      });
    }
    const reg = this.register.size > 0 ? this.register.lookup(plate, key, canon, o.keyer, this.confusions, o.maxConfusions) : undefined;
    // an empty register flags nothing: it is not loaded
    if (this.register.size > 0 && reg === undefined) {
      this.raise(alerts, canon, {
        kind: 'unregistered', plate, key: canon, ts: r.ts,
        explanation: `${plate} read at ${r.camera} (${r.intersection}) is not in the register of ${this.register.size} vehicles, nor within ${o.maxConfusions} OCR confusion(s) of one`,
        evidence: { read, format, maxConfusions: o.maxConfusions, registerSize: this.register.size },
      });
    }
    const use: VehicleUse | 'unregistered' = reg?.value ?? 'unregistered';

    let st = this.plates.get(canon);
    if (st === undefined) {
      st = { last: read, trips: [{ from: read, to: read, reads: 1 }], use };
      this.plates.set(canon, st);
      this.stats.plates = this.plates.size;
    } else {
      this.cloneRule(alerts, canon, st.last, read);
      st.use = use;
      this.tripRule(alerts, canon, st, read);
      if (read.ts >= st.last.ts) st.last = read;
    }
    this.stats.alerts += alerts.length;
    return { key: canon, matched: listed !== undefined || reg !== undefined, alerts };
  }

  /** Closes trips idle for longer than the trip gap as of `now` (epoch ms), judging the taxi rule; forgets plates unseen for the window. */
  flush(now: number): WatchlistAlert[] {
    const alerts: WatchlistAlert[] = [];
    const gap = this.taxi.tripGapSeconds * 1000;
    const forget = Math.max(this.taxi.windowSeconds, this.o.repeatSeconds) * 1000;
    for (const [key, st] of this.plates) {
      if (now - st.last.ts > forget) {
        this.plates.delete(key);
        continue;
      }
      if (now - st.last.ts > gap) this.judgeTaxi(alerts, key, st, now);
    }
    for (const [k, t] of this.alerted) if (now - t > this.o.repeatSeconds * 1000) this.alerted.delete(k);
    this.stats.plates = this.plates.size;
    this.stats.alerts += alerts.length;
    return alerts;
  }

  private raise(out: WatchlistAlert[], key: string, alert: WatchlistAlert): void {
    const k = `${alert.kind}|${key}`;
    const prev = this.alerted.get(k);
    if (prev !== undefined && alert.ts - prev < this.o.repeatSeconds * 1000) return;
    this.alerted.set(k, alert.ts);
    out.push(alert);
  }

  private cloneRule(out: WatchlistAlert[], key: string, a: ReadEvidence, b: ReadEvidence): void {
    if (a.intersection === b.intersection || a.x === undefined || b.x === undefined) return;
    const net = this.o.networkDistance?.(a.intersection, b.intersection);
    const metres = net ?? Math.hypot(a.x - b.x!, a.y! - b.y!);
    if (metres < this.o.minCloneMetres) return;
    // reads a second apart or less: a second (timestamps' and clocks' resolution)
    const seconds = Math.max(1, Math.abs(b.ts - a.ts) / 1000);
    const kmh = (metres / seconds) * 3.6;
    if (kmh <= this.o.maxSpeedKmh) return;
    const [first, second] = a.ts <= b.ts ? [a, b] : [b, a];
    this.raise(out, key, {
      kind: 'cloned', plate: b.plate, key, ts: b.ts,
      explanation: `${first.plate} read at ${first.camera} (${first.intersection}) and ${second.plate} at ${second.camera} (${second.intersection}) ${Math.round(metres)} m apart ${round1(seconds)} s apart: ${Math.round(kmh)} km/h, over the plausible ${this.o.maxSpeedKmh} km/h`,
      evidence: { reads: [first, second], metres: Math.round(metres), seconds: round1(seconds), impliedKmh: Math.round(kmh), maxKmh: this.o.maxSpeedKmh, distance: net !== undefined ? 'network' : 'straight' },
    });
  }

  private tripRule(out: WatchlistAlert[], key: string, st: PlateState, read: ReadEvidence): void {
    const cur = st.trips[st.trips.length - 1];
    if (read.ts - cur.to.ts > this.taxi.tripGapSeconds * 1000) {
      this.judgeTaxi(out, key, st, read.ts);
      st.trips.push({ from: read, to: read, reads: 1 });
      return;
    }
    cur.reads++;
    if (read.ts >= cur.to.ts) cur.to = read;
    else if (read.ts < cur.from.ts) cur.from = read;
  }

  /** The taxi rule over a plate's closed trips (all but one still open at `now`), dropping those out of the window. */
  private judgeTaxi(out: WatchlistAlert[], key: string, st: PlateState, now: number): void {
    const t = this.taxi;
    const since = now - t.windowSeconds * 1000;
    while (st.trips.length > 1 && st.trips[0].to.ts < since) st.trips.shift();
    if (st.trips.length < t.minTrips || FOR_HIRE.has(st.use as VehicleUse)) return;
    const closedUntil = now - t.tripGapSeconds * 1000;
    const trips = st.trips.filter((x) => x.to.ts <= closedUntil).map((x) => this.tripEvidence(x));
    const qualifying = trips.filter((x) => x.reads >= 2 && x.seconds <= t.maxTripSeconds && x.metres <= t.maxTripMeters && x.atPickUp);
    if (qualifying.length < t.minTrips) return;
    const last = qualifying[qualifying.length - 1].to;
    this.raise(out, key, {
      kind: 'illegal-taxi', plate: last.plate, key, ts: last.ts,
      explanation: `${last.plate} made ${qualifying.length} short trips (at most ${t.maxTripSeconds} s and ${t.maxTripMeters} m) starting or ending at pick-up points within ${round1(t.windowSeconds / 3600)} h (${t.minTrips} raise the alert); registered as ${st.use}`,
      evidence: { trips: qualifying, qualifying: qualifying.length, minTrips: t.minTrips, windowSeconds: t.windowSeconds, maxTripSeconds: t.maxTripSeconds, maxTripMeters: t.maxTripMeters, use: st.use },
    });
  }

  private tripEvidence(x: Trip): TripEvidence {
    const metres = x.from.x !== undefined && x.to.x !== undefined ? Math.hypot(x.from.x - x.to.x, x.from.y! - x.to.y!) : Infinity;
    return { from: x.from, to: x.to, reads: x.reads, seconds: round1((x.to.ts - x.from.ts) / 1000), metres: Math.round(metres), atPickUp: this.atPickUp(x.from) || this.atPickUp(x.to) };
  }

  private atPickUp(r: ReadEvidence): boolean {
    const points = this.taxi.pickUpPoints;
    if (points === undefined) return true;
    if (r.x === undefined) return false;
    const r2 = this.taxi.pickUpRadiusM ** 2;
    return points.some((p) => (p.x - r.x!) ** 2 + (p.y - r.y!) ** 2 <= r2);
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
