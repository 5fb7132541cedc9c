/**
 * BrainTwin keeps the demand in its simulation's state (entry rates and
 * turning weights), so forks of the twin, the predictive controllers'
 * rollouts, keep receiving arrivals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, type Scenario } from '@citybrain/engine';
import { BrainTwin, MAX_LANE_OBJECTS, ObservedKpis, type Event, type LaneEvent, type PlateEvent } from '@citybrain/brain';

const scenario: Scenario = generateGrid({ rows: 2, cols: 2, blockLength: 200 });

/** A detector's report on a lane: `count` vehicles passed in `interval` s; a video detector's also `vehicles` on it at `ts`. */
function report(twin: BrainTwin, lane: number, ts: number, count: number, vehicles?: number, interval = 5): LaneEvent {
  const net = twin.net;
  const inter = net.interIds[net.roadEndInter[net.laneRoad[lane]]];
  return { kind: 'lane', id: `r${lane}_${ts}`, device: 'd', ts, intersection: inter, lane: net.drivableId(lane), count, occupancy: 0.2, speed: 8, interval, ...(vehicles === undefined ? {} : { vehicles, queue: 0 }) };
}

function plate(twin: BrainTwin, lane: number, ts: number, id: string): PlateEvent {
  const net = twin.net;
  return { kind: 'plate', id: `p${id}_${ts}`, device: 'cam', ts, plate: id, camera: 'cam', intersection: net.interIds[net.roadEndInter[net.laneRoad[lane]]], lane: net.drivableId(lane), confidence: 1 };
}

function entryLanes(twin: BrainTwin): number[] {
  return [...twin.entryLane].flatMap((e, l) => (e ? [l] : []));
}

test('the twin\'s arrivals are its simulation\'s entry rates: a fork of the twin keeps receiving them', () => {
  const twin = new BrainTwin(scenario, { seed: 3 });
  const entries = entryLanes(twin);
  assert.ok(entries.length >= 8);
  // a loop on every entry lane counts 1 vehicle per 5 s: 0.2 veh/s
  for (let t = 1; t <= 12; t++) {
    twin.observe(entries.map((l) => report(twin, l, t * 5000, 1)));
    for (let k = 0; k < 5; k++) twin.step();
  }
  for (const l of entries) assert.ok(Math.abs(twin.sim.entryRate(l) - 0.2) < 1e-9, `lane ${l}: ${twin.sim.entryRate(l)}`);
  // arrivals drawn (entered counts them less those the departure correction took off the front: these reports count departures the twin's new arrivals cannot have made yet)
  const arrived = twin.stats.injected;
  assert.ok(Math.abs(arrived - entries.length * 60 * 0.2) <= 2 * entries.length, `${arrived} vehicles came in 60 s`);
  assert.equal(twin.stats.injected, twin.sim.drawnCount);
  // a rollout forks the twin and steps it on its own: the arrivals go on
  const fork = twin.sim.fork();
  const before = fork.metrics().enteredVehicles;
  fork.step(60);
  const more = fork.metrics().enteredVehicles - before;
  assert.ok(Math.abs(more - entries.length * 60 * 0.2) <= 2 * entries.length, `the fork received ${more} vehicles in 60 s`);
});

