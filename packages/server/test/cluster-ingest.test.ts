/**
 * Issue #20, the ingestion path of a cluster against a real nats-server
 * (JetStream in a temporary folder, on a free port) and PostgreSQL: gateways
 * acknowledge a device only once JetStream holds its batch, writers put the
 * stream into the store exactly once, and neither an outage of JetStream nor
 * a writer killed mid-stream loses or duplicates an acknowledged event.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { generateGrid, Network } from '@citybrain/engine';
import { type LaneEvent } from '@citybrain/brain';
import { Auth, openStore, PostgresStore, type EventStore } from '@citybrain/server';
import { CITY_PARTITION, cityPartitions, decodeEvents, EVENTS_STREAM, eventsSubject, startGateway, startWriter, type RunningGateway, type RunningWriter } from '@citybrain/server/cluster';
import { MQTT_URL, mqttUnavailable, PG_URL, pgUnavailable, T0, uid, until } from './helpers.js';
import { NatsServer, natsServerUnavailable } from './support/nats-server.js';

const skip = natsServerUnavailable() ?? (await pgUnavailable());
const mqttSkip = skip ?? (await mqttUnavailable());
const WRITER = new URL('./fixtures/writer-process.js', import.meta.url);
/** short, so the test can go past it */
const DUP_WINDOW_MS = 1500;
const ACK_WAIT_MS = 1500;

