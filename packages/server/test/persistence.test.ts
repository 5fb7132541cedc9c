import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { type Incident } from '@citybrain/brain';
import { CITY_SNAPSHOT, CityPersistence, CityRuntime, openStore, scenarioFingerprint, startServer, type RunningServer, type ServerOptions } from '@citybrain/server';
import { until } from './helpers.js';

const grid = () => generateGrid({ rows: 2, cols: 2, demand: 0.1 });

async function call(server: RunningServer, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${server.createdTokens[0]?.token ?? token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}
let token = '';

function serve(dir: string, o: Partial<ServerOptions> = {}) {
  return startServer({
    scenario: grid(), storeUrl: `sqlite:${join(dir, 'city.db')}`,
    port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false }, ...o,
  });
}

/** What a restart must not lose: the clock and the twin, KPIs, incidents, what operators set, what the devices said. */
function seen(s: RunningServer) {
  const rt = s.runtime;
  return {
    time: rt.sim.time, metrics: rt.sim.metrics(), phases: [...rt.sim.net.signalised].map((i) => rt.sim.phase(i)),
    signals: rt.supervisor.status.map((x) => ({ ...x })), kpis: rt.kpis, incidents: rt.incidents.incidents,
    controllers: [...rt.sim.net.signalised].map((i) => rt.assignment.controllerOf(i)), speed: rt.speed, running: rt.isRunning,
    breakdowns: rt.street!.breakdowns, bays: rt.street!.bays.map((b) => b.occupied),
    // what the detectors counted, and what the signal controllers confirmed (the board's modes read it)
    counted: [...rt.estimate.counted], confirmed: [...rt.sim.net.signalised].map((i) => rt.plans.confirmation(rt.sim.net.interIds[i])),
    modes: [...rt.sim.net.signalised].map((i) => rt.plans.mode(rt.sim.net.interIds[i], rt.ts)),
  };
}

