/**
 * The hub's rows in PostgreSQL (the hub's `engine: 'postgres'`, for a server
 * whose store is PostgreSQL): each dataset's rows in a table of the store's
 * schema (`hub_data_<id>`: the typed columns and the batch they came in), and
 * each query run there, in one transaction that is always rolled back.
 *
 * Parquet stays the interchange format: a load is checked and written to a
 * staging Parquet file by DuckDB exactly as on the default engine, then copied
 * into the table in one transaction (batched INSERTs); a batch is read back as
 * a Parquet file when a path needs one (a download, a feed, a rollup).
 *
 * A query: checked first with DuckDB's parser as on the default engine (one
 * SELECT, bare dataset names) plus `refusedPgFunction`; then, in one
 * transaction: a schema of its own holding one view per dataset it reads
 * (the caller's masks inside the view, only the committed batches' rows),
 * `SET LOCAL ROLE` to a NOLOGIN reader role that may use only that schema
 * (views read with their owner's rights), `search_path` that schema then
 * pg_catalog, `statement_timeout` the time limit, a row limit, and ROLLBACK.
 */
import pg from 'pg';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { DuckDBInstance } from '@duckdb/node-api';
import { HubError, type Column, type ColumnType, type HubValue } from '@citybrain/brain';
import { connectUtc, DUCK_TYPES, ident, literal, ParquetWriter } from './duck.js';

export const PG_TYPES: Record<ColumnType, string> = {
  string: 'text', integer: 'int8', double: 'float8', boolean: 'boolean', timestamp: 'timestamptz', date: 'date',
};

/** The reader role every hub query runs as: NOLOGIN, holding rights only inside a query's transaction (granted there, rolled back with it). */
export const PG_READER_ROLE = 'citybrain_hub_reader';

/** The batch column of a data table (a dataset's column names start with a letter: no clash). */
const BATCH = '_cb_batch';

/** Every value as PostgreSQL's text (the hub converts it by the column's type). */
const RAW_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

/**
 * Functions a hub query may not call on PostgreSQL, whatever the role: those
 * that change the session's role or settings (set_config: `role` is checked
 * against the session user, not the reader), run SQL given as text
 * (query_to_xml and its kin, ts_stat), reach files, large objects, other
 * servers or backends (pg_*, lo_*, dblink*), or sequences. Returns why, or undefined.
 */
export function refusedPgFunction(name: string): string | undefined {
  const n = name.toLowerCase();
  if (n === 'set_config' || n === 'current_setting') return 'it reads or changes the session\'s settings';
  if (/_to_xml|^ts_stat$|^ts_rewrite$|^query_to_/.test(n)) return 'it runs SQL given as text';
  if (/^pg_/.test(n)) return 'server administration, file and catalogue functions (pg_*) are refused';
  if (/^(lo_|loread$|lowrite$)/.test(n)) return 'large objects are refused';
  if (/^dblink/.test(n)) return 'connections to other databases are refused';
  if (/^(nextval|setval|currval|lastval)$/.test(n)) return 'sequences are refused';
  return undefined;
}

