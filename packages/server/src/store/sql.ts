import { EVENT_KINDS } from '../events.js';
import type { AuditQuery, EventFilter } from './store.js';

/** Builds a WHERE clause; `ph(n)` renders the n-th placeholder (`?` for SQLite, `$n` for PostgreSQL). */
export function eventWhere(f: EventFilter, ph: (n: number) => string): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, v: unknown) => {
    params.push(v);
    parts.push(clause.replace('#', ph(params.length)));
  };
  if (f.kind !== undefined) {
    if (!(EVENT_KINDS as readonly string[]).includes(f.kind)) throw new RangeError(`kind must be one of ${EVENT_KINDS.join(', ')}, got "${f.kind}"`);
    add('kind = #', f.kind);
  }
  if (f.device !== undefined) add('device = #', f.device);
  if (f.intersection !== undefined) add('intersection = #', f.intersection);
  if (f.bay !== undefined) add('bay = #', f.bay);
  if (f.from !== undefined) add('ts >= #', checkMs(f.from, 'from'));
  if (f.to !== undefined) add('ts < #', checkMs(f.to, 'to'));
  return { sql: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', params };
}

export function auditWhere(q: AuditQuery, ph: (n: number) => string): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, v: unknown) => {
    params.push(v);
    parts.push(clause.replace('#', ph(params.length)));
  };
  if (q.actor !== undefined) add('actor = #', q.actor);
  if (q.action !== undefined) add('action = #', q.action);
  if (q.target !== undefined) add('target = #', q.target);
  if (q.from !== undefined) add('at >= #', checkMs(q.from, 'from'));
  if (q.to !== undefined) add('at < #', checkMs(q.to, 'to'));
  return { sql: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', params };
}

function checkMs(v: number, name: string): number {
  if (!Number.isFinite(v)) throw new RangeError(`${name} must be epoch milliseconds, got ${v}`);
  return Math.floor(v);
}

export function orderDir(o: 'asc' | 'desc' | undefined): 'ASC' | 'DESC' {
  if (o === undefined || o === 'asc') return 'ASC';
  if (o === 'desc') return 'DESC';
  throw new RangeError(`order must be asc or desc, got "${String(o)}"`);
}
