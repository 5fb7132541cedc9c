/**
 * The hub's DuckDB: Parquet written from checked rows, an uploaded Parquet
 * file checked against a schema, and each query's own locked-down instance.
 *
 * No extension is ever downloaded or loaded at run time
 * (autoinstall/autoload_known_extensions false): @duckdb/node-api links
 * parquet, json, icu and core_functions statically (duckdb_extensions()
 * reports them STATICALLY_LINKED), which is all the hub uses.
 */
import { DuckDBDateValue, DuckDBInstance, DuckDBTimestampTZValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { rm } from 'node:fs/promises';
import { HubError, type Column, type ColumnType, type HubValue } from '@citybrain/brain';

export const DUCK_TYPES: Record<ColumnType, string> = {
  string: 'VARCHAR', integer: 'BIGINT', double: 'DOUBLE', boolean: 'BOOLEAN', timestamp: 'TIMESTAMPTZ', date: 'DATE',
};

/** Settings every hub DuckDB instance starts with: nothing fetched or loaded at run time, times in UTC. */
export const DUCK_CONFIG = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' } as const;

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A connection whose times are UTC (TIMESTAMPTZ values print and cast in UTC). */
export async function connectUtc(instance: DuckDBInstance): Promise<DuckDBConnection> {
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return conn;
}

export function openDuck(extra: Record<string, string> = {}): Promise<DuckDBInstance> {
  return DuckDBInstance.create(':memory:', { ...DUCK_CONFIG, ...extra });
}

/** A staging table of `columns` filled through an appender, then copied to a Parquet file. */
export class ParquetWriter {
  rows = 0;
  private constructor(private readonly conn: DuckDBConnection, private readonly table: string, private readonly appender: DuckDBAppender, private readonly types: ColumnType[]) {}

  static async open(instance: DuckDBInstance, columns: readonly Column[], table: string): Promise<ParquetWriter> {
    const conn = await connectUtc(instance);
    await conn.run(`CREATE TEMP TABLE ${ident(table)} (${columns.map((c) => `${ident(c.name)} ${DUCK_TYPES[c.type]}`).join(', ')})`);
    const appender = await conn.createAppender(table, 'main', 'temp');
    return new ParquetWriter(conn, table, appender, columns.map((c) => c.type));
  }

  append(rows: readonly HubValue[][]): void {
    const a = this.appender;
    for (const row of rows) {
      for (let i = 0; i < row.length; i++) {
        const v = row[i];
        if (v === null) {
          a.appendNull();
          continue;
        }
        switch (this.types[i]) {
          case 'string': a.appendVarchar(v as string); break;
          case 'integer': a.appendBigInt(BigInt(v as number)); break;
          case 'double': a.appendDouble(v as number); break;
          case 'boolean': a.appendBoolean(v as boolean); break;
          case 'timestamp': a.appendTimestampTZ(new DuckDBTimestampTZValue(v as bigint)); break;
          case 'date': a.appendDate(new DuckDBDateValue(v as number)); break;
        }
      }
      a.endRow();
    }
    this.rows += rows.length;
  }

  /** Writes the rows to `file` (zstd Parquet) and drops the staging table. */
  async finish(file: string): Promise<void> {
    this.appender.closeSync();
    await this.conn.run(`COPY ${ident(this.table)} TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
    await this.abort();
  }

  async abort(): Promise<void> {
    try {
      this.appender.closeSync();
    } catch {
      // already closed
    }
    await this.conn.run(`DROP TABLE IF EXISTS temp.${ident(this.table)}`).catch(() => {});
    this.conn.closeSync();
  }
}

/**
 * An uploaded Parquet file checked against the schema and rewritten as the
 * hub stores it (its columns in the schema's order and types): a column
 * missing, one the schema lacks, a value that does not convert or a null in a
 * required column is a HubError naming the row (1-based) and field.
 */
export async function convertParquet(instance: DuckDBInstance, columns: readonly Column[], upload: string, out: string): Promise<number> {
  const conn = await connectUtc(instance);
  try {
    const src = `read_parquet(${literal(upload)}, file_row_number = true)`;
    let described;
    try {
      described = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${literal(upload)})`)).getRowObjectsJson();
    } catch (e) {
      throw new HubError(`the upload is not a readable Parquet file: ${firstLine(e)}`);
    }
    const have = new Map(described.map((r) => [String(r.column_name), String(r.column_type).replace(/^TIMESTAMP WITH TIME ZONE$/, 'TIMESTAMPTZ')]));
    for (const name of have.keys()) if (!columns.some((c) => c.name === name)) throw new HubError(`field "${name}": the Parquet file has this column, the dataset's schema does not`);
    for (const c of columns) if (!have.has(c.name)) throw new HubError(`field "${c.name}": the Parquet file lacks this column`);
    // one pass: every value converted as it is copied; a bad one fails the copy, and only then is the file searched for the first bad row
    const select = columns.map((c) => {
      const col = ident(c.name);
      // a column of the very type the hub stores needs no conversion, only its nulls checked
      const same = have.get(c.name) === DUCK_TYPES[c.type];
      const cast = same ? col : castFrom(c, have.get(c.name)!);
      const bad = [...(same ? [] : [`(${col} IS NOT NULL AND ${cast} IS NULL)`]), ...(c.nullable === false ? [`${col} IS NULL`] : [])];
      if (bad.length === 0) return `${cast} AS ${col}`;
      return `CASE WHEN ${bad.join(' OR ')} THEN error('citybrain-parquet: bad value') ELSE ${cast} END AS ${col}`;
    }).join(', ');
    try {
      return await copyCount(conn, `SELECT ${select} FROM read_parquet(${literal(upload)})`, out);
    } catch (e) {
      if (!/citybrain-parquet: bad value/.test(firstLine(e))) throw e;
    }
    for (const c of columns) {
      const col = ident(c.name);
      const cast = castFrom(c, have.get(c.name)!);
      const bad = (await conn.runAndReadAll(
        `SELECT file_row_number AS n, CAST(${col} AS VARCHAR) AS v FROM ${src} WHERE (${col} IS NOT NULL AND ${cast} IS NULL)${c.nullable === false ? ` OR ${col} IS NULL` : ''} ORDER BY file_row_number LIMIT 1`,
      )).getRowObjectsJson()[0];
      if (bad) {
        const row = Number(bad.n) + 1;
        if (bad.v === null) throw new HubError(`row ${row}, field "${c.name}": is required (the column is not nullable) but is null`);
        throw new HubError(`row ${row}, field "${c.name}": ${JSON.stringify(bad.v)} (Parquet ${have.get(c.name)}) is not a ${c.type}`);
      }
    }
    throw new HubError('the Parquet file has a value that does not convert, but no row of it was found again');
  } finally {
    conn.closeSync();
  }
}

