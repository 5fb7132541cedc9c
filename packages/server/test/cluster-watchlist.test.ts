/**
 * Issue #20, the plate watchlist in a cluster, against a real nats-server and
 * PostgreSQL: a plate read posted to a gateway goes to the events stream (and
 * through a writer to the store) as its keyed hash only, and as read to the
 * plates stream, from which the API server's watchlist takes it (one durable
 * consumer) and raises its alert as one process would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { generateGrid, Network } from '@citybrain/engine';
import { KEYED_PLATE_PREFIX, type PlateEvent } from '@citybrain/brain';
import { Auth, openStore, PostgresStore, startServer, type EventStore, type RunningServer } from '@citybrain/server';
import {
  ClusterFollower, decodeEvents, EVENTS_STREAM, PLATES_STREAM, startGateway, startWriter, WATCHLIST_CONSUMER, type RunningGateway, type RunningWriter,
} from '@citybrain/server/cluster';
import { PG_URL, pgUnavailable, T0, uid, until } from './helpers.js';
import { NatsServer, natsServerUnavailable } from './support/nats-server.js';

const skip = natsServerUnavailable() ?? (await pgUnavailable());

describe('the watchlist in a cluster: clear reads through the plates stream, keyed hashes everywhere else', { skip }, () => {
  const scenario = generateGrid({ rows: 3, cols: 3, demand: 0.05 });
  const net = new Network(scenario.roadnet);
  const i = [...net.signalised][0];
  const intersection = net.interIds[i];
  const lane = net.laneId(net.incomingLanes(i)[0]);
  const LISTED = '浙AB1234';
  /** the listed plate as a camera misread it (B read as 8): only the clear read can be matched to it */
  const MISREAD = '浙A81234';
  const schema = `cb_test_${uid()}`;
  let nats: NatsServer;
  let store: EventStore;
  let gw: RunningGateway;
  let writer: RunningWriter;
  let server: RunningServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let camera: string, police: string;

  const call = async (base: string, method: string, path: string, token: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  const read = (id: string, plate: string, ts: number): PlateEvent => ({ kind: 'plate', id, device: 'gw-cam', ts, intersection, lane, camera: 'gw-cam-1', plate, confidence: 0.95 });
  /** every message of a stream, decoded */
  const messagesOf = async (stream: string) => {
    const out: { subject: string; events: Record<string, unknown>[] }[] = [];
    const last = (await jsm.streams.info(stream)).state.last_seq;
    for (let seq = 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      const d = m && decodeEvents(m.data);
      if (m && d && 'events' in d) out.push({ subject: m.subject, events: d.events as unknown as Record<string, unknown>[] });
    }
    return out;
  };

  before(async () => {
    nats = await NatsServer.start();
    const storeUrl = `${PG_URL}?schema=${schema}`;
    store = await openStore(storeUrl);
    const auth = new Auth(store);
    camera = (await auth.createToken({ name: 'gateway camera', role: 'device', device: 'gw-cam', intersections: [intersection] })).token;
    police = (await auth.createToken({ name: 'police control room', role: 'police' })).token;
    // one after the other: the first makes the city's plate key in the store, the next reads it
    gw = await startGateway({ scenario, regions: 4, natsUrl: nats.url, storeUrl, port: 0, logger: false, auth: { rateLimit: false }, printToken: () => {} });
    writer = await startWriter({ natsUrl: nats.url, storeUrl, logger: false });
    const cluster = await ClusterFollower.start({ natsUrl: nats.url, scenario, regions: 4 });
    server = await startServer({
      scenario, storeUrl, cluster, street: false, port: 0, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false },
    });
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    await server?.close();
    await writer?.close();
    await gw?.close();
    await nc?.close();
    if (store instanceof PostgresStore) await store.dropSchema();
    await store?.close();
    await nats?.dispose();
  });

  test('a misread of a wanted plate posted to a gateway raises the alert on the API server; the stream and PostgreSQL hold only keyed hashes', async () => {
    const entry = await call(server.url, 'POST', '/api/v1/watchlist/entries', police, { list: 'wanted', plate: LISTED, note: 'case 12' });
    assert.equal(entry.status, 200, JSON.stringify(entry.body));

    const posted = await call(gw.url, 'POST', '/api/v1/events', camera, { events: [read('wl-1', MISREAD, T0), read('wl-2', '浙A55555', T0 + 2000)] });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    // acknowledged once both streams hold the batch: the clear reads are in the plates stream now
    const plates = await messagesOf(PLATES_STREAM);
    assert.deepEqual(plates.flatMap((m) => m.events.map((e) => e.plate)), [MISREAD, '浙A55555']);
    assert.ok(plates.every((m) => m.subject.startsWith('city.plates.')), plates.map((m) => m.subject).join());

    await until(async () => (await call(server.url, 'GET', '/api/v1/watchlist/alerts', police)).body.length > 0, 30_000, 'the watchlist alert on the API server');
    const alerts = (await call(server.url, 'GET', '/api/v1/watchlist/alerts', police)).body as { kind: string; alert: { plate: string; evidence: { entry: string; confusions: number; read: { camera: string; intersection: string } } } }[];
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    assert.equal(alerts[0].kind, 'wanted');
    assert.equal(alerts[0].alert.plate, MISREAD);
    assert.equal(alerts[0].alert.evidence.entry, entry.body.id);
    assert.equal(alerts[0].alert.evidence.confusions, 1);
    assert.deepEqual([alerts[0].alert.evidence.read.camera, alerts[0].alert.evidence.read.intersection], ['gw-cam-1', intersection]);
    // judged and stored, then acknowledged: nothing left for the watchlist's consumer
    await until(async () => (await jsm.consumers.info(PLATES_STREAM, WATCHLIST_CONSUMER)).num_ack_pending === 0, 10_000, 'the plates acknowledged');
    assert.equal((await jsm.consumers.info(PLATES_STREAM, WATCHLIST_CONSUMER)).num_pending, 0);

    // the events stream: the two reads, their plates keyed
    const events = (await messagesOf(EVENTS_STREAM)).flatMap((m) => m.events).filter((e) => e.kind === 'plate');
    assert.deepEqual(events.map((e) => e.id), ['wl-1', 'wl-2']);
    for (const e of events) assert.ok(String(e.plate).startsWith(KEYED_PLATE_PREFIX), `events stream holds ${String(e.plate)}`);
    // the store, once the writer has put them there: every table of the schema, no clear plate anywhere
    await until(async () => (await store.query({ kind: 'plate', limit: 10 })).length === 2, 30_000, 'the reads stored by the writer');
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    try {
      const tables = (await db.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema])).rows.map((r: { table_name: string }) => r.table_name);
      let rows = 0;
      for (const t of tables) {
        const all = (await db.query(`SELECT * FROM "${schema}"."${t}"`)).rows;
        rows += all.length;
        const text = JSON.stringify(all);
        // the alert is the one place the clear plate is kept (as in one process)
        if (t === 'watchlist_alerts') continue;
        for (const p of [MISREAD, '浙A55555', LISTED]) assert.ok(!text.includes(p), `table ${t} holds the clear plate ${p}`);
      }
      assert.ok(tables.includes('watchlist_reads') && tables.includes('events'), tables.join());
      assert.ok(rows > 0);
      const reads = (await db.query(`SELECT key FROM "${schema}".watchlist_reads`)).rows as { key: string }[];
      assert.equal(reads.length, 2, 'both reads judged once');
    } finally {
      await db.end();
    }
  });
});
