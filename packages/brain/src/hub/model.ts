/**
 * The city data hub's model: departments, datasets (schema, classification,
 * licence, retention, lineage) and grants, and the checks that say what is
 * wrong with one, naming the field. Pure: the server stores and enforces them.
 */
import { unstorable } from '../text.js';

/** Thrown for a department, dataset, grant or row that is not valid; the message names the field (and the line, for a row). */
export class HubError extends Error {
  override readonly name = 'HubError';
}

export const COLUMN_TYPES = ['string', 'integer', 'double', 'boolean', 'timestamp', 'date'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** From least to most guarded: a derived dataset is at least as guarded as its strictest input. */
export const CLASSIFICATIONS = ['public', 'internal', 'restricted', 'personal'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const UPDATE_FREQUENCIES = ['continuous', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'annual', 'irregular', 'never'] as const;
export type UpdateFrequency = (typeof UPDATE_FREQUENCIES)[number];

export const ACCESS_LEVELS = ['read', 'write', 'admin'] as const;
/** read: query; write: read and load/append; admin: write and grant */
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export const MASKS = ['null', 'hash'] as const;
/** null: the column reads as NULL; hash: as the hub's keyed hash of its value (equal values, equal hashes: joins and counts still work) */
export type Mask = (typeof MASKS)[number];

export interface Column {
  name: string;
  type: ColumnType;
  /** default true */
  nullable?: boolean;
  /** personal data (a person can be identified from it): read only through a grant naming it */
  personal?: boolean;
  description?: string;
}

export interface Department {
  /** e.g. "transport", "police", "weather" */
  id: string;
  name: string;
  createdAt: number;
}

/** What a derived dataset was made from, and how. */
export interface Lineage {
  inputs: string[];
  sql: string;
  /** who ran it: token name and id */
  by: string;
  at: number;
}

export interface DatasetSpec {
  /** lower-case letters, digits and _ (it is the table name in SQL) */
  id: string;
  title: string;
  /** the department that owns it */
  owner: string;
  description: string;
  columns: Column[];
  updateFrequency: UpdateFrequency;
  /** an SPDX id (e.g. CC-BY-4.0) or a licence URL */
  licence: string;
  classification: Classification;
  /** batches loaded longer ago than this many days are deleted; null keeps them */
  retentionDays: number | null;
  /** a dataset made by a query over others */
  lineage?: Lineage;
}

/** One batch of rows as stored (a load or an append): its Parquet file in the dataset's folder, or its rows in the dataset's PostgreSQL table. */
export interface Batch {
  id: string;
  /** the Parquet file in the dataset's folder; '' for a batch stored in PostgreSQL */
  file: string;
  /** 'postgres': the rows are in the dataset's table of the store's schema (the hub's postgres engine), not in a file */
  stored?: 'postgres';
  rows: number;
  bytes: number;
  at: number;
  by: string;
  /** 'csv' | 'jsonl' | 'parquet' | 'rows' (an API append) | 'query' (derived) */
  source: string;
}

export interface Dataset extends DatasetSpec {
  createdAt: number;
  batches: Batch[];
  /** the dataset feeds the brain's twin as this kind (twin/conditions.ts); set by its admins */
  feed?: 'roadworks' | 'events' | 'weather';
}

/** To whom a grant is given: a department's tokens, a role's tokens, or a department's tokens of a role. */
export interface Grantee {
  department?: string;
  role?: string;
}

export interface GrantSpec extends Grantee {
  access: AccessLevel;
  /** the personal columns this grant reads (clear, or as its masks say); those it does not name read as NULL */
  personal?: string[];
  /** column → mask, applied inside the caller's view */
  masks?: Record<string, Mask>;
}

export interface Grant extends GrantSpec {
  id: string;
  dataset: string;
  createdAt: number;
  by: string;
}

const ID = /^[a-z][a-z0-9_]{0,62}$/;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

function text(x: unknown, field: string, max: number, min = 1): string {
  if (typeof x !== 'string' || x.length < min || x.length > max) throw new HubError(`${field} must be a string of ${min} to ${max} characters`);
  const bad = unstorable(x);
  if (bad) throw new HubError(`${field} ${bad}`);
  return x;
}

function oneOf<T extends string>(x: unknown, field: string, values: readonly T[]): T {
  if (typeof x !== 'string' || !(values as readonly string[]).includes(x)) throw new HubError(`${field} must be one of ${values.join(', ')}, got ${JSON.stringify(x)}`);
  return x as T;
}

function only(x: Record<string, unknown>, field: string, keys: readonly string[]): void {
  for (const k of Object.keys(x)) if (!keys.includes(k)) throw new HubError(`${field}${field ? '.' : ''}${k} is not a known field (known: ${keys.join(', ')})`);
}

/** An identifier of a department or dataset: lower-case letters, digits and _, starting with a letter, at most 63. */
export function checkId(x: unknown, field: string): string {
  if (typeof x !== 'string' || !ID.test(x)) throw new HubError(`${field} must be lower-case letters, digits and _, starting with a letter, at most 63 characters; got ${JSON.stringify(x)}`);
  return x;
}

export function checkDepartment(x: unknown): { id: string; name: string } {
  if (!isRecord(x)) throw new HubError('a department must be an object {id, name}');
  only(x, '', ['id', 'name']);
  return { id: checkId(x.id, 'id'), name: text(x.name, 'name', 200) };
}

export function checkColumns(x: unknown, field = 'columns'): Column[] {
  if (!Array.isArray(x) || x.length === 0 || x.length > 1000) throw new HubError(`${field} must be an array of 1 to 1000 columns`);
  const seen = new Set<string>();
  return x.map((c, i) => {
    const f = `${field}[${i}]`;
    if (!isRecord(c)) throw new HubError(`${f} must be an object {name, type, nullable?, personal?, description?}`);
    only(c, f, ['name', 'type', 'nullable', 'personal', 'description']);
    if (typeof c.name !== 'string' || !COLUMN.test(c.name)) throw new HubError(`${f}.name must be letters, digits and _, not starting with a digit, at most 63 characters; got ${JSON.stringify(c.name)}`);
    const lower = c.name.toLowerCase();
    if (seen.has(lower)) throw new HubError(`${f}.name "${c.name}" is given twice (column names are case-insensitive in SQL)`);
    seen.add(lower);
    const col: Column = { name: c.name, type: oneOf(c.type, `${f}.type`, COLUMN_TYPES) };
    for (const k of ['nullable', 'personal'] as const) {
      if (c[k] === undefined) continue;
      if (typeof c[k] !== 'boolean') throw new HubError(`${f}.${k} must be true or false`);
      col[k] = c[k];
    }
    if (c.description !== undefined) col.description = text(c.description, `${f}.description`, 1000, 0);
    return col;
  });
}

const DATASET_FIELDS = ['id', 'title', 'owner', 'description', 'columns', 'updateFrequency', 'licence', 'classification', 'retentionDays'] as const;

/**
 * A dataset's registration, checked: every field named when wrong. A dataset
 * with personal columns must be classified personal, and a personal one must
 * say which of its columns are personal.
 */
export function checkDatasetSpec(x: unknown, extraKeys: readonly string[] = []): DatasetSpec {
  if (!isRecord(x)) throw new HubError(`a dataset must be an object {${DATASET_FIELDS.join(', ')}}`);
  only(x, '', [...DATASET_FIELDS, ...extraKeys]);
  const spec: DatasetSpec = {
    id: checkId(x.id, 'id'),
    title: text(x.title ?? x.id, 'title', 200),
    owner: checkId(x.owner, 'owner'),
    description: text(x.description, 'description', 10_000),
    columns: checkColumns(x.columns),
    updateFrequency: oneOf(x.updateFrequency, 'updateFrequency', UPDATE_FREQUENCIES),
    licence: text(x.licence, 'licence', 200),
    classification: oneOf(x.classification, 'classification', CLASSIFICATIONS),
    retentionDays: null,
  };
  if (x.retentionDays !== undefined && x.retentionDays !== null) {
    if (typeof x.retentionDays !== 'number' || !Number.isInteger(x.retentionDays) || x.retentionDays < 1 || x.retentionDays > 36500) throw new HubError('retentionDays must be a whole number of days from 1 to 36500, or null to keep every batch');
    spec.retentionDays = x.retentionDays;
  }
  const personal = spec.columns.filter((c) => c.personal).map((c) => c.name);
  if (personal.length > 0 && spec.classification !== 'personal') throw new HubError(`classification must be "personal": columns ${personal.join(', ')} are personal (got "${spec.classification}")`);
  if (spec.classification === 'personal' && personal.length === 0) throw new HubError('classification "personal" needs at least one column marked personal: true (the columns grants must name to read)');
  return spec;
}

/** A grant on `dataset`, checked against its columns. */
export function checkGrantSpec(x: unknown, dataset: Pick<DatasetSpec, 'id' | 'columns'>): GrantSpec {
  if (!isRecord(x)) throw new HubError('a grant must be an object {department?, role?, access, personal?, masks?}');
  only(x, '', ['department', 'role', 'access', 'personal', 'masks']);
  const g: GrantSpec = { access: oneOf(x.access, 'access', ACCESS_LEVELS) };
  if (x.department !== undefined) g.department = checkId(x.department, 'department');
  if (x.role !== undefined) g.role = text(x.role, 'role', 32);
  if (g.department === undefined && g.role === undefined) throw new HubError('a grant names a department, a role, or both (a department\'s tokens of that role)');
  const byName = new Map(dataset.columns.map((c) => [c.name, c]));
  if (x.personal !== undefined) {
    if (!Array.isArray(x.personal)) throw new HubError('personal must be an array of the personal columns the grant reads');
    g.personal = x.personal.map((n, i) => {
      const c = byName.get(n as string);
      if (!c) throw new HubError(`personal[${i}]: dataset "${dataset.id}" has no column ${JSON.stringify(n)}`);
      if (!c.personal) throw new HubError(`personal[${i}]: column "${c.name}" of "${dataset.id}" is not personal (only personal columns need naming)`);
      return c.name;
    });
  }
  if (x.masks !== undefined) {
    if (!isRecord(x.masks)) throw new HubError('masks must be an object {column: "null" | "hash"}');
    g.masks = {};
    for (const [n, m] of Object.entries(x.masks)) {
      if (!byName.has(n)) throw new HubError(`masks.${n}: dataset "${dataset.id}" has no such column`);
      g.masks[n] = oneOf(m, `masks.${n}`, MASKS);
    }
  }
  return g;
}

export function classificationRank(c: Classification): number {
  return CLASSIFICATIONS.indexOf(c);
}
