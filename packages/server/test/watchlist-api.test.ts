import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { generateGrid } from '@citybrain/engine';
import type { PlateEvent } from '@citybrain/brain';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, startServer, type RunningServer } from '@citybrain/server';
import { MQTT_URL, wrapStore, mqttUnavailable, startTestServer, uid, until } from './helpers.js';

// One server on a temp SQLite store, its city paused; a camera device posts plate reads through ingestion.
const noBroker = await mqttUnavailable();
if (noBroker) console.log(`${noBroker} (the MQTT publication of alerts is not checked)`);
const prefix = `cbtest_${uid()}`;
let server: RunningServer;
let cleanup: () => Promise<void>;
let police: string, operator: string, viewer: string, app: string, camera: string;
let subscriber: MqttClient | undefined;
const published: { topic: string; message: { type: string; alert: { kind: string } } }[] = [];

async function call(method: string, path: string, token?: string, body?: unknown) {
  const r = await fetch(server.url + path, {
    method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  ({ server, cleanup } = await startTestServer('watchlist', generateGrid({ rows: 3, cols: 3, demand: 0.05 }), noBroker ? {} : { mqttUrl: MQTT_URL, mqttSession: { topicPrefix: prefix, clientId: `cbtest-wl-${uid()}` } }));
  operator = server.createdTokens[0].token;
  police = (await server.auth.createToken({ name: 'police control room', role: 'police' })).token;
  viewer = (await server.auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  app = (await server.auth.createToken({ name: 'a third-party app', role: 'app' })).token;
  const net = server.runtime.sim.net;
  camera = (await server.auth.createToken({ name: 'camera', role: 'device', device: 'cam-test', intersections: [...net.interIds] })).token;
  if (!noBroker) {
    subscriber = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-police-${uid()}` });
    subscriber.on('message', (topic, payload) => published.push({ topic, message: JSON.parse(payload.toString()) }));
    await subscriber.subscribeAsync(`${prefix}/alerts/#`, { qos: 1 });
  }
});

after(async () => {
  await subscriber?.endAsync();
  await cleanup?.();
});

let seq = 0;
function read(plate: string, intersection: string, ts: number): PlateEvent {
  const net = server.runtime.sim.net;
  const i = net.interIndex.get(intersection)!;
  const lane = net.laneId(net.incomingLanes(i)[0]);
  return { kind: 'plate', id: `r${++seq}`, device: 'cam-test', ts, intersection, lane, camera: `cam-test-${intersection}`, plate, confidence: 0.95 };
}

test('the watchlist over the API: register import, a stolen list, alerts with evidence to the police (API, MQTT), acknowledged and looked up with audit; plates kept only as hashes', async () => {
  // roles: viewers and apps never see the watchlist; the police and operators do
  for (const t of [viewer, app]) assert.equal((await call('GET', '/api/v1/watchlist/alerts', t)).status, 403);
  assert.equal((await call('GET', '/api/v1/watchlist/alerts', police)).status, 200);

  const bad = await call('POST', '/api/v1/watchlist/register', police, { csv: 'plate,use\n浙A11111,private\n浙AO1111,private\n' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /register CSV line 3: "浙AO1111" is no Chinese plate/);
  const imported = await call('POST', '/api/v1/watchlist/register', police, { csv: 'plate,use\n浙A11111,private\n浙A22222,private\n浙A33333,taxi\n', replace: true });
  assert.deepEqual(imported.body, { imported: 3, vehicles: 3 });
  const entry = await call('POST', '/api/v1/watchlist/entries', operator, { list: 'stolen', plate: '浙A22222', note: 'case 7' });
  assert.equal(entry.status, 200);
  assert.equal(entry.body.plate, undefined, 'a list answers without plates');
  assert.equal((await call('POST', '/api/v1/watchlist/entries', operator, { list: 'wanted', plate: '##' })).status, 400);

  // corners of the 3 x 3 grid: 600 m apart on either axis
  const now = Date.now();
  const posted = await fetch(`${server.url}/api/v1/events`, {
    method: 'POST', headers: { authorization: `Bearer ${camera}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events: [
      read('浙A99999', 'intersection_1_1', now), // unregistered
      read('浙A2ZZ22', 'intersection_1_1', now + 1000), // stolen 浙A22222, read with two Z for 2
      read('浙A11111', 'intersection_1_1', now + 2000),
      read('浙A11111', 'intersection_3_3', now + 3000), // 850 m in 1 s: cloned
    ] }),
  });
  assert.equal(posted.status, 200);
  await until(async () => (await call('GET', '/api/v1/watchlist/alerts', police)).body.length === 3, 5000, 'three alerts');
  const alerts = (await call('GET', '/api/v1/watchlist/alerts', police)).body as { id: string; kind: string; alert: { plate: string; explanation: string; evidence: Record<string, unknown> } }[];
  const byKind = Object.fromEntries(alerts.map((a) => [a.kind, a]));
  assert.deepEqual(Object.keys(byKind).sort(), ['cloned', 'stolen', 'unregistered']);
  assert.equal(byKind.unregistered.alert.plate, '浙A99999');
  assert.equal((byKind.stolen.alert.evidence as { confusions: number }).confusions, 2);
  assert.equal((byKind.cloned.alert.evidence as { metres: number }).metres, 849);
  assert.match(byKind.cloned.alert.explanation, /849 m apart 1 s apart/);

  if (!noBroker) {
    await until(() => published.length >= 3, 5000, 'alerts over MQTT');
    assert.deepEqual(published.map((p) => p.topic).sort(), [`${prefix}/alerts/cloned`, `${prefix}/alerts/stolen`, `${prefix}/alerts/unregistered`]);
    assert.equal(published[0].message.type, 'watchlist.alert');
  }

  const ack = await call('POST', `/api/v1/watchlist/alerts/${encodeURIComponent(byKind.stolen.id)}/acknowledge`, police);
  assert.equal(ack.status, 200);
  assert.match(ack.body.acknowledged.by, /police control room/);
  assert.equal((await call('POST', '/api/v1/watchlist/alerts/nope/acknowledge', police)).status, 404);
  assert.equal((await call('POST', `/api/v1/watchlist/alerts/${encodeURIComponent(byKind.stolen.id)}/acknowledge`, viewer)).status, 403);

  const lookup = await call('GET', `/api/v1/watchlist/plates/${encodeURIComponent('浙A11111')}`, police);
  assert.equal(lookup.status, 200);
  assert.equal(lookup.body.registered, true);
  assert.deepEqual(lookup.body.reads.map((r: { intersection: string }) => r.intersection), ['intersection_3_3', 'intersection_1_1']);
  assert.equal(lookup.body.alerts[0].kind, 'cloned');

  // every look-up and change audited, naming the plate by its keyed hash only
  const audit = await server.store.queryAudit({ order: 'asc' });
  const actions = audit.map((e) => e.action);
  for (const a of ['import-register', 'add-watchlist-entry', 'acknowledge-watchlist-alert', 'lookup-plate']) assert.ok(actions.includes(a), `audit has ${a}`);
  assert.ok(!JSON.stringify(audit).includes('浙A'), 'no clear plate in the audit log');
  assert.match(audit.find((e) => e.action === 'lookup-plate')!.target, /^plate:[A-Za-z0-9_-]{43}$/);

  // the watchlist's own tables: hashes only, the clear plate only in an alert
  await server.watchlist.settled();
  const db = new Database(`${(server.store as unknown as { path: string }).path}.watchlist`, { readonly: true });
  for (const table of ['register', 'entries', 'reads']) assert.ok(!JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all()).includes('浙'), `no clear plate in ${table}`);
  assert.equal((db.prepare('SELECT count(*) AS n FROM reads').get() as { n: number }).n, 4);
  db.close();

  // retention: reads that matched nothing (浙A99999) go sooner than the others
  const purged = await server.watchlist.store.purgeReads(now - 3_600_000, now + 60_000);
  assert.equal(purged, 1);
  assert.deepEqual((await call('GET', `/api/v1/watchlist/plates/${encodeURIComponent('浙A99999')}`, police)).body.reads, []);
  assert.equal((await call('GET', `/api/v1/watchlist/plates/${encodeURIComponent('浙A11111')}`, police)).body.reads.length, 2);
});

/** The first text message of the live stream for a token. */
async function firstLive(token: string): Promise<Record<string, unknown>> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/v1/live`, { headers: { authorization: `Bearer ${token}` } });
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.on('message', (m, binary) => {
        if (!binary) resolve(JSON.parse(m.toString()) as Record<string, unknown>);
      });
      ws.on('error', reject);
      setTimeout(() => reject(new Error('no live message')), 5000);
    });
  } finally {
    ws.close();
  }
}

test('the live stream carries watchlistAlerts (with plates) to the police and operators only; viewers get neither the field nor a plate', async () => {
  await until(async () => (await call('GET', '/api/v1/watchlist/alerts', police)).body.length >= 1, 5000, 'an alert');
  for (const t of [police, operator]) {
    const m = await firstLive(t);
    const alerts = m.watchlistAlerts as { kind: string; alert: { plate: string } }[];
    assert.ok(Array.isArray(alerts) && alerts.length >= 1, 'watchlistAlerts for police and operators');
    assert.ok(alerts.some((a) => a.alert.plate.startsWith('浙')));
  }
  const v = await firstLive(viewer);
  assert.equal(v.watchlistAlerts, undefined);
  assert.ok(!JSON.stringify(v).includes('浙'), 'no plate on a viewer\'s stream');
});

test('audit first: a refused register file leaves no audit row; when the audit cannot be written, the list is not changed', async () => {
  const imports = async () => (await server.store.queryAudit({ action: 'import-register' })).length;
  const n = await imports();
  assert.equal((await call('POST', '/api/v1/watchlist/register', police, { csv: 'plate,use\n浙A11111,spaceship\n' })).status, 400);
  assert.equal(await imports(), n, 'nothing audited for a refused file');

  const store = server.store as unknown as { recordAction: (...a: unknown[]) => Promise<void> };
  const record = store.recordAction;
  store.recordAction = async () => {
    throw new Error('audit log unavailable');
  };
  try {
    const before = (await call('GET', '/api/v1/watchlist/entries', police)).body.length;
    const r = await call('POST', '/api/v1/watchlist/entries', police, { list: 'wanted', plate: '浙A77777' });
    assert.ok(r.status >= 500, `answered ${r.status}`);
    assert.equal((await call('GET', '/api/v1/watchlist/entries', police)).body.length, before, 'no entry without its audit row');
    assert.equal(server.watchlist.matcher.lists.size, before);
  } finally {
    store.recordAction = record;
  }
});

test('closing while the street\'s batch of plate reads waits for the store: the batch settles first, no read reaches the watchlist store after it closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-wl-close-'));
  const inner = await openStore(`sqlite:${join(dir, 'city.db')}`);
  // appends wait while `held` is set; `heldPlates` counts the plate reads of the batch waiting
  let held: Promise<void> | undefined, release = () => {}, heldPlates = 0;
  const store = wrapStore(inner, {
    append: async (e) => {
      if (held) {
        heldPlates += e.filter((x) => x.kind === 'plate').length;
        await held;
      }
      return inner.append(e);
    },
  });
  const s = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2, demand: 0.3 }), store, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false },
  });
  const readsStored = () => {
    const db = new Database(`${join(dir, 'city.db')}.watchlist`, { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM reads').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  try {
    let closedStore = false;
    const late: number[] = [];
    const wl = s.watchlist.store;
    const appendReads = wl.appendReads.bind(wl), closeWl = wl.close.bind(wl);
    wl.appendReads = async (reads) => {
      if (closedStore) late.push(reads.length);
      return appendReads(reads);
    };
    wl.close = async () => {
      closedStore = true;
      return closeWl();
    };
    for (let k = 0; k < 60; k++) await s.runtime.stepOnce();
    await s.runtime.whenIngested();
    await s.watchlist.settled();
    const before = readsStored();
    assert.ok(before > 0, 'the cameras have read plates');
    // the store holds the street's next batches until one with plate reads waits
    held = new Promise<void>((r) => (release = r));
    for (let k = 0; k < 120 && heldPlates === 0; k++) await s.runtime.stepOnce();
    assert.ok(heldPlates > 0, 'a batch of plate reads waits for the store');
    const closing = s.close();
    await new Promise((r) => setTimeout(r, 50));
    release();
    await closing;
    assert.deepEqual(late, [], 'no read appended after the watchlist store closed');
    assert.ok(readsStored() >= before + 1, `the batch in flight was stored and its reads kept (${before} before, ${readsStored()} after)`);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
