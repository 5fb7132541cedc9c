import { randomUUID } from 'node:crypto';
import {
  cancellationRefund, checkWindow, DEFAULT_RESERVATION_RULES, DriveTimes, HOLDING_STATUSES, isOpenAt, isReservedArrival, priceStay, rankSites,
  siteEntity, spotEntity, type Event, type GuidanceAnswer, type ParkingSite, type Reservation, type ReservationRules, type SpotStatus, type XY,
} from '@citybrain/brain';
import type { RoadnetJson } from '@citybrain/engine';
import { HttpError } from '../errors.js';
import type { SiteLiveView } from '../api/contract.js';
import { everyPage, PARKING_PAGE_MAX, ParkingConflictError, type AvailabilityBucket, type ParkingSession, type ParkingStore, type Payment, type PaymentInput } from '../store/parking-store.js';
import type { PaymentProvider } from './payment.js';

/** How long availability samples are summed into one stored bucket. */
export const AVAILABILITY_BUCKET_MS = 5 * 60_000;
/** A pending payment older than this was left by a request that died: a retry asks the provider again (same key). */
const STALE_PENDING_MS = 30_000;

export interface ParkingServiceOptions {
  store: ParkingStore;
  provider: PaymentProvider;
  /** the city's clock, epoch ms (sensor events are on it) */
  now: () => number;
  rules?: Partial<ReservationRules>;
  /** the network guidance routes on; without it guidance answers straight-line distances only */
  roadnet?: RoadnetJson;
  /** the speed vehicles make on a road now (the brain's twin), m/s; undefined: free-flow */
  roadSpeed?: (road: string) => number | undefined;
  /** a car was found in a bay reserved by someone else */
  onFlag?: (r: Reservation, why: string) => void;
  /** something a sensor event could not be applied to (a store failure): logged, the next event goes on */
  onError?: (e: unknown, what: string) => void;
}

export type { SiteLiveView } from '../api/contract.js';

export interface BookInput {
  app: string;
  payer: string;
  site: string;
  bay?: string;
  from: number;
  to: number;
  idempotencyKey: string;
}

/**
 * Smart parking on the operations server: sites registered by operators,
 * bay occupancy from the parking sensors' events (nothing else), live and
 * stored availability, guidance by drive time on the brain's twin, and the
 * apps' reservations and payments, every money move idempotent through the
 * store's keys. Sensor events of one bay are applied in order, one at a time.
 */
export class ParkingService {
  readonly rules: ReservationRules;
  private readonly store: ParkingStore;
  private sites = new Map<string, ParkingSite>();
  private siteOfBay = new Map<string, ParkingSite>();
  /** bay → occupied, from the latest sensor event (absent: never reported) */
  private readonly occupied = new Map<string, boolean>();
  private readonly observedAt = new Map<string, number>();
  /** the holding reservations (booked, arrived), by id */
  private readonly holding = new Map<string, Reservation>();
  private readonly bayChain = new Map<string, Promise<void>>();
  private readonly drive: DriveTimes | undefined;
  private lastSample = -Infinity;
  /** cars found in bays reserved by someone else, since start */
  flagged = 0;

  constructor(private readonly opts: ParkingServiceOptions) {
    this.store = opts.store;
    this.rules = { ...DEFAULT_RESERVATION_RULES, ...opts.rules };
    this.drive = opts.roadnet && new DriveTimes(opts.roadnet);
  }

  /** Loads the sites, the open sessions (which bays are occupied) and the holding reservations. */
  async start(): Promise<void> {
    this.index(await this.store.listSites());
    const store = this.store;
    const sessions = await everyPage((after) => store.listSessions({ open: true, limit: PARKING_PAGE_MAX, after }), (s) => s.arrivedAt);
    for (const s of sessions) this.occupied.set(s.bay, true);
    const holding = await everyPage((after) => store.listReservations({ statuses: HOLDING_STATUSES, limit: PARKING_PAGE_MAX, after }), (r) => r.createdAt);
    for (const r of holding) this.holding.set(r.id, r);
  }

  private index(sites: ParkingSite[]): void {
    this.sites = new Map(sites.map((s) => [s.id, s]));
    this.siteOfBay = new Map(sites.flatMap((s) => s.bays.map((b) => [b.id, s] as const)));
  }

  // ------------------------------------------------------------- sites

  listSites(): ParkingSite[] {
    return [...this.sites.values()];
  }

