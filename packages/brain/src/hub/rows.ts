/**
 * Rows checked against a dataset's schema: CSV (RFC 4180, a header row naming
 * the columns) and JSON Lines read incrementally, each value converted to its
 * column's type or refused with its line and field. Pure; the server feeds
 * the upload through it in chunks and writes what comes out.
 */
import { HubError, type Column, type ColumnType } from './model.js';

/** A checked value: string, integer (a safe integer), double, boolean, timestamp (epoch microseconds as bigint), date (days since 1970-01-01), or null. */
export type HubValue = string | number | boolean | bigint | null;

const INTEGER = /^[+-]?\d+$/;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(Infinity|inf)$|^NaN$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/i;

function daysOf(y: number, m: number, d: number): number | undefined {
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return undefined;
  return ms / 86_400_000;
}

/**
 * One value converted to its column's type, or the reason it cannot be
 * (undefined for a good value). `raw` is text (CSV: an empty field is null) or
 * a JSON value.
 */
export function convertValue(type: ColumnType, raw: unknown): { value: HubValue } | { problem: string } {
  if (raw === null || raw === undefined || raw === '') return { value: null };
  switch (type) {
    case 'string':
      if (typeof raw === 'string') return raw.includes('\u0000') ? { problem: 'must not contain the NUL character' } : { value: raw };
      if (typeof raw === 'number' || typeof raw === 'boolean') return { value: String(raw) };
      return { problem: `expected a string, got ${JSON.stringify(raw)}` };
    case 'integer': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && INTEGER.test(raw.trim()) ? Number(raw.trim()) : NaN;
      if (!Number.isSafeInteger(n)) return { problem: `expected an integer (at most ${Number.MAX_SAFE_INTEGER} in size), got ${JSON.stringify(raw)}` };
      return { value: n };
    }
    case 'double': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && DOUBLE.test(raw.trim()) ? Number(raw.trim().replace(/^([+-]?)inf$/i, '$1Infinity')) : undefined;
      if (n === undefined) return { problem: `expected a number, got ${JSON.stringify(raw)}` };
      return { value: n };
    }
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (typeof raw === 'string') {
        const s = raw.trim().toLowerCase();
        if (s === 'true' || s === '1') return { value: true };
        if (s === 'false' || s === '0') return { value: false };
      }
      return { problem: `expected true or false, got ${JSON.stringify(raw)}` };
    case 'date': {
      const m = typeof raw === 'string' ? DATE.exec(raw.trim()) : null;
      const days = m ? daysOf(+m[1], +m[2], +m[3]) : undefined;
      if (days === undefined) return { problem: `expected a date YYYY-MM-DD, got ${JSON.stringify(raw)}` };
      return { value: days };
    }
    case 'timestamp': {
      if (typeof raw === 'number') {
        if (!Number.isSafeInteger(raw)) return { problem: `expected epoch milliseconds (an integer) or an ISO 8601 time with its offset, got ${raw}` };
        return { value: BigInt(raw) * 1000n };
      }
      const m = typeof raw === 'string' ? TIMESTAMP.exec(raw.trim()) : null;
      const days = m ? daysOf(+m[1], +m[2], +m[3]) : undefined;
      if (!m || days === undefined || +m[4] > 23 || +m[5] > 59 || +(m[6] ?? 0) > 59) {
        return { problem: `expected an ISO 8601 time with its offset (e.g. 2024-05-01T08:00:00Z or +08:00) or epoch milliseconds, got ${JSON.stringify(raw)}` };
      }
      const frac = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
      let offsetMin = 0;
      if (m[8].toUpperCase() !== 'Z') {
        const o = m[8].replace(':', '');
        offsetMin = (o[0] === '-' ? -1 : 1) * (+o.slice(1, 3) * 60 + +o.slice(3, 5));
      }
      const seconds = days * 86400 + +m[4] * 3600 + +m[5] * 60 + +(m[6] ?? 0) - offsetMin * 60;
      return { value: BigInt(seconds) * 1_000_000n + BigInt(frac) };
    }
  }
}

/** A row checked against the schema: values in column order. `where` names the row in a message ("line 7"). */
export function checkRecord(columns: readonly Column[], get: (c: Column, i: number) => unknown, where: string): HubValue[] {
  const out = new Array<HubValue>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    const r = convertValue(c.type, get(c, i));
    if ('problem' in r) throw new HubError(`${where}, field "${c.name}": ${r.problem}`);
    if (r.value === null && c.nullable === false) throw new HubError(`${where}, field "${c.name}": is required (the column is not nullable) but is empty`);
    out[i] = r.value;
  }
  return out;
}

/**
 * RFC 4180 CSV read in chunks: `push` text as it arrives, `end` at the end;
 * each yields the complete records so far with the line each starts on
 * (a quoted field may span lines). Accepts \n and \r\n.
 */
export class CsvReader {
  private field = '';
  private record: string[] = [];
  private quoted = false;
  /** just left a closing quote: the next char must be a quote (escaped), a comma or a line end */
  private afterQuote = false;
  private line = 1;
  private recordLine = 1;
  private fieldStarted = false;
  private pendingCR = false;

