import { Worker } from 'node:worker_threads';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { eventBay, eventIntersection, type Event } from '@citybrain/brain';
import { GroupCommitter } from './group-commit.js';
import { decodeCursor, type Page } from './page.js';
import { auditWhere, eventWhere, orderDir, orderOf } from './sql.js';
import { ReaderThread } from './sqlite-reads.js';
import { SqliteParkingStore, type ParkingWriteResult } from './parking-sqlite.js';
import { tokenFromRow, type AuditRow, type EventRow, type TokenRow, type WorkerReply, type WorkerRequest, type WriteOp, type WriteResult } from './sqlite-schema.js';
import {
  clampLimit, EventConflictError, splitResult, StoreError, type ActionChange, type AppendResult, type AuditEntry, type AuditInput, type AuditQuery, type CommitListener,
  type ComparisonRecord, type EventFilter, type EventKey, type EventQuery, type EventStore, type PageBound, type Snapshot, type StoredEvent, type TokenRecord,
} from './store.js';

const PURGE_CHUNK = 10000;

/**
 * The embedded store: one SQLite file in WAL mode. Writes go to a single
 * writer thread with group commit (synchronous=FULL, so a resolved write is
 * on disk). Event and audit reads, which may scan many rows, run in a reader
 * thread of their own (WAL lets it read beside the writer); token lookups,
 * one indexed row each and needed by every request, use a read-only
 * connection on the caller's thread so they never wait behind a large read.
 */
