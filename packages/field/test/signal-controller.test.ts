import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { intersectionPhases } from '@citybrain/control';
import type { Plan, SignalEvent } from '@citybrain/brain';
import { cycleGreens, FieldSignalController, roadnetPlan, type FieldSignalControllerOptions } from '@citybrain/field';

// the signature itself is the server's (test/plans.test.ts signs and verifies for real); here a plan is genuine when its sig says so
const GOOD = Buffer.from('genuine').toString('base64');
const verify = (p: Plan) => p.sig === GOOD;
const T0 = 1_760_000_000_000;

const sim = new Simulation(generateGrid({ rows: 1, cols: 1 }));
const ix = intersectionPhases(sim)[0];
const YELLOW = ix.yellow;

function controller(opts: Partial<FieldSignalControllerOptions> = {}): FieldSignalController {
  return new FieldSignalController(ix, roadnetPlan(sim.net, ix.intersection), verify, { device: 'sig-intersection_1_1', epochMs: T0, initialPhase: 2, ...opts });
}

let seq = 0;
const plan = (phase: number, over: Partial<Plan> = {}): Plan => ({ intersection: ix.id, seq: ++seq, ts: T0 + seq, phase, validFor: 10, issuer: 'brain-test', sig: GOOD, ...over });

/** Runs the controller from second `from` to `to` (exclusive), a plan from `brain(t)` each second unless it answers undefined; the phase shown each second. */
function run(c: FieldSignalController, from: number, to: number, brain: (t: number) => number | undefined, confirmations: SignalEvent[] = []): number[] {
  const shown: number[] = [];
  for (let t = from; t < to; t++) {
    const phase = brain(t);
    if (phase !== undefined) assert.deepEqual(c.receive(plan(phase), t), { accepted: true });
    const conf = c.tick(t);
    if (conf) confirmations.push(conf);
    shown.push(c.phase());
  }
  return shown;
}

/** Whether a trace (one phase a second) never goes from a green to another phase stopping one of its movements without `yellow` seconds of yellow. */
function unsafeChanges(trace: number[], yellow = 5): string[] {
  const served = ix.movements.map((ms) => new Set(ms.map((m) => m.roadLink)));
  const bad: string[] = [];
  let lastGreen = trace[0];
  let yellowRun = 0;
  for (let t = 1; t < trace.length; t++) {
    const p = trace[t];
    if (p === YELLOW) {
      yellowRun++;
      continue;
    }
    const stops = lastGreen !== YELLOW && p !== lastGreen && [...served[lastGreen]].some((r) => !served[p].has(r));
    if (stops && yellowRun < yellow) bad.push(`${lastGreen} -> ${p} at ${t} after ${yellowRun} s of yellow`);
    lastGreen = p;
    yellowRun = 0;
  }
  return bad;
}

/** The brain's supervisor: green `a` until 10, yellow until 15, then `b`. */
const brainSwitch = (a: number, b: number) => (t: number) => (t < 10 ? a : t < 15 ? YELLOW : b);

test('follows the brain\'s plans, and confirms each change of phase or mode and every 5 s with mode central', () => {
  const c = controller();
  const confs: SignalEvent[] = [];
  const shown = run(c, 0, 30, brainSwitch(2, 3), confs);
  assert.deepEqual(shown, [...Array(10).fill(2), ...Array(5).fill(YELLOW), ...Array(15).fill(3)]);
  assert.equal(c.mode, 'central');
  assert.deepEqual(confs.map((e) => [(e.ts - T0) / 1000, e.phase, e.mode]), [[0, 2, 'central'], [5, 2, 'central'], [10, YELLOW, 'central'], [15, 3, 'central'], [20, 3, 'central'], [25, 3, 'central']]);
  const e = confs[0];
  assert.equal(e.kind, 'signal');
  assert.equal(e.device, 'sig-intersection_1_1');
  assert.equal(e.intersection, ix.id);
  assert.equal(new Set(confs.map((x) => x.id)).size, confs.length, 'each confirmation has its own id');
  assert.match(e.id, /^sig-intersection_1_1:c\d+:1$/, 'not the shape of the virtual city\'s signal reports (device:epoch:n): the two never collide');
  assert.notEqual(controller({ idBase: 1 }).tick(0)?.id, controller({ idBase: 2 }).tick(0)?.id, 'a restarted controller (another idBase) does not repeat ids');
});