  site(id: string): ParkingSite {
    const s = this.sites.get(id);
    if (!s) throw new HttpError('CB_NOT_FOUND', `no parking site "${id}"`);
    return s;
  }

  /** Registers (or replaces) sites; a bay already in another site is refused, naming it. */
  async putSites(sites: readonly ParkingSite[]): Promise<void> {
    try {
      await this.store.putSites(sites);
    } catch (e) {
      if (e instanceof ParkingConflictError) throw new HttpError('CB_INVALID_REQUEST', e.message);
      throw e;
    }
    this.index(await this.store.listSites());
  }

  async deleteSite(id: string): Promise<void> {
    this.site(id);
    await this.store.deleteSite(id);
    this.index(await this.store.listSites());
  }

  // ----------------------------------------------------- live availability

  private heldNow(now: number): Set<string> {
    const held = new Set<string>();
    for (const r of this.holding.values()) if (now >= r.from - this.rules.earlyArrivalMs && now < r.to) held.add(r.bay);
    return held;
  }

  live(now = this.opts.now()): SiteLiveView[] {
    const held = this.heldNow(now);
    return this.listSites().map((s) => {
      let occupied = 0;
      let free = 0;
      let reserved = 0;
      let unknown = 0;
      let observedAt: number | null = null;
      for (const b of s.bays) {
        const state = this.occupied.get(b.id);
        if (state === true) occupied++;
        if (state === undefined) unknown++;
        if (held.has(b.id)) reserved++;
        else if (state === false) free++;
        const at = this.observedAt.get(b.id);
        if (at !== undefined && (observedAt === null || at > observedAt)) observedAt = at;
      }
      return { id: s.id, name: s.name, kind: s.kind, x: s.x, y: s.y, capacity: s.capacity, sensored: s.bays.length, occupied, free, reserved, unknown, open: isOpenAt(s.openingHours, now), observedAt };
    });
  }

  bayStatus(bay: string, now = this.opts.now()): SpotStatus {
    const s = this.siteOfBay.get(bay);
    if (s && !isOpenAt(s.openingHours, now)) return 'closed';
    const o = this.occupied.get(bay);
    return o === undefined ? 'unknown' : o ? 'occupied' : 'free';
  }

  /** The sites and bays as NGSI-LD keyValues entities (types: OnStreetParking, OffStreetParking, ParkingSpot). */
  ngsiEntities(types: readonly string[] | undefined, now = this.opts.now()): Record<string, unknown>[] {
    const want = (t: string) => !types || types.includes(t);
    const out: Record<string, unknown>[] = [];
    for (const v of this.live(now)) {
      const s = this.sites.get(v.id)!;
      if (want(s.kind === 'onStreet' ? 'OnStreetParking' : 'OffStreetParking')) out.push(siteEntity(s, v));
      if (want('ParkingSpot')) for (const b of s.bays) out.push(spotEntity(s, b, this.bayStatus(b.id, now), this.observedAt.get(b.id) ?? null));
    }
    return out;
  }

  /** The nearest open sites with a free bay from a point, by drive time on the network (current speeds when `current`). */
  guidance(from: XY, limit: number, current: boolean): GuidanceAnswer[] {
    const live = this.live().filter((s) => s.open && s.free > 0);
    const times = this.drive ? this.drive.fromPoint(from, live, current ? this.opts.roadSpeed : undefined) : live.map(() => undefined);
    return rankSites(live, times, from, limit);
  }

  availability(site: string, from: number, to: number): Promise<AvailabilityBucket[]> {
    this.site(site);
    return this.store.availability(site, from, to);
  }

  // ------------------------------------------------------ sensor events

  /** The parking sensors' events, once durable: each bay's applied in order. */
  ingested(events: readonly Event[]): void {
    for (const e of events) {
      if (e.kind !== 'parking') continue;
      const prev = this.bayChain.get(e.bay) ?? Promise.resolve();
      const next = prev.then(() => this.applyBay(e.bay, e.occupied, e.ts)).catch((err: unknown) => this.opts.onError?.(err, `parking event ${e.device}/${e.id}`));
      this.bayChain.set(e.bay, next);
      void next.then(() => {
        if (this.bayChain.get(e.bay) === next) this.bayChain.delete(e.bay);
      });
    }
  }

  /** Resolves when every sensor event handed in so far is applied. */
  async settled(): Promise<void> {
    while (this.bayChain.size > 0) await Promise.all(this.bayChain.values());
  }

