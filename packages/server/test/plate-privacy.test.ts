import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateGrid } from '@citybrain/engine';
import { storedPlate, type PlateEvent } from '@citybrain/brain';
import { CITY_SNAPSHOT, decodeCityState, openStore, startServer, type RunningServer, type ServerOptions } from '@citybrain/server';
import { until } from './helpers.js';

// The city's plate key, given: the test computes the hashes the log must hold.
const KEY = Buffer.alloc(32, 7).toString('base64');
const keyer = (p: string) => createHmac('sha256', Buffer.from(KEY, 'base64')).update(p).digest('base64url');
const HASHED = /^#[A-Za-z0-9_-]{15}$/;

function serve(dir: string, o: Partial<ServerOptions> = {}) {
  return startServer({
    scenario: generateGrid({ rows: 2, cols: 2, demand: 0.15 }), storeUrl: `sqlite:${join(dir, 'city.db')}`, watchlist: { plateKey: KEY },
    port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false }, ...o,
  });
}

async function post(s: RunningServer, token: string, events: PlateEvent[]) {
  const r = await fetch(`${s.url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  return { status: r.status, body: await r.json() as { accepted?: number; duplicates?: number; message?: string } };
}

test('plate reads are stored as keyed hashes (the log, the snapshot); the brain matched them in memory, a retry is a duplicate, and a restart goes on matching', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-plates-'));
  try {
    const a = await serve(dir);
    const operator = a.createdTokens[0].token;
    const net = a.runtime.sim.net;
    const camera = (await a.auth.createToken({ name: 'camera', role: 'device', device: 'cam-x', intersections: [...net.interIds] })).token;
    // the virtual street's cameras read plates as vehicles cross; the brain pairs them into trips
    for (let k = 0; k < 600; k++) await a.runtime.stepOnce();
    await until(() => a.runtime.observed.stats.matched > 0, 10_000, 'plate trips matched');
    const matched = a.runtime.observed.stats.matched;

    // a camera's read over HTTP: stored hashed; the very same read again is a duplicate (the hash is deterministic)
    const ix = 'intersection_1_1';
    const lane = net.laneId(net.incomingLanes(net.interIndex.get(ix)!)[0]);
    const r: PlateEvent = { kind: 'plate', id: 'p1', device: 'cam-x', ts: Date.now(), intersection: ix, lane, camera: 'cam-x-1', plate: '浙A12345', confidence: 0.9 };
    assert.deepEqual((await post(a, camera, [r])).body, { accepted: 1, duplicates: 0 });
    assert.deepEqual((await post(a, camera, [r])).body, { accepted: 0, duplicates: 1 });
    // a plate that looks keyed is refused: the log would take it for a hash
    const keyedLike = await post(a, camera, [{ ...r, id: 'p2', plate: '#abc' }]);
    assert.equal(keyedLike.status, 400);
    assert.match(keyedLike.body.message!, /events\[0\]\.plate: "#" starts a keyed hash/);
    // operators read the log's plate events, keyed
    const listed = await fetch(`${a.url}/api/v1/events?kind=plate&device=cam-x`, { headers: { authorization: `Bearer ${operator}` } });
    assert.deepEqual((await listed.json() as PlateEvent[]).map((e) => e.plate), [storedPlate(keyer, '浙A12345')]);
    await a.close();

    // the rows themselves: no clear plate, each the hash of a plate
    const db = new Database(join(dir, 'city.db'), { readonly: true });
    const bodies = (db.prepare("SELECT body FROM events WHERE kind = 'plate'").all() as { body: string }[]).map((x) => x.body);
    db.close();
    assert.ok(bodies.length > 50, `${bodies.length} plate events stored`);
    assert.ok(bodies.every((b) => !b.includes('浙')), 'no clear plate in the event log');
    assert.ok(bodies.every((b) => HASHED.test((JSON.parse(b) as PlateEvent).plate)));

    // the snapshot: the brain's matching state and its unsent events keyed too (the virtual street's own vehicles aside)
    const store = await openStore(`sqlite:${join(dir, 'city.db')}`);
    const state = await decodeCityState((await store.getSnapshot(CITY_SNAPSHOT))!.data);
    await store.close();
    const o = state.observed;
    assert.ok(!JSON.stringify([o.open, o.pending, o.lastReads, o.buffer, state.pending]).includes('浙'), 'no clear plate in the brain\'s snapshot');
    assert.ok(o.open.length > 0 && o.open.every(([p]) => HASHED.test(p)));

    // restarted: trips opened before the restart (keyed) are closed by reads after it (clear, keyed in memory)
    const b = await serve(dir);
    try {
      assert.ok(b.runtime.observed.stats.matched >= matched, 'the matching state continued');
      assert.ok(b.runtime.observed.memory().openTrips > 0, 'with the trips open at the restart (keyed)');
      const before = b.runtime.observed.stats.matched;
      for (let k = 0; k < 300; k++) await b.runtime.stepOnce();
      await until(() => b.runtime.observed.stats.matched > before, 10_000, 'trips matched after the restart');
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
