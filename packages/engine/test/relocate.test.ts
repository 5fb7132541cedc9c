/**
 * relocateVehicle: the brain's twin moves an emergency vehicle to where its
 * AVL unit reports it, keeping the vehicle (id, parameters, exemption) and its
 * destination.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';

const grid = () => new Simulation({ ...generateGrid({ rows: 1, cols: 3 }), flows: [] });
const ROUTE = ['road_0_1_0', 'road_1_1_0', 'road_2_1_0', 'road_3_1_0'];

function laneOf(sim: Simulation, road: string, k: number): number {
  return sim.net.roadFirstLane[sim.net.roadIndex.get(road)!] + k;
}

/** a lane of `road` from which the route goes on (a straight-through lane) */
function throughLane(sim: Simulation, road: string, next: string): number {
  const net = sim.net;
  const r = net.roadIndex.get(road)!;
  for (let k = 0; k < net.roadLaneCount[r]; k++) {
    const l = net.roadFirstLane[r] + k;
    for (let o = net.laneOutStart[l]; o < net.laneOutStart[l + 1]; o++) if (net.laneRoad[net.linkEndLane[net.laneOutList[o] - net.nLanes]] === net.roadIndex.get(next)) return l;
  }
  throw new Error(`no lane of ${road} leads to ${next}`);
}

test('a waiting vehicle is put on a lane further along its route; it keeps its id and goes on to its destination', () => {
  const sim = grid();
  sim.addVehicle({ id: 'amb', route: ROUTE, vehicle: { maxSpeed: 16.7 }, ignoreSpeedLimits: true });
  const h = sim.vehicleHandle('amb');
  assert.equal(sim.vehicleStatus('amb').state, 'waiting');
  const lane = throughLane(sim, 'road_1_1_0', 'road_2_1_0');
  sim.relocateVehicle(h, { lane, distance: 100, speed: 12 });
  const st = sim.vehicleStatus('amb');
  assert.equal(st.state, 'running');
  assert.equal(sim.vehicleHandle('amb'), h, 'the same vehicle');
  assert.equal(sim.vehicleDrivable(h), lane);
  assert.equal(sim.vehicleDistance(h), 100);
  assert.equal(sim.vehicleSpeed(h), 12, 'exempt: not capped at the lane limit (11.1)');
  const path = sim.vehicleRemainingPath(h);
  assert.deepEqual([...path].filter((d) => d < sim.net.nLanes).map((l) => sim.net.roadIds[sim.net.laneRoad[l]]), ROUTE.slice(1), 'the rest of its route');
  for (let k = 0; k < 400 && sim.vehicleStatus('amb').state !== 'finished'; k++) sim.step();
  assert.equal(sim.vehicleStatus('amb').state, 'finished', 'it reaches its destination');
});

test('a running vehicle is moved back along its route; a lane off its route, a distance beyond the lane and a spot taken are refused, the state unchanged', () => {
  const sim = grid();
  sim.addVehicle({ id: 'amb', route: ROUTE });
  for (let k = 0; k < 40; k++) sim.step();
  const h = sim.vehicleHandle('amb');
  assert.equal(sim.vehicleStatus('amb').state, 'running');
  const back = throughLane(sim, 'road_0_1_0', 'road_1_1_0');
  sim.relocateVehicle(h, { lane: back, distance: 10, speed: 5 });
  assert.equal(sim.vehicleDrivable(h), back);
  assert.equal(sim.vehicleRemainingPath(h).length, 2 * ROUTE.length - 1, 'the whole route again');

  const before = sim.exportState();
  const off = laneOf(sim, 'road_1_1_1', 0);
  assert.throws(() => sim.relocateVehicle(h, { lane: off, distance: 10, speed: 5 }), /^RangeError: relocateVehicle: lane road_1_1_1_0 is on road road_1_1_1, which is not on the route of vehicle amb$/);
  assert.throws(() => sim.relocateVehicle(h, { lane: back, distance: 1e4, speed: 5 }), /distance 10000 m is outside lane road_0_1_0_\d's \[0, /);
  // a vehicle placed 3 m ahead of the spot leaves no room there
  const other = sim.placeVehicle({ lane: back, distance: 200, speed: 0, route: [sim.net.roadIndex.get('road_0_1_0')!] });
  assert.throws(() => sim.relocateVehicle(h, { lane: back, distance: 196, speed: 5 }), /no room on lane road_0_1_0_\d at 196 m: vehicle placed_0 is -1\.00 m ahead/);
  sim.removeVehicle(other);
  assert.equal(sim.vehicleDrivable(h), back);
  assert.equal(sim.vehicleDistance(h), before.vDis[h]);
});

test('a broken-down vehicle relocated drives at the reported speed', () => {
  const sim = grid();
  sim.addVehicle({ id: 'amb', route: ROUTE });
  for (let k = 0; k < 20; k++) sim.step();
  const h = sim.vehicleHandle('amb');
  sim.breakDown(h, 100);
  sim.step();
  const lane = sim.vehicleDrivable(h);
  sim.relocateVehicle(h, { lane, distance: sim.vehicleDistance(h) + 20, speed: 8 });
  sim.step();
  assert.ok(sim.vehicleSpeed(h) > 7, `it drives on (${sim.vehicleSpeed(h)} m/s)`);
});
