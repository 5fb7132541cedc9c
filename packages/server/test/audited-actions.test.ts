import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { type Incident } from '@citybrain/brain';
import { openStore, startServer, type RunningServer } from '@citybrain/server';
import { failing } from './helpers.js';

// A server whose store can be made to fail every write: an operator action must then change nothing and answer 503.
let server: RunningServer;
let dir: string;
let operator: string;
let store: ReturnType<typeof failing>;

async function call(method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${operator}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-audited-'));
  store = failing(await openStore(`sqlite:${join(dir, 'city.db')}`));
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2, demand: 0.1 }), store: store.store,
    port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false },
  });
  operator = server.createdTokens[0].token;
  for (let k = 0; k < 30; k++) await server.runtime.stepOnce();
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything an operator action may change, and the audit log's length. */
async function observed() {
  const rt = server.runtime;
  return {
    controllers: [...rt.sim.net.signalised].map((i) => rt.assignment.controllerOf(i)),
    speed: rt.speed, running: rt.isRunning,
    emergency: rt.emergency.active().map((e) => e.id),
    vehicles: rt.sim.vehicleStatus('ev-down').state,
    acknowledged: rt.incidents.incidents.map((i) => i.acknowledged),
    tokens: (await server.store.listTokens()).map((t) => [t.id, t.revokedAt ?? null]),
    audit: (await server.store.queryAudit({ limit: 10000 })).length,
    state: [...(await server.store.readState())],
  };
}

test('with the store down, every operator action answers 503 with Retry-After and changes nothing; once it is back, each is applied and audited', async () => {
  const rt = server.runtime;
  const road = rt.sim.net.roadIds[0];
  // an active emergency vehicle and a detected incident to act on, and a token to revoke
  assert.equal((await call('POST', '/api/v1/emergency', { id: 'ev-up', route: [road] })).status, 201);
  const inc: Incident = {
    id: 'inc-1', status: 'active', lane: rt.sim.net.laneId(0), road, intersection: rt.sim.net.interIds[0], x: 0, y: 0, since: 1, detectedAt: 20, detectedTs: rt.ts,
    clearedAt: null, clearedTs: null, evidence: { greenSeconds: 20, queue: 3 }, acknowledged: null,
  };
  const detector = rt.incidents.exportState();
  rt.incidents.importState({ ...detector, incidents: [inc], serial: 1 });
  const spare = await call('POST', '/api/v1/tokens', { name: 'spare', role: 'viewer' });
  assert.equal(spare.status, 201);

  const actions: [string, string, unknown?][] = [
    ['PUT', '/api/v1/intersections/intersection_1_1/controller', { controller: 'sotl' }],
    ['PUT', '/api/v1/regions/city/controller', { controller: 'fixed' }],
    ['PUT', '/api/v1/simulation', { speed: 7, running: true }],
    ['POST', '/api/v1/emergency', { id: 'ev-down', route: [road] }],
    ['DELETE', '/api/v1/emergency/ev-up'],
    ['POST', '/api/v1/incidents/inc-1/acknowledge'],
    ['POST', '/api/v1/tokens', { name: 'new', role: 'viewer' }],
    ['DELETE', `/api/v1/tokens/${spare.body.id}`],
  ];
  const before = await observed();
  store.fail(true);
  for (const [method, path, body] of actions) {
    const r = await call(method, path, body);
    assert.equal(r.status, 503, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'CB_STORE_UNAVAILABLE', `${method} ${path}`);
    assert.ok(Number(r.retryAfter) > 0, `${method} ${path}: Retry-After`);
  }
  store.fail(false);
  assert.deepEqual(await observed(), before, 'nothing changed, nothing audited');

  for (const [method, path, body] of actions) {
    const r = await call(method, path, body);
    assert.ok(r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  }
  rt.stop();
  const afterwards = await observed();
  assert.equal(afterwards.audit, before.audit + actions.length, 'each action audited once');
  assert.deepEqual(afterwards.controllers, before.controllers.map(() => 'fixed'));
  assert.deepEqual([afterwards.speed, afterwards.emergency], [7, ['ev-down']]);
  // the city runs at 7x meanwhile: the dispatched vehicle may have entered already
  assert.ok(['waiting', 'running'].includes(afterwards.vehicles), `ev-down is ${afterwards.vehicles}`);
  assert.ok(afterwards.acknowledged[0]);
  // what the actions set is stored with their audit entries
  const state = new Map(afterwards.state);
  assert.deepEqual(state.get('simulation'), { speed: 7, running: true });
  assert.equal(state.get('controller:intersection_1_1'), 'fixed');
  assert.deepEqual(state.get(`incident-ack:inc-1@${inc.detectedTs}`), afterwards.acknowledged[0]);
});

test('concurrent actions are audited in the order they are applied, each with the state before it', async () => {
  const paths = ['sotl', 'actuated', 'webster', 'fixed'].map((c) => call('PUT', '/api/v1/intersections/intersection_2_2/controller', { controller: c }));
  const replies = await Promise.all(paths);
  assert.ok(replies.every((r) => r.status === 200));
  const log = (await server.store.queryAudit({ target: 'intersection:intersection_2_2', order: 'asc' })).slice(-4);
  for (let k = 1; k < log.length; k++) assert.equal(log[k].before, log[k - 1].after, 'each before is the previous after');
  assert.equal(server.runtime.assignment.controllerOf(server.runtime.sim.net.interIndex.get('intersection_2_2')!), log.at(-1)!.after);
});

test('/healthz answers 503 naming the store\'s error while the store is down, 200 once it is back', async () => {
  store.fail(true);
  const down = await fetch(`${server.url}/healthz`);
  store.fail(false);
  assert.equal(down.status, 503);
  assert.ok(Number(down.headers.get('retry-after')) > 0);
  assert.deepEqual(await down.json(), { status: 'store-unavailable', store: 'sqlite', ingestQueueEvents: 0, error: 'test: the store is down' });
  const up = await fetch(`${server.url}/healthz`);
  assert.equal(up.status, 200);
  assert.equal(((await up.json()) as { status: string }).status, 'ok');
});