test('plate-read turning counts (ObservedKpis pairs the reads) become the simulation\'s turning weights at the next step, once', () => {
  const twin = new BrainTwin(scenario, { seed: 1 });
  const net = twin.net;
  // a lane with a link onto a road that goes on: a vehicle read there, then at the next stop line
  const k = [...Array(net.nLinks).keys()].find((j) => net.laneOutStart[net.linkEndLane[j] + 1] > net.laneOutStart[net.linkEndLane[j]])!;
  const from = net.linkStartLane[k], to = net.linkEndLane[k];
  // the runtime's wiring: ObservedKpis pairs the reads, the twin counts the movement
  const kpis = new ObservedKpis(net, { onMovement: (a, b) => twin.movement(a, b) });
  kpis.apply([plate(twin, from, 1000, 'AB123'), plate(twin, to, 30_000, 'AB123')]);
  kpis.sample(40_000);
  assert.equal(twin.stats.turnsObserved, 1);
  assert.equal(twin.sim.turnWeights()[k], 1, 'not yet: weights are handed over at the step');
  // exported in between, the count is not lost
  const copy = new BrainTwin(scenario);
  copy.importState(twin.exportState());
  copy.step();
  assert.equal(copy.sim.turnWeights()[k], 2, 'the imported twin hands the count over too');
  twin.step();
  assert.equal(twin.sim.turnWeights()[k], 2);
  const others = twin.sim.turnWeights().filter((_, j) => j !== k);
  assert.ok(others.every((w) => w === 1), 'the other links keep the prior');
});

test('a plate pair counts the lane link onto the lane the vehicle was read on next, and drawn routes then take that lane', () => {
  const twin = new BrainTwin(scenario, { seed: 2 });
  const net = twin.net;
  // a lane whose links reach several lanes of one road that goes on; the pair onto the last of them
  const from = [...Array(net.nLanes).keys()].find((l) => {
    const o0 = net.laneOutStart[l], o1 = net.laneOutStart[l + 1];
    return o1 - o0 > 1 && net.laneOutStart[net.linkEndLane[net.laneOutList[o1 - 1] - net.nLanes] + 1] > net.laneOutStart[net.linkEndLane[net.laneOutList[o1 - 1] - net.nLanes]];
  })!;
  const last = net.laneOutList[net.laneOutStart[from + 1] - 1] - net.nLanes;
  const to = net.linkEndLane[last];
  assert.notEqual(net.linkEndLane[net.laneOutList[net.laneOutStart[from]] - net.nLanes], to, 'the first link ends on another lane of the road');
  const kpis = new ObservedKpis(net, { onMovement: (a, b) => twin.movement(a, b) });
  for (let i = 0; i < 50; i++) kpis.apply([plate(twin, from, 1000 + i * 100, `AB${100 + i}`), plate(twin, to, 30_000 + i * 100, `AB${100 + i}`)]);
  kpis.sample(40_000);
  twin.step();
  const w = twin.sim.turnWeights();
  assert.equal(w[last], 51, 'the link onto the lane read');
  for (let o = net.laneOutStart[from]; o < net.laneOutStart[from + 1] - 1; o++) assert.equal(w[net.laneOutList[o] - net.nLanes], 1, 'the other links onto the road keep the prior');
  // vehicles placed on `from` now mostly go on from `to`: their path's next lane
  let onTo = 0;
  for (let i = 0; i < 12; i++) {
    const h = twin.sim.placeVehicle({ lane: from, distance: 5 + i * 8, speed: 0 });
    if (twin.sim.vehicleRemainingPath(h)[2] === to) onTo++;
  }
  // (uniform, a third would)
  assert.ok(onTo >= 9, `${onTo} of 12 placed vehicles' paths go on to the lane the plates were read on`);
});

test('exported and imported, the twin goes on exactly as the original: rates, weights and counts came along', () => {
  const a = new BrainTwin(scenario, { seed: 5 });
  const entries = entryLanes(a);
  const feed = (twin: BrainTwin, t: number) => twin.observe(entries.map((l, i) => report(twin, l, t * 5000, (t + i) % 3, i % 2)));
  for (let t = 1; t <= 10; t++) {
    feed(a, t);
    for (let k = 0; k < 5; k++) a.step();
  }
  const b = new BrainTwin(scenario, { seed: 99 });
  b.importState(structuredClone(a.exportState()));
  assert.deepEqual(b.stats, a.stats);
  for (let t = 11; t <= 20; t++) {
    for (const twin of [a, b]) {
      feed(twin, t);
      for (let k = 0; k < 5; k++) twin.step();
    }
  }
  assert.deepEqual(b.sim.metrics(), a.sim.metrics());
  assert.deepEqual(b.stats, a.stats);
  assert.ok(a.stats.injected > 50);
  assert.throws(() => new BrainTwin(generateGrid({ rows: 1, cols: 2 })).importState(a.exportState()), /brain twin state: made for another network/);
});

