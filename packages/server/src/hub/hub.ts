/**
 * The city data hub on the server: departments, datasets, grants, loads and
 * queries, over the pure model and rules of `@citybrain/brain` (hub/).
 *
 * - Metadata (departments, datasets with their batches and lineage, grants,
 *   the masking key) are state rows of the EventStore (`hub:` keys), each
 *   change written with its audit entry in one transaction (SQLite or
 *   PostgreSQL alike).
 * - Data: Parquet files under `dir`, one folder per dataset, one file per
 *   load or append (a batch). A load is written to a staging file, renamed
 *   into place, and becomes part of the dataset only when the state row
 *   listing it commits; a load that fails anywhere leaves nothing (its files
 *   are removed; a file no state row lists is never read and is swept at start).
 * - Reads: every query runs in a DuckDB instance of its own holding views of
 *   only the datasets it reads (checked first: the caller may read them),
 *   each view applying the caller's masks, then external access disabled
 *   except for those datasets' files and the configuration locked.
 *   Every read and every write is audited (who, what, when, rows); a refused
 *   one too.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  allows, checkDatasetSpec, checkFeedColumns, csvFastSelect, csvHeaderIndex, CsvReader, checkDepartment, checkGrantSpec, checkObject, checkParsedQuery, classificationRank, CLASSIFICATIONS, CsvRows, datasetAccess,
  FEED_KINDS, type FeedKind, HubError, JsonLinesRows, type AccessLevel, type Batch, type Column, type ColumnType, type Dataset, type DatasetAccess, type Department, type Grant, type HubValue, type Lineage,
} from '@citybrain/brain';
import type { AuditInput, EventStore } from '../store/store.js';
import { HttpError } from '../errors.js';
import { connectUtc, convertParquet, DUCK_TYPES, fastLoad, firstLine, ident, literal, openDuck, ParquetWriter } from './duck.js';
import { PgHubData, refusedPgFunction, type PgQueryView } from './pg-data.js';
import { PostgresStore } from '../store/postgres.js';

/** Where the hub keeps and queries its rows: DuckDB over Parquet files (the default, any store), or PostgreSQL (a store on PostgreSQL). */
export type HubEngine = 'duckdb' | 'postgres';
export const HUB_ENGINES: readonly HubEngine[] = ['duckdb', 'postgres'];

/** Who acts: the audit log's actor and role, and the caller the access rules judge (its role and department). */
export interface HubActor {
  actor: string;
  role: string;
  department?: string;
  /** the audit log's role when it is not the access role (the server's own writes: 'system') */
  auditRole?: string;
}

export type LoadFormat = 'csv' | 'jsonl' | 'parquet';
export const LOAD_FORMATS: readonly LoadFormat[] = ['csv', 'jsonl', 'parquet'];
export type QueryFormat = 'json' | 'csv' | 'parquet';

export interface HubLimits {
  /** a query's wall time before it is interrupted, ms; default 30000 */
  queryMs?: number;
  /** rows a query returns at most (more: truncated); default 100000 */
  maxRows?: number;
  /** bytes of one upload; default 2 GiB */
  maxUploadBytes?: number;
  /** DuckDB memory limit of one query, e.g. '2GB'; default DuckDB's (80% of RAM) */
  queryMemory?: string;
}

export interface QueryResult {
  columns: { name: string; type: string }[];
  /** json and csv: the rows (JSON values: BIGINT and times as strings) */
  rows?: unknown[][];
  /** parquet: the file */
  parquet?: Buffer;
  rowCount: number;
  truncated: boolean;
  datasets: string[];
  ms: number;
}

const KEY = { department: 'hub:department:', dataset: 'hub:dataset:', grant: 'hub:grant:', key: 'hub:key' } as const;

const DUCK_TO_HUB: [RegExp, ColumnType][] = [
  [/^(VARCHAR|UUID|ENUM)/, 'string'], [/^(BIGINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|HUGEINT)$/, 'integer'],
  [/^(DOUBLE|FLOAT|DECIMAL)/, 'double'], [/^BOOLEAN$/, 'boolean'], [/^TIMESTAMP/, 'timestamp'], [/^DATE$/, 'date'],
];

export class Hub {
  readonly departments = new Map<string, Department>();
  readonly datasets = new Map<string, Dataset>();
  /** by dataset */
  readonly grants = new Map<string, Grant[]>();
  private writer: DuckDBInstance | undefined;
  /** metadata changes one at a time (each reads, changes and writes a state row) */
  private last: Promise<unknown> = Promise.resolve();
  private readonly limits: Required<Omit<HubLimits, 'queryMemory'>> & { queryMemory?: string };
  private retentionTimer: ReturnType<typeof setInterval> | undefined;
  private readonly batchListeners: ((dataset: string, batch: Batch) => void)[] = [];

  private constructor(private readonly store: EventStore, readonly dir: string, private readonly key: string, limits: HubLimits, private readonly now: () => number, private readonly pg: PgHubData | undefined) {
    this.limits = { queryMs: limits.queryMs ?? 30_000, maxRows: limits.maxRows ?? 100_000, maxUploadBytes: limits.maxUploadBytes ?? 2 ** 31, queryMemory: limits.queryMemory };
  }

