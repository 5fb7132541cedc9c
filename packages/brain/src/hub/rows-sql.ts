/**
 * The fast load path's SQL: a CSV file read by DuckDB and each value checked
 * and converted in SQL, as `rows.ts` checks and converts it in JavaScript.
 * (JSON Lines stay with `rows.ts`: DuckDB's per-value JSON functions measured
 * slower than JSON.parse and the checks, 110,000 against 144,000 rows/s.) Pure (it only writes SQL text); the server runs it.
 *
 * The rules stay those of `rows.ts` (`convertValue`, `checkObject`): the SQL
 * here accepts a subset of what they accept (the plain spellings: no
 * surrounding spaces, `Infinity`, lower-case `t`/`z` in times, offsets
 * without a colon, ...) and converts it to
 * the same value; any other value makes the query fail with `error()`, and
 * the server then runs the file through `rows.ts`, which either accepts it
 * (the rarer spellings) or names the bad line and field. So a fast load
 * never keeps a row the checks would refuse, and a refused one is named by
 * the same message as before. `rows-sql.test.ts` runs both over the same values.
 */
import type { Column, ColumnType } from './model.js';

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const DUCK: Record<ColumnType, string> = { string: 'VARCHAR', integer: 'BIGINT', double: 'DOUBLE', boolean: 'BOOLEAN', timestamp: 'TIMESTAMPTZ', date: 'DATE' };

/** What makes a fast load give up (the message is never shown: the file then goes through `rows.ts`). */
export const FAST_LOAD_GIVES_UP = 'citybrain-fast-load: not a plain value';
const GIVE_UP = `error(${literal(FAST_LOAD_GIVES_UP)})`;

const MAX_SAFE = '9007199254740991';
const INTEGER = '[+-]?[0-9]{1,16}';
const DOUBLE = '[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{1,3})?';
// a year 0000-0099 is refused by rows.ts (Date.UTC reads it as 19xx): left to it
const DATE = '(0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2}';
const TIMESTAMP = `${DATE}[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})`;

/**
 * A text value `s` (SQL expression, NULL when empty) of a column's type: the
 * converted value, or the query fails. NULL stays NULL here (nullability is
 * checked by the caller).
 */
function fromText(type: ColumnType, s: string): string {
  const m = (re: string) => `regexp_full_match(${s}, ${literal(re)})`;
  switch (type) {
    case 'string': return `CASE WHEN NOT contains(${s}, chr(0)) THEN ${s} ELSE ${GIVE_UP} END`;
    case 'integer': return `CASE WHEN ${m(INTEGER)} AND abs(TRY_CAST(${s} AS BIGINT)) <= ${MAX_SAFE} THEN CAST(${s} AS BIGINT) ELSE ${GIVE_UP} END`;
    case 'double': return `CASE WHEN ${m(DOUBLE)} THEN CAST(${s} AS DOUBLE) ELSE ${GIVE_UP} END`;
    case 'boolean': return `CASE ${s} WHEN 'true' THEN true WHEN '1' THEN true WHEN 'false' THEN false WHEN '0' THEN false ELSE ${GIVE_UP} END`;
    case 'date': return `CASE WHEN ${m(DATE)} THEN coalesce(TRY_CAST(${s} AS DATE), ${GIVE_UP}) ELSE ${GIVE_UP} END`;
    case 'timestamp': return `CASE WHEN ${m(TIMESTAMP)} THEN coalesce(TRY_CAST(${s} AS TIMESTAMPTZ), ${GIVE_UP}) ELSE ${GIVE_UP} END`;
  }
}

function required(c: Column, raw: string, value: string): string {
  return `CASE WHEN ${raw} IS NULL THEN ${c.nullable === false ? GIVE_UP : `CAST(NULL AS ${DUCK[c.type]})`} ELSE ${value} END AS ${ident(c.name)}`;
}

/**
 * The SELECT of a CSV file's rows as the dataset's columns: `header` maps
 * each column (in the schema's order) to its field in the file (the header
 * checked by `rows.ts`), `fields` is how many fields the header has.
 */
export function csvFastSelect(columns: readonly Column[], header: readonly number[], fields: number, file: string): string {
  const cols = Array.from({ length: fields }, (_, i) => `${literal(`c${i}`)}: 'VARCHAR'`).join(', ');
  const src = `read_csv(${literal(file)}, header = true, columns = {${cols}}, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    'strict_mode = true, null_padding = false, ignore_errors = false, allow_quoted_nulls = true)';
  const select = columns.map((c, i) => {
    const raw = `c${header[i]}`;
    return required(c, raw, fromText(c.type, raw));
  });
  return `SELECT ${select.join(', ')} FROM ${src}`;
}
