import { test, describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { generateGrid } from '@citybrain/engine';
import type { RunningServer } from '@citybrain/server';
import { pageReader, startTestServer } from './helpers.js';

/**
 * Who reads what: licence plates only for the roles that need them, on no
 * route and not in the live stream for the others; and numeric query
 * parameters of every route that are no finite number are 400s, not 500s.
 * One server on a temp SQLite store, the virtual city paused so the tests move its clock.
 */
let server: RunningServer;
let cleanup: () => Promise<void>;
const tokens: Record<'operator' | 'viewer' | 'app' | 'device', string> = { operator: '', viewer: '', app: '', device: '' };

const { get, allPages } = pageReader(() => server.url);

const T0 = Date.UTC(2024, 4, 1, 8);

before(async () => {
  // exact cameras: this is about who reads plates, not about OCR (the default devices misread some, '浙A' as '浙4' too)
  ({ server, cleanup } = await startTestServer('reads-access', generateGrid({ rows: 2, cols: 2, demand: 0.3 }), { sensing: 'perfect' }));
  tokens.operator = server.createdTokens[0].token;
  tokens.viewer = (await server.auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  tokens.app = (await server.auth.createToken({ name: 'partner app', role: 'app' })).token;
  tokens.device = (await server.auth.createToken({ name: 'det', role: 'device', device: 'det-x', intersections: ['intersection_1_1'] })).token;
  // the virtual city's cameras read plates as vehicles cross the stop lines
  for (let s = 0; s < 150; s++) await server.runtime.stepOnce();
  const plates = () => server.store.count({ kind: 'plate' });
  for (let k = 0; k < 100 && (await plates()) === 0; k++) await new Promise((r) => setTimeout(r, 20));
});

after(async () => {
  await cleanup?.();
});

describe('licence plates: operators only', () => {
  it('operators read plate events, each plate as the city\'s keyed hash (never the clear plate)', async () => {
    const a = await get('/api/v1/events?kind=plate&limit=5', tokens.operator);
    assert.equal(a.status, 200);
    const plates = a.body as { kind: string; plate: string }[];
    assert.ok(plates.length > 0, 'the virtual city read plates');
    for (const p of plates) assert.match(p.plate, /^#[A-Za-z0-9_-]{15}$/);
  });

  for (const role of ['viewer', 'app'] as const) {
    it(`${role}s are refused kind=plate with the reason, and other reads leave plate events out`, async () => {
      const refused = await get('/api/v1/events?kind=plate', tokens[role]);
      assert.equal(refused.status, 403);
      assert.deepEqual(refused.body, {
        statusCode: 403, code: 'CB_FORBIDDEN', error: 'Forbidden',
        message: `role "${role}" may not read plate events: licence plates are personal data, for operator tokens only`,
      });
      const { pages } = await allPages('/api/v1/events?limit=10000', tokens[role]);
      const kinds = new Set((pages.flat() as { kind: string }[]).map((e) => e.kind));
      assert.ok(kinds.has('lane') && !kinds.has('plate'), `kinds seen: ${[...kinds].join(', ')}`);
      // what operators see besides the plates is all there
      const all = await server.store.count();
      const plates = await server.store.count({ kind: 'plate' });
      assert.equal(pages.flat().length, all - plates);
    });
  }

  it('the OpenAPI description of the events read says so', async () => {
    const doc = (await get('/docs/json')).body as { paths: Record<string, { get: { description: string } }> };
    assert.match(doc.paths['/api/v1/events'].get.description, /Licence plates are personal data: only operator tokens read plate events\. Other roles are refused `kind=plate` \(403\)/);
  });

  it('devices and anonymous callers read no events at all', async () => {
    assert.equal((await get('/api/v1/events?kind=plate', tokens.device)).status, 403);
    assert.equal((await get('/api/v1/events?kind=plate')).status, 401);
  });

  it('no other route and not the live stream shows a plate to viewers or apps', async () => {
    const stored = (await server.store.query({ kind: 'plate', limit: 10000 })) as { plate: string }[];
    const plates = new Set(stored.map((e) => e.plate));
    assert.ok(plates.size > 0);
    const leaks = (text: string) => [...plates].filter((p) => text.includes(p)).concat(/浙A[A-Z0-9]{5}/.exec(text)?.[0] ?? []);
    // a comparison run, so its routes answer with content
    const cmp = await fetch(`${server.url}/api/v1/compare`, {
      method: 'POST', headers: { authorization: `Bearer ${tokens.operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ controllers: ['fixed', 'max-pressure'], duration: 60 }),
    });
    const cmpId = ((await cmp.json()) as { id: string }).id;
    const doc = (await get('/docs/json')).body as { paths: Record<string, Record<string, unknown>> };
    const values: Record<string, string> = { controller: 'fixed' };
    const paths = Object.keys(doc.paths).filter((p) => 'get' in doc.paths[p]).map((p) => p.replace(/\{(\w+)\}/g, (_, name: string) => {
      if (name === 'id') return p.startsWith('/api/v1/compare') ? cmpId : p.startsWith('/api/v1/intersections') ? 'intersection_1_1' : 'x';
      return values[name] ?? 'x';
    }));
    assert.ok(paths.includes('/api/v1/events') && paths.includes('/api/v1/intersections/intersection_1_1'));
    for (const path of [...paths, '/healthz', '/metrics']) {
      for (const role of ['viewer', 'app'] as const) {
        const a = await get(path, tokens[role]);
        assert.deepEqual(leaks(a.text), [], `GET ${path} as ${role} (${a.status}) shows plates`);
      }
    }
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/v1/live`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    const text = await new Promise<string>((resolve, reject) => {
      ws.on('message', (m, binary) => {
        if (!binary) resolve(m.toString());
      });
      ws.on('error', reject);
      setTimeout(() => reject(new Error('no live message')), 5000);
    });
    ws.close();
    assert.match(text, /"type":"state"/);
    assert.deepEqual(leaks(text), [], 'the live stream shows plates');
  });
});

test('numeric query parameters of every route refuse non-finite and non-decimal values with a 400 naming them', async () => {
  const doc = (await get('/docs/json')).body as { paths: Record<string, Record<string, { parameters?: { in: string; name: string; schema?: { type?: string } }[] }>> };
  const cases: string[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    const params = ops.get?.parameters ?? [];
    for (const q of params) if (q.in === 'query' && (q.schema?.type === 'number' || q.schema?.type === 'integer')) cases.push(`${p.replace(/\{\w+\}/g, 'x')}?${q.name}=`);
  }
  for (const want of ['/api/v1/events?from=', '/api/v1/events?to=', '/api/v1/events?limit=', '/api/v1/audit?limit=', '/api/v1/kpis?from=', '/api/v1/kpis?to=', '/api/v1/incidents?limit=', '/api/v1/compare/x/replay/x?from=']) {
    assert.ok(cases.includes(want), `${want} is among the numeric parameters found (${cases.join(' ')})`);
  }
  for (const c of cases) {
    const name = /\?(\w+)=$/.exec(c)![1];
    for (const v of ['Infinity', '1e309', '-Infinity', '-1e999', ' ', '0x10', 'NaN']) {
      const a = await get(c + encodeURIComponent(v), tokens.operator);
      assert.equal(a.status, 400, `GET ${c}${v} → ${a.status} ${a.text.slice(0, 200)}`);
      assert.match((a.body as { message: string }).message, new RegExp(`^querystring\\.${name}: `), `${c}${v}`);
    }
    const inf = await get(`${c}Infinity`, tokens.operator);
    assert.equal((inf.body as { message: string }).message, `querystring.${name}: must be a finite decimal number (got "Infinity")`);
  }
  // ordinary numbers still pass
  assert.equal((await get(`/api/v1/events?from=${T0}&to=1e13&limit=5`, tokens.operator)).status, 200);
  assert.equal((await get('/api/v1/kpis?from=0.5&limit=3', tokens.operator)).status, 200);
});

