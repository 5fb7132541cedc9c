import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { generateGrid } from '@citybrain/engine';
import { moyOf, type RunningServer, type Spat } from '@citybrain/server';
import { MQTT_URL, mqttUnavailable, startTestServer, uid, until } from './helpers.js';

// One server on a temp SQLite store, its clock paused so the test moves it; the real broker when there is one.
const noBroker = await mqttUnavailable();
if (noBroker) console.log(`${noBroker} (the MQTT publication of SPaT is not checked)`);
const prefix = `cbtest_${uid()}`;
const clientId = `cbtest-spat-${uid()}`;
let server: RunningServer;
let cleanup: () => Promise<void>;
const tokens: Record<string, string> = {};

async function get(path: string, token?: string) {
  const r = await fetch(server.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, body: (await r.json()) as Spat & { code?: string; message?: string } };
}

before(async () => {
  ({ server, cleanup } = await startTestServer('spat', generateGrid({ rows: 2, cols: 2, demand: 0.1 }), noBroker ? {} : { mqttUrl: MQTT_URL, mqttSession: { topicPrefix: prefix, clientId } }));
  tokens.operator = server.createdTokens[0].token;
  tokens.viewer = (await server.auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  tokens.app = (await server.auth.createToken({ name: 'fleet app', role: 'app' })).token;
  tokens.device = (await server.auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['intersection_1_1'] })).token;
  for (let k = 0; k < 30; k++) await server.runtime.stepOnce();
});

after(async () => {
  await cleanup?.();
  if (!noBroker) await (await mqtt.connectAsync(MQTT_URL, { clientId, clean: true, protocolVersion: 5 }).catch(() => undefined))?.endAsync();
});

test('GET /api/v1/spat: every intersection, on the city clock, its shown green protected', async () => {
  const rt = server.runtime;
  const { status, body } = await get('/api/v1/spat', tokens.viewer);
  assert.equal(status, 200);
  const spat = body as Spat;
  const ixs = rt.supervisor.env.intersections;
  assert.deepEqual(spat.intersections.map((s) => s.name), ixs.map((ix) => ix.id));
  const now = moyOf(rt.epochMs + rt.sim.time * 1000);
  assert.equal(spat.timeStamp, now.moy);
  ixs.forEach((ix, k) => {
    const s = spat.intersections[k];
    assert.equal(s.moy, now.moy);
    assert.equal(s.timeStamp, now.timeStamp);
    assert.equal(s.id.id, ix.intersection);
    const st = rt.supervisor.status[k];
    const shown = st.yellowLeft > 0 ? ix.yellow : st.green;
    const base = rt.sim.net.interRoadLinkStart[ix.intersection];
    for (const m of s.states.movementList) {
      const e = m['state-time-speed'].movementEventList[0].eventState;
      const green = ix.movements[shown].some((x) => x.roadLink === base + m.signalGroup - 1);
      assert.equal(e.endsWith('Movement-Allowed'), green, `${ix.id} group ${m.signalGroup}: ${e}`);
    }
  });
});

test('GET /api/v1/intersections/{id}/spat: that intersection; an unknown one is a 404', async () => {
  const id = server.runtime.supervisor.env.intersections[1].id;
  const one = await get(`/api/v1/intersections/${id}/spat`, tokens.app);
  assert.equal(one.status, 200);
  assert.deepEqual((one.body as Spat).intersections.map((s) => s.name), [id]);
  const all = (await get('/api/v1/spat', tokens.app)).body as Spat;
  assert.deepEqual((one.body as Spat).intersections[0], all.intersections[1], 'the same state as in the city-wide answer');
  const missing = await get('/api/v1/intersections/nowhere/spat', tokens.viewer);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'CB_NOT_FOUND');
  assert.match(String(missing.body.message), /"nowhere"/);
});

test('SPaT is read by viewers, operators and apps only', async () => {
  for (const role of ['viewer', 'operator', 'app']) assert.equal((await get('/api/v1/spat', tokens[role])).status, 200, role);
  assert.equal((await get('/api/v1/spat', tokens.device)).status, 403);
  assert.equal((await get('/api/v1/spat')).status, 401);
});

test('each intersection\'s SPaT is published every second over MQTT, QoS 0, not retained', { skip: noBroker }, async () => {
  const ids = server.runtime.supervisor.env.intersections.map((ix) => ix.id);
  const got = new Map<string, { at: number; qos: number; retain: boolean; spat: Spat }[]>();
  const vehicle: MqttClient = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-vehicle-${uid()}` });
  try {
    vehicle.on('message', (topic, payload, packet) => {
      const list = got.get(topic) ?? [];
      list.push({ at: Date.now(), qos: packet.qos, retain: packet.retain, spat: JSON.parse(payload.toString()) });
      got.set(topic, list);
    });
    await vehicle.subscribeAsync(`${prefix}/intersections/+/spat`, { qos: 1 });
    await until(() => ids.every((id) => (got.get(`${prefix}/intersections/${id}/spat`)?.length ?? 0) >= 3), 6000, 'three SPaTs of every intersection');
    const http = (await get('/api/v1/spat', tokens.viewer)).body as Spat;
    for (const [k, id] of ids.entries()) {
      const list = got.get(`${prefix}/intersections/${id}/spat`)!;
      for (const m of list) {
        assert.equal(m.qos, 0);
        assert.equal(m.retain, false);
        assert.deepEqual(m.spat.intersections.map((s) => s.name), [id]);
      }
      // the city is paused: what goes out is what the API answers
      assert.deepEqual(list.at(-1)!.spat.intersections[0], http.intersections[k]);
      const gap = list[2].at - list[1].at;
      assert.ok(gap > 700 && gap < 1500, `about a second apart (${gap} ms)`);
    }
  } finally {
    await vehicle.endAsync();
  }
});
