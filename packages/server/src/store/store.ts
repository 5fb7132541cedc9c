import type { AuditEntry, Role } from '../api/contract.js';
import type { ControllerFault } from '@citybrain/control';
import type { IntersectionRecord } from '@citybrain/engine';
import type { Event, EventKind } from '@citybrain/brain';
import type { Page } from './page.js';
import type { ParkingStore } from './parking-store.js';

/**
 * Storage behind one interface: events (idempotent on device + id), the
 * audit log of control actions, and the API tokens (hashed). Every write
 * resolves only once it is durable (committed and flushed to disk).
 */
export interface EventStore {
  /** 'sqlite' or 'postgres' */
  readonly backend: string;
  /**
   * Stores a batch in one transaction, all or nothing. Resolves once durable
   * with the ids newly stored and the ids already present (retries).
   */
  append(events: readonly Event[]): Promise<AppendResult>;
  query(q?: EventQuery): Promise<StoredEvent[]>;
  /**
   * The same read as a page of JSON text, built off the API thread where the
   * store can (SQLite reads run in a reader thread), with the cursor of the
   * next page: what the HTTP API serves.
   */
  queryPage(q?: EventQuery & PageBound): Promise<Page>;
  count(q?: EventFilter): Promise<number>;
  /** Deletes events observed (ts) before cutoffMs; returns how many. The audit log is never purged. */
  purgeOlderThan(cutoffMs: number): Promise<number>;

  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  queryAudit(q?: AuditQuery): Promise<AuditEntry[]>;
  /** The audit read as a page of JSON text with the cursor of the next page (see queryPage). */
  queryAuditPage(q?: AuditQuery & PageBound): Promise<Page>;

  /** Inserts the token with this hash, or updates its name, role and scope; never clears a revocation. */
  putToken(t: TokenRecord): Promise<void>;
  findToken(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Marks a token revoked; false when no such token (or already revoked). */
  revokeToken(id: string, at: number): Promise<boolean>;

  // comparison runs (what-if runs of controllers side by side), so they outlive a restart
  /** Inserts or replaces a comparison run, by id. */
  putComparison(c: ComparisonRecord): Promise<void>;
  /** Every comparison run kept, oldest first. */
  listComparisons(): Promise<ComparisonRecord[]>;
  /** Deletes a comparison run; false when there is none by that id. */
  deleteComparison(id: string): Promise<boolean>;

  /** Called after each group commit of events; returns an unsubscribe function. */
  onCommit(listener: CommitListener): () => void;
  close(): Promise<void>;

  // ---- audited actions, operator state, snapshots, health (see the section below)
  /**
   * Writes an audit entry and the change it records in one transaction: both
   * are durable or neither is (StoreError). Resolves to undefined, writing
   * nothing, for a revoke of a token that is unknown or revoked already.
   */
  recordAction(entry: AuditInput, change?: ActionChange): Promise<AuditEntry | undefined>;
  /** The operator state rows (key → JSON value), every key starting with `prefix`. */
  readState(prefix?: string): Promise<Map<string, unknown>>;
  /** Stores the named snapshot, replacing the one of that name. */
  putSnapshot(s: Snapshot): Promise<void>;
  getSnapshot(name: string): Promise<Snapshot | undefined>;
  /** Resolves when the store answers a trivial query within timeoutMs (default 2000); else rejects with a StoreError. */
  ping(timeoutMs?: number): Promise<void>;
  /** Where the data lives (a file path, or the database and schema) and its size on disk in bytes. */
  footprint(): Promise<{ location: string; bytes: number }>;
  /**
   * Replaces stored events by others in one transaction (downsampling:
   * reports merged into one), setting state rows with it (e.g. how far it got).
   */
  replaceEvents(removed: readonly EventKey[], added: readonly Event[], state?: Record<string, unknown>): Promise<void>;

  /** smart parking's sites, reservations, sessions, payments and availability (parking-store.ts), in the same database */
  readonly parking: ParkingStore;
}

/** An event's identity in the store. */
export interface EventKey {
  device: string;
  id: string;
}

export interface AppendResult {
  /** ids stored by this call, in batch order */
  accepted: string[];
  /** ids that were already stored (or repeated within the batch) */
  duplicates: string[];
}

export interface EventFilter {
  kind?: EventKind;
  device?: string;
  intersection?: string;
  bay?: string;
  /** inclusive, epoch ms (event time) */
  from?: number;
  /** exclusive, epoch ms (event time) */
  to?: number;
  /** only events of these kinds (those the reader may see) */
  kinds?: readonly EventKind[];
}

export interface EventQuery extends EventFilter {
  /** default 1000, at most MAX_QUERY_LIMIT */
  limit?: number;
  /** by event time, then by arrival; default 'asc' */
  order?: 'asc' | 'desc';
  /** continue after this cursor (a page's `next`), in the same order; a malformed one is a CursorError */
  after?: string;
}

/** How large a page may grow besides its row limit. */
export interface PageBound {
  /** bytes of JSON; at least one row is returned whatever its size; default no bound */
  maxBytes?: number;
}

export const MAX_QUERY_LIMIT = 10000;

export type StoredEvent = Event & { /** epoch ms the server accepted it */ receivedAt: number };

export interface CommitInfo {
  /** events in the group commit (several requests' batches) */
  events: number;
  seconds: number;
}
export type CommitListener = (info: CommitInfo) => void;

// ------------------------------------------------------------ audit log

export interface AuditInput {
  /** who: the token's name (and id) or a system component */
  actor: string;
  role: string;
  /** what, e.g. 'signal.setPhase' */
  action: string;
  /** on what, e.g. an intersection id */
  target: string;
  before?: unknown;
  after?: unknown;
  /** when, epoch ms; default now */
  at?: number;
}

export type { AuditEntry } from '../api/contract.js';

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  from?: number;
  to?: number;
  limit?: number;
  /** by sequence; default 'asc' */
  order?: 'asc' | 'desc';
  /** continue after this cursor (a page's `next`), in the same order */
  after?: string;
}

