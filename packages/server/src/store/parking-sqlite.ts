import type Database from 'better-sqlite3';
import type { ParkingSite, Reservation, ReservationStatus } from '@citybrain/brain';
import {
  clampParkingLimit, ParkingConflictError, type AvailabilityBucket, type AvailabilitySample, type ParkingSession, type ParkingStore, type Payment,
  type PaymentInput, type PaymentOutcome, type PaymentQuery, type ReservationPatch, type ReservationQuery, type ReservationRequest, type SessionQuery,
} from './parking-store.js';
import {
  bucketFromRow, DOUBLE_BOOKINGS_SQL, DOUBLE_CHARGES_SQL, HOLDING_SQL, paymentFromRow, reservationFromRow, sessionFromRow, siteFromBody,
  type PaymentRow, type ReservationRow, type SessionRow,
} from './parking-sql.js';

/** The parking tables in SQLite (run by the writer with the store's schema). */
export const PARKING_SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS parking_sites (id TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS parking_bays (id TEXT PRIMARY KEY, site TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parking_reservations (
  id TEXT PRIMARY KEY, app TEXT NOT NULL, payer TEXT NOT NULL, site TEXT NOT NULL, bay TEXT NOT NULL,
  from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL,
  price INTEGER NOT NULL, currency TEXT NOT NULL, idem_key TEXT NOT NULL,
  arrived_at INTEGER, ended_at INTEGER, blocked_at INTEGER,
  UNIQUE (app, idem_key), CHECK (to_ms > from_ms)
);
CREATE INDEX IF NOT EXISTS parking_reservations_bay ON parking_reservations (bay, from_ms);
CREATE INDEX IF NOT EXISTS parking_reservations_status ON parking_reservations (status, from_ms);
-- the single writer checks before it inserts; these hold the rule in the database whatever writes
CREATE TRIGGER IF NOT EXISTS parking_no_overlap_insert BEFORE INSERT ON parking_reservations
WHEN NEW.status IN ('booked', 'arrived') AND EXISTS (SELECT 1 FROM parking_reservations r WHERE r.bay = NEW.bay AND r.${HOLDING_SQL}
  AND r.from_ms < NEW.to_ms AND NEW.from_ms < r.to_ms)
BEGIN SELECT RAISE(ABORT, 'parking: overlapping reservation of one bay'); END;
CREATE TRIGGER IF NOT EXISTS parking_no_overlap_update BEFORE UPDATE OF status, bay, from_ms, to_ms ON parking_reservations
WHEN NEW.status IN ('booked', 'arrived') AND EXISTS (SELECT 1 FROM parking_reservations r WHERE r.bay = NEW.bay AND r.id <> NEW.id AND r.${HOLDING_SQL}
  AND r.from_ms < NEW.to_ms AND NEW.from_ms < r.to_ms)
BEGIN SELECT RAISE(ABORT, 'parking: overlapping reservation of one bay'); END;
CREATE TABLE IF NOT EXISTS parking_sessions (
  id TEXT PRIMARY KEY, bay TEXT NOT NULL, site TEXT NOT NULL, arrived_at INTEGER NOT NULL, departed_at INTEGER,
  reservation TEXT, price INTEGER, currency TEXT NOT NULL, payment TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS parking_sessions_open ON parking_sessions (bay) WHERE departed_at IS NULL;
CREATE INDEX IF NOT EXISTS parking_sessions_site ON parking_sessions (site, arrived_at);
CREATE TABLE IF NOT EXISTS parking_payments (
  id TEXT PRIMARY KEY, app TEXT NOT NULL, idem_key TEXT NOT NULL, purpose TEXT NOT NULL, reservation TEXT, session TEXT,
  amount INTEGER NOT NULL, currency TEXT NOT NULL, payer TEXT NOT NULL, created_at INTEGER NOT NULL,
  status TEXT NOT NULL, provider_ref TEXT, error TEXT, settled_at INTEGER,
  UNIQUE (app, idem_key)
);
CREATE INDEX IF NOT EXISTS parking_payments_reservation ON parking_payments (reservation);
CREATE TABLE IF NOT EXISTS parking_availability (
  site TEXT NOT NULL, bucket INTEGER NOT NULL, samples INTEGER NOT NULL, occupied_sum REAL NOT NULL, free_sum REAL NOT NULL, free_min INTEGER NOT NULL,
  PRIMARY KEY (site, bucket)
);
`;

/** A parking write, run by the single writer (sqlite-worker.ts). */
export type ParkingWriteOp =
  | { p: 'putSites'; sites: ParkingSite[]; at: number }
  | { p: 'deleteSite'; id: string }
  | { p: 'reserve'; req: ReservationRequest; candidates: string[] }
  | { p: 'updateReservation'; id: string; from: ReservationStatus[]; patch: ReservationPatch }
  | { p: 'expire'; startedBefore: number; at: number }
  | { p: 'openSession'; s: ParkingSession }
  | { p: 'closeSession'; id: string; departedAt: number; price: number }
  | { p: 'markSessionPaid'; id: string; payment: string }
  | { p: 'beginPayment'; input: PaymentInput }
  | { p: 'settlePayment'; id: string; outcome: PaymentOutcome }
  | { p: 'availability'; samples: AvailabilitySample[] };

/** A parking write's answer: its value, or the error that rolled it back (the rest of the group commits). */
export type ParkingWriteResult = { parking: unknown } | { parkingError: string; conflict?: boolean };

/** The writer side: prepared statements on the writer's connection, each op in a savepoint of the group's transaction. */
export function parkingWriter(db: Database.Database): (op: ParkingWriteOp) => ParkingWriteResult {
  db.exec(PARKING_SQLITE_SCHEMA);
  const s = {
    putSite: db.prepare('INSERT INTO parking_sites (id, body, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at'),
    dropBays: db.prepare('DELETE FROM parking_bays WHERE site = ?'),
    bayOwner: db.prepare('SELECT site FROM parking_bays WHERE id = ?').pluck(),
    putBay: db.prepare('INSERT INTO parking_bays (id, site) VALUES (?, ?)'),
    deleteSite: db.prepare('DELETE FROM parking_sites WHERE id = ?'),
    byKey: db.prepare('SELECT * FROM parking_reservations WHERE app = ? AND idem_key = ?'),
    byId: db.prepare('SELECT * FROM parking_reservations WHERE id = ?'),
    holds: db.prepare(`SELECT 1 FROM parking_reservations WHERE bay = ? AND ${HOLDING_SQL} AND from_ms < ? AND to_ms > ? LIMIT 1`).pluck(),
    insertReservation: db.prepare(`INSERT INTO parking_reservations (id, app, payer, site, bay, from_ms, to_ms, status, created_at, price, currency, idem_key)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?)`),
    expire: db.prepare(`UPDATE parking_reservations SET status = 'expired', ended_at = ? WHERE status = 'booked' AND from_ms < ? RETURNING *`),
    openSession: db.prepare(`INSERT INTO parking_sessions (id, bay, site, arrived_at, departed_at, reservation, price, currency, payment)
      VALUES (?, ?, ?, ?, NULL, ?, NULL, ?, NULL) ON CONFLICT DO NOTHING`),
    closeSession: db.prepare('UPDATE parking_sessions SET departed_at = ?, price = ? WHERE id = ? AND departed_at IS NULL RETURNING *'),
    paySession: db.prepare('UPDATE parking_sessions SET payment = ? WHERE id = ? AND payment IS NULL'),
    insertPayment: db.prepare(`INSERT INTO parking_payments (id, app, idem_key, purpose, reservation, session, amount, currency, payer, created_at, status)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (app, idem_key) DO NOTHING`),
    paymentByKey: db.prepare('SELECT * FROM parking_payments WHERE app = ? AND idem_key = ?'),
    settle: db.prepare("UPDATE parking_payments SET status = ?, provider_ref = ?, error = ?, settled_at = ? WHERE id = ? AND status = 'pending'"),
    paymentById: db.prepare('SELECT * FROM parking_payments WHERE id = ?'),
    addAvailability: db.prepare(`INSERT INTO parking_availability (site, bucket, samples, occupied_sum, free_sum, free_min) VALUES (?, ?, 1, ?, ?, ?)
      ON CONFLICT (site, bucket) DO UPDATE SET samples = samples + 1, occupied_sum = occupied_sum + excluded.occupied_sum,
      free_sum = free_sum + excluded.free_sum, free_min = min(free_min, excluded.free_min)`),
  };

  const run = (op: ParkingWriteOp): unknown => {
    switch (op.p) {
      case 'putSites':
        for (const site of op.sites) {
          s.dropBays.run(site.id);
          for (const b of site.bays) {
            const owner = s.bayOwner.get(b.id) as string | undefined;
            if (owner !== undefined) throw new ParkingConflictError(`bay "${b.id}" is in site "${owner}" already; take it out of that site first`);
            s.putBay.run(b.id, site.id);
          }
          s.putSite.run(site.id, JSON.stringify(site), op.at);
        }
        return null;
      case 'deleteSite':
        s.dropBays.run(op.id);
        return s.deleteSite.run(op.id).changes > 0;
      case 'reserve': {
        const r = op.req;
        const before = s.byKey.get(r.app, r.idempotencyKey) as ReservationRow | undefined;
        if (before) return { reservation: reservationFromRow(before), created: false };
        // serialised by the single writer: nothing books between this check and the insert
        for (const bay of op.candidates) {
          if (s.holds.get(bay, r.to, r.from) !== undefined) continue;
          s.insertReservation.run(r.id, r.app, r.payer, r.site, bay, r.from, r.to, r.createdAt, r.price, r.currency, r.idempotencyKey);
          return { reservation: reservationFromRow(s.byId.get(r.id) as ReservationRow), created: true };
        }
        return null;
      }
      case 'updateReservation': {
        const cur = s.byId.get(op.id) as ReservationRow | undefined;
        if (!cur || !op.from.includes(cur.status as ReservationStatus)) return null;
        const sets: string[] = [];
        const params: unknown[] = [];
        const col = { status: 'status', arrivedAt: 'arrived_at', endedAt: 'ended_at', blockedAt: 'blocked_at' } as const;
        for (const [k, c] of Object.entries(col)) {
          const v = op.patch[k as keyof ReservationPatch];
          if (v !== undefined) {
            sets.push(`${c} = ?`);
            params.push(v);
          }
        }
        if (sets.length > 0) db.prepare(`UPDATE parking_reservations SET ${sets.join(', ')} WHERE id = ?`).run(...params, op.id);
        return reservationFromRow(s.byId.get(op.id) as ReservationRow);
      }
      case 'expire':
        return (s.expire.all(op.at, op.startedBefore) as ReservationRow[]).map(reservationFromRow);
      case 'openSession': {
        const x = op.s;
        return s.openSession.run(x.id, x.bay, x.site, x.arrivedAt, x.reservation, x.currency).changes > 0;
      }
      case 'closeSession': {
        const row = s.closeSession.get(op.departedAt, op.price, op.id) as SessionRow | undefined;
        return row ? sessionFromRow(row) : null;
      }
      case 'markSessionPaid':
        return s.paySession.run(op.payment, op.id).changes > 0;
      case 'beginPayment': {
        const p = op.input;
        const first = s.insertPayment.run(p.id, p.app, p.idempotencyKey, p.purpose, p.reservation, p.session, p.amount, p.currency, p.payer, p.createdAt).changes > 0;
        return { payment: paymentFromRow(s.paymentByKey.get(p.app, p.idempotencyKey) as PaymentRow), first };
      }
      case 'settlePayment':
        s.settle.run(op.outcome.status, op.outcome.providerRef, op.outcome.error, op.outcome.at, op.id);
        return paymentFromRow(s.paymentById.get(op.id) as PaymentRow);
      case 'availability':
        for (const a of op.samples) s.addAvailability.run(a.site, a.bucket, a.occupied, a.free, a.free);
        return null;
    }
  };
  const inSavepoint = db.transaction(run);
  return (op) => {
    try {
      return { parking: inSavepoint(op) };
    } catch (e) {
      return { parkingError: (e as Error).message, conflict: e instanceof ParkingConflictError };
    }
  };
}

/**
 * The SQLite parking store: writes go to the store's single writer thread
 * (one at a time, so a reservation's check and insert are one step); reads
 * use the read-only connection on the caller's thread (WAL: a committed
 * write is seen at once).
 */
export class SqliteParkingStore implements ParkingStore {
  private readonly stmts = new Map<string, Database.Statement>();
  constructor(private readonly write: (op: ParkingWriteOp) => Promise<ParkingWriteResult>, private readonly reader: Database.Database) {}

  private async w<T>(op: ParkingWriteOp): Promise<T> {
    const r = await this.write(op);
    if ('parkingError' in r) throw r.conflict ? new ParkingConflictError(r.parkingError) : new Error(`SQLite parking write failed: ${r.parkingError}`);
    return r.parking as T;
  }

  private all<T>(sql: string, ...params: unknown[]): T[] {
    let st = this.stmts.get(sql);
    if (!st) this.stmts.set(sql, (st = this.reader.prepare(sql)));
    return st.all(...params) as T[];
  }

  async putSites(sites: readonly ParkingSite[]): Promise<void> {
    await this.w({ p: 'putSites', sites: [...sites], at: Date.now() });
  }

  async listSites(): Promise<ParkingSite[]> {
    return this.all<{ body: string }>('SELECT body FROM parking_sites ORDER BY id').map((r) => siteFromBody(r.body));
  }

  deleteSite(id: string): Promise<boolean> {
    return this.w({ p: 'deleteSite', id });
  }

  async reserve(req: ReservationRequest, candidates: readonly string[]): Promise<{ reservation: Reservation; created: boolean } | undefined> {
    return (await this.w<{ reservation: Reservation; created: boolean } | null>({ p: 'reserve', req, candidates: [...candidates] })) ?? undefined;
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    return this.all<ReservationRow>('SELECT * FROM parking_reservations WHERE id = ?', id).map(reservationFromRow)[0];
  }

  async findReservationByKey(app: string, key: string): Promise<Reservation | undefined> {
    return this.all<ReservationRow>('SELECT * FROM parking_reservations WHERE app = ? AND idem_key = ?', app, key).map(reservationFromRow)[0];
  }

  async listReservations(q: ReservationQuery = {}): Promise<Reservation[]> {
    const w: string[] = [];
    const p: unknown[] = [];
    if (q.app !== undefined) (w.push('app = ?'), p.push(q.app));
    if (q.site !== undefined) (w.push('site = ?'), p.push(q.site));
    if (q.bay !== undefined) (w.push('bay = ?'), p.push(q.bay));
    if (q.statuses) (w.push(`status IN (${q.statuses.map(() => '?').join(', ') || "''"})`), p.push(...q.statuses));
    if (q.from !== undefined) (w.push('to_ms > ?'), p.push(q.from));
    if (q.to !== undefined) (w.push('from_ms < ?'), p.push(q.to));
    if (q.after !== undefined) (w.push('(created_at, id) < (?, ?)'), p.push(q.after.at, q.after.id));
    const where = w.length ? ` WHERE ${w.join(' AND ')}` : '';
    return this.all<ReservationRow>(`SELECT * FROM parking_reservations${where} ORDER BY created_at DESC, id DESC LIMIT ?`, ...p, clampParkingLimit(q.limit)).map(reservationFromRow);
  }

  async updateReservation(id: string, from: readonly ReservationStatus[], patch: ReservationPatch): Promise<Reservation | undefined> {
    return (await this.w<Reservation | null>({ p: 'updateReservation', id, from: [...from], patch })) ?? undefined;
  }

  expireReservations(startedBefore: number, at: number): Promise<Reservation[]> {
    return this.w({ p: 'expire', startedBefore, at });
  }

  openSession(s: ParkingSession): Promise<boolean> {
    return this.w({ p: 'openSession', s });
  }

  async openSessionOf(bay: string): Promise<ParkingSession | undefined> {
    return this.all<SessionRow>('SELECT * FROM parking_sessions WHERE bay = ? AND departed_at IS NULL', bay).map(sessionFromRow)[0];
  }

  async closeSession(id: string, departedAt: number, price: number): Promise<ParkingSession | undefined> {
    return (await this.w<ParkingSession | null>({ p: 'closeSession', id, departedAt, price })) ?? undefined;
  }

  markSessionPaid(id: string, payment: string): Promise<boolean> {
    return this.w({ p: 'markSessionPaid', id, payment });
  }

  async getSession(id: string): Promise<ParkingSession | undefined> {
    return this.all<SessionRow>('SELECT * FROM parking_sessions WHERE id = ?', id).map(sessionFromRow)[0];
  }

  async listSessions(q: SessionQuery = {}): Promise<ParkingSession[]> {
    const w: string[] = [];
    const p: unknown[] = [];
    if (q.site !== undefined) (w.push('site = ?'), p.push(q.site));
    if (q.bay !== undefined) (w.push('bay = ?'), p.push(q.bay));
    if (q.open !== undefined) w.push(q.open ? 'departed_at IS NULL' : 'departed_at IS NOT NULL');
    if (q.after !== undefined) (w.push('(arrived_at, id) < (?, ?)'), p.push(q.after.at, q.after.id));
    const where = w.length ? ` WHERE ${w.join(' AND ')}` : '';
    return this.all<SessionRow>(`SELECT * FROM parking_sessions${where} ORDER BY arrived_at DESC, id DESC LIMIT ?`, ...p, clampParkingLimit(q.limit)).map(sessionFromRow);
  }

  beginPayment(input: PaymentInput): Promise<{ payment: Payment; first: boolean }> {
    return this.w({ p: 'beginPayment', input });
  }

  settlePayment(id: string, outcome: PaymentOutcome): Promise<Payment> {
    return this.w({ p: 'settlePayment', id, outcome });
  }

  async listPayments(q: PaymentQuery = {}): Promise<Payment[]> {
    const w: string[] = [];
    const p: unknown[] = [];
    if (q.app !== undefined) (w.push('app = ?'), p.push(q.app));
    if (q.reservation !== undefined) (w.push('reservation = ?'), p.push(q.reservation));
    if (q.session !== undefined) (w.push('session = ?'), p.push(q.session));
    const where = w.length ? ` WHERE ${w.join(' AND ')}` : '';
    return this.all<PaymentRow>(`SELECT * FROM parking_payments${where} ORDER BY created_at DESC, id DESC LIMIT ?`, ...p, clampParkingLimit(q.limit)).map(paymentFromRow);
  }

  async addAvailability(samples: readonly AvailabilitySample[]): Promise<void> {
    if (samples.length > 0) await this.w({ p: 'availability', samples: [...samples] });
  }

  async availability(site: string, from: number, to: number): Promise<AvailabilityBucket[]> {
    return this.all<Parameters<typeof bucketFromRow>[0]>('SELECT * FROM parking_availability WHERE site = ? AND bucket >= ? AND bucket < ? ORDER BY bucket', site, from, to).map(bucketFromRow);
  }

  async integrity(): Promise<{ doubleBookings: number; doubleCharges: number }> {
    const [b] = this.all<{ n: number }>(DOUBLE_BOOKINGS_SQL('parking_reservations'));
    const [c] = this.all<{ n: number }>(DOUBLE_CHARGES_SQL('parking_payments'));
    return { doubleBookings: Number(b.n), doubleCharges: Number(c.n) };
  }
}
