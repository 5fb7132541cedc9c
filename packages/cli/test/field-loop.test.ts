import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import type { Event } from '@citybrain/brain';
import { BrainKey } from '@citybrain/server';
import { BatchRefused, FieldLoop, RetryLater, type FieldTransport } from '../dist/field/loop.js';

/** A transport without a network: `behave` decides what each send does (throw to refuse or delay). */
class FakeTransport implements FieldTransport {
  readonly name = 'fake';
  /** every send: device and the ids of its batch */
  readonly attempts: { device: string; ids: string[] }[] = [];
  /** ids taken, per device, in the order taken */
  readonly taken = new Map<string, string[]>();
  onPlan?: (plan: unknown) => void;
  closed = false;
  constructor(public behave: (device: string, n: number) => void = () => {}) {}
  async send(device: string, events: readonly Event[]): Promise<void> {
    this.attempts.push({ device, ids: events.map((e) => e.id) });
    this.behave(device, this.attempts.filter((a) => a.device === device).length);
    const list = this.taken.get(device) ?? [];
    list.push(...events.map((e) => e.id));
    this.taken.set(device, list);
  }
  startPlans(onPlan: (plan: unknown) => void): void {
    this.onPlan = onPlan;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.1 });
const key = BrainKey.generate();

/** A loop whose every generated event is also recorded in `all`, per device. */
function loopWith(transport: FakeTransport, opts: Partial<ConstructorParameters<typeof FieldLoop>[0]> = {}) {
  const lines: string[] = [];
  const loop = new FieldLoop({ scenario, transport, verify: key.verify, log: (l) => lines.push(l), ...opts });
  const all = new Map<string, string[]>();
  const street = loop.street;
  const step = street.step.bind(street);
  street.step = () => {
    const events = step();
    for (const e of events) all.set(e.device, [...(all.get(e.device) ?? []), e.id]);
    return events;
  };
  return { loop, lines, all };
}

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a batch the server cannot take now (429 with Retry-After) is sent again unchanged, and every event arrives once, in order per device', async () => {
  const t = new FakeTransport((_d, n) => {
    if (n <= 2) throw new RetryLater('429 CB_BACKPRESSURE: queue full', 10);
  });
  const { loop, lines, all } = loopWith(t, { concurrency: 3 });
  for (let k = 0; k < 40; k++) loop.stepOnce();
  await until(() => loop.stats.backlog === 0, 5000, 'the backlog to drain');
  assert.deepEqual(t.taken, all, 'every event taken once, in the order reported');
  for (const device of all.keys()) {
    const tries = t.attempts.filter((a) => a.device === device);
    assert.deepEqual(tries[1].ids, tries[0].ids, `${device}: the retry is the same batch`);
    assert.deepEqual(tries[2].ids, tries[0].ids, `${device}: and the one after`);
  }
  assert.equal(loop.stats.sent, [...all.values()].reduce((n, ids) => n + ids.length, 0));
  assert.ok(lines.some((l) => /cannot take events now \(429 CB_BACKPRESSURE: queue full\)/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /takes events again/.test(l)));
  // at most `concurrency` batches out at once
  let out = 0, most = 0;
  const gate: (() => void)[] = [];
  const slow = new FakeTransport();
  slow.send = async () => {
    out++;
    most = Math.max(most, out);
    await new Promise<void>((r) => gate.push(r));
    out--;
  };
  const busy = loopWith(slow, { concurrency: 3 }).loop;
  for (let k = 0; k < 10; k++) busy.stepOnce();
  assert.equal(most, 3);
  while (gate.length > 0) gate.shift()!();
});

test('the server away: the backlog stays bounded (oldest waiting reports dropped, said once), the batches in flight are kept and sent when it is back', async () => {
  let away = true;
  const t = new FakeTransport(() => {
    if (away) throw new RetryLater('http://x unreachable: ECONNREFUSED', 5);
  });
  const { loop, lines, all } = loopWith(t, { concurrency: 2, maxBatch: 50, maxBacklog: 200 });
  loop.stepOnce();
  await until(() => lines.some((l) => /cannot take events now/.test(l)), 5000, 'the first failure');
  for (let k = 1; k < 400; k++) loop.stepOnce();
  const generated = [...all.values()].reduce((n, ids) => n + ids.length, 0);
  assert.ok(generated > 600, `${generated} events`);
  assert.ok(loop.stats.backlog <= 200, `backlog ${loop.stats.backlog}`);
  assert.equal(loop.stats.dropped, generated - loop.stats.backlog);
  assert.equal(lines.filter((l) => /backlog full \(200 events waiting, server away: http:\/\/x unreachable: ECONNREFUSED\); dropping the oldest/.test(l)).length, 1, lines.join('\n'));
  const inFlight = t.attempts.slice(0, 2);
  away = false;
  await until(() => loop.stats.backlog === 0, 5000, 'the backlog to drain');
  for (const f of inFlight) assert.deepEqual(t.taken.get(f.device)!.slice(0, f.ids.length), f.ids, `${f.device}: its first batch (in flight while away) was sent, not dropped`);
  assert.equal(loop.stats.sent + loop.stats.dropped, generated);
  assert.match(loop.status(), /events sent \d+, backlog 0, dropped \d+;/);
});

