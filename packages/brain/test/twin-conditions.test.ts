/**
 * Datasets that feed the twin (twin/conditions.ts): roadworks close lanes
 * (routes avoid them, an entry lane's demand moves to its road's open lanes),
 * events add demand at the entries nearest their venue, weather scales the
 * driving parameters within bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_VEHICLE, generateGrid, type Scenario } from '@citybrain/engine';
import { BrainTwin, checkFeedColumns, compileFeed, conditionsAt, weatherFactors, WEATHER_BOUNDS, type CompiledFeed, type LaneEvent } from '@citybrain/brain';

const scenario: Scenario = generateGrid({ rows: 2, cols: 2, blockLength: 200 });

function report(twin: BrainTwin, lane: number, ts: number, count: number, interval = 5): LaneEvent {
  const net = twin.net;
  const inter = net.interIds[net.roadEndInter[net.laneRoad[lane]]];
  return { kind: 'lane', id: `r${lane}_${ts}`, device: 'd', ts, intersection: inter, lane: net.drivableId(lane), count, occupancy: 0.2, speed: 8, interval };
}

const entries = (twin: BrainTwin) => [...twin.entryLane].flatMap((e, l) => (e ? [l] : []));

const buf = new Int32Array(512);
/** The ids of the vehicles on each lane now, added to `seen` (lane → ids). */
function look(twin: BrainTwin, seen: Map<number, Set<string>>): void {
  for (let l = 0; l < twin.net.nLanes; l++) {
    const n = twin.sim.laneVehicles(l, buf);
    for (let k = 0; k < n; k++) (seen.get(l) ?? seen.set(l, new Set()).get(l)!).add(twin.sim.vehicleId(buf[k]));
  }
}

/** Runs a twin `seconds` with every entry lane measuring 0.3 veh/s (from second `t0`); the vehicles that drove on each lane. */
function run(twin: BrainTwin, seconds: number, t0 = 0): Map<number, Set<string>> {
  const seen = new Map<number, Set<string>>();
  for (let t = t0 + 1; t <= t0 + seconds; t++) {
    if (t % 5 === 0) twin.observe(entries(twin).map((l) => report(twin, l, t * 1000, 1.5)));
    twin.step();
    look(twin, seen);
  }
  return seen;
}

test('a roadworks row closes a lane in the twin: drawn routes stop entering it, the road\'s other lanes carry the traffic', () => {
  const probe = new BrainTwin(scenario, { seed: 7 });
  const net = probe.net;
  // an inner road (fed by links), lanes busiest first in an open run: close the busiest one the road has a sibling of
  const without = new BrainTwin(scenario, { seed: 7 });
  const seenOpen = run(without, 400);
  const lane = [...seenOpen].filter(([l]) => !probe.entryLane[l]).sort((a, b) => b[1].size - a[1].size)[0][0];
  const laneId = net.drivableId(lane);
  const feed = compileFeed('roadworks', [{ lane: laneId, start: 0, end: 10_000_000 }], net, probe.entryLane);
  assert.deepEqual(feed.problems, []);
  const conditions = conditionsAt(new Map([['roadworks_2024', feed]]), 1000);
  assert.deepEqual(conditions.closedLanes, [lane]);
  assert.deepEqual(conditions.active, [{ feed: 'roadworks_2024', kind: 'roadworks', row: 0 }]);

  const withWorks = new BrainTwin(scenario, { seed: 7 });
  withWorks.setConditions(conditions);
  assert.equal(withWorks.isClosed(lane), true);
  const enteredOpen = seenOpen.get(lane)!.size;
  const seenClosed = run(withWorks, 400);
  const enteredClosed = seenClosed.get(lane)?.size ?? 0;
  // the road's other lanes took them
  const road = net.laneRoad[lane];
  const onRoad = (seen: Map<number, Set<string>>) => [...seen].filter(([l]) => net.laneRoad[l] === road && l !== lane).reduce((n, [, ids]) => n + ids.size, 0);
  assert.ok(onRoad(seenClosed) > onRoad(seenOpen), `the other lanes of ${net.roadIds[road]}: ${onRoad(seenClosed)} vehicles with the works, ${onRoad(seenOpen)} without`);
  assert.ok(enteredOpen >= 20, `open, ${laneId} took ${enteredOpen} vehicles in 400 s`);
  assert.ok(enteredClosed <= enteredOpen * 0.1, `closed, ${laneId} took ${enteredClosed} vehicles (open: ${enteredOpen})`);
  // the traffic went on: as many vehicles came in, and the road's other lanes took more
  assert.ok(Math.abs(withWorks.stats.injected - without.stats.injected) <= 0.05 * without.stats.injected, `${withWorks.stats.injected} vs ${without.stats.injected} drawn`);
  // the weights the simulation draws with: every link onto the lane weighs 0
  const w = withWorks.sim.turnWeights();
  for (let o = net.laneInStart[lane]; o < net.laneInStart[lane + 1]; o++) assert.equal(w[net.laneInList[o] - net.nLanes], 0);

  // the window ends: the lane opens again
  withWorks.setConditions(conditionsAt(new Map([['roadworks_2024', feed]]), 10_000_000));
  assert.equal(withWorks.isClosed(lane), false);
  const reopened = run(withWorks, 400, 400).get(lane)?.size ?? 0;
  assert.ok(reopened >= enteredOpen * 0.5, `reopened, the lane takes vehicles again (${reopened})`);
});

