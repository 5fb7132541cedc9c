import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCityflowScenario, loadSumoScenario, Simulation, SUMO_RULES, generateGrid, type Scenario } from '@citybrain/engine';

/*
 * SUMO's rules the engine applies to SUMO files (SimulationRules): junction
 * blocking avoidance and jam teleport. The net: a west approach a and a south
 * approach c meet at the priority junction J; b leaves east, s (`len` m)
 * leaves north to the dead end D, and t comes back from D. U-turns at D
 * (s -> t) and at J (t -> s): the dead-end stub of an OpenStreetMap import (issue #16).
 */
const stubNet = (len: number) => `<net version="1.9">
  <edge id="a" from="W" to="J"><lane id="a_0" index="0" speed="10" length="92" shape="0,-1.6 92,-1.6"/></edge>
  <edge id="c" from="S" to="J"><lane id="c_0" index="0" speed="10" length="92" shape="101.6,-100 101.6,-8"/></edge>
  <edge id="b" from="J" to="E"><lane id="b_0" index="0" speed="10" length="92" shape="108,-1.6 200,-1.6"/></edge>
  <edge id="s" from="J" to="D"><lane id="s_0" index="0" speed="10" length="${len}" shape="101.6,8 101.6,${8 + len}"/></edge>
  <edge id="t" from="D" to="J"><lane id="t_0" index="0" speed="10" length="${len}" shape="98.4,${8 + len} 98.4,8"/></edge>
  <junction id="W" type="dead_end" x="0" y="0"/><junction id="S" type="dead_end" x="100" y="-100"/>
  <junction id="E" type="dead_end" x="200" y="0"/><junction id="D" type="dead_end" x="100" y="${8 + len}"/>
  <junction id="J" type="priority" x="100" y="0"/>
  <connection from="a" to="b" fromLane="0" toLane="0" dir="s" state="M"/>
  <connection from="a" to="s" fromLane="0" toLane="0" dir="l" state="M"/>
  <connection from="c" to="s" fromLane="0" toLane="0" dir="s" state="m"/>
  <connection from="t" to="b" fromLane="0" toLane="0" dir="r" state="m"/>
  <connection from="t" to="s" fromLane="0" toLane="0" dir="t" state="m"/>
  <connection from="s" to="t" fromLane="0" toLane="0" dir="t" state="M"/>
</net>`;
// routes through both U-turns, so the loader keeps them (vehicles here depart after the tests' horizon)
const STUB_ROUTES = `<routes><vehicle id="late" depart="90000"><route edges="a s t s t b"/></vehicle></routes>`;

function stub(rules?: Scenario['rules'], len = 9): { sim: Simulation; road: (id: string) => number; lane: (id: string) => number } {
  const { scenario } = loadSumoScenario({ net: stubNet(len), routes: STUB_ROUTES });
  const sim = new Simulation(scenario, rules ? { rules } : {});
  return { sim, road: (id) => sim.net.roadIndex.get(id)!, lane: (id) => sim.net.laneIndex.get(id)! };
}

const onLink = (sim: Simulation, h: number) => sim.vehicleDrivable(h) >= sim.net.nLanes;

test('scenarios from SUMO files come with SUMO\'s rules; CityFlow\'s and generated ones with none; options override them', () => {
  const { sim } = stub();
  assert.deepEqual(SUMO_RULES, { keepJunctionsClear: true, timeToTeleport: 300 });
  assert.equal(sim.keepJunctionsClear, true);
  assert.equal(sim.timeToTeleport, 300);
  const off = stub({ keepJunctionsClear: false, timeToTeleport: 0 }).sim;
  assert.equal(off.keepJunctionsClear, false);
  assert.equal(off.timeToTeleport, 0);
  const grid = generateGrid({ rows: 1, cols: 1 });
  const cf = loadCityflowScenario({ roadnet: JSON.stringify(grid.roadnet), flow: JSON.stringify(grid.flows) }).scenario;
  assert.equal(cf.rules, undefined);
  const plain = new Simulation(cf);
  assert.equal(plain.keepJunctionsClear, false);
  assert.equal(plain.timeToTeleport, 0);
  assert.equal(plain.metrics().teleported, 0);
  assert.throws(() => new Simulation(cf, { rules: { timeToTeleport: -1 } }), /^RangeError: timeToTeleport must be a number of seconds >= 0 \(0: never\), got -1$/);
  assert.throws(() => new Simulation(cf, { rules: { timeToTeleport: Number.NaN } }), /timeToTeleport must be/);
});