  /** Opens the hub over the store's state rows and the data folder; sweeps files of loads that never committed. */
  static async open(opts: { store: EventStore; dir: string; limits?: HubLimits; now?: () => number; retentionSweepMs?: number | false; engine?: HubEngine }): Promise<Hub> {
    const engine = opts.engine ?? 'duckdb';
    if (!HUB_ENGINES.includes(engine)) throw new Error(`hub engine must be one of ${HUB_ENGINES.join(', ')}, got ${JSON.stringify(engine)}`);
    let pgData: PgHubData | undefined;
    if (engine === 'postgres') {
      if (!(opts.store instanceof PostgresStore)) throw new Error(`the hub's postgres engine keeps its rows in the store's PostgreSQL schema, but this store is ${opts.store.backend} (the default engine, duckdb, runs on any store)`);
      const { pool, schema } = opts.store.sharedPool();
      pgData = await PgHubData.open(pool, schema);
    }
    await mkdir(opts.dir, { recursive: true });
    const rows = await opts.store.readState('hub:');
    let key = rows.get(KEY.key) as string | undefined;
    if (typeof key !== 'string') {
      key = randomBytes(32).toString('base64url');
      await opts.store.recordAction(
        { actor: 'citybrain server', role: 'system', action: 'hub.key', target: 'hub', before: null, after: 'the masking key made (its value is not logged)' },
        { t: 'state', set: { [KEY.key]: key } },
      );
    }
    const hub = new Hub(opts.store, opts.dir, key, opts.limits ?? {}, opts.now ?? Date.now, pgData);
    for (const [k, v] of rows) {
      if (k.startsWith(KEY.department)) hub.departments.set((v as Department).id, v as Department);
      else if (k.startsWith(KEY.dataset)) hub.datasets.set((v as Dataset).id, v as Dataset);
      else if (k.startsWith(KEY.grant)) {
        const g = v as Grant;
        (hub.grants.get(g.dataset) ?? hub.grants.set(g.dataset, []).get(g.dataset)!).push(g);
      }
    }
    for (const d of hub.datasets.values()) {
      const pgBatches = d.batches.filter((b) => b.stored === 'postgres').length;
      if (engine === 'duckdb' && pgBatches > 0) throw new Error(`dataset "${d.id}" has ${pgBatches} batch(es) stored in PostgreSQL: open the hub with engine postgres (serve --hub-engine postgres)`);
      if (engine === 'postgres' && pgBatches < d.batches.length) throw new Error(`dataset "${d.id}" has ${d.batches.length - pgBatches} batch(es) stored as Parquet files, which the postgres engine does not read: open the hub with engine duckdb (the default)`);
    }
    hub.writer = await openDuck();
    await hub.sweepStrayFiles();
    const every = opts.retentionSweepMs ?? 3_600_000;
    if (every !== false) {
      await hub.applyRetention();
      hub.retentionTimer = setInterval(() => void hub.applyRetention().catch(() => {}), every);
      hub.retentionTimer.unref();
    }
    return hub;
  }

  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    await this.last.catch(() => {});
    this.writer?.closeSync();
    this.writer = undefined;
  }

  // ------------------------------------------------------------ departments

  registerDepartment(who: HubActor, body: unknown): Promise<Department> {
    const spec = hubCheck(() => checkDepartment(body));
    return this.change(() => {
      if (this.departments.has(spec.id)) throw new HttpError('CB_CONFLICT', `department "${spec.id}" is registered already`);
      const d: Department = { ...spec, createdAt: this.now() };
      return { entry: this.audit(who, 'hub.register-department', `department:${d.id}`, null, d), set: { [KEY.department + d.id]: d }, apply: () => (this.departments.set(d.id, d), d) };
    });
  }

  // ------------------------------------------------------------ datasets

  /** What the caller may do with a dataset and how each column reads for it; undefined for no such dataset. */
  accessOf(who: HubActor, id: string): { dataset: Dataset; access: DatasetAccess } | undefined {
    const dataset = this.datasets.get(id);
    return dataset && { dataset, access: datasetAccess(dataset, this.grants.get(id) ?? [], who) };
  }

  /** The datasets the caller may read. */
  catalogue(who: HubActor): { dataset: Dataset; access: DatasetAccess }[] {
    return [...this.datasets.values()].map((d) => ({ dataset: d, access: datasetAccess(d, this.grants.get(d.id) ?? [], who) })).filter((x) => allows(x.access, 'read'));
  }

  /** Registers a dataset (no rows yet). Operators register for any department; a department's tokens for their own. */
  registerDataset(who: HubActor, body: unknown): Promise<Dataset> {
    const spec = hubCheck(() => checkDatasetSpec(body));
    this.checkOwner(who, spec.owner);
    return this.change(() => {
      if (this.datasets.has(spec.id)) throw new HttpError('CB_CONFLICT', `dataset "${spec.id}" is registered already`);
      const d: Dataset = { ...spec, createdAt: this.now(), batches: [] };
      return { entry: this.audit(who, 'hub.register-dataset', `dataset:${d.id}`, null, describe(d)), set: { [KEY.dataset + d.id]: d }, apply: () => (this.datasets.set(d.id, d), d) };
    });
  }

  private checkOwner(who: HubActor, owner: string): void {
    if (!this.departments.has(owner)) throw new HttpError('CB_INVALID_REQUEST', `owner: no department "${owner}" is registered (POST /api/v1/hub/departments)`);
    if (who.role !== 'operator' && who.department !== owner) {
      throw new HttpError('CB_FORBIDDEN', `a dataset is registered by its owner's tokens or an operator: this token is ${who.department ? `department "${who.department}"'s` : 'no department\'s'}, not "${owner}"'s`);
    }
  }

  /**
   * The dataset `id` if the caller has `need` on it: 404 when there is no
   * such dataset, 403 (audited, changing nothing) when the caller lacks it.
   */
  async require(who: HubActor, id: string, need: AccessLevel, action: string): Promise<{ dataset: Dataset; access: DatasetAccess }> {
    const a = this.accessOf(who, id);
    if (!a) throw new HttpError('CB_NOT_FOUND', `no dataset "${id}"`);
    if (!allows(a.access, need)) {
      await this.store.appendAudit(this.audit(who, 'hub.refused', `dataset:${id}`, null, { action, needs: need, has: a.access.level ?? 'none' }));
      throw new HttpError('CB_FORBIDDEN', `${action} on dataset "${id}" needs ${need} access, which this token ${a.access.level ? `lacks (it has ${a.access.level})` : 'has not been granted'}`);
    }
    return a;
  }

  // ------------------------------------------------------------ grants

  async grant(who: HubActor, datasetId: string, body: unknown): Promise<Grant> {
    const { dataset } = await this.require(who, datasetId, 'admin', 'granting');
    const spec = hubCheck(() => checkGrantSpec(body, dataset));
    if (spec.department !== undefined && !this.departments.has(spec.department)) throw new HttpError('CB_INVALID_REQUEST', `department: no department "${spec.department}" is registered`);
    const g: Grant = { ...spec, id: `g_${randomUUID().slice(0, 8)}`, dataset: datasetId, createdAt: this.now(), by: who.actor };
    return this.change(() => ({
      entry: this.audit(who, 'hub.grant', `dataset:${datasetId}`, null, g), set: { [`${KEY.grant}${datasetId}:${g.id}`]: g },
      apply: () => ((this.grants.get(datasetId) ?? this.grants.set(datasetId, []).get(datasetId)!).push(g), g),
    }));
  }

  async revokeGrant(who: HubActor, datasetId: string, grantId: string): Promise<void> {
    await this.require(who, datasetId, 'admin', 'revoking a grant');
    await this.change(() => {
      const list = this.grants.get(datasetId) ?? [];
      const g = list.find((x) => x.id === grantId);
      if (!g) throw new HttpError('CB_NOT_FOUND', `dataset "${datasetId}" has no grant "${grantId}"`);
      return {
        entry: this.audit(who, 'hub.revoke-grant', `dataset:${datasetId}`, g, null), set: { [`${KEY.grant}${datasetId}:${grantId}`]: null },
        apply: () => void list.splice(list.indexOf(g), 1),
      };
    });
  }

  // ------------------------------------------------------------ loads

  /**
   * Loads a file into a dataset as one batch: checked row by row against the
   * schema (a bad row: a HubError naming its line and field), written to
   * Parquet, and added only when all of it is good. Nothing of a failed load
   * is kept.
   */
  async load(who: HubActor, id: string, format: LoadFormat, body: AsyncIterable<Buffer | string>): Promise<Batch> {
    const { dataset } = await this.require(who, id, 'write', 'loading');
    const batchId = batchName(this.now());
    const folder = join(this.dir, id);
    await mkdir(folder, { recursive: true });
    const staging = join(folder, `.staging-${batchId}.parquet`);
    const upload = join(folder, `.upload-${batchId}.${format}`);
    try {
      await this.saveUpload(body, upload);
      let rows: number;
      if (format === 'parquet') rows = await hubCheckAsync(() => convertParquet(this.duck(), dataset.columns, upload, staging));
      else rows = (format === 'csv' ? await this.fastLoad(dataset.columns, upload, staging) : undefined) ?? (await this.checkedLoad(dataset.columns, format, upload, staging));
      return await this.commitBatch(who, id, staging, batchId, rows, format);
    } catch (e) {
      await rm(staging, { force: true });
      throw e;
    } finally {
      await rm(upload, { force: true });
    }
  }

  /**
   * The fast path of a CSV load: DuckDB reads the saved upload and converts
   * it in SQL into the staging file (rows-sql.ts). Undefined when it gives up
   * (a bad row, or a spelling only rows.ts reads, the header included): the
   * checked path then decides.
   */
  private async fastLoad(columns: readonly Column[], upload: string, staging: string): Promise<number | undefined> {
    const header = await csvHeader(upload);
    if (!header) return undefined;
    let index: number[];
    try {
      index = csvHeaderIndex(columns, header);
    } catch {
      return undefined;
    }
    return fastLoad(this.duck(), csvFastSelect(columns, index, header.length, upload), staging);
  }

  /** The checked path: the saved upload streamed through rows.ts (a bad row: its line and field) and appended to the staging file. */
  private checkedLoad(columns: readonly Column[], format: 'csv' | 'jsonl', upload: string, staging: string): Promise<number> {
    return this.writeRows(columns, staging, async (push) => {
      const parser = format === 'csv' ? new CsvRows(columns) : new JsonLinesRows(columns);
      const decoder = new StringDecoder('utf8');
      for await (const chunk of createReadStream(upload)) push(parser.push(decoder.write(chunk as Buffer)));
      push(parser.push(decoder.end()));
      push(parser.end());
    });
  }

  /**
   * A batch written by the server itself from rows already of the dataset's
   * types (values in its column order), fed in pieces: the device events'
   * daily partitions. `source` names the batch (e.g. `device-events:2026-05-01`);
   * all or nothing, audited as a load, like any other.
   */
  async writeBatch(who: HubActor, id: string, source: string, feed: (push: (rows: HubValue[][]) => void) => Promise<void>): Promise<Batch> {
    const { dataset } = await this.require(who, id, 'write', 'writing a batch');
    const batchId = batchName(this.now());
    await mkdir(join(this.dir, id), { recursive: true });
    const staging = join(this.dir, id, `.staging-${batchId}.parquet`);
    try {
      const n = await this.writeRows(dataset.columns, staging, feed);
      return await this.commitBatch(who, id, staging, batchId, n, source);
    } catch (e) {
      await rm(staging, { force: true });
      throw e;
    }
  }

  /**
   * A dataset the server derives itself (a rollup of another), registered
   * with its lineage; audited as a registration by `who`.
   */
  registerDerived(who: HubActor, body: unknown, lineage: Omit<Lineage, 'at' | 'by'>): Promise<Dataset> {
    const spec = hubCheck(() => checkDatasetSpec(body));
    this.checkOwner(who, spec.owner);
    return this.change(() => {
      if (this.datasets.has(spec.id)) throw new HttpError('CB_CONFLICT', `dataset "${spec.id}" is registered already`);
      const d: Dataset = { ...spec, lineage: { ...lineage, by: who.actor, at: this.now() }, createdAt: this.now(), batches: [] };
      return { entry: this.audit(who, 'hub.register-dataset', `dataset:${d.id}`, null, describe(d)), set: { [KEY.dataset + d.id]: d }, apply: () => (this.datasets.set(d.id, d), d) };
    });
  }

  /**
   * A batch of dataset `id` computed from one batch of `from` by the server's
   * own SQL (`select` reads that batch as the table `src`; never a caller's
   * SQL: it runs in the hub's trusted connection), e.g. a day's hourly rollup.
   * Its columns must be the dataset's, in order and type. All or nothing, audited.
   */
  async deriveBatch(who: HubActor, id: string, from: string, batch: Batch, select: string, source: string): Promise<Batch> {
    const { dataset } = await this.require(who, id, 'write', 'writing a batch');
    const batchId = batchName(this.now());
    await mkdir(join(this.dir, id), { recursive: true });
    const staging = join(this.dir, id, `.staging-${batchId}.parquet`);
    const src = await this.batchPaths(from, [batch]);
    const conn = await connectUtc(this.duck());
    try {
      const cols = dataset.columns.map((c) => `CAST(${ident(c.name)} AS ${DUCK_TYPES[c.type]}) AS ${ident(c.name)}`).join(', ');
      const r = await conn.runAndReadAll(`COPY (WITH src AS (SELECT * FROM read_parquet([${src.paths.map(literal).join(', ')}])) SELECT ${cols} FROM (${select})) TO ${literal(staging)} (FORMAT parquet, COMPRESSION zstd)`);
      const n = Number(r.getRowsJson()[0]?.[0] ?? 0);
      conn.closeSync();
      await src.done();
      return await this.commitBatch(who, id, staging, batchId, n, source);
    } catch (e) {
      try {
        conn.closeSync();
      } catch {
        // closed already
      }
      await src.done();
      await rm(staging, { force: true });
      throw e;
    }
  }

  /** Appends rows (JSON objects) to a dataset as one batch, all or nothing: a bad one is named by its index (`rows[3]`) and field. */
  async append(who: HubActor, id: string, rows: readonly unknown[]): Promise<Batch> {
    const { dataset } = await this.require(who, id, 'write', 'appending');
    const checked = hubCheck(() => rows.map((r, i) => checkObject(dataset.columns, r, `rows[${i}]`)));
    const batchId = batchName(this.now());
    await mkdir(join(this.dir, id), { recursive: true });
    const staging = join(this.dir, id, `.staging-${batchId}.parquet`);
    try {
      const n = await this.writeRows(dataset.columns, staging, async (push) => push(checked));
      return await this.commitBatch(who, id, staging, batchId, n, 'rows');
    } catch (e) {
      await rm(staging, { force: true });
      throw e;
    }
  }

  private async writeRows(columns: readonly Column[], file: string, feed: (push: (rows: HubValue[][]) => void) => Promise<void>): Promise<number> {
    const w = await ParquetWriter.open(this.duck(), columns, `stage_${randomUUID().replace(/-/g, '')}`);
    try {
      await hubCheckAsync(() => feed((rows) => w.append(rows)));
      await w.finish(file);
      return w.rows;
    } catch (e) {
      await w.abort();
      throw e;
    }
  }

  private async saveUpload(body: AsyncIterable<Buffer | string>, file: string): Promise<void> {
    const { createWriteStream } = await import('node:fs');
    const out = createWriteStream(file);
    let bytes = 0;
    try {
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > this.limits.maxUploadBytes) throw new HttpError('CB_UPLOAD_TOO_LARGE', `the upload is over the ${this.limits.maxUploadBytes}-byte limit; nothing of it is kept`);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } finally {
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    }
  }

  /** The staging file renamed into place and listed in the dataset's state row with the audit entry, or removed. */
  private async commitBatch(who: HubActor, id: string, staging: string, batchId: string, rows: number, source: string): Promise<Batch> {
    if (this.pg) return this.commitPgBatch(this.pg, who, id, staging, batchId, source);
    const file = `${batchId}.parquet`;
    const path = join(this.dir, id, file);
    const bytes = (await stat(staging)).size;
    await rename(staging, path);
    const batch: Batch = { id: batchId, file, rows, bytes, at: this.now(), by: who.actor, source };
    try {
      return await this.change(() => {
        const d = this.datasets.get(id);
        if (!d) throw new HttpError('CB_NOT_FOUND', `no dataset "${id}"`);
        const next: Dataset = { ...d, batches: [...d.batches, batch] };
        return {
          entry: this.audit(who, source === 'rows' ? 'hub.append' : 'hub.load', `dataset:${id}`, { batches: d.batches.length }, { batch: batch.id, rows, bytes, source }),
          set: { [KEY.dataset + id]: next }, apply: () => (this.datasets.set(id, next), batch),
        };
      });
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    } finally {
      if (this.datasets.get(id)?.batches.some((b) => b.id === batchId)) for (const fn of this.batchListeners) fn(id, batch);
    }
  }

  /**
   * The PostgreSQL engine's commit: the staging file's rows copied into the
   * dataset's table in one transaction, then listed in its state row with the
   * audit entry; rows of a batch whose listing fails are deleted (and rows no
   * state row lists are never read, and swept at start). The staging file is removed.
   */
  private async commitPgBatch(pg: PgHubData, who: HubActor, id: string, staging: string, batchId: string, source: string): Promise<Batch> {
    let batch: Batch | undefined;
    try {
      const d = this.datasets.get(id);
      if (!d) throw new HttpError('CB_NOT_FOUND', `no dataset "${id}"`);
      const bytes = (await stat(staging)).size;
      let rows: number;
      try {
        rows = await pg.importParquet(this.duck(), id, d.columns, batchId, staging);
      } catch (e) {
        // a value PostgreSQL cannot hold (class 22: data exception, e.g. a date past its range; 23: a constraint)
        const code = String((e as { code?: string }).code ?? '');
        if (/^2[23]/.test(code)) throw new HttpError('CB_INVALID_DATA', `a value does not fit the dataset's PostgreSQL table: ${firstLine(e)}; nothing of this load is kept`);
        throw e;
      }
      const b: Batch = { id: batchId, file: '', stored: 'postgres', rows, bytes, at: this.now(), by: who.actor, source };
      batch = b;
      try {
        return await this.change(() => {
          const cur = this.datasets.get(id);
          if (!cur) throw new HttpError('CB_NOT_FOUND', `no dataset "${id}"`);
          const next: Dataset = { ...cur, batches: [...cur.batches, b] };
          return {
            entry: this.audit(who, source === 'rows' ? 'hub.append' : 'hub.load', `dataset:${id}`, { batches: cur.batches.length }, { batch: b.id, rows, bytes, source, stored: 'postgres' }),
            set: { [KEY.dataset + id]: next }, apply: () => (this.datasets.set(id, next), b),
          };
        });
      } catch (e) {
        await pg.deleteBatches(id, [batchId]).catch(() => {});
        throw e;
      }
    } finally {
      await rm(staging, { force: true });
      if (batch && this.datasets.get(id)?.batches.some((x) => x.id === batchId)) for (const fn of this.batchListeners) fn(id, batch);
    }
  }

  /**
   * Batches of a dataset as Parquet files DuckDB reads: their own files, or
   * (PostgreSQL) their rows written to a temporary file; `done` removes it.
   */
  private async batchPaths(id: string, batches: readonly Batch[]): Promise<{ paths: string[]; done: () => Promise<void> }> {
    const inPg = batches.filter((b) => b.stored === 'postgres');
    const files = batches.filter((b) => b.stored !== 'postgres').map((b) => join(this.dir, id, b.file));
    if (inPg.length === 0) return { paths: files, done: async () => {} };
    if (!this.pg) throw new Error(`dataset "${id}" has batches stored in PostgreSQL, which this hub (engine duckdb) does not read`);
    const out = join(this.dir, `.query-${randomUUID()}`);
    await mkdir(out);
    try {
      const file = join(out, `${id}.parquet`);
      await this.pg.exportParquet(this.duck(), id, this.datasets.get(id)!.columns, inPg.map((b) => b.id), file);
      return { paths: [...files, file], done: () => rm(out, { recursive: true, force: true }) };
    } catch (e) {
      await rm(out, { recursive: true, force: true });
      throw e;
    }
  }

  // ------------------------------------------------------------ queries

  /**
   * Runs a SELECT over the datasets the caller may read. The SQL is parsed
   * and checked before any view exists (an unauthorised query reads no data;
   * it is refused with a 403 and audited); the views apply the caller's
   * masks; the query runs with external access off (only the files of the
   * datasets it reads allowed), under the time and row limits.
   */
  async query(who: HubActor, sql: string, format: QueryFormat): Promise<QueryResult> {
    const t0 = performance.now();
    const readable = new Map(this.catalogue(who).map((x) => [x.dataset.id, x]));
    const inst = await openDuck(this.limits.queryMemory ? { memory_limit: this.limits.queryMemory } : {});
    const conn = await connectUtc(inst);
    const out = format === 'parquet' ? join(this.dir, `.query-${randomUUID()}`) : undefined;
    try {
      const text = sql.trim().replace(/;\s*$/, '');
      const wrapped = `SELECT * FROM (${text}\n) AS cb_result LIMIT ${this.limits.maxRows + 1}`;
      let datasets: string[];
      try {
        const allowed = new Set(readable.keys());
        const refuse = this.pg ? refusedPgFunction : undefined;
        checkParsedQuery(await this.parse(conn, text), allowed, refuse);
        datasets = checkParsedQuery(await this.parse(conn, wrapped), allowed, refuse).tables;
      } catch (e) {
        if (!(e instanceof HubError)) throw e;
        const forbidden = !/does not parse|could not be parsed|one SELECT statement/.test(e.message);
        await this.store.appendAudit(this.audit(who, 'hub.query-refused', 'hub:query', null, { sql, reason: e.message }));
        throw new HttpError(forbidden ? 'CB_FORBIDDEN' : 'CB_INVALID_REQUEST', `query refused: ${e.message}`);
      }
      if (this.pg) return await this.queryPg(this.pg, who, sql, text, format, datasets, readable, t0);
      const files: string[] = [];
      for (const id of datasets) {
        const { dataset, access } = readable.get(id)!;
        const paths = dataset.batches.map((b) => join(this.dir, id, b.file));
        files.push(...paths);
        await conn.run(`CREATE VIEW ${ident(id)} AS ${this.viewSql(dataset, access, paths)}`);
      }
      if (out) await mkdir(out);
      await conn.run(`SET allowed_paths = [${files.map(literal).join(', ')}]`);
      if (out) await conn.run(`SET allowed_directories = [${literal(out + '/')}]`);
      await conn.run('SET enable_external_access = false');
      await conn.run('SET lock_configuration = true');
      const timer = setTimeout(() => conn.interrupt(), this.limits.queryMs);
      let result: QueryResult;
      try {
        if (out) {
          // parquet: the query runs once, into a temporary table, which gives the count and the file; its rows never
          // become JavaScript values
          await conn.run(`CREATE TEMP TABLE cb_out AS ${wrapped}`);
          const head = await conn.runAndReadAll('SELECT * FROM cb_out LIMIT 0');
          const columns = head.columnNames().map((name, i) => ({ name, type: head.columnTypes()[i].toString() }));
          const n = Number((await conn.runAndReadAll('SELECT count(*) FROM cb_out')).getRowsJson()[0][0]);
          const truncated = n > this.limits.maxRows;
          result = { columns, rowCount: Math.min(n, this.limits.maxRows), truncated, datasets, ms: 0 };
          const file = join(out, 'result.parquet');
          await conn.run(`COPY (SELECT * FROM cb_out LIMIT ${this.limits.maxRows}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
          result.parquet = await readFile(file);
        } else {
          const reader = await conn.runAndReadAll(wrapped);
          const columns = reader.columnNames().map((name, i) => ({ name, type: reader.columnTypes()[i].toString() }));
          let rows = reader.getRowsJson() as unknown[][];
          const truncated = rows.length > this.limits.maxRows;
          if (truncated) rows = rows.slice(0, this.limits.maxRows);
          result = { columns, rowCount: rows.length, truncated, datasets, ms: 0 };
          result.rows = rows;
        }
      } catch (e) {
        if (e instanceof HttpError) throw e;
        const msg = firstLine(e);
        await this.store.appendAudit(this.audit(who, 'hub.query-failed', 'hub:query', null, { sql, datasets, error: msg }));
        if (/interrupt/i.test(msg)) throw new HttpError('CB_QUERY_LIMIT', `the query ran past the ${this.limits.queryMs} ms limit and was interrupted`);
        throw new HttpError('CB_INVALID_REQUEST', `the query failed: ${msg}`);
      } finally {
        clearTimeout(timer);
      }
      result.ms = Math.round(performance.now() - t0);
      // every dataset read is in the audit log: who, the query, how many rows came back
      for (const id of datasets) {
        await this.store.appendAudit(this.audit(who, 'hub.read', `dataset:${id}`, null, { sql, rows: result.rowCount, truncated: result.truncated, format, exposure: exposureOf(readable.get(id)!.access) }));
      }
      return result;
    } finally {
      conn.closeSync();
      inst.closeSync();
      if (out) await rm(out, { recursive: true, force: true });
    }
  }

  /** A checked query on the PostgreSQL engine (pg-data.ts): the same result, limits, errors and audit as on DuckDB. */
  private async queryPg(pg: PgHubData, who: HubActor, sql: string, text: string, format: QueryFormat, datasets: string[], readable: Map<string, { dataset: Dataset; access: DatasetAccess }>, t0: number): Promise<QueryResult> {
    const views: PgQueryView[] = datasets.map((id) => {
      const { dataset, access } = readable.get(id)!;
      return { id, columns: access.columns, batches: dataset.batches.map((b) => b.id) };
    });
    let result: QueryResult;
    try {
      const r = await pg.query(this.key, views, text, this.limits);
      result = { columns: r.columns, rowCount: r.rows.length, truncated: r.truncated, datasets, ms: 0 };
      if (format === 'parquet') {
        const out = join(this.dir, `.query-${randomUUID()}`);
        await mkdir(out);
        try {
          const file = join(out, 'result.parquet');
          await PgHubData.parquetOf(this.duck(), r.columns, r.rows, file);
          result.parquet = await readFile(file);
        } finally {
          await rm(out, { recursive: true, force: true });
        }
      } else result.rows = r.rows;
    } catch (e) {
      const msg = e instanceof HubError ? e.message : firstLine(e);
      await this.store.appendAudit(this.audit(who, 'hub.query-failed', 'hub:query', null, { sql, datasets, error: msg }));
      const code = (e as { code?: string }).code;
      if (code === '57014') throw new HttpError('CB_QUERY_LIMIT', `the query ran past the ${this.limits.queryMs} ms limit and was cancelled`);
      if (code === '42501') throw new HttpError('CB_FORBIDDEN', `the query was refused by PostgreSQL: ${msg}`);
      throw new HttpError('CB_INVALID_REQUEST', `the query failed: ${msg}`);
    }
    result.ms = Math.round(performance.now() - t0);
    for (const id of datasets) {
      await this.store.appendAudit(this.audit(who, 'hub.read', `dataset:${id}`, null, { sql, rows: result.rowCount, truncated: result.truncated, format, exposure: exposureOf(readable.get(id)!.access), engine: 'postgres' }));
    }
    return result;
  }

  private async parse(conn: DuckDBConnection, sql: string): Promise<string> {
    const r = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS j', [sql]);
    return String(r.getRowObjectsJson()[0].j);
  }

  /** The caller's view of a dataset: masked columns computed inside the query, from the dataset's files only. */
  private viewSql(d: Dataset, access: DatasetAccess, paths: string[]): string {
    const cols = access.columns.map(({ column: c, exposure }) => {
      const col = ident(c.name);
      if (exposure === 'clear') return col;
      if (exposure === 'null') return `CAST(NULL AS ${DUCK_TYPES[c.type]}) AS ${col}`;
      // the keyed hash: HMAC-SHA256 of the value under the dataset's own key (equal values, equal hashes; NULL stays NULL), in SQL
      const [inner, outer] = hmacPads(this.key, d.id);
      return `sha256(unhex('${outer}') || unhex(sha256(unhex('${inner}') || encode(CAST(${col} AS VARCHAR))))) AS ${col}`;
    });
    if (paths.length === 0) return `SELECT ${access.columns.map(({ column: c }) => `CAST(NULL AS ${DUCK_TYPES[c.type]}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
    return `SELECT ${cols.join(', ')} FROM read_parquet([${paths.map(literal).join(', ')}])`;
  }

  /**
   * A dataset made by a query over others: the query runs as the caller (its
   * grants and masks), the result is the new dataset's first batch, and its
   * lineage records the inputs and the SQL. It is classified at least as
   * strictly as its strictest input.
   */
  async derive(who: HubActor, body: Record<string, unknown>): Promise<Dataset> {
    const sql = body.sql;
    if (typeof sql !== 'string' || sql.trim() === '') throw new HttpError('CB_INVALID_REQUEST', 'sql: the query the dataset is made from');
    const personal = Array.isArray(body.personal) ? (body.personal as unknown[]).map(String) : [];
    const { sql: _s, personal: _p, ...meta } = body;
    const r = await this.query(who, sql, 'parquet');
    if (r.truncated) throw new HttpError('CB_INVALID_REQUEST', `sql: the result is over the ${this.limits.maxRows}-row limit of a query; a derived dataset is the whole result`);
    const columns: Column[] = r.columns.map((c) => {
      const t = DUCK_TO_HUB.find(([re]) => re.test(c.type))?.[1];
      if (!t) throw new HttpError('CB_INVALID_REQUEST', `sql: result column "${c.name}" is of type ${c.type}, which a dataset cannot hold (${Object.keys(DUCK_TYPES).join(', ')})`);
      const col: Column = { name: c.name, type: t };
      if (personal.includes(c.name)) col.personal = true;
      return col;
    });
    const spec = hubCheck(() => checkDatasetSpec({ ...meta, columns }));
    this.checkOwner(who, spec.owner);
    const strictest = r.datasets.map((id) => this.datasets.get(id)!.classification).reduce((a, b) => (classificationRank(b) > classificationRank(a) ? b : a), CLASSIFICATIONS[0]);
    if (classificationRank(spec.classification) < classificationRank(strictest)) {
      throw new HttpError('CB_INVALID_REQUEST', `classification: a dataset derived from a ${strictest} one is classified ${CLASSIFICATIONS.slice(classificationRank(strictest)).join(' or ')}, not ${spec.classification}`);
    }
    const lineage = { inputs: r.datasets, sql, by: who.actor, at: this.now() };
    const d = await this.change(() => {
      if (this.datasets.has(spec.id)) throw new HttpError('CB_CONFLICT', `dataset "${spec.id}" is registered already`);
      const reg: Dataset = { ...spec, lineage, createdAt: this.now(), batches: [] };
      return { entry: this.audit(who, 'hub.register-dataset', `dataset:${reg.id}`, null, describe(reg)), set: { [KEY.dataset + reg.id]: reg }, apply: () => (this.datasets.set(reg.id, reg), reg) };
    });
    const batchId = batchName(this.now());
    await mkdir(join(this.dir, d.id), { recursive: true });
    const staging = join(this.dir, d.id, `.staging-${batchId}.parquet`);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(staging, r.parquet!);
    try {
      await this.commitBatch(who, d.id, staging, batchId, r.rowCount, 'query');
    } catch (e) {
      await rm(staging, { force: true });
      throw e;
    }
    return this.datasets.get(d.id)!;
  }

  /** The audit entries of a dataset (reads, writes, grants, refusals), newest first. */
  async accessLog(who: HubActor, id: string, limit = 100): Promise<unknown[]> {
    await this.require(who, id, 'admin', 'reading the access log');
    return this.store.queryAudit({ target: `dataset:${id}`, order: 'desc', limit });
  }

  // ------------------------------------------------------------ retention

  /** Deletes the batches loaded longer ago than their dataset's retention (audited); returns how many. */
  async applyRetention(): Promise<number> {
    let removed = 0;
    for (const d of [...this.datasets.values()]) {
      if (d.retentionDays === null) continue;
      const cutoff = this.now() - d.retentionDays * 86_400_000;
      const old = d.batches.filter((b) => b.at < cutoff);
      if (old.length === 0) continue;
      await this.change(() => {
        const cur = this.datasets.get(d.id)!;
        const next: Dataset = { ...cur, batches: cur.batches.filter((b) => b.at >= cutoff) };
        return {
          entry: { actor: 'citybrain server', role: 'system', action: 'hub.retention', target: `dataset:${d.id}`, before: { batches: cur.batches.length }, after: { removed: old.map((b) => b.id), retentionDays: d.retentionDays } },
          set: { [KEY.dataset + d.id]: next }, apply: () => void this.datasets.set(d.id, next),
        };
      });
      if (this.pg) await this.pg.deleteBatches(d.id, old.map((b) => b.id));
      else for (const b of old) await rm(join(this.dir, d.id, b.file), { force: true });
      removed += old.length;
    }
    return removed;
  }

  /** Files in the data folder no dataset lists (a load that never committed: a crash between rename and commit) are removed. */
  private async sweepStrayFiles(): Promise<void> {
    if (this.pg) for (const d of this.datasets.values()) await this.pg.sweep(d.id, d.batches.map((b) => b.id));
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const d = this.datasets.get(entry.name);
      if (entry.name.startsWith('.query-')) {
        await rm(join(this.dir, entry.name), { recursive: true, force: true });
        continue;
      }
      if (!d) continue;
      const listed = new Set(d.batches.map((b) => b.file));
      for (const f of await readdir(join(this.dir, entry.name))) if (!listed.has(f)) await rm(join(this.dir, entry.name, f), { force: true });
    }
  }

  /** A batch file's stream (the downloads of a later open-data catalogue read batches through here). */
  batchStream(datasetId: string, batch: Batch): NodeJS.ReadableStream {
    if (batch.stored === 'postgres') throw new Error(`batch ${batch.id} of "${datasetId}" is stored in PostgreSQL, not as a file: read it with openDownload`);
    return createReadStream(join(this.dir, datasetId, batch.file));
  }

  // ------------------------------------------------------------ feeds of the brain, open data

  /** Hears of every batch committed (a load, an append, a derived dataset's). */
  onBatch(fn: (dataset: string, batch: Batch) => void): void {
    this.batchListeners.push(fn);
  }

  /** Marks a dataset as a feed of the brain's twin of `kind` (its columns checked against the kind), or unmarks it (null). Its admins; audited. */
  async setFeed(who: HubActor, id: string, kind: FeedKind | null): Promise<Dataset> {
    const { dataset } = await this.require(who, id, 'admin', 'marking a feed');
    if (kind !== null) {
      if (!(FEED_KINDS as readonly string[]).includes(kind)) throw new HttpError('CB_INVALID_REQUEST', `kind must be one of ${FEED_KINDS.join(', ')} or null, got ${JSON.stringify(kind)}`);
      hubCheck(() => checkFeedColumns(kind, dataset.columns));
    }
    return this.change(() => {
      const cur = this.datasets.get(id)!;
      const next: Dataset = { ...cur };
      if (kind === null) delete next.feed;
      else next.feed = kind;
      return { entry: this.audit(who, 'hub.feed', `dataset:${id}`, { feed: cur.feed ?? null }, { feed: kind }), set: { [KEY.dataset + id]: next }, apply: () => (this.datasets.set(id, next), next) };
    });
  }

  /**
   * Every row of a dataset as objects (timestamps and dates as epoch ms), as
   * the server reads it for `reader` (the brain reading a feed): audited as a
   * read like any other, every column in clear (the server's own use).
   */
  async readRows(reader: HubActor, id: string): Promise<Record<string, string | number | boolean | null>[]> {
    const d = this.datasets.get(id);
    if (!d) throw new HttpError('CB_NOT_FOUND', `no dataset "${id}"`);
    if (d.batches.length === 0) return [];
    const src = await this.batchPaths(id, d.batches);
    const inst = await openDuck(this.limits.queryMemory ? { memory_limit: this.limits.queryMemory } : {});
    const conn = await connectUtc(inst);
    try {
      const cols = d.columns.map((c) => (c.type === 'timestamp' || c.type === 'date' ? `epoch_ms(CAST(${ident(c.name)} AS TIMESTAMP)) AS ${ident(c.name)}` : ident(c.name)));
      const r = await conn.runAndReadAll(`SELECT ${cols.join(', ')} FROM read_parquet([${src.paths.map(literal).join(', ')}])`);
      const rows = (r.getRowObjectsJson() as Record<string, unknown>[]).map((row) => {
        const o: Record<string, string | number | boolean | null> = {};
        for (const c of d.columns) {
          const v = row[c.name];
          o[c.name] = v === null || v === undefined ? null : c.type === 'timestamp' || c.type === 'date' || c.type === 'integer' || c.type === 'double' ? Number(v) : (v as string | boolean);
        }
        return o;
      });
      await this.store.appendAudit(this.audit(reader, 'hub.read', `dataset:${id}`, null, { rows: rows.length, purpose: 'feed of the brain\'s twin' }));
      return rows;
    } finally {
      conn.closeSync();
      inst.closeSync();
      await src.done();
    }
  }

  /** The datasets classified public: the open catalogue's. */
  publicDatasets(): Dataset[] {
    return [...this.datasets.values()].filter((d) => d.classification === 'public');
  }

  /** A public dataset's time extent: its first timestamp or date column's min and max (epoch ms), undefined when it has none or no rows. */
  async timeExtent(id: string): Promise<{ start: number; end: number } | undefined> {
    const d = this.datasets.get(id);
    const col = d?.columns.find((c) => c.type === 'timestamp' || c.type === 'date');
    if (!d || !col || d.batches.length === 0) return undefined;
    const src = await this.batchPaths(id, d.batches);
    const inst = await openDuck();
    const conn = await connectUtc(inst);
    try {
      const c = `CAST(${ident(col.name)} AS TIMESTAMP)`;
      const r = await conn.runAndReadAll(`SELECT epoch_ms(min(${c})) AS s, epoch_ms(max(${c})) AS e FROM read_parquet([${src.paths.map(literal).join(', ')}])`);
      const row = r.getRowObjectsJson()[0] as { s: string | null; e: string | null };
      return row.s === null || row.e === null ? undefined : { start: Number(row.s), end: Number(row.e) };
    } finally {
      conn.closeSync();
      inst.closeSync();
      await src.done();
    }
  }

  /**
   * A public dataset, whole, as CSV or Parquet, for anyone (no token): a 404
   * for a dataset that is not public (as for none: what is not public is not
   * said to exist). Audited as an anonymous read. Written to a temporary file
   * the caller streams and then removes (`done`).
   */
  async openDownload(who: HubActor, id: string, format: 'csv' | 'parquet'): Promise<{ file: string; rows: number; done: () => Promise<void> }> {
    const d = this.datasets.get(id);
    if (!d || d.classification !== 'public') throw new HttpError('CB_NOT_FOUND', `no public dataset "${id}"`);
    const out = join(this.dir, `.query-${randomUUID()}`);
    await mkdir(out);
    const file = join(out, `${id}.${format}`);
    let inst: DuckDBInstance | undefined;
    let conn: DuckDBConnection | undefined;
    let src: { paths: string[]; done: () => Promise<void> } | undefined;
    try {
      src = await this.batchPaths(id, d.batches);
      const paths = src.paths;
      inst = await openDuck();
      conn = await connectUtc(inst);
      const select = paths.length === 0
        ? `SELECT ${d.columns.map((c) => `CAST(NULL AS ${DUCK_TYPES[c.type]}) AS ${ident(c.name)}`).join(', ')} WHERE false`
        : `SELECT ${d.columns.map((c) => ident(c.name)).join(', ')} FROM read_parquet([${paths.map(literal).join(', ')}])`;
      await conn.run(`COPY (${select}) TO ${literal(file)} (${format === 'csv' ? 'FORMAT csv, HEADER true' : 'FORMAT parquet, COMPRESSION zstd'})`);
      const rows = d.batches.reduce((n, b) => n + b.rows, 0);
      await this.store.appendAudit(this.audit(who, 'hub.read', `dataset:${id}`, null, { download: format, rows, open: true }));
      return { file, rows, done: () => rm(out, { recursive: true, force: true }) };
    } catch (e) {
      await rm(out, { recursive: true, force: true });
      throw e;
    } finally {
      conn?.closeSync();
      inst?.closeSync();
      await src?.done();
    }
  }

  // ------------------------------------------------------------ helpers

  private duck(): DuckDBInstance {
    if (!this.writer) throw new Error('hub writer not started');
    return this.writer;
  }

  private audit(who: HubActor, action: string, target: string, before: unknown, after: unknown): AuditInput {
    return { actor: who.actor, role: who.auditRole ?? (who.department ? `${who.role}@${who.department}` : who.role), action, target, before, after, at: this.now() };
  }

  /** A metadata change: planned with the lock held, written with its audit entry, then applied in memory. */
  private change<R>(plan: () => { entry: AuditInput; set: Record<string, unknown>; apply: () => R }): Promise<R> {
    const run = this.last.then(async () => {
      const p = plan();
      await this.store.recordAction(p.entry, { t: 'state', set: p.set });
      return p.apply();
    });
    this.last = run.catch(() => {});
    return run;
  }
}

function batchName(at: number): string {
  return `${new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 8)}`;
}

function describe(d: Dataset): unknown {
  const { batches: _b, ...rest } = d;
  return rest;
}

function exposureOf(a: DatasetAccess): Record<string, string> {
  return Object.fromEntries(a.columns.filter((c) => c.exposure !== 'clear').map((c) => [c.column.name, c.exposure]));
}

/** A model check's HubError as the 400 naming the field. */
function hubCheck<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HubError) throw new HttpError('CB_INVALID_REQUEST', e.message);
    throw e;
  }
}

/** A load's HubError (a bad row) as CB_INVALID_DATA. */
async function hubCheckAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof HubError) throw new HttpError('CB_INVALID_DATA', `${e.message}; nothing of this load is kept`);
    throw e;
  }
}

/**
 * HMAC-SHA256 spelled out for DuckDB (it has sha256 but no hmac): the dataset's key, HMAC(hub key, dataset id), padded
 * to SHA-256's 64-byte block and XORed with ipad and opad, as hex; HMAC(k, m) = sha256(k^opad || sha256(k^ipad || m)).
 * A key per dataset: a value's hash in one dataset cannot be joined with the same value's in another.
 */
export function hmacPads(hubKey: string, dataset: string): [inner: string, outer: string] {
  const k = Buffer.alloc(64);
  createHmac('sha256', hubKey).update(dataset).digest().copy(k);
  const xor = (b: number) => Buffer.from(k.map((x) => x ^ b)).toString('hex');
  return [xor(0x36), xor(0x5c)];
}

/** The first record of a CSV file (its header) when it is the file's first line, or undefined (the first 1 MiB holds no complete record, or blank lines come first). */
async function csvHeader(file: string): Promise<string[] | undefined> {
  const { open } = await import('node:fs/promises');
  const f = await open(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const { bytesRead } = await f.read(buf, 0, buf.length, 0);
    const reader = new CsvReader();
    try {
      const text = new StringDecoder('utf8').write(buf.subarray(0, bytesRead));
      const records = reader.push(text);
      const first = records[0] ?? (bytesRead < buf.length ? reader.end()[0] : undefined);
      // DuckDB takes the first line as the header: one after blank lines is left to rows.ts
      return first && first.line === 1 ? first.fields : undefined;
    } catch {
      return undefined;
    }
  } finally {
    await f.close();
  }
}
