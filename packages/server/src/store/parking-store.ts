import type { AvailabilityBucket } from '../api/contract.js';
import type { ParkingSite, Reservation, ReservationStatus } from '@citybrain/brain';

/**
 * Smart parking's storage, beside the events in the same database: sites and
 * bays, reservations, parking sessions, payments and availability buckets.
 * The rules that need the database to hold under any concurrency are held
 * by it: no two holding reservations (booked, arrived) of one bay overlap
 * (PostgreSQL: an exclusion constraint; SQLite: the single writer checks and
 * inserts in one transaction, a trigger refusing what slips by), one
 * reservation per app and Idempotency-Key, one payment per app and
 * idempotency key, one open session per bay.
 */
export interface ParkingStore {
  /** Inserts or replaces sites (and their bays) in one transaction; a bay already in another site is a ParkingConflictError. */
  putSites(sites: readonly ParkingSite[]): Promise<void>;
  listSites(): Promise<ParkingSite[]>;
  /** Deletes a site and its bays; false when none. Its reservations and sessions are kept (history). */
  deleteSite(id: string): Promise<boolean>;

  /**
   * Books the first of `candidates` (bays of the site, in order of
   * preference) free of holding reservations over [from, to). A request
   * whose (app, idempotencyKey) was booked before gets that reservation
   * (created false), whatever the window; none free: undefined.
   */
  reserve(req: ReservationRequest, candidates: readonly string[]): Promise<{ reservation: Reservation; created: boolean } | undefined>;
  getReservation(id: string): Promise<Reservation | undefined>;
  findReservationByKey(app: string, idempotencyKey: string): Promise<Reservation | undefined>;
  listReservations(q?: ReservationQuery): Promise<Reservation[]>;
  /** Applies `patch` when the reservation's status is one of `from`; the updated reservation, or undefined (none, or another status). */
  updateReservation(id: string, from: readonly ReservationStatus[], patch: ReservationPatch): Promise<Reservation | undefined>;
  /** Marks expired every booked reservation whose window started before `startedBefore`; returns them. */
  expireReservations(startedBefore: number, at: number): Promise<Reservation[]>;

  /** Opens a session on a bay; false when the bay has an open one already (the sensor said occupied twice). */
  openSession(s: ParkingSession): Promise<boolean>;
  /** The bay's open session, if any. */
  openSessionOf(bay: string): Promise<ParkingSession | undefined>;
  /** Closes an open session (departure, price); the closed session, or undefined when it was not open. */
  closeSession(id: string, departedAt: number, price: number): Promise<ParkingSession | undefined>;
  /** Sets the payment that paid a closed session; false when it is paid already. */
  markSessionPaid(id: string, payment: string): Promise<boolean>;
  getSession(id: string): Promise<ParkingSession | undefined>;
  listSessions(q?: SessionQuery): Promise<ParkingSession[]>;

  /**
   * The first half of an idempotent payment: inserts it pending, or answers
   * the payment stored under its (app, idempotencyKey) (first false): only
   * the caller that got first true asks the provider to move money.
   */
  beginPayment(p: PaymentInput): Promise<{ payment: Payment; first: boolean }>;
  /** Records the provider's answer to a pending payment. */
  settlePayment(id: string, outcome: PaymentOutcome): Promise<Payment>;
  listPayments(q?: PaymentQuery): Promise<Payment[]>;

  /** Adds samples to availability buckets (summed per site and bucket). */
  addAvailability(samples: readonly AvailabilitySample[]): Promise<void>;
  availability(site: string, from: number, to: number): Promise<AvailabilityBucket[]>;

  /** What must never happen, counted from the tables: overlapping holding reservations of one bay, bookings charged more than once. */
  integrity(): Promise<{ doubleBookings: number; doubleCharges: number }>;
}

export interface ReservationRequest {
  id: string;
  app: string;
  payer: string;
  site: string;
  from: number;
  to: number;
  createdAt: number;
  price: number;
  currency: string;
  idempotencyKey: string;
}

export interface ReservationQuery {
  app?: string;
  site?: string;
  bay?: string;
  statuses?: readonly ReservationStatus[];
  /** windows ending after this */
  from?: number;
  /** windows starting before this */
  to?: number;
  /** default 100, at most PARKING_PAGE_MAX; newest first (by creation) */
  limit?: number;
  /** the next page: reservations listed after this one (its createdAt and id) */
  after?: PageCursor;
}

/** Where a page ended: the last row's time (a reservation's createdAt, a session's arrivedAt) and id; the next page starts after it. */
export interface PageCursor {
  at: number;
  id: string;
}

export interface ReservationPatch {
  status?: ReservationStatus;
  arrivedAt?: number;
  endedAt?: number;
  blockedAt?: number;
}

/** A bay occupied from the sensor's arrival to its departure. */
export interface ParkingSession {
  id: string;
  bay: string;
  site: string;
  arrivedAt: number;
  departedAt: number | null;
  /** the reservation whose car it is (arrived in its window), else null */
  reservation: string | null;
  /** priced from the tariff on departure (minor units), null while open */
  price: number | null;
  currency: string;
  /** the payment that paid it (a reserved stay's extra, or an app paying a walk-in stay), null when unpaid */
  payment: string | null;
}

export interface SessionQuery {
  site?: string;
  bay?: string;
  open?: boolean;
  /** default 100, at most PARKING_PAGE_MAX; newest first (by arrival) */
  limit?: number;
  /** the next page: sessions listed after this one (its arrivedAt and id) */
  after?: PageCursor;
}

export const PAYMENT_PURPOSES = ['booking', 'session', 'refund'] as const;
export type PaymentPurpose = (typeof PAYMENT_PURPOSES)[number];
export type PaymentStatus = 'pending' | 'succeeded' | 'declined' | 'failed';

export interface PaymentInput {
  id: string;
  app: string;
  idempotencyKey: string;
  purpose: PaymentPurpose;
  reservation: string | null;
  session: string | null;
  /** minor units; a refund's too is positive */
  amount: number;
  currency: string;
  payer: string;
  createdAt: number;
}

export interface PaymentOutcome {
  status: Exclude<PaymentStatus, 'pending'>;
  providerRef: string | null;
  error: string | null;
  at: number;
}

export interface Payment extends PaymentInput {
  status: PaymentStatus;
  providerRef: string | null;
  error: string | null;
  settledAt: number | null;
}

export interface PaymentQuery {
  app?: string;
  reservation?: string;
  session?: string;
  limit?: number;
}

export interface AvailabilitySample {
  site: string;
  /** the bucket's start, epoch ms */
  bucket: number;
  occupied: number;
  free: number;
}

export type { AvailabilityBucket } from '../api/contract.js';

/** A write the parking tables refuse: a bay in two sites. */
export class ParkingConflictError extends Error {
  override readonly name = 'ParkingConflictError';
}

/** The most rows one listing answers. */
export const PARKING_PAGE_MAX = 1000;
export const clampParkingLimit = (n: number | undefined) => Math.max(1, Math.min(PARKING_PAGE_MAX, Math.floor(n ?? 100)));

/** Every row of a listing, page after page (each at most PARKING_PAGE_MAX, newest first). */
export async function everyPage<T extends { id: string }>(list: (after: PageCursor | undefined) => Promise<T[]>, at: (row: T) => number): Promise<T[]> {
  const all: T[] = [];
  for (let after: PageCursor | undefined; ;) {
    const page = await list(after);
    all.push(...page);
    if (page.length < PARKING_PAGE_MAX) return all;
    const last = page[page.length - 1];
    after = { at: at(last), id: last.id };
  }
}
