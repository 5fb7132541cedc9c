import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type pg from 'pg';
import type { AlertKind, ListKind, VehicleUse, WatchlistAlert } from '@citybrain/brain';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import { StoreError, type EventStore } from './store.js';

/**
 * The plate watchlist's records: the register and the lists (keyed hashes
 * only), the alerts (the one place a clear plate is kept), and the reads
 * (keyed hash of the canonical plate, camera, time; reads that matched
 * nothing are purged sooner: retention.ts). Beside the events: a SQLite file
 * next to the event database, or the same PostgreSQL schema.
 */
export interface WatchlistStore {
  /** Adds register rows (replacing the rows of the same plates); `replace` clears the register first. One transaction. */
  putRegister(rows: readonly RegisterKeys[], replace: boolean): Promise<void>;
  loadRegister(): Promise<RegisterKeys[]>;
  putEntry(e: StoredEntry): Promise<void>;
  deleteEntry(id: string): Promise<StoredEntry | undefined>;
  listEntries(): Promise<StoredEntry[]>;
  addAlerts(alerts: readonly StoredAlert[]): Promise<void>;
  /** Sets the acknowledgement (keeps the first); undefined when no such alert. */
  acknowledge(id: string, by: string, ts: number): Promise<StoredAlert | undefined>;
  alerts(q: AlertQuery): Promise<StoredAlert[]>;
  appendReads(reads: readonly StoredRead[]): Promise<void>;
  /** A plate's reads (by its canonical key), newest first. */
  reads(key: string, limit: number): Promise<StoredRead[]>;
  /** Deletes reads that matched a list or the register observed before `matchedBefore`, and the others before `unmatchedBefore`. */
  purgeReads(matchedBefore: number, unmatchedBefore: number): Promise<number>;
  close(): Promise<void>;
}

export interface RegisterKeys {
  key: string;
  canonicalKey: string;
  use: VehicleUse;
}

export interface StoredEntry {
  id: string;
  list: ListKind;
  key: string;
  canonicalKey: string;
  note?: string;
  addedAt: number;
  addedBy: string;
}

export interface StoredAlert {
  id: string;
  kind: AlertKind;
  /** the canonical plate's keyed hash */
  key: string;
  /** epoch ms of the read that raised it */
  ts: number;
  alert: WatchlistAlert;
  acknowledged: { by: string; ts: number } | null;
}

export interface AlertQuery {
  kind?: AlertKind;
  key?: string;
  status?: 'open' | 'acknowledged' | 'all';
  limit: number;
}

export interface StoredRead {
  ts: number;
  key: string;
  camera: string;
  intersection: string;
  matched: boolean;
}

/** Opens the watchlist's store beside an event store. */
export async function openWatchlistStore(store: EventStore): Promise<WatchlistStore> {
  if (store instanceof SqliteStore) return new SqliteWatchlistStore(`${store.path}.watchlist`);
  if (store instanceof PostgresStore) return PostgresWatchlistStore.open(store.sharedPool());
  throw new StoreError(`the plate watchlist has no store beside a "${store.backend}" event store`);
}

const ALERT_ROW = (r: { alert: string; ack_by: string | null; ack_at: number | string | null }): StoredAlert => {
  const a = JSON.parse(r.alert) as Omit<StoredAlert, 'acknowledged'>;
  return { ...a, acknowledged: r.ack_by === null ? null : { by: r.ack_by, ts: Number(r.ack_at) } };
};

