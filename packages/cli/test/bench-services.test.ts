import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRunner } from './run-cli.js';

const citybrain = cliRunner(120_000);

test('bench services: concurrent reservations on SQLite, none booked or charged twice; the issue\'s JSON shape', () => {
  const r = citybrain('bench', 'services', '--seconds', '2', '--clients', '40', '--bays', '2', '--no-postgres', '--no-watchlist', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { reservations: { store: string; perSecond: number; doubleBookings: number; doubleCharges: number }[]; watchlist?: unknown };
  assert.equal(out.reservations.length, 1);
  const [s] = out.reservations;
  assert.equal(s.store, 'sqlite');
  assert.ok(s.perSecond > 0, 'requests were answered');
  assert.equal(s.doubleBookings, 0);
  assert.equal(s.doubleCharges, 0);
  assert.equal(out.watchlist, undefined, '--no-watchlist');
});

test('bench services refuses a bad option in one line', () => {
  const r = citybrain('bench', 'services', '--clients', '0');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^citybrain: .*clients/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
