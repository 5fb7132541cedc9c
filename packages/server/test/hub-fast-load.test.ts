/**
 * The hub's fast CSV load path (brain/src/hub/rows-sql.ts run by DuckDB)
 * beside the checked one (rows.ts): every value the SQL accepts, rows.ts accepts as
 * the same value; what the SQL gives up on, rows.ts decides. Then through a
 * Hub: a bad row far into a large file is named by its line and field (after
 * quoted fields spanning lines) and nothing of it is kept; rarer spellings
 * load as rows.ts reads them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { convertValue, csvFastSelect, type Column, type ColumnType } from '@citybrain/brain';
import { Hub, openStore, type EventStore } from '@citybrain/server';

let dir: string;
let duck: DuckDBInstance;
let conn: DuckDBConnection;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-fastload-'));
  duck = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  conn = await duck.connect();
  await conn.run("SET TimeZone = 'UTC'");
});

after(() => {
  conn.closeSync();
  duck.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

/** A converted value as text both sides can produce: integers and doubles as numbers, timestamps as epoch µs, dates as days. */
function canonical(type: ColumnType, v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (type === 'double') return String(Number(v));
  return String(v);
}

const SQL_CANON: Record<ColumnType, (col: string) => string> = {
  string: (c) => c, integer: (c) => `CAST(${c} AS VARCHAR)`, double: (c) => c, boolean: (c) => `CAST(${c} AS VARCHAR)`,
  timestamp: (c) => `CAST(epoch_us(${c}) AS VARCHAR)`, date: (c) => `CAST(${c} - DATE '1970-01-01' AS VARCHAR)`,
};

/** The SQL's answer for one row: the value as canonical text, or undefined when it gave up. */
async function viaSql(type: ColumnType, select: string): Promise<string | undefined> {
  try {
    const r = (await conn.runAndReadAll(`SELECT ${SQL_CANON[type]('v')} AS v FROM (${select})`)).getRowsJson();
    assert.equal(r.length, 1);
    return r[0][0] === null ? 'null' : canonical(type, r[0][0]);
  } catch {
    return undefined;
  }
}

const TEXT: Record<ColumnType, string[]> = {
  string: ['a', 'road 1', 'x"y', 'multi\nline', 'tab\there', '中文', ' padded ', '0', 'nul\u0000'],
  integer: ['0', '7', '-12', '+5', '007', '9007199254740991', '-9007199254740991', '9007199254740992', '99999999999999999999', ' 5', '5 ', '1.0', '1e3', 'two', '0x10', '１２'],
  double: ['0', '1.5', '-2.25', '+3', '.5', '5.', '1e3', '1E-7', '-1.5e+10', '1e400', '1e999', 'Infinity', '-inf', 'NaN', ' 1.5', '1,5', 'abc', '0.1', '123456789.123456789', '1e-400'],
  boolean: ['true', 'false', '1', '0', 'TRUE', 'False', ' true', 'yes', 't', '2'],
  date: ['2024-05-01', '2024-02-29', '2023-02-29', '2024-13-01', '2024-04-31', '0099-01-01', '0100-01-01', '9999-12-31', '2024-5-1', ' 2024-05-01', '2024-05-01T00:00:00Z'],
  timestamp: [
    '2024-05-01T08:00:00Z', '2024-05-01 08:00:00Z', '2024-05-02T09:30:00+08:00', '2024-05-02T09:30-05:30', '2024-05-01T08:00Z', '2024-05-01T08:00:00.5Z',
    '2024-05-01T08:00:00.123456Z', '2024-05-01T08:00:00.1234567Z', '2024-05-01T08:00:00+0800', '2024-05-01T08:00:00+99:99', '2024-05-01t08:00:00z',
    '2024-05-01T24:00:00Z', '2024-05-01T23:59:60Z', '2024-05-01T08:00:00', '2024-02-30T00:00:00Z', '0050-01-01T00:00:00Z', '1714550400000', '2024-05-01',
  ],
};

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

test('every CSV value the fast SQL accepts, rows.ts accepts as the same value (and the fast path takes the plain spellings)', async () => {
  let n = 0;
  for (const [type, values] of Object.entries(TEXT) as [ColumnType, string[]][]) {
    const col: Column = { name: 'v', type };
    let accepted = 0;
    for (const v of values) {
      const file = join(dir, `v${n++}.csv`);
      writeFileSync(file, `v,k\n${csvField(v)},1\n`);
      const sql = await viaSql(type, csvFastSelect([col, { name: 'k', type: 'integer' }], [0, 1], 2, file));
      const js = convertValue(type, v);
      if (sql === undefined) continue;
      accepted++;
      assert.ok('value' in js, `${type} ${JSON.stringify(v)}: the SQL took it (${sql}), rows.ts refuses it: ${'problem' in js ? js.problem : ''}`);
      assert.equal(sql, canonical(type, js.value), `${type} ${JSON.stringify(v)}`);
    }
    assert.ok(accepted >= 3, `${type}: the fast SQL takes the plain spellings (took ${accepted})`);
  }
});