  private async applyBay(bay: string, occupied: boolean, ts: number): Promise<void> {
    const was = this.occupied.get(bay);
    this.occupied.set(bay, occupied);
    this.observedAt.set(bay, Math.max(ts, this.observedAt.get(bay) ?? ts));
    const site = this.siteOfBay.get(bay);
    if (!site || was === occupied) return;
    if (occupied) {
      const mine = [...this.holding.values()].find((r) => r.bay === bay && isReservedArrival(r, ts, this.rules));
      const session: ParkingSession = {
        id: `ses_${randomUUID()}`, bay, site: site.id, arrivedAt: ts, departedAt: null, reservation: mine?.id ?? null, price: null, currency: site.tariff.currency, payment: null,
      };
      await this.store.openSession(session);
      if (mine) {
        const r = await this.store.updateReservation(mine.id, ['booked'], { status: 'arrived', arrivedAt: ts });
        if (r) this.holding.set(r.id, r);
      } else {
        // a car in a bay held for someone else whose window has begun (or is about to): flag it
        const other = [...this.holding.values()].find((r) => r.bay === bay && r.status === 'booked' && ts >= r.from - this.rules.earlyArrivalMs && ts < r.to);
        if (other) await this.flag(other, ts, 'a car arrived in the bay outside the reservation\'s arrival window');
      }
      return;
    }
    const open = await this.store.openSessionOf(bay);
    if (!open) return;
    const closed = await this.store.closeSession(open.id, ts, priceStay(site.tariff, open.arrivedAt, Math.max(ts, open.arrivedAt)));
    if (!closed || closed.reservation === null) return;
    const r = await this.store.updateReservation(closed.reservation, ['arrived'], { status: 'completed', endedAt: ts });
    if (!r) return;
    this.holding.delete(r.id);
    // the booking paid the window; a longer stay pays the rest, charged to the same account
    const extra = (closed.price ?? 0) - r.price;
    if (extra > 0) {
      const p = await this.pay({ app: r.app, idempotencyKey: `session:${closed.id}`, purpose: 'session', reservation: r.id, session: closed.id, amount: extra, currency: r.currency, payer: r.payer });
      if (p.status === 'succeeded') await this.store.markSessionPaid(closed.id, p.id);
    }
  }

  private async flag(r: Reservation, at: number, why: string): Promise<void> {
    if (r.blockedAt !== null) return;
    const u = await this.store.updateReservation(r.id, ['booked'], { blockedAt: at });
    if (!u) return;
    this.holding.set(u.id, u);
    this.flagged++;
    this.opts.onFlag?.(u, why);
  }

  /**
   * Every so often (the server's timer): unused reservations past their
   * grace period expire, a car still in a bay whose reservation window has
   * begun is flagged, and each site's availability is sampled into the stored
   * buckets (once a minute on the city's clock).
   */
  async tick(now = this.opts.now()): Promise<void> {
    for (const r of await this.store.expireReservations(now - this.rules.graceMs, now)) this.holding.delete(r.id);
    for (const r of this.holding.values()) {
      if (r.status === 'booked' && r.blockedAt === null && now >= r.from && now < r.to && this.occupied.get(r.bay) === true) {
        const s = await this.store.openSessionOf(r.bay);
        if (s && s.reservation !== r.id && !isReservedArrival(r, s.arrivedAt, this.rules)) await this.flag(r, now, 'the bay was still occupied by another car when the window began');
      }
    }
    if (now - this.lastSample >= 60_000) {
      this.lastSample = now;
      const bucket = Math.floor(now / AVAILABILITY_BUCKET_MS) * AVAILABILITY_BUCKET_MS;
      await this.store.addAvailability(this.live(now).filter((s) => s.sensored > 0).map((s) => ({ site: s.id, bucket, occupied: s.occupied, free: s.free })));
    }
  }

  // ------------------------------------------------------- reservations