// ---------------------------------------------------------------- tokens

export type { Role } from '../api/contract.js';
/** every role once (a Record, so a role added to the contract's Role must be added here) */
const ROLE_SET = { viewer: true, operator: true, device: true, app: true, police: true, analyst: true } as const satisfies Record<Role, true>;
export const ROLES = Object.keys(ROLE_SET) as readonly Role[];

export interface TokenRecord {
  /** public id (appears in the audit log), e.g. tok_3f9a... */
  id: string;
  /** sha256 of the secret token, hex; the secret itself is never stored */
  hash: string;
  name: string;
  role: Role;
  /** device role: the device the token speaks for */
  device?: string;
  /** device role: intersections it may report on */
  intersections: string[];
  /** device role: parking bays it may report on */
  bays: string[];
  /** device role: vehicles whose positions (AVL) it may report (the stores read [] for a token from before AVL) */
  vehicles: string[];
  /** the department (hub organisation) whose user the token is, when it is one's */
  organisation?: string;
  createdAt: number;
  revokedAt?: number;
}

// ------------------------------------------ audited actions, operator state, snapshots

/**
 * What an audited action changes in the store, written in the same transaction
 * as its audit entry: operator state rows (key → JSON value; null deletes the
 * row), a token issued, or a token revoked.
 */
export type ActionChange =
  | { t: 'state'; set: Record<string, unknown> }
  | { t: 'token'; rec: TokenRecord }
  | { t: 'revoke'; id: string; at: number };

/** A binary snapshot (e.g. of the virtual city), valid only for the input whose fingerprint it carries. */
export interface Snapshot {
  name: string;
  fingerprint: string;
  /** epoch ms it was taken */
  at: number;
  data: Uint8Array;
}

/** Runs `p` but rejects with a StoreError after `ms` (a database that does not answer is down). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------- comparison runs

/**
 * One sample of one controller's run, measured in its copy of the twin (a
 * what-if simulation: its ground truth is what is measured). The KPI fields
 * after `finishedVehicles` came later: a record stored before them is read
 * with them null (`upgradeComparison` in city/compare-kpis.ts), as is a mean
 * over finished trips before the first one finished.
 */
export interface ComparisonPoint {
  /** simulated s */
  t: number;
  /** ATT by CityFlow's definition (`Simulation.metrics()`): every vehicle generated so far, one still travelling counted to now, s */
  averageTravelTime: number;
  vehiclesInNetwork: number;
  finishedVehicles: number;
  /** mean time loss per finished trip against its free speed (RunRecorder's timeLoss, SUMO's), s */
  delay: number | null;
  /** mean stops per finished trip (RunRecorder's stops: slowing below 0.1 m/s after moving) */
  stops: number | null;
  /** vehicles stopped (below 0.1 m/s) on lanes now (`Simulation.metrics().queuedVehicles`) */
  queued: number | null;
  /** trips finished per hour over the last 300 s (since the start, before 300 s) */
  throughput: number | null;
}

/**
 * - running: computing now
 * - done: ran to its duration
 * - failed: stopped on an error (`error` says which)
 * - interrupted: the server stopped while it ran (its results up to then are kept)
 */
export type ComparisonStatus = 'running' | 'done' | 'failed' | 'interrupted';

/** A comparison run as the store keeps it: definition, owner, status and results (not its replay frames). */
export interface ComparisonRecord {
  id: string;
  controllers: string[];
  /** simulated seconds */
  duration: number;
  /** simulated seconds between two samples */
  sampleEvery: number;
  /** who started it: the audit log's actor (token name and id) and role */
  owner: { actor: string; role: string };
  /** epoch ms */
  createdAt: number;
  status: ComparisonStatus;
  /** simulated seconds computed */
  time: number;
  error: string | null;
  series: Record<string, ComparisonPoint[]>;
  /** per controller, the intersections it lost to the fixed-time fallback (its series is then partly the fallback's) */
  faults: Record<string, ControllerFault[]>;
  /** per controller, its intersections' control delay, stops and level of service so far (RunRecorder's); empty in a record stored before they were kept */
  intersections: Record<string, IntersectionRecord[]>;
}

/**
 * A batch names an event id stored earlier (or by an earlier batch of the
 * same group commit) with other fields: a second reading under one id, not a
 * retry. Nothing of the batch is stored.
 */
export class EventConflictError extends Error {
  override readonly name = 'EventConflictError';
  constructor(readonly index: number, readonly device: string, readonly id: string) {
    super(`events[${index}].id: "${id}" was stored earlier with other fields; ids must be unique per device (a retry must resend the same event)`);
  }
}

/** Thrown when a store cannot take a write (closed, disk full, database down). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return Math.min(limit, MAX_QUERY_LIMIT);
}

/** Splits a group commit's per-row "inserted" flags back into ids. */
export function splitResult(events: readonly Event[], inserted: ArrayLike<number | boolean>, offset = 0): AppendResult {
  const accepted: string[] = [];
  const duplicates: string[] = [];
  for (let i = 0; i < events.length; i++) (inserted[offset + i] ? accepted : duplicates).push(events[i].id);
  return { accepted, duplicates };
}
