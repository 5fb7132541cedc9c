import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Network } from '@citybrain/engine';
import { LaneEstimate, type LaneEvent } from '@citybrain/brain';

const T0 = 1_767_225_600_000;

test('LaneEstimate.counted: every report\'s count once, a late one too (its vehicles passed all the same), one delivered twice once', () => {
  const net = new Network(generateGrid({ rows: 1, cols: 1 }).roadnet);
  const i = net.signalised[0];
  const l = net.incomingLanes(i)[0];
  const est = new LaneEstimate(net);
  const report = (k: number, count: number, device = 'det-1'): LaneEvent => ({
    kind: 'lane', id: `r${k}`, device, ts: T0 + k * 5000, intersection: net.interIds[i], lane: net.laneId(l), count, occupancy: 0.2, speed: 8, interval: 5, vehicles: 3, queue: 1,
  });
  est.apply([report(1, 2), report(2, 3)]);
  assert.equal(est.counted[l], 5);
  est.apply([report(2, 3)]);
  assert.equal(est.counted[l], 5, 'the newest delivered again');
  est.apply([report(4, 1)]);
  est.apply([report(3, 4)]);
  assert.equal(est.counted[l], 10, 'a late report counts');
  assert.equal(est.reportedAt[l], T0 + 20_000, 'but does not overwrite the newer one');
  est.apply([report(3, 4), report(1, 2)]);
  assert.equal(est.counted[l], 10, 'late reports delivered again, once each');
  est.apply([report(40, 6)]);
  est.apply([report(39, 1), report(39, 1)]);
  assert.equal(est.counted[l], 17, 'after a silence too');
  est.forgetDevice('det-1');
  assert.equal(est.reportedAt[l], 0);
  assert.equal(est.counted[l], 17, 'a revoked device\'s count stays counted (the flow over a window is an increase)');
  est.apply([report(41, 2, 'det-2')]);
  assert.equal(est.counted[l], 19);
  const other = net.incomingLanes(i)[1];
  assert.equal(est.counted[other], 0, 'a lane never reported counted nothing');
});

test('LaneEstimate.silence: a detector without a report for 4 of its intervals (at least 15 s) sees nothing until it reports again', () => {
  const net = new Network(generateGrid({ rows: 1, cols: 1 }).roadnet);
  const [a, b] = net.incomingLanes(net.signalised[0]);
  const est = new LaneEstimate(net);
  const report = (l: number, k: number, interval: number): LaneEvent => ({
    kind: 'lane', id: `r${l}-${k}`, device: 'cam-1', ts: T0 + k * 1000, intersection: net.interIds[net.signalised[0]], lane: net.laneId(l), count: 1, occupancy: 0.1, speed: 8, interval, vehicles: 2, queue: 0, range: 150,
  });
  est.apply([report(a, 0, 5), report(b, 0, 1)]);
  assert.deepEqual(est.silence(T0 + 15_000), [], 'not before 15 s, whatever the interval');
  assert.equal(est.seen[a], 150);
  assert.deepEqual(est.silence(T0 + 15_001), [b], 'a 1 s detector: 15 s');
  assert.deepEqual(est.silence(T0 + 20_001), [a], 'a 5 s detector: four intervals');
  assert.deepEqual([est.seen[a], est.seen[b], est.silent[a], est.silent[b]], [0, 0, 1, 1]);
  assert.deepEqual(est.silence(T0 + 60_000), [], 'told once');
  est.apply([report(a, -3, 5)]);
  assert.deepEqual([est.seen[a], est.silent[a]], [0, 1], 'a late report (older than the newest) does not end it... ');
  est.apply([report(a, 61, 5)]);
  assert.deepEqual([est.seen[a], est.silent[a]], [150, 0], '...a new one does');
  assert.deepEqual(est.silence(T0 + 70_000), [], 'and the clock starts again from it');
  const never = net.incomingLanes(net.signalised[0])[2];
  assert.equal(est.silent[never], 0, 'a lane never reported is not silent: it has no detector to hear from');
});
