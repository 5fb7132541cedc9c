import { Worker } from 'node:worker_threads';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { eventBay, eventIntersection, type Event } from '../events.js';
import { GroupCommitter } from './group-commit.js';
import { auditWhere, eventWhere, orderDir } from './sql.js';
import { tokenFromRow, type EventRow, type TokenRow, type WorkerReply, type WorkerRequest, type WriteOp, type WriteResult } from './sqlite-schema.js';
import {
  clampLimit, EventConflictError, splitResult, StoreError, type AppendResult, type AuditEntry, type AuditInput, type AuditQuery, type CommitListener, type EventFilter,
  type EventQuery, type EventStore, type StoredEvent, type TokenRecord,
} from './store.js';

const PURGE_CHUNK = 10000;

/**
 * The embedded store: one SQLite file in WAL mode. Writes go to a single
 * writer thread with group commit (synchronous=FULL, so a resolved write is
 * on disk); reads use a separate read-only connection on the caller's thread,
 * which WAL lets run beside the writer.
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

  private constructor(
    readonly path: string, private readonly worker: Worker, private readonly checkpointer: Worker, private readonly reader: Database.Database,
  ) {
    this.committer = new GroupCommitter<WriteOp, WriteResult>((ops) => this.send(ops), {
      maxInFlight: 1,
      maxGroupWeight: 20000,
      weight: (op) => (op.t === 'append' ? op.rows.length : 1),
    });
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

  /** Opens (creating if needed) the database file and its directory. */
  static async open(path: string): Promise<SqliteStore> {
    const file = resolve(path);
    mkdirSync(dirname(file), { recursive: true });
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
    return new SqliteStore(file, worker, checkpointer, reader);
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
    const now = Date.now();
    const rows = events.map((e): EventRow => [e.device, e.id, e.kind, e.ts, eventIntersection(e) ?? null, eventBay(e) ?? null, now, JSON.stringify(e)]);
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
    const w = eventWhere(q, () => '?');
    const rows = this.stmt(`SELECT body, received FROM events${w.sql} ORDER BY ts ${orderDir(q.order)}, seq ${orderDir(q.order)} LIMIT ?`)
      .all(...w.params, clampLimit(q.limit)) as { body: string; received: number }[];
    return rows.map((r) => ({ ...(JSON.parse(r.body) as Event), receivedAt: r.received }));
  }

  async count(f: EventFilter = {}): Promise<number> {
    const w = eventWhere(f, () => '?');
    return (this.stmt(`SELECT count(*) AS n FROM events${w.sql}`).get(...w.params) as { n: number }).n;
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
    const at = e.at ?? Date.now();
    const row: [number, string, string, string, string, string | null, string | null] = [
      at, e.actor, e.role, e.action, e.target, e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after),
    ];
    const seq = (await this.write({ t: 'audit', row })) as number;
    return { seq, at, actor: e.actor, role: e.role, action: e.action, target: e.target, before: e.before ?? null, after: e.after ?? null };
  }

  async queryAudit(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const w = auditWhere(q, () => '?');
    const rows = this.stmt(`SELECT * FROM audit${w.sql} ORDER BY seq ${orderDir(q.order)} LIMIT ?`).all(...w.params, clampLimit(q.limit)) as {
      seq: number; at: number; actor: string; role: string; action: string; target: string; before: string | null; after: string | null;
    }[];
    return rows.map((r) => ({
      seq: r.seq, at: r.at, actor: r.actor, role: r.role, action: r.action, target: r.target,
      before: r.before === null ? null : JSON.parse(r.before), after: r.after === null ? null : JSON.parse(r.after),
    }));
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
    this.reader.close();
  }
}
