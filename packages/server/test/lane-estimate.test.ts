import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { CityRuntime } from '@citybrain/server';

test('the brain\'s controllers see lanes as the detectors last reported them, not the twin\'s live state', async () => {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.3 }), { detectorPeriod: 5, sensing: 'perfect' });
  const view = rt.supervisor.env.sim;
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

test('late or unknown reports do not corrupt the estimate', () => {
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
});

test('a stop-line loop\'s time occupancy is no queue length: the queue is kept by input and output, standing at red, draining at green, none on a free loop', () => {
  const rt = new CityRuntime(generateGrid({ rows: 1, cols: 1 }), {});
  const net = rt.sim.net;
  const lane = net.incomingLanes(net.signalised[0])[0];
  const est = rt.estimate;
  let t = 2_000_000_000_000;
  let seq = 0;
  const loop = (count: number, occupancy: number, speed: number) => {
    t += 5000;
    est.apply([{ kind: 'lane', id: `r${++seq}`, device: 'det-1', ts: t, intersection: 'intersection_1_1', lane: net.laneId(lane), count, occupancy, speed, interval: 5 }]);
  };
  // ten minutes of a 60 s cycle (30 s red, 30 s green discharging 6 vehicles): an arrival rate of 0.1 veh/s
  for (let cycle = 0; cycle < 10; cycle++) {
    for (let k = 0; k < 6; k++) loop(0, 1, 0);
    for (let k = 0; k < 6; k++) loop(1, 0.3, 6);
  }
  assert.ok(Math.abs(est.arrivals[lane] - 0.1) < 0.04, `arrival rate ${est.arrivals[lane]} veh/s, truth 0.1`);
  // the old rule read a fully occupied loop as a lane full end to end (length / 7.5 m): here 30 s of red queue some 3 vehicles
  for (let k = 0; k < 6; k++) loop(0, 1, 0);
  assert.ok(est.queue[lane] >= 1 && est.queue[lane] <= 5, `queue after a red: ${est.queue[lane]}`);
  assert.ok(est.vehicles[lane] >= est.queue[lane] && est.vehicles[lane] < net.length[lane] / 7.5 / 2, `vehicles ${est.vehicles[lane]}`);
  const atRed = est.queue[lane];
  // green: the loop counts them away
  loop(3, 0.4, 4);
  loop(3, 0.3, 6);
  assert.ok(est.queue[lane] < atRed, `drains at green: ${atRed} -> ${est.queue[lane]}`);
  // a vehicle standing on the loop is a queue of at least one
  loop(0, 0.9, 0);
  assert.ok(est.queue[lane] >= 1);
  // the same report delivered twice is taken once
  const twice = { kind: 'lane' as const, id: 'dup', device: 'det-1', ts: t + 5000, intersection: 'intersection_1_1', lane: net.laneId(lane), count: 0, occupancy: 1, speed: 0, interval: 5 };
  est.apply([twice]);
  const once = [est.loopQueue[lane], est.arrivals[lane], est.reports];
  est.apply([{ ...twice }]);
  assert.deepEqual([est.loopQueue[lane], est.arrivals[lane], est.reports], once);
  t += 5000;
  // nothing on the loop and nothing passing: no one waits at the line
  loop(0, 0, 0);
  assert.equal(est.queue[lane], 0);
  // a video report sets the lane as it is seen, and the loop model continues from there
  t += 5000;
  est.apply([{ kind: 'lane', id: 'v', device: 'det-1', ts: t, intersection: 'intersection_1_1', lane: net.laneId(lane), count: 0, occupancy: 0.5, speed: 0, interval: 5, vehicles: 7, queue: 6 }]);
  assert.deepEqual([est.vehicles[lane], est.queue[lane]], [7, 6]);
});
