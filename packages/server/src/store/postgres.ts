import pg from 'pg';
import { canonicalEvent, eventBay, eventIntersection, type Event } from '@citybrain/brain';
import { GroupCommitter } from './group-commit.js';
import { auditJson, collectPage, decodeCursor, eventJson, type Page, type PageRow } from './page.js';
import { auditWhere, eventWhere, orderDir, orderOf } from './sql.js';
import { redactSecrets } from '../redact.js';
import { migrateParking, PostgresParkingStore } from './parking-postgres.js';
import {
  clampLimit, EventConflictError, splitResult, StoreError, withTimeout, type ActionChange, type AppendResult, type AuditEntry, type AuditInput, type AuditQuery,
  type CommitListener, type ComparisonRecord, type EventFilter, type EventKey, type EventQuery, type EventStore, type PageBound, type Snapshot, type StoredEvent, type TokenRecord,
} from './store.js';

export interface PostgresStoreOptions {
  /** schema holding the tables; default 'citybrain' (tests use one per run) */
  schema?: string;
  /** pool size; default 8 */
  poolSize?: number;
  /** concurrent group commits; default 3 */
  commitsInFlight?: number;
  /** create the database the URL names when it does not exist (connecting to the server's `postgres` database to do so) */
  createDatabase?: boolean;
}

// bigint (int8) columns hold epoch ms, which fit a double exactly
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

interface AppendOp {
  events: readonly Event[];
  received: number;
}

/** per batch: inserted flags, or the index of the first event whose id is stored with other fields (nothing of it stored) */
type AppendOutcome = Uint8Array | { conflict: number };

/**
 * PostgreSQL for production. Appends from concurrent requests are grouped
 * into one multi-row INSERT (unnest of column arrays) with ON CONFLICT
 * (device, id) DO NOTHING; RETURNING tells which rows were new. A statement
 * resolves after its commit, which PostgreSQL flushes (synchronous_commit on).
 */
export class PostgresStore implements EventStore {
  readonly backend = 'postgres';
  private readonly committer: GroupCommitter<AppendOp, AppendOutcome>;
  private readonly listeners = new Set<CommitListener>();
  private readonly t: { events: string; audit: string; tokens: string; state: string; snapshots: string; comparisons: string };
  private closed = false;
  /** smart parking's tables in the same schema */
  readonly parking: PostgresParkingStore;

  private constructor(private readonly pool: pg.Pool, readonly schema: string, commitsInFlight: number) {
    this.parking = new PostgresParkingStore(pool, schema);
    const q = `"${schema}"`;
    this.t = { events: `${q}.events`, audit: `${q}.audit`, tokens: `${q}.tokens`, state: `${q}.state`, snapshots: `${q}.snapshots`, comparisons: `${q}.comparisons` };
    this.committer = new GroupCommitter((ops) => this.insertGroup(ops), {
      maxInFlight: commitsInFlight, maxGroupWeight: 20000, weight: (op) => op.events.length,
    });
  }

