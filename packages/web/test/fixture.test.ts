// The dashboard's serverless city, in Node: the real twin behind the fixture
// host (what worker.ts serves the page), the sandbox's URL parameters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIXTURE_CONTROLLERS, FixtureCity, FixtureError } from '../src/fixture/city.js';
import { FixtureHost } from '../src/fixture/host.js';
import { decodeVehicleFrame } from '../src/api.js';
import { TRUTH_FRAME_TAG } from '@citybrain/server/twin';
import { FIXTURE_PRESETS, sandboxOptions } from '../src/fixture/presets.js';

test('the sandbox reads its city from the URL, defaults to the demo city, and names a bad parameter', () => {
  assert.deepEqual(sandboxOptions(new URLSearchParams('')), FIXTURE_PRESETS.demo);
  assert.deepEqual(sandboxOptions(new URLSearchParams('rows=3&cols=5&spacing=250&vehicles=200&controller=sotl&seed=9')), {
    rows: 3, cols: 5, spacing: 250, vehicles: 200, controller: 'sotl', seed: 9,
  });
  assert.throws(() => sandboxOptions(new URLSearchParams('rows=0')), /sandbox: rows must be a whole number in 1\.\.12, got "0"/);
  assert.throws(() => sandboxOptions(new URLSearchParams('vehicles=lots')), /sandbox: vehicles must be a whole number in 0\.\.30000, got "lots"/);
  assert.throws(() => sandboxOptions(new URLSearchParams('seed=-1')), /sandbox: seed must be a whole number, got "-1"/);
  assert.throws(() => new FixtureCity({ ...FIXTURE_PRESETS.small, controller: 'nope' }), /unknown controller "nope"; choose one of: .*max-pressure/);
});

test('a scripted incident is a real breakdown in the street: the vehicle stands, traffic queues behind it, and it drives on once cleared', () => {
  const city = new FixtureCity({ rows: 2, cols: 2, spacing: 250, vehicles: 50 });
  const sim = city.runtime.street!.sim;
  while (city.time < 150) city.step();
  const [inc] = city.incidents('active');
  assert.equal(inc.detectedAt, 150);
  const lane = sim.net.laneIndex.get(inc.lane)!;
  const standing = [...sim.runningVehicles()].filter((v) => sim.isBrokenDown(v));
  assert.equal(standing.length, 1, 'one vehicle broke down');
  const [v] = standing;
  assert.equal(sim.vehicleDrivable(v), lane, 'on the incident lane');
  while (city.time < 160) city.step(); // it brakes to a stop first
  const at = sim.vehicleDistance(v);
  const id = sim.vehicleId(v);
  while (city.time < 300) city.step();
  assert.equal(sim.vehicleDistance(v), at, 'it stands');
  assert.ok(sim.laneWaitingCount(lane) >= 1, 'it is stopped on its lane');
  while (city.time < 460) city.step();
  assert.equal(city.incidents('cleared')[0].id, inc.id);
  assert.ok(sim.vehicleId(v) !== id || sim.vehicleDistance(v) > at, 'it drove on (or has left the city)');
  assert.equal(city.kpis.at(-1)!.activeIncidents, 0, 'the KPI counts the fixture\'s incidents');
});

