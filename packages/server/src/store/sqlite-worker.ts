/**
 * The single SQLite writer. It runs in a worker thread so that the fsync of
 * each commit (synchronous=FULL) and the row inserts do not stall the HTTP
 * event loop. Each message is one group of writes, run in one transaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SQLITE_SCHEMA, type EventRow, type WorkerReply, type WorkerRequest, type WriteOp, type WriteResult } from './sqlite-schema.js';
import { canonicalEvent } from '../events.js';

const port = parentPort!;
const reply = (m: WorkerReply) => port.postMessage(m);

let db: Database.Database;
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
} catch (e) {
  reply({ fatal: (e as Error).message });
  process.exit(1);
}

const insertEvent = db.prepare(
  'INSERT INTO events (device, id, kind, ts, intersection, bay, received, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device, id) DO NOTHING',
);
const storedBody = db.prepare('SELECT body FROM events WHERE device = ? AND id = ?').pluck();
const insertAudit = db.prepare('INSERT INTO audit (at, actor, role, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)');
const putToken = db.prepare(
  `INSERT INTO tokens (hash, id, name, role, device, intersections, bays, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
   ON CONFLICT (hash) DO UPDATE SET id = excluded.id, name = excluded.name, role = excluded.role, device = excluded.device,
   intersections = excluded.intersections, bays = excluded.bays, created_at = excluded.created_at, revoked_at = excluded.revoked_at`,
);
const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
const purge = db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts < ? LIMIT ?)');

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
    case 'token': {
      const r = op.rec;
      putToken.run(r.hash, r.id, r.name, r.role, r.device ?? null, JSON.stringify(r.intersections), JSON.stringify(r.bays), r.createdAt, r.revokedAt ?? null);
      return null;
    }
    case 'revoke':
      return revoke.run(op.at, op.id).changes > 0;
    case 'purge':
      return purge.run(op.cutoff, op.limit).changes;
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
    reply({ id: m.id, results: runGroup(m.ops) });
  } catch (e) {
    reply({ id: m.id, error: (e as Error).message });
  }
});
reply({ ready: true });
