/**
 * bench cluster in a short mode against a real nats-server and PostgreSQL:
 * one gateway count, one worker count on a small grid, and a gateway killed
 * -9 under load; the JSON shape, figures that were measured (not
 * zero), and nothing acknowledged lost or stored twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { cliRunner } from './run-cli.js';

const citybrain = cliRunner(120_000);
const NATS = process.env.CITYBRAIN_NATS_SERVER ?? '/usr/sbin/nats-server';

const pgUp = await new Promise<boolean>((resolve) => {
  const c = net.connect({ host: '127.0.0.1', port: 5432 });
  c.once('connect', () => (c.destroy(), resolve(true)));
  c.once('error', () => resolve(false));
});
const skip = !existsSync(NATS) ? `${NATS} not found: bench cluster not run` : !pgUp ? 'PostgreSQL not on 127.0.0.1:5432: bench cluster not run' : undefined;

test('bench cluster --json: gateways, workers and a gateway killed -9 under load, none of the acknowledged events lost or duplicated', { skip, timeout: 120_000 }, () => {
  const r = citybrain('bench', 'cluster', '--json', '--seconds', '2', '--gateways', '1', '--generators', '1', '--concurrency', '4', '--batch', '10',
    '--workers', '1', '--grid', '4x4', '--regions', '4', '--faults', 'gateway', '--rate', '500');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    gateways: { n: number; eventsPerSecond: number; p99Ms: number }[];
    workers: { n: number; decisionMs: number }[];
    faults: { killed: string; resumeSeconds: number; lost: number; duplicated: number; acknowledged: number }[];
    conditions: { cores: number; node: string; loadAverageAtStart: number[] };
  };
  assert.deepEqual(out.gateways.map((g) => g.n), [1]);
  assert.ok(out.gateways[0].eventsPerSecond > 0, 'events were acknowledged');
  assert.ok(out.gateways[0].p99Ms > 0);
  assert.deepEqual(out.workers.map((w) => w.n), [1]);
  assert.ok(Number.isFinite(out.workers[0].decisionMs) && out.workers[0].decisionMs >= 0, `decisionMs ${out.workers[0].decisionMs}`);
  assert.equal(out.faults.length, 1);
  const [f] = out.faults;
  assert.equal(f.killed, 'gateway');
  assert.ok(f.acknowledged > 0, 'events were acknowledged around the kill');
  assert.equal(f.lost, 0);
  assert.equal(f.duplicated, 0);
  assert.ok(typeof f.resumeSeconds === 'number' && f.resumeSeconds < 10, `resumed in ${f.resumeSeconds} s`);
  assert.ok(out.conditions.cores > 0 && out.conditions.node.startsWith('v') && out.conditions.loadAverageAtStart.length === 3);
});

test('bench cluster refuses a bad option in one line', () => {
  const r = citybrain('bench', 'cluster', '--faults', 'database');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^citybrain: .*--faults/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