test('the fixture host answers the dashboard\'s calls from the twin: controllers, live frames, comparisons, refusals', async () => {
  const host = new FixtureHost({ rows: 2, cols: 2, spacing: 250, vehicles: 60, seed: 3 }, { warmUp: 60, start: false });
  assert.deepEqual(host.controllers(), FIXTURE_CONTROLLERS);
  assert.ok(!FIXTURE_CONTROLLERS.some((c) => c.startsWith('predictive')));
  host.setController({ region: 'city' }, 'sotl');
  assert.ok(host.intersections().every((i) => i.controller === 'sotl'));
  assert.throws(() => host.setController({ region: 'north' }, 'fixed'), (e: unknown) => e instanceof FixtureError && e.status === 404 && /no region "north"/.test(e.message));
  assert.throws(() => host.setController({ intersection: 'intersection_1_1' }, 'nope'), (e: unknown) => e instanceof FixtureError && e.status === 400);
  const { state, frame } = host.live(true);
  assert.equal(state.t, 60);
  assert.equal(frame![1], host.city.runtime.sim.runningCount, 'every vehicle of the brain\'s twin in the frame');
  assert.equal(state.lanes.vehicles.length, host.network().laneOrder.length, 'lane figures in network lane order');
  assert.equal(host.live(false).frame, null);
  // the virtual street's ground truth, asked for apart: the street's vehicles, tagged, decoded as the truth
  const street = host.city.runtime.street!.sim;
  const both = host.live(true, true);
  assert.equal(host.live(true).truth, null, 'no truth not asked for');
  const truth = decodeVehicleFrame(both.truth!.buffer as ArrayBuffer);
  assert.equal(truth.truth, true);
  assert.equal(both.truth![1], TRUTH_FRAME_TAG, 'the server\'s tag, which the dashboard\'s decoder knows');
  assert.equal(truth.n, street.runningCount, 'every vehicle driving in the street');
  const brain = decodeVehicleFrame(both.frame!.buffer as ArrayBuffer);
  assert.deepEqual({ truth: brain.truth, n: brain.n }, { truth: false, n: host.city.runtime.sim.runningCount }, 'the brain\'s frame is its twin\'s');
  assert.notDeepEqual(Array.from(truth.data.subarray(truth.offset)), Array.from(brain.data.subarray(brain.offset)), 'two views of the city, not one');
  assert.equal(state.virtualStreet, true);
  assert.deepEqual(host.kpis({}).map((k) => k.t), [10, 20, 30, 40, 50, 60]);
  assert.equal(host.setSimulation({ speed: 5 }).speed, 5);
  assert.throws(() => host.setSimulation({ speed: -1 }), /speed must be a number in \(0, 1000\], got -1/);

  const { id } = host.startCompare(['fixed', 'max-pressure'], 60);
  for (let i = 0; i < 200 && !host.compare(id).done; i++) await new Promise((r) => setTimeout(r, 20));
  const run = host.compare(id);
  assert.ok(run.done, 'the comparison ran to its end');
  assert.deepEqual(run.series.fixed.map((p) => p.t), [10, 20, 30, 40, 50, 60]);
  assert.equal(host.compareReplay(id, 'fixed', 0, 60).frames.length, 6);
  assert.throws(() => host.compareReplay(id, 'sotl', 0, 60), /this comparison ran fixed, max-pressure, not "sotl"/);
  assert.throws(() => host.compare('cmp-9'), /no comparison "cmp-9"/);
  assert.throws(() => host.startCompare(['fixed', 'fixed'], 60), /^Error: compare needs different controllers: one is named twice$/);
  assert.throws(() => host.startCompare(['fixed'], 60), /^Error: compare needs 2 to 4 controllers, got 1$/);
  assert.throws(() => host.startCompare(['fixed', 'max-pressure', 'sotl', 'webster', 'actuated'], 60), /^Error: compare needs 2 to 4 controllers, got 5$/);
  // the server's answers from the server's rules: the listing with its winner, every KPI, the exports
  const [listed] = host.compares();
  assert.deepEqual([listed.id, listed.status, listed.controllers], [id, 'done', ['fixed', 'max-pressure']]);
  assert.deepEqual(run.kpis.map((k) => k.kpi), ['att', 'delay', 'stops', 'queue', 'throughput']);
  assert.deepEqual(listed.winner, run.winner);
  const csv = host.compareExport(id, 'csv').trim().split('\n');
  assert.equal(csv[0], 'controller,t_s,att_s,delay_s_per_trip,stops_per_trip,queued_vehicles,throughput_trips_per_h,in_network_vehicles,finished_trips');
  assert.equal(csv.length, 1 + 12);
  assert.equal(Number(csv[6].split(',')[2]), run.series.fixed[5].averageTravelTime);
  const report = host.compareExport(id, 'report');
  assert.match(report, /^<!doctype html>/);
  assert.ok(report.includes('>max-pressure</th>') && report.includes('Delay by intersection'));
});

test('switching a controller hands an intersection that fell back to its fixed plan to the new one, as the server does', () => {
  const city = new FixtureCity({ rows: 2, cols: 2, spacing: 250, vehicles: 50 });
  const rt = city.runtime;
  const ix = rt.supervisor.env.intersections[0];
  // a controller fault hands the intersection to its plan
  rt.supervisor.fallen.add(ix.intersection);
  city.setController({ intersection: ix.id }, 'sotl');
  assert.equal(rt.supervisor.fallen.has(ix.intersection), false);
  assert.equal(rt.assignment.controllerOf(ix.intersection), 'sotl');
});

test('an emergency dispatch from a point far off the map is refused naming the field, as the API refuses it', () => {
  const city = new FixtureCity({ rows: 2, cols: 2, spacing: 250, vehicles: 50 });
  assert.throws(() => city.dispatch({ x: 1e6, y: 0 }, { x: 0, y: 0 }), (e: unknown) => e instanceof FixtureError && /^from: \(1000000, 0\) is \d+ m from the nearest road/.test(e.message));
});