test('a closed entry lane draws no arrivals: its measured demand moves to its road\'s open lanes', () => {
  const twin = new BrainTwin(scenario, { seed: 1 });
  const net = twin.net;
  const lane = entries(twin).find((l) => net.roadLaneCount[net.laneRoad[l]] === 3)!;
  const road = net.laneRoad[lane];
  const siblings = [0, 1, 2].map((k) => net.roadFirstLane[road] + k).filter((l) => l !== lane);
  twin.observe(entries(twin).map((l) => report(twin, l, 5000, 1.5)));
  const rate = twin.sim.entryRate(lane);
  assert.ok(rate > 0);
  twin.setConditions(conditionsAt(new Map([['w', compileFeed('roadworks', [{ road: net.roadIds[road], lanes_closed: 1, start: 0, end: 60_000 }], net, twin.entryLane)]]), 1000));
  // lanes_closed counts from the kerbside lane (the highest index)
  const closed = net.roadFirstLane[road] + 2;
  assert.equal(twin.sim.entryRate(closed), 0);
  const total = [0, 1, 2].reduce((s, k) => s + twin.sim.entryRate(net.roadFirstLane[road] + k), 0);
  assert.ok(Math.abs(total - 3 * rate) < 1e-9, `the road still draws ${3 * rate} veh/s, got ${total}`);
  assert.ok(siblings.length === 2);
  twin.setConditions(undefined);
  assert.ok(Math.abs(twin.sim.entryRate(closed) - rate) < 1e-9, 'lifted: the measured rate again');
});

test('a planned event adds its demand on the entry lanes nearest its venue, in its window only', () => {
  const twin = new BrainTwin(scenario, { seed: 2 });
  const net = twin.net;
  const venue = net.interIds.find((_, i) => !net.interVirtual[i])!;
  const feed = compileFeed('events', [{ venue, start: 10_000, end: 20_000, extra_vehicles_per_hour: 720 }], net, twin.entryLane);
  assert.deepEqual(feed.problems, []);
  const lanes = feed.events[0].lanes;
  assert.ok(lanes.length >= 2 && lanes.every((l) => twin.entryLane[l]));
  twin.setConditions(conditionsAt(new Map([['ev', feed]]), 15_000));
  const sum = lanes.reduce((s, l) => s + twin.sim.entryRate(l), 0);
  assert.ok(Math.abs(sum - 0.2) < 1e-9, `720 veh/h is 0.2 veh/s over the venue's entries, got ${sum}`);
  twin.setConditions(conditionsAt(new Map([['ev', feed]]), 25_000));
  assert.equal(lanes.reduce((s, l) => s + twin.sim.entryRate(l), 0), 0);
});