test('a tracking detector\'s vehicles replace the twin\'s own on the stretch it sees, moved on by the report\'s age; beyond it the twin keeps its own', () => {
  const twin = new BrainTwin(scenario, { seed: 2 });
  const net = twin.net;
  // an approach lane longer than the detector's 100 m view
  const l = [...Array(net.nLanes).keys()].find((j) => net.length[j] > 150 && !twin.entryLane[j])!;
  const len = net.length[l];
  // the twin's own guesses: one far upstream (unseen), one at 60 m from the stop line
  twin.sim.placeVehicle({ lane: l, distance: 20, speed: 5 });
  twin.sim.placeVehicle({ lane: l, distance: len - 60, speed: 5 });
  const seen = [{ distance: 0.5, speed: 0 }, { distance: 40, speed: 10 }, { distance: 8.2, speed: 0 }];
  const e = { ...report(twin, l, 10_000, 0, 3), queue: 2, range: 100, objects: seen };
  // delivered 1 s after it was taken
  twin.observe([e], 11_000);
  const buf = new Int32Array(16);
  const n = twin.sim.laneVehicles(l, buf);
  const at = Array.from(buf.subarray(0, n), (v) => [Math.round((len - twin.sim.vehicleDistance(v)) * 10) / 10, twin.sim.vehicleSpeed(v)]);
  // front first: the two stopped where seen, the moving one 10 m on, and the unseen guess kept
  assert.deepEqual(at.slice(0, 3), [[0.5, 0], [8.2, 0], [30, 10]]);
  assert.equal(n, 4);
  assert.equal(Math.round(twin.sim.vehicleDistance(buf[3])), 20);
});

test('counts only: a twin that let fewer vehicles go than the detector counted takes them off the front, not the back', () => {
  const twin = new BrainTwin(scenario, { seed: 4 });
  const net = twin.net;
  const l = [...Array(net.nLanes).keys()].find((j) => net.length[j] > 150 && !twin.entryLane[j])!;
  const len = net.length[l];
  twin.sim.placeVehicle({ lane: l, distance: len - 1, speed: 0 });
  twin.sim.placeVehicle({ lane: l, distance: len - 9, speed: 0 });
  twin.sim.placeVehicle({ lane: l, distance: 30, speed: 8 });
  const buf = new Int32Array(16);
  const ids = () => Array.from(buf.subarray(0, twin.sim.laneVehicles(l, buf)), (v) => twin.sim.vehicleId(v));
  const [front, second, back] = ids();
  twin.observe([{ ...report(twin, l, 5_000, 0, 3), queue: 2 }]);
  // the street let one go in the next 5 s, the twin none (its light is red): the front one is gone, and the vehicles the detector sees are two
  twin.observe([{ ...report(twin, l, 10_000, 1, 2), queue: 1 }]);
  assert.deepEqual(ids(), [second, back], `front ${front} taken off`);
});

