/**
 * The city data hub on PostgreSQL (`hub: { engine: 'postgres' }` over a
 * PostgreSQL store): rows in tables of the store's schema, queries in a rolled
 * back transaction as a NOLOGIN reader role over per-query views. The same
 * grant and masking matrix as hub.test.ts (restricted, personal), a failed
 * load leaving no row, escapes refused (by the check, and by PostgreSQL's
 * rights when the check is bypassed), the keyed hash equal to the DuckDB
 * engine's, the time and row limits, results as CSV and Parquet.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDBInstance } from '@duckdb/node-api';
import { generateGrid } from '@citybrain/engine';
import { hmacPads, PG_READER_ROLE, PgHubData, startServer, type RunningServer } from '@citybrain/server';
import { hubActors, PG_URL, pgUnavailable, tokenCaller } from './helpers.js';

const skip = await pgUnavailable();
const schema = `cb_hubpg_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
let server: RunningServer;
let dir: string;
let db: pg.Pool;
const tok: Record<string, string> = {};

const call = tokenCaller(() => server.url, tok);
const query = (who: string, sql: string, format = 'json') => call(who, 'POST', '/api/v1/hub/query', { sql, format });
const tableRows = async (id: string) => Number((await db.query(`SELECT count(*)::int AS n FROM "${schema}"."hub_data_${id}"`)).rows[0].n);
const base = { updateFrequency: 'daily', licence: 'CC-BY-4.0', description: 'test data' };

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'citybrain-hubpg-'));
  db = new pg.Pool({ connectionString: PG_URL, max: 2 });
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }), storeUrl: `${PG_URL}?schema=${schema}`, port: 0, run: false, street: false, logger: false,
    printToken: () => {}, webRoot: false, auth: { rateLimit: false },
    hub: { engine: 'postgres', dir: join(dir, 'hub'), limits: { queryMs: 1500, maxRows: 1000 }, deviceEvents: false },
  });
  await hubActors(server, tok, call);
  const reg = async (spec: Record<string, unknown>) => {
    const r = await call('transport', 'POST', '/api/v1/hub/datasets', { ...base, owner: 'transport', ...spec });
    assert.equal(r.status, 201, r.text);
  };
  await reg({ id: 'roadworks', classification: 'public', columns: [{ name: 'road', type: 'string', nullable: false }, { name: 'starts', type: 'timestamp' }, { name: 'lanes_closed', type: 'integer', nullable: false }] });
  await reg({ id: 'incidents', classification: 'restricted', columns: [{ name: 'road', type: 'string' }, { name: 'severity', type: 'double' }, { name: 'note', type: 'string' }] });
  await reg({ id: 'plates', classification: 'personal', columns: [{ name: 'camera', type: 'string' }, { name: 'plate', type: 'string', personal: true }, { name: 'seen', type: 'timestamp' }] });
  await reg({ id: 'closures', classification: 'public', columns: [{ name: 'road', type: 'string' }, { name: 'day', type: 'date' }] });
  const load = async (ds: string, body: string, type: string) => {
    const r = await call('transport', 'POST', `/api/v1/hub/datasets/${ds}/load`, body, type);
    assert.equal(r.status, 201, r.text);
  };
  await load('roadworks', 'road,starts,lanes_closed\nroad_1,2024-05-01T08:00:00Z,1\nroad_2,2024-05-02T09:30:00+08:00,2\n', 'text/csv');
  await load('incidents', 'road,severity,note\nroad_1,0.5,"driver said ""ok"""\nroad_2,0.9,same note\nroad_2,0.2,same note\n', 'text/csv');
  await load('plates', 'camera,plate,seen\ncam_1,ZJA12345,2024-05-01T08:00:00Z\ncam_2,ZJA12345,2024-05-01T08:05:00Z\ncam_2,ZJB99999,2024-05-01T08:06:00Z\n', 'text/csv');
  await load('closures', '{"road":"road_1","day":"2024-05-01"}\n', 'application/x-ndjson');
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/incidents/grants', { department: 'police', access: 'read', masks: { note: 'hash' } })).status, 201);
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/plates/grants', { department: 'police', access: 'read', personal: ['plate'], masks: { plate: 'hash', seen: 'hash' } })).status, 201);
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/plates/grants', { department: 'weather', access: 'read' })).status, 201);
});

after(async () => {
  if (skip) return;
  await server?.close();
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.end();
  rmSync(dir, { recursive: true, force: true });
});

test('the rows live in PostgreSQL: one table per dataset in the store\'s schema, no Parquet file kept', { skip }, async () => {
  assert.equal(await tableRows('roadworks'), 2);
  assert.equal(await tableRows('plates'), 3);
  const b = server.hub.datasets.get('plates')!.batches[0];
  assert.equal(b.stored, 'postgres');
  assert.equal(b.rows, 3);
  const r = await query('viewer', 'SELECT road, starts, lanes_closed FROM roadworks ORDER BY road');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.rows, [['road_1', '2024-05-01 08:00:00+00', '1'], ['road_2', '2024-05-02 01:30:00+00', '2']]);
  assert.deepEqual(r.json.columns.map((c: { type: string }) => c.type), ['VARCHAR', 'TIMESTAMP WITH TIME ZONE', 'BIGINT']);
  // the query runs as the reader role
  const who = await query('viewer', 'SELECT current_user AS u FROM roadworks LIMIT 1');
  assert.deepEqual(who.json.rows, [[PG_READER_ROLE]]);
});

test('restricted: the owner reads in clear, a grant reads through its masks (equal values, equal hashes), others are refused', { skip }, async () => {
  const own = await query('transport', 'SELECT note FROM incidents ORDER BY severity');
  assert.deepEqual(own.json.rows.map((r: unknown[]) => r[0]), ['same note', 'driver said "ok"', 'same note']);
  const police = await query('police', 'SELECT road, note FROM incidents ORDER BY severity');
  assert.equal(police.status, 200, police.text);
  const notes = police.json.rows.map((r: unknown[]) => r[1] as string);
  for (const n of notes) assert.match(n, /^[0-9a-f]{64}$/);
  assert.equal(notes[0], notes[2]);
  assert.notEqual(notes[0], notes[1]);
  assert.ok(!police.text.includes('same note'));
  assert.deepEqual(police.json.rows.map((r: unknown[]) => r[0]), ['road_2', 'road_1', 'road_2']);
  for (const who of ['weather', 'viewer', 'app']) assert.equal((await query(who, 'SELECT count(*) FROM incidents')).status, 403, who);
  assert.equal((await query('operator', 'SELECT count(*) FROM incidents')).status, 200);
});

test('personal: the personal column reads only through a grant naming it (hashed), as NULL for every other reader, in clear for the owner', { skip }, async () => {
  const sql = 'SELECT camera, plate FROM plates ORDER BY camera, plate';
  const own = await query('transport', sql);
  assert.deepEqual(own.json.rows.map((r: unknown[]) => r[1]), ['ZJA12345', 'ZJA12345', 'ZJB99999']);
  const police = await query('police', 'SELECT camera, plate FROM plates');
  const hashed = police.json.rows.map((r: unknown[]) => r[1] as string);
  for (const h of hashed) assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(new Set(hashed).size, 2, 'the same plate, the same hash');
  for (const who of ['weather', 'operator']) {
    const r = await query(who, sql);
    assert.equal(r.status, 200, `${who}: ${r.text}`);
    assert.deepEqual(r.json.rows.map((x: unknown[]) => x[1]), [null, null, null], `${who} reads no plate`);
    assert.deepEqual(r.json.rows.map((x: unknown[]) => x[0]), ['cam_1', 'cam_2', 'cam_2']);
  }
  assert.equal((await query('weather', "SELECT count(*) FROM plates WHERE plate = 'ZJA12345'")).json.rows[0][0], '0');
  assert.equal((await query('viewer', sql)).status, 403);
});

test('the keyed hash equals the DuckDB engine\'s for the same value (a string and a timestamp)', { skip }, async () => {
  const key = (await server.store.readState('hub:')).get('hub:key') as string;
  const [inner, outer] = hmacPads(key, 'plates');
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  let expected: Record<string, string>;
  try {
    await c.run("SET TimeZone = 'UTC'");
    const h = (v: string) => `sha256(unhex('${outer}') || unhex(sha256(unhex('${inner}') || encode(CAST(${v} AS VARCHAR)))))`;
    const r = await c.runAndReadAll(`SELECT ${h("'ZJA12345'")} AS plate, ${h("TIMESTAMPTZ '2024-05-01 08:00:00+00'")} AS seen`);
    expected = r.getRowObjectsJson()[0] as Record<string, string>;
  } finally {
    c.closeSync();
    inst.closeSync();
  }
  const police = await query('police', "SELECT plate, seen FROM plates WHERE camera = 'cam_1'");
  assert.deepEqual(police.json.rows[0], [expected.plate, expected.seen]);
  // without pgcrypto (not installed, or not allowed) the built-in sha256() spells the same HMAC
  const batches = server.hub.datasets.get('plates')!.batches.map((b) => b.id);
  const columns = server.hub.accessOf({ actor: 'p', role: 'analyst', department: 'police' }, 'plates')!.access.columns;
  for (const pgcrypto of [true, false]) {
    const data = await PgHubData.open(db, schema, { pgcrypto });
    assert.equal(data.hashBy, pgcrypto ? 'pgcrypto hmac()' : 'built-in sha256()');
    const r = await data.query(key, [{ id: 'plates', columns, batches }], "SELECT plate, seen FROM plates WHERE camera = 'cam_1'", { queryMs: 2000, maxRows: 10 });
    assert.deepEqual(r.rows[0], [expected.plate, expected.seen], `${data.hashBy}: ${JSON.stringify(r.rows)}`);
    // the key is in no view's text the reader could read, and its table is not the reader's
    const defs = await data.query(key, [{ id: 'plates', columns, batches }], "SELECT string_agg(definition, ' ') FROM pg_views WHERE schemaname LIKE 'hub_q_%'", { queryMs: 2000, maxRows: 10 });
    const text = String(defs.rows[0][0]);
    assert.match(text, /_cb_keys/);
    assert.ok(!text.includes(inner.slice(0, 16)) && !text.includes(outer.slice(0, 16)), 'no pad in the view');
    await assert.rejects(data.query(key, [{ id: 'plates', columns, batches }], 'SELECT * FROM _cb_keys', { queryMs: 2000, maxRows: 10 }), (e: { code?: string }) => e.code === '42501');
  }
});

test('a failed load keeps no row: a bad CSV line, and a failure inside PostgreSQL after 20,000 rows were copied', { skip }, async () => {
  const bad = await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/load', 'road,starts,lanes_closed\nroad_3,2024-05-03T08:00:00Z,1\nroad_5,2024-05-03T08:00:00Z,two\n', 'text/csv');
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /^line 3, field "lanes_closed": expected an integer/);
  // 30,000 dates of which the last is past PostgreSQL's range (DuckDB's goes further): the copy fails in its second INSERT
  const tmp = join(dir, 'dates.parquet');
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`COPY (SELECT 'r' || i AS road, CASE WHEN i = 30000 THEN DATE '5880000-01-01' ELSE DATE '2024-05-01' END AS day FROM range(1, 30001) t(i)) TO '${tmp}' (FORMAT parquet)`);
  c.closeSync();
  inst.closeSync();
  const r = await call('transport', 'POST', '/api/v1/hub/datasets/closures/load', new Uint8Array(readFileSync(tmp)), 'application/vnd.apache.parquet');
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.code, 'CB_INVALID_DATA');
  assert.match(r.json.message, /a value does not fit the dataset's PostgreSQL table: .*out of range.*; nothing of this load is kept/);
  assert.equal(await tableRows('roadworks'), 2);
  assert.equal(await tableRows('closures'), 1, 'nothing of the failed copy is in the table');
  assert.equal(server.hub.datasets.get('closures')!.batches.length, 1);
  assert.equal((await query('viewer', 'SELECT count(*) FROM closures')).json.rows[0][0], '1');
  // appends go the same way
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/rows', { rows: [{ road: 'c', lanes_closed: 3, starts: 1714550400000 }] })).status, 201);
  assert.equal((await query('viewer', 'SELECT count(*) FROM roadworks')).json.rows[0][0], '3');
});

test('SQL that reaches beyond the caller\'s datasets is refused by the check, and runs nothing', { skip }, async () => {
  const attempts = [
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_catalog.pg_read_file('/etc/passwd')",
    "SELECT set_config('role', 'postgres', true)",
    `SELECT "SET_CONFIG"('role', 'postgres', true)`,
    "WITH t AS (SELECT set_config('session_authorization', 'postgres', true) AS x) SELECT x FROM t",
    "SELECT road FROM roadworks WHERE (SELECT pg_catalog.set_config('role', 'postgres', true)) IS NOT NULL",
    "SELECT current_setting('data_directory')",
    "SELECT ts_stat('select 1')",
    `SELECT query_to_xml('select * from "${schema}".tokens', true, false, '')`,
    "SELECT lo_import('/etc/passwd')",
    "SELECT dblink_connect('host=127.0.0.1')",
    "SELECT pg_ls_dir('.')",
    'SELECT * FROM pg_catalog.pg_authid',
    'SELECT * FROM pg_authid',
    'SELECT * FROM pg_statistic',
    `SELECT * FROM "${schema}".tokens`,
    'SELECT * FROM hub_data_plates',
    "COPY roadworks TO '/tmp/citybrain-leak.csv'",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "SELECT nextval('x')",
    'CREATE TABLE t AS SELECT 1',
  ];
  for (const sql of attempts) {
    const r = await query('weather', sql);
    assert.equal(r.status, 403, `${sql}: ${r.status} ${r.text}`);
    assert.match(r.json.message, /^query refused: /, sql);
    assert.ok(!r.text.includes('root:'), sql);
  }
});

test('past the check, PostgreSQL\'s rights refuse the reader role files, other schemas and restricted catalogues', { skip }, async () => {
  const data = await PgHubData.open(db, schema);
  const key = (await server.store.readState('hub:')).get('hub:key') as string;
  const escapes = [
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    `SELECT * FROM "${schema}".tokens`,
    `SELECT * FROM "${schema}".hub_data_plates`,
    `SELECT query_to_xml('select * from "${schema}".hub_data_plates', true, false, '')`,
    'SELECT * FROM pg_catalog.pg_authid',
    'SELECT * FROM pg_catalog.pg_statistic',
  ];
  for (const sql of escapes) {
    await assert.rejects(data.query(key, [], sql, { queryMs: 2000, maxRows: 10 }), (e: { code?: string; message: string }) => {
      assert.equal(e.code, '42501', `${sql}: ${e.message}`);
      return true;
    }, sql);
  }
  // COPY is no SELECT: it cannot be wrapped, and the reader may not write files either
  await assert.rejects(data.query(key, [], "COPY (SELECT 1) TO '/tmp/citybrain-leak'", { queryMs: 2000, maxRows: 10 }));
  // every query's schema was rolled back with its transaction
  const left = await db.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'hub_q_%'");
  assert.equal(left.rows[0].n, 0);
});

test('query limits: past the time limit the query is cancelled; past the row limit the result is cut and says so', { skip }, async () => {
  const slow = await query('transport', 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 10000000000) SELECT count(*) FROM r');
  assert.equal(slow.status, 422, slow.text);
  assert.equal(slow.json.code, 'CB_QUERY_LIMIT');
  const many = await query('transport', 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 5000) SELECT i FROM r');
  assert.equal(many.json.rowCount, 1000);
  assert.equal(many.json.truncated, true);
});

test('results as CSV and Parquet; a derived dataset and an open download read through PostgreSQL', { skip }, async () => {
  const csv = await query('viewer', "SELECT road, lanes_closed FROM roadworks WHERE road IN ('road_1', 'road_2') ORDER BY road", 'csv');
  assert.equal(csv.text, 'road,lanes_closed\r\nroad_1,1\r\nroad_2,2\r\n');
  const r = await fetch(`${server.url}/api/v1/hub/query`, { method: 'POST', headers: { authorization: `Bearer ${tok.viewer}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT road, starts, lanes_closed FROM roadworks', format: 'parquet' }) });
  const bytes = Buffer.from(await r.arrayBuffer());
  assert.equal(r.status, 200);
  assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
  const d = await server.hub.derive({ actor: 'transport analyst', role: 'analyst', department: 'transport' }, {
    id: 'busy_roads', title: 'Busy roads', owner: 'transport', description: 'roads with incidents', updateFrequency: 'daily', licence: 'CC-BY-4.0', classification: 'restricted', retentionDays: null,
    sql: 'SELECT road, count(*) AS incidents FROM incidents GROUP BY road',
  });
  assert.deepEqual(d.columns.map((c) => `${c.name}:${c.type}`), ['road:string', 'incidents:integer']);
  assert.equal(await tableRows('busy_roads'), 2);
  const dl = await fetch(`${server.url}/api/v1/open/datasets/roadworks/data.csv`);
  assert.equal(dl.status, 200);
  const text = await dl.text();
  assert.match(text, /^road,starts,lanes_closed\r?\n/);
  assert.equal(text.trim().split(/\r?\n/).length, 4);
});

test('at open: rows of a batch no state row lists are swept, retention deletes by batch, and the DuckDB engine refuses a hub whose rows are in PostgreSQL', { skip }, async () => {
  const who = { actor: 'transport analyst', role: 'analyst', department: 'transport' };
  await server.hub.registerDataset(who, { ...base, id: 'short_lived', title: 'Short lived', owner: 'transport', classification: 'internal', retentionDays: 1, columns: [{ name: 'v', type: 'integer' }] });
  await server.hub.append(who, 'short_lived', [{ v: 1 }, { v: 2 }]);
  // a crash between the copy and its commit leaves rows of a batch no state row lists
  await db.query(`INSERT INTO "${schema}".hub_data_roadworks (_cb_batch, road, lanes_closed) VALUES ('never-committed', 'ghost', 9)`);
  assert.equal(await tableRows('roadworks'), 4);
  await assert.rejects(
    import('@citybrain/server').then(({ Hub }) => Hub.open({ store: server.store, dir: join(dir, 'hub2'), retentionSweepMs: false })),
    /dataset "\w+" has \d+ batch\(es\) stored in PostgreSQL: open the hub with engine postgres \(serve --hub-engine postgres\)/,
  );
  const { Hub } = await import('@citybrain/server');
  const later = Date.now() + 2 * 86_400_000;
  const hub = await Hub.open({ store: server.store, dir: join(dir, 'hub2'), engine: 'postgres', now: () => later, retentionSweepMs: 3_600_000 });
  try {
    assert.equal(await tableRows('roadworks'), 3, 'the uncommitted batch\'s row is swept');
    assert.equal(await tableRows('short_lived'), 0, 'the batch past its retention is deleted');
    assert.equal(hub.datasets.get('short_lived')!.batches.length, 0);
    assert.equal(hub.datasets.get('roadworks')!.batches.length, 2, 'datasets without retention keep theirs');
  } finally {
    await hub.close();
  }
});
