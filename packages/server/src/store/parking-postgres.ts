import type pg from 'pg';
import type { ParkingSite, Reservation, ReservationStatus } from '@citybrain/brain';
import {
  clampParkingLimit, ParkingConflictError, type AvailabilityBucket, type AvailabilitySample, type ParkingSession, type ParkingStore, type Payment,
  type PaymentInput, type PaymentOutcome, type PaymentQuery, type ReservationPatch, type ReservationQuery, type ReservationRequest, type SessionQuery,
} from './parking-store.js';
import {
  bucketFromRow, DOUBLE_BOOKINGS_SQL, DOUBLE_CHARGES_SQL, HOLDING_SQL, paymentFromRow, reservationFromRow, sessionFromRow, siteFromBody,
  type PaymentRow, type ReservationRow, type SessionRow,
} from './parking-sql.js';

/**
 * The parking tables in PostgreSQL, made in the store's migration
 * transaction. Two holding reservations of one bay never overlap: an
 * exclusion constraint (btree_gist for the bay's equality beside the
 * tstzrange overlap), whatever number of connections book at once.
 */
export async function migrateParking(c: pg.PoolClient, s: string): Promise<void> {
  // one database-wide lock: two schemas migrating at once must not both create the extension
  await c.query("SELECT pg_advisory_xact_lock(hashtext('citybrain:btree_gist'))");
  await c.query('CREATE EXTENSION IF NOT EXISTS btree_gist');
  await c.query(`CREATE TABLE IF NOT EXISTS ${s}.parking_sites (id text PRIMARY KEY, body jsonb NOT NULL, updated_at bigint NOT NULL)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${s}.parking_bays (id text PRIMARY KEY, site text NOT NULL)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${s}.parking_reservations (
    id text PRIMARY KEY, app text NOT NULL, payer text NOT NULL, site text NOT NULL, bay text NOT NULL,
    from_ms bigint NOT NULL, to_ms bigint NOT NULL, status text NOT NULL, created_at bigint NOT NULL,
    price bigint NOT NULL, currency text NOT NULL, idem_key text NOT NULL,
    arrived_at bigint, ended_at bigint, blocked_at bigint,
    during tstzrange GENERATED ALWAYS AS (tstzrange(to_timestamp(from_ms / 1000.0), to_timestamp(to_ms / 1000.0), '[)')) STORED,
    UNIQUE (app, idem_key), CHECK (to_ms > from_ms),
    CONSTRAINT parking_no_overlap EXCLUDE USING gist (bay WITH =, during WITH &&) WHERE (${HOLDING_SQL}))`);
  await c.query(`CREATE INDEX IF NOT EXISTS parking_reservations_status ON ${s}.parking_reservations (status, from_ms)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${s}.parking_sessions (
    id text PRIMARY KEY, bay text NOT NULL, site text NOT NULL, arrived_at bigint NOT NULL, departed_at bigint,
    reservation text, price bigint, currency text NOT NULL, payment text)`);
  await c.query(`CREATE UNIQUE INDEX IF NOT EXISTS parking_sessions_open ON ${s}.parking_sessions (bay) WHERE departed_at IS NULL`);
  await c.query(`CREATE INDEX IF NOT EXISTS parking_sessions_site ON ${s}.parking_sessions (site, arrived_at)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${s}.parking_payments (
    id text PRIMARY KEY, app text NOT NULL, idem_key text NOT NULL, purpose text NOT NULL, reservation text, session text,
    amount bigint NOT NULL, currency text NOT NULL, payer text NOT NULL, created_at bigint NOT NULL,
    status text NOT NULL, provider_ref text, error text, settled_at bigint, UNIQUE (app, idem_key))`);
  await c.query(`CREATE INDEX IF NOT EXISTS parking_payments_reservation ON ${s}.parking_payments (reservation)`);
  await c.query(`CREATE TABLE IF NOT EXISTS ${s}.parking_availability (
    site text NOT NULL, bucket bigint NOT NULL, samples integer NOT NULL, occupied_sum double precision NOT NULL,
    free_sum double precision NOT NULL, free_min integer NOT NULL, PRIMARY KEY (site, bucket))`);
}

