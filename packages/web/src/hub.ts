// The city data hub as the dashboard's Data tab reads it: the shapes of the
// hub's answers (packages/server/src/api/hub-routes.ts) and how a query's
// result becomes a chart. Pure: no I/O, no React.
import type { AccessLevel, Dataset, Department, Exposure } from '@citybrain/brain';
import type { AuditEntry } from '@citybrain/server/contract';

export type HubDepartment = Department;

/** A dataset as `/api/v1/hub/datasets[/:id]` shows it to the caller: with its size and how each column reads for them. */
export interface HubDataset extends Omit<Dataset, 'columns'> {
  columns: (Dataset['columns'][number] & { reads: Exposure })[];
  rows: number;
  bytes: number;
  /** the caller's access (null: none; the server does not list such datasets) */
  access: AccessLevel | null;
  /** why: 'owner', 'operator', 'public', 'internal' or grant ids */
  via: string[];
}

/** One entry of a dataset's access log: the server's audit entry. */
export type HubAuditEntry = AuditEntry;

/** `POST /api/v1/hub/query` as JSON: DuckDB's column types; BIGINT, HUGEINT, DECIMAL and times come as strings. */
export interface HubQueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  /** the server's row limit cut the result */
  truncated: boolean;
  /** the datasets it read */
  datasets: string[];
  ms: number;
}

export type ColumnKind = 'number' | 'time' | 'text' | 'other';

/** What a result column is, by its DuckDB type (`DECIMAL(18,3)`, `TIMESTAMP WITH TIME ZONE`, …). */
export function columnKind(duckType: string): ColumnKind {
  const t = duckType.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL)/.test(t)) return 'number';
  if (/^(DATE|TIMESTAMP|TIME\b|TIMESTAMPTZ)/.test(t)) return 'time';
  if (/^(VARCHAR|UUID|ENUM|BOOLEAN)/.test(t)) return 'text';
  return 'other';
}

/** A DuckDB time as JSON gives it ('2024-05-01', '2024-05-01 08:00:00', '2024-05-01 08:00:00+00') as epoch ms; NaN for anything else. Times without a zone are UTC (the hub's connections run in UTC). */
export function timeMs(v: unknown): number {
  if (typeof v !== 'string') return NaN;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2}(?::?\d{2})?|Z)?)?$/.exec(v.trim());
  if (!m) return NaN;
  const [, day, time = '00:00:00', zone] = m;
  const z = zone === undefined ? 'Z' : zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return Date.parse(`${day}T${time}${z}`);
}

/** A result cell as a number for a chart: numbers, and the strings DuckDB gives BIGINT, HUGEINT and DECIMAL; null where it is none. */
export function cellNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export interface ChartPlan {
  /** the x column: the result's first text or time column (null: rows are numbered) */
  x: { name: string; kind: 'time' | 'text' } | null;
  /** bar over a text (or numbered) x, line over time */
  type: 'bar' | 'line';
  /** one series per numeric column other than x: [x, y] pairs (x: epoch ms over time, the text otherwise, the row number without an x column) */
  series: { name: string; data: [number | string, number | null][] }[];
}

/**
 * How a result is drawn: the first text or time column is x, every numeric
 * column a series; a line over time, bars over text. Null when there is no
 * numeric column (nothing to draw). A time x whose cells do not all read as
 * times is drawn as text.
 */
export function chartPlan(result: Pick<HubQueryResult, 'columns' | 'rows'>): ChartPlan | null {
  const kinds = result.columns.map((c) => columnKind(c.type));
  const xi = kinds.findIndex((k) => k === 'text' || k === 'time');
  const numeric = kinds.flatMap((k, i) => (k === 'number' && i !== xi ? [i] : []));
  if (numeric.length === 0) return null;
  let xKind: 'time' | 'text' | null = xi < 0 ? null : (kinds[xi] as 'time' | 'text');
  if (xKind === 'time' && !result.rows.every((r) => Number.isFinite(timeMs(r[xi])))) xKind = 'text';
  const xOf = (r: unknown[], n: number): number | string =>
    xKind === null ? n + 1 : xKind === 'time' ? timeMs(r[xi]) : r[xi] === null || r[xi] === undefined ? '' : String(r[xi]);
  return {
    x: xKind === null ? null : { name: result.columns[xi].name, kind: xKind },
    type: xKind === 'time' ? 'line' : 'bar',
    series: numeric.map((i) => ({ name: result.columns[i].name, data: result.rows.map((r, n) => [xOf(r, n), cellNumber(r[i])] as [number | string, number | null]) })),
  };
}

/** The rows an access-log entry says were read or written (reads: `rows`; loads and appends: `rows`), else null. */
export function auditRows(e: Pick<HubAuditEntry, 'after'>): number | null {
  const a = e.after as { rows?: unknown } | null;
  return a && typeof a === 'object' && typeof a.rows === 'number' ? a.rows : null;
}

/** What an access-log entry did, in a line: a read's SQL, a refusal's action and need, a load's source. */
export function auditWhat(e: Pick<HubAuditEntry, 'after'>): string {
  const a = e.after as Record<string, unknown> | null;
  if (!a || typeof a !== 'object') return '';
  // a read: its SQL, and the format when it left as a file (a CSV or Parquet download)
  if (typeof a.sql === 'string') return typeof a.format === 'string' && a.format !== 'json' ? `${a.sql} · ${a.format}` : a.sql;
  if (typeof a.action === 'string') return `${a.action} (${String(a.needs ?? '')}; ${String(a.has ?? '')})`;
  if (typeof a.source === 'string') return `${a.source}${typeof a.batch === 'string' ? ` · ${a.batch}` : ''}`;
  // a registration: the dataset's title and classification
  if (typeof a.title === 'string' && typeof a.classification === 'string') return `${a.title} (${a.classification})`;
  // a grant: its level, to whom
  if (typeof a.access === 'string') return `${a.access} → ${[a.department, a.role].filter((x) => typeof x === 'string').join(' / ') || '*'}`;
  const text = JSON.stringify(a);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}
