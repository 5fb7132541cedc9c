import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { generateGrid } from '@citybrain/engine';
import { DEFAULT_CONTROLLER } from '@citybrain/control';
import { PostgresStore, startServer, type RunningServer } from '@citybrain/server';
import { PG_URL, pgUnavailable, uid } from './helpers.js';

// One server on a temp SQLite store, the virtual city paused so each test moves the clock itself.
let server: RunningServer;
let dir: string;
let operator: string;
let viewer: string;
let app: string;
let device: string;

async function call(method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function advance(steps: number) {
  for (let k = 0; k < steps; k++) await server.runtime.stepOnce();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-city-'));
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2, demand: 0.1 }),
    // exact devices: the plates read here keep their shape (the default devices' OCR misreads some)
    sensing: 'perfect',
    storeUrl: `sqlite:${join(dir, 'city.db')}`,
    port: 0,
    run: false,
    logger: false,
    printToken: () => {},
    webRoot: false,
    auth: { rateLimit: false },
  });
  operator = server.createdTokens[0].token;
  viewer = (await server.auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  app = (await server.auth.createToken({ name: 'partner app', role: 'app' })).token;
  device = (await server.auth.createToken({ name: 'det', role: 'device', device: 'det-x', intersections: ['intersection_1_1'] })).token;
  await advance(60);
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('reads: network, intersections, KPIs and the caller, for viewers and apps', async () => {
  const net = await call('GET', '/api/v1/network', viewer);
  assert.equal(net.status, 200);
  assert.equal(net.body.intersections.filter((i: { signalised: boolean }) => i.signalised).length, 4);
  assert.equal(net.body.laneOrder.length, server.runtime.sim.net.nLanes);
  const ints = await call('GET', '/api/v1/intersections', app);
  assert.equal(ints.status, 200);
  assert.deepEqual(ints.body.map((i: { id: string }) => i.id).sort(), ['intersection_1_1', 'intersection_1_2', 'intersection_2_1', 'intersection_2_2']);
  for (const i of ints.body) assert.equal(i.phase, server.runtime.sim.phase(server.runtime.sim.net.interIndex.get(i.id)!));
  const one = await call('GET', '/api/v1/intersections/intersection_1_1', viewer);
  assert.equal(one.status, 200);
  assert.equal(one.body.controller, DEFAULT_CONTROLLER);
  assert.ok(one.body.approaches.length === 4 && one.body.phaseLog.length >= 1);
  const kpis = await call('GET', '/api/v1/kpis', viewer);
  assert.equal(kpis.status, 200);
  assert.equal(kpis.body.at(-1).t, 60);
  assert.deepEqual(kpis.body.at(-1), server.runtime.kpis.at(-1));
  // paging: without from, the latest samples; with it, the first ones from there
  const all = kpis.body.map((k: { t: number }) => k.t);
  assert.deepEqual((await call('GET', '/api/v1/kpis?limit=2', viewer)).body.map((k: { t: number }) => k.t), all.slice(-2));
  assert.deepEqual((await call('GET', `/api/v1/kpis?from=${all[1]}&limit=2`, viewer)).body.map((k: { t: number }) => k.t), all.slice(1, 3));
  assert.deepEqual((await call('GET', `/api/v1/kpis?from=${all[2] + 1}&to=${all[4]}`, viewer)).body.map((k: { t: number }) => k.t), all.slice(3, 5));
  const regions = Object.values(kpis.body.at(-1).regions) as { congestionIndex: number; queued: number; vehicles: number }[];
  assert.equal(regions.length, 4, 'one entry per quadrant');
  for (const r of regions) assert.ok(r.congestionIndex >= 1 && r.congestionIndex <= 10 && r.queued <= r.vehicles);
  const me = await call('GET', '/api/v1/me', viewer);
  assert.deepEqual([me.body.name, me.body.role], ['wall screen', 'viewer']);
  assert.equal((await call('GET', '/api/v1/intersections/nowhere', viewer)).status, 404);
});

test('switching a controller: only operators, audited with before and after, refusals change nothing', async () => {
  const target = '/api/v1/intersections/intersection_2_2/controller';
  const i = server.runtime.sim.net.interIndex.get('intersection_2_2')!;
  const auditBefore = (await call('GET', '/api/v1/audit', operator)).body.length;
  for (const [token, status] of [[undefined, 401], ['cbt_not-a-token', 401], [viewer, 403], [app, 403], [device, 403]] as const) {
    const r = await call('PUT', target, token, { controller: 'actuated' });
    assert.equal(r.status, status, `token ${token}`);
    assert.equal(server.runtime.assignment.controllerOf(i), DEFAULT_CONTROLLER, 'a refused request changes nothing');
  }
  assert.equal((await call('GET', '/api/v1/audit', operator)).body.length, auditBefore, 'refusals are not control actions');
  const bad = await call('PUT', target, operator, { controller: 'magic' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /unknown controller "magic"/);
  const extra = await call('PUT', target, operator, { controller: 'actuated', force: true });
  assert.equal(extra.status, 400, 'unknown fields are refused by name');
  assert.equal(server.runtime.assignment.controllerOf(i), DEFAULT_CONTROLLER);

  const ok = await call('PUT', target, operator, { controller: 'actuated' });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.before, [DEFAULT_CONTROLLER]);
  assert.equal((await call('GET', '/api/v1/intersections/intersection_2_2', viewer)).body.controller, 'actuated');
  const [last] = (await call('GET', '/api/v1/audit?limit=1', operator)).body;
  assert.equal(last.action, 'set-controller');
  assert.equal(last.target, 'intersection:intersection_2_2');
  assert.equal(last.before, DEFAULT_CONTROLLER);
  assert.equal(last.after, 'actuated');
  assert.equal(last.role, 'operator');
  assert.match(last.actor, /^admin \(tok_/);
  await advance(30);
  assert.deepEqual(server.runtime.faults.map((f) => `${f.kind} ${f.time} ${f.controller} ${f.intersection} ${f.error}`), []);

  const region = await call('PUT', '/api/v1/regions/city/controller', operator, { controller: 'sotl' });
  assert.equal(region.status, 200);
  for (const j of server.runtime.sim.net.signalised) assert.equal(server.runtime.assignment.controllerOf(j), 'sotl');
  assert.equal((await call('PUT', '/api/v1/regions/atlantis/controller', operator, { controller: 'sotl' })).status, 404);
});

test('emergency dispatch: a corridor ahead of the vehicle, audited, cancellable; viewers refused', async () => {
  const body = { from: { x: -250, y: 0 }, to: { x: 600, y: 300 } };
  assert.equal((await call('POST', '/api/v1/emergency', viewer, body)).status, 403);
  assert.equal((await call('GET', '/api/v1/emergency', viewer)).body.length, 0, 'the refused dispatch added nothing');
  assert.equal((await call('POST', '/api/v1/emergency', operator, { from: { x: 'west' } })).status, 400);
  assert.equal((await call('POST', '/api/v1/emergency', operator, { route: ['road_nowhere'] })).status, 400);
  // a point far off the map (another unit, another city) is not silently snapped to the nearest road
  const far = await call('POST', '/api/v1/emergency', operator, { from: { x: -250, y: 0 }, to: { x: 6e7, y: 3e7 } });
  assert.equal(far.status, 400);
  assert.match(far.body.message, /^to: \(60000000, 30000000\) is \d+ m from the nearest road; give a point on the map, in metres$/);
  assert.equal((await call('GET', '/api/v1/emergency', viewer)).body.length, 0, 'nothing was dispatched');

  const r = await call('POST', '/api/v1/emergency', operator, body);
  assert.equal(r.status, 201);
  assert.ok(r.body.route.length >= 2);
  assert.ok(r.body.corridor.length >= 1, 'signalised intersections ahead');
  const id = r.body.id;
  await advance(5);
  const live = (await call('GET', '/api/v1/emergency', viewer)).body;
  assert.equal(live.length, 1);
  assert.equal(live[0].id, id);
  assert.equal(live[0].state, 'running');
  assert.equal(typeof live[0].x, 'number');
  // the first intersection is requested in a phase serving the vehicle, then shows it once yellow is over
  await advance(15);
  const first = (await call('GET', '/api/v1/emergency', viewer)).body[0]?.corridor[0];
  if (first && first.state === 'requested') {
    // the requested phase shows, or the intersection is switching to it: a yellow (the one before it, or one already under way
    // when the request came, after which the green it leads to keeps its minimum), or a green still within its minimum
    const { sim, supervisor } = server.runtime;
    const i = sim.net.interIndex.get(first.intersection)!;
    const k = supervisor.env.intersections.findIndex((ix) => ix.intersection === i);
    const s = supervisor.status[k];
    const shown = sim.phase(i);
    const switching = s.yellowLeft > 0 ? shown === supervisor.env.intersections[k].yellow : sim.time - s.greenSince < supervisor.env.minGreen;
    assert.ok(shown === first.phase || switching, `shows ${shown}, requested ${first.phase} (${JSON.stringify(s)} at ${sim.time} s)`);
  }
  const [audit] = (await call('GET', '/api/v1/audit?limit=1', operator)).body;
  assert.equal(audit.action, 'dispatch-emergency');
  assert.equal(audit.after.siren, true, 'on an emergency run the siren is on unless the dispatch says otherwise');
  assert.equal((await call('POST', '/api/v1/emergency', operator, { ...body, siren: 'loud' })).status, 400);
  assert.equal((await call('DELETE', `/api/v1/emergency/${id}`, viewer)).status, 403);
  assert.equal((await call('DELETE', `/api/v1/emergency/${id}`, operator)).status, 204);
  assert.equal((await call('GET', '/api/v1/emergency', viewer)).body.length, 0);
  assert.equal((await call('DELETE', `/api/v1/emergency/${id}`, operator)).status, 404);
});

test('comparison: two controllers side by side on the same demand, with replay frames', async () => {
  assert.equal((await call('POST', '/api/v1/compare', viewer, { controllers: ['fixed', 'max-pressure'] })).status, 403);
  assert.equal((await call('POST', '/api/v1/compare', app, { controllers: ['fixed'] })).status, 400, 'needs two');
  assert.equal((await call('POST', '/api/v1/compare', app, { controllers: ['fixed', 'nope'] })).status, 400);
  const r = await call('POST', '/api/v1/compare', app, { controllers: ['fixed', 'max-pressure'], duration: 600 });
  assert.equal(r.status, 202);
  let s;
  for (let k = 0; k < 200; k++) {
    s = (await call('GET', `/api/v1/compare/${r.body.id}`, viewer)).body;
    if (s.done) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.ok(s.done, 'finished');
  assert.equal(s.series.fixed.length, 60);
  assert.equal(s.series['max-pressure'].at(-1).t, 600);
  const replay = (await call('GET', `/api/v1/compare/${r.body.id}/replay/fixed?from=100&to=200`, viewer)).body;
  assert.deepEqual(replay.frames.map((f: { t: number }) => f.t), [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200]);
  assert.equal(replay.frames[5].vehicles.length % 4, 0);
  assert.equal((await call('GET', `/api/v1/compare/${r.body.id}/replay/sotl`, viewer)).status, 404);
});

/** A single-use live-stream ticket for a token (what the dashboard does before each connection). */
async function ticket(token: string): Promise<string> {
  const r = await call('POST', '/api/v1/live/ticket', token);
  assert.equal(r.status, 200);
  return r.body.ticket;
}

test('live stream: state messages and binary vehicle frames, opened with a ticket; no ticket, no stream', async () => {
  const url = server.url.replace('http', 'ws') + '/api/v1/live';
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      assert.equal(res.statusCode, 401);
      resolve();
    });
    ws.on('open', () => reject(new Error('opened without a token')));
  });
  const ws = new WebSocket(`${url}?ticket=${await ticket(viewer)}`);
  const got = await new Promise<{ state: { type: string; t: number; phases: number[]; lanes: { queue: number[] } }; frame: Float32Array }>((resolve, reject) => {
    let state: { type: string; t: number; phases: number[]; lanes: { queue: number[] } } | undefined;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', vehicles: true })));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) state = JSON.parse(data.toString());
      else if (state) resolve({ state, frame: new Float32Array(new Uint8Array(data).buffer) });
    });
    ws.on('error', reject);
    setTimeout(() => reject(new Error('no frames within 5 s')), 5000);
  });
  ws.close();
  const sim = server.runtime.sim;
  assert.equal(got.state.type, 'state');
  assert.equal(got.state.phases.length, sim.net.interIds.length);
  assert.equal(got.state.lanes.queue.length, sim.net.nLanes);
  assert.equal(got.frame[1], sim.runningCount);
  assert.equal(got.frame.length, 2 + 4 * sim.runningCount);
});

