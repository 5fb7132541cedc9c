/**
 * Plans out to field signal controllers, the server's side: the brain's key
 * (made once, kept beside the data), signatures a field controller checks,
 * the MQTT publisher against the real broker, and the HTTP route with its
 * scope and long poll.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import mqtt from 'mqtt';
import { generateGrid, Simulation } from '@citybrain/engine';
import { intersectionPhases } from '@citybrain/control';
import { PlanBoard, type Plan } from '@citybrain/brain';
import { FieldSignalController, roadnetPlan } from '@citybrain/field';
import {
  BRAIN_KEY_STATE, BrainKey, BrainKeyError, loadBrainKey, planRoutes, PlanPublisher, planTopic, planVerifier, type Principal, type RunningServer,
} from '@citybrain/server';
import { MQTT_URL, mqttUnavailable, openTestStore, pgUnavailable, startTestServer, uid } from './helpers.js';

const noBroker = await mqttUnavailable();
const noPg = await pgUnavailable();
const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.1 });
const sim = new Simulation(scenario);
const ixs = intersectionPhases(sim);
const IX = ixs[0];
const NOW = Date.now();

const unsigned = (over: Partial<Plan> = {}) => ({ intersection: IX.id, seq: 1, ts: NOW, phase: 2, validFor: 10, ...over });

test('a plan signed by the brain verifies; one signed by another key, or changed after signing, does not', () => {
  const key = BrainKey.generate();
  const verify = planVerifier(key.publicPem());
  const p = key.sign(unsigned());
  assert.equal(p.issuer, key.issuer);
  assert.match(p.issuer, /^brain-[0-9a-f]{16}$/);
  assert.ok(verify(p));
  assert.ok(!verify({ ...p, phase: 3 }), 'phase changed after signing');
  assert.ok(!verify({ ...p, seq: 2 }), 'seq changed after signing (a replay dressed up as new)');
  const mallory = BrainKey.generate();
  assert.ok(!verify(mallory.sign(unsigned())), 'signed by another key (its own issuer)');
  assert.ok(!verify({ ...mallory.sign(unsigned()), issuer: key.issuer }), 'signed by another key, claiming the brain\'s issuer');
  assert.ok(!verify({ ...p, sig: 'AAAA' }), 'a signature of the wrong length');
  assert.throws(() => planVerifier(mallory.privatePem().replace(/[A-Za-z]/g, 'x')), /./, 'not a key');
});

test('a field controller with the brain\'s verifier obeys the brain and refuses forged plans (bad signature, wrong key)', () => {
  const key = BrainKey.generate();
  const c = new FieldSignalController(IX, roadnetPlan(sim.net, IX.intersection), planVerifier(key.publicPem()), { device: `sig-${IX.id}`, initialPhase: 2 });
  assert.deepEqual(c.receive(key.sign(unsigned({ seq: 1, phase: 2 })), 0), { accepted: true });
  c.tick(0);
  assert.equal(c.mode, 'central');
  const forged = { ...key.sign(unsigned({ seq: 2, phase: 3 })), phase: 4 };
  const v1 = c.receive(forged, 1);
  assert.equal(v1.accepted ? 'accepted' : v1.reason, 'forged');
  const v2 = c.receive(BrainKey.generate().sign(unsigned({ seq: 3, phase: 4 })), 1);
  assert.equal(v2.accepted ? 'accepted' : v2.reason, 'forged');
  const v3 = c.receive(key.sign(unsigned({ seq: 1, phase: 4 })), 1);
  assert.equal(v3.accepted ? 'accepted' : v3.reason, 'replay', 'a genuine plan replayed');
  c.tick(1);
  assert.equal(c.phase(), 2);
  assert.equal(c.refused.forged, 2);
});

test('the brain key of a SQLite store: made on first start in <db>.brain-key.pem (0600), the same key after a restart; a broken file is named', async () => {
  const t = await openTestStore('sqlite');
  try {
    const file = `${t.url.slice('sqlite:'.length)}.brain-key.pem`;
    assert.ok(!existsSync(file));
    const k1 = await loadBrainKey(t.store);
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const k2 = await loadBrainKey(t.store);
    assert.equal(k2.publicPem(), k1.publicPem());
    assert.ok(planVerifier(k1.publicPem())(k2.sign(unsigned())), 'plans signed after a restart verify with the key given out before');
    const other = join(mkdtempSync(join(tmpdir(), 'citybrain-key-')), 'brain.pem');
    const k3 = await loadBrainKey(t.store, { keyFile: other });
    assert.notEqual(k3.publicPem(), k1.publicPem(), 'keyFile: a key of its own');
    writeFileSync(other, 'not a key');
    await assert.rejects(loadBrainKey(t.store, { keyFile: other }), (e: Error) => e instanceof BrainKeyError && e.message.includes(`brain key in ${other}`));
    await assert.rejects(loadBrainKey(t.store, { keyFile: join(other, 'no-such-dir', 'k.pem') }), (e: Error) => e instanceof BrainKeyError && /cannot keep the brain key in/.test(e.message));
    rmSync(other);
  } finally {
    await t.cleanup();
  }
});

test('the brain key of a PostgreSQL store: in its state table, made once with an audit entry, the same after a restart', { skip: noPg }, async () => {
  const t = await openTestStore('postgres');
  try {
    const k1 = await loadBrainKey(t.store);
    const k2 = await loadBrainKey(t.store);
    assert.equal(k2.publicPem(), k1.publicPem());
    assert.ok((await t.store.readState(BRAIN_KEY_STATE)).has(BRAIN_KEY_STATE));
    const audit = (await t.store.queryAudit()).filter((a) => a.action === 'create-brain-key');
    assert.equal(audit.length, 1);
    assert.deepEqual(audit[0].after, { issuer: k1.issuer, publicKey: k1.publicPem() });
    assert.ok(!JSON.stringify(audit[0]).includes('PRIVATE KEY'), 'the audit log does not hold the private key');
  } finally {
    await t.cleanup();
  }
});

test('MQTT: each plan to {prefix}/intersections/{id}/plan at QoS 1, not retained', { skip: noBroker }, async () => {
  const prefix = `cbtest_plans_${uid()}`;
  const key = BrainKey.generate();
  const sub = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-plan-sub-${uid()}`, protocolVersion: 5 });
  const got: { topic: string; qos: number; retain: boolean; plan: Plan }[] = [];
  sub.on('message', (topic, payload, packet) => got.push({ topic, qos: packet.qos, retain: packet.retain, plan: JSON.parse(payload.toString()) as Plan }));
  await sub.subscribeAsync(`${prefix}/intersections/+/plan`, { qos: 1 });
  const out = await PlanPublisher.connect(MQTT_URL, { topicPrefix: prefix, clientId: `cbtest-plan-pub-${uid()}` });
  try {
    const odd = 'a/b+c#';
    const plans = [key.sign(unsigned({ seq: 1 })), key.sign(unsigned({ seq: 2, phase: 0 })), key.sign(unsigned({ intersection: odd, seq: 1 }))];
    for (const p of plans) await out.publish(p);
    const t0 = Date.now();
    while (got.length < plans.length && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got.map((m) => m.topic), [planTopic(IX.id, prefix), planTopic(IX.id, prefix), `${prefix}/intersections/a%2Fb%2Bc%23/plan`]);
    assert.deepEqual(got.map((m) => m.qos), [1, 1, 1], 'QoS 1: the broker acknowledges each plan');
    assert.deepEqual(got.map((m) => m.retain), [false, false, false]);
    assert.deepEqual(got.map((m) => m.plan), plans);
    assert.ok(got.every((m) => planVerifier(key.publicPem())(m.plan)), 'the plans arrive verifiable');
    // a late subscriber gets no stale plan from the broker
    const late = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-plan-late-${uid()}`, protocolVersion: 5 });
    const stale: string[] = [];
    late.on('message', (topic) => stale.push(topic));
    await late.subscribeAsync(`${prefix}/intersections/+/plan`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    await late.endAsync();
    assert.deepEqual(stale, []);
  } finally {
    await out.close();
    await sub.endAsync();
  }
});

// ---------------------------------------------------------------- HTTP

let server: RunningServer;
let cleanup: () => Promise<void>;
const tokens: Record<string, string> = {};

before(async () => {
  ({ server, cleanup } = await startTestServer('plans', scenario));
  tokens.viewer = (await server.auth.createToken({ name: 'wall', role: 'viewer' })).token;
  tokens.operator = server.createdTokens[0].token;
  tokens.app = (await server.auth.createToken({ name: 'fleet', role: 'app' })).token;
  tokens.own = (await server.auth.createToken({ name: 'cabinet', role: 'device', device: `sig-${IX.id}`, intersections: [IX.id] })).token;
  tokens.other = (await server.auth.createToken({ name: 'cabinet 2', role: 'device', device: `sig-${ixs[1].id}`, intersections: [ixs[1].id] })).token;
});

after(async () => cleanup?.());

async function get(path: string, token?: string) {
  const r = await fetch(server.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), text, body: text && r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}

test('GET /api/v1/brain/key: the brain\'s public key as PEM, for any role; plans the server signs verify with it', async () => {
  for (const who of ['viewer', 'operator', 'app', 'own']) {
    const r = await get('/api/v1/brain/key', tokens[who]);
    assert.equal(r.status, 200, who);
    assert.match(r.type ?? '', /application\/x-pem-file/);
    assert.match(r.text, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
  }
  assert.equal((await get('/api/v1/brain/key')).status, 401);
  const pem = (await get('/api/v1/brain/key', tokens.own)).text;
  assert.ok(planVerifier(pem)(server.plans.key.sign(unsigned())));
  assert.ok(!pem.includes('PRIVATE'));
});

test('GET /api/v1/intersections/:id/plan: the latest plan to its own signal device, viewers and operators; 403 to another intersection\'s device and to apps', async () => {
  const path = `/api/v1/intersections/${IX.id}/plan`;
  assert.equal((await get(path, tokens.own)).status, 204, 'no plan issued yet');
  const board = server.plans.board;
  const p1 = server.plans.key.sign(unsigned({ seq: board.nextSeq(IX.id, NOW), phase: 1 }));
  board.publish(p1);
  for (const who of ['own', 'viewer', 'operator']) {
    const r = await get(path, tokens[who]);
    assert.equal(r.status, 200, who);
    assert.deepEqual(r.body, p1);
  }
  const other = await get(path, tokens.other);
  assert.equal(other.status, 403);
  assert.equal(other.body.code, 'CB_OUT_OF_SCOPE');
  assert.match(other.body.message, new RegExp(`device "sig-${ixs[1].id}" may not read the plans of intersection "${IX.id}"`));
  assert.equal((await get(path, tokens.app)).status, 403);
  assert.equal((await get(path)).status, 401);
  const none = await get('/api/v1/intersections/nowhere/plan', tokens.own);
  assert.equal(none.status, 404);
  assert.equal(none.body.code, 'CB_NOT_FOUND');
  const bad = await get(`${path}?after=-3`, tokens.own);
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /after/);
});

test('long poll: ?after=<seq> answers a newer plan at once, or waits for the next one and answers within milliseconds of its issue', async () => {
  const board = server.plans.board;
  const path = `/api/v1/intersections/${ixs[2].id}/plan`;
  const tok = (await server.auth.createToken({ name: 'cabinet 3', role: 'device', device: `sig-${ixs[2].id}`, intersections: [ixs[2].id] })).token;
  const first = server.plans.key.sign(unsigned({ intersection: ixs[2].id, seq: board.nextSeq(ixs[2].id, NOW), phase: 1 }));
  board.publish(first);
  assert.deepEqual((await get(`${path}?after=${first.seq - 1}`, tok)).body, first, 'a newer one is there: at once');
  const t0 = Date.now();
  const waiting = get(`${path}?after=${first.seq}`, tok);
  await new Promise((r) => setTimeout(r, 300));
  const next = server.plans.key.sign(unsigned({ intersection: ixs[2].id, seq: board.nextSeq(ixs[2].id, NOW), phase: 3 }));
  // another intersection's plan does not answer it
  board.publish(server.plans.key.sign(unsigned({ intersection: ixs[3].id, seq: board.nextSeq(ixs[3].id, NOW) })));
  const issued = Date.now();
  board.publish(next);
  const r = await waiting;
  const answered = Date.now();
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, next);
  assert.ok(issued - t0 >= 290, 'it waited for the plan');
  assert.ok(answered - issued < 100, `answered ${answered - issued} ms after the issue`);
});

test('long poll: 204 when nothing newer comes within the wait, and at once when the server closes', async () => {
  const board = new PlanBoard(['x'], { confirmation: () => undefined });
  const app = Fastify();
  const viewer: Principal = { tokenId: 'tok_v', name: 'v', role: 'viewer', intersections: new Set(), bays: new Set(), vehicles: new Set() };
  await app.register(planRoutes, {
    board, key: BrainKey.generate(), longPollMs: 150,
    access: { require: () => async (req) => { req.principal = viewer; }, who: () => ({ actor: 'v', role: 'viewer' }) },
  });
  const t0 = Date.now();
  const r = await app.inject({ url: '/api/v1/intersections/x/plan?after=0' });
  assert.equal(r.statusCode, 204);
  assert.ok(Date.now() - t0 >= 140, 'it waited');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const t1 = Date.now();
  const pending = fetch(`${url}/api/v1/intersections/x/plan?after=0`);
  await new Promise((res) => setTimeout(res, 30));
  await app.close();
  assert.equal((await pending).status, 204);
  assert.ok(Date.now() - t1 < 140, 'the close did not wait out the poll');
});

test('confirmations: signal events may carry mode central or local, admitted like any device event; another mode is refused by name', async () => {
  const post = async (mode: unknown, id: string) => {
    const r = await fetch(`${server.url}/api/v1/events`, {
      method: 'POST', headers: { authorization: `Bearer ${tokens.own}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ kind: 'signal', id, device: `sig-${IX.id}`, ts: Date.now(), intersection: IX.id, phase: 1, mode }] }),
    });
    return { status: r.status, body: (await r.json()) as { code?: string; message?: string } };
  };
  // a field controller's own confirmation, as it sends it
  const c = new FieldSignalController(IX, roadnetPlan(sim.net, IX.intersection), () => false, { device: `sig-${IX.id}` });
  const conf = c.tick(0);
  assert.equal(conf?.mode, 'local', 'no plan yet: local');
  const r = await fetch(`${server.url}/api/v1/events`, {
    method: 'POST', headers: { authorization: `Bearer ${tokens.own}`, 'content-type': 'application/json' }, body: JSON.stringify({ events: [conf] }),
  });
  assert.equal(r.status, 200, await r.text());
  assert.equal((await post('local', 'c1')).status, 200);
  assert.equal((await post('central', 'c2')).status, 200);
  const bad = await post('manual', 'c3');
  assert.equal(bad.status, 400);
  assert.match(bad.body.message ?? '', /^events\[0\]\.mode: must be one of central, local \(got "manual"\)/);
});
