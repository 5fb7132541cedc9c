import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { type LaneEvent } from '@citybrain/brain';
import { downsampleLaneReports, mergeLaneReports, openStore, parseRetention, startRetention, startServer } from '@citybrain/server';
import { events, lane, openTestStore, until } from './helpers.js';

it('parses retention periods and refuses nonsense', () => {
  assert.equal(parseRetention('30d'), 30 * 86_400_000);
  assert.equal(parseRetention('12h'), 12 * 3_600_000);
  assert.equal(parseRetention('90m'), 90 * 60_000);
  assert.equal(parseRetention('7'), 7 * 86_400_000);
  assert.throws(() => parseRetention('a week'), /must be a positive number with a unit d, h, m or s/);
  assert.throws(() => parseRetention('0d'), /positive/);
});

it('purges events older than the configured retention, at start and on demand', async () => {
  const t = await openTestStore('sqlite');
  try {
    const now = Date.now();
    await t.store.append([...events(10, 'old', { ts: now - 3 * 86_400_000 }), ...events(4, 'new', { ts: now - 3_600_000 })]);
    const r = startRetention(t.store, { retentionMs: parseRetention('2d'), intervalMs: 60_000 });
    try {
      assert.equal(await r.runOnce(), 10, 'joins the purge started at once');
      assert.equal(await r.runOnce(), 0);
      assert.equal(await t.store.count(), 4);
      assert.deepEqual((await t.store.query()).map((e) => e.id.split('-')[0]), ['new', 'new', 'new', 'new']);
    } finally {
      r.stop();
    }
    assert.throws(() => startRetention(t.store, { retentionMs: 0 }), /retention must be a positive number of ms/);
  } finally {
    await t.cleanup();
  }
});

it('keeps events forever when told', () => {
  assert.equal(parseRetention('forever'), Infinity);
  assert.throws(() => parseRetention('never'), /or forever/);
});

it('merges lane reports per device, lane and bucket into one covering them all', () => {
  const t0 = Date.UTC(2024, 4, 1, 8, 0, 0);
  const reports = Array.from({ length: 12 }, (_, k) => lane(`r${k}`, { ts: t0 + (k + 1) * 5000, interval: 5, count: k % 3, occupancy: k < 6 ? 0.2 : 0.4, speed: k < 6 ? 10 : 0, vehicles: k, queue: k - 1 }));
  const other = lane('o1', { lane: 'i1_S_0', ts: t0 + 5000, interval: 5 });
  const { removed, added } = mergeLaneReports([...reports, other], 60_000);
  assert.deepEqual(removed.map((k) => k.id), reports.map((e) => e.id), 'a lone report stays as it is');
  assert.deepEqual(added, [{
    kind: 'lane', id: `ds:${t0}:i1_N_0`, device: 'cam-1', ts: t0 + 60_000, intersection: 'i1', lane: 'i1_N_0',
    count: 12, occupancy: 0.3, speed: 10, interval: 60, vehicles: 11, queue: 10,
  }]);
});

it('downsamples old lane reports in the store, chunk by chunk, once, leaving other events and recent reports', async () => {
  const t = await openTestStore('sqlite');
  try {
    const t0 = Date.UTC(2024, 4, 1, 8, 0, 0);
    // two lanes reporting every 5 s for 3 minutes, and a plate read among them
    const reports = Array.from({ length: 36 }, (_, k) => [
      lane(`a${k}`, { ts: t0 + (k + 1) * 5000, interval: 5, count: 1 }),
      lane(`b${k}`, { lane: 'i1_S_0', ts: t0 + (k + 1) * 5000, interval: 5, count: 2 }),
    ]).flat();
    const plate = { kind: 'plate' as const, id: 'p1', device: 'cam-1', ts: t0 + 7000, intersection: 'i1', camera: 'c', plate: 'X', confidence: 1 };
    await t.store.append([...reports, plate]);
    // up to the end of the second minute (the bucket ending there included), in chunks of 7 (buckets merged in pieces and merged again)
    const gone = await downsampleLaneReports(t.store, t0 + 120_000, 60_000, 7);
    const rest = await t.store.query({ order: 'asc' });
    const merged = rest.filter((e) => e.id.startsWith('ds:')) as LaneEvent[];
    assert.deepEqual(merged.map((e) => [e.lane, e.ts, e.count, e.interval]).sort(), [
      ['i1_N_0', t0 + 60_000, 12, 60], ['i1_N_0', t0 + 120_000, 12, 60], ['i1_S_0', t0 + 60_000, 24, 60], ['i1_S_0', t0 + 120_000, 24, 60],
    ]);
    assert.equal(gone, 2 * 24 - 4);
    assert.equal(rest.length, 72 + 1 - gone);
    assert.ok(rest.some((e) => e.id === 'p1'), 'plate reads are kept');
    assert.equal(rest.filter((e) => e.kind === 'lane' && e.ts > t0 + 120_000).length, 24, 'the third minute is not downsampled yet');
    const total = (await t.store.query({ kind: 'lane', limit: 1000 })).reduce((n, e) => n + (e as LaneEvent).count, 0);
    assert.equal(total, 36 * 3, 'no crossing lost');
    assert.equal(await downsampleLaneReports(t.store, t0 + 120_000, 60_000, 7), 0, 'done once');
  } finally {
    await t.cleanup();
  }
});

it('a server keeps a day of events by default: older ones go at start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-retention-'));
  const url = `sqlite:${join(dir, 'city.db')}`;
  try {
    const store = await openStore(url);
    const now = Date.now();
    await store.append([...events(3, 'old', { ts: now - 2 * 86_400_000 }), ...events(2, 'recent', { ts: now - 3_600_000 })]);
    await store.close();
    const server = await startServer({ scenario: generateGrid({ rows: 1, cols: 1, demand: 0.1 }), storeUrl: url, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false });
    try {
      await until(async () => (await server.store.count({ device: 'cam-1' })) === 2, 5000, 'the old events purged');
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('downsamples more lane reports than one query returns', async () => {
  const t = await openTestStore('sqlite');
  try {
    const t0 = Date.UTC(2024, 0, 1);
    const reports: LaneEvent[] = [];
    for (let k = 1; k <= 720; k++) for (let l = 0; l < 30; l++) reports.push(lane(`e${k}-${l}`, { lane: `L${l}`, ts: t0 + k * 5000, interval: 5 }));
    for (let i = 0; i < reports.length; i += 5000) await t.store.append(reports.slice(i, i + 5000));
    assert.equal(await downsampleLaneReports(t.store, t0 + 3_600_000, 300_000), 30 * 720 - 30 * 12);
    assert.equal(await t.store.count(), 30 * 12);
  } finally {
    await t.cleanup();
  }
});