test('weather scales drawn vehicles\' speed and headway within the documented bounds', () => {
  assert.deepEqual(weatherFactors({ condition: 'clear' }), { speedFactor: 1, headwayFactor: 1 });
  const fog = weatherFactors({ condition: 'fog', visibility_m: 60 });
  assert.ok(Math.abs(fog.speedFactor - 0.6) < 1e-9 && Math.abs(fog.headwayFactor - 1.8) < 1e-9, JSON.stringify(fog));
  const worst = weatherFactors({ condition: 'ice', visibility_m: 0, precipitation_mm_h: 500 });
  assert.deepEqual(worst, { speedFactor: WEATHER_BOUNDS.speedFactor[0], headwayFactor: WEATHER_BOUNDS.headwayFactor[1] });

  const twin = new BrainTwin(scenario, { seed: 3 });
  const feed = compileFeed('weather', [{ time: 0, condition: 'clear' }, { time: 5000, condition: 'heavy_rain', precipitation_mm_h: 10 }], twin.net, twin.entryLane);
  twin.setConditions(conditionsAt(new Map([['wx', feed]]), 1000));
  assert.equal(twin.sim.drawnVehicleParams().maxSpeed, DEFAULT_VEHICLE.maxSpeed);
  twin.setConditions(conditionsAt(new Map([['wx', feed]]), 6000));
  const p = twin.sim.drawnVehicleParams();
  assert.ok(Math.abs(p.maxSpeed - DEFAULT_VEHICLE.maxSpeed * 0.82 * 0.9) < 1e-9, `maxSpeed ${p.maxSpeed}`);
  assert.ok(Math.abs(p.headwayTime - DEFAULT_VEHICLE.headwayTime * 1.35) < 1e-9, `headwayTime ${p.headwayTime}`);
  // the twin's new arrivals drive with them
  for (let t = 1; t <= 60; t++) {
    if (t % 5 === 0) twin.observe(entries(twin).map((l) => report(twin, l, 6000 + t * 1000, 1.5)));
    twin.step();
  }
  const h = twin.sim.runningVehicles();
  assert.ok(h.length > 0);
  for (const v of h) assert.ok(Math.abs(twin.sim.vehicleMaxSpeed(v) - p.maxSpeed) < 1e-9);
});

test('a feed\'s rows the network cannot use are named by row; a dataset\'s columns are checked against the kind', () => {
  const twin = new BrainTwin(scenario);
  const f: CompiledFeed = compileFeed('roadworks', [
    { lane: 'nowhere_0', start: 0, end: 1000 }, { road: twin.net.roadIds[0], lanes_closed: 0, start: 0, end: 1000 }, { lane: twin.net.drivableId(0), start: 1000, end: 1000 },
  ], twin.net, twin.entryLane);
  assert.deepEqual(f.problems, [
    'row 0: lane "nowhere_0" is not a lane of this network', 'row 1: lanes_closed must be a whole number >= 1, got 0', 'row 2: end must be after start',
  ]);
  assert.equal(compileFeed('weather', [{ time: 0, condition: 'hail' }], twin.net, twin.entryLane).problems[0], 'row 0: condition must be one of clear, cloudy, rain, heavy_rain, snow, fog, ice, got "hail"');
  assert.throws(() => checkFeedColumns('roadworks', [{ name: 'start', type: 'timestamp' }, { name: 'end', type: 'timestamp' }]), /needs a column "lane" or a column "road"/);
  assert.throws(() => checkFeedColumns('weather', [{ name: 'time', type: 'string' }, { name: 'condition', type: 'string' }]), /column "time" must be timestamp, it is string/);
  assert.throws(() => twin.setConditions({ closedLanes: [1e9], extraEntry: new Map(), speedFactor: 1, headwayFactor: 1, active: [] }), /closed lane 1000000000 is not a lane index/);
});