  /**
   * Books a bay (the one named, or the first free of the site's, those free
   * now first) for [from, to) and charges the window's price. A request
   * repeating an Idempotency-Key gets the first answer (nothing booked or
   * charged again); the same key for another request is a conflict.
   */
  async reserve(b: BookInput): Promise<{ reservation: Reservation; payment: Payment; created: boolean }> {
    const before = await this.store.findReservationByKey(b.app, b.idempotencyKey);
    if (before) return this.answerRetry(before, b);
    const site = this.site(b.site);
    const now = this.opts.now();
    const bad = checkWindow(site, b.from, b.to, now, this.rules);
    if (bad) throw new HttpError('CB_INVALID_REQUEST', bad);
    if (b.bay !== undefined && !site.bays.some((x) => x.id === b.bay)) throw new HttpError('CB_INVALID_REQUEST', `bay: "${b.bay}" is not a sensored bay of site "${site.id}"`);
    const candidates = b.bay !== undefined ? [b.bay] : this.candidates(site, b.from, now);
    if (candidates.length === 0) throw new HttpError('CB_INVALID_REQUEST', `site: "${site.id}" has no sensored bays to reserve`);
    const price = priceStay(site.tariff, b.from, b.to);
    const booked = await this.store.reserve({
      id: `res_${randomUUID()}`, app: b.app, payer: b.payer, site: site.id, from: b.from, to: b.to, createdAt: now, price, currency: site.tariff.currency, idempotencyKey: b.idempotencyKey,
    }, candidates);
    if (!booked) {
      throw new HttpError('CB_BAY_TAKEN', b.bay !== undefined
        ? `bay "${b.bay}" is reserved for part of ${new Date(b.from).toISOString()} to ${new Date(b.to).toISOString()}`
        : `site "${site.id}" has no bay free of reservations from ${new Date(b.from).toISOString()} to ${new Date(b.to).toISOString()}`);
    }
    if (!booked.created) return this.answerRetry(booked.reservation, b);
    this.holding.set(booked.reservation.id, booked.reservation);
    return { ...(await this.chargeBooking(booked.reservation)), created: true };
  }

  /** The bays to try, in order: free now and without a session first (a driver due soon finds the bay empty), then the rest. */
  private candidates(site: ParkingSite, from: number, now: number): string[] {
    const soon = from - now < 3_600_000;
    const rank = (bay: string) => (soon && this.occupied.get(bay) !== false ? 1 : 0);
    return site.bays.map((x) => x.id).sort((a, z) => rank(a) - rank(z));
  }

  private async answerRetry(r: Reservation, b: BookInput): Promise<{ reservation: Reservation; payment: Payment; created: boolean }> {
    if (r.site !== b.site || r.from !== b.from || r.to !== b.to || (b.bay !== undefined && r.bay !== b.bay)) {
      throw new HttpError('CB_IDEMPOTENCY_CONFLICT', `Idempotency-Key "${b.idempotencyKey}" was used for reservation ${r.id} (site ${r.site}, ${new Date(r.from).toISOString()} to ${new Date(r.to).toISOString()}); a new request needs a new key`);
    }
    // the first request may have died between booking and charging: the same key finishes it, once
    return { ...(await this.chargeBooking(r)), created: false };
  }

  private async chargeBooking(r: Reservation): Promise<{ reservation: Reservation; payment: Payment }> {
    const payment = await this.pay({ app: r.app, idempotencyKey: `booking:${r.id}`, purpose: 'booking', reservation: r.id, session: null, amount: r.price, currency: r.currency, payer: r.payer });
    if (payment.status === 'declined' || payment.status === 'failed') {
      const c = await this.store.updateReservation(r.id, ['booked'], { status: 'cancelled', endedAt: this.opts.now() });
      if (c) this.holding.delete(c.id);
      return { reservation: c ?? (await this.store.getReservation(r.id))!, payment };
    }
    return { reservation: r, payment };
  }

  /** An app's own reservation (another's is not found: apps see only theirs). */
  async reservationOf(app: string | undefined, id: string): Promise<Reservation> {
    const r = await this.store.getReservation(id);
    if (!r || (app !== undefined && r.app !== app)) throw new HttpError('CB_NOT_FOUND', `no reservation "${id}"`);
    return r;
  }

  listReservations(q: Parameters<ParkingStore['listReservations']>[0]): Promise<Reservation[]> {
    return this.store.listReservations(q);
  }

