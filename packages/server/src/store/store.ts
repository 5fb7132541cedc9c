import type { Event, EventKind } from '../events.js';

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
  count(q?: EventFilter): Promise<number>;
  /** Deletes events observed (ts) before cutoffMs; returns how many. The audit log is never purged. */
  purgeOlderThan(cutoffMs: number): Promise<number>;

  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  queryAudit(q?: AuditQuery): Promise<AuditEntry[]>;

  /** Inserts or replaces the token with this hash. */
  putToken(t: TokenRecord): Promise<void>;
  findToken(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Marks a token revoked; false when no such token (or already revoked). */
  revokeToken(id: string, at: number): Promise<boolean>;

  /** Called after each group commit of events; returns an unsubscribe function. */
  onCommit(listener: CommitListener): () => void;
  close(): Promise<void>;
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
}

export interface EventQuery extends EventFilter {
  /** default 1000, at most MAX_QUERY_LIMIT */
  limit?: number;
  /** by event time; default 'asc' */
  order?: 'asc' | 'desc';
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

export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  role: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  from?: number;
  to?: number;
  limit?: number;
  /** by sequence; default 'asc' */
  order?: 'asc' | 'desc';
}

// ---------------------------------------------------------------- tokens

export const ROLES = ['viewer', 'operator', 'device', 'app'] as const;
export type Role = (typeof ROLES)[number];

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
  createdAt: number;
  revokedAt?: number;
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
