/**
 * placeVehicle / removeVehicle (the brain's twin, kept in step with detectors),
 * laneVehicles, and the checkpoint hooks forEachEntry / forEachExit. Expected
 * values come from the model's rules (gaps, travel times), not from the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { CITYFLOW_VEHICLE, SIGNAL, drivableIndex, flow, interIndex, oneSignal, stateDifference, straightRoad, vehicleRows } from './twin-helpers.js';

const { length: LEN, minGap: MIN_GAP } = CITYFLOW_VEHICLE;

function road(sim: Simulation, id: string): number {
  const r = sim.net.roadIndex.get(id);
  if (r === undefined) throw new Error(`no road ${id}`);
  return r;
}

function lane(sim: Simulation, out: Int32Array = new Int32Array(64), at = 0): number[] {
  return [...out.subarray(0, sim.laneVehicles(at, out))];
}

test('a vehicle placed behind a queue drives up and stops behind it, minGap back; laneVehicles lists the lane front first', () => {
  const sim = new Simulation(oneSignal({ lanes: 1 }));
  sim.setPhase(interIndex(sim, SIGNAL), 0); // red
  const inLane = drivableIndex(sim, 'in_0');
  const route = [road(sim, 'in'), road(sim, 'out')];
  const L = sim.net.length[inLane];
  const a = sim.placeVehicle({ lane: inLane, distance: L - 3, speed: 0, route });
  const b = sim.placeVehicle({ lane: inLane, distance: L - 3 - LEN - MIN_GAP, speed: 0, route });
  // placed between them would not fit; behind them, at speed, it fits
  const c = sim.placeVehicle({ lane: inLane, distance: 40, speed: 10, route });
  const out = new Int32Array(8);
  assert.deepEqual(lane(sim, out, inLane), [a, b, c], 'front first');
  assert.equal(sim.laneVehicles(inLane, new Int32Array(2)), 2, 'writes at most out.length');
  assert.deepEqual([a, b, c].map((h) => sim.vehicleId(h)), ['placed_0', 'placed_1', 'placed_2']);
  assert.equal(sim.vehicleSpeed(c), 10);
  sim.step(60);
  assert.deepEqual(lane(sim, out, inLane), [a, b, c], 'nobody passed anybody');
  for (const h of [a, b, c]) assert.equal(sim.vehicleSpeed(h), 0, `${sim.vehicleId(h)} has stopped`);
  assert.ok(sim.vehicleDistance(a) <= L && sim.vehicleDistance(a) > L - 5, 'the front one stops at the line');
  // b stood; c drove up and closed up behind it
  const gapB = sim.vehicleDistance(a) - LEN - sim.vehicleDistance(b);
  const gapC = sim.vehicleDistance(b) - LEN - sim.vehicleDistance(c);
  assert.ok(gapB >= MIN_GAP - 1e-6, `placed_1 keeps ${gapB} m >= minGap`);
  assert.ok(gapC >= MIN_GAP - 1e-6 && gapC < MIN_GAP + 0.5, `placed_2 stops ${gapC} m behind, minGap ${MIN_GAP}`);
  assert.equal(sim.metrics().queuedVehicles, 3);
});

test('a vehicle placed standing at the stop line of a red light stays there until green', () => {
  const sim = new Simulation(oneSignal({ lanes: 1 }));
  const c = interIndex(sim, SIGNAL);
  sim.setPhase(c, 0);
  const inLane = drivableIndex(sim, 'in_0');
  const v = sim.placeVehicle({ lane: inLane, distance: sim.net.length[inLane], speed: 0, route: [road(sim, 'in'), road(sim, 'out')] });
  sim.step(10);
  assert.deepEqual([sim.vehicleDrivable(v), sim.vehicleDistance(v), sim.vehicleSpeed(v)], [inLane, sim.net.length[inLane], 0]);
  sim.setPhase(c, 1);
  sim.step(2);
  assert.notEqual(sim.vehicleDrivable(v), inLane, 'crosses on green');
});

test('placing where the vehicle ahead or behind (on the lane or over the stop line) is nearer than minGap is refused: no room', () => {
  const sim = new Simulation(oneSignal({ lanes: 1, width: 2 }));
  const inLane = drivableIndex(sim, 'in_0');
  const outLane = drivableIndex(sim, 'out_0');
  const route = [road(sim, 'in'), road(sim, 'out')];
  const a = sim.placeVehicle({ lane: inLane, distance: 100, speed: 0, route });
  // ahead of it: its back must clear a's front by a's minGap; behind: our front clears its back by ours
  assert.throws(() => sim.placeVehicle({ lane: inLane, distance: 100 + LEN + MIN_GAP - 0.1, speed: 0, route }), /no room on lane in_0 at 107.4 m: vehicle placed_0 is 2.40 m behind, 2.5 m needed/);
  assert.throws(() => sim.placeVehicle({ lane: inLane, distance: 100, speed: 0, route }), /no room/);
  assert.throws(() => sim.placeVehicle({ lane: inLane, distance: 100 - LEN - MIN_GAP + 0.1, speed: 0, route }), /no room on lane in_0 at 92.6 m: vehicle placed_0 is 2.40 m ahead/);
  const refused = sim.snapshot();
  const b = sim.placeVehicle({ lane: inLane, distance: 100 + LEN + MIN_GAP, speed: 0, route });
  const c = sim.placeVehicle({ lane: inLane, distance: 100 - LEN - MIN_GAP, speed: 0, route });
  assert.deepEqual(lane(sim, undefined, inLane), [b, a, c], 'exactly minGap fits, on either side');
  assert.equal(refused.placed, 1, 'a refusal changes nothing');
  assert.equal(refused.generated, 1);

  // a vehicle just past the junction is the leader of one placed at the stop line
  const link = sim.net.length[drivableIndex(sim, 'in_0->out_0')];
  const L = sim.net.length[inLane];
  sim.placeVehicle({ lane: outLane, distance: 1, speed: 0, route: [road(sim, 'out')] });
  const gapAtLine = link + 1 - LEN;
  assert.ok(gapAtLine < MIN_GAP, `the scenario puts it ${gapAtLine} m ahead of the line`);
  assert.throws(() => sim.placeVehicle({ lane: inLane, distance: L, speed: 0, route }), /no room on lane in_0 at .* vehicle placed_3 is .* m ahead/);
  sim.placeVehicle({ lane: inLane, distance: L - (MIN_GAP - gapAtLine) - 1e-9, speed: 0, route });
});

test('a vehicle placed ahead of a moving one is its leader from the next step: it brakes instead of running into it', () => {
  const sim = new Simulation(straightRoad({ length: 800, lanes: 1 }));
  const r = [road(sim, 'r')];
  const follow = sim.placeVehicle({ lane: 0, distance: 100, speed: 11, route: r });
  sim.step(2);
  const v = sim.vehicleSpeed(follow);
  const x = sim.vehicleDistance(follow);
  assert.ok(v > 11, `at speed (${v} m/s)`);
  // 8 m of room: one more step at speed would overlap it
  const ahead = sim.placeVehicle({ lane: 0, distance: x + LEN + 8, speed: 0, route: r });
  sim.step();
  assert.ok(sim.vehicleSpeed(follow) < v - 1, `brakes (${sim.vehicleSpeed(follow)} m/s)`);
  assert.ok(sim.vehicleDistance(ahead) - LEN - sim.vehicleDistance(follow) > 0, 'no overlap');
});

test('removing a stalled leader lets its follower drive on; removal is not a finish and leaves the counts as if it never came', () => {
  const sim = new Simulation(straightRoad({ length: 800, lanes: 1 }));
  const r = [road(sim, 'r')];
  const lead = sim.placeVehicle({ lane: 0, distance: 300, speed: 0, route: r });
  sim.breakDown(lead, 1000);
  const follow = sim.placeVehicle({ lane: 0, distance: 150, speed: 8, route: r });
  sim.step(60);
  assert.equal(sim.vehicleSpeed(follow), 0, 'queued behind the broken-down one');
  const queuedAt = sim.vehicleDistance(follow);
  assert.ok(queuedAt < 300 - LEN);
  assert.throws(() => sim.removeVehicle(99), /removeVehicle: vehicle handle 99 is not a running or waiting vehicle/);
  sim.removeVehicle(lead);
  assert.throws(() => sim.removeVehicle(lead), /not a running or waiting vehicle/);
  assert.deepEqual(lane(sim), [follow]);
  const m = sim.metrics();
  assert.deepEqual([m.enteredVehicles, m.finishedVehicles, m.vehiclesInNetwork, sim.removedCount], [1, 0, 1, 1]);
  assert.ok(m.totalDelay > 0 && m.averageDelay === m.totalDelay / 2, 'the removed one\'s delay stays, and so does it in the count');
  sim.step();
  assert.equal(sim.vehicleSpeed(follow), CITYFLOW_VEHICLE.maxPosAcc, 'it starts at once: it no longer follows the removed one');
  sim.step(9);
  assert.ok(sim.vehicleSpeed(follow) > 0 && sim.vehicleDistance(follow) > queuedAt, 'the follower drives on');
  sim.step(20);
  assert.ok(sim.vehicleDistance(follow) > 300, 'past where the leader stood');
  let exits = 0;
  while (sim.runningCount > 0) {
    sim.step();
    sim.forEachExit(() => exits++);
  }
  assert.deepEqual([sim.metrics().finishedVehicles, sim.metrics().enteredVehicles, exits], [1, 1, 1], 'only the follower finishes');
});

test('vehicles waiting at the boundary can be removed from anywhere in the queue; the rest enter in order', () => {
  const sim = new Simulation(straightRoad({ length: 400, lanes: 1 }));
  const block = sim.placeVehicle({ lane: 0, distance: 3, speed: 0, route: [road(sim, 'r')] });
  sim.breakDown(block, 1000);
  for (const id of ['w0', 'w1', 'w2', 'w3']) sim.addVehicle({ id, route: ['r'] });
  sim.step(2);
  assert.equal(sim.laneEntryQueue(0), 4, 'the blocker keeps them out');
  sim.removeVehicle(sim.vehicleHandle('w1'));
  sim.removeVehicle(sim.vehicleHandle('w3')); // the tail
  assert.deepEqual(sim.vehicleStatus('w1'), { state: 'unknown' });
  assert.equal(sim.laneEntryQueue(0), 2);
  assert.deepEqual([sim.metrics().waitingToEnter, sim.metrics().enteredVehicles], [2, 3]);
  sim.removeVehicle(block);
  const entered: string[] = [];
  for (let k = 0; k < 30; k++) {
    sim.step();
    sim.forEachEntry((v, l) => entered.push(`${sim.vehicleId(v)}@${l}`));
  }
  assert.deepEqual(entered, ['w0@0', 'w2@0']);
  sim.addVehicle({ id: 'w4', route: ['r'] }); // the queue's tail was mended
  sim.step(10);
  assert.equal(sim.vehicleStatus('w4').state, 'running');
});

test('placed vehicles drive their route through the junction, finish, and count in ATT from the moment they were placed', () => {
  const sim = new Simulation(oneSignal({ lanes: 2 }));
  sim.setPhase(interIndex(sim, SIGNAL), 1); // green
  sim.step(7);
  const t0 = sim.time;
  const route = Int32Array.of(road(sim, 'in'), road(sim, 'out'));
  const placed = [
    sim.placeVehicle({ lane: drivableIndex(sim, 'in_0'), distance: 50, speed: 5, route }),
    sim.placeVehicle({ lane: drivableIndex(sim, 'in_1'), distance: 200, speed: 30, route }),
    sim.placeVehicle({ lane: drivableIndex(sim, 'out_1'), distance: 10, speed: 0, route: [road(sim, 'out')] }),
  ];
  assert.equal(sim.vehicleSpeed(placed[1]), CITYFLOW_VEHICLE.maxSpeed, 'speed capped at the vehicle maximum (the lane allows more)');
  assert.deepEqual(placed.map((h) => sim.vehicleId(h)), ['placed_0', 'placed_1', 'placed_2']);
  const ids = placed.map((h) => sim.vehicleId(h));
  const travel = new Map<string, number>();
  const exitLane = new Map<string, string>();
  let entries = 0;
  for (let k = 0; k < 200 && sim.runningCount > 0; k++) {
    sim.step();
    sim.forEachEntry(() => entries++);
    // finished during the step that began at time - interval
    sim.forEachExit((v, l) => {
      travel.set(sim.vehicleId(v), sim.time - sim.interval - t0);
      exitLane.set(sim.vehicleId(v), sim.net.drivableId(l));
    });
  }
  assert.equal(entries, 0, 'placed vehicles did not come in at the boundary');
  assert.deepEqual([...exitLane.entries()].sort(), [['placed_0', 'out_0'], ['placed_1', 'out_1'], ['placed_2', 'out_1']]);
  const m = sim.metrics();
  assert.deepEqual([m.enteredVehicles, m.finishedVehicles, m.vehiclesInNetwork], [3, 3, 0]);
  const mean = ids.reduce((s, id) => s + travel.get(id)!, 0) / 3;
  assert.ok(Math.abs(m.averageTravelTime - mean) < 1e-9, `ATT ${m.averageTravelTime} = mean travel from placement ${mean}`);
  assert.ok(travel.get('placed_0')! > travel.get('placed_1')!, 'the one further back took longer');
});

test('forEachEntry and forEachExit report every vehicle once, with its first and its last lane, and the id answers inside the callback', () => {
  const f = flow(['in', 'out'], { interval: 3, endTime: 90 });
  const sim = new Simulation(oneSignal({ lanes: 3, flows: [f] }), { seed: 2 });
  const c = interIndex(sim, SIGNAL);
  const entered = new Map<string, number>();
  const left = new Map<string, number>();
  let lastSeen = new Map<number, { id: string; drv: number }>();
  for (let k = 0; k < 400; k++) {
    sim.setPhase(c, Math.floor(k / 20) % 2);
    sim.step();
    sim.forEachEntry((v, l) => {
      const id = sim.vehicleId(v);
      assert.ok(!entered.has(id), `${id} entered once`);
      assert.equal(sim.vehicleDrivable(v), l, 'reported on the lane it is on');
      assert.equal(sim.net.laneRoad[l], road(sim, 'in'));
      entered.set(id, l);
    });
    sim.forEachExit((v, l) => {
      const id = sim.vehicleId(v);
      assert.ok(!left.has(id), `${id} left once`);
      assert.equal(id, lastSeen.get(v)?.id, 'the handle still names the vehicle that left');
      assert.equal(l, lastSeen.get(v)?.drv, 'the lane it was last on');
      left.set(id, l);
    });
    const now = new Map<number, { id: string; drv: number }>();
    for (const h of sim.runningVehicles()) now.set(h, { id: sim.vehicleId(h), drv: sim.vehicleDrivable(h) });
    lastSeen = now;
  }
  const m = sim.metrics();
  assert.ok(m.finishedVehicles > 20 && m.waitingToEnter === 0 && m.vehiclesInNetwork === 0, 'every vehicle went through');
  assert.equal(entered.size, m.enteredVehicles);
  assert.equal(left.size, m.finishedVehicles);
  // a straight lane link keeps the lane index: in_k -> out_k
  for (const [id, l] of left) assert.equal(sim.net.laneIndexInRoad[l], sim.net.laneIndexInRoad[entered.get(id)!], id);
  assert.ok(new Set(entered.values()).size > 1, 'entries on more than one lane');
});

test('bad placements are refused with a RangeError naming lane, distance, speed or route', () => {
  const grid = generateGrid({ rows: 1, cols: 2 });
  const sim = new Simulation(grid);
  const r0 = road(sim, 'road_0_1_0'), r1 = road(sim, 'road_1_1_0'), back = road(sim, 'road_2_1_2');
  const l0 = sim.net.roadFirstLane[r0] + 1; // a straight lane
  const ok = { lane: l0, distance: 10, speed: 5, route: [r0, r1] };
  const cases: [object, RegExp][] = [
    [{ lane: -1 }, /placeVehicle: lane -1 is not a lane index/],
    [{ lane: 1.5 }, /placeVehicle: lane 1.5 is not a lane index/],
    [{ lane: sim.net.nLanes }, /lane \d+ is not a lane index/],
    [{ distance: -0.1 }, /placeVehicle: distance -0.1 m is outside lane road_0_1_0_1's \[0, /],
    [{ distance: sim.net.length[l0] + 0.1 }, /distance .* is outside/],
    [{ distance: NaN }, /distance NaN/],
    [{ speed: -1 }, /placeVehicle: speed must be a finite number >= 0 m\/s, got -1/],
    [{ speed: Infinity }, /speed/],
    [{ route: [] }, /placeVehicle: route must list 1\.\.\d+ road indices, got 0/],
    [{ route: [r0, 999] }, /placeVehicle: route\[1\] = 999 is not a road index/],
    [{ route: [r1, r0] }, /placeVehicle: route\[0\] is road road_1_1_0, but lane road_0_1_0_1 is on road road_0_1_0/],
    // the straight lane does not turn left
    [{ route: [r0, road(sim, 'road_1_1_1')] }, /placeVehicle: route\[1\] \(road road_1_1_1\) is not connected from lane road_0_1_0_1: no lane link leads there/],
    // road_1_1_0 is reachable, but no U-turn back onto road_2_1_2 is
    [{ route: [r0, r1, back] }, /placeVehicle: route is not connected from lane road_0_1_0_1: no chain of lane links goes on from route\[0\] \(road road_0_1_0\) to route\[1\]/],
  ];
  for (const [bad, msg] of cases) assert.throws(() => sim.placeVehicle({ ...ok, ...bad }), (e: unknown) => e instanceof RangeError && msg.test(e.message), JSON.stringify(bad));
  assert.equal(sim.metrics().enteredVehicles, 0, 'nothing was placed');
  sim.placeVehicle(ok);
  assert.throws(() => sim.laneVehicles(-3, new Int32Array(4)), /laneVehicles: lane -3 is not a lane index/);
  assert.throws(() => sim.addVehicle({ id: 'placed_7', route: ['road_0_1_0'] }), /vehicle id "placed_7" is reserved/);
});

test('placements on one lane and route share one stored path: assimilating many vehicles does not grow the state', () => {
  const sim = new Simulation(straightRoad({ length: 5000, lanes: 1 }));
  const route = [road(sim, 'r')];
  sim.placeVehicle({ lane: 0, distance: 5000, speed: 0, route });
  const used = sim.snapshot().pathUsed;
  for (let k = 1; k < 500; k++) sim.placeVehicle({ lane: 0, distance: 5000 - k * (LEN + MIN_GAP), speed: 0, route });
  assert.equal(sim.snapshot().pathUsed, used);
  assert.equal(sim.laneVehicleCount(0), 500);
  assert.equal(sim.vehicleId(sim.placeVehicle({ lane: 0, distance: 5, speed: 0, route })), 'placed_500');
});

/** Asserts two simulations are in the same state: metrics, vehicles through the API, and every state byte. */
function assertSame(a: Simulation, b: Simulation, what: string): void {
  assert.deepEqual(a.metrics(), b.metrics(), `${what}: metrics`);
  assert.deepEqual(vehicleRows(a), vehicleRows(b), `${what}: vehicles`);
  assert.equal(stateDifference(a.snapshot(), b.snapshot()), null, `${what}: state`);
}