export class SqliteWatchlistStore implements WatchlistStore {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    try {
      this.db = new Database(path);
      if (existsSync(path)) chmodSync(path, 0o600);
    } catch (e) {
      throw new StoreError(`cannot open the watchlist's SQLite database ${path}: ${(e as Error).message}`);
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS register (key TEXT PRIMARY KEY, canon TEXT NOT NULL, use TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY, list TEXT NOT NULL, key TEXT NOT NULL, canon TEXT NOT NULL, note TEXT, added_at INTEGER NOT NULL, added_by TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, ts INTEGER NOT NULL, alert TEXT NOT NULL, ack_by TEXT, ack_at INTEGER);
      CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts);
      CREATE INDEX IF NOT EXISTS alerts_key ON alerts (key);
      CREATE TABLE IF NOT EXISTS reads (ts INTEGER NOT NULL, key TEXT NOT NULL, camera TEXT NOT NULL, intersection TEXT NOT NULL, matched INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS reads_key ON reads (key, ts);
      CREATE INDEX IF NOT EXISTS reads_ts ON reads (matched, ts);
    `);
  }

  async putRegister(rows: readonly RegisterKeys[], replace: boolean): Promise<void> {
    const put = this.db.prepare('INSERT OR REPLACE INTO register (key, canon, use) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      if (replace) this.db.exec('DELETE FROM register');
      for (const r of rows) put.run(r.key, r.canonicalKey, r.use);
    })();
  }

  async loadRegister(): Promise<RegisterKeys[]> {
    return (this.db.prepare('SELECT key, canon, use FROM register').all() as { key: string; canon: string; use: VehicleUse }[]).map((r) => ({ key: r.key, canonicalKey: r.canon, use: r.use }));
  }

  async putEntry(e: StoredEntry): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO entries (id, list, key, canon, note, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?)').run(e.id, e.list, e.key, e.canonicalKey, e.note ?? null, e.addedAt, e.addedBy);
  }

  async deleteEntry(id: string): Promise<StoredEntry | undefined> {
    const e = (await this.listEntries()).find((x) => x.id === id);
    if (e) this.db.prepare('DELETE FROM entries WHERE id = ?').run(id);
    return e;
  }

  async listEntries(): Promise<StoredEntry[]> {
    return (this.db.prepare('SELECT * FROM entries ORDER BY added_at').all() as EntryRow[]).map(entryOf);
  }

  async addAlerts(alerts: readonly StoredAlert[]): Promise<void> {
    const put = this.db.prepare('INSERT OR IGNORE INTO alerts (id, kind, key, ts, alert) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const a of alerts) put.run(a.id, a.kind, a.key, a.ts, JSON.stringify({ ...a, acknowledged: undefined }));
    })();
  }

  async acknowledge(id: string, by: string, ts: number): Promise<StoredAlert | undefined> {
    this.db.prepare('UPDATE alerts SET ack_by = ?, ack_at = ? WHERE id = ? AND ack_by IS NULL').run(by, ts, id);
    const r = this.db.prepare('SELECT alert, ack_by, ack_at FROM alerts WHERE id = ?').get(id) as { alert: string; ack_by: string | null; ack_at: number | null } | undefined;
    return r && ALERT_ROW(r);
  }

  async alerts(q: AlertQuery): Promise<StoredAlert[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.kind) (where.push('kind = ?'), args.push(q.kind));
    if (q.key) (where.push('key = ?'), args.push(q.key));
    if (q.status === 'open') where.push('ack_by IS NULL');
    if (q.status === 'acknowledged') where.push('ack_by IS NOT NULL');
    const sql = `SELECT alert, ack_by, ack_at FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as { alert: string; ack_by: string | null; ack_at: number | null }[]).map(ALERT_ROW);
  }

  async appendReads(reads: readonly StoredRead[]): Promise<void> {
    const put = this.db.prepare('INSERT INTO reads (ts, key, camera, intersection, matched) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const r of reads) put.run(r.ts, r.key, r.camera, r.intersection, r.matched ? 1 : 0);
    })();
  }

  async reads(key: string, limit: number): Promise<StoredRead[]> {
    return (this.db.prepare('SELECT * FROM reads WHERE key = ? ORDER BY ts DESC LIMIT ?').all(key, limit) as ReadRow[]).map(readOf);
  }

  async purgeReads(matchedBefore: number, unmatchedBefore: number): Promise<number> {
    const a = this.db.prepare('DELETE FROM reads WHERE matched = 1 AND ts < ?').run(Math.floor(matchedBefore)).changes;
    const b = this.db.prepare('DELETE FROM reads WHERE matched = 0 AND ts < ?').run(Math.floor(unmatchedBefore)).changes;
    return a + b;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export class PostgresWatchlistStore implements WatchlistStore {
  private constructor(private readonly pool: pg.Pool, private readonly q: string) {}

  static async open(shared: { pool: pg.Pool; schema: string }): Promise<PostgresWatchlistStore> {
    const q = `"${shared.schema}"`;
    try {
      await shared.pool.query(`
        CREATE TABLE IF NOT EXISTS ${q}.watchlist_register (key TEXT PRIMARY KEY, canon TEXT NOT NULL, use TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS ${q}.watchlist_entries (id TEXT PRIMARY KEY, list TEXT NOT NULL, key TEXT NOT NULL, canon TEXT NOT NULL, note TEXT, added_at BIGINT NOT NULL, added_by TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS ${q}.watchlist_alerts (id TEXT PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, ts BIGINT NOT NULL, alert TEXT NOT NULL, ack_by TEXT, ack_at BIGINT);
        CREATE INDEX IF NOT EXISTS watchlist_alerts_ts ON ${q}.watchlist_alerts (ts);
        CREATE INDEX IF NOT EXISTS watchlist_alerts_key ON ${q}.watchlist_alerts (key);
        CREATE TABLE IF NOT EXISTS ${q}.watchlist_reads (ts BIGINT NOT NULL, key TEXT NOT NULL, camera TEXT NOT NULL, intersection TEXT NOT NULL, matched BOOLEAN NOT NULL);
        CREATE INDEX IF NOT EXISTS watchlist_reads_key ON ${q}.watchlist_reads (key, ts);
        CREATE INDEX IF NOT EXISTS watchlist_reads_ts ON ${q}.watchlist_reads (matched, ts);
      `);
    } catch (e) {
      throw new StoreError(`cannot create the watchlist's PostgreSQL tables: ${(e as Error).message}`);
    }
    return new PostgresWatchlistStore(shared.pool, q);
  }

  private async tx(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw new StoreError(`PostgreSQL watchlist write failed: ${(e as Error).message}`);
    } finally {
      c.release();
    }
  }

  async putRegister(rows: readonly RegisterKeys[], replace: boolean): Promise<void> {
    await this.tx(async (c) => {
      if (replace) await c.query(`DELETE FROM ${this.q}.watchlist_register`);
      for (let i = 0; i < rows.length; i += 5000) {
        const part = rows.slice(i, i + 5000);
        await c.query(
          `INSERT INTO ${this.q}.watchlist_register (key, canon, use) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ON CONFLICT (key) DO UPDATE SET canon = EXCLUDED.canon, use = EXCLUDED.use`,
          [part.map((r) => r.key), part.map((r) => r.canonicalKey), part.map((r) => r.use)],
        );
      }
    });
  }

  async loadRegister(): Promise<RegisterKeys[]> {
    const r = await this.pool.query(`SELECT key, canon, use FROM ${this.q}.watchlist_register`);
    return r.rows.map((x: { key: string; canon: string; use: VehicleUse }) => ({ key: x.key, canonicalKey: x.canon, use: x.use }));
  }

  async putEntry(e: StoredEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.q}.watchlist_entries (id, list, key, canon, note, added_at, added_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET list = EXCLUDED.list, key = EXCLUDED.key, canon = EXCLUDED.canon, note = EXCLUDED.note, added_at = EXCLUDED.added_at, added_by = EXCLUDED.added_by`,
      [e.id, e.list, e.key, e.canonicalKey, e.note ?? null, e.addedAt, e.addedBy],
    );
  }

  async deleteEntry(id: string): Promise<StoredEntry | undefined> {
    const r = await this.pool.query(`DELETE FROM ${this.q}.watchlist_entries WHERE id = $1 RETURNING *`, [id]);
    return r.rows[0] && entryOf(r.rows[0] as EntryRow);
  }

  async listEntries(): Promise<StoredEntry[]> {
    return (await this.pool.query(`SELECT * FROM ${this.q}.watchlist_entries ORDER BY added_at`)).rows.map((r: EntryRow) => entryOf(r));
  }

  async addAlerts(alerts: readonly StoredAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.q}.watchlist_alerts (id, kind, key, ts, alert) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) ON CONFLICT (id) DO NOTHING`,
      [alerts.map((a) => a.id), alerts.map((a) => a.kind), alerts.map((a) => a.key), alerts.map((a) => a.ts), alerts.map((a) => JSON.stringify({ ...a, acknowledged: undefined }))],
    );
  }

  async acknowledge(id: string, by: string, ts: number): Promise<StoredAlert | undefined> {
    await this.pool.query(`UPDATE ${this.q}.watchlist_alerts SET ack_by = $1, ack_at = $2 WHERE id = $3 AND ack_by IS NULL`, [by, ts, id]);
    const r = await this.pool.query(`SELECT alert, ack_by, ack_at FROM ${this.q}.watchlist_alerts WHERE id = $1`, [id]);
    return r.rows[0] && ALERT_ROW(r.rows[0]);
  }

  async alerts(q: AlertQuery): Promise<StoredAlert[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.kind) (args.push(q.kind), where.push(`kind = $${args.length}`));
    if (q.key) (args.push(q.key), where.push(`key = $${args.length}`));
    if (q.status === 'open') where.push('ack_by IS NULL');
    if (q.status === 'acknowledged') where.push('ack_by IS NOT NULL');
    args.push(q.limit);
    const r = await this.pool.query(`SELECT alert, ack_by, ack_at FROM ${this.q}.watchlist_alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, id DESC LIMIT $${args.length}`, args);
    return r.rows.map(ALERT_ROW);
  }

  async appendReads(reads: readonly StoredRead[]): Promise<void> {
    if (reads.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.q}.watchlist_reads (ts, key, camera, intersection, matched) SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[])`,
      [reads.map((r) => r.ts), reads.map((r) => r.key), reads.map((r) => r.camera), reads.map((r) => r.intersection), reads.map((r) => r.matched)],
    );
  }

  async reads(key: string, limit: number): Promise<StoredRead[]> {
    return (await this.pool.query(`SELECT * FROM ${this.q}.watchlist_reads WHERE key = $1 ORDER BY ts DESC LIMIT $2`, [key, limit])).rows.map((r: ReadRow) => readOf(r));
  }

  async purgeReads(matchedBefore: number, unmatchedBefore: number): Promise<number> {
    const r = await this.pool.query(`DELETE FROM ${this.q}.watchlist_reads WHERE (matched AND ts < $1) OR (NOT matched AND ts < $2)`, [Math.floor(matchedBefore), Math.floor(unmatchedBefore)]);
    return r.rowCount ?? 0;
  }

  async close(): Promise<void> {
    // the pool is the event store's: it closes it
  }
}

interface EntryRow { id: string; list: ListKind; key: string; canon: string; note: string | null; added_at: number | string; added_by: string }
interface ReadRow { ts: number | string; key: string; camera: string; intersection: string; matched: number | boolean }

function entryOf(r: EntryRow): StoredEntry {
  return { id: r.id, list: r.list, key: r.key, canonicalKey: r.canon, ...(r.note !== null ? { note: r.note } : {}), addedAt: Number(r.added_at), addedBy: r.added_by };
}

function readOf(r: ReadRow): StoredRead {
  return { ts: Number(r.ts), key: r.key, camera: r.camera, intersection: r.intersection, matched: r.matched === true || r.matched === 1 };
}
