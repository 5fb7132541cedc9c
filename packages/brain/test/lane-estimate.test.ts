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
