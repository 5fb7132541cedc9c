import { isOpenThrough, type ParkingSite } from './model.js';

/**
 * - booked: the bay is held for the window, not arrived yet
 * - arrived: the bay's sensor saw a car arrive in the arrival window
 * - completed: the car left (its session priced)
 * - cancelled: by the app (refunded when before the window)
 * - expired: no arrival by the window's start plus the grace period (not refunded)
 */
export const RESERVATION_STATUSES = ['booked', 'arrived', 'completed', 'cancelled', 'expired'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];
/** The statuses that hold the bay: two of these never overlap on one bay (the stores enforce it). */
export const HOLDING_STATUSES: readonly ReservationStatus[] = ['booked', 'arrived'];

export interface Reservation {
  id: string;
  /** the app's token id: whose reservation it is */
  app: string;
  /** the driver's payment account at the app (passed to the payment provider) */
  payer: string;
  site: string;
  bay: string;
  /** epoch ms, [from, to) */
  from: number;
  to: number;
  status: ReservationStatus;
  createdAt: number;
  /** what the window costs under the site's tariff, paid on booking (minor units) */
  price: number;
  currency: string;
  /** the app's Idempotency-Key of the booking request */
  idempotencyKey: string;
  arrivedAt: number | null;
  /** when it left booked/arrived */
  endedAt: number | null;
  /** when a car not the reserving one was found in the bay during the window (the flag), else null */
  blockedAt: number | null;
}

/** The rules a booking is checked against. */
export interface ReservationRules {
  /** shortest window, ms */
  minMs: number;
  /** longest window, ms */
  maxMs: number;
  /** how far ahead a window may start, ms */
  horizonMs: number;
  /** how late after its start a window may still be booked, ms (a driver reserving on the way) */
  lateMs: number;
  /** a car arriving this long before the window counts as the reserving one, ms */
  earlyArrivalMs: number;
  /** after the window's start, how long an unused reservation holds the bay before it expires, ms */
  graceMs: number;
}

export const DEFAULT_RESERVATION_RULES: Readonly<ReservationRules> = {
  minMs: 15 * 60_000,
  maxMs: 24 * 3_600_000,
  horizonMs: 7 * 86_400_000,
  lateMs: 5 * 60_000,
  earlyArrivalMs: 15 * 60_000,
  graceMs: 15 * 60_000,
};

/** Why a window [from, to) may not be booked at `site` at time `now` (naming the field), or undefined. */
export function checkWindow(site: ParkingSite, from: number, to: number, now: number, rules: Readonly<ReservationRules> = DEFAULT_RESERVATION_RULES): string | undefined {
  const min = (ms: number) => `${Math.round(ms / 60_000)} min`;
  if (!Number.isInteger(from) || !Number.isInteger(to)) return 'from, to: must be epoch milliseconds';
  if (to <= from) return `to: must be after from (${new Date(from).toISOString()})`;
  if (to - from < rules.minMs) return `to: the window is ${min(to - from)}; at least ${min(rules.minMs)}`;
  if (to - from > rules.maxMs) return `to: the window is ${min(to - from)}; at most ${min(rules.maxMs)}`;
  if (from < now - rules.lateMs) return `from: ${new Date(from).toISOString()} has passed (now ${new Date(now).toISOString()})`;
  if (from > now + rules.horizonMs) return `from: at most ${min(rules.horizonMs)} ahead`;
  if (!isOpenThrough(site.openingHours, from, to)) return `from, to: site "${site.id}" is not open throughout ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`;
  return undefined;
}

/** Whether two windows [a0, a1) and [b0, b1) share an instant. */
export function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 < b1 && b0 < a1;
}

/** Whether a car arriving at `ts` is the one that booked `r` (its arrival window: early tolerance to grace, within the window). */
export function isReservedArrival(r: Pick<Reservation, 'status' | 'from' | 'to'>, ts: number, rules: Readonly<ReservationRules> = DEFAULT_RESERVATION_RULES): boolean {
  return r.status === 'booked' && ts >= r.from - rules.earlyArrivalMs && ts <= Math.min(r.to, r.from + rules.graceMs);
}

/** What a cancellation at `now` refunds: all before the window starts, nothing after (the bay was held). */
export function cancellationRefund(r: Pick<Reservation, 'from' | 'price'>, now: number): number {
  return now < r.from ? r.price : 0;
}
