import type { ParkingSite, Reservation, ReservationStatus } from '@citybrain/brain';
import type { AvailabilityBucket, ParkingSession, Payment, PaymentPurpose, PaymentStatus } from './parking-store.js';

/** Row shapes shared by the SQLite and PostgreSQL parking stores (column names are the same in both). */
export interface ReservationRow {
  id: string; app: string; payer: string; site: string; bay: string; from_ms: number | string; to_ms: number | string; status: string;
  created_at: number | string; price: number | string; currency: string; idem_key: string;
  arrived_at: number | string | null; ended_at: number | string | null; blocked_at: number | string | null;
}
export interface SessionRow {
  id: string; bay: string; site: string; arrived_at: number | string; departed_at: number | string | null; reservation: string | null;
  price: number | string | null; currency: string; payment: string | null;
}
export interface PaymentRow {
  id: string; app: string; idem_key: string; purpose: string; reservation: string | null; session: string | null; amount: number | string;
  currency: string; payer: string; created_at: number | string; status: string; provider_ref: string | null; error: string | null; settled_at: number | string | null;
}

const n = (v: number | string) => Number(v);
const nn = (v: number | string | null) => (v === null ? null : Number(v));

export function reservationFromRow(r: ReservationRow): Reservation {
  return {
    id: r.id, app: r.app, payer: r.payer, site: r.site, bay: r.bay, from: n(r.from_ms), to: n(r.to_ms), status: r.status as ReservationStatus,
    createdAt: n(r.created_at), price: n(r.price), currency: r.currency, idempotencyKey: r.idem_key,
    arrivedAt: nn(r.arrived_at), endedAt: nn(r.ended_at), blockedAt: nn(r.blocked_at),
  };
}

export function sessionFromRow(r: SessionRow): ParkingSession {
  return {
    id: r.id, bay: r.bay, site: r.site, arrivedAt: n(r.arrived_at), departedAt: nn(r.departed_at), reservation: r.reservation,
    price: nn(r.price), currency: r.currency, payment: r.payment,
  };
}

export function paymentFromRow(r: PaymentRow): Payment {
  return {
    id: r.id, app: r.app, idempotencyKey: r.idem_key, purpose: r.purpose as PaymentPurpose, reservation: r.reservation, session: r.session,
    amount: n(r.amount), currency: r.currency, payer: r.payer, createdAt: n(r.created_at), status: r.status as PaymentStatus,
    providerRef: r.provider_ref, error: r.error, settledAt: nn(r.settled_at),
  };
}

export function bucketFromRow(r: { bucket: number | string; samples: number | string; occupied_sum: number | string; free_sum: number | string; free_min: number | string }): AvailabilityBucket {
  const s = n(r.samples);
  return { bucket: n(r.bucket), samples: s, occupied: n(r.occupied_sum) / s, free: n(r.free_sum) / s, minFree: n(r.free_min) };
}

export const siteFromBody = (body: string | ParkingSite): ParkingSite => (typeof body === 'string' ? (JSON.parse(body) as ParkingSite) : body);

/** The SQL condition of a holding reservation (it keeps its bay). */
export const HOLDING_SQL = "status IN ('booked', 'arrived')";

/** Overlapping holding reservations of one bay, counted pairwise (0 when the rule held). */
export const DOUBLE_BOOKINGS_SQL = (t: string) => `SELECT count(*) AS n FROM ${t} a JOIN ${t} b ON a.bay = b.bay AND a.id < b.id
  AND a.from_ms < b.to_ms AND b.from_ms < a.to_ms WHERE a.${HOLDING_SQL} AND b.${HOLDING_SQL}`;
/** Reservations whose booking was charged more than once. */
export const DOUBLE_CHARGES_SQL = (t: string) => `SELECT count(*) AS n FROM (SELECT reservation FROM ${t}
  WHERE purpose = 'booking' AND status = 'succeeded' GROUP BY reservation HAVING count(*) > 1) d`;
