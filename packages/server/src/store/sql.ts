import { EVENT_KINDS } from '@citybrain/brain';
import type { CursorKey, Order } from './page.js';
import type { AuditQuery, EventFilter } from './store.js';

/** Where a page starts: after this sort key, in this order. */
export interface After {
  key: CursorKey;
  order: Order;
}

/** A WHERE clause under construction: `add('col = #', v)` puts v in the next placeholder. */
function where(ph: (n: number) => string) {
  const parts: string[] = [];
  const params: unknown[] = [];
  return {
    parts, params,
    add(clause: string, v: unknown) {
      params.push(v);
      parts.push(clause.replace('#', ph(params.length)));
    },
    sql: () => (parts.length ? ` WHERE ${parts.join(' AND ')}` : ''),
  };
}

/**
 * Builds a WHERE clause; `ph(n)` renders the n-th placeholder (`?` for SQLite, `$n` for PostgreSQL).
 * With `after`, only the events past that (ts, seq) key in the listing's order.
 */
export function eventWhere(f: EventFilter, ph: (n: number) => string, after?: After): { sql: string; params: unknown[] } {
  const { parts, params, add, sql } = where(ph);
  const checkKind = (k: string) => {
    if (!(EVENT_KINDS as readonly string[]).includes(k)) throw new RangeError(`kind must be one of ${EVENT_KINDS.join(', ')}, got "${k}"`);
    return k;
  };
  if (f.kind !== undefined) add('kind = #', checkKind(f.kind));
  if (f.kinds !== undefined) {
    if (f.kinds.length === 0) parts.push('1 = 0');
    else {
      const from = params.length;
      params.push(...f.kinds.map(checkKind));
      parts.push(`kind IN (${f.kinds.map((_, i) => ph(from + i + 1)).join(', ')})`);
    }
  }
  if (f.device !== undefined) add('device = #', f.device);
  if (f.intersection !== undefined) add('intersection = #', f.intersection);
  if (f.bay !== undefined) add('bay = #', f.bay);
  if (f.from !== undefined) add('ts >= #', checkMs(f.from, 'from'));
  if (f.to !== undefined) add('ts < #', checkMs(f.to, 'to'));
  if (after) {
    // the redundant bound on ts alone lets PostgreSQL's index on ts serve the row comparison
    const [ts, seq] = after.key;
    const op = after.order === 'asc' ? '>' : '<';
    add(`ts ${op}= #`, ts);
    params.push(ts, seq);
    parts.push(`(ts, seq) ${op} (${ph(params.length - 1)}, ${ph(params.length)})`);
  }
  return { sql: sql(), params };
}

/** The audit log's WHERE clause; with `after`, only the entries past that seq in the listing's order. */
export function auditWhere(q: AuditQuery, ph: (n: number) => string, after?: After): { sql: string; params: unknown[] } {
  const { params, add, sql } = where(ph);
  if (q.actor !== undefined) add('actor = #', q.actor);
  if (q.action !== undefined) add('action = #', q.action);
  if (q.target !== undefined) add('target = #', q.target);
  if (q.from !== undefined) add('at >= #', checkMs(q.from, 'from'));
  if (q.to !== undefined) add('at < #', checkMs(q.to, 'to'));
  if (after) add(`seq ${after.order === 'asc' ? '>' : '<'} #`, after.key[0]);
  return { sql: sql(), params };
}

function checkMs(v: number, name: string): number {
  if (!Number.isFinite(v)) throw new RangeError(`${name} must be epoch milliseconds, got ${v}`);
  return Math.floor(v);
}

export function orderDir(o: 'asc' | 'desc' | undefined): 'ASC' | 'DESC' {
  return orderOf(o) === 'asc' ? 'ASC' : 'DESC';
}

/** The order asked for (default ascending), checked. */
export function orderOf(o: 'asc' | 'desc' | undefined): Order {
  if (o === undefined || o === 'asc') return 'asc';
  if (o === 'desc') return 'desc';
  throw new RangeError(`order must be asc or desc, got "${String(o)}"`);
}