  /** The pool and schema, for stores of other records kept beside the events in the same database (the plate watchlist's). */
  sharedPool(): { pool: pg.Pool; schema: string } {
    return { pool: this.pool, schema: this.schema };
  }

  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const schema = opts.schema ?? 'citybrain';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new StoreError(`PostgreSQL schema name "${schema}" must be lower-case letters, digits and _`);
    for (let attempt = 0; ; attempt++) {
      const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 8, types });
      // an idle client's error (e.g. the server restarting) must not crash the process
      pool.on('error', () => {});
      try {
        await PostgresStore.migrate(pool, schema);
        return new PostgresStore(pool, schema, opts.commitsInFlight ?? 3);
      } catch (e) {
        await pool.end();
        const code = (e as { code?: string }).code;
        if (code === NO_SUCH_DATABASE && opts.createDatabase && attempt === 0) {
          await createDatabase(url);
          continue;
        }
        throw new StoreError(`cannot open PostgreSQL store at ${redactSecrets(url)}: ${(e as Error).message}${hint(url, code)}`);
      }
    }
  }

  private static async migrate(pool: pg.Pool, schema: string): Promise<void> {
    const c = await pool.connect();
    const s = `"${schema}"`;
    try {
      await c.query('BEGIN');
      // serialise concurrent first starts: CREATE ... IF NOT EXISTS is not race-free
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`citybrain:${schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.events (
        seq bigserial PRIMARY KEY, device text NOT NULL, id text NOT NULL, kind text NOT NULL, ts bigint NOT NULL,
        intersection text, bay text, received bigint NOT NULL, body jsonb NOT NULL, UNIQUE (device, id))`);
      await c.query(`CREATE INDEX IF NOT EXISTS events_ts ON ${s}.events (ts)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.audit (
        seq bigserial PRIMARY KEY, at bigint NOT NULL, actor text NOT NULL, role text NOT NULL, action text NOT NULL,
        target text NOT NULL, before jsonb, after jsonb)`);
      await c.query(`CREATE INDEX IF NOT EXISTS audit_at ON ${s}.audit (at)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.tokens (
        hash text PRIMARY KEY, id text NOT NULL UNIQUE, name text NOT NULL, role text NOT NULL, device text,
        intersections jsonb NOT NULL, bays jsonb NOT NULL, created_at bigint NOT NULL, revoked_at bigint)`);
      // added after the first release: a store made before gets it
      await c.query(`ALTER TABLE ${s}.tokens ADD COLUMN IF NOT EXISTS vehicles jsonb NOT NULL DEFAULT '[]'::jsonb`);
      await c.query(`ALTER TABLE ${s}.tokens ADD COLUMN IF NOT EXISTS organisation text`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.state (key text PRIMARY KEY, value jsonb NOT NULL, at bigint NOT NULL)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.snapshots (name text PRIMARY KEY, fingerprint text NOT NULL, at bigint NOT NULL, data bytea NOT NULL)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.comparisons (id text PRIMARY KEY, created_at bigint NOT NULL, body jsonb NOT NULL)`);
      await migrateParking(c, s);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  private insertSql(): string {
    return `INSERT INTO ${this.t.events} (device, id, kind, ts, intersection, bay, received, body)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::jsonb[])
      ON CONFLICT (device, id) DO NOTHING RETURNING device, id`;
  }

  private static columns(ops: readonly AppendOp[]): unknown[][] {
    const cols: unknown[][] = [[], [], [], [], [], [], [], []];
    for (const op of ops) {
      for (const e of op.events) {
        cols[0].push(e.device); cols[1].push(e.id); cols[2].push(e.kind); cols[3].push(e.ts);
        cols[4].push(eventIntersection(e) ?? null); cols[5].push(eventBay(e) ?? null); cols[6].push(op.received); cols[7].push(JSON.stringify(e));
      }
    }
    return cols;
  }

  /**
   * One transaction for the group: insert, and when some rows were there
   * already, compare them with what is stored; a batch naming a stored id with
   * other fields is taken out (the transaction rolled back and run again
   * without it), so each batch is all or nothing and the others commit.
   */
  private async insertGroup(ops: AppendOp[]): Promise<AppendOutcome[]> {
    const t0 = performance.now();
    const out: AppendOutcome[] = new Array(ops.length);
    let live = ops.map((_, k) => k);
    while (live.length > 0) {
      const cols = PostgresStore.columns(live.map((k) => ops[k]));
      let c: pg.PoolClient | undefined;
      let conflicted = false;
      let broken: Error | undefined;
      // a connection lost mid-transaction is reported on the client too: without a listener that would crash the process
      const lost = (e: Error) => (broken = e);
      try {
        c = await this.pool.connect();
        c.on('error', lost);
        await c.query('BEGIN');
        const res = await c.query<{ device: string; id: string }>(this.insertSql(), cols);
        // a key returned was inserted by its first occurrence in the group; later repeats are duplicates
        const fresh = new Set(res.rows.map((r) => `${r.device}\u0000${r.id}`));
        const flags = live.map((k) => {
          const f = new Uint8Array(ops[k].events.length);
          ops[k].events.forEach((e, i) => {
            if (fresh.delete(`${e.device}\u0000${e.id}`)) f[i] = 1;
          });
          return f;
        });
        if (res.rows.length < cols[0].length) {
          // rows there already (stored before, or by an earlier batch of this group): a retry only if the same event
          const again = live.flatMap((k, j) => ops[k].events.filter((_, i) => !flags[j][i]));
          const stored = await c.query<{ device: string; id: string; body: object }>(
            `SELECT device, id, body FROM ${this.t.events} WHERE (device, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
            [again.map((e) => e.device), again.map((e) => e.id)],
          );
          const bodies = new Map(stored.rows.map((r) => [`${r.device}\u0000${r.id}`, canonicalEvent(r.body)]));
          live.forEach((k, j) => {
            const i = ops[k].events.findIndex((e, i) => !flags[j][i] && bodies.get(`${e.device}\u0000${e.id}`) !== canonicalEvent(e));
            if (i >= 0) {
              out[k] = { conflict: i };
              conflicted = true;
            }
          });
        }
        if (conflicted) {
          await c.query('ROLLBACK');
          live = live.filter((k) => out[k] === undefined);
          continue;
        }
        await c.query('COMMIT');
        live.forEach((k, j) => (out[k] = flags[j]));
        live = [];
      } catch (e) {
        broken ??= e as Error;
        await c?.query('ROLLBACK').catch(() => {});
        throw new StoreError(`PostgreSQL insert failed: ${(e as Error).message}`);
      } finally {
        c?.off('error', lost);
        // a client whose query failed is not handed out again
        c?.release(broken);
      }
      const info = { events: cols[0].length, seconds: (performance.now() - t0) / 1000 };
      for (const l of this.listeners) l(info);
    }
    return out;
  }

  async append(events: readonly Event[]): Promise<AppendResult> {
    if (this.closed) throw new StoreError('store is closed');
    if (events.length === 0) return { accepted: [], duplicates: [] };
    const r = await this.committer.submit({ events, received: Date.now() });
    if ('conflict' in r) throw new EventConflictError(r.conflict, events[r.conflict].device, events[r.conflict].id);
    return splitResult(events, r);
  }

  async query(q: EventQuery = {}): Promise<StoredEvent[]> {
    return JSON.parse((await this.queryPage(q)).json) as StoredEvent[];
  }

  async queryPage(q: EventQuery & PageBound = {}): Promise<Page> {
    const order = orderOf(q.order);
    const w = eventWhere(q, (n) => `$${n}`, q.after === undefined ? undefined : { key: decodeCursor(q.after, 'events', order), order });
    const dir = orderDir(order);
    const limit = clampLimit(q.limit);
    // bodies as text (not parsed jsonb): the page is spliced together as text; one row more tells whether a next page exists
    const page = `SELECT ts, seq, body::text AS body, received FROM ${this.t.events}${w.sql} ORDER BY ts ${dir}, seq ${dir} LIMIT $${w.params.length + 1}`;
    const values: unknown[] = [...w.params, limit + 1];
    let text = page;
    if (q.maxBytes !== undefined && Number.isFinite(q.maxBytes)) {
      // only the rows that start within the byte bound cross the wire (collectPage's size of a row, computed here),
      // and always two: a page holds at least one row, and the next tells whether there is more
      const size = 'octet_length(body) + length(received::text) + 15';
      const sorted = `ORDER BY ts ${dir}, seq ${dir}`;
      values.push(q.maxBytes);
      text = `SELECT ts, seq, body, received FROM (
        SELECT *, sum(${size}) OVER (${sorted} ROWS UNBOUNDED PRECEDING) - (${size}) AS before, row_number() OVER (${sorted}) AS n FROM (${page}) r
      ) p WHERE before < $${values.length} OR n <= 2 ${sorted}`;
    }
    const r = await this.pool.query<[number, number, string, number]>({ text, values, rowMode: 'array' });
    function* rows(): Iterable<PageRow> {
      for (const [ts, seq, body, received] of r.rows) yield { key: [ts, seq], json: eventJson(body, received) };
    }
    return collectPage(rows(), 'events', order, { limit, maxBytes: q.maxBytes });
  }

  async count(f: EventFilter = {}): Promise<number> {
    const w = eventWhere(f, (n) => `$${n}`);
    const r = await this.pool.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${this.t.events}${w.sql}`, w.params);
    return r.rows[0].n;
  }

  async purgeOlderThan(cutoffMs: number): Promise<number> {
    if (!Number.isFinite(cutoffMs)) throw new RangeError(`cutoff must be epoch milliseconds, got ${cutoffMs}`);
    let total = 0;
    for (;;) {
      const r = await this.pool.query(
        `DELETE FROM ${this.t.events} WHERE seq IN (SELECT seq FROM ${this.t.events} WHERE ts < $1 LIMIT 10000)`, [Math.floor(cutoffMs)],
      );
      total += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < 10000) return total;
    }
  }

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    return this.insertAudit(this.pool, e);
  }

  private async insertAudit(db: pg.Pool | pg.PoolClient, e: AuditInput): Promise<AuditEntry> {
    const at = e.at ?? Date.now();
    const r = await db.query<{ seq: number }>(
      `INSERT INTO ${this.t.audit} (at, actor, role, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
      [at, e.actor, e.role, e.action, e.target, e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after)],
    );
    return { seq: r.rows[0].seq, at, actor: e.actor, role: e.role, action: e.action, target: e.target, before: e.before ?? null, after: e.after ?? null };
  }

  async queryAudit(q: AuditQuery = {}): Promise<AuditEntry[]> {
    return JSON.parse((await this.queryAuditPage(q)).json) as AuditEntry[];
  }

  async queryAuditPage(q: AuditQuery & PageBound = {}): Promise<Page> {
    const order = orderOf(q.order);
    const w = auditWhere(q, (n) => `$${n}`, q.after === undefined ? undefined : { key: decodeCursor(q.after, 'audit', order), order });
    const limit = clampLimit(q.limit);
    const r = await this.pool.query<Parameters<typeof auditJson>[0]>(
      `SELECT seq, at, actor, role, action, target, before::text AS before, after::text AS after FROM ${this.t.audit}${w.sql}
       ORDER BY seq ${orderDir(order)} LIMIT $${w.params.length + 1}`,
      [...w.params, limit + 1],
    );
    return collectPage(r.rows.map((row) => ({ key: [row.seq], json: auditJson(row) })), 'audit', order, { limit, maxBytes: q.maxBytes });
  }

  async putToken(t: TokenRecord): Promise<void> {
    await this.upsertToken(this.pool, t);
  }

  private async upsertToken(db: pg.Pool | pg.PoolClient, t: TokenRecord): Promise<void> {
    // a revoked token stays revoked: reinstalling it (CITYBRAIN_TOKENS at each start) must not clear revoked_at
    await db.query(
      `INSERT INTO ${this.t.tokens} AS t (hash, id, name, role, device, intersections, bays, vehicles, organisation, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (hash) DO UPDATE SET id = excluded.id, name = excluded.name, role = excluded.role, device = excluded.device,
       intersections = excluded.intersections, bays = excluded.bays, vehicles = excluded.vehicles, organisation = excluded.organisation, created_at = excluded.created_at, revoked_at = coalesce(t.revoked_at, excluded.revoked_at)`,
      [t.hash, t.id, t.name, t.role, t.device ?? null, JSON.stringify(t.intersections), JSON.stringify(t.bays), JSON.stringify(t.vehicles), t.organisation ?? null, t.createdAt, t.revokedAt ?? null],
    );
  }

  private static token(r: Record<string, unknown>): TokenRecord {
    const t: TokenRecord = {
      id: r.id as string, hash: r.hash as string, name: r.name as string, role: r.role as TokenRecord['role'],
      intersections: r.intersections as string[], bays: r.bays as string[], vehicles: (r.vehicles as string[] | undefined) ?? [], createdAt: r.created_at as number,
    };
    if (r.device !== null) t.device = r.device as string;
    if (r.organisation !== null && r.organisation !== undefined) t.organisation = r.organisation as string;
    if (r.revoked_at !== null) t.revokedAt = r.revoked_at as number;
    return t;
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    let r: pg.QueryResult;
    try {
      r = await this.pool.query(`SELECT * FROM ${this.t.tokens} WHERE hash = $1`, [hash]);
    } catch (e) {
      // every authenticated request looks its token up here: a database that is down is a 503 to retry, not a 500
      throw new StoreError(`PostgreSQL token lookup failed: ${(e as Error).message}`);
    }
    return r.rows[0] && PostgresStore.token(r.rows[0]);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.pool.query(`SELECT * FROM ${this.t.tokens} ORDER BY created_at, id`)).rows.map(PostgresStore.token);
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE ${this.t.tokens} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, [at, id]);
    return (r.rowCount ?? 0) > 0;
  }

  // ------------------------------------------ audited actions, operator state, snapshots

  async recordAction(e: AuditInput, change?: ActionChange): Promise<AuditEntry | undefined> {
    if (this.closed) throw new StoreError('store is closed');
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw new StoreError(`PostgreSQL unavailable: ${(err as Error).message}`);
    }
    try {
      await c.query('BEGIN');
      // the change first: a revoke that changes nothing records nothing
      if (change?.t === 'revoke') {
        const r = await c.query(`UPDATE ${this.t.tokens} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, [change.at, change.id]);
        if ((r.rowCount ?? 0) === 0) {
          await c.query('ROLLBACK');
          return undefined;
        }
      }
      if (change?.t === 'token') await this.upsertToken(c, change.rec);
      const entry = await this.insertAudit(c, e);
      if (change?.t === 'state') {
        for (const [k, v] of Object.entries(change.set)) {
          if (v === null) await c.query(`DELETE FROM ${this.t.state} WHERE key = $1`, [k]);
          else await this.putState(c, k, v, entry.at);
        }
      }
      await c.query('COMMIT');
      return entry;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw new StoreError(`PostgreSQL write failed: ${(err as Error).message}`);
    } finally {
      c.release();
    }
  }

  /** Sets an operator state row, inside the caller's transaction. */
  private async putState(c: pg.PoolClient, key: string, value: unknown, at: number): Promise<void> {
    await c.query(
      `INSERT INTO ${this.t.state} (key, value, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at`,
      [key, JSON.stringify(value), at],
    );
  }

  async readState(prefix = ''): Promise<Map<string, unknown>> {
    const r = await this.pool.query<{ key: string; value: unknown }>(
      `SELECT key, value FROM ${this.t.state} WHERE starts_with(key, $1) ORDER BY key`, [prefix],
    );
    return new Map(r.rows.map((row) => [row.key, row.value]));
  }

  async putSnapshot(s: Snapshot): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO ${this.t.snapshots} (name, fingerprint, at, data) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, at = excluded.at, data = excluded.data`,
        [s.name, s.fingerprint, s.at, Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength)],
      );
    } catch (e) {
      throw new StoreError(`PostgreSQL snapshot write failed: ${(e as Error).message}`);
    }
  }

  async getSnapshot(name: string): Promise<Snapshot | undefined> {
    const r = await this.pool.query<{ name: string; fingerprint: string; at: number; data: Buffer }>(
      `SELECT name, fingerprint, at, data FROM ${this.t.snapshots} WHERE name = $1`, [name],
    );
    const row = r.rows[0];
    return row && { name: row.name, fingerprint: row.fingerprint, at: row.at, data: new Uint8Array(row.data) };
  }

  async ping(timeoutMs = 2000): Promise<void> {
    if (this.closed) throw new StoreError('store is closed');
    try {
      await withTimeout(this.pool.query('SELECT 1'), timeoutMs, 'PostgreSQL ping');
    } catch (e) {
      throw e instanceof StoreError ? e : new StoreError(`PostgreSQL unavailable: ${(e as Error).message}`);
    }
  }

  async footprint(): Promise<{ location: string; bytes: number }> {
    const r = await this.pool.query<{ db: string; bytes: number }>(
      `SELECT current_database() AS db, coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, [this.schema],
    );
    return { location: `PostgreSQL database "${r.rows[0].db}", schema "${this.schema}"`, bytes: r.rows[0].bytes };
  }

  async replaceEvents(removed: readonly EventKey[], added: readonly Event[], state: Record<string, unknown> = {}): Promise<void> {
    if (this.closed) throw new StoreError('store is closed');
    const at = Date.now();
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`DELETE FROM ${this.t.events} WHERE (device, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, [removed.map((k) => k.device), removed.map((k) => k.id)]);
      if (added.length) await c.query(this.insertSql(), PostgresStore.columns([{ events: added, received: at }]));
      for (const [k, v] of Object.entries(state)) {
        await this.putState(c, k, v, at);
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw new StoreError(`PostgreSQL write failed: ${(e as Error).message}`);
    } finally {
      c.release();
    }
  }

  // ----------------------------------------------------- comparison runs

  async putComparison(c: ComparisonRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.t.comparisons} (id, created_at, body) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET body = excluded.body`,
      [c.id, c.createdAt, JSON.stringify(c)],
    );
  }

  async listComparisons(): Promise<ComparisonRecord[]> {
    return (await this.pool.query(`SELECT body FROM ${this.t.comparisons} ORDER BY created_at, id`)).rows.map((r: { body: ComparisonRecord }) => r.body);
  }

  async deleteComparison(id: string): Promise<boolean> {
    const r = await this.pool.query(`DELETE FROM ${this.t.comparisons} WHERE id = $1`, [id]);
    return (r.rowCount ?? 0) > 0;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops this store's schema and everything in it (tests and benchmarks). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.committer.idle();
    await this.pool.end();
  }
}

const NO_SUCH_DATABASE = '3D000';
const NO_SUCH_ROLE = '28000';

/** What a new user can do about a missing database or an unnamed user, as the rest of the message. */
function hint(url: string, code: string | undefined): string {
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.slice(1)) || u.username || process.env.USER || '';
  const user = u.username ? ` -U ${decodeURIComponent(u.username)}` : '';
  if (code === NO_SUCH_DATABASE) return `; create it with \`createdb -h ${u.hostname} -p ${u.port || 5432}${user} ${db}\`, or start with --create-db`;
  if (code === NO_SUCH_ROLE && !u.username) return `; the URL names no user: name one, e.g. postgres://postgres@${u.host}${u.pathname}`;
  return '';
}

/** Creates the database a URL names, through the server's `postgres` maintenance database. */
async function createDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  if (!name) throw new StoreError(`cannot create a database: ${redactSecrets(url)} names none`);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  try {
    await c.connect();
    await c.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
  } catch (e) {
    // another server created it meanwhile: fine
    if ((e as { code?: string }).code !== '42P04') throw new StoreError(`cannot create PostgreSQL database "${name}" at ${redactSecrets(url)}: ${(e as Error).message}`);
  } finally {
    await c.end().catch(() => {});
  }
}