describe('cluster ingestion: gateway -> JetStream -> writer -> PostgreSQL', { skip }, () => {
  const scenario = generateGrid({ rows: 4, cols: 4, demand: 0.05 });
  const net = new Network(scenario.roadnet);
  const { regionOf } = cityPartitions(net, 4);
  /** a signalised intersection of each of two regions, with a lane into it */
  const spots: { intersection: string; lane: string; region: string }[] = [];
  for (const i of net.signalised) {
    const intersection = net.interIds[i];
    const region = regionOf.get(intersection)!;
    if (spots.some((s) => s.region === region)) continue;
    let l = 0;
    while (net.roadEndInter[net.laneRoad[l]] !== i) l++;
    spots.push({ intersection, lane: net.laneId(l), region });
    if (spots.length === 2) break;
  }
  const [A, B] = spots;
  let nats: NatsServer;
  let storeUrl: string;
  let store: EventStore;
  let gw: RunningGateway;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let writer: RunningWriter | undefined;
  let token: string;
  const stream = { duplicateWindow: DUP_WINDOW_MS };
  const mqttPrefix = `cbtest-${uid()}`;
  const publishMqtt = async (dev: mqtt.MqttClient, events: LaneEvent[]) =>
    dev.publishAsync(`${mqttPrefix}/devices/gw-cam/events`, JSON.stringify({ token, events }), { qos: 1 });

  const ev = (id: string, at: typeof A, i = 0): LaneEvent => ({
    id, device: 'gw-cam', ts: T0 + i * 1000, kind: 'lane', intersection: at.intersection, lane: at.lane, count: 3, occupancy: 0.2, speed: 8, interval: 60,
  });
  const post = (body: unknown) => fetch(`${gw.url}/api/v1/events`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const streamMessages = async () => (await jsm.streams.info(EVENTS_STREAM)).state.messages;
  /** the ids of every message on a subject, in stream order */
  const idsOn = async (subject: string) => {
    const out: string[] = [];
    const last = (await jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    for (let seq = 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq }).catch(() => null);
      if (m?.subject !== subject) continue;
      const d = decodeEvents(m.data);
      if ('events' in d) out.push(...d.events.map((e) => e.id)); // the poison message's test puts one that is not
    }
    return out;
  };
  const storedIds = async (prefix: string) => (await store.query({ device: 'gw-cam', limit: 10000 })).map((e) => e.id).filter((id) => id.startsWith(prefix));

  before(async () => {
    nats = await NatsServer.start();
    storeUrl = `${PG_URL}?schema=cb_test_${uid()}`;
    store = await openStore(storeUrl);
    token = (await new Auth(store).createToken({ name: 'gateway cam', role: 'device', device: 'gw-cam', intersections: [A.intersection, B.intersection] })).token;
    gw = await startGateway({
      scenario, regions: 4, natsUrl: nats.url, storeUrl, port: 0, logger: false, stream, publishTimeoutMs: 1500, auth: { rateLimit: false },
      mqttUrl: mqttSkip ? undefined : MQTT_URL, mqttSession: { topicPrefix: mqttPrefix, clientId: `cbgw-${uid()}`.slice(0, 23) },
      printToken: () => {},
    });
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    await writer?.close();
    await gw?.close();
    await nc?.close();
    if (store instanceof PostgresStore) await store.dropSchema();
    await store?.close();
    await nats?.dispose();
  });

  test('the regions: the two intersections used lie in two regions, none in the city partition', () => {
    assert.ok(A && B, 'two regions with a signalised intersection');
    assert.notEqual(A.region, B.region);
    assert.notEqual(A.region, CITY_PARTITION);
    assert.ok(gw.partitions.includes(A.region) && gw.partitions.includes(B.region) && gw.partitions.includes(CITY_PARTITION));
  });

  test('a batch is acknowledged once JetStream holds it, one message per region in batch order; a writer stores it once', async () => {
    const before = await streamMessages();
    const batch = [ev('h-1', A, 1), ev('h-2', B, 2), ev('h-3', A, 3), ev('h-4', B, 4), ev('h-5', A, 5)];
    const res = await post({ events: batch });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { accepted: 5, duplicates: 0 });
    // the 200 came after the PubAcks: the stream holds both messages now, no writer running yet
    assert.equal(await streamMessages(), before + 2);
    assert.deepEqual((await idsOn(eventsSubject(A.region))).filter((id) => id.startsWith('h-')), ['h-1', 'h-3', 'h-5']);
    assert.deepEqual((await idsOn(eventsSubject(B.region))).filter((id) => id.startsWith('h-')), ['h-2', 'h-4']);
    assert.deepEqual(await storedIds('h-'), []);

    writer = await startWriter({ natsUrl: nats.url, storeUrl, logger: false, stream, ackWaitMs: ACK_WAIT_MS });
    await until(async () => (await storedIds('h-')).length >= 5, 10_000, 'the writer to store the batch');
    assert.deepEqual((await storedIds('h-')).sort(), ['h-1', 'h-2', 'h-3', 'h-4', 'h-5']);
  });

  test('the same batch twice: one stream message per region (duplicate window), stored once; past the window the store keeps it once', async () => {
    const batch = [ev('d-1', A, 1), ev('d-2', B, 2)];
    const before = await streamMessages();
    assert.deepEqual(await (await post(batch)).json(), { accepted: 2, duplicates: 0 });
    assert.deepEqual(await (await post(batch)).json(), { accepted: 0, duplicates: 2 });
    assert.equal(await streamMessages(), before + 2, 'the retry was dropped by its Nats-Msg-Id');
    await until(async () => (await storedIds('d-')).length === 2, 10_000, 'd-1 and d-2 stored');

    await new Promise((r) => setTimeout(r, DUP_WINDOW_MS + 300));
    const dupBefore = await writerDuplicates();
    assert.deepEqual(await (await post(batch)).json(), { accepted: 2, duplicates: 0 }, 'past the window the stream takes it again');
    assert.equal(await streamMessages(), before + 4);
    await until(async () => (await writerDuplicates()) >= dupBefore + 2, 10_000, 'the writer to meet the copies');
    assert.deepEqual((await storedIds('d-')).sort(), ['d-1', 'd-2'], 'the store\'s key (device, id) keeps each once');
  });

  async function writerMetric(name: string): Promise<number> {
    return (await writer!.registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
  }
  const writerDuplicates = () => writerMetric('citybrain_writer_events_duplicate_total');

  test('what only the writer sees: a poison message is terminated and the stream goes on; an id reused with other content is counted, the first kept', async () => {
    const poisonBefore = await writerMetric('citybrain_writer_poison_messages_total');
    const conflictsBefore = await writerMetric('citybrain_writer_id_conflicts_total');
    await jetstream(nc).publish(eventsSubject(A.region), new TextEncoder().encode('{"events": not json'));
    assert.equal((await post([ev('p-1', A, 1)])).status, 200);
    await until(async () => (await storedIds('p-')).length === 1, 10_000, 'p-1 stored past the poison message');
    assert.equal(await writerMetric('citybrain_writer_poison_messages_total'), poisonBefore + 1);
    // the same (device, id) with another count: a gateway cannot know it is stored (the store's 409 in one process)
    const reused = { ...ev('p-1', A, 1), count: 99 };
    assert.equal((await post([reused, ev('p-2', A, 2)])).status, 200);
    await until(async () => (await storedIds('p-')).length === 2, 10_000, 'p-2 stored beside the conflict');
    assert.equal(await writerMetric('citybrain_writer_id_conflicts_total'), conflictsBefore + 1);
    const [p1] = (await store.query({ device: 'gw-cam', limit: 10000 })).filter((e) => e.id === 'p-1') as LaneEvent[];
    assert.equal(p1.count, 3, 'the first reading stays');
  });

  test('a device\'s events keep their order within their region\'s subject and reach the store in it', async () => {
    for (let b = 0; b < 10; b++) {
      const res = await post(Array.from({ length: 5 }, (_, k) => ev(`o-${String(b * 5 + k).padStart(3, '0')}`, A, 100 + b * 5 + k)));
      assert.equal(res.status, 200);
    }
    const onA = (await idsOn(eventsSubject(A.region))).filter((id) => id.startsWith('o-'));
    assert.equal(onA.length, 50);
    assert.deepEqual(onA, [...onA].sort(), 'in the order the device sent them');
    await until(async () => (await storedIds('o-')).length === 50, 10_000, 'the 50 events stored');
    const stored = (await store.query({ device: 'gw-cam', limit: 10000, order: 'asc' })).filter((e) => e.id.startsWith('o-')).map((e) => e.id);
    assert.deepEqual(stored, onA);
  });

  test('over MQTT: a device\'s message reaches the stream and the store once', { skip: mqttSkip }, async () => {
    const dev = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-dev-${uid()}`, protocolVersion: 5 });
    try {
      const batch = [ev('m-1', A, 1), ev('m-2', B, 2)];
      await publishMqtt(dev, batch);
      await publishMqtt(dev, batch); // a device's resend: one copy in the stream (duplicate window), one in the store
      await until(async () => (await idsOn(eventsSubject(A.region))).includes('m-1'), 10_000, 'm-1 in the stream');
      await until(async () => (await storedIds('m-')).length === 2, 10_000, 'm-1 and m-2 stored');
      assert.deepEqual((await idsOn(eventsSubject(B.region))).filter((id) => id.startsWith('m-')), ['m-2']);
    } finally {
      await dev.endAsync();
    }
  });

  test('a writer killed mid-stream and another started: nothing lost, nothing duplicated', async () => {
    await writer!.close();
    writer = undefined;
    // 2000 events in the stream before any writer
    const ids: string[] = [];
    for (let b = 0; b < 40; b++) {
      const batch = Array.from({ length: 50 }, (_, k) => ev(`k-${b}-${k}`, k % 2 ? A : B, 1000 + b * 50 + k));
      ids.push(...batch.map((e) => e.id));
      assert.equal((await post(batch)).status, 200);
    }
    const child = spawn(process.execPath, [WRITER.pathname], {
      env: { ...process.env, CITYBRAIN_NATS: nats.url, CITYBRAIN_STORE: storeUrl, CITYBRAIN_ACK_WAIT_MS: String(ACK_WAIT_MS), CITYBRAIN_DUP_WINDOW_MS: String(DUP_WINDOW_MS), CITYBRAIN_WRITER_BATCH: '5' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    await until(async () => (await storedIds('k-')).length > 0, 15_000, 'the child writer to store some');
    child.kill('SIGKILL');
    await exited;
    const atKill = (await storedIds('k-')).length;
    assert.ok(atKill < ids.length, `killed mid-stream (${atKill} of ${ids.length} stored)`);

    writer = await startWriter({ natsUrl: nats.url, storeUrl, logger: false, stream, ackWaitMs: ACK_WAIT_MS });
    await until(async () => (await storedIds('k-')).length >= ids.length, 30_000, 'every event stored after the restart');
    await new Promise((r) => setTimeout(r, ACK_WAIT_MS + 500)); // anything the dead writer held is redelivered by now
    const stored = await storedIds('k-');
    assert.equal(stored.length, ids.length, 'each event once');
    assert.deepEqual(new Set(stored), new Set(ids));
  });

  test('JetStream unavailable: 503 CB_STREAM_UNAVAILABLE with Retry-After, MQTT acks withheld; after its restart everything acknowledged is there', async () => {
    const acked = await storedIds('');
    const inStream = await streamMessages();
    await nats.stop();
    const batch = [ev('u-1', A, 1), ev('u-2', B, 2)];
    const res = await post(batch);
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
    const body = await res.json() as { code: string; message: string };
    assert.equal(body.code, 'CB_STREAM_UNAVAILABLE');
    assert.match(body.message, /event stream did not acknowledge/);

    // MQTT: the broker takes the device's message; the gateway withholds its PUBACK until JetStream has it
    let dev: mqtt.MqttClient | undefined;
    if (!mqttSkip) {
      dev = await mqtt.connectAsync(MQTT_URL, { clientId: `cbtest-dev-${uid()}`, protocolVersion: 5 });
      await publishMqtt(dev, [ev('mu-1', A, 1), ev('mu-2', B, 2)]);
    }

    await nats.restart();
    await until(async () => (await post(batch)).status === 200, 20_000, 'the gateway to publish again after the restart');
    await until(async () => (await storedIds('u-')).length === 2, 20_000, 'u-1 and u-2 stored');
    if (dev) await until(async () => (await storedIds('mu-')).length === 2, 20_000, 'the MQTT message held over the outage stored');
    assert.ok((await streamMessages()) >= inStream + 2, 'the stream kept what it held');
    const now = await storedIds('');
    for (const id of acked) assert.ok(now.includes(id), `${id} still stored`);
    await dev?.endAsync();
  });
});
