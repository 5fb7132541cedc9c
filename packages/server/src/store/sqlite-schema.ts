import type { ActionChange, Snapshot, TokenRecord } from './store.js';
import type { ParkingWriteOp, ParkingWriteResult } from './parking-sqlite.js';

/** The SQLite tables; shared by the writer (worker thread) and the reader. */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  device TEXT NOT NULL,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  ts INTEGER NOT NULL,
  intersection TEXT,
  bay TEXT,
  received INTEGER NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (device, id)
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  before TEXT,
  after TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  device TEXT,
  intersections TEXT NOT NULL,
  bays TEXT NOT NULL,
  vehicles TEXT NOT NULL DEFAULT '[]',
  organisation TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
  name TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  at INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS comparisons (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
`;

/** One audit row: at, actor, role, action, target, before (JSON), after (JSON). */
export type AuditRow = [number, string, string, string, string, string | null, string | null];

/** One event row: device, id, kind, ts, intersection, bay, received, body (JSON). */
export type EventRow = [string, string, string, number, string | null, string | null, number, string];

export type WriteOp =
  | { t: 'append'; rows: EventRow[] }
  | { t: 'audit'; row: AuditRow }
  | { t: 'action'; row: AuditRow; change?: ActionChange }
  | { t: 'snapshot'; s: Snapshot }
  | { t: 'replace'; remove: [string, string][]; rows: EventRow[]; state: [string, string][]; at: number }
  | { t: 'token'; rec: TokenRecord }
  | { t: 'revoke'; id: string; at: number }
  | { t: 'purge'; cutoff: number; limit: number }
  | { t: 'comparison'; id: string; createdAt: number; body: string }
  | { t: 'comparison-delete'; id: string }
  | { t: 'parking'; op: ParkingWriteOp };

/**
 * Result per op: append → Uint8Array of inserted flags, or the index of the first row whose id is stored with
 * other fields (then nothing of it was written); audit → seq; action → seq, or null when nothing was written;
 * revoke, comparison-delete → changed; purge → deleted; parking → its value or error (parking-sqlite.ts).
 */
export type WriteResult = Uint8Array | { conflict: number } | number | boolean | null | ParkingWriteResult;

export type WorkerRequest = { id: number; ops: WriteOp[] } | { id: number; close: true };
export type WorkerReply = { id: number; results: WriteResult[] } | { id: number; error: string } | { ready: true } | { fatal: string };

export interface TokenRow {
  hash: string; id: string; name: string; role: string; device: string | null;
  intersections: string; bays: string; vehicles: string; organisation: string | null; created_at: number; revoked_at: number | null;
}

/** Columns added to a table after its first release, for a store made before them: table, column, its definition. */
export const SQLITE_ADDED_COLUMNS: readonly [string, string, string][] = [
  ['tokens', 'vehicles', "TEXT NOT NULL DEFAULT '[]'"],
  ['tokens', 'organisation', 'TEXT'],
];

export function tokenFromRow(r: TokenRow): TokenRecord {
  const t: TokenRecord = {
    id: r.id, hash: r.hash, name: r.name, role: r.role as TokenRecord['role'],
    intersections: JSON.parse(r.intersections) as string[], bays: JSON.parse(r.bays) as string[],
    vehicles: JSON.parse(r.vehicles) as string[], createdAt: Number(r.created_at),
  };
  if (r.device !== null) t.device = r.device;
  if (r.organisation !== null && r.organisation !== undefined) t.organisation = r.organisation;
  if (r.revoked_at !== null) t.revokedAt = Number(r.revoked_at);
  return t;
}
