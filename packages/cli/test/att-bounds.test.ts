/**
 * The lower bounds bench control prints beside the controllers' ATT: each
 * checked against a case worked by hand and against real controlled runs,
 * which must never beat them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { controllers, runControlled } from '@citybrain/control';
import { attDistanceBound, attFloor } from '../dist/bench/att-bounds.js';

test('the distance bound of one vehicle is its shortest lanes and lane links at top speed', () => {
  const s = generateGrid({ rows: 1, cols: 1, turnRoutes: false, startTime: 0, endTime: 0 });
  const flow = s.flows[0];
  const one: Scenario = { roadnet: s.roadnet, flows: [flow] };
  // 1x1 grid: in on a boundary road, straight through the junction, out on the opposite road
  const roads = flow.route.map((id) => s.roadnet.roads.find((r) => r.id === id)!);
  assert.equal(roads.length, 2);
  const bound = attDistanceBound(one, 3600);
  // each road is 300 m centre to boundary, trimmed 30 m at the junction; the junction is crossed in between
  const v = Math.min(flow.vehicle.maxSpeed, roads[0].lanes[0].maxSpeed);
  const lanes = (2 * (300 - 30)) / v;
  assert.ok(bound > lanes && bound < lanes + 61 / v, `bound ${bound} s: 2 x 270 m of lane (${lanes.toFixed(2)} s) plus about 60 m of junction`);
  // the same vehicle really driving (accelerating from its entry speed, green everywhere) takes longer
  assert.ok(attFloor(one, 3600) >= bound);
});

test('a vehicle still driving at the end counts only the time it has had, as ATT does', () => {
  const s = generateGrid({ rows: 1, cols: 1, turnRoutes: false, startTime: 3590, endTime: 3590 });
  assert.equal(attDistanceBound({ roadnet: s.roadnet, flows: [s.flows[0]] }, 3600), 10);
});

test('vehicles are counted by the flows\' rule: one every interval from startTime up to endTime', () => {
  const s = generateGrid({ rows: 1, cols: 1, turnRoutes: false, startTime: 0, endTime: 0 });
  const f = s.flows[0];
  const one = attDistanceBound({ roadnet: s.roadnet, flows: [f] }, 3600);
  // vehicles at 0, 2.5, 5 ... 97.5 s: 40, all finishing well inside the hour, so the mean is one vehicle's
  const many = attDistanceBound({ roadnet: s.roadnet, flows: [{ ...f, interval: 2.5, startTime: 0, endTime: 99 }] }, 3600);
  assert.ok(Math.abs(many - one) < 1e-9);
  // the same flow cut by the horizon: the ones generated near the end count less
  const cut = attDistanceBound({ roadnet: s.roadnet, flows: [{ ...f, interval: 2.5, startTime: 3500, endTime: -1 }] }, 3600);
  assert.ok(cut < one);
});

test('no controller beats either bound on a busy grid, and the floor is above the distance bound', async () => {
  const s = generateGrid({ rows: 2, cols: 2, demand: 0.2, endTime: 600 });
  const horizon = 900;
  const distance = attDistanceBound(s, horizon);
  const floor = attFloor(s, horizon);
  assert.ok(distance > 0 && floor >= distance, `floor ${floor} s, distance bound ${distance} s`);
  for (const name of ['fixed', 'max-pressure', 'sotl']) {
    const r = await runControlled(new Simulation(s), controllers[name](), horizon);
    assert.ok(r.metrics.averageTravelTime >= floor, `${name}: ATT ${r.metrics.averageTravelTime} s below the floor ${floor} s`);
  }
});