test('AVL: a report moves the twin\'s vehicle (projected over its age); a late, duplicate, unknown-vehicle or off-route one does not; the twin\'s guesses in the way go', () => {
  const twin = new BrainTwin(scenario, { seed: 3 });
  const net = twin.net;
  const route = ['road_0_1_0', 'road_1_1_0', 'road_2_1_0'];
  twin.sim.addVehicle({ id: 'amb', route, ignoreSpeedLimits: true });
  const h = twin.sim.vehicleHandle('amb');
  const road = net.roadIndex.get('road_1_1_0')!;
  // the straight-through lane of road_1_1_0 (the one leading on to road_2_1_0)
  const k = [...Array(net.roadLaneCount[road]).keys()].find((j) => {
    const l = net.roadFirstLane[road] + j;
    for (let o = net.laneOutStart[l]; o < net.laneOutStart[l + 1]; o++) if (net.laneRoad[net.linkEndLane[net.laneOutList[o] - net.nLanes]] === net.roadIndex.get('road_2_1_0')) return true;
    return false;
  })!;
  const lane = net.roadFirstLane[road] + k;
  // a guess of the twin's own where the report puts the ambulance
  twin.sim.placeVehicle({ lane, distance: 67, speed: 0 });
  const avl = (id: string, ts: number, distance: number, o: object = {}) => ({ kind: 'avl' as const, id, device: 'avl-amb', ts, vehicle: 'amb', road: 'road_1_1_0', lane: k, distance, speed: 10, ...o });
  // made 1.5 s before the twin's present: projected 15 m on
  twin.observe([avl('a1', 10_000, 50)], 11_500);
  assert.equal(twin.sim.vehicleDrivable(h), lane);
  assert.equal(twin.sim.vehicleDistance(h), 65);
  assert.equal(twin.sim.vehicleSpeed(h), 10);
  assert.equal(twin.stats.removed, 1, 'the guess in its way was taken off');
  assert.deepEqual(twin.avlTrack('amb'), { ts: 10_000, at: 0, lane, distance: 50, held: false });
  // older (late), the same again, another vehicle, a lane off its route: not followed
  twin.observe([avl('a0', 9_000, 10), avl('a1', 10_000, 50), avl('b1', 12_000, 80, { vehicle: 'bus-3' }), avl('a2', 12_000, 30, { road: 'road_1_1_1', lane: 0 })]);
  assert.equal(twin.sim.vehicleDistance(h), 65);
  assert.deepEqual(twin.stats, { ...twin.stats, avlApplied: 1, avlIgnored: 4 });
  // projected no further than the lane's end
  twin.observe([avl('a3', 13_000, net.length[lane] - 5)], 23_000);
  assert.equal(twin.sim.vehicleDistance(h), net.length[lane]);
  // exported and imported with the twin
  const copy = new BrainTwin(scenario, { seed: 3 });
  copy.importState(twin.exportState());
  assert.deepEqual(copy.avlTrack('amb'), twin.avlTrack('amb'));
});

test('a report delivered one step late is applied to the state of its time and the step run again: the twin ends where it would have with the report on time', () => {
  const mk = () => new BrainTwin(scenario, { seed: 8 });
  const net = mk().net;
  const l = [...Array(net.nLanes).keys()].find((j) => net.length[j] > 150 && !mk().entryLane[j])!;
  const len = net.length[l];
  const seen = [{ distance: 2, speed: 0 }, { distance: 60, speed: 9 }, { distance: 100, speed: 11 }];
  const at = 1_000;
  const e = { ...report(mk(), l, at, 0, 3), queue: 1, objects: seen };
  const onTime = mk(), late = mk();
  // on time: taken after the first step, applied at once, then the next step
  onTime.step();
  onTime.observe([e], at);
  onTime.step();
  // late: the same report arrives after the next step
  late.step();
  late.step();
  late.observe([e], at + 1000);
  assert.deepEqual(late.sim.exportState(), onTime.sim.exportState());
  const buf = new Int32Array(8);
  const n = late.sim.laneVehicles(l, buf);
  assert.equal(n, 3);
  assert.ok(len - late.sim.vehicleDistance(buf[2]) < 100, 'the moving ones drove on from where they were seen');
  // once corrected after its step, the twin has no earlier state to replay: a later report is moved on by its speed instead
  const again = { ...report(mk(), l, at + 1000, 0, 3), queue: 1, objects: seen };
  late.observe([again], at + 2000);
  assert.equal(late.sim.laneVehicles(l, buf), 3);
});