// ------------------------------------------------------------ through a Hub

let store: EventStore;
let hub: Hub;
const who = { actor: 'tester', role: 'operator' };

async function* bytes(s: string): AsyncIterable<Buffer> {
  const b = Buffer.from(s);
  for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536);
}

test('through a Hub: a bad row deep in a large CSV (fast path) or JSON Lines file is named by line and field, and nothing of the load is kept; rarer spellings load as rows.ts reads them', async () => {
  store = await openStore(`sqlite:${join(dir, 'hub.db')}`);
  hub = await Hub.open({ store, dir: join(dir, 'hub'), retentionSweepMs: false });
  try {
    await hub.registerDepartment(who, { id: 'transport', name: 'Transport' });
    await hub.registerDataset(who, {
      id: 'flows', owner: 'transport', description: 'lane flows', updateFrequency: 'daily', licence: 'CC-BY-4.0', classification: 'internal',
      columns: [{ name: 'lane', type: 'string', nullable: false }, { name: 't', type: 'timestamp' }, { name: 'count', type: 'integer' }, { name: 'note', type: 'string' }],
    });
    // 50,000 rows; every 1000th note spans two lines, so rows and lines part ways
    const lines = ['lane,t,count,note'];
    for (let i = 0; i < 50_000; i++) lines.push(`l${i % 12},2024-05-01T08:00:00Z,${i % 9},${i % 1000 === 0 ? '"two\nlines"' : 'ok'}`);
    const good = lines.join('\n') + '\n';
    const bad = lines.slice(0, 40_001).join('\n') + '\nl1,2024-05-01T08:00:00Z,nine,ok\n' + lines.slice(40_001).join('\n') + '\n';
    const badLine = 40_001 + 40 + 1; // the header, 40,000 rows of which 40 span two lines, then the bad one
    await assert.rejects(hub.load(who, 'flows', 'csv', bytes(bad)), (e: Error) => {
      assert.match(e.message, new RegExp(`^line ${badLine}, field "count": expected an integer \\(at most 9007199254740991 in size\\), got "nine"; nothing of this load is kept`));
      return true;
    });
    assert.deepEqual(readdirSync(join(dir, 'hub', 'flows')), [], 'no staging or upload file is left');
    assert.equal(hub.datasets.get('flows')!.batches.length, 0);

    const b = await hub.load(who, 'flows', 'csv', bytes(good));
    assert.equal(b.rows, 50_000);
    const jl = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ lane: `l${i % 12}`, t: 1714550400000 + i * 1000, count: i % 9 }));
    jl[25_000] = '{"lane":"l1","t":1714550400000,"count":1,"colour":"red"}';
    await assert.rejects(hub.load(who, 'flows', 'jsonl', bytes(jl.join('\n') + '\n')), /^Error: line 25001, field "colour": the dataset's schema has no such column|line 25001, field "colour"/);
    assert.equal(hub.datasets.get('flows')!.batches.length, 1);
    // spellings only rows.ts reads (spaces, an offset without a colon, Infinity-free but padded): the load still succeeds, with rows.ts's values
    const odd = await hub.load(who, 'flows', 'csv', bytes('lane,t,count,note\nl1, 2024-05-01T16:00:00+0800 , 5 ,x\n'));
    assert.equal(odd.rows, 1);
    const r = await hub.query(who, `SELECT epoch_ms(t) AS ms, count FROM flows WHERE note = 'x'`, 'json');
    assert.deepEqual(r.rows, [[String(Date.UTC(2024, 4, 1, 8)), '5']]);
    assert.equal((await hub.query(who, 'SELECT count(*) FROM flows', 'json')).rows![0][0], '50001');
    // blank lines before the header: rows.ts skips them (DuckDB would take the blank line as the header and the header as a row)
    await hub.registerDataset(who, { id: 'notes', owner: 'transport', description: 'notes', updateFrequency: 'daily', licence: 'CC-BY-4.0', classification: 'internal', columns: [{ name: 'road', type: 'string' }, { name: 'note', type: 'string' }] });
    assert.equal((await hub.load(who, 'notes', 'csv', bytes('\n\nroad,note\nr1,n1\n'))).rows, 1);
    assert.deepEqual((await hub.query(who, 'SELECT road, note FROM notes', 'json')).rows, [['r1', 'n1']]);
  } finally {
    await hub.close();
    await store.close();
  }
});