/*
 * Room for one on s (20 m; a broken-down vehicle stands 13 m along it), and two vehicles,
 * from a and from c, reach J together bound for it. CityFlow's rule (the exit
 * lane's last vehicle far enough on) lets both in: one stands inside J. Kept
 * clear, the second waits at its stop line.
 */
function twoForOne(keepJunctionsClear: boolean): { inside: number; sim: Simulation; z: number[] } {
  const { sim, road, lane } = stub({ keepJunctionsClear, timeToTeleport: 0 }, 20);
  const k = sim.placeVehicle({ lane: lane('s_0'), distance: 13, speed: 0, route: [road('s')] });
  sim.breakDown(k, 10_000);
  const z = [
    sim.placeVehicle({ lane: lane('a_0'), distance: 70, speed: 8, route: [road('a'), road('s')] }),
    sim.placeVehicle({ lane: lane('c_0'), distance: 70, speed: 8, route: [road('c'), road('s')] }),
  ];
  let inside = 0;
  for (let k = 0; k < 60; k++) {
    sim.step();
    if (k >= 30) inside += z.filter((h) => onLink(sim, h)).length;
  }
  return { inside, sim, z };
}

test('keepJunctionsClear: two vehicles do not commit into room for one, so none is left standing inside the junction', () => {
  const cityflow = twoForOne(false);
  assert.ok(cityflow.inside >= 30, `CityFlow's rule: one of the two stands inside J (${cityflow.inside} vehicle-steps on a link)`);
  const clear = twoForOne(true);
  assert.equal(clear.inside, 0, 'kept clear: nobody stands on a link of J');
  // one went onto s, the other waits on its own lane at the stop line
  const lanes = clear.z.map((h) => clear.sim.net.drivableId(clear.sim.vehicleDrivable(h))).sort();
  assert.equal(lanes.filter((l) => l === 's_0').length, 1, `one is on s: ${lanes}`);
  assert.equal(lanes.filter((l) => l === 'a_0' || l === 'c_0').length, 1, `one waits on its approach: ${lanes}`);
});

/*
 * The stub ring (s and t 9 m: room for one each): x stands at the end of s,
 * bound for t by the U-turn at D; y stands at the end of t, bound for s by the
 * U-turn at J; a third vehicle on a turns into the stub behind them. Each waits
 * for the other's lane. Kept clear, each sees that the one in its way is bound
 * for its own lane (a swap) and they pass through the junctions; with only jam
 * teleport, they are moved on after timeToTeleport, counted; with neither,
 * CityFlow's rule, they stand for good.
 */
function ring(rules: Scenario['rules']): { sim: Simulation; finished: number } {
  const { sim, road, lane } = stub(rules);
  sim.placeVehicle({ lane: lane('s_0'), distance: 8.9, speed: 0, route: [road('s'), road('t'), road('b')] });
  sim.placeVehicle({ lane: lane('t_0'), distance: 8.9, speed: 0, route: [road('t'), road('s'), road('t'), road('b')] });
  sim.placeVehicle({ lane: lane('a_0'), distance: 50, speed: 5, route: [road('a'), road('s'), road('t'), road('b')] });
  sim.step(1000);
  return { sim, finished: sim.metrics().finishedVehicles };
}