test('a batch the server refuses for good is counted and logged, the device\'s next ones go on', async () => {
  const t = new FakeTransport((device, n) => {
    if (device.startsWith('det-') && n === 1) throw new BatchRefused('400 CB_INVALID: events[0].occupancy: must be <= 1');
  });
  const { loop, lines, all } = loopWith(t);
  for (let k = 0; k < 30; k++) loop.stepOnce();
  await until(() => loop.stats.backlog === 0);
  const dets = [...all.keys()].filter((d) => d.startsWith('det-'));
  assert.ok(dets.length > 0);
  for (const d of dets) assert.deepEqual(t.taken.get(d), all.get(d)!.slice(t.attempts.find((a) => a.device === d)!.ids.length));
  assert.equal(loop.stats.refused, dets.reduce((n, d) => n + t.attempts.find((a) => a.device === d)!.ids.length, 0));
  assert.ok(lines.some((l) => /det-.*: batch of \d+ events refused: 400 CB_INVALID: events\[0\]\.occupancy/.test(l)));
});

test('stop sends what the server takes within the grace and says how many were not sent; the transport is closed', async () => {
  const ok = new FakeTransport();
  const a = loopWith(ok);
  for (let k = 0; k < 20; k++) a.loop.stepOnce();
  assert.deepEqual(await a.loop.stop(1000), { unsent: 0 });
  assert.ok(a.lines.some((l) => /stopped; every event sent/.test(l)));
  assert.ok(ok.closed);
  const away = new FakeTransport(() => {
    throw new RetryLater('503 CB_STORE_UNAVAILABLE', 20);
  });
  const b = loopWith(away);
  for (let k = 0; k < 20; k++) b.loop.stepOnce();
  const backlog = b.loop.stats.backlog;
  const t0 = performance.now();
  const { unsent } = await b.loop.stop(100);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(unsent, backlog);
  assert.ok(b.lines.some((l) => l.includes(`${backlog} events not sent within 0.1 s`)), b.lines.join('\n'));
  assert.ok(away.closed);
  const tries = away.attempts.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(away.attempts.length, tries, 'nothing sent after stop');
});

test('plans: genuine ones are taken, forged ones refused, logged and counted; with the brain\'s clock the street starts at its first genuine plan\'s ts', async () => {
  const t = new FakeTransport();
  const { loop, lines } = loopWith(t, { clock: 'brain', clockWaitMs: 2000, statusEveryMs: 60_000 });
  const ids = loop.street.signals.controllers.map((c) => c.phases.id);
  const ts = Date.now() + 3_600_000;
  const started = loop.start();
  await until(() => t.onPlan !== undefined);
  t.onPlan!(BrainKey.generate().sign({ intersection: ids[0], seq: 5, ts: ts + 99_000, phase: 1, validFor: 10 }));
  t.onPlan!(key.sign({ intersection: ids[0], seq: 6, ts, phase: 1, validFor: 10 }));
  await started;
  assert.equal(loop.street.epochMs, ts, 'the forged plan did not set the clock; the genuine one did');
  for (const id of ids.slice(1)) t.onPlan!(key.sign({ intersection: id, seq: 1, ts, phase: 1, validFor: 10 }));
  t.onPlan!(key.sign({ intersection: ids[0], seq: 6, ts, phase: 1, validFor: 10 }));
  assert.equal(loop.stats.plansAccepted, ids.length);
  assert.deepEqual([loop.stats.plansRefused, loop.stats.plansRefusedBy.forged, loop.stats.plansRefusedBy.replay], [2, 1, 1]);
  assert.ok(lines.some((l) => /plan refused \(forged\): plan seq 5/.test(l)));
  assert.ok(lines.some((l) => /plan refused \(replay\)/.test(l)));
  await until(() => loop.street.time >= 2, 5000, 'the street to step');
  assert.equal(loop.localIntersections, 0, 'every controller runs the brain\'s plan');
  assert.match(loop.status(), new RegExp(`plans accepted ${ids.length}, refused 2; intersections local 0/${ids.length}`));
  await loop.stop(500);

  const silent = loopWith(new FakeTransport(), { clock: 'brain', clockWaitMs: 50 }).loop;
  await assert.rejects(silent.start(), /no plan from the brain within 0.05 s to take its clock from/);
});

test('bad loop options are refused by name', () => {
  const t = new FakeTransport();
  assert.throws(() => new FieldLoop({ scenario, transport: t, verify: key.verify, speed: 0 }), /speed must be > 0, got 0/);
  assert.throws(() => new FieldLoop({ scenario, transport: t, verify: key.verify, maxBatch: 20_000 }), /maxBatch must be a whole number from 1 to 10000/);
  assert.throws(() => new FieldLoop({ scenario, transport: t, verify: key.verify, maxBatch: 100, maxBacklog: 10 }), /maxBacklog must be >= maxBatch \(100\), got 10/);
});
