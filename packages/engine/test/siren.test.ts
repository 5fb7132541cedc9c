/**
 * AddVehicleOptions.siren: moving vehicles ahead of an emergency vehicle on
 * its lane give way and it passes them; a stopped one stays in its way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';

// one signal, a 1 km approach: everything below happens on the approach, far from the light
const scenario = () => ({ ...generateGrid({ rows: 1, cols: 1, blockLength: 1000, speedLimit: 11.1 }), flows: [] });
const ROUTE = ['road_0_1_0', 'road_1_1_0'];
const AMBULANCE = { maxSpeed: 16.7, headwayTime: 2 };

/** The approach lane's vehicles front first, as ids; asserts the lane is ordered by distance. */
function lane(sim: Simulation, id: string): string[] {
  const d = sim.vehicleDrivable(sim.vehicleHandle(id));
  const buf = new Int32Array(16);
  const n = sim.laneVehicles(d, buf);
  for (let k = 1; k < n; k++) assert.ok(sim.vehicleDistance(buf[k - 1]) >= sim.vehicleDistance(buf[k]), `lane ordered front first at t=${sim.time}`);
  return [...buf.subarray(0, n)].map((h) => sim.vehicleId(h));
}

function run(siren: boolean, breakDownAt = -1) {
  const sim = new Simulation(scenario());
  sim.addVehicle({ id: 'slow', route: ROUTE, vehicle: { maxSpeed: 5 } });
  const orders: string[][] = [];
  for (let k = 0; k < 60; k++) {
    if (sim.time === 10) sim.addVehicle({ id: 'amb', route: ROUTE, vehicle: AMBULANCE, ignoreSpeedLimits: true, siren });
    if (sim.time === breakDownAt) sim.breakDown(sim.vehicleHandle('slow'), 600);
    sim.step();
    if (sim.vehicleStatus('amb').state === 'running') orders.push(lane(sim, 'amb'));
  }
  return { sim, orders, at: (id: string) => sim.vehicleDistance(sim.vehicleHandle(id)) };
}

test('with its siren on an emergency vehicle passes a moving vehicle ahead on its lane; without, it follows it', () => {
  const off = run(false);
  assert.deepEqual(off.orders.at(-1), ['slow', 'amb']);
  assert.ok(off.at('amb') < off.at('slow'));
  assert.ok(off.sim.vehicleSpeed(off.sim.vehicleHandle('amb')) <= 5.01, 'held to the speed of the one ahead');

  const on = run(true);
  assert.deepEqual(on.orders[0], ['slow', 'amb']);
  assert.deepEqual(on.orders.at(-1), ['amb', 'slow']);
  // well past it, at its own speed
  assert.ok(on.at('amb') > on.at('slow') + 200, `amb at ${on.at('amb')} m, slow at ${on.at('slow')} m`);
  assert.ok(on.sim.vehicleSpeed(on.sim.vehicleHandle('amb')) > 16);
  // the one passed drives on behind it
  assert.ok(on.sim.vehicleSpeed(on.sim.vehicleHandle('slow')) > 4);
});

test('a stopped vehicle does not give way: the emergency vehicle stops behind it', () => {
  const r = run(true, 5);
  assert.deepEqual(r.orders.at(-1), ['slow', 'amb']);
  assert.ok(r.at('amb') < r.at('slow'));
  assert.ok(r.sim.vehicleSpeed(r.sim.vehicleHandle('amb')) < 0.1);
});

test('a fork carries the siren: the same pass, step for step', () => {
  const sim = new Simulation(scenario());
  sim.addVehicle({ id: 'slow', route: ROUTE, vehicle: { maxSpeed: 5 } });
  sim.step(10);
  sim.addVehicle({ id: 'amb', route: ROUTE, vehicle: AMBULANCE, ignoreSpeedLimits: true, siren: true });
  sim.step(2);
  const fork = sim.fork();
  const copy = new Simulation(scenario());
  copy.importState(sim.exportState());
  for (const s of [sim, fork, copy]) s.step(40);
  for (const s of [fork, copy]) {
    assert.deepEqual(lane(s, 'amb'), ['amb', 'slow']);
    assert.equal(s.vehicleDistance(s.vehicleHandle('amb')), sim.vehicleDistance(sim.vehicleHandle('amb')));
  }
});