test('the dead-end stub ring locks under CityFlow\'s rules, and flows kept clear or with jam teleport, every teleport counted', () => {
  const locked = ring({ keepJunctionsClear: false, timeToTeleport: 0 });
  assert.equal(locked.finished, 0, 'neither rule: the ring stands for good');
  assert.equal(locked.sim.runningCount, 3);
  const clear = ring({ keepJunctionsClear: true, timeToTeleport: 0 });
  assert.equal(clear.finished, 3, 'kept clear: the swap passes');
  assert.equal(clear.sim.metrics().teleported, 0);
  const freed = ring({ keepJunctionsClear: false, timeToTeleport: 300 });
  assert.equal(freed.finished, 3, 'jam teleport: all three drive out');
  assert.equal(freed.sim.runningCount, 0);
  const m = freed.sim.metrics();
  assert.ok(m.teleported >= 1 && m.teleported <= 3, `teleported ${m.teleported}`);
  assert.equal(freed.sim.teleportedCount, m.teleported);
});

test('jam teleport waits the full time: a vehicle that stood 299 s is not moved, one that stood 300 s is', () => {
  const { sim, road, lane } = stub({ keepJunctionsClear: false, timeToTeleport: 300 });
  sim.placeVehicle({ lane: lane('s_0'), distance: 8.9, speed: 0, route: [road('s'), road('t'), road('b')] });
  sim.placeVehicle({ lane: lane('t_0'), distance: 8.9, speed: 0, route: [road('t'), road('s'), road('t'), road('b')] });
  sim.step(299);
  assert.equal(sim.metrics().teleported, 0);
  sim.step(2);
  assert.ok(sim.metrics().teleported >= 1);
});

test('a broken-down vehicle is not teleported: it stands by itself, not in a jam', () => {
  const { sim, road, lane } = stub({ keepJunctionsClear: true, timeToTeleport: 10 });
  const k = sim.placeVehicle({ lane: lane('b_0'), distance: 50, speed: 0, route: [road('b')] });
  sim.breakDown(k, 100);
  sim.step(60);
  assert.equal(sim.metrics().teleported, 0);
  assert.equal(sim.vehicleDrivable(k), lane('b_0'));
});

test('forks carry the rules and the standing time: a fork teleports when the original does', () => {
  const { sim, road, lane } = stub({ keepJunctionsClear: false, timeToTeleport: 50 });
  sim.placeVehicle({ lane: lane('s_0'), distance: 8.9, speed: 0, route: [road('s'), road('t'), road('b')] });
  sim.placeVehicle({ lane: lane('t_0'), distance: 8.9, speed: 0, route: [road('t'), road('s'), road('t'), road('b')] });
  sim.step(30);
  const f = sim.fork();
  sim.step(40);
  f.step(40);
  assert.ok(sim.metrics().teleported >= 1);
  assert.deepEqual(f.metrics(), sim.metrics());
});

/*
 * A ring of three 9 m lanes, ab -> bc -> ca -> ab, round junctions A, B, C,
 * each with an exit (ax, bx, cx). One vehicle stands at the end of each ring
 * lane, bound for the next ring lane and out at the junction after it: each
 * waits for room the next one holds, no two of them a swap. Kept clear, one
 * sees that the vehicle in its way waits (through the third) for it, and goes.
 */