/** `COPY (select) TO out` as zstd Parquet; the rows written. */
export async function copyCount(conn: DuckDBConnection, select: string, out: string): Promise<number> {
  const r = await conn.runAndReadAll(`COPY (${select}) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)`);
  return Number(r.getRowsJson()[0]?.[0] ?? 0);
}

/**
 * The fast load of a CSV file: DuckDB reads it and converts every value in
 * SQL (`csvFastSelect` of brain/src/hub/rows-sql.ts)
 * straight into the staging Parquet file. Returns the rows written, or
 * undefined when the SQL gave up (a bad value, or a spelling only rows.ts
 * reads): then `out` is removed and the caller runs the file through rows.ts,
 * which names the bad line and field or loads what the SQL left to it.
 */
export async function fastLoad(instance: DuckDBInstance, select: string, out: string): Promise<number | undefined> {
  const conn = await connectUtc(instance);
  try {
    return await copyCount(conn, select, out);
  } catch {
    await rm(out, { force: true });
    return undefined;
  } finally {
    conn.closeSync();
  }
}

function castFrom(c: Column, from: string): string {
  const col = ident(c.name);
  // a DuckDB cast from text is laxer than the hub's CSV rules only in spellings; types Parquet carries convert as DuckDB converts them
  if (c.type === 'timestamp' && /^TIMESTAMP$|^TIMESTAMP_(MS|NS|S)$/i.test(from)) return `TRY_CAST(timezone('UTC', ${col}) AS TIMESTAMPTZ)`;
  if (c.type === 'integer' && /^(DOUBLE|FLOAT|DECIMAL)/i.test(from)) return `CASE WHEN ${col} = trunc(${col}) THEN TRY_CAST(${col} AS BIGINT) END`;
  return `TRY_CAST(${col} AS ${DUCK_TYPES[c.type]})`;
}

export function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