/** The table of a dataset's rows (an id too long for a PostgreSQL name is shortened with a hash of it). */
export function dataTable(id: string): string {
  return id.length <= 54 ? `hub_data_${id}` : `hub_data_${id.slice(0, 45)}_${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}

/** The dataset's key of the keyed hash: HMAC(hub key, dataset) (hmacPads pads this same key). */
export function datasetHashKey(hubKey: string, dataset: string): Buffer {
  return createHmac('sha256', hubKey).update(dataset).digest();
}

const PG_OID_TYPES: Record<number, string> = {
  20: 'BIGINT', 21: 'SMALLINT', 23: 'INTEGER', 700: 'FLOAT', 701: 'DOUBLE', 1700: 'DECIMAL', 25: 'VARCHAR', 1043: 'VARCHAR', 1042: 'VARCHAR', 19: 'VARCHAR',
  16: 'BOOLEAN', 1184: 'TIMESTAMP WITH TIME ZONE', 1114: 'TIMESTAMP', 1082: 'DATE',
};
/** How a result column of each type becomes Parquet (DuckDB casts PostgreSQL's text of the value) */
const PARQUET_CAST: Record<string, string> = {
  BIGINT: 'BIGINT', SMALLINT: 'SMALLINT', INTEGER: 'INTEGER', FLOAT: 'FLOAT', DOUBLE: 'DOUBLE', DECIMAL: 'DOUBLE', VARCHAR: 'VARCHAR', BOOLEAN: 'BOOLEAN',
  'TIMESTAMP WITH TIME ZONE': 'TIMESTAMPTZ', TIMESTAMP: 'TIMESTAMP', DATE: 'DATE',
};

export interface PgQueryView {
  id: string;
  columns: { column: Column; exposure: 'clear' | 'null' | 'hash' }[];
  batches: string[];
}

export interface PgQueryOutcome {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
}

export class PgHubData {
  private constructor(private readonly pool: pg.Pool, readonly schema: string, private readonly hashFn: string | undefined) {}

  /** Over the store's pool and schema: the reader role made (once), pgcrypto's hmac() found or installed when the server allows it. */
  static async open(pool: pg.Pool, schema: string, opts: { pgcrypto?: boolean } = {}): Promise<PgHubData> {
    const c = await pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', ['citybrain:hub-reader-role']);
      try {
        const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [PG_READER_ROLE]);
        if (exists.rowCount === 0) await c.query(`CREATE ROLE ${PG_READER_ROLE} NOLOGIN NOINHERIT`);
        const member = await c.query<{ m: boolean }>(`SELECT pg_has_role(current_user, $1, 'MEMBER') AS m`, [PG_READER_ROLE]);
        if (!member.rows[0].m) await c.query(`GRANT ${PG_READER_ROLE} TO CURRENT_USER`);
      } catch (e) {
        throw new Error(`the hub's postgres engine runs queries as the role ${PG_READER_ROLE}, which it could not make or join (${(e as Error).message}): give the store's user CREATEROLE, or run as an administrator: CREATE ROLE ${PG_READER_ROLE} NOLOGIN NOINHERIT; GRANT ${PG_READER_ROLE} TO <the store's user>`);
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', ['citybrain:hub-reader-role']);
      }
      let hashFn: string | undefined;
      if (opts.pgcrypto !== false) {
        try {
          await c.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
        } catch {
          // not allowed here: the hash is spelled with the built-in sha256() (the same bytes)
        }
        const ext = await c.query<{ ns: string }>("SELECT quote_ident(extnamespace::regnamespace::text) AS ns FROM pg_extension WHERE extname = 'pgcrypto'");
        if (ext.rows[0]) hashFn = `${ext.rows[0].ns}.hmac`;
      }
      return new PgHubData(pool, schema, hashFn);
    } finally {
      c.release();
    }
  }

  /** 'pgcrypto hmac()' or 'sha256()': how the keyed hash is computed here */
  get hashBy(): string {
    return this.hashFn ? 'pgcrypto hmac()' : 'built-in sha256()';
  }

  private table(id: string): string {
    return `${ident(this.schema)}.${ident(dataTable(id))}`;
  }

  /**
   * A staging Parquet file's rows copied into the dataset's table as batch
   * `batch`, in one transaction (a failure anywhere leaves no row). The rows copied.
   */
  async importParquet(duck: DuckDBInstance, id: string, columns: readonly Column[], batch: string, file: string): Promise<number> {
    const conn = await connectUtc(duck);
    const c = await this.pool.connect();
    let n = 0;
    try {
      await c.query('BEGIN');
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.table(id)} (${BATCH} text NOT NULL, ${columns.map((col) => `${ident(col.name)} ${PG_TYPES[col.type]}${col.nullable === false ? ' NOT NULL' : ''}`).join(', ')})`);
      await c.query(`CREATE INDEX IF NOT EXISTS ${ident(`${dataTable(id)}_batch`)} ON ${this.table(id)} (${BATCH})`);
      const insert = `INSERT INTO ${this.table(id)} (${BATCH}, ${columns.map((col) => ident(col.name)).join(', ')}) SELECT $1, ${columns.map((col, i) => `c${i}::${PG_TYPES[col.type]}`).join(', ')} FROM unnest(${columns.map((_, i) => `$${i + 2}::text[]`).join(', ')}) AS u(${columns.map((_, i) => `c${i}`).join(', ')})`;
      const result = await conn.stream(`SELECT ${columns.map((col) => `CAST(${ident(col.name)} AS VARCHAR)`).join(', ')} FROM read_parquet(${literal(file)})`);
      const pending: (string | null)[][] = columns.map(() => []);
      let size = 0;
      const flush = async () => {
        if (size === 0) return;
        await c.query(insert, [batch, ...pending]);
        n += size;
        size = 0;
        for (const p of pending) p.length = 0;
      };
      for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
        const cols = chunk.getColumns();
        for (let i = 0; i < cols.length; i++) for (const v of cols[i]) pending[i].push(v === null ? null : String(v));
        size += chunk.rowCount;
        if (size >= 20_000) await flush();
      }
      await flush();
      await c.query('COMMIT');
      return n;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
      conn.closeSync();
    }
  }

  /** Deletes these batches' rows (a batch that did not commit, or one past retention). */
  async deleteBatches(id: string, batches: readonly string[]): Promise<number> {
    if (batches.length === 0 || !(await this.hasTable(id))) return 0;
    return (await this.pool.query(`DELETE FROM ${this.table(id)} WHERE ${BATCH} = ANY($1::text[])`, [batches])).rowCount ?? 0;
  }

  /** Deletes the rows of batches no state row lists (a load that never committed: a crash between its copy and its commit). */
  async sweep(id: string, listed: readonly string[]): Promise<number> {
    if (!(await this.hasTable(id))) return 0;
    return (await this.pool.query(`DELETE FROM ${this.table(id)} WHERE NOT (${BATCH} = ANY($1::text[]))`, [listed])).rowCount ?? 0;
  }

  /** The rows of a dataset's table (every batch, listed or not): tests and checks. */
  async countRows(id: string): Promise<number> {
    if (!(await this.hasTable(id))) return 0;
    return Number((await this.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${this.table(id)}`)).rows[0].n);
  }

  private async hasTable(id: string): Promise<boolean> {
    return (await this.pool.query('SELECT to_regclass($1) IS NOT NULL AS t', [`${ident(this.schema)}.${ident(dataTable(id))}`])).rows[0].t as boolean;
  }

  /** These batches' rows written as a Parquet file `file` (the dataset's columns and types), read through a cursor. */
  async exportParquet(duck: DuckDBInstance, id: string, columns: readonly Column[], batches: readonly string[], file: string): Promise<number> {
    const w = await ParquetWriter.open(duck, columns, `export_${randomUUID().replace(/-/g, '')}`);
    const c = await this.pool.connect();
    try {
      if (batches.length > 0 && (await this.hasTable(id))) {
        await c.query('BEGIN');
        const sel = columns.map((col) => {
          const x = ident(col.name);
          if (col.type === 'timestamp') return `(extract(epoch FROM ${x}) * 1000000)::int8::text`;
          if (col.type === 'date') return `(${x} - DATE '1970-01-01')::text`;
          return `${x}::text`;
        });
        await c.query({ text: `DECLARE cb_export NO SCROLL CURSOR FOR SELECT ${sel.join(', ')} FROM ${this.table(id)} WHERE ${BATCH} = ANY($1::text[])`, values: [batches] });
        for (;;) {
          const r = await c.query<string[]>({ text: 'FETCH 10000 FROM cb_export', rowMode: 'array', types: RAW_TYPES });
          if (r.rows.length === 0) break;
          w.append(r.rows.map((row) => row.map((v, i) => (v === null ? null : fromText(columns[i].type, v)))));
        }
        await c.query('COMMIT');
      }
      await w.finish(file);
      return w.rows;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      await w.abort();
      throw e;
    } finally {
      c.release();
    }
  }

  /**
   * Runs a checked query in one transaction that is rolled back: its own
   * schema of views (masks inside), the reader role, the search path, the
   * time limit, `maxRows` (+1 to see a truncation).
   */
  async query(hubKey: string, views: readonly PgQueryView[], sql: string, limits: { queryMs: number; maxRows: number }): Promise<PgQueryOutcome> {
    const c = await this.pool.connect();
    const qs = `hub_q_${randomUUID().replace(/-/g, '')}`;
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL TimeZone = 'UTC'`);
      await c.query(`CREATE SCHEMA ${ident(qs)}`);
      // the datasets' hash keys in a table the views read with their owner's rights and the reader may not (no key in a view's text)
      await c.query(`CREATE TABLE ${ident(qs)}._cb_keys (dataset text PRIMARY KEY, k bytea NOT NULL, ipad bytea NOT NULL, opad bytea NOT NULL)`);
      for (const v of views) {
        if (!v.columns.some((x) => x.exposure === 'hash')) continue;
        const k = datasetHashKey(hubKey, v.id);
        const padded = Buffer.alloc(64);
        k.copy(padded);
        await c.query(`INSERT INTO ${ident(qs)}._cb_keys VALUES ($1, $2, $3, $4)`, [v.id, k, Buffer.from(padded.map((x) => x ^ 0x36)), Buffer.from(padded.map((x) => x ^ 0x5c))]);
      }
      for (const v of views) await c.query(`CREATE VIEW ${ident(qs)}.${ident(v.id)} AS ${await this.viewSql(qs, v)}`);
      await c.query(`GRANT USAGE ON SCHEMA ${ident(qs)} TO ${PG_READER_ROLE}`);
      for (const v of views) await c.query(`GRANT SELECT ON ${ident(qs)}.${ident(v.id)} TO ${PG_READER_ROLE}`);
      await c.query(`SET LOCAL search_path = ${ident(qs)}, pg_catalog`);
      await c.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(limits.queryMs))}`);
      await c.query(`SET LOCAL ROLE ${PG_READER_ROLE}`);
      const r = await c.query<unknown[]>({ text: `SELECT * FROM (${sql}\n) AS cb_result LIMIT ${limits.maxRows + 1}`, rowMode: 'array', types: RAW_TYPES });
      const columns = r.fields.map((f) => ({ name: f.name, type: PG_OID_TYPES[f.dataTypeID] ?? `PostgreSQL type ${f.dataTypeID}` }));
      let rows = r.rows.map((row) => row.map((v, i) => jsonOf(columns[i].type, v as string | null)));
      const truncated = rows.length > limits.maxRows;
      if (truncated) rows = rows.slice(0, limits.maxRows);
      return { columns, rows, truncated };
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      c.release();
    }
  }

  private async viewSql(qs: string, v: PgQueryView): Promise<string> {
    if (v.batches.length === 0 || !(await this.hasTable(v.id))) {
      return `SELECT ${v.columns.map(({ column: c }) => `CAST(NULL AS ${PG_TYPES[c.type]}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
    }
    const key = (col: string) => `(SELECT ${col} FROM ${ident(qs)}._cb_keys WHERE dataset = ${literal(v.id)})`;
    const cols = v.columns.map(({ column: c, exposure }) => {
      const col = ident(c.name);
      if (exposure === 'clear') return col;
      if (exposure === 'null') return `CAST(NULL AS ${PG_TYPES[c.type]}) AS ${col}`;
      // the keyed hash, as hex: the same bytes as the DuckDB engine's (HMAC-SHA256 of the value's text under the dataset's key)
      const text = `convert_to(${col}::text, 'UTF8')`;
      if (this.hashFn) return `encode(${this.hashFn}(${text}, ${key('k')}, 'sha256'), 'hex') AS ${col}`;
      return `encode(sha256(${key('opad')} || sha256(${key('ipad')} || ${text})), 'hex') AS ${col}`;
    });
    const list = v.batches.map(literal).join(', ');
    return `SELECT ${cols.join(', ')} FROM ${this.table(v.id)} WHERE ${BATCH} IN (${list})`;
  }

  /**
   * A query's rows as a Parquet file, through DuckDB: each column cast from
   * PostgreSQL's text of its values; a column of a type Parquet is not made
   * from here is refused, naming it.
   */
  static async parquetOf(duck: DuckDBInstance, columns: readonly { name: string; type: string }[], rows: readonly unknown[][], file: string): Promise<void> {
    for (const c of columns) {
      if (!PARQUET_CAST[c.type]) throw new HubError(`result column "${c.name}" is of ${c.type}, which the PostgreSQL engine does not write as Parquet (json or csv give it as text)`);
    }
    const conn = await connectUtc(duck);
    const table = `result_${randomUUID().replace(/-/g, '')}`;
    try {
      await conn.run(`CREATE TEMP TABLE ${table} (${columns.map((_, i) => `c${i} VARCHAR`).join(', ')})`);
      const a = await conn.createAppender(table, 'main', 'temp');
      for (const row of rows) {
        for (const v of row) {
          if (v === null) a.appendNull();
          else a.appendVarchar(typeof v === 'string' ? v : JSON.stringify(v));
        }
        a.endRow();
      }
      a.closeSync();
      const sel = columns.map((c, i) => `CAST(c${i} AS ${PARQUET_CAST[c.type]}) AS ${ident(c.name)}`).join(', ');
      await conn.run(`COPY (SELECT ${sel} FROM temp.${table}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
    } finally {
      await conn.run(`DROP TABLE IF EXISTS temp.${table}`).catch(() => {});
      conn.closeSync();
    }
  }
}

/** A value's text from PostgreSQL as the JSON the DuckDB engine gives (BIGINT, DECIMAL and times as strings). */
function jsonOf(type: string, v: string | null): unknown {
  if (v === null) return null;
  switch (type) {
    case 'SMALLINT': case 'INTEGER': return Number(v);
    case 'FLOAT': case 'DOUBLE': return /^-?(Infinity|NaN)$/.test(v) ? v : Number(v);
    case 'BOOLEAN': return v === 't';
    default: return v;
  }
}

/** A value of the export's SELECT (text) as the ParquetWriter takes it. */
function fromText(type: ColumnType, v: string): HubValue {
  switch (type) {
    case 'string': return v;
    case 'integer': return BigInt(v) as unknown as number;
    case 'double': return Number(v);
    case 'boolean': return v === 't';
    case 'timestamp': return BigInt(v);
    case 'date': return Number(v);
  }
}

export { DUCK_TYPES };
