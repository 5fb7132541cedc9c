import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { generateGrid } from '@citybrain/engine';
import type { Incident } from '@citybrain/brain';
import type { RunningServer } from '@citybrain/server';
import { MQTT_URL, mqttUnavailable, startTestServer, uid, until, vehicleOnApproach } from './helpers.js';

// One server on a temp SQLite store, its clock paused so the test moves it; the real broker when there is one.
const noBroker = await mqttUnavailable();
if (noBroker) console.log(`${noBroker} (the MQTT publication of incidents is not checked)`);
const prefix = `cbtest_${uid()}`;
const clientId = `cbtest-incidents-${uid()}`;
let server: RunningServer;
let cleanup: () => Promise<void>;
let operator: string;
let viewer: string;
let police: MqttClient | undefined;
const published: { topic: string; message: { type: string; incident: Incident } }[] = [];

async function call(method: string, path: string, token?: string) {
  const r = await fetch(server.url + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  ({ server, cleanup } = await startTestServer('incidents', generateGrid({ rows: 3, cols: 3, demand: 0.05 }), noBroker ? {} : { mqttUrl: MQTT_URL, mqttSession: { topicPrefix: prefix, clientId } }));
  operator = server.createdTokens[0].token;
  viewer = (await server.auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  if (!noBroker) {
    // the traffic police's system, subscribed to every intersection's incidents
    police = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-police-${uid()}` });
    police.on('message', (topic, payload) => published.push({ topic, message: JSON.parse(payload.toString()) }));
    await police.subscribeAsync(`${prefix}/incidents/#`, { qos: 1 });
  }
});

after(async () => {
  await police?.endAsync();
  await cleanup?.();
  if (!noBroker) await (await mqtt.connectAsync(MQTT_URL, { clientId, clean: true, protocolVersion: 5 }).catch(() => undefined))?.endAsync();
});

test('a breakdown is detected through ingestion, listed, streamed live, published to the police over MQTT, and acknowledged by an operator', async () => {
  const rt = server.runtime;
  const sim = rt.street!.sim;
  for (let k = 0; k < 600; k++) await rt.stepOnce();
  const v = vehicleOnApproach(sim);
  const lane = sim.vehicleDrivable(v);
  // where the police are sent: the lane itself, or a lane into the junction its road starts at (what stands behind it)
  const spot = new Set([lane, ...sim.net.incomingLanes(sim.net.roadStartInter[sim.net.laneRoad[lane]])].map((l) => sim.net.laneId(l)));
  sim.breakDown(v, 900);
  const found = () => rt.incidents.incidents.find((i) => i.status === 'active' && spot.has(i.lane));
  // the detectors' reports reach the brain through the ingestion pipeline (durable first): step, and let it commit
  for (let k = 0; k < 600 && !found(); k++) {
    await rt.stepOnce();
    if (k % 5 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(found(), `detected at ${sim.net.laneId(lane)} or just before`);
  const active = await call('GET', '/api/v1/incidents?status=active', viewer);
  assert.equal(active.status, 200);
  const inc: Incident = active.body.find((i: Incident) => i.id === found()!.id);
  assert.ok(inc, 'listed as active');
  assert.equal(inc.status, 'active');
  assert.equal(inc.acknowledged, null);
  assert.deepEqual((await call('GET', '/api/v1/incidents?status=all', viewer)).body.map((i: Incident) => i.id), rt.incidents.incidents.map((i) => i.id).reverse(), 'all of them, newest first');
  assert.ok((await call('GET', '/api/v1/incidents?status=cleared', viewer)).body.every((i: Incident) => i.status === 'cleared'));
  assert.equal((await call('GET', '/api/v1/incidents?status=open', viewer)).status, 400);
  assert.match((await call('GET', '/api/v1/incidents?limit=0', viewer)).body.message, /limit/);
  assert.equal((await call('GET', '/api/v1/incidents')).status, 401);

  // the live stream carries the active incidents
  const { ticket } = (await call('POST', '/api/v1/live/ticket', viewer)).body;
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/live?ticket=${ticket}`);
  const state = await new Promise<{ incidents: Incident[] }>((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())));
    ws.on('error', reject);
    setTimeout(() => reject(new Error('no state within 5 s')), 5000);
  });
  ws.close();
  assert.ok(state.incidents.some((i) => i.id === inc.id));

  // acknowledging: operators only, unknown ids named, audited once
  const ack = `/api/v1/incidents/${inc.id}/acknowledge`;
  assert.equal((await call('POST', ack)).status, 401);
  assert.equal((await call('POST', ack, viewer)).status, 403);
  const unknown = await call('POST', '/api/v1/incidents/inc-999/acknowledge', operator);
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.message, /no incident "inc-999"/);
  const ok = await call('POST', ack, operator);
  assert.equal(ok.status, 200);
  assert.ok(ok.body.acknowledged.by.startsWith(`${server.createdTokens[0].name} (`), ok.body.acknowledged.by);
  assert.equal(ok.body.acknowledged.ts, server.runtime.ts);
  const again = await call('POST', ack, operator);
  assert.deepEqual(again.body.acknowledged, ok.body.acknowledged, 'the first acknowledgement stays');
  const audit = (await call('GET', '/api/v1/audit?action=acknowledge-incident', operator)).body;
  assert.equal(audit.length, 1);
  assert.equal(audit[0].target, `incident:${inc.id}`);
  // the KPI sample after the detection counts it
  for (let k = 0; k < 10; k++) await rt.stepOnce();
  assert.equal((await call('GET', '/api/v1/kpis', viewer)).body.at(-1).activeIncidents, rt.incidents.activeCount);
  assert.ok(rt.incidents.activeCount >= 1);

  if (police) {
    const ours = () => published.filter((p) => p.message.incident.id === inc.id);
    await until(async () => ours().length >= 2, 5000, 'detection and acknowledgement published');
    assert.deepEqual(ours().map((p) => [p.topic, p.message.type, p.message.incident.id]), [
      [`${prefix}/incidents/${inc.intersection}`, 'incident.detected', inc.id],
      [`${prefix}/incidents/${inc.intersection}`, 'incident.acknowledged', inc.id],
    ]);
  }
});