export class SqliteStore implements EventStore {
  readonly backend = 'sqlite';
  private readonly committer: GroupCommitter<WriteOp, WriteResult>;
  private readonly waiting = new Map<number, { resolve: (r: WriteResult[]) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<CommitListener>();
  private readonly stmts = new Map<string, Database.Statement>();
  private nextId = 1;
  private dead: Error | undefined;
  private closed = false;
  /** smart parking's tables, written by the same single writer */
  readonly parking: SqliteParkingStore;

  private constructor(
    readonly path: string, private readonly worker: Worker, private readonly checkpointer: Worker, private readonly reader: Database.Database,
    private readonly reads: ReaderThread,
  ) {
    this.committer = new GroupCommitter<WriteOp, WriteResult>((ops) => this.send(ops), {
      maxInFlight: 1,
      maxGroupWeight: 20000,
      weight: (op) => (op.t === 'append' ? op.rows.length : 1),
    });
    this.parking = new SqliteParkingStore((op) => this.write({ t: 'parking', op }) as Promise<ParkingWriteResult>, reader);
    worker.on('message', (m: WorkerReply) => {
      if (!('id' in m)) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if ('error' in m) w?.reject(new StoreError(`SQLite write failed: ${m.error}`));
      else w?.resolve(m.results);
    });
    const fail = (e: Error) => {
      this.dead = new StoreError(`SQLite writer stopped: ${e.message}`);
      for (const w of this.waiting.values()) w.reject(this.dead);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  /**
   * Opens (creating if needed) the database file and its directory. They hold
   * plates and the audit log: a directory it creates is 0700, the file (and
   * with it SQLite's -wal and -shm, which take the file's mode) 0600.
   */
  static async open(path: string): Promise<SqliteStore> {
    const file = resolve(path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(file, 'a', 0o600));
      // files an older version created readable by all are closed now (those of another owner are left as they are)
      for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f) && statSync(f).uid === process.getuid?.()) chmodSync(f, 0o600);
    } catch (e) {
      throw new StoreError(`cannot open SQLite database ${file}: ${(e as Error).message}`);
    }
    const worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData: { path: file } });
    await new Promise<void>((ok, fail) => {
      const onMsg = (m: WorkerReply) => {
        if ('ready' in m) ok();
        else if ('fatal' in m) fail(new StoreError(`cannot open SQLite database ${file}: ${m.fatal}`));
        else return;
        worker.off('message', onMsg);
      };
      worker.on('message', onMsg);
      worker.once('error', fail);
    });
    const checkpointer = new Worker(new URL('./sqlite-checkpointer.js', import.meta.url), { workerData: { path: file, intervalMs: 200, restartBytes: 32 << 20 } });
    const reader = new Database(file, { readonly: true, fileMustExist: true });
    reader.pragma('busy_timeout = 5000');
    return new SqliteStore(file, worker, checkpointer, reader, await ReaderThread.start(file));
  }

  private send(ops: WriteOp[]): Promise<WriteResult[]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const t0 = performance.now();
    const events = ops.reduce((n, op) => n + (op.t === 'append' ? op.rows.length : 0), 0);
    return new Promise<WriteResult[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ops } satisfies WorkerRequest);
    }).then((results) => {
      if (events > 0) {
        const info = { events, seconds: (performance.now() - t0) / 1000 };
        for (const l of this.listeners) l(info);
      }
      return results;
    });
  }

  private write(op: WriteOp): Promise<WriteResult> {
    if (this.closed) return Promise.reject(new StoreError('store is closed'));
    return this.committer.submit(op);
  }

  async append(events: readonly Event[]): Promise<AppendResult> {
    if (events.length === 0) return { accepted: [], duplicates: [] };
    const rows = eventRows(events, Date.now());
    const r = (await this.write({ t: 'append', rows })) as Uint8Array | { conflict: number };
    if ('conflict' in r) throw new EventConflictError(r.conflict, events[r.conflict].device, events[r.conflict].id);
    return splitResult(events, r);
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.reader.prepare(sql)));
    return s;
  }

  async query(q: EventQuery = {}): Promise<StoredEvent[]> {
    return JSON.parse((await this.queryPage(q)).json) as StoredEvent[];
  }

  async queryPage(q: EventQuery & PageBound = {}): Promise<Page> {
    const order = orderOf(q.order);
    const w = eventWhere(q, () => '?', q.after === undefined ? undefined : { key: decodeCursor(q.after, 'events', order), order });
    const limit = clampLimit(q.limit);
    const dir = orderDir(order);
    // one row more than the page holds tells whether a next page exists
    const sql = `SELECT ts, seq, body, received FROM events${w.sql} ORDER BY ts ${dir}, seq ${dir} LIMIT ?`;
    return this.reads.page({ t: 'events', sql, params: [...w.params, limit + 1], order, bound: { limit, maxBytes: q.maxBytes } });
  }

  async count(f: EventFilter = {}): Promise<number> {
    const w = eventWhere(f, () => '?');
    return this.reads.count({ t: 'count', sql: `SELECT count(*) AS n FROM events${w.sql}`, params: w.params });
  }

  async purgeOlderThan(cutoffMs: number): Promise<number> {
    if (!Number.isFinite(cutoffMs)) throw new RangeError(`cutoff must be epoch milliseconds, got ${cutoffMs}`);
    // in chunks, so appends queued behind the purge wait for one chunk at most
    let total = 0;
    for (;;) {
      const n = (await this.write({ t: 'purge', cutoff: cutoffMs, limit: PURGE_CHUNK })) as number;
      total += n;
      if (n < PURGE_CHUNK) return total;
    }
  }

  async appendAudit(e: AuditInput): Promise<AuditEntry> {
    const { row, entry } = auditRow(e);
    const seq = (await this.write({ t: 'audit', row })) as number;
    return { seq, ...entry };
  }

  async queryAudit(q: AuditQuery = {}): Promise<AuditEntry[]> {
    return JSON.parse((await this.queryAuditPage(q)).json) as AuditEntry[];
  }

  async queryAuditPage(q: AuditQuery & PageBound = {}): Promise<Page> {
    const order = orderOf(q.order);
    const w = auditWhere(q, () => '?', q.after === undefined ? undefined : { key: decodeCursor(q.after, 'audit', order), order });
    const limit = clampLimit(q.limit);
    const sql = `SELECT seq, at, actor, role, action, target, before, after FROM audit${w.sql} ORDER BY seq ${orderDir(order)} LIMIT ?`;
    return this.reads.page({ t: 'audit', sql, params: [...w.params, limit + 1], order, bound: { limit, maxBytes: q.maxBytes } });
  }

  async putToken(t: TokenRecord): Promise<void> {
    await this.write({ t: 'token', rec: t });
  }

  async findToken(hash: string): Promise<TokenRecord | undefined> {
    const r = this.stmt('SELECT * FROM tokens WHERE hash = ?').get(hash) as TokenRow | undefined;
    return r && tokenFromRow(r);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (this.stmt('SELECT * FROM tokens ORDER BY created_at, id').all() as TokenRow[]).map(tokenFromRow);
  }

  async revokeToken(id: string, at: number): Promise<boolean> {
    return (await this.write({ t: 'revoke', id, at })) as boolean;
  }

  // ------------------------------------------ audited actions, operator state, snapshots

  async recordAction(e: AuditInput, change?: ActionChange): Promise<AuditEntry | undefined> {
    const { row, entry } = auditRow(e);
    const seq = (await this.write({ t: 'action', row, change })) as number | null;
    return seq === null ? undefined : { seq, ...entry };
  }

  async readState(prefix = ''): Promise<Map<string, unknown>> {
    // the prefix as a range, not LIKE: keys may hold % and _
    const rows = this.stmt('SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key').all(prefix, `${prefix}\uffff`) as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }

  async putSnapshot(s: Snapshot): Promise<void> {
    await this.write({ t: 'snapshot', s });
  }

  async getSnapshot(name: string): Promise<Snapshot | undefined> {
    const r = this.stmt('SELECT name, fingerprint, at, data FROM snapshots WHERE name = ?').get(name) as Snapshot | undefined;
    return r && { name: r.name, fingerprint: r.fingerprint, at: Number(r.at), data: new Uint8Array(r.data) };
  }

  async ping(): Promise<void> {
    if (this.closed) throw new StoreError('store is closed');
    if (this.dead) throw this.dead;
    try {
      this.stmt('SELECT 1').get();
    } catch (e) {
      throw new StoreError(`SQLite read failed: ${(e as Error).message}`);
    }
  }

  async footprint(): Promise<{ location: string; bytes: number }> {
    let bytes = 0;
    for (const f of [this.path, `${this.path}-wal`, `${this.path}-shm`]) bytes += statSync(f, { throwIfNoEntry: false })?.size ?? 0;
    return { location: this.path, bytes };
  }

  async replaceEvents(removed: readonly EventKey[], added: readonly Event[], state: Record<string, unknown> = {}): Promise<void> {
    const at = Date.now();
    await this.write({
      t: 'replace', remove: removed.map((k) => [k.device, k.id]), rows: eventRows(added, at),
      state: Object.entries(state).map(([k, v]) => [k, JSON.stringify(v)]), at,
    });
  }

  // ----------------------------------------------------- comparison runs

  async putComparison(c: ComparisonRecord): Promise<void> {
    await this.write({ t: 'comparison', id: c.id, createdAt: c.createdAt, body: JSON.stringify(c) });
  }

  async listComparisons(): Promise<ComparisonRecord[]> {
    return (this.stmt('SELECT body FROM comparisons ORDER BY created_at, id').all() as { body: string }[]).map((r) => JSON.parse(r.body) as ComparisonRecord);
  }

  async deleteComparison(id: string): Promise<boolean> {
    return (await this.write({ t: 'comparison-delete', id })) as boolean;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.committer.idle();
    const checkpointerExited = new Promise<void>((r) => this.checkpointer.once('exit', () => r()));
    this.checkpointer.postMessage('close');
    await checkpointerExited;
    if (!this.dead) {
      const id = this.nextId++;
      const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
      await new Promise<WriteResult[]>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        this.worker.postMessage({ id, close: true } satisfies WorkerRequest);
      });
      await exited;
    }
    await this.reads.close();
    this.reader.close();
  }
}

function eventRows(events: readonly Event[], received: number): EventRow[] {
  return events.map((e) => [e.device, e.id, e.kind, e.ts, eventIntersection(e) ?? null, eventBay(e) ?? null, received, JSON.stringify(e)]);
}

function auditRow(e: AuditInput): { row: AuditRow; entry: Omit<AuditEntry, 'seq'> } {
  const at = e.at ?? Date.now();
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  return {
    row: [at, e.actor, e.role, e.action, e.target, json(e.before), json(e.after)],
    entry: { at, actor: e.actor, role: e.role, action: e.action, target: e.target, before: e.before ?? null, after: e.after ?? null },
  };
}
