/**
 * Lane changes: a route that no lane chain follows without one (SUMO nets: a
 * lane often serves one turn only) changes lanes along a road and is driven to its end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSumoScenario, Simulation } from '@citybrain/engine';
import { LANE_CHANGE } from './sumo-fixtures.js';


const load = (routes: string) => loadSumoScenario({ net: LANE_CHANGE, routes: `<routes>${routes}</routes>`, routesSource: 'l.rou.xml' });
/** Road m's lanes: [the one a leads onto, the one that leads on to x] (lane indexes are the loader's, not SUMO's). */
function mLanes(sim: Simulation): [number, number] {
  const net = sim.net;
  const m = net.roadIndex.get('m')!;
  const l0 = net.roadFirstLane[m];
  return net.laneOutStart[l0 + 1] > net.laneOutStart[l0] ? [l0 + 1, l0] : [l0, l0 + 1];
}

/** Every lane's vehicles, front first: none overlaps the one ahead (front to rear >= 0 m). */
function assertNoOverlap(sim: Simulation, where: string): void {
  const out = new Int32Array(256);
  for (let l = 0; l < sim.net.nLanes; l++) {
    const n = sim.laneVehicles(l, out);
    for (let k = 1; k < n; k++) {
      const gap = sim.vehicleDistance(out[k - 1]) - sim.vehicleLength(out[k - 1]) - sim.vehicleDistance(out[k]);
      assert.ok(gap >= 0, `${where}: ${sim.vehicleId(out[k])} overlaps ${sim.vehicleId(out[k - 1])} on ${sim.net.drivableId(l)} (gap ${gap.toFixed(2)} m)`);
    }
  }
}

test('a route that needs a lane change is driven to its end, and the loader does not warn', () => {
  const s = load('<vehicle id="v" depart="0"><route edges="a m x"/></vehicle>');
  assert.deepEqual(s.warnings, []);
  const sim = new Simulation(s.scenario, { seed: 1 });
  const [m0, m1] = mLanes(sim);
  const x0 = sim.net.roadFirstLane[sim.net.roadIndex.get('x')!];
  let onX = false, changedAt = -1, path: number[] = [];
  for (let t = 0; t < 120 && sim.metrics().finishedVehicles === 0; t++) {
    sim.step();
    const h = sim.runningVehicles()[0];
    if (h === undefined) continue;
    if (path.length === 0) path = Array.from(sim.vehicleRemainingPath(h));
    if (sim.vehicleDrivable(h) === m1 && changedAt < 0) changedAt = sim.vehicleDistance(h);
    onX ||= sim.vehicleDrivable(h) === x0;
  }
  // the path: a_0, link, m_0, m_1 (the change), link, x_0
  assert.equal(path.length, 6);
  assert.deepEqual([path[2], path[3], path[5]], [m0, m1, x0]);
  assert.ok(changedAt >= 0 && changedAt < 20, `changed lanes early on the empty road (at ${changedAt} m)`);
  assert.ok(onX, 'drove onto x');
  const m = sim.metrics();
  assert.equal(m.finishedVehicles, 1);
  // free flow: 300 m at 10 m/s and two links, no stop at m_0's end
  assert.ok(m.averageTravelTime < 45, `ATT ${m.averageTravelTime}`);
});

test('routes that can be driven without a lane change take none (CityFlow paths unchanged)', () => {
  // a_1 -> m_1 as well: a m x then enters on a_1 and never changes
  const net = LANE_CHANGE.replace('<connection from="m"', '<connection from="a" to="m" fromLane="1" toLane="1" dir="s" state="M"/><connection from="m"');
  const s = loadSumoScenario({ net, routes: '<routes><flow id="f" begin="0" end="60" period="6" route="r"/><route id="r" edges="a m x"/></routes>' });
  const sim = new Simulation(s.scenario, { seed: 3 });
  for (let t = 0; t < 30; t++) {
    sim.step();
    for (const h of sim.runningVehicles()) {
      const p = sim.vehicleRemainingPath(h);
      for (let k = 1; k < p.length; k++) assert.ok(p[k] >= sim.net.nLanes || p[k - 1] >= sim.net.nLanes, 'no two lanes in a row');
    }
  }
});

test('with no room on the target lane, the vehicle stops before its lane ends and changes once there is', () => {
  const s = load('<vehicle id="v" depart="0"><route edges="a m x"/></vehicle>');
  const sim = new Simulation(s.scenario, { seed: 1 });
  const [m, x] = [sim.net.roadIndex.get('m')!, sim.net.roadIndex.get('x')!];
  const [m0, m1] = mLanes(sim);
  // m_1 full of broken-down vehicles (5 m long, 2.5 m apart) for 60 s
  for (let d = 100; d >= 5; d -= 7.5) sim.breakDown(sim.placeVehicle({ lane: m1, distance: d, speed: 0, route: [m, x] }), 60);
  let waited = 0;
  for (let t = 0; t < 60; t++) {
    sim.step();
    const h = sim.runningVehicles().find((v) => sim.vehicleId(v) === 'flow_0_0');
    if (h === undefined) continue;
    const d = sim.vehicleDrivable(h);
    assert.notEqual(d, m1, `changed lanes into a full lane at ${t} s`);
    if (d === m0) {
      assert.ok(sim.vehicleDistance(h) <= sim.net.length[m0], 'never past the lane end');
      if (sim.vehicleSpeed(h) === 0) waited++;
    }
    assertNoOverlap(sim, `t=${t}`);
  }
  assert.ok(waited > 20, `stood at m_0's end waiting (${waited} s)`);
  for (let t = 0; t < 200; t++) {
    sim.step();
    assertNoOverlap(sim, `after, t=${t}`);
  }
  assert.equal(sim.metrics().finishedVehicles, 14, 'the blocked vehicles drove off, and the waiting one changed and finished');
});

