/**
 * The city data hub through its API: departments and their tokens, datasets
 * of every classification loaded as CSV, JSON Lines and Parquet, grants and
 * masks, refused reads and writes (changing nothing, audited), failed loads
 * (nothing kept, line and field named), SQL that tries to leave the caller's
 * datasets, the time and row limits, and a derived dataset's lineage.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import { generateGrid } from '@citybrain/engine';
import { hmacPads, startServer, type RunningServer } from '@citybrain/server';
import { hubActors, tokenCaller } from './helpers.js';

let server: RunningServer;
let dir: string;
let hubDir: string;
const tok: Record<string, string> = {};

const call = tokenCaller(() => server.url, tok);

const query = (who: string, sql: string, format = 'json') => call(who, 'POST', '/api/v1/hub/query', { sql, format });
const files = (ds: string) => (existsSync(join(hubDir, ds)) ? readdirSync(join(hubDir, ds)).sort() : []);
async function audit(action: string): Promise<any[]> {
  return server.store.queryAudit({ action, order: 'desc', limit: 50 });
}

const base = { updateFrequency: 'daily', licence: 'CC-BY-4.0', description: 'test data' };
const ROADWORKS_CSV = 'road,starts,lanes_closed\nroad_1,2024-05-01T08:00:00Z,1\nroad_2,2024-05-02T09:30:00+08:00,2\n';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-hub-'));
  hubDir = join(dir, 'hub');
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }), storeUrl: `sqlite:${join(dir, 'city.db')}`, port: 0, run: false, street: false, logger: false,
    printToken: () => {}, webRoot: false, auth: { rateLimit: false }, hub: { dir: hubDir, limits: { queryMs: 1500, maxRows: 1000 } },
  });
  await hubActors(server, tok, call);

  const reg = async (spec: Record<string, unknown>) => {
    const r = await call('transport', 'POST', '/api/v1/hub/datasets', { ...base, owner: 'transport', ...spec });
    assert.equal(r.status, 201, r.text);
  };
  await reg({ id: 'roadworks', classification: 'public', columns: [{ name: 'road', type: 'string', nullable: false }, { name: 'starts', type: 'timestamp' }, { name: 'lanes_closed', type: 'integer', nullable: false }] });
  await reg({ id: 'counts', classification: 'internal', columns: [{ name: 'road', type: 'string' }, { name: 'day', type: 'date' }, { name: 'vehicles', type: 'integer' }] });
  await reg({ id: 'incidents', classification: 'restricted', columns: [{ name: 'road', type: 'string' }, { name: 'severity', type: 'double' }, { name: 'note', type: 'string' }] });
  await reg({ id: 'plates', classification: 'personal', columns: [{ name: 'camera', type: 'string' }, { name: 'plate', type: 'string', personal: true }, { name: 'seen', type: 'timestamp' }] });

  const load = async (ds: string, body: string, type: string) => {
    const r = await call('transport', 'POST', `/api/v1/hub/datasets/${ds}/load`, body, type);
    assert.equal(r.status, 201, r.text);
  };
  await load('roadworks', ROADWORKS_CSV, 'text/csv');
  await load('counts', '{"road":"road_1","day":"2024-05-01","vehicles":1200}\n{"road":"road_2","day":"2024-05-01","vehicles":800}\n', 'application/x-ndjson');
  await load('incidents', 'road,severity,note\nroad_1,0.5,"driver said ""ok"""\nroad_2,0.9,same note\nroad_2,0.2,same note\n', 'text/csv');
  await load('plates', 'camera,plate,seen\ncam_1,ZJA12345,2024-05-01T08:00:00Z\ncam_2,ZJA12345,2024-05-01T08:05:00Z\ncam_2,ZJB99999,2024-05-01T08:06:00Z\n', 'text/csv');

  // the police read incidents with the note hashed, and the plates' personal column as a keyed hash; the weather service reads plates without naming the plate
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/incidents/grants', { department: 'police', access: 'read', masks: { note: 'hash' } })).status, 201);
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/plates/grants', { department: 'police', access: 'read', personal: ['plate'], masks: { plate: 'hash' } })).status, 201);
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/plates/grants', { department: 'weather', access: 'read' })).status, 201);
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a department token carries its department; one naming an unregistered department is refused', async () => {
  const me = await call('police', 'GET', '/api/v1/me');
  assert.equal(me.json.organisation, 'police');
  assert.equal(me.json.role, 'analyst');
  const bad = await call('operator', 'POST', '/api/v1/tokens', { name: 'x', role: 'analyst', organisation: 'nobody' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /body\.organisation: no department "nobody"/);
  // an analyst reaches the hub only
  assert.equal((await call('police', 'GET', '/api/v1/network')).status, 403);
});

test('public: every reading role reads it, in clear; its timestamps are UTC', async () => {
  for (const who of ['viewer', 'app', 'police', 'weather', 'operator', 'transport']) {
    const r = await query(who, 'SELECT road, starts, lanes_closed FROM roadworks ORDER BY road');
    assert.equal(r.status, 200, `${who}: ${r.text}`);
    assert.deepEqual(r.json.rows.map((x: unknown[]) => x[0]), ['road_1', 'road_2'], who);
  }
  const r = await query('viewer', 'SELECT epoch_ms(starts) AS ms FROM roadworks ORDER BY road');
  assert.deepEqual(r.json.rows.map((x: unknown[]) => Number(x[0])), [Date.UTC(2024, 4, 1, 8), Date.UTC(2024, 4, 2, 1, 30)]);
});

test('internal: departments and operators read it; tokens of no department are refused, audited', async () => {
  for (const who of ['police', 'weather', 'operator']) assert.equal((await query(who, 'SELECT sum(vehicles) AS n FROM counts')).json.rows[0][0], '2000', who);
  for (const who of ['viewer', 'app']) {
    const r = await query(who, 'SELECT * FROM counts');
    assert.equal(r.status, 403, who);
    assert.match(r.json.message, /"counts" is not a dataset you may read/);
  }
  const refused = await audit('hub.query-refused');
  assert.ok(refused.some((e) => e.actor.startsWith('app (') && (e.after as { sql: string }).sql === 'SELECT * FROM counts'));
});

test('restricted: the owner reads in clear, a grant reads through its masks (the keyed hash: equal values, equal hashes), others are refused', async () => {
  const own = await query('transport', 'SELECT note FROM incidents ORDER BY severity');
  assert.deepEqual(own.json.rows.map((r: unknown[]) => r[0]), ['same note', 'driver said "ok"', 'same note']);
  const police = await query('police', 'SELECT road, note FROM incidents ORDER BY severity');
  assert.equal(police.status, 200, police.text);
  const notes = police.json.rows.map((r: unknown[]) => r[1] as string);
  for (const n of notes) assert.match(n, /^[0-9a-f]{64}$/);
  assert.equal(notes[0], notes[2]);
  assert.notEqual(notes[0], notes[1]);
  assert.ok(!police.text.includes('same note'));
  // the grant's columns without a mask read in clear
  assert.deepEqual(police.json.rows.map((r: unknown[]) => r[0]), ['road_2', 'road_1', 'road_2']);
  for (const who of ['weather', 'viewer', 'app']) assert.equal((await query(who, 'SELECT count(*) FROM incidents')).status, 403, who);
  // operators administer every dataset: they read restricted data (audited like anyone)
  assert.equal((await query('operator', 'SELECT count(*) FROM incidents')).status, 200);
});

test('personal: the personal column reads only through a grant naming it (here hashed), as NULL for every other reader, in clear for the owner', async () => {
  const sql = 'SELECT camera, plate FROM plates ORDER BY seen';
  const own = await query('transport', sql);
  assert.deepEqual(own.json.rows.map((r: unknown[]) => r[1]), ['ZJA12345', 'ZJA12345', 'ZJB99999']);
  const police = await query('police', sql);
  const hashed = police.json.rows.map((r: unknown[]) => r[1] as string);
  for (const h of hashed) assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(hashed[0], hashed[1], 'the same plate, the same hash: trips can still be matched');
  assert.notEqual(hashed[1], hashed[2]);
  for (const who of ['weather', 'operator']) {
    const r = await query(who, sql);
    assert.equal(r.status, 200, `${who}: ${r.text}`);
    assert.deepEqual(r.json.rows.map((x: unknown[]) => x[1]), [null, null, null], `${who} reads no plate`);
    assert.deepEqual(r.json.rows.map((x: unknown[]) => x[0]), ['cam_1', 'cam_2', 'cam_2']);
  }
  // a filter on the hidden column finds nothing: the mask is inside the view, not applied to a result read in clear
  assert.equal((await query('weather', "SELECT count(*) FROM plates WHERE plate = 'ZJA12345'")).json.rows[0][0], '0');
  assert.equal((await query('viewer', sql)).status, 403);
  // the catalogue shows each caller how each column reads for it
  const cat = (await call('weather', 'GET', '/api/v1/hub/datasets')).json as { id: string; columns: { name: string; reads: string }[] }[];
  assert.equal(cat.find((d) => d.id === 'plates')!.columns.find((c) => c.name === 'plate')!.reads, 'null');
  assert.deepEqual(cat.map((d) => d.id).sort(), ['counts', 'plates', 'roadworks']);
});

test('grants are checked: a personal column a grant names must be personal; only a dataset\'s admins grant (refusal audited)', async () => {
  const r = await call('transport', 'POST', '/api/v1/hub/datasets/plates/grants', { department: 'weather', access: 'read', personal: ['camera'] });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /personal\[0\]: column "camera" of "plates" is not personal/);
  const police = await call('police', 'POST', '/api/v1/hub/datasets/plates/grants', { department: 'police', access: 'admin', personal: ['plate'] });
  assert.equal(police.status, 403);
  assert.ok((await audit('hub.refused')).some((e) => e.target === 'dataset:plates' && e.actor.startsWith('police analyst')));
});

test('a refused write changes nothing and is audited', async () => {
  const before = files('roadworks');
  const r = await call('police', 'POST', '/api/v1/hub/datasets/roadworks/load', ROADWORKS_CSV, 'text/csv');
  assert.equal(r.status, 403);
  assert.match(r.json.message, /loading on dataset "roadworks" needs write access/);
  assert.deepEqual(files('roadworks'), before);
  assert.equal((await query('viewer', 'SELECT count(*) FROM roadworks')).json.rows[0][0], '2');
  const e = (await audit('hub.refused')).find((x) => x.target === 'dataset:roadworks');
  assert.ok(e, 'the refusal is in the audit log');
  assert.deepEqual(e.after, { action: 'loading', needs: 'write', has: 'read' });
});

test('a failed load keeps nothing and names the line and field (CSV, JSON Lines, Parquet, appended rows)', async () => {
  const before = files('roadworks');
  const csv = 'road,starts,lanes_closed\nroad_3,2024-05-03T08:00:00Z,1\nroad_4,2024-05-03T08:00:00Z,1\nroad_5,2024-05-03T08:00:00Z,two\nroad_6,2024-05-03T08:00:00Z,1\n';
  const r = await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/load', csv, 'text/csv');
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'CB_INVALID_DATA');
  assert.match(r.json.message, /^line 4, field "lanes_closed": expected an integer/);
  const missing = await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/load', 'road,starts,lanes_closed\n,2024-05-03T08:00:00Z,1\n', 'text/csv');
  assert.match(missing.json.message, /^line 2, field "road": is required/);
  const jl = await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/load?format=jsonl', '{"road":"r","lanes_closed":1}\n{"road":"r","lanes_closed":1,"colour":"red"}\n', 'application/x-ndjson');
  assert.match(jl.json.message, /^line 2, field "colour": the dataset's schema has no such column/);
  const badTime = await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/rows', { rows: [{ road: 'r', lanes_closed: 1 }, { road: 'r', lanes_closed: 1, starts: '2024-05-03 08:00' }] });
  assert.match(badTime.json.message, /^rows\[1\], field "starts": expected an ISO 8601 time with its offset/);

  // a Parquet file whose third row has no road (a required column)
  const tmp = join(dir, 'upload.parquet');
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`COPY (SELECT * FROM (VALUES ('a', TIMESTAMPTZ '2024-05-01 00:00:00+00', 1), ('b', NULL, 2), (NULL, NULL, 3)) t(road, starts, lanes_closed)) TO '${tmp}' (FORMAT parquet)`);
  c.closeSync();
  inst.closeSync();
  const { readFileSync } = await import('node:fs');
  const pq = await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/load', new Uint8Array(readFileSync(tmp)), 'application/vnd.apache.parquet');
  assert.equal(pq.status, 400);
  assert.match(pq.json.message, /^row 3, field "road": is required/);

  assert.deepEqual(files('roadworks'), before, 'no file of a failed load is left, staging or otherwise');
  assert.equal((await query('viewer', 'SELECT count(*) FROM roadworks')).json.rows[0][0], '2');
  assert.equal(server.hub.datasets.get('roadworks')!.batches.length, 1);

  // the same Parquet file without the bad row loads, and appended rows too
  const inst2 = await DuckDBInstance.create(':memory:');
  const c2 = await inst2.connect();
  await c2.run(`COPY (SELECT * FROM (VALUES ('a', TIMESTAMPTZ '2024-05-01 00:00:00+00', 1), ('b', NULL, 2)) t(road, starts, lanes_closed)) TO '${tmp}' (FORMAT parquet)`);
  c2.closeSync();
  inst2.closeSync();
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/load', new Uint8Array(readFileSync(tmp)), 'application/vnd.apache.parquet')).status, 201);
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/roadworks/rows', { rows: [{ road: 'c', lanes_closed: 3, starts: 1714550400000 }] })).status, 201);
  assert.equal((await query('viewer', 'SELECT count(*) FROM roadworks')).json.rows[0][0], '5');
  const loads = (await audit('hub.load')).filter((e) => e.target === 'dataset:roadworks');
  assert.ok(loads.some((e) => (e.after as { rows: number; source: string }).rows === 2 && (e.after as { source: string }).source === 'parquet'));
});

test('an unauthorised query is refused without reading data (its files are not even there)', async () => {
  const file = server.hub.datasets.get('incidents')!.batches[0].file;
  const path = join(hubDir, 'incidents', file);
  renameSync(path, `${path}.away`);
  try {
    const r = await query('weather', 'SELECT * FROM incidents');
    // a query that read the dataset would fail on the missing file; this one is refused before any view exists
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'CB_FORBIDDEN');
    assert.match(r.json.message, /"incidents" is not a dataset you may read/);
  } finally {
    renameSync(`${path}.away`, path);
  }
});

test('SQL that reaches beyond the caller\'s datasets is refused, and runs nothing', async () => {
  const plateFile = join(hubDir, 'plates', server.hub.datasets.get('plates')!.batches[0].file);
  const out = join(dir, 'leak.csv');
  const attempts = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    `SELECT * FROM read_parquet('${plateFile}')`,
    `SELECT * FROM '${plateFile}'`,
    `ATTACH '${join(dir, 'x.db')}' AS x`,
    `COPY roadworks TO '${out}'`,
    `COPY (SELECT * FROM roadworks) TO '${out}' (FORMAT csv)`,
    'INSTALL httpfs',
    'LOAD httpfs',
    'PRAGMA version',
    'SET enable_external_access = true',
    'SELECT sql FROM duckdb_views()',
    'SELECT * FROM information_schema.tables',
    'SELECT * FROM main.roadworks',
    'SELECT 1; SELECT 2',
    `SELECT * FROM (WITH "${plateFile}" AS (SELECT 1) SELECT 1), "${plateFile}"`,
    'CREATE TABLE t AS SELECT 1',
  ];
  for (const sql of attempts) {
    const r = await query('weather', sql);
    // refused by the check on DuckDB's parse, before any view exists; two statements are a malformed request
    assert.equal(r.status, sql.includes('; SELECT') ? 400 : 403, `${sql}: ${r.status} ${r.text}`);
    assert.match(r.json.message, /^query refused: /, sql);
    assert.ok(!r.text.includes('root:'), sql);
    assert.ok(!r.text.includes('ZJA12345'), sql);
  }
  assert.ok(!existsSync(out), 'COPY wrote nothing');
  assert.ok(!existsSync(join(dir, 'x.db')), 'ATTACH made nothing');
});

test('query limits: past the time limit the query is interrupted; past the row limit the result is cut and says so', async () => {
  const slow = await query('transport', 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 10000000000) SELECT count(*) FROM r');
  assert.equal(slow.status, 422, slow.text);
  assert.equal(slow.json.code, 'CB_QUERY_LIMIT');
  const many = await query('transport', 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 5000) SELECT i FROM r');
  assert.equal(many.json.rowCount, 1000);
  assert.equal(many.json.truncated, true);
  assert.equal(many.headers.get('x-citybrain-truncated'), 'true');
});

test('results as CSV and Parquet', async () => {
  const csv = await query('viewer', "SELECT road, lanes_closed FROM roadworks WHERE road IN ('road_1', 'road_2') ORDER BY road", 'csv');
  assert.equal(csv.text, 'road,lanes_closed\r\nroad_1,1\r\nroad_2,2\r\n');
  const r = await fetch(`${server.url}/api/v1/hub/query`, { method: 'POST', headers: { authorization: `Bearer ${tok.viewer}`, 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT road FROM roadworks', format: 'parquet' }) });
  const bytes = Buffer.from(await r.arrayBuffer());
  assert.equal(r.headers.get('content-type'), 'application/vnd.apache.parquet');
  assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
});

test('a derived dataset records its inputs and SQL, and is classified at least as strictly as its inputs', async () => {
  const sql = 'SELECT road, count(*) AS incidents, max(severity) AS worst FROM incidents GROUP BY road';
  const open = await call('police', 'POST', '/api/v1/hub/datasets', { ...base, id: 'incident_roads', owner: 'police', classification: 'public', sql });
  assert.equal(open.status, 400);
  assert.match(open.json.message, /classification: a dataset derived from a restricted one is classified restricted or personal, not public/);
  const made = await call('police', 'POST', '/api/v1/hub/datasets', { ...base, id: 'incident_roads', owner: 'police', classification: 'restricted', sql });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(made.json.lineage.inputs, ['incidents']);
  assert.equal(made.json.lineage.sql, sql);
  assert.match(made.json.lineage.by, /^police analyst/);
  assert.deepEqual(made.json.columns.map((c: { name: string; type: string }) => [c.name, c.type]), [['road', 'string'], ['incidents', 'integer'], ['worst', 'double']]);
  const r = await query('police', 'SELECT road, incidents FROM incident_roads ORDER BY road');
  assert.deepEqual(r.json.rows, [['road_1', '1'], ['road_2', '2']]);
  // derived for another department: refused
  assert.equal((await call('police', 'POST', '/api/v1/hub/datasets', { ...base, id: 'x_roads', owner: 'transport', classification: 'restricted', sql })).status, 403);
});

test('every read is in the dataset\'s access log: who, the query, how many rows, what was masked', async () => {
  const log = await call('transport', 'GET', '/api/v1/hub/datasets/plates/access-log');
  assert.equal(log.status, 200);
  const reads = log.json.filter((e: { action: string }) => e.action === 'hub.read');
  const police = reads.find((e: { actor: string }) => e.actor.startsWith('police analyst'));
  assert.ok(police);
  assert.equal(police.role, 'analyst@police');
  assert.equal(police.after.rows, 3);
  assert.deepEqual(police.after.exposure, { plate: 'hash' });
  assert.ok(reads.some((e: { actor: string; after: { exposure: Record<string, string> } }) => e.actor.startsWith('weather analyst') && e.after.exposure.plate === 'null'));
  assert.equal((await call('weather', 'GET', '/api/v1/hub/datasets/plates/access-log')).status, 403, 'the log is its admins\'');
});

test('the hub is kept across a restart (metadata in the store, data in Parquet)', async () => {
  const before = (await query('transport', 'SELECT count(*) FROM roadworks')).json.rows[0][0];
  const url = `sqlite:${join(dir, 'city.db')}`;
  await server.close();
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }), storeUrl: url, port: 0, run: false, street: false, logger: false,
    printToken: () => {}, webRoot: false, auth: { rateLimit: false }, hub: { dir: hubDir },
  });
  assert.equal((await query('transport', 'SELECT count(*) FROM roadworks')).json.rows[0][0], before);
  const police = await query('police', 'SELECT plate FROM plates');
  assert.match(police.json.rows[0][0], /^[0-9a-f]{64}$/, 'grants and the masking key are kept');
});

test('the keyed hash a mask computes in SQL is HMAC-SHA256 under the dataset\'s key (HMAC of the hub key and the dataset id)', async () => {
  const [inner, outer] = hmacPads('the-hub-key', 'plates');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const r = await c.runAndReadAll(`SELECT sha256(unhex('${outer}') || unhex(sha256(unhex('${inner}') || encode(CAST(v AS VARCHAR))))) AS h FROM (VALUES ('浙A12345'), (NULL)) t(v)`);
    const datasetKey = createHmac('sha256', 'the-hub-key').update('plates').digest();
    assert.deepEqual(r.getRowObjectsJson().map((x) => x.h), [createHmac('sha256', datasetKey).update('浙A12345').digest('hex'), null]);
  } finally {
    c.closeSync();
  }
});
