import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { generateGrid, Network } from '@citybrain/engine';
import type { PlateEvent } from '@citybrain/brain';
import {
  loadPlateKey, openStore, openWatchlistStore, plateKeyer, PostgresStore, SqliteStore, startReadRetention, WatchlistService, type WatchlistStore,
} from '@citybrain/server';
import { openTestStore, PG_URL, pgUnavailable, type TestStore } from './helpers.js';

// The watchlist's store beside each event store (SQLite file, PostgreSQL schema), driven through the service as the server does.
const pgSkip = await pgUnavailable();
if (pgSkip) console.log(pgSkip);

const net = new Network(generateGrid({ rows: 3, cols: 3, demand: 0.05 }).roadnet);
const KEY43 = /^[A-Za-z0-9_-]{43}$/;
const T = Date.UTC(2030, 0, 7, 8);

let seq = 0;
function read(plate: string, intersection: string, ts: number): PlateEvent {
  const i = net.interIndex.get(intersection)!;
  return { kind: 'plate', id: `r${++seq}`, device: 'cam', ts, intersection, lane: net.laneId(net.incomingLanes(i)[0]), camera: `cam-${intersection}`, plate, confidence: 0.95 };
}

/** Every row of the watchlist's tables, as the database holds them. */
async function rows(t: TestStore): Promise<Record<'register' | 'entries' | 'alerts' | 'reads', unknown[]>> {
  const tables = ['register', 'entries', 'alerts', 'reads'] as const;
  if (t.store instanceof SqliteStore) {
    const db = new Database(`${t.store.path}.watchlist`, { readonly: true });
    try {
      return Object.fromEntries(tables.map((x) => [x, db.prepare(`SELECT * FROM ${x}`).all()])) as Record<(typeof tables)[number], unknown[]>;
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const schema = (t.store as PostgresStore).schema;
    const out: Record<string, unknown[]> = {};
    for (const x of tables) out[x] = (await c.query(`SELECT * FROM "${schema}".watchlist_${x}`)).rows;
    return out as Record<(typeof tables)[number], unknown[]>;
  } finally {
    await c.end();
  }
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`WatchlistStore: ${backend}`, { skip: backend === 'postgres' ? pgSkip : undefined }, () => {
    let t: TestStore;
    let ws: WatchlistStore;
    let svc: WatchlistService;
    let keyer: (p: string) => string;
    before(async () => {
      t = await openTestStore(backend);
      const key = await loadPlateKey(t.store, undefined);
      assert.deepEqual(await loadPlateKey(t.store, undefined), key, 'the city\'s plate key is made once and kept');
      keyer = plateKeyer(key);
      ws = await openWatchlistStore(t.store);
      svc = await WatchlistService.start({ store: ws, keyer, net });
    });
    after(async () => {
      await ws?.close();
      await t?.cleanup();
    });

    it('register and lists: kept as keyed hashes, replaced and removed', async () => {
      assert.equal(await svc.importRegister('plate,use\n浙A11111,private\n浙A22222,private\n浙A44444,private\n', true), 3);
      assert.equal(await svc.importRegister('plate,use\n浙A33333,taxi\n浙A44444,taxi\n', false), 2, 'added to, a plate\'s row replaced');
      const reg = await ws.loadRegister();
      assert.equal(reg.length, 4);
      assert.equal(reg.find((r) => r.key === keyer('浙A44444'))?.use, 'taxi');
      assert.ok(reg.every((r) => KEY43.test(r.key) && KEY43.test(r.canonicalKey)));

      const stolen = await svc.addEntry('stolen', '浙A22222', 'case 7', 'police control room', T);
      const gone = await svc.addEntry('wanted', '浙A55555', undefined, 'police control room', T + 1);
      assert.deepEqual((await ws.listEntries()).map((e) => [e.list, e.note, e.addedBy]), [['stolen', 'case 7', 'police control room'], ['wanted', undefined, 'police control room']]);
      assert.deepEqual(await svc.removeEntry(gone.id), gone);
      assert.equal(await ws.deleteEntry(gone.id), undefined, 'no such entry any more');
      assert.deepEqual(await ws.listEntries(), [stolen]);

      await svc.importRegister('plate,use\n浙A66666,private\n', true);
      assert.equal((await ws.loadRegister()).length, 1, 'replace clears the register first');
      await svc.importRegister('plate,use\n浙A11111,private\n浙A22222,private\n浙A33333,taxi\n', true);
    });

    it('reads judged: alerts with their evidence and the clear plate; reads kept by keyed hash only', async () => {
      svc.ingest([
        read('浙A99999', 'intersection_1_1', T), // unregistered
        read('浙A2ZZ22', 'intersection_1_1', T + 1000), // stolen 浙A22222, two Z read for 2
        read('浙A11111', 'intersection_1_1', T + 2000),
        read('浙A11111', 'intersection_3_3', T + 3000), // 849 m in 1 s: cloned
      ]);
      await svc.settled();
      const all = await ws.alerts({ status: 'all', limit: 10 });
      assert.deepEqual(all.map((a) => a.kind), ['cloned', 'stolen', 'unregistered'], 'newest first');
      assert.deepEqual(all.map((a) => a.alert.plate), ['浙A11111', '浙A2ZZ22', '浙A99999']);
      assert.ok(all.every((a) => a.acknowledged === null && KEY43.test(a.key)));
      const cloned = all[0];
      assert.equal((cloned.alert.evidence as { metres: number }).metres, 849);
      assert.match(cloned.alert.explanation, /849 m apart 1 s apart/);
      assert.deepEqual((await ws.alerts({ kind: 'stolen', limit: 10 })).map((a) => a.alert.plate), ['浙A2ZZ22']);
      assert.deepEqual((await ws.alerts({ key: cloned.key, limit: 10 })).map((a) => a.id), [cloned.id]);
      assert.equal((await ws.alerts({ limit: 2 })).length, 2);
      // an alert stored twice (a retried write) is kept once, as first stored
      await ws.addAlerts([{ ...cloned, alert: { ...cloned.alert, explanation: 'changed' } }]);
      assert.equal((await ws.alerts({ limit: 10 })).length, 3);
      assert.match((await ws.alerts({ key: cloned.key, limit: 1 }))[0].alert.explanation, /849 m/);

      const keyOf = (p: string) => svc.keysOf(p).canonicalKey;
      const reads = await ws.reads(keyOf('浙A11111'), 10);
      assert.deepEqual(reads.map((r) => [r.intersection, r.ts, r.matched]), [['intersection_3_3', T + 3000, true], ['intersection_1_1', T + 2000, true]], 'newest first');
      assert.deepEqual((await ws.reads(keyOf('浙A99999'), 10)).map((r) => r.matched), [false], 'a plate in no register or list matched nothing');
      assert.equal((await ws.reads(keyOf('浙A11111'), 1)).length, 1);

      // the tables themselves: no clear plate anywhere but in an alert
      const r = await rows(t);
      for (const x of ['register', 'entries', 'reads'] as const) assert.ok(!JSON.stringify(r[x]).includes('浙'), `no clear plate in ${x}`);
      assert.equal(r.reads.length, 4);
      assert.ok(JSON.stringify(r.alerts).includes('浙A99999'), 'the alert keeps its plate');
    });

    it('acknowledgement: kept as first given, filtered by status, unknown ids answered undefined', async () => {
      const [cloned] = await ws.alerts({ kind: 'cloned', limit: 1 });
      const ack = await svc.acknowledge(cloned.id, 'officer 12', T + 60_000);
      assert.deepEqual(ack?.acknowledged, { by: 'officer 12', ts: T + 60_000 });
      assert.deepEqual((await ws.acknowledge(cloned.id, 'officer 13', T + 120_000))?.acknowledged, { by: 'officer 12', ts: T + 60_000 }, 'the first acknowledgement stays');
      assert.equal(await ws.acknowledge('cloned:0:nothing', 'officer 12', T), undefined);
      assert.deepEqual((await ws.alerts({ status: 'acknowledged', limit: 10 })).map((a) => a.id), [cloned.id]);
      assert.deepEqual((await ws.alerts({ status: 'open', limit: 10 })).map((a) => a.kind), ['stolen', 'unregistered']);
      assert.deepEqual(svc.recent().find((a) => a.id === cloned.id)?.acknowledged, { by: 'officer 12', ts: T + 60_000 }, 'the live stream\'s alerts updated');
    });

    it('a restart reads back the register, the lists and the alerts (acknowledged ones too)', async () => {
      const again = await openStore(t.url);
      const ws2 = await openWatchlistStore(again);
      try {
        assert.deepEqual(await loadPlateKey(again, undefined), await loadPlateKey(t.store, undefined), 'the same plate key');
        const svc2 = await WatchlistService.start({ store: ws2, keyer, net });
        assert.equal(svc2.matcher.register.size, 3);
        assert.equal(svc2.matcher.lists.size, 1);
        assert.deepEqual(svc2.recent().map((a) => [a.kind, a.acknowledged?.by ?? null]), [['cloned', 'officer 12'], ['stolen', null], ['unregistered', null]]);
        // the register it read back judges as the first did: a registered plate raises nothing, a stolen one its alert
        svc2.ingest([read('浙A33333', 'intersection_2_2', T + 10_000), read('浙A22222', 'intersection_2_2', T + 11_000)]);
        await svc2.settled();
        assert.deepEqual((await ws2.alerts({ status: 'open', limit: 10 })).map((a) => a.kind), ['stolen', 'stolen', 'unregistered']);
      } finally {
        await ws2.close();
        await again.close();
      }
    });

    it('retention: reads that matched nothing go after the shorter time, the others stay; alerts stay', async () => {
      const alertsBefore = (await ws.alerts({ status: 'all', limit: 100 })).length;
      // an hour later, unmatched reads kept 30 minutes, matched ones a day
      const retention = startReadRetention(ws, { matchedMs: 86_400_000, unmatchedMs: 1_800_000, now: () => T + 3_600_000, intervalMs: 3_600_000 });
      try {
        assert.equal(await retention.runOnce(), 1, 'the one unmatched read');
      } finally {
        retention.stop();
      }
      assert.deepEqual(await ws.reads(svc.keysOf('浙A99999').canonicalKey, 10), []);
      assert.equal((await ws.reads(svc.keysOf('浙A11111').canonicalKey, 10)).length, 2);
      assert.equal((await ws.alerts({ status: 'all', limit: 100 })).length, alertsBefore);
      // events kept for ever (retention off): matched reads stay however old
      const forever = startReadRetention(ws, { matchedMs: Infinity, unmatchedMs: 1, now: () => T + 365 * 86_400_000 });
      try {
        assert.equal(await forever.runOnce(), 0);
      } finally {
        forever.stop();
      }
      // a day and more later, the matched ones go with the events
      assert.equal(await ws.purgeReads(T + 86_400_000, T + 86_400_000), 5);
      assert.equal((await rows(t)).reads.length, 0);
    });
  });
}