test('a full object list (MAX_LANE_OBJECTS) ends where its last vehicle is: beyond it, inside the view, the twin keeps its own', () => {
  const twin = new BrainTwin(generateGrid({ rows: 1, cols: 2, blockLength: 4200 }), { seed: 1 });
  const net = twin.net;
  const l = [...Array(net.nLanes).keys()].find((j) => net.length[j] > 4000 && !twin.entryLane[j])!;
  const len = net.length[l];
  // the twin's own guess far up the lane, past where a jam of MAX_LANE_OBJECTS stopped vehicles reaches
  twin.sim.placeVehicle({ lane: l, distance: 100, speed: 5 });
  const jam = Array.from({ length: MAX_LANE_OBJECTS }, (_, k) => ({ distance: 0.5 + k * 7.5, speed: 0 }));
  twin.observe([{ ...report(twin, l, 5_000, 0, MAX_LANE_OBJECTS), queue: MAX_LANE_OBJECTS, objects: jam }]);
  assert.equal(twin.sim.laneVehicleCount(l), MAX_LANE_OBJECTS + 1);
  const buf = new Int32Array(MAX_LANE_OBJECTS + 8);
  twin.sim.laneVehicles(l, buf);
  assert.equal(Math.round(len - twin.sim.vehicleDistance(buf[MAX_LANE_OBJECTS - 1])), Math.round(jam.at(-1)!.distance));
  assert.equal(twin.sim.vehicleDistance(buf[MAX_LANE_OBJECTS]), 100, 'the guess beyond the list stays');
});

test('drawn and placed vehicles drive at the free speed the detectors report (a high quantile of moving vehicles\' speeds), learnt in normal conditions only', () => {
  const twin = new BrainTwin(scenario, { seed: 5 });
  const net = twin.net;
  const l = [...Array(net.nLanes).keys()].find((j) => !twin.entryLane[j])!;
  const top = () => twin.sim.drawnVehicleParams().maxSpeed;
  const defaultTop = top();
  // reports of vehicles driving 15.5-16.5 m/s, and some queued or starting (not free: ignored or below the quantile)
  let ts = 1_000;
  const send = (speeds: number[]) => {
    ts += 5_000;
    twin.observe([{ ...report(twin, l, ts, 0, speeds.length), queue: 0, range: 150, objects: speeds.map((speed, k) => ({ distance: 5 + 10 * k, speed })) }]);
    twin.step();
  };
  for (let k = 0; k < 10; k++) send([0, 0, 3, 15.5, 16, 16.5, 16, 15.5]);
  assert.equal(top(), defaultTop, 'too few reported yet: CityFlow\'s default');
  for (let k = 0; k < 40; k++) send([0, 0, 3, 15.5, 16, 16.5, 16, 15.5]);
  assert.equal(top(), 16.75, 'the 95th percentile, to the top of its 0.25 m/s bin');
  // a speed factor (rain) scales it, and what the detectors see meanwhile is not learnt
  twin.setConditions({ closedLanes: [], extraEntry: new Map(), speedFactor: 0.5, headwayFactor: 1, active: [] });
  assert.equal(top(), 8.375);
  for (let k = 0; k < 400; k++) send([8, 8, 8, 8]);
  twin.setConditions(undefined);
  assert.equal(top(), 16.75);
  // kept with the twin's state
  const copy = new BrainTwin(scenario, { seed: 5 });
  copy.importState(twin.exportState());
  copy.step();
  assert.equal(copy.sim.drawnVehicleParams().maxSpeed, 16.75);
});