test('live stream: revoking its token closes an open stream (code 4401), it does not stream on', async () => {
  const { token, record } = await server.auth.createToken({ name: 'wall screen to revoke', role: 'viewer' });
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/live?ticket=${await ticket(token)}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve());
    ws.on('error', reject);
    setTimeout(() => reject(new Error('no state within 5 s')), 5000);
  });
  let afterClose = 0;
  const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
    ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }));
    setTimeout(() => reject(new Error('the stream of a revoked token was still open 8 s later')), 8000);
  });
  ws.on('message', () => void afterClose++);
  assert.ok(await server.auth.revoke(record.id));
  const c = await closed;
  assert.equal(c.code, 4401);
  assert.equal(c.reason, 'unknown or revoked token');
  // a stream of a token still valid goes on
  const other = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/live?ticket=${await ticket(viewer)}`);
  await new Promise<void>((resolve, reject) => {
    let n = 0;
    other.on('message', () => ++n === 6 && resolve());
    other.on('close', () => reject(new Error('a valid stream was closed')));
    setTimeout(() => reject(new Error('the valid stream stopped')), 8000);
  });
  other.close();
  assert.ok(afterClose <= 5, `a revoked stream stops within the recheck period (${afterClose} messages after revoking)`);
});

test('field events of the virtual city are stored and queryable; metrics expose the brain', async () => {
  await advance(10);
  // ingestion is asynchronous: give the group commit a moment
  await new Promise((res) => setTimeout(res, 300));
  const lanes = await call('GET', '/api/v1/events?kind=lane&limit=5', viewer);
  assert.equal(lanes.status, 200);
  assert.equal(lanes.body.length, 5);
  assert.ok(lanes.body.every((e: { kind: string; queue: number }) => e.kind === 'lane' && typeof e.queue === 'number'));
  // plates are personal data: operators read plate events (reads-access.test.ts covers the other roles), and the log
  // holds each plate as the city's keyed hash (HMAC, base64url), never in clear (plate-privacy.test.ts)
  const plates = await call('GET', '/api/v1/events?kind=plate&limit=1', operator);
  assert.match(plates.body[0].plate, /^#[A-Za-z0-9_-]{15}$/);
  const weather = await call('GET', '/api/v1/events?kind=weather', viewer);
  assert.equal(weather.status, 400);
  assert.equal(weather.body.message, 'querystring.kind: must be one of lane, plate, parking, signal, avl (got "weather")');
  const root = await call('POST', '/api/v1/tokens', operator, { name: 'x', role: 'root' });
  assert.equal(root.body.message, 'role: must be one of viewer, operator, device, app, police, analyst (got "root")');
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.match(m, /^citybrain_sim_time_seconds \d+/m);
  assert.match(m, /^citybrain_vehicles_in_network \d+/m);
  // both travel times: the last window's and since the start
  assert.match(m, /^citybrain_average_travel_time_seconds [\d.]+$/m);
  assert.match(m, /^citybrain_average_travel_time_since_start_seconds [\d.]+$/m);
  assert.match(m, /^citybrain_ingest_events_accepted_total\{source="virtual-city"\} \d+/m);
});

test('control bodies of the wrong JSON type are refused, not coerced, and change nothing', async () => {
  const before = (await call('GET', '/api/v1/simulation', viewer)).body;
  const paused = await call('PUT', '/api/v1/simulation', operator, { running: 0 });
  assert.equal(paused.status, 400);
  assert.match(paused.body.message, /^running: must be boolean \(got 0\)$/);
  const speed = await call('PUT', '/api/v1/simulation', operator, { speed: '5' });
  assert.equal(speed.status, 400);
  assert.match(speed.body.message, /^speed: must be number \(got "5"\)$/);
  assert.deepEqual((await call('GET', '/api/v1/simulation', viewer)).body, before);
  const ctl = await call('PUT', '/api/v1/intersections/intersection_1_2/controller', operator, { controller: ['fixed'] });
  assert.equal(ctl.status, 400);
  assert.match(ctl.body.message, /^controller: must be string \(got an array\)$/);
  const tok = await call('POST', '/api/v1/tokens', operator, { name: ['x'], role: 'viewer' });
  assert.equal(tok.status, 400);
  assert.match(tok.body.message, /^name: must be string \(got an array\)$/);
  // query strings are text: their numbers are still read as numbers
  assert.equal((await call('GET', '/api/v1/events?limit=2', viewer)).status, 200);
});

/** Requests PostgreSQL cannot run as asked (NUL in text, beyond bigint): each must be a 400 naming the field, on every backend. */
async function unstorableInputs(base: string, operator: string) {
  const send = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${operator}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as { message: string } };
  };
  const cases: [string, string, unknown, RegExp][] = [
    ['GET', '/api/v1/events?device=cam%00x', undefined, /^querystring\.device: must not contain the NUL character/],
    ['GET', '/api/v1/events?intersection=%00', undefined, /^querystring\.intersection: must not contain the NUL character/],
    ['GET', '/api/v1/events?to=100000000000000000000', undefined, /^querystring\.to: must be <= 9007199254740991$/],
    ['GET', '/api/v1/events?from=9223372036854775808', undefined, /^querystring\.from: must be <= 9007199254740991$/],
    ['GET', '/api/v1/audit?actor=a%00', undefined, /^querystring\.actor: must not contain the NUL character/],
    ['DELETE', '/api/v1/tokens/tok_%00', undefined, /^params\.id: must not contain the NUL character/],
    ['POST', '/api/v1/tokens', { name: 'nul\u0000name', role: 'viewer' }, /^token "nul.name": name must not contain the NUL character/],
    ['POST', '/api/v1/tokens', { name: 'half \ud800', role: 'viewer' }, /^token "half .": name must be valid Unicode/],
    ['POST', '/api/v1/tokens', { name: 'cab', role: 'device', device: 'cab-9', intersections: ['i1\u0000'] }, /^token "cab": intersections\[0\] must not contain the NUL character/],
    ['POST', '/api/v1/tokens', { name: 'cab', role: 'device', device: 'cab-9', bays: ['\udc00'] }, /^token "cab": bays\[0\] must be valid Unicode/],
  ];
  for (const [method, path, body, want] of cases) {
    const r = await send(method, path, body);
    assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body) ?? ''} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.match(r.body.message, want);
  }
  assert.equal((await send('GET', '/api/v1/events?to=9007199254740991')).status, 200, 'the largest bound is fine');
}

test('NUL characters and out-of-range times in queries, paths and token specs are 400s naming the field', async () => {
  await unstorableInputs(server.url, operator);
});

const pgSkip = await pgUnavailable();
test('on PostgreSQL too: those inputs are 400s, not 500s', { skip: pgSkip }, async () => {
  const pgServer = await startServer({
    scenario: generateGrid({ rows: 1, cols: 1, demand: 0.1 }),
    storeUrl: `${PG_URL}?schema=cb_test_${uid()}`,
    port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false },
  });
  try {
    await unstorableInputs(pgServer.url, pgServer.createdTokens[0].token);
  } finally {
    if (pgServer.store instanceof PostgresStore) await pgServer.store.dropSchema();
    await pgServer.close();
  }
});

test('a lane event must name a lane of the network on a road into its intersection: the brain does not take another lane from a scoped device', async () => {
  const net = server.runtime.sim.net;
  const ix = net.interIndex.get('intersection_1_1')!;
  const lanes = Array.from({ length: net.nLanes }, (_, l) => l);
  const at = (l: number) => [net.roadStartInter[net.laneRoad[l]], net.roadEndInter[net.laneRoad[l]]];
  const own = lanes.find((l) => at(l)[1] === ix)!;
  const far = lanes.find((l) => !at(l).includes(ix))!;
  const report = (id: string, lane: string) => ({
    // newer than the virtual city's last report of the lane, which the estimate would otherwise keep
    id, device: 'det-x', ts: Math.max(...server.runtime.estimate.reportedAt) + 1000, kind: 'lane', intersection: 'intersection_1_1', lane, count: 5, occupancy: 0.9, speed: 0, interval: 5, vehicles: 37, queue: 37,
  });
  const stored = await server.store.count({ device: 'det-x' });
  const unknown = await call('POST', '/api/v1/events', device, [report('lx-1', 'road_nowhere_0')]);
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.message, 'events[0].lane: the network has no lane "road_nowhere_0"');
  const elsewhere = await call('POST', '/api/v1/events', device, [report('lx-2', net.laneId(own)), report('lx-3', net.laneId(far))]);
  assert.equal(elsewhere.status, 400);
  assert.equal(elsewhere.body.message, `events[1].lane: lane "${net.laneId(far)}" is not on a road into intersection "intersection_1_1"`);
  assert.equal(server.runtime.estimate.queue[far] === 37, false, 'the far lane was not taken into the estimate');
  assert.equal(await server.store.count({ device: 'det-x' }), stored, 'all or nothing');
  // a tracked vehicle further from the stop line than the lane is long: measured from the lane's start, or in feet
  const len = net.length[own];
  const feet = await call('POST', '/api/v1/events', device, [{ ...report('lx-5', net.laneId(own)), objects: [{ distance: 3, speed: 0 }, { distance: len * 3.28, speed: 4 }] }]);
  assert.equal(feet.status, 400);
  assert.equal(feet.body.message, `events[0].objects[1].distance: ${len * 3.28} m is beyond lane "${net.laneId(own)}", which is ${Math.round(len * 10) / 10} m long (distance is metres to the stop line)`);
  const kmh = await call('POST', '/api/v1/events', device, [{ ...report('lx-6', net.laneId(own)), objects: [{ distance: 3, speed: 120 }] }]);
  assert.equal(kmh.status, 400);
  assert.match(kmh.body.message, /events\[0\]\.objects\[0\]\.speed: must be <= 100/);
  assert.equal(await server.store.count({ device: 'det-x' }), stored, 'nothing of a refused batch');
  const ok = await call('POST', '/api/v1/events', device, [report('lx-4', net.laneId(own))]);
  assert.equal(ok.status, 200);
  assert.equal(server.runtime.estimate.queue[own], 37);
});

test('a lane event repeated exactly inside one batch (a gateway resending) is stored once and reaches the brain\'s estimate', async () => {
  const net = server.runtime.sim.net;
  const ix = net.interIndex.get('intersection_1_1')!;
  const own = net.incomingLanes(ix)[1];
  const e = {
    id: 'rep-1', device: 'det-x', ts: Math.max(...server.runtime.estimate.reportedAt) + 1000, kind: 'lane', intersection: 'intersection_1_1',
    lane: net.laneId(own), count: 2, occupancy: 0.5, speed: 0, interval: 5, vehicles: 23, queue: 21,
  };
  const r = await call('POST', '/api/v1/events', device, [e, e]);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { accepted: 1, duplicates: 1 });
  assert.deepEqual([server.runtime.estimate.vehicles[own], server.runtime.estimate.queue[own]], [23, 21]);
  // a plain retry of the same batch changes nothing more
  const again = await call('POST', '/api/v1/events', device, [e, e]);
  assert.deepEqual(again.body, { accepted: 0, duplicates: 2 });
  assert.deepEqual([server.runtime.estimate.vehicles[own], server.runtime.estimate.queue[own]], [23, 21]);
});

test('names of Object.prototype members are unknown controllers, for an intersection, a region and a comparison', async () => {
  const i = server.runtime.sim.net.interIndex.get('intersection_2_2')!;
  const before = server.runtime.assignment.controllerOf(i);
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    const one = await call('PUT', '/api/v1/intersections/intersection_2_2/controller', operator, { controller: name });
    assert.equal(one.status, 400, `${name}: ${JSON.stringify(one.body)}`);
    assert.match(one.body.message, new RegExp(`unknown controller "${name}"`));
    assert.equal((await call('PUT', '/api/v1/regions/city/controller', operator, { controller: name })).status, 400, name);
    assert.equal((await call('POST', '/api/v1/compare', operator, { controllers: ['fixed', name], duration: 60 })).status, 400, name);
  }
  assert.equal(server.runtime.assignment.controllerOf(i), before);
});
