import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { TWIN_SOURCE, type ControlEnv, type Controller } from '@citybrain/control';
import { CityRuntime } from '@citybrain/server';

/** Every object reachable from `root` through properties, array items and map/set entries (closures are not walked: nothing can read them). */
function reachable(root: unknown): Set<object> {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === null || (typeof x !== 'object' && typeof x !== 'function') || seen.has(x)) continue;
    seen.add(x);
    if (ArrayBuffer.isView(x)) continue;
    if (x instanceof Map) for (const [k, v] of x) stack.push(k, v);
    if (x instanceof Set) for (const v of x) stack.push(v);
    for (const key of Reflect.ownKeys(x)) {
      const d = Object.getOwnPropertyDescriptor(x, key);
      // getters are not called: a getter's value comes from a closure, walked by calling it would be the same as reading it
      if (d && 'value' in d) stack.push(d.value);
    }
    stack.push(Object.getPrototypeOf(x));
  }
  return seen;
}

test('controllers see the brain\'s own twin, never the street: nothing of the street is reachable from what a controller is given, and the twin follows the detectors', async () => {
  const seenEnvs: ControlEnv[] = [];
  const spy = (): Controller => ({ name: 'spy', init: (env) => void seenEnvs.push(env), decide: (_ix, s, env) => (seenEnvs.push(env), s.green) });
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.3 }), { detectorPeriod: 5, controller: 'spy', extraControllers: { spy }, epochMs: 1_767_225_600_000, sensing: 'perfect' });
  const street = rt.street!.sim;
  assert.notEqual(rt.sim, street);
  assert.equal(rt.supervisor.sim, rt.twin.sim);
  const net = rt.sim.net;
  const detected = [...net.signalised].flatMap((i) => net.incomingLanes(i));
  let err = 0, n = 0;
  for (let k = 1; k <= 600; k++) {
    await rt.stepOnce();
    if (k > 120 && k % 5 === 0) {
      // a report just came in: each lane's twin count is near the street's
      for (const l of detected) {
        err += Math.abs(rt.sim.laneVehicleCount(l) - street.laneVehicleCount(l));
        n++;
      }
    }
  }
  assert.ok(seenEnvs.length > 100);
  const env = seenEnvs[0];
  assert.equal(env.twin[TWIN_SOURCE], 'brain');
  const objects = reachable(seenEnvs);
  for (const forbidden of [street, rt.street!, rt, rt.supervisor]) assert.ok(!objects.has(forbidden), 'the street is reachable from a controller\'s env');
  // forks are the brain's twin's, not the street's
  const fork = env.twin.fork();
  assert.equal(fork.metrics().enteredVehicles, rt.sim.metrics().enteredVehicles);
  assert.notEqual(fork.metrics().enteredVehicles, street.metrics().enteredVehicles);
  const mae = err / n;
  assert.ok(mae < 1.5, `the twin's vehicles per detected lane are off the street's by ${mae.toFixed(2)} on average just after a report`);
  // the brain's plans reach the street's signals
  for (const i of net.signalised) assert.equal(street.phase(i), rt.sim.phase(i));
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