test('drawn and placed vehicles keep the time gap tracked vehicles keep behind the one ahead (the mode of the gaps), learnt in normal conditions only', () => {
  const twin = new BrainTwin(scenario, { seed: 6 });
  const net = twin.net;
  const l = [...Array(net.nLanes).keys()].find((j) => !twin.entryLane[j])!;
  const headway = () => twin.sim.drawnVehicleParams().headwayTime;
  assert.equal(headway(), 2, 'CityFlow\'s default until enough is seen');
  // a platoon at 15 m/s keeping 1.5 s (22.5 m from one's rear to the next's front, 5 m cars), then two stragglers
  // further apart and a queue (not moving: ignored); reported places noisy by up to 1.5 m
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 3;
  let ts = 1_000;
  const send = () => {
    ts += 5_000;
    const platoon = [0, 1, 2, 3].map((k) => ({ distance: 10 + 27.5 * k + noise(), speed: 15 }));
    const objects = [{ distance: 0.5, speed: 0 }, { distance: 8, speed: 0 }, ...platoon.map((o) => ({ ...o, distance: o.distance + 15 })), { distance: 150, speed: 14 }, { distance: 200, speed: 15 }];
    twin.observe([{ ...report(twin, l, ts, 0, objects.length), queue: 2, range: 250, objects }]);
    twin.step();
  };
  // five gaps a report, 300 needed
  for (let k = 0; k < 50; k++) send();
  assert.equal(headway(), 2, 'too few gaps yet');
  for (let k = 0; k < 60; k++) send();
  assert.ok(Math.abs(headway() - 1.5) < 0.1, `learnt ${headway()} s`);
  const learnt = headway();
  // a headway factor (fog) scales it, and what the detectors see meanwhile is not learnt
  twin.setConditions({ closedLanes: [], extraEntry: new Map(), speedFactor: 1, headwayFactor: 2, active: [] });
  assert.equal(headway(), 2 * learnt);
  for (let k = 0; k < 400; k++) send();
  twin.setConditions(undefined);
  assert.equal(headway(), learnt);
  // kept with the twin's state
  const copy = new BrainTwin(scenario, { seed: 6 });
  copy.importState(twin.exportState());
  copy.step();
  assert.equal(copy.sim.drawnVehicleParams().headwayTime, learnt);
});

test('a checkpoint read of a vehicle entering is placed at its entry lane\'s start, once; the lane\'s rate then draws only the vehicles not read', () => {
  const twin = new BrainTwin(scenario, { seed: 8 });
  const l = entryLanes(twin)[0];
  const entry = (id: string, ts: number): PlateEvent => ({ ...plate(twin, l, ts, id), position: 'entry' });
  // delivered twice (a retry), taken a step before the twin's present
  twin.step();
  const read = entry('AB100', 0);
  twin.observe([read, read], 1000);
  assert.equal(twin.sim.laneVehicleCount(l), 1);
  assert.equal(twin.stats.entered, 1);
  const buf = new Int32Array(4);
  twin.sim.laneVehicles(l, buf);
  assert.ok(twin.sim.vehicleDistance(buf[0]) < 2, `from a standstill at the lane's start: ${twin.sim.vehicleDistance(buf[0])} m`);
  // the detector counts 1 vehicle per 5 s (0.2 veh/s); the cameras read one every 10 s: 0.1 veh/s left to draw
  for (let t = 1; t <= 30; t++) {
    const events: Event[] = [report(twin, l, t * 5000, 1)];
    if (t % 2 === 0) events.push(entry(`CD${100 + t}`, t * 5000 - 2500));
    twin.observe(events, t * 5000);
    for (let k = 0; k < 5; k++) twin.step();
  }
  assert.ok(Math.abs(twin.sim.entryRate(l) - 0.1) < 0.01, `drawn ${twin.sim.entryRate(l)} veh/s`);
  // the reads go with the twin's state: a restored twin draws the same
  const copy = new BrainTwin(scenario, { seed: 8 });
  copy.importState(structuredClone(twin.exportState()));
  for (const t of [twin, copy]) t.observe([report(t, l, 155_000, 1)], 155_000);
  assert.equal(copy.sim.entryRate(l), twin.sim.entryRate(l));
  // a read too old to place (the lane's camera sees that vehicle by now) is not placed
  const before = twin.stats.entered;
  twin.observe([entry('EF1', 160_000 - 30_000)], 160_000);
  assert.equal(twin.stats.entered, before);
});
