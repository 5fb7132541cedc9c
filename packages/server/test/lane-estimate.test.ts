import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { CityRuntime } from '@citybrain/server';

test('the brain\'s controllers see lanes as the detectors last reported them, not the twin\'s live state', async () => {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.3 }), { detectorPeriod: 5 });
  const view = rt.supervisor.env.twin;
  const sim = rt.sim;
  for (let k = 0; k < 120; k++) await rt.stepOnce();
  // t = 120: a report just came in, so estimate and twin agree on every detected lane
  const est = rt.estimate;
  const detected = [...sim.net.signalised].flatMap((i) => sim.net.incomingLanes(i));
  for (const l of detected) {
    assert.equal(view.laneWaitingCount(l), sim.laneWaitingCount(l));
    assert.equal(view.laneVehicleCount(l), sim.laneVehicleCount(l));
  }
  const reportedAt = est.reportedAt.slice();
  const queues = Int32Array.from(detected, (l) => view.laneWaitingCount(l));
  // between reports the estimate holds while the street moves on
  await rt.stepOnce();
  await rt.stepOnce();
  assert.deepEqual(Int32Array.from(detected, (l) => view.laneWaitingCount(l)), queues);
  assert.deepEqual(est.reportedAt, reportedAt);
  assert.ok(detected.some((l) => sim.laneWaitingCount(l) !== view.laneWaitingCount(l) || sim.laneVehicleCount(l) !== view.laneVehicleCount(l)),
    'two steps later some lane differs from its last report');
  // the bulk query controllers use agrees with the per-lane one
  const all = view.laneWaitingCounts(new Int32Array(sim.net.nLanes));
  for (const l of detected) assert.equal(all[l], view.laneWaitingCount(l));
  // signal plans still reach the street
  const i = sim.net.signalised[0];
  assert.equal(view.phase(i), sim.phase(i));
});

test('late or unknown reports do not corrupt the estimate; loop detectors without counts are estimated from occupancy', () => {
  const rt = new CityRuntime(generateGrid({ rows: 1, cols: 1 }), {});
  const net = rt.sim.net;
  const lane = net.incomingLanes(net.signalised[0])[0];
  const id = net.laneId(lane);
  const base = { kind: 'lane' as const, device: 'det-1', intersection: 'intersection_1_1', lane: id, count: 3, occupancy: 0.5, speed: 2, interval: 5 };
  rt.estimate.apply([{ ...base, id: 'a', ts: 2_000_000_000_000, vehicles: 9, queue: 4 }]);
  assert.deepEqual([rt.estimate.vehicles[lane], rt.estimate.queue[lane]], [9, 4]);
  rt.estimate.apply([{ ...base, id: 'b', ts: 1_999_999_999_000, vehicles: 1, queue: 0 }]);
  assert.deepEqual([rt.estimate.vehicles[lane], rt.estimate.queue[lane]], [9, 4], 'an older report arriving late is ignored');
  rt.estimate.apply([{ ...base, id: 'c', ts: 2_000_000_001_000, lane: 'road_nowhere_0', vehicles: 1, queue: 1 }]);
  assert.equal(rt.estimate.unknownLanes, 1);
  rt.estimate.apply([{ ...base, id: 'd', ts: 2_000_000_002_000, occupancy: 0.3, speed: 0.5 }]);
  assert.equal(rt.estimate.vehicles[lane], Math.round((0.3 * net.length[lane]) / 7.5));
  assert.equal(rt.estimate.queue[lane], rt.estimate.vehicles[lane], 'a crawling loop-detected lane counts as queued');
});