const EXCLUSION_VIOLATION = '23P01';
const UNIQUE_VIOLATION = '23505';

export class PostgresParkingStore implements ParkingStore {
  private readonly t: { sites: string; bays: string; res: string; sessions: string; payments: string; avail: string };

  constructor(private readonly pool: pg.Pool, schema: string) {
    const q = `"${schema}"`;
    this.t = {
      sites: `${q}.parking_sites`, bays: `${q}.parking_bays`, res: `${q}.parking_reservations`, sessions: `${q}.parking_sessions`,
      payments: `${q}.parking_payments`, avail: `${q}.parking_availability`,
    };
  }

  private async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }

  private async tx<T>(f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await f(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async putSites(sites: readonly ParkingSite[]): Promise<void> {
    const at = Date.now();
    await this.tx(async (c) => {
      for (const site of sites) {
        await c.query(`DELETE FROM ${this.t.bays} WHERE site = $1`, [site.id]);
        for (const b of site.bays) {
          const r = await c.query(`INSERT INTO ${this.t.bays} (id, site) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`, [b.id, site.id]);
          if (r.rowCount === 0) {
            const owner = (await c.query(`SELECT site FROM ${this.t.bays} WHERE id = $1`, [b.id])).rows[0]?.site as string;
            throw new ParkingConflictError(`bay "${b.id}" is in site "${owner}" already; take it out of that site first`);
          }
        }
        await c.query(`INSERT INTO ${this.t.sites} (id, body, updated_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
          [site.id, JSON.stringify(site), at]);
      }
    });
  }

  async listSites(): Promise<ParkingSite[]> {
    return (await this.rows<{ body: ParkingSite }>(`SELECT body FROM ${this.t.sites} ORDER BY id`)).map((r) => siteFromBody(r.body));
  }

  async deleteSite(id: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query(`DELETE FROM ${this.t.bays} WHERE site = $1`, [id]);
      return ((await c.query(`DELETE FROM ${this.t.sites} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
    });
  }

  async reserve(r: ReservationRequest, candidates: readonly string[]): Promise<{ reservation: Reservation; created: boolean } | undefined> {
    const before = await this.findReservationByKey(r.app, r.idempotencyKey);
    if (before) return { reservation: before, created: false };
    for (const bay of candidates) {
      // each attempt its own statement: the exclusion constraint (or the key's uniqueness) refuses it, or it is booked
      try {
        const row = (await this.rows<ReservationRow>(`INSERT INTO ${this.t.res} (id, app, payer, site, bay, from_ms, to_ms, status, created_at, price, currency, idem_key)
          VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked', $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING *`,
        [r.id, r.app, r.payer, r.site, bay, r.from, r.to, r.createdAt, r.price, r.currency, r.idempotencyKey]))[0];
        if (row) return { reservation: reservationFromRow(row), created: true };
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== EXCLUSION_VIOLATION && code !== UNIQUE_VIOLATION) throw e;
      }
      // refused: by a concurrent retry of the same request (answer it), or the bay is taken (try the next)
      const same = await this.findReservationByKey(r.app, r.idempotencyKey);
      if (same) return { reservation: same, created: false };
    }
    return undefined;
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    return (await this.rows<ReservationRow>(`SELECT * FROM ${this.t.res} WHERE id = $1`, [id])).map(reservationFromRow)[0];
  }

  async findReservationByKey(app: string, key: string): Promise<Reservation | undefined> {
    return (await this.rows<ReservationRow>(`SELECT * FROM ${this.t.res} WHERE app = $1 AND idem_key = $2`, [app, key])).map(reservationFromRow)[0];
  }

  async listReservations(q: ReservationQuery = {}): Promise<Reservation[]> {
    const w: string[] = [];
    const p: unknown[] = [];
    const add = (sql: string, v: unknown) => (p.push(v), w.push(sql.replace('?', `$${p.length}`)));
    if (q.app !== undefined) add('app = ?', q.app);
    if (q.site !== undefined) add('site = ?', q.site);
    if (q.bay !== undefined) add('bay = ?', q.bay);
    if (q.statuses) add('status = ANY(?)', [...q.statuses]);
    if (q.from !== undefined) add('to_ms > ?', q.from);
    if (q.to !== undefined) add('from_ms < ?', q.to);
    if (q.after !== undefined) (p.push(q.after.at, q.after.id), w.push(`(created_at, id) < ($${p.length - 1}::bigint, $${p.length}::text)`));
    p.push(clampParkingLimit(q.limit));
    const where = w.length ? ` WHERE ${w.join(' AND ')}` : '';
    return (await this.rows<ReservationRow>(`SELECT * FROM ${this.t.res}${where} ORDER BY created_at DESC, id DESC LIMIT $${p.length}`, p)).map(reservationFromRow);
  }

  async updateReservation(id: string, from: readonly ReservationStatus[], patch: ReservationPatch): Promise<Reservation | undefined> {
    const sets: string[] = [];
    const p: unknown[] = [id, [...from]];
    const col = { status: 'status', arrivedAt: 'arrived_at', endedAt: 'ended_at', blockedAt: 'blocked_at' } as const;
    for (const [k, c] of Object.entries(col)) {
      const v = patch[k as keyof ReservationPatch];
      if (v !== undefined) (p.push(v), sets.push(`${c} = $${p.length}`));
    }
    // no change asked: the row as it is, when its status is one of `from`
    const sql = sets.length > 0
      ? `UPDATE ${this.t.res} SET ${sets.join(', ')} WHERE id = $1 AND status = ANY($2) RETURNING *`
      : `SELECT * FROM ${this.t.res} WHERE id = $1 AND status = ANY($2)`;
    return (await this.rows<ReservationRow>(sql, p)).map(reservationFromRow)[0];
  }

  async expireReservations(startedBefore: number, at: number): Promise<Reservation[]> {
    return (await this.rows<ReservationRow>(`UPDATE ${this.t.res} SET status = 'expired', ended_at = $1 WHERE status = 'booked' AND from_ms < $2 RETURNING *`, [at, startedBefore]))
      .map(reservationFromRow);
  }

  async openSession(s: ParkingSession): Promise<boolean> {
    const r = await this.pool.query(`INSERT INTO ${this.t.sessions} (id, bay, site, arrived_at, departed_at, reservation, price, currency, payment)
      VALUES ($1, $2, $3, $4, NULL, $5, NULL, $6, NULL) ON CONFLICT DO NOTHING`, [s.id, s.bay, s.site, s.arrivedAt, s.reservation, s.currency]);
    return (r.rowCount ?? 0) > 0;
  }

  async openSessionOf(bay: string): Promise<ParkingSession | undefined> {
    return (await this.rows<SessionRow>(`SELECT * FROM ${this.t.sessions} WHERE bay = $1 AND departed_at IS NULL`, [bay])).map(sessionFromRow)[0];
  }

  async closeSession(id: string, departedAt: number, price: number): Promise<ParkingSession | undefined> {
    return (await this.rows<SessionRow>(`UPDATE ${this.t.sessions} SET departed_at = $1, price = $2 WHERE id = $3 AND departed_at IS NULL RETURNING *`, [departedAt, price, id]))
      .map(sessionFromRow)[0];
  }

  async markSessionPaid(id: string, payment: string): Promise<boolean> {
    return ((await this.pool.query(`UPDATE ${this.t.sessions} SET payment = $1 WHERE id = $2 AND payment IS NULL`, [payment, id])).rowCount ?? 0) > 0;
  }

  async getSession(id: string): Promise<ParkingSession | undefined> {
    return (await this.rows<SessionRow>(`SELECT * FROM ${this.t.sessions} WHERE id = $1`, [id])).map(sessionFromRow)[0];
  }

  async listSessions(q: SessionQuery = {}): Promise<ParkingSession[]> {
    const w: string[] = [];
    const p: unknown[] = [];
    if (q.site !== undefined) (p.push(q.site), w.push(`site = $${p.length}`));
    if (q.bay !== undefined) (p.push(q.bay), w.push(`bay = $${p.length}`));
    if (q.open !== undefined) w.push(q.open ? 'departed_at IS NULL' : 'departed_at IS NOT NULL');
    if (q.after !== undefined) (p.push(q.after.at, q.after.id), w.push(`(arrived_at, id) < ($${p.length - 1}::bigint, $${p.length}::text)`));
    p.push(clampParkingLimit(q.limit));
    const where = w.length ? ` WHERE ${w.join(' AND ')}` : '';
    return (await this.rows<SessionRow>(`SELECT * FROM ${this.t.sessions}${where} ORDER BY arrived_at DESC, id DESC LIMIT $${p.length}`, p)).map(sessionFromRow);
  }

  async beginPayment(i: PaymentInput): Promise<{ payment: Payment; first: boolean }> {
    const ins = await this.rows<PaymentRow>(`INSERT INTO ${this.t.payments} (id, app, idem_key, purpose, reservation, session, amount, currency, payer, created_at, status)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending') ON CONFLICT (app, idem_key) DO NOTHING RETURNING *`,
    [i.id, i.app, i.idempotencyKey, i.purpose, i.reservation, i.session, i.amount, i.currency, i.payer, i.createdAt]);
    if (ins[0]) return { payment: paymentFromRow(ins[0]), first: true };
    const row = (await this.rows<PaymentRow>(`SELECT * FROM ${this.t.payments} WHERE app = $1 AND idem_key = $2`, [i.app, i.idempotencyKey]))[0];
    return { payment: paymentFromRow(row), first: false };
  }

  async settlePayment(id: string, o: PaymentOutcome): Promise<Payment> {
    await this.pool.query(`UPDATE ${this.t.payments} SET status = $1, provider_ref = $2, error = $3, settled_at = $4 WHERE id = $5 AND status = 'pending'`,
      [o.status, o.providerRef, o.error, o.at, id]);
    return paymentFromRow((await this.rows<PaymentRow>(`SELECT * FROM ${this.t.payments} WHERE id = $1`, [id]))[0]);
  }

  async listPayments(q: PaymentQuery = {}): Promise<Payment[]> {
    const w: string[] = [];
    const p: unknown[] = [];
    if (q.app !== undefined) (p.push(q.app), w.push(`app = $${p.length}`));
    if (q.reservation !== undefined) (p.push(q.reservation), w.push(`reservation = $${p.length}`));
    if (q.session !== undefined) (p.push(q.session), w.push(`session = $${p.length}`));
    p.push(clampParkingLimit(q.limit));
    const where = w.length ? ` WHERE ${w.join(' AND ')}` : '';
    return (await this.rows<PaymentRow>(`SELECT * FROM ${this.t.payments}${where} ORDER BY created_at DESC, id DESC LIMIT $${p.length}`, p)).map(paymentFromRow);
  }

  async addAvailability(samples: readonly AvailabilitySample[]): Promise<void> {
    if (samples.length === 0) return;
    await this.pool.query(`INSERT INTO ${this.t.avail} (site, bucket, samples, occupied_sum, free_sum, free_min)
      SELECT site, bucket, 1, occupied, free, free FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::int[]) AS u(site, bucket, occupied, free)
      ON CONFLICT (site, bucket) DO UPDATE SET samples = ${this.t.avail}.samples + 1, occupied_sum = ${this.t.avail}.occupied_sum + excluded.occupied_sum,
      free_sum = ${this.t.avail}.free_sum + excluded.free_sum, free_min = least(${this.t.avail}.free_min, excluded.free_min)`,
    [samples.map((a) => a.site), samples.map((a) => a.bucket), samples.map((a) => a.occupied), samples.map((a) => a.free)]);
  }

  async availability(site: string, from: number, to: number): Promise<AvailabilityBucket[]> {
    return (await this.rows<Parameters<typeof bucketFromRow>[0]>(`SELECT * FROM ${this.t.avail} WHERE site = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket`, [site, from, to]))
      .map(bucketFromRow);
  }

  async integrity(): Promise<{ doubleBookings: number; doubleCharges: number }> {
    const [b] = await this.rows<{ n: number }>(DOUBLE_BOOKINGS_SQL(this.t.res));
    const [c] = await this.rows<{ n: number }>(DOUBLE_CHARGES_SQL(this.t.payments));
    return { doubleBookings: Number(b.n), doubleCharges: Number(c.n) };
  }
}