/** Places a vehicle, along each flow's route, on every lane and at every distance from `distances` with room; removes every third running vehicle. */
function assimilate(sim: Simulation, scenario: Scenario, distances: number[]): number {
  let placed = 0;
  for (const fl of scenario.flows) {
    const route = fl.route.map((id) => road(sim, id));
    const r0 = route[0];
    for (let l = sim.net.roadFirstLane[r0]; l < sim.net.roadFirstLane[r0] + sim.net.roadLaneCount[r0]; l++) {
      for (const distance of distances) {
        try {
          sim.placeVehicle({ lane: l, distance: Math.min(distance, sim.net.length[l]), speed: 6, route });
          placed++;
        } catch (e) {
          if (!(e instanceof RangeError && /no room|not connected/.test(e.message))) throw e;
        }
      }
    }
  }
  const running = sim.runningVehicles();
  for (let k = 0; k < running.length; k += 3) sim.removeVehicle(running[k]);
  return placed;
}

test('a fork, an imported export, forkInto and restore of a twin with placed and removed vehicles run exactly like the original', () => {
  const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.3, blockLength: 200 });
  const sim = new Simulation(scenario, { seed: 4 });
  sim.step(60);
  assert.ok(assimilate(sim, scenario, [20, 60, 100, 130]) > 10, 'placed some');
  const fork = sim.fork();
  const imported = new Simulation(scenario, { seed: 99 });
  const exported = sim.exportState();
  const buffers = Simulation.stateBuffers(exported);
  for (const v of Object.values(exported)) if (ArrayBuffer.isView(v)) assert.ok(buffers.includes(v.buffer as ArrayBuffer));
  imported.importState(structuredClone(exported));
  const spent = sim.fork();
  spent.step(30);
  const into = sim.forkInto(spent);
  const snap = sim.snapshot();
  assertSame(sim, fork, 'at the fork');
  for (let round = 0; round < 4; round++) {
    for (const s of [sim, fork, imported, into]) {
      s.step(50);
      if (round === 1) assimilate(s, scenario, [10, 50]); // the copies place and remove alike too
    }
    assertSame(sim, fork, `fork, round ${round}`);
    assertSame(sim, imported, `imported, round ${round}`);
    assertSame(sim, into, `forkInto, round ${round}`);
  }
  const m = sim.metrics();
  assert.ok(m.finishedVehicles > 0 && sim.removedCount > 0 && sim.placedCount > 10, 'the run exercised placing, removing and finishing');
  // restore replays the same future
  const replay = new Simulation(scenario, { seed: 4 });
  replay.restore(snap);
  for (let round = 0; round < 4; round++) {
    replay.step(50);
    if (round === 1) assimilate(replay, scenario, [10, 50]);
  }
  assertSame(sim, replay, 'restored');
});

test('placing into a fork does not reach the original (paths and counters are the fork\'s own)', () => {
  const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.3, blockLength: 200 });
  const sim = new Simulation(scenario, { seed: 5 });
  const twin = new Simulation(scenario, { seed: 5 });
  sim.step(40);
  twin.step(40);
  const fork = sim.fork();
  assimilate(fork, scenario, [30, 90]);
  fork.step(20);
  assertSame(sim, twin, 'original untouched');
  // the original then places its own vehicles along other routes than the fork cached
  for (const s of [sim, twin]) {
    assimilate(s, { ...scenario, flows: scenario.flows.slice(3) }, [40, 120]);
    s.step(100);
  }
  assertSame(sim, twin, 'original placing after the fork');
  assert.notEqual(fork.placedCount, 0);
});