test('refuses, counts and ignores a plan that is invalid, forged, another intersection\'s, names a phase it does not have, or replays an old seq', () => {
  const c = controller();
  run(c, 0, 3, () => 2);
  const last = seq;
  const cases: [unknown, string, RegExp][] = [
    [{ ...plan(3), phase: undefined }, 'invalid', /plan\.phase: is required/],
    [plan(3, { sig: Buffer.from('forged').toString('base64') }), 'forged', /signature does not verify/],
    [plan(3, { intersection: 'intersection_9_9' }), 'intersection', /plan for intersection "intersection_9_9", this controller is "intersection_1_1"/],
    [plan(9), 'phase', /plan\.phase: 9 is not a phase of intersection_1_1 \(0\.\.8\)/],
    [plan(3, { seq: last }), 'replay', /seq \d+ is not above the last obeyed/],
    [plan(3, { seq: last - 1 }), 'replay', /is not above/],
  ];
  for (const [p, reason, message] of cases) {
    const v = c.receive(p, 3);
    assert.equal(v.accepted, false, reason);
    if (!v.accepted) {
      assert.equal(v.reason, reason);
      assert.match(v.message, message);
    }
  }
  assert.deepEqual(c.refused, { invalid: 1, forged: 1, intersection: 1, phase: 1, replay: 2 });
  assert.equal(c.tick(3), undefined);
  assert.equal(c.phase(), 2, 'none of them changed the phase');
  // refused plans do not feed the watchdog either: the last genuine one came at 2
  for (let t = 4; t < 13; t++) {
    c.receive(plan(2, { sig: 'AAAA' }), t);
    c.tick(t);
  }
  assert.equal(c.mode, 'local', 'forged plans do not keep it central: local 10 s after the last genuine one');
  const throwing = new FieldSignalController(ix, roadnetPlan(sim.net, ix.intersection), () => { throw new Error('bad key'); }, { device: 'sig-x' });
  assert.equal(throwing.receive(plan(2), 0).accepted, false, 'a verifier that throws verifies nothing');
});

test('watchdog: plans stop -> local after exactly `watchdog` seconds; the local plan runs with a yellow before each change of green', () => {
  const c = controller();
  const confs: SignalEvent[] = [];
  const trace = run(c, 0, 400, (t) => (t < 20 ? 2 : undefined), confs);
  // the last plan came at 19: central up to 28, local from 29
  assert.equal(trace[28], 2);
  const goneLocal = confs.find((e) => e.mode === 'local');
  assert.equal(goneLocal && (goneLocal.ts - T0) / 1000, 29, 'the confirmation says local at once');
  assert.equal(c.mode, 'local');
  const local = trace.slice(29);
  assert.deepEqual(unsafeChanges(trace), []);
  // the roadnet plan continues from the phase shown (2, 30 s from 29), then 3, 4, ... each after the roadnet's own steps
  assert.deepEqual(local.slice(0, 30), Array(30).fill(2));
  assert.deepEqual(local.slice(30, 35), Array(5).fill(YELLOW), 'leaving 2 for 3: 5 s of yellow');
  assert.deepEqual(local.slice(35, 65), Array(30).fill(3));
  const seen = new Set(local);
  for (const g of [1, 2, 3, 4, 5, 6, 7, 8]) assert.ok(seen.has(g), `the local plan shows phase ${g}`);
  // its own 5 s yellow step (phase 0) is not doubled by an inserted one
  const after8 = local.indexOf(8) + 30;
  assert.deepEqual(local.slice(after8, after8 + 6), [YELLOW, YELLOW, YELLOW, YELLOW, YELLOW, 1]);
});

test('the watchdog is configurable, and a plan is held no longer than its validFor', () => {
  const c = controller({ watchdog: 3 });
  run(c, 0, 5, () => 2);
  run(c, 5, 7, () => undefined);
  assert.equal(c.mode, 'central');
  run(c, 7, 8, () => undefined);
  assert.equal(c.mode, 'local', 'last plan at 4, watchdog 3: local at 7');
  const d = controller();
  d.receive(plan(2, { validFor: 2 }), 0);
  d.tick(0);
  d.tick(1);
  assert.equal(d.mode, 'central');
  d.tick(2);
  assert.equal(d.mode, 'local');
});