test('a restart continues the city where it stood, with its KPI history, incidents, acknowledgements and what operators set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-persist-'));
  try {
    const a = await serve(dir, { breakdownsPerHour: 30 });
    token = a.createdTokens[0].token;
    for (let k = 0; k < 400; k++) await a.runtime.stepOnce();
    const rt = a.runtime;
    const inc: Incident = {
      id: 'inc-1', status: 'active', lane: rt.sim.net.laneId(0), road: rt.sim.net.roadIds[0], intersection: rt.sim.net.interIds[0], x: 0, y: 0, since: 1,
      detectedAt: 300, detectedTs: rt.ts, clearedAt: null, clearedTs: null, evidence: { greenSeconds: 20, queue: 3 }, acknowledged: null,
    };
    rt.incidents.importState({ ...rt.incidents.exportState(), incidents: [inc], serial: 1 });
    assert.equal((await call(a, 'PUT', '/api/v1/intersections/intersection_1_1/controller', { controller: 'sotl' })).status, 200);
    assert.equal((await call(a, 'PUT', '/api/v1/regions/south-east/controller', { controller: 'actuated' })).status, 200);
    assert.equal((await call(a, 'PUT', '/api/v1/simulation', { speed: 4 })).status, 200);
    assert.equal((await call(a, 'POST', '/api/v1/incidents/inc-1/acknowledge')).status, 200);
    const road = rt.sim.net.roadIds[0];
    assert.equal((await call(a, 'POST', '/api/v1/emergency', { id: 'amb-1', route: [road] })).status, 201);
    // one KPI period on (the test below counts KPI samples from a whole period)
    for (let k = 0; k < 10; k++) await a.runtime.stepOnce();
    // what the street reported is in the brain before it is compared (the twin takes reports in as they become durable)
    await a.runtime.whenIngested();
    const emergency = (await call(a, 'GET', '/api/v1/emergency')).body as unknown[];
    assert.equal(emergency.length, 1);
    assert.notEqual((emergency[0] as { avl: unknown }).avl, null, 'the twin follows it by its AVL unit (restored below with the rest)');
    const before = seen(a);
    assert.ok(before.kpis.length >= 40 && before.metrics.vehiclesInNetwork > 0);
    assert.ok(before.counted.some((n) => n > 0) && before.modes.every((m) => m === 'central'));
    const events = await a.store.count();
    const positions = await a.store.count({ device: 'avl-amb-1' });
    const onRoad = a.runtime.street!.sim.vehicleStatus('amb-1').state === 'running';
    await a.close();

    // started again with other flags: what the store holds wins (the operators set it, audited)
    const b = await serve(dir, { speed: 1, run: true });
    try {
      b.runtime.stop();
      const after = seen(b);
      assert.deepEqual({ ...after, running: before.running }, before);
      assert.equal(after.running, false, 'paused as it was (the operator never ran it)');
      assert.equal(after.speed, 4);
      // the ambulance keeps its priority: the same corridor and arrival estimate as before the restart
      assert.deepEqual((await call(b, 'GET', '/api/v1/emergency')).body, emergency);
      // the resumed city's events are new ones: none is taken for a stored duplicate
      for (let k = 0; k < 20; k++) await b.runtime.stepOnce();
      await until(() => b.runtime.pendingEvents === 0 && b.runtime.eventsDelivered > 0, 5000, 'events delivered');
      const grown = await b.store.count();
      assert.ok(grown > events, `${grown} events stored after ${events}`);
      assert.equal(b.runtime.sim.time, before.time + 20);
      // the street's ambulance still has its AVL unit
      if (onRoad) assert.ok((await b.store.count({ device: 'avl-amb-1' })) > positions, 'it reports on after the restart');
      assert.ok(b.runtime.kpis.at(-1)!.t === before.time + 20, 'KPI sampling goes on');
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a city an operator ran is resumed running, and a snapshot is taken periodically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-persist-'));
  try {
    const a = await serve(dir, { run: false, snapshotIntervalMs: 50 });
    token = a.createdTokens[0].token;
    assert.equal((await call(a, 'PUT', '/api/v1/simulation', { speed: 200, running: true })).status, 200);
    await until(async () => ((await a.store.getSnapshot(CITY_SNAPSHOT))?.at ?? 0) > 0 && a.runtime.sim.time > 20, 10000, 'a periodic snapshot');
    await a.close();
    const b = await serve(dir, { run: false });
    try {
      assert.equal(b.runtime.isRunning, true, 'the operator ran it: --paused applies to a city no operator ran or paused');
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot of another scenario is ignored with a log line naming why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-persist-'));
  const store = await openStore(`sqlite:${join(dir, 'city.db')}`);
  try {
    const small = new CityRuntime(grid(), { epochMs: 1_767_225_600_000 });
    for (let k = 0; k < 50; k++) await small.stepOnce();
    const fp = (s: ReturnType<typeof grid>) => scenarioFingerprint(s, { interval: 1 });
    const warned: string[] = [];
    const log = { info: () => {}, warn: (_o: unknown, msg: string) => void warned.push(msg), error: () => {} } as never;
    await new CityPersistence(store, small, fp(grid()), log).save();

    const other = generateGrid({ rows: 3, cols: 3, demand: 0.1 });
    assert.notEqual(fp(other), fp(grid()));
    const big = new CityRuntime(other, { epochMs: 1_767_225_600_000 });
    assert.equal(await new CityPersistence(store, big, fp(other), log).restore(), false);
    assert.equal(big.sim.time, 0);
    assert.match(warned.join('\n'), /another scenario .*ignored, the city starts afresh/);

    const same = new CityRuntime(grid(), { epochMs: 1_767_225_600_000 });
    assert.equal(await new CityPersistence(store, same, fp(grid()), log).restore(), true);
    assert.equal(same.sim.time, 50);
    assert.deepEqual(same.sim.metrics(), small.sim.metrics());
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('field events the store had not taken when the state was saved are sent again after a restore', async () => {
  const a = new CityRuntime(grid(), { epochMs: 1_767_225_600_000, sink: async () => Promise.reject(new Error('store down')) });
  for (let k = 0; k < 30; k++) await a.stepOnce();
  await until(() => a.pendingEvents > 0 && a.eventsRetried > 0, 2000, 'events waiting');
  const waiting = a.exportState().pending.map((e) => e.id);
  const got: string[] = [];
  const b = new CityRuntime(grid(), { epochMs: 1_767_225_600_000, sink: async (events) => void got.push(...events.map((e) => e.id)) });
  b.importState(a.exportState());
  await until(() => got.length >= waiting.length, 2000, 'events sent again');
  assert.deepEqual(got, waiting);
});