const ringNet = (abLength: number) => `<net version="1.9">
  <edge id="ab" from="A" to="B"><lane id="ab_0" index="0" speed="10" length="${abLength}" shape="${9 - abLength},0 9,0"/></edge>
  <edge id="bc" from="B" to="C"><lane id="bc_0" index="0" speed="10" length="9" shape="20,0 20,9"/></edge>
  <edge id="ca" from="C" to="A"><lane id="ca_0" index="0" speed="10" length="9" shape="16,16 7,16"/></edge>
  <edge id="ax" from="A" to="AX"><lane id="ax_0" index="0" speed="10" length="50" shape="-5,0 -55,0"/></edge>
  <edge id="bx" from="B" to="BX"><lane id="bx_0" index="0" speed="10" length="50" shape="35,0 85,0"/></edge>
  <edge id="cx" from="C" to="CX"><lane id="cx_0" index="0" speed="10" length="50" shape="20,30 20,80"/></edge>
  <junction id="A" type="priority" x="0" y="4"/><junction id="B" type="priority" x="15" y="0"/><junction id="C" type="priority" x="20" y="15"/>
  <junction id="AX" type="dead_end" x="-55" y="0"/><junction id="BX" type="dead_end" x="85" y="0"/><junction id="CX" type="dead_end" x="20" y="80"/>
  <connection from="ab" to="bc" fromLane="0" toLane="0" dir="l" state="M"/>
  <connection from="bc" to="ca" fromLane="0" toLane="0" dir="l" state="M"/>
  <connection from="ca" to="ab" fromLane="0" toLane="0" dir="l" state="M"/>
  <connection from="ab" to="bx" fromLane="0" toLane="0" dir="s" state="M"/>
  <connection from="bc" to="cx" fromLane="0" toLane="0" dir="s" state="M"/>
  <connection from="ca" to="ax" fromLane="0" toLane="0" dir="s" state="M"/>
</net>`;

function triangle(keepJunctionsClear: boolean, queued = false): Simulation {
  const { scenario } = loadSumoScenario({ net: ringNet(queued ? 60 : 9), routes: '<routes><vehicle id="late" depart="90000"><route edges="ab bx"/></vehicle></routes>' });
  const sim = new Simulation(scenario, { rules: { keepJunctionsClear, timeToTeleport: 0 } });
  const road = (id: string) => sim.net.roadIndex.get(id)!;
  const lane = (id: string) => sim.net.laneIndex.get(id)!;
  const at = (on: string, distance: number, route: string[]) => sim.placeVehicle({ lane: lane(`${on}_0`), distance, speed: 0, route: route.map(road) });
  // queued: ab is 60 m, its first vehicle at the end as before and seven standing behind it, bound out at B
  // (the last ones too far from B to be looking at the junction: they only follow their leaders)
  at('ab', queued ? 59.9 : 8.9, ['ab', 'bc', 'cx']);
  for (let k = 1; queued && k < 8; k++) at('ab', 59.9 - 7.5 * k, ['ab', 'bx']);
  at('bc', 8.9, ['bc', 'ca', 'ax']);
  at('ca', 8.9, ['ca', 'ab', 'bx']);
  sim.step(300);
  return sim;
}

test('keepJunctionsClear: a ring of vehicles each waiting for the room the next holds is broken, where CityFlow\'s rule stands for good', () => {
  assert.equal(triangle(false).metrics().finishedVehicles, 0);
  const clear = triangle(true);
  assert.equal(clear.metrics().finishedVehicles, 3);
  assert.equal(clear.metrics().teleported, 0);
});

/*
 * The ring closes through a queue: the vehicle on ca waits for room on ab,
 * where the last of a queue stands behind the others, too far from B to
 * look at it; ab's first waits for room on bc,
 * whose vehicle waits for room on ca. The Osnabrück import locked so at
 * 3000 trips/h under fixed time (issue #16): a U-turn waiting for room on a
 * 7.6 m lane whose vehicles queued behind one yielding, inside the next
 * junction, to one waiting for the U-turn's own lane. Kept clear, standing
 * behind a leader is waiting for it, so the ring is seen and broken.
 */
test('keepJunctionsClear: a ring of waits that runs through a vehicle standing behind its leader on a lane is broken too', () => {
  assert.equal(triangle(false, true).metrics().finishedVehicles, 0);
  const clear = triangle(true, true);
  assert.equal(clear.metrics().finishedVehicles, 10);
  assert.equal(clear.metrics().teleported, 0);
});
