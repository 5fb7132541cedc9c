/**
 * AVL (automatic vehicle location) events: a vehicle's position by linear
 * referencing on the network, validated, checked against the network and
 * scoped like any device event; the brain's twin and the emergency corridor
 * follow them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateGrid } from '@citybrain/engine';
import { openStore, type RunningServer } from '@citybrain/server';
import { startTestServer } from './helpers.js';

let server: RunningServer;
let cleanup: () => Promise<void>;
let avl: string;
let detector: string;

async function post(token: string, body: unknown) {
  const r = await server.app.inject({
    method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body),
  });
  return { status: r.statusCode, body: r.json<{ code?: string; message?: string; accepted?: number }>() };
}

before(async () => {
  ({ server, cleanup } = await startTestServer('avl', generateGrid({ rows: 2, cols: 2, demand: 0.1 })));
  avl = (await server.auth.createToken({ name: 'ambulance 1', role: 'device', device: 'avl-amb-1', vehicles: ['amb-1'] })).token;
  detector = (await server.auth.createToken({ name: 'det', role: 'device', device: 'det-x', intersections: ['intersection_1_1'] })).token;
});

after(async () => {
  await cleanup?.();
});

const position = (id: string, o: object = {}) => ({
  id, device: 'avl-amb-1', ts: Date.now(), kind: 'avl', vehicle: 'amb-1', road: 'road_0_1_0', lane: 1, distance: 120.5, speed: 11.2, heading: 90, lat: 30.27, lng: 120.15, ...o,
});

test('a position on a lane of the network is accepted and stored as sent', async () => {
  const r = await post(avl, [position('p-1')]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.accepted, 1);
  const [stored] = (await server.store.query({ device: 'avl-amb-1' })) as unknown as Record<string, unknown>[];
  assert.equal(stored.kind, 'avl');
  assert.equal(stored.vehicle, 'amb-1');
  assert.equal(stored.distance, 120.5);
  // without the display fields too
  assert.equal((await post(avl, [position('p-2', { heading: undefined, lat: undefined, lng: undefined })])).status, 200);
});

test('unknown road and lane, a distance beyond the lane or negative, lat without lng and oversized fields or bodies are refused, naming the field; nothing stored', async () => {
  const net = server.runtime.sim.net;
  const length = net.length[net.roadFirstLane[net.roadIndex.get('road_0_1_0')!] + 1];
  const stored = await server.store.count({ device: 'avl-amb-1' });
  const cases: [object, number, string | RegExp][] = [
    [{ road: 'road_9_9_9' }, 400, 'events[0].road: the network has no road "road_9_9_9"'],
    [{ lane: 3 }, 400, 'events[0].lane: road "road_0_1_0" has 3 lanes (0..2), not lane 3'],
    [{ lane: -1 }, 400, 'events[0].lane: must be >= 0'],
    [{ lane: 'road_0_1_0_1' }, 400, 'events[0].lane: must be integer (got "road_0_1_0_1")'],
    [{ distance: -0.5 }, 400, 'events[0].distance: must be >= 0'],
    [{ distance: length + 1 }, 400, `events[0].distance: ${length + 1} m is beyond the end of lane road_0_1_0_1 (${Math.round(length * 100) / 100} m long)`],
    [{ speed: 200 }, 400, 'events[0].speed: must be <= 100'],
    [{ heading: 360 }, 400, 'events[0].heading: must be < 360'],
    [{ lng: undefined }, 400, 'events[0].lng: is required with lat (both or neither)'],
    [{ vehicle: 'x'.repeat(129) }, 400, 'events[0].vehicle: must NOT have more than 128 characters'],
    [{ vehicle: undefined }, 400, 'events[0].vehicle: is required'],
    [{ odometer: 5 }, 400, 'events[0].odometer: unknown field'],
  ];
  for (const [o, status, message] of cases) {
    const r = await post(avl, [position(`bad-${JSON.stringify(o).slice(0, 40)}`, o)]);
    assert.equal(r.status, status, JSON.stringify(o));
    if (typeof message === 'string') assert.equal(r.body.message, message, JSON.stringify(o));
    else assert.match(r.body.message!, message);
  }
  // a body over the ingestion limit (1 MiB): 413 before anything is parsed
  const big = Array.from({ length: 4000 }, (_, k) => position(`big-${k}`.padEnd(120, 'x'), { vehicle: 'amb-1'.padEnd(120, '-') }));
  const r = await post(avl, big);
  assert.equal(r.status, 413);
  assert.match(r.body.message!, /larger than the 1048576-byte limit/);
  assert.equal(await server.store.count({ device: 'avl-amb-1' }), stored, 'nothing of a refused batch is stored');
});

test('a token publishes positions only of the vehicles it lists: one without any is refused, as is another vehicle', async () => {
  const none = await post(detector, [position('s-1', { device: 'det-x' })]);
  assert.equal(none.status, 403);
  assert.equal(none.body.code, 'CB_OUT_OF_SCOPE');
  assert.equal(none.body.message, 'events[0].vehicle: device "det-x" may not publish positions of vehicle "amb-1" (its token lists no vehicles)');
  const other = await post(avl, [position('s-2', { vehicle: 'amb-2' })]);
  assert.equal(other.status, 403);
  assert.equal(other.body.message, 'events[0].vehicle: device "avl-amb-1" may not publish positions of vehicle "amb-2"');
  // and a vehicle scope gives no intersection: the AVL unit's token cannot report a lane
  const lane = await post(avl, [{ id: 's-3', device: 'avl-amb-1', ts: Date.now(), kind: 'lane', intersection: 'intersection_1_1', lane: 'road_0_1_0_1', count: 1, occupancy: 0.1, speed: 10, interval: 5 }]);
  assert.equal(lane.status, 403);
  // what a token may do is shown to it, and issued through the API with the scope
  const me = await server.app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${avl}` } });
  assert.deepEqual(me.json().vehicles, ['amb-1']);
  await assert.rejects(server.auth.createToken({ name: 'v', role: 'viewer', vehicles: ['amb-1'] }), /only device tokens carry a device, intersections, bays or vehicles/);
});

test('a SQLite store made before vehicle scopes gets the column on opening; its tokens have none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-avl-old-'));
  try {
    const path = join(dir, 'old.db');
    const db = new Database(path);
    // the tokens table as it was released first
    db.exec(`CREATE TABLE tokens (hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL, device TEXT,
      intersections TEXT NOT NULL, bays TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)`);
    db.prepare('INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run('a'.repeat(64), 'tok_old', 'old det', 'device', 'det-1', '["i1"]', '[]', 1, null);
    db.close();
    const store = await openStore(`sqlite:${path}`);
    try {
      assert.deepEqual((await store.findToken('a'.repeat(64)))?.vehicles, []);
      const rec = { id: 'tok_new', hash: 'b'.repeat(64), name: 'amb', role: 'device' as const, device: 'avl-1', intersections: [], bays: [], vehicles: ['amb-1'], createdAt: 2 };
      await store.putToken(rec);
      assert.deepEqual(await store.findToken(rec.hash), rec);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