test('plans resume -> central at once, the yellow first, then the commanded green', () => {
  const c = controller();
  const trace = run(c, 0, 20, (t) => (t < 5 ? 2 : undefined));
  assert.equal(c.mode, 'local');
  assert.equal(trace.at(-1), 2, 'local, still in its green 2');
  const confs: SignalEvent[] = [];
  const back = run(c, 20, 30, () => 4, confs);
  assert.equal(c.mode, 'central');
  assert.deepEqual(back, [YELLOW, YELLOW, YELLOW, YELLOW, YELLOW, 4, 4, 4, 4, 4]);
  assert.deepEqual(confs.slice(0, 2).map((e) => [e.phase, e.mode]), [[YELLOW, 'central'], [4, 'central']]);
  // commanded what it shows: no yellow
  const d = controller();
  run(d, 0, 20, (t) => (t < 5 ? 2 : undefined));
  assert.deepEqual(run(d, 20, 23, () => 2), [2, 2, 2]);
});

test('a plan\'s yellow lost on the way: it shows the yellow itself before the next green', () => {
  const c = controller();
  // the brain's yellow messages (10..14) all lost: 2 is followed directly by 3
  const trace = run(c, 0, 30, (t) => (t < 10 ? 2 : t < 15 ? undefined : 3));
  assert.deepEqual(trace.slice(14, 22), [2, YELLOW, YELLOW, YELLOW, YELLOW, YELLOW, 3, 3]);
  assert.deepEqual(unsafeChanges(trace), []);
});

test('dropped messages: every other plan lost -> stays central and follows the brain, a message late', () => {
  const brain = brainSwitch(2, 3);
  for (const kept of [0, 1]) {
    const c = controller();
    const modes: string[] = [];
    const shown: number[] = [];
    for (let t = 0; t < 120; t++) {
      if (t % 2 === kept) c.receive(plan(brain(t)), t);
      c.tick(t);
      modes.push(c.mode);
      shown.push(c.phase());
    }
    // (before its first plan, at 0, a controller runs local)
    assert.ok(modes.slice(kept).every((m) => m === 'central'), `plans at ${kept ? 'odd' : 'even'} seconds: central throughout`);
    assert.deepEqual(unsafeChanges(shown), []);
    // even: the yellow is heard at 10, the green not before 16; odd: the yellow at 11, and it lasts its 5 s though the green comes at 15
    const want = kept === 0 ? [...Array(10).fill(2), ...Array(6).fill(YELLOW), ...Array(4).fill(3)] : [...Array(11).fill(2), ...Array(5).fill(YELLOW), ...Array(4).fill(3)];
    assert.deepEqual(shown.slice(0, 20), want);
  }
});

test('cycleGreens: control\'s fixed time as a local plan, the controller inserting the yellows', () => {
  const c = new FieldSignalController(ix, cycleGreens(ix, 10), verify, { device: 'sig-x', epochMs: T0 });
  const trace: number[] = [];
  for (let t = 0; t < 60; t++) {
    c.tick(t);
    trace.push(c.phase());
  }
  assert.deepEqual(trace.slice(0, 17), [...Array(10).fill(1), ...Array(5).fill(YELLOW), 2, 2]);
  assert.deepEqual(unsafeChanges(trace), []);
});

test('bad settings are refused by name', () => {
  const plan0 = roadnetPlan(sim.net, ix.intersection);
  assert.throws(() => new FieldSignalController(ix, [], verify, { device: 'd' }), /intersection_1_1: the local plan has no step/);
  assert.throws(() => new FieldSignalController(ix, [{ phase: 9, seconds: 5 }], verify, { device: 'd' }), /localPlan\[0\]\.phase: 9 is not a phase of it \(0\.\.8\)/);
  assert.throws(() => new FieldSignalController(ix, [{ phase: 1, seconds: 0 }], verify, { device: 'd' }), /localPlan\[0\]\.seconds: must be > 0, got 0/);
  assert.throws(() => new FieldSignalController(ix, plan0, verify, { device: 'd', watchdog: -1 }), /watchdog must be seconds > 0, got -1/);
  assert.throws(() => new FieldSignalController(ix, plan0, verify, { device: 'd', initialPhase: 12 }), /initialPhase 12 is not a phase of it/);
});
