import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { startServer, type RunningServer } from '@citybrain/server';
import { startTestServer, until } from './helpers.js';

// Issue #12 item 3 and the plate lane: one event must not seize an intersection.
let server: RunningServer;
let cleanup: () => Promise<void>;
let device: string;
let deviceTokenId: string;
let operator: string;

async function call(method: string, path: string, token: string, body?: unknown) {
  const r = await server.app.inject({
    method: method as 'POST', url: path, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.statusCode, body: r.body ? r.json() : undefined };
}

before(async () => {
  ({ server, cleanup } = await startTestServer('ingest-scope', generateGrid({ rows: 2, cols: 2, demand: 0.1 })));
  operator = server.createdTokens[0].token;
  const created = await server.auth.createToken({ name: 'det', role: 'device', device: 'det-x', intersections: ['intersection_1_1'] });
  device = created.token;
  deviceTokenId = created.record.id;
});

after(async () => {
  await cleanup?.();
});

function lanes() {
  const net = server.runtime.sim.net;
  const ix = net.interIndex.get('intersection_1_1')!;
  const all = Array.from({ length: net.nLanes }, (_, l) => l);
  // into intersection_1_1, and leaving it (a neighbour's approach)
  const into = all.filter((l) => net.roadEndInter[net.laneRoad[l]] === ix);
  const leaving = all.filter((l) => net.roadStartInter[net.laneRoad[l]] === ix);
  return { net, into, leaving };
}

const laneReport = (id: string, lane: string, ts: number, o: object = {}) => ({
  id, device: 'det-x', ts, kind: 'lane', intersection: 'intersection_1_1', lane, count: 0, occupancy: 0.9, speed: 0, interval: 5, vehicles: 37, queue: 37, ...o,
});

test('an event dated beyond the clock skew is refused with the skew in the message; within it, accepted', async () => {
  const { net, into } = lanes();
  const lane = net.laneId(into[0]);
  const stored = await server.store.count({ device: 'det-x' });
  const future = await call('POST', '/api/v1/events', device, [laneReport('sk-1', lane, Date.now()), laneReport('sk-2', lane, 1e13)]);
  assert.equal(future.status, 400, JSON.stringify(future.body));
  assert.equal(future.body.code, 'CB_CLOCK_SKEW');
  assert.match(future.body.message, /^events\[1\]\.ts: 2286-11-20T17:46:40\.000Z is \d+ d( \d+ h)? ahead of the server clock \(\d{4}-.*Z\); at most 5 min ahead is accepted: check the device's clock$/);
  const past = await call('POST', '/api/v1/events', device, [laneReport('sk-3', lane, Date.now() - 8 * 86_400_000)]);
  assert.equal(past.status, 400);
  assert.match(past.body.message, /^events\[0\]\.ts: .* is 8 d( \d+ \w+)? behind the server clock .*; at most 7 d behind is accepted/);
  const iso = await call('POST', '/api/v1/events', device, [laneReport('sk-4', lane, new Date(Date.now() + 3_600_000).toISOString() as unknown as number)]);
  assert.equal(iso.status, 400, 'an ISO 8601 ts is held to the same skew');
  assert.match(iso.body.message, /^events\[0\]\.ts: .* is (59 min \d+ s|1 h) ahead of the server clock/);
  assert.equal(await server.store.count({ device: 'det-x' }), stored, 'nothing of a refused batch is stored');
  const near = await call('POST', '/api/v1/events', device, [laneReport('sk-5', lane, Date.now() + 60_000), laneReport('sk-6', lane, Date.now() - 6 * 86_400_000)]);
  assert.equal(near.status, 200, JSON.stringify(near.body));
});

test('a device reports only lanes on roads into its intersections, for lane and plate events', async () => {
  const { net, into, leaving } = lanes();
  assert.ok(leaving.length > 0 && into.length > 0);
  const neighbour = net.laneId(leaving[0]);
  const before = server.runtime.estimate.queue[leaving[0]];
  const r = await call('POST', '/api/v1/events', device, [laneReport('sc-1', neighbour, Date.now())]);
  assert.equal(r.status, 400);
  assert.equal(r.body.message, `events[0].lane: lane "${neighbour}" is not on a road into intersection "intersection_1_1"`);
  assert.equal(server.runtime.estimate.queue[leaving[0]], before, 'the neighbour\'s approach lane is not taken into the estimate');

  const plate = (id: string, lane: string) => ({ id, device: 'det-x', ts: Date.now(), kind: 'plate', plate: '浙A12345', camera: 'c1', intersection: 'intersection_1_1', lane, confidence: 0.9 });
  const unknown = await call('POST', '/api/v1/events', device, [plate('pl-1', 'road_nowhere_0')]);
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.message, 'events[0].lane: the network has no lane "road_nowhere_0"');
  const out = await call('POST', '/api/v1/events', device, [plate('pl-2', net.laneId(into[0])), plate('pl-3', neighbour)]);
  assert.equal(out.status, 400);
  assert.equal(out.body.message, `events[1].lane: lane "${neighbour}" is not on a road into intersection "intersection_1_1"`);
  assert.equal(await server.store.count({ device: 'det-x', kind: 'plate' }), 0);
  const ok = await call('POST', '/api/v1/events', device, [plate('pl-4', net.laneId(into[0])), { ...plate('pl-5', ''), lane: undefined }]);
  assert.equal(ok.status, 200, `a lane into the intersection, or none: ${JSON.stringify(ok.body)}`);
});

test('revoking a device drops its reports from the estimate and the incident evidence: a report dated ahead no longer holds the lane', async () => {
  const { net, into } = lanes();
  const l = into[1];
  const lane = net.laneId(l);
  // within the skew, but ahead of every genuine report to come for a while
  const ahead = Date.now() + 4 * 60_000;
  const r = await call('POST', '/api/v1/events', device, [laneReport('rv-1', lane, ahead)]);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const est = server.runtime.estimate;
  assert.deepEqual([est.vehicles[l], est.queue[l], est.reportedBy[l]], [37, 37, 'det-x']);
  // a genuine report (the virtual city's detector of that lane) dated now is older: it does not count yet
  const genuine = (id: string) => ({ ...laneReport(id, lane, Date.now()), device: `det-${'intersection_1_1'}`, vehicles: 2, queue: 1 });
  server.runtime.ingested([genuine('g-1')] as never);
  assert.equal(est.queue[l], 37, 'the report dated ahead holds the lane');

  const del = await call('DELETE', `/api/v1/tokens/${deviceTokenId}`, operator);
  assert.equal(del.status, 204);
  await until(() => est.reportedBy[l] === undefined, 2000, 'the revoked device\'s report to be dropped');
  assert.deepEqual([est.vehicles[l], est.queue[l], est.reportedAt[l]], [0, 0, 0], 'the lane is as never reported');
  assert.equal(server.runtime.incidents.evidence[l], 0);
  server.runtime.ingested([genuine('g-2')] as never);
  assert.deepEqual([est.vehicles[l], est.queue[l], est.reportedBy[l]], [2, 1, 'det-intersection_1_1'], 'the next genuine report counts');
  assert.equal((await call('POST', '/api/v1/events', device, [laneReport('rv-2', lane, Date.now())])).status, 401);
});

test('the virtual city\'s own events carry its simulated clock and are never refused by the skew rule, even at 60x', async () => {
  const d = mkdtempSync(join(tmpdir(), 'citybrain-ingest-fast-'));
  // a skew of 1 s: at 60x the city's clock is a minute ahead of the server's after one second
  const fast = await startServer({
    scenario: generateGrid({ rows: 1, cols: 2, demand: 0.2 }), storeUrl: `sqlite:${join(d, 'fast.db')}`, speed: 60, clockSkew: { aheadMs: 1000, behindMs: 1000 },
    port: 0, logger: false, printToken: () => {}, webRoot: false,
  });
  try {
    await until(() => fast.runtime.ts > Date.now() + 30_000, 10_000, 'the simulated clock to run 30 s ahead');
    await until(async () => (await fast.store.query({ from: Date.now() + 10_000, limit: 1 })).length > 0, 5000, 'events dated ahead to be stored');
    assert.equal(fast.runtime.eventsRetried, 0, 'no virtual-city batch was refused');
  } finally {
    await fast.close();
    rmSync(d, { recursive: true, force: true });
  }
});
