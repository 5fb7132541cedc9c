/**
 * `citybrain hub` against a running server: register, load, datasets, grant,
 * query as a table, CSV and Parquet; a bad row named by line and field (exit
 * 1, nothing kept); no token, an unreachable server and a refused query said
 * clearly.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { startServer, type RunningServer } from '@citybrain/server';
import { MAIN } from './run-cli.js';

let server: RunningServer;
let dir: string;
let transport: string;

/** The CLI in a child process, asynchronously (the server answers from this one). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'hub', ...args], { env: { ...process.env, CITYBRAIN_TOKEN: '', CITYBRAIN_SERVER: '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-hub-cli-'));
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }), storeUrl: `sqlite:${join(dir, 'city.db')}`, port: 0, run: false, street: false, logger: false,
    printToken: () => {}, webRoot: false, auth: { rateLimit: false }, hub: { dir: join(dir, 'hub'), deviceEvents: false },
  });
  await server.hub.registerDepartment({ actor: 'test', role: 'operator' }, { id: 'transport', name: 'Transport Bureau' });
  await server.hub.registerDepartment({ actor: 'test', role: 'operator' }, { id: 'police', name: 'Traffic Police' });
  transport = (await server.auth.createToken({ name: 'transport analyst', role: 'analyst', organisation: 'transport' })).token;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('citybrain hub: register, load, datasets, grant, query (table, CSV, Parquet); errors named', async () => {
  const as = { CITYBRAIN_SERVER: server.url, CITYBRAIN_TOKEN: transport };
  const spec = join(dir, 'roadworks.json');
  writeFileSync(spec, JSON.stringify({
    id: 'roadworks', owner: 'transport', description: 'Planned roadworks', updateFrequency: 'daily', licence: 'CC-BY-4.0', classification: 'restricted',
    columns: [{ name: 'road', type: 'string', nullable: false }, { name: 'starts', type: 'timestamp' }, { name: 'lanes_closed', type: 'integer', nullable: false }],
  }));
  const reg = await cli(['register', spec], as);
  assert.equal(reg.code, 0, reg.stderr);
  assert.match(reg.stdout, /registered dataset "roadworks" \(restricted, owner transport, 3 columns\)/);

  const csv = join(dir, 'roadworks.csv');
  writeFileSync(csv, 'road,starts,lanes_closed\nroad_1,2024-05-01T08:00:00Z,1\nroad_2,2024-05-02T09:30:00+08:00,2\n');
  const load = await cli(['load', 'roadworks', csv], as);
  assert.equal(load.code, 0, load.stderr);
  assert.match(load.stdout, /^loaded 2 rows into "roadworks" as batch /);

  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'road,starts,lanes_closed\nroad_3,2024-05-03T08:00:00Z,1\nroad_4,2024-05-03T08:00:00Z,two\n');
  const refused = await cli(['load', 'roadworks', bad], as);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /hub load roadworks: the server answered 400: CB_INVALID_DATA: line 3, field "lanes_closed": expected an integer .*nothing of this load is kept/);

  const list = await cli(['datasets'], as);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /roadworks\s+transport\s+restricted\s+2\s+\d+\s+1\s+admin/);

  // the police cannot read it until granted
  const police = (await server.auth.createToken({ name: 'police analyst', role: 'analyst', organisation: 'police' })).token;
  const before = await cli(['query', 'SELECT count(*) AS n FROM roadworks'], { CITYBRAIN_SERVER: server.url, CITYBRAIN_TOKEN: police });
  assert.equal(before.code, 1);
  assert.match(before.stderr, /hub query: the server answered 403: CB_FORBIDDEN: query refused: "roadworks" is not a dataset you may read/);
  const grant = await cli(['grant', 'roadworks', '--department', 'police', '--access', 'read', '--mask', 'road=hash'], as);
  assert.equal(grant.code, 0, grant.stderr);
  assert.match(grant.stdout, /granted read on "roadworks" to department police \(grant g_/);
  const q = await cli(['query', 'SELECT count(*) AS n, sum(lanes_closed) AS lanes FROM roadworks', '--server', server.url, '--token', police]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /n\s+lanes\n[- ]+\n2\s+3/);
  assert.match(q.stderr, /^1 rows in \d+ ms/);
  const c = await cli(['query', 'SELECT road FROM roadworks ORDER BY lanes_closed', '--format', 'csv'], as);
  assert.equal(c.stdout, 'road\r\nroad_1\r\nroad_2\r\n');
  const out = join(dir, 'r.parquet');
  const p = await cli(['query', 'SELECT * FROM roadworks', '--format', 'parquet', '--out', out], as);
  assert.equal(p.code, 0, p.stderr);
  assert.ok(existsSync(out) && statSync(out).size > 100);
  assert.match(p.stderr, /2 rows written to /);

  // no token, an unreachable server, a usage mistake
  const none = await cli(['datasets'], { CITYBRAIN_SERVER: server.url });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /hub: no token: give --token T or set CITYBRAIN_TOKEN/);
  // a port nothing listens on: one just closed
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const away = await cli(['datasets', '--server', `http://127.0.0.1:${port}`, '--token', 'x']);
  assert.equal(away.code, 1);
  assert.match(away.stderr, new RegExp(`hub datasets: cannot reach the server at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  const wrong = await cli(['load', 'roadworks'], as);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /usage: citybrain hub load DATASET FILE/);
  const badToken = await cli(['datasets', '--token', 'nope', '--server', server.url]);
  assert.equal(badToken.code, 1);
  assert.match(badToken.stderr, /the server answered 401: .*\(check --token or CITYBRAIN_TOKEN\)/);
});