  push(chunk: string): { line: number; fields: string[] }[] {
    const out: { line: number; fields: string[] }[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      if (this.pendingCR) {
        this.pendingCR = false;
        if (ch === '\n') continue;
      }
      if (this.quoted) {
        if (ch === '"') {
          this.quoted = false;
          this.afterQuote = true;
        } else {
          if (ch === '\n') this.line++;
          this.field += ch;
        }
        continue;
      }
      if (this.afterQuote && ch === '"') {
        this.field += '"';
        this.quoted = true;
        this.afterQuote = false;
        continue;
      }
      if (ch === ',') {
        this.record.push(this.field);
        this.field = '';
        this.afterQuote = false;
        this.fieldStarted = true;
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r') this.pendingCR = true;
        this.finish(out);
        this.line++;
        this.recordLine = this.line;
      } else if (this.afterQuote) {
        throw new HubError(`line ${this.line}: a quoted field must end at a comma or the end of the line (write "" for a quote inside quotes)`);
      } else if (ch === '"' && this.field === '') {
        this.quoted = true;
        this.fieldStarted = true;
      } else {
        this.field += ch;
        this.fieldStarted = true;
      }
    }
    return out;
  }

  end(): { line: number; fields: string[] }[] {
    if (this.quoted) throw new HubError(`line ${this.recordLine}: a quoted field is not closed by the end of the file`);
    const out: { line: number; fields: string[] }[] = [];
    this.finish(out);
    return out;
  }

  private finish(out: { line: number; fields: string[] }[]): void {
    if (!this.fieldStarted && this.record.length === 0 && this.field === '' && !this.afterQuote) return; // a blank line
    this.record.push(this.field);
    out.push({ line: this.recordLine, fields: this.record });
    this.record = [];
    this.field = '';
    this.afterQuote = false;
    this.fieldStarted = false;
  }
}

/**
 * The CSV rows of a dataset: the first record is the header, naming every
 * column of the schema (in any order; a column the schema does not have is
 * refused). Feed text with `push`, finish with `end`; each returns the checked
 * rows (values in the schema's column order) and throws a HubError naming the
 * line and field of the first bad row.
 */
export class CsvRows {
  private readonly reader = new CsvReader();
  private index: number[] | undefined;

  constructor(private readonly columns: readonly Column[]) {}

  push(chunk: string): HubValue[][] {
    return this.rows(this.reader.push(chunk));
  }

  end(): HubValue[][] {
    const rows = this.rows(this.reader.end());
    if (!this.index) throw new HubError('line 1: the file is empty; a CSV load starts with a header row naming the columns');
    return rows;
  }

  private rows(records: { line: number; fields: string[] }[]): HubValue[][] {
    const out: HubValue[][] = [];
    for (const r of records) {
      if (!this.index) {
        this.index = csvHeaderIndex(this.columns, r.fields);
        continue;
      }
      if (r.fields.length !== this.index.length) throw new HubError(`line ${r.line}: ${r.fields.length} fields, but the header has ${this.index.length}`);
      const idx = this.index;
      out.push(checkRecord(this.columns, (_c, i) => r.fields[idx[i]], `line ${r.line}`));
    }
    return out;
  }
}

/** A CSV header (its fields as read) checked against the schema: where each column (in the schema's order) is in a record. */
export function csvHeaderIndex(columns: readonly Column[], fields: readonly string[]): number[] {
  return headerIndex(columns, fields.map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f).trim()));
}

function headerIndex(columns: readonly Column[], header: string[]): number[] {
  const pos = new Map<string, number>();
  header.forEach((h, i) => {
    if (pos.has(h)) throw new HubError(`line 1: column "${h}" is named twice in the header`);
    pos.set(h, i);
  });
  const known = new Set(columns.map((c) => c.name));
  for (const h of header) if (!known.has(h)) throw new HubError(`line 1: the header names "${h}", which the dataset's schema does not have (its columns: ${[...known].join(', ')})`);
  return columns.map((c) => {
    const i = pos.get(c.name);
    if (i === undefined) throw new HubError(`line 1: the header lacks column "${c.name}"`);
    return i;
  });
}

/** A JSON object as a row (a JSON Lines line or an API row): fields the schema lacks are refused. */
export function checkObject(columns: readonly Column[], o: unknown, where: string): HubValue[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new HubError(`${where}: expected a JSON object {column: value, ...}`);
  const rec = o as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (!columns.some((c) => c.name === k)) throw new HubError(`${where}, field "${k}": the dataset's schema has no such column`);
  return checkRecord(columns, (c) => rec[c.name], where);
}

/** JSON Lines read in chunks: one object per line; blank lines are skipped. */
export class JsonLinesRows {
  private rest = '';
  private line = 0;

  constructor(private readonly columns: readonly Column[]) {}

  push(chunk: string): HubValue[][] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop()!;
    return lines.map((l) => this.one(l)).filter((r): r is HubValue[] => r !== undefined);
  }

  end(): HubValue[][] {
    const r = this.one(this.rest);
    this.rest = '';
    return r ? [r] : [];
  }

  private one(text: string): HubValue[] | undefined {
    this.line++;
    if (text.trim() === '') return undefined;
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw new HubError(`line ${this.line}: not JSON: ${(e as Error).message}`);
    }
    return checkObject(this.columns, o, `line ${this.line}`);
  }
}
