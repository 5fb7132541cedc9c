import { it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetention, startRetention } from '@citybrain/server';
import { events, openTestStore } from './helpers.js';

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