test('busy target lane: changes keep the gaps (no overlap), and every vehicle reaches the end', () => {
  // a m x every 3 s changes into m_1, which the m x flow feeds every 3 s
  const s = load(`<flow id="f" begin="0" end="600" period="3" from="a" to="x"/><flow id="g" begin="0" end="600" period="3" from="m" to="x"/>`);
  assert.deepEqual(s.warnings, []);
  const sim = new Simulation(s.scenario, { seed: 5 });
  const [m0, m1] = mLanes(sim);
  const was = new Map<string, number>();
  const out = new Int32Array(256);
  let changes = 0;
  for (let t = 0; t < 900; t++) {
    sim.step();
    assertNoOverlap(sim, `t=${t}`);
    // a vehicle that has just changed lanes has at least its minimum gap (2.5 m) to the vehicles ahead and behind
    const n = sim.laneVehicles(m1, out);
    for (let k = 0; k < n; k++) {
      const id = sim.vehicleId(out[k]);
      if (was.get(id) !== m0) continue;
      changes++;
      if (k > 0) assert.ok(sim.vehicleDistance(out[k - 1]) - sim.vehicleLength(out[k - 1]) - sim.vehicleDistance(out[k]) >= 2.5 - 1e-9, `${id} ahead gap at ${t}`);
      if (k + 1 < n) assert.ok(sim.vehicleDistance(out[k]) - sim.vehicleLength(out[k]) - sim.vehicleDistance(out[k + 1]) >= 2.5 - 1e-9, `${id} behind gap at ${t}`);
    }
    was.clear();
    for (const h of sim.runningVehicles()) was.set(sim.vehicleId(h), sim.vehicleDrivable(h));
  }
  assert.equal(changes, 200, 'every a m x vehicle changed lanes once');
  const m = sim.metrics();
  assert.equal(m.enteredVehicles, 2 * 200);
  assert.equal(m.finishedVehicles, m.enteredVehicles, JSON.stringify(m));
});

test('a fork made while a vehicle waits to change lanes continues exactly as the original', () => {
  const s = load(`<flow id="f" begin="0" end="300" period="2" from="a" to="x"/><flow id="g" begin="0" end="300" period="2" from="m" to="x"/>`);
  const sim = new Simulation(s.scenario, { seed: 7 });
  const [m0] = mLanes(sim);
  const pending = () => sim.runningVehicles().some((h) => sim.vehicleDrivable(h) === m0 && sim.vehicleDistance(h) > 50);
  let t = 0;
  while (!pending() && t < 300) {
    sim.step();
    t++;
  }
  assert.ok(pending(), 'a vehicle on m_0 mid-road, its lane change still to make');
  const fork = sim.fork();
  sim.step(200);
  fork.step(200);
  assert.deepEqual(fork.metrics(), sim.metrics());
  assert.deepEqual(fork.exportState(), sim.exportState());
});

test('two vehicles side by side, each due to change to the other\'s lane, trade places instead of waiting for ever', () => {
  // p feeds only m's right lane and q only its left one; only the right lane leads to x, only the left one to y
  const net = `<net version="1.9">
    <edge id="p" from="P" to="B"><lane id="p_0" index="0" speed="10" length="100" shape="0,-4.8 100,-4.8"/></edge>
    <edge id="q" from="Q" to="B"><lane id="q_0" index="0" speed="10" length="100" shape="0,-1.6 100,-1.6"/></edge>
    <edge id="m" from="B" to="C"><lane id="m_0" index="0" speed="10" length="100" shape="100,-4.8 200,-4.8"/><lane id="m_1" index="1" speed="10" length="100" shape="100,-1.6 200,-1.6"/></edge>
    <edge id="x" from="C" to="X"><lane id="x_0" index="0" speed="10" length="100" shape="200,-4.8 300,-4.8"/></edge>
    <edge id="y" from="C" to="Y"><lane id="y_0" index="0" speed="10" length="100" shape="200,-1.6 300,-1.6"/></edge>
    <junction id="P" type="dead_end" x="0" y="-4.8"/><junction id="Q" type="dead_end" x="0" y="-1.6"/>
    <junction id="B" type="priority" x="100" y="0"/><junction id="C" type="priority" x="200" y="0"/>
    <junction id="X" type="dead_end" x="300" y="-4.8"/><junction id="Y" type="dead_end" x="300" y="-1.6"/>
    <connection from="p" to="m" fromLane="0" toLane="0" dir="s" state="M"/>
    <connection from="q" to="m" fromLane="0" toLane="1" dir="s" state="M"/>
    <connection from="m" to="x" fromLane="0" toLane="0" dir="s" state="M"/>
    <connection from="m" to="y" fromLane="1" toLane="0" dir="s" state="M"/>
  </net>`;
  const s = loadSumoScenario({ net, routes: '<routes><vehicle id="u" depart="0"><route edges="p m y"/></vehicle><vehicle id="w" depart="0"><route edges="q m x"/></vehicle></routes>' });
  assert.deepEqual(s.warnings, []);
  const sim = new Simulation(s.scenario, { seed: 1 });
  for (let t = 0; t < 120; t++) {
    sim.step();
    assertNoOverlap(sim, `t=${t}`);
  }
  assert.equal(sim.metrics().finishedVehicles, 2, 'both reached their ends');
});
