import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import type { FastifyInstance } from 'fastify';
import { Auth, buildApp, MqttIngest, StoreError } from '@citybrain/server';
import { events, gated, lane, MQTT_URL, mqttUnavailable, openTestStore, uid, until, type TestStore } from './helpers.js';

const skip = await mqttUnavailable();
if (skip) console.log(skip);

describe('MQTT ingestion with the real broker', { skip }, () => {
  const prefix = `cbtest_${uid()}`;
  const clientId = `cbtest-ingest-${uid()}`;
  let t: TestStore;
  let app: FastifyInstance;
  let auth: Auth;
  let token: string;
  let ingest: MqttIngest | undefined;
  let device: MqttClient;

  const start = async () => (ingest = await MqttIngest.start({ url: MQTT_URL, pipeline: app.ingest, auth, topicPrefix: prefix, clientId }));
  const publish = (deviceId: string, payload: unknown) =>
    device.publishAsync(`${prefix}/devices/${deviceId}/events`, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
  const rejected = async (reason: string) => {
    const m = new RegExp(`citybrain_ingest_rejected_total\\{source="mqtt",reason="${reason}"\\} (\\d+)`).exec((await app.inject('/metrics')).body);
    return m ? Number(m[1]) : 0;
  };

  before(async () => {
    t = await openTestStore('sqlite');
    auth = new Auth(t.store, { rateLimit: false });
    token = (await auth.createToken({ name: 'mqtt cam', role: 'device', device: 'cam-1', intersections: ['i1'] })).token;
    app = buildApp({ store: t.store, auth, logger: false });
    await app.ready();
    await start();
    device = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-dev-${uid()}` });
  });
  after(async () => {
    await device?.endAsync();
    await ingest?.close();
    // drop the persistent session from the broker
    const c = await mqtt.connectAsync(MQTT_URL, { clientId, clean: true, protocolVersion: 5 }).catch(() => undefined);
    await c?.endAsync();
    await app?.close();
    await t?.cleanup();
  });

  it('stores a batch or a single event published for the device topic', async () => {
    await publish('cam-1', { token, events: events(20, 'm1') });
    await publish('cam-1', { token, event: lane('m1-single') });
    await until(async () => (await t.store.count()) === 21, 5000, '21 events stored');
    assert.deepEqual((await t.store.query({ device: 'cam-1', limit: 1 }))[0].id.startsWith('m1-'), true);
    assert.match((await app.inject('/metrics')).body, /citybrain_ingest_events_accepted_total\{source="mqtt"\} 21/);
  });

  it('a redelivered message (same device and ids) is stored once', async () => {
    await publish('cam-1', { token, events: events(20, 'm1') });
    await publish('cam-1', { token, event: lane('m1-marker') });
    await until(async () => (await t.store.count()) === 22, 5000, 'marker stored');
    assert.match((await app.inject('/metrics')).body, /citybrain_ingest_events_duplicate_total\{source="mqtt"\} 20/);
  });

  it('refuses malformed, unauthenticated and out-of-scope messages: counted, not stored, the adapter keeps going', async () => {
    const before = { invalid: await rejected('invalid'), unauthenticated: await rejected('unauthenticated'), forbidden: await rejected('forbidden') };
    const n = await t.store.count();
    await publish('cam-1', '{not json');
    await publish('cam-1', { events: events(2, 'm3-notoken') });
    await publish('cam-1', { token, events: [lane('m3-bad', { occupancy: 7 })] });
    // a NUL that PostgreSQL could not store would otherwise hold every later message behind its retried commit
    await publish('cam-1', { token, events: [lane('m3-nul\u0000')] });
    // Latin-1 bytes are not UTF-8: refused rather than stored with U+FFFD in place of the letter
    await device.publishAsync(`${prefix}/devices/cam-1/events`, Buffer.from(JSON.stringify({ token, events: [lane('m3-latin1', { lane: 'Ä' })] }), 'latin1'), { qos: 1 });
    await publish('cam-1', { token: 'cbt_wrong', events: events(2, 'm3-wrongtoken') });
    await publish('cam-2', { token, events: events(2, 'm3-othertopic') });
    await publish('cam-1', { token, events: [lane('m3-ok'), lane('m3-scope', { intersection: 'i2' })] });
    await publish('cam-1', { token, event: lane('m3-marker') });
    // one subscriber handles messages in order: once the marker is in, the others were handled
    await until(async () => (await t.store.count()) === n + 1, 5000, 'marker stored');
    assert.deepEqual((await t.store.query({ device: 'cam-1', order: 'desc', limit: 1 })).map((e) => e.id), ['m3-marker']);
    assert.equal(await rejected('invalid'), before.invalid + 5);
    assert.equal(await rejected('unauthenticated'), before.unauthenticated + 1);
    assert.equal(await rejected('forbidden'), before.forbidden + 2);
  });

  it('messages published while the server is away are delivered to its persistent session', async () => {
    await ingest!.close();
    ingest = undefined;
    const n = await t.store.count();
    await publish('cam-1', { token, events: events(30, 'm4-offline') });
    await start();
    await until(async () => (await t.store.count()) === n + 30, 5000, 'queued messages stored after the restart');
  });

  it('the PUBACK waits for the commit: a server that dies before committing gets the message again', async () => {
    await ingest!.close();
    ingest = undefined;
    // a server whose store never finishes the commit, then dies without acknowledging
    const g = gated(t.store);
    const stuck = buildApp({ store: g.store, auth: new Auth(g.store, { rateLimit: false }), logger: false });
    await stuck.ready();
    const dying = await MqttIngest.start({ url: MQTT_URL, pipeline: stuck.ingest, auth, topicPrefix: prefix, clientId });
    const n = await t.store.count();
    await publish('cam-1', { token, events: events(10, 'm5-unacked') });
    await until(() => stuck.ingest.depth === 10, 5000, 'the message to wait on its commit');
    await dying.client.endAsync(true);
    await stuck.close();
    assert.equal(await t.store.count(), n);
    await start();
    await until(async () => (await t.store.count()) === n + 10, 5000, 'the redelivered message stored');
  });

  it('the adapter refuses to start before the app is ready, so messages queued at the broker are not refused and lost', async () => {
    await ingest!.close();
    ingest = undefined;
    const n = await t.store.count();
    await publish('cam-1', { token, events: events(5, 'm7-early') });
    // as INGESTION.md showed it: MqttIngest.start({url, pipeline: app.ingest, auth}), here before app.ready() (startServer did so too)
    const early = buildApp({ store: t.store, auth, logger: false });
    try {
      const started = MqttIngest.start({ url: MQTT_URL, pipeline: early.ingest, auth, topicPrefix: prefix, clientId });
      // an adapter that did start (and so refused the queued message) is closed, so the session is free again
      await assert.rejects(started.then(async (a) => a.close()), /await app\.ready\(\) before MqttIngest\.start/);
    } finally {
      await early.close();
    }
    await start();
    await until(async () => (await t.store.count()) === n + 5, 5000, 'the queued message stored by a ready adapter');
  });

  it('a token lookup that fails (store unreachable) is retried, not acknowledged as a bad payload and lost', async () => {
    await ingest!.close();
    ingest = undefined;
    let failures = 3;
    const flaky = new Proxy(t.store, {
      get(target, prop) {
        if (prop === 'findToken') {
          return async (hash: string) => {
            if (failures-- > 0) throw new StoreError('database unreachable');
            return target.findToken(hash);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const lookingUp = await MqttIngest.start({ url: MQTT_URL, pipeline: app.ingest, auth: new Auth(flaky, { rateLimit: false }), topicPrefix: prefix, clientId });
    try {
      const n = await t.store.count();
      const invalid = await rejected('invalid');
      await publish('cam-1', { token, events: events(3, 'm6-lookup') });
      await until(async () => (await t.store.count()) === n + 3, 5000, 'the message stored once the lookup succeeds');
      assert.equal(failures, -1, 'three failed lookups, then one that worked');
      assert.equal(await rejected('invalid'), invalid, 'not refused as a bad payload');
    } finally {
      await lookingUp.close();
      await start();
    }
  });
});
