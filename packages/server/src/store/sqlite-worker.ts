/**
 * The single SQLite writer. It runs in a worker thread so that the fsync of
 * each commit (synchronous=FULL) and the row inserts do not stall the HTTP
 * event loop. Each message is one group of writes, run in one transaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { TokenRecord } from './store.js';
import { SQLITE_ADDED_COLUMNS, SQLITE_SCHEMA, type EventRow, type WorkerReply, type WorkerRequest, type WriteOp, type WriteResult } from './sqlite-schema.js';
import { canonicalEvent } from '@citybrain/brain';
import { parkingWriter, type ParkingWriteOp, type ParkingWriteResult } from './parking-sqlite.js';

const port = parentPort!;
const reply = (m: WorkerReply) => port.postMessage(m);

let db: Database.Database;
let parkingWrite: (op: ParkingWriteOp) => ParkingWriteResult;
try {
  db = new Database((workerData as { path: string }).path);
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so an acknowledged event survives power loss, not just a crash
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  // checkpoints run in their own thread (sqlite-checkpointer); the WAL file is cut back after each reset
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('journal_size_limit = 67108864');
  db.exec(SQLITE_SCHEMA);
  // a store made before a column was added gets it (CREATE TABLE IF NOT EXISTS left its table as it was)
  for (const [table, column, def] of SQLITE_ADDED_COLUMNS) {
    const has = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
    if (!has) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${def}`);
  }
  parkingWrite = parkingWriter(db);
} catch (e) {
  reply({ fatal: (e as Error).message });
  process.exit(1);
}

const insertEvent = db.prepare(
  'INSERT INTO events (device, id, kind, ts, intersection, bay, received, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, id) DO NOTHING',
);
const storedBody = db.prepare('SELECT body FROM events WHERE device = ? AND id = ?').pluck();
const insertAudit = db.prepare('INSERT INTO audit (at, actor, role, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)');
// a revoked token stays revoked: reinstalling it (CITYBRAIN_TOKENS at each start) must not clear revoked_at
const putToken = db.prepare(
  `INSERT INTO tokens (hash, id, name, role, device, intersections, bays, vehicles, organisation, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (hash) DO UPDATE SET id = excluded.id, name = excluded.name, role = excluded.role, device = excluded.device,
   intersections = excluded.intersections, bays = excluded.bays, vehicles = excluded.vehicles, organisation = excluded.organisation, created_at = excluded.created_at,
   revoked_at = coalesce(tokens.revoked_at, excluded.revoked_at)`,
);
const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
const putState = db.prepare('INSERT INTO state (key, value, at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at');
const deleteState = db.prepare('DELETE FROM state WHERE key = ?');
const putSnapshot = db.prepare(
  'INSERT INTO snapshots (name, fingerprint, at, data) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, at = excluded.at, data = excluded.data',
);
const deleteEvent = db.prepare('DELETE FROM events WHERE device = ? AND id = ?');
const purge = db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ? LIMIT ?)');
const putComparison = db.prepare('INSERT INTO comparisons (id, created_at, body) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body');
const deleteComparison = db.prepare('DELETE FROM comparisons WHERE id = ?');

function storeToken(r: TokenRecord): void {
  putToken.run(r.hash, r.id, r.name, r.role, r.device ?? null, JSON.stringify(r.intersections), JSON.stringify(r.bays), JSON.stringify(r.vehicles), r.organisation ?? null, r.createdAt, r.revokedAt ?? null);
}

class Conflict {
  constructor(readonly index: number) {}
}

/** One batch, all or nothing: nested in the group's transaction, so a conflict rolls back to its savepoint and the other batches stay. */
const appendBatch = db.transaction((rows: EventRow[]): Uint8Array => {
  const flags = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    flags[i] = insertEvent.run(rows[i]).changes;
    if (flags[i]) continue;
    // already stored: a retry when it is the same event, else a second reading under one id
    const body = storedBody.get(rows[i][0], rows[i][1]) as string;
    if (canonicalEvent(JSON.parse(body)) !== canonicalEvent(JSON.parse(rows[i][7]))) throw new Conflict(i);
  }
  return flags;
});

function apply(op: WriteOp): WriteResult {
  switch (op.t) {
    case 'append':
      try {
        return appendBatch(op.rows);
      } catch (e) {
        if (e instanceof Conflict) return { conflict: e.index };
        throw e;
      }
    case 'audit':
      return Number(insertAudit.run(op.row).lastInsertRowid);
    case 'token':
      storeToken(op.rec);
      return null;
    case 'revoke':
      return revoke.run(op.at, op.id).changes > 0;
    case 'action': {
      // the change first: a revoke that changes nothing records nothing
      const c = op.change;
      if (c?.t === 'revoke' && revoke.run(c.at, c.id).changes === 0) return null;
      if (c?.t === 'token') storeToken(c.rec);
      if (c?.t === 'state') {
        for (const [k, v] of Object.entries(c.set)) {
          if (v === null) deleteState.run(k);
          else putState.run(k, JSON.stringify(v), op.row[0]);
        }
      }
      return Number(insertAudit.run(op.row).lastInsertRowid);
    }
    case 'replace':
      for (const k of op.remove) deleteEvent.run(k);
      for (const r of op.rows) insertEvent.run(r);
      for (const [k, v] of op.state) putState.run(k, v, op.at);
      return null;
    case 'snapshot':
      putSnapshot.run(op.s.name, op.s.fingerprint, op.s.at, Buffer.from(op.s.data.buffer, op.s.data.byteOffset, op.s.data.byteLength));
      return null;
    case 'purge':
      return purge.run(op.cutoff, op.limit).changes;
    case 'comparison':
      putComparison.run(op.id, op.createdAt, op.body);
      return null;
    case 'comparison-delete':
      return deleteComparison.run(op.id).changes > 0;
    case 'parking':
      return parkingWrite(op.op);
  }
}

const runGroup = db.transaction((ops: WriteOp[]) => ops.map(apply));

port.on('message', (m: WorkerRequest) => {
  if ('close' in m) {
    db.close();
    reply({ id: m.id, results: [] });
    port.close();
    return;
  }
  try {
    // IMMEDIATE: the write lock first, waiting (busy_timeout) for a checkpoint's RESTART that holds it; a deferred
    // transaction whose first op reads (a reservation checks for overlaps) would be refused SQLITE_BUSY at once on its first write
    reply({ id: m.id, results: runGroup.immediate(m.ops) });
  } catch (e) {
    reply({ id: m.id, error: (e as Error).message });
  }
});
reply({ ready: true });
