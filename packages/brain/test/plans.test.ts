import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Network } from '@citybrain/engine';
import { canonicalPlan, checkPlan, LaneEstimate, PlanBoard, type Plan, type SignalEvent } from '@citybrain/brain';

const T0 = 1_760_000_000_000;
const plan = (over: Partial<Plan> = {}): Plan => ({ intersection: 'i1', seq: 1, ts: T0, phase: 2, validFor: 10, issuer: 'brain-x', sig: 'c2ln', ...over });

test('a valid plan passes; each bad field is named in the message', () => {
  assert.equal(checkPlan(plan()), undefined);
  const cases: [unknown, string][] = [
    [null, 'plan: must be an object (got null)'],
    [[plan()], 'plan: must be an object (got an array)'],
    [{ ...plan(), colour: 'red' }, 'plan.colour: unknown field'],
    [(({ seq: _s, ...p }) => p)(plan()), 'plan.seq: is required'],
    [plan({ intersection: '' }), 'plan.intersection: must be a string of 1 to 128 characters (got "")'],
    [plan({ issuer: 7 as unknown as string }), 'plan.issuer: must be a string of 1 to 128 characters (got 7)'],
    [plan({ intersection: 'a\u0000b' }), 'plan.intersection: must not contain the NUL character (\\u0000)'],
    [plan({ seq: -1 }), 'plan.seq: must be an integer 0..9007199254740991 (got -1)'],
    [plan({ seq: 1.5 }), 'plan.seq: must be an integer 0..9007199254740991 (got 1.5)'],
    [plan({ ts: T0 / 1000 }), 'plan.ts: must be an integer 100000000000..10000000000000 (got 1760000000)'],
    [plan({ phase: 256 }), 'plan.phase: must be an integer 0..255 (got 256)'],
    [plan({ phase: '2' as unknown as number }), 'plan.phase: must be an integer 0..255 (got "2")'],
    [plan({ validFor: 0 }), 'plan.validFor: must be seconds, more than 0 and at most 3600 (got 0)'],
    [plan({ sig: 'not base64!' }), 'plan.sig: must be a base64 signature of at most 256 characters (got "not base64!")'],
  ];
  for (const [x, want] of cases) assert.equal(checkPlan(x), want);
  assert.equal(checkPlan(plan({ phase: -1 }), 'msg'), 'msg.phase: must be an integer 0..255 (got -1)');
});

test('canonicalPlan: the fields but sig, keys sorted, whatever order they came in', () => {
  const p = plan();
  const shuffled = { sig: 'other', validFor: 10, phase: 2, issuer: 'brain-x', ts: T0, seq: 1, intersection: 'i1' };
  assert.equal(canonicalPlan(p), canonicalPlan(shuffled));
  assert.equal(canonicalPlan(p), `{"intersection":"i1","issuer":"brain-x","phase":2,"seq":1,"ts":${T0},"validFor":10}`);
  assert.notEqual(canonicalPlan(p), canonicalPlan(plan({ phase: 3 })));
});

test('PlanBoard keeps the latest plan per intersection, refuses a seq not above the last and an unknown intersection, and tells listeners', () => {
  const board = new PlanBoard(['i1', 'i2'], { confirmation: () => undefined }, { startMs: T0 });
  const heard: Plan[] = [];
  const off = board.onPlan((p) => heard.push(p));
  assert.equal(board.latest('i1'), undefined);
  const seq = board.nextSeq('i1', T0);
  assert.equal(seq, T0, 'the first seq is the issue time: a restarted brain continues above what it sent before');
  board.publish(plan({ seq }));
  assert.equal(board.nextSeq('i1', T0), T0 + 1, 'two plans in the same ms still increase');
  assert.throws(() => board.publish(plan({ seq })), /i1: seq 1760000000000 is not above the last one, 1760000000000/);
  assert.throws(() => board.publish(plan({ intersection: 'nowhere', seq: 5 })), /no signalised intersection "nowhere"/);
  board.publish(plan({ seq: seq + 1, phase: 3 }));
  assert.equal(board.latest('i1')?.phase, 3);
  assert.equal(board.latest('i2'), undefined);
  off();
  board.publish(plan({ seq: seq + 2 }));
  assert.deepEqual(heard.map((p) => p.seq), [seq, seq + 1]);
});

test('PlanBoard mode: central while confirmed central, local when confirmed local or silent for more than 2 x watchdog; the confirmations are the lane estimate\'s', () => {
  const net = new Network(generateGrid({ rows: 1, cols: 2 }).roadnet);
  const [i1, i2] = [...net.signalised].map((i) => net.interIds[i]);
  const estimate = new LaneEstimate(net);
  const board = new PlanBoard([i1], estimate, { watchdog: 10, startMs: T0 });
  const sig = (ts: number, mode?: 'central' | 'local', intersection = i1): SignalEvent => ({ kind: 'signal', id: `s${ts}`, device: `sig-${intersection}`, ts, intersection, phase: 1 + (ts % 3), ...(mode ? { mode } : {}) });
  const confirm = (e: SignalEvent) => estimate.apply([e]);
  assert.equal(board.mode(i1, T0 + 20_000), 'central', 'a new board gives its controllers 2 x watchdog to confirm');
  assert.equal(board.mode(i1, T0 + 20_001), 'local');
  confirm(sig(T0 + 30_000, 'central'));
  assert.equal(board.mode(i1, T0 + 31_000), 'central');
  confirm(sig(T0 + 32_000, 'local'));
  assert.equal(board.mode(i1, T0 + 32_500), 'local');
  assert.deepEqual(board.localIntersections(T0 + 32_500), [i1]);
  confirm(sig(T0 + 31_500, 'central'));
  assert.equal(board.confirmation(i1)?.ts, T0 + 32_000, 'an older confirmation arriving late does not replace a newer one');
  assert.equal(estimate.confirmedPhase[net.interIndex.get(i1)!], sig(T0 + 32_000).phase, 'what the controllers read (env.observed) is the same confirmation');
  confirm(sig(T0 + 40_000));
  assert.equal(board.mode(i1, T0 + 50_000), 'central', 'a confirmation without mode counts as central');
  assert.equal(board.mode(i1, T0 + 60_001), 'local', 'silent for more than 20 s');
  confirm(sig(T0 + 60_000, 'local', i2));
  assert.equal(board.confirmation(i2), undefined, 'the board speaks of its own intersections only');
  assert.throws(() => new PlanBoard([i1], estimate, { watchdog: 0 }), /watchdog must be seconds > 0, got 0/);
});