  /** Cancels a booked reservation: a refund of the booking when before the window. Cancelling again answers as the first time. */
  async cancel(app: string | undefined, id: string): Promise<{ reservation: Reservation; refund: Payment | null }> {
    const r = await this.reservationOf(app, id);
    const now = this.opts.now();
    let cur = r;
    if (r.status === 'booked') {
      const c = await this.store.updateReservation(r.id, ['booked'], { status: 'cancelled', endedAt: now });
      if (c) this.holding.delete(c.id);
      cur = c ?? (await this.store.getReservation(r.id))!;
    }
    if (cur.status !== 'cancelled') throw new HttpError('CB_CONFLICT', `reservation "${id}" is ${cur.status}: only a booked reservation can be cancelled`);
    const amount = cancellationRefund(cur, cur.endedAt ?? now);
    const charge = (await this.store.listPayments({ reservation: cur.id })).find((p) => p.purpose === 'booking' && p.status === 'succeeded');
    if (amount <= 0 || !charge) return { reservation: cur, refund: null };
    const refund = await this.pay({ app: cur.app, idempotencyKey: `refund:${cur.id}`, purpose: 'refund', reservation: cur.id, session: null, amount, currency: cur.currency, payer: cur.payer }, charge.providerRef ?? undefined);
    return { reservation: cur, refund };
  }

  // ----------------------------------------------------------- payments

  /** An app pays a closed, unpaid walk-in session (its price from the tariff and the sensor's arrival and departure). */
  async paySession(app: string, id: string, payer: string, idempotencyKey: string): Promise<{ session: ParkingSession; payment: Payment }> {
    const s = await this.store.getSession(id);
    if (!s) throw new HttpError('CB_NOT_FOUND', `no parking session "${id}"`);
    const prior = (await this.store.listPayments({ app, session: id })).find((p) => p.idempotencyKey === idempotencyKey);
    if (prior) return { session: (await this.store.getSession(id))!, payment: prior };
    if (s.departedAt === null || s.price === null) throw new HttpError('CB_CONFLICT', `session "${id}" is still open: it is priced when the car leaves`);
    if (s.payment !== null) throw new HttpError('CB_CONFLICT', `session "${id}" is paid already (payment ${s.payment})`);
    if (s.price === 0) throw new HttpError('CB_CONFLICT', `session "${id}" costs nothing (within the free minutes)`);
    const payment = await this.pay({ app, idempotencyKey, purpose: 'session', reservation: null, session: id, amount: s.price, currency: s.currency, payer });
    if (payment.status === 'succeeded') await this.store.markSessionPaid(id, payment.id);
    return { session: (await this.store.getSession(id))!, payment };
  }

  listSessions(q: Parameters<ParkingStore['listSessions']>[0]): Promise<ParkingSession[]> {
    return this.store.listSessions(q);
  }

  listPayments(q: Parameters<ParkingStore['listPayments']>[0]): Promise<Payment[]> {
    return this.store.listPayments(q);
  }

  /**
   * One payment, idempotent on (app, key): the store's unique key decides
   * which request asks the provider; the others read its result (waiting a
   * little while it is in flight). A pending one left by a request that died
   * is asked again under the same key, which the provider answers once.
   */
  private async pay(p: Omit<PaymentInput, 'id' | 'createdAt'>, chargeRef?: string): Promise<Payment> {
    const now = Date.now();
    const { payment, first } = await this.store.beginPayment({ ...p, id: `pay_${randomUUID()}`, createdAt: now });
    if (!first) {
      let cur = payment;
      for (let k = 0; cur.status === 'pending' && k < 50 && Date.now() - cur.createdAt < STALE_PENDING_MS; k++) {
        await new Promise((r) => setTimeout(r, 100));
        cur = (await this.store.listPayments({ app: p.app, reservation: p.reservation ?? undefined, session: p.session ?? undefined })).find((x) => x.id === cur.id) ?? cur;
      }
      if (cur.status !== 'pending' || Date.now() - cur.createdAt < STALE_PENDING_MS) return cur;
    }
    const req = { idempotencyKey: `${p.app}:${p.idempotencyKey}`, amount: p.amount, currency: p.currency, payer: p.payer, description: `${p.purpose} ${p.reservation ?? p.session ?? ''}`.trim() };
    let outcome;
    try {
      const r = p.purpose === 'refund' ? await this.opts.provider.refund({ ...req, chargeRef: chargeRef ?? '' }) : await this.opts.provider.charge(req);
      outcome = r.status === 'succeeded' ? { status: 'succeeded' as const, providerRef: r.ref, error: null } : { status: 'declined' as const, providerRef: null, error: r.reason };
    } catch (e) {
      outcome = { status: 'failed' as const, providerRef: null, error: `${this.opts.provider.name}: ${(e as Error).message}` };
    }
    return this.store.settlePayment(payment.id, { ...outcome, at: Date.now() });
  }
}
