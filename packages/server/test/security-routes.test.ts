/**
 * The role x route matrix: every route the server registers (heard through
 * onRoute, so none is forgotten) is called without a token and as each role,
 * and must give exactly the access packages/server/ACCESS.md documents.
 * Messages name routes, roles and statuses, never a token.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { generateGrid } from '@citybrain/engine';
import { ROLES, startServer, type Role, type RunningServer } from '@citybrain/server';

type Caller = Role | 'none';
const CALLERS: Caller[] = ['none', ...ROLES];
const ACCESS_MD = new URL('../ACCESS.md', import.meta.url);

/** "METHOD url" → the roles that may call it, or 'anyone'. */
function documentedAccess(): Map<string, Set<Role> | 'anyone'> {
  const table = new Map<string, Set<Role> | 'anyone'>();
  const rows = readFileSync(ACCESS_MD, 'utf8').split('\n').filter((l) => /^\| [A-Z]/.test(l));
  assert.ok(rows.length > 20, 'ACCESS.md has its table');
  for (const row of rows) {
    const [methods, url, access] = row.split('|').slice(1, 4).map((c) => c.trim());
    const who = access === 'anyone' ? 'anyone' : new Set(access.split(/\s+/) as Role[]);
    if (who !== 'anyone') for (const r of who) assert.ok((ROLES as readonly string[]).includes(r), `ACCESS.md: ${url}: unknown role "${r}"`);
    for (const m of methods.split(/\s+/)) {
      assert.ok(!table.has(`${m} ${url}`), `ACCESS.md lists ${m} ${url} twice`);
      table.set(`${m} ${url}`, who);
    }
  }
  return table;
}

let server: RunningServer;
let dir: string;
const registered: string[] = [];
const tokens = new Map<Role, string>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-matrix-'));
  // a dashboard build of one page, so the static routes are those of a real installation
  mkdirSync(join(dir, 'web'));
  writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>CityBrain</title>');
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }),
    storeUrl: `sqlite:${join(dir, 'city.db')}`,
    port: 0, run: false, logger: false, printToken: () => {}, webRoot: join(dir, 'web'), auth: { rateLimit: false },
    onRoute: (r) => {
      for (const m of [r.method].flat()) registered.push(`${m} ${r.url}`);
    },
  });
  tokens.set('operator', server.createdTokens[0].token);
  tokens.set('viewer', (await server.auth.createToken({ name: 'matrix viewer', role: 'viewer' })).token);
  tokens.set('app', (await server.auth.createToken({ name: 'matrix app', role: 'app' })).token);
  tokens.set('police', (await server.auth.createToken({ name: 'matrix police', role: 'police' })).token);
  tokens.set('analyst', (await server.auth.createToken({ name: 'matrix analyst', role: 'analyst' })).token);
  tokens.set('device', (await server.auth.createToken({ name: 'matrix device', role: 'device', device: 'det-m', intersections: ['intersection_1_1'] })).token);
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A concrete path for a route pattern: ids that do not exist (a 404 after the access check is access). */
const concrete = (url: string) => url.replace(/:controller\b/g, 'fixed').replace(/:[A-Za-z]+/g, 'no-such-id').replace(/\/docs\/static\/\*$/, '/docs/static/index.css').replace(/\*$/, 'index.html');

async function statusOf(method: string, url: string, caller: Caller): Promise<number> {
  const headers: Record<string, string> = {};
  if (caller !== 'none') headers.authorization = `Bearer ${tokens.get(caller)}`;
  // an empty JSON body: the access check comes before the body is looked at, so it decides alone
  const body = method === 'POST' || method === 'PUT' ? '{}' : undefined;
  if (body) headers['content-type'] = 'application/json';
  const r = await fetch(server.url + concrete(url), { method, headers, body, redirect: 'manual' });
  await r.arrayBuffer();
  return r.status;
}

test('every registered route is in ACCESS.md, and every row of it is a registered route', () => {
  const documented = documentedAccess();
  const missing = registered.filter((r) => !documented.has(r));
  assert.deepEqual(missing, [], `routes without a row in ACCESS.md: ${missing.join(', ')}`);
  const stale = [...documented.keys()].filter((r) => !registered.includes(r));
  assert.deepEqual(stale, [], `ACCESS.md rows for routes the server does not have: ${stale.join(', ')}`);
});

test('each role gets exactly the access ACCESS.md gives it on every route: 401 without a token, 403 for another role', async () => {
  const documented = documentedAccess();
  const wrong: string[] = [];
  for (const route of registered) {
    const who = documented.get(route);
    if (who === undefined) continue; // reported by the test above
    const [method, url] = route.split(' ');
    for (const caller of CALLERS) {
      const status = await statusOf(method, url, caller);
      const allowed = who === 'anyone' || (caller !== 'none' && who.has(caller));
      const want = allowed ? 'not 401/403' : caller === 'none' ? '401' : '403';
      const ok = allowed ? status !== 401 && status !== 403 : status === (caller === 'none' ? 401 : 403);
      if (!ok) wrong.push(`${route} as ${caller}: ${status}, want ${want}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the live WebSocket itself opens exactly for the roles ACCESS.md gives it', async () => {
  const who = documentedAccess().get('GET /api/v1/live');
  assert.ok(who && who !== 'anyone');
  for (const caller of CALLERS) {
    const outcome = await new Promise<number | 'open'>((resolve, reject) => {
      const headers = caller === 'none' ? {} : { authorization: `Bearer ${tokens.get(caller)}` };
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/live`, { headers });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', reject);
    });
    const want: number | 'open' = caller !== 'none' && who.has(caller) ? 'open' : caller === 'none' ? 401 : 403;
    assert.equal(outcome, want, `live stream as ${caller}`);
  }
});

test('a device reads the plans of the intersections it may report on only (ACCESS.md: the device row of /api/v1/intersections/:id/plan)', async () => {
  const headers = { authorization: `Bearer ${tokens.get('device')}` };
  const own = await fetch(`${server.url}/api/v1/intersections/intersection_1_1/plan`, { headers });
  await own.arrayBuffer();
  assert.equal(own.status, 204, 'its own intersection: allowed (no plan issued yet)');
  const other = await fetch(`${server.url}/api/v1/intersections/intersection_1_2/plan`, { headers });
  assert.equal(other.status, 403);
  assert.equal(((await other.json()) as { code: string }).code, 'CB_OUT_OF_SCOPE');
});
