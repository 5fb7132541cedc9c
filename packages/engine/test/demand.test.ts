/**
 * Demand given as entry rates and turning weights (setEntryRate,
 * setTurnWeights), as SUMO's jtrrouter builds routes from turning ratios: how
 * many vehicles come, where they go, and that forks and exported states carry
 * it. Expected values come from the rates and weights set, not from the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type IntersectionJson, type RoadJson, type Scenario } from '@citybrain/engine';
import { assertSame, straightRoad, vehicleRows } from './twin-helpers.js';

/**
 * A fork in the road: W --in--> C, then C --a--> A or C --b--> B. The one lane
 * of "in" has two lane links (to a and to b), always green.
 */
function forkRoad(): Scenario {
  const node = (id: string, x: number, y: number, roads: string[], virtual = true): IntersectionJson => ({
    id, point: { x, y }, width: virtual ? 0 : 10, roads, roadLinks: [], trafficLight: { lightphases: [] }, virtual,
  });
  const road = (id: string, from: string, to: string, pts: [number, number][]): RoadJson => ({
    id, points: pts.map(([x, y]) => ({ x, y })), lanes: [{ width: 4, maxSpeed: 16.67 }], startIntersection: from, endIntersection: to,
  });
  const c = node('C', 0, 0, ['in', 'a', 'b'], false);
  c.roadLinks = (['a', 'b'] as const).map((end, k) => ({
    type: k === 0 ? 'turn_left' : 'turn_right', startRoad: 'in', endRoad: end, direction: 0,
    laneLinks: [{ startLaneIndex: 0, endLaneIndex: 0, points: [] }],
  }));
  c.trafficLight = { roadLinkIndices: [0, 1], lightphases: [{ time: 30, availableRoadLinks: [0, 1] }] };
  return {
    roadnet: {
      intersections: [node('W', -300, 0, ['in']), c, node('A', 0, 300, ['a']), node('B', 0, -300, ['b'])],
      roads: [road('in', 'W', 'C', [[-300, 0], [0, 0]]), road('a', 'C', 'A', [[0, 0], [0, 300]]), road('b', 'C', 'B', [[0, 0], [0, -300]])],
    },
    flows: [],
  };
}

function roadOf(sim: Simulation, id: string): number {
  const r = sim.net.roadIndex.get(id);
  if (r === undefined) throw new Error(`no road ${id}`);
  return r;
}

/** The road a vehicle's path ends on. */
function lastRoad(sim: Simulation, handle: number): number {
  const p = sim.vehicleRemainingPath(handle);
  return sim.net.laneRoad[p[p.length - 1]];
}

/** Lanes of roads no lane link leads onto: where vehicles come in from outside. */
function entryLanes(sim: Simulation): number[] {
  const net = sim.net;
  const fed = new Set<number>();
  for (let k = 0; k < net.nLinks; k++) fed.add(net.laneRoad[net.linkEndLane[k]]);
  const out: number[] = [];
  for (let l = 0; l < net.nLanes; l++) if (!fed.has(net.laneRoad[l])) out.push(l);
  return out;
}

/** A 3x3 grid without flows: demand only from the rates set. */
function grid(rows = 3, cols = 3): Scenario {
  return { ...generateGrid({ rows, cols, blockLength: 200 }), flows: [] };
}

test('an entry rate brings rate x time vehicles, at any step length, queued at the boundary like the flows\' vehicles', () => {
  for (const interval of [1, 0.5, 2]) {
    const sim = new Simulation(straightRoad({ lanes: 2 }), { interval });
    sim.setEntryRate(0, 0.2);
    const entered = new Set<string>();
    for (let t = 0; t < 1000; t += interval) {
      sim.step();
      sim.forEachEntry((v, l) => {
        assert.equal(l, 0, 'drawn vehicles come in on their lane');
        entered.add(sim.vehicleId(v));
      });
    }
    assert.ok(Math.abs(sim.drawnCount - 200) <= 1, `interval ${interval}: ${sim.drawnCount} drawn in 1000 s at 0.2/s`);
    const m = sim.metrics();
    assert.equal(m.enteredVehicles, sim.drawnCount, 'counted in the metrics like any vehicle');
    assert.equal(entered.size + m.waitingToEnter, sim.drawnCount, 'every one came in through the boundary queue (or still waits there)');
    assert.ok(entered.has('drawn_0') && entered.has(`drawn_${entered.size - 1}`), 'ids drawn_{n}, counted from 0');
    assert.equal(sim.laneEntryQueue(1), 0, 'the other lane has no rate');
    assert.ok(m.finishedVehicles > 150, 'they drive the road and leave at its end');
  }
});

test('a rate faster than the lane admits queues at the boundary: laneEntryQueue and waitingCount count them', () => {
  const sim = new Simulation(straightRoad({ lanes: 1 }));
  sim.setEntryRate(0, 2); // one admission per step at most
  sim.step(100);
  assert.equal(sim.drawnCount, 200);
  assert.ok(sim.laneEntryQueue(0) >= 100, `${sim.laneEntryQueue(0)} waiting`);
  assert.equal(sim.waitingCount, sim.laneEntryQueue(0));
  assert.equal(sim.metrics().waitingToEnter, sim.waitingCount);
  assert.equal(sim.runningCount + sim.waitingCount + sim.metrics().finishedVehicles, 200);
});

test('zero rates draw nothing, and setting rate 0 and the default weights changes nothing: the state stays bit for bit', () => {
  const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.3, blockLength: 200 });
  const plain = new Simulation(scenario, { seed: 3 });
  const set = new Simulation(scenario, { seed: 3 });
  set.setEntryRate(0, 0);
  set.setTurnWeights(new Float64Array(set.net.nLinks).fill(1));
  const l = entryLanes(set)[0];
  set.setEntryRate(l, 0.5);
  set.setEntryRate(l, 0);
  for (let k = 0; k < 5; k++) {
    plain.step(60);
    set.step(60);
    assertSame(plain, set, `after ${(k + 1) * 60} s`);
  }
  assert.equal(set.drawnCount, 0);
  // a rate switched off stops drawing
  set.setEntryRate(l, 1);
  set.step(10);
  assert.equal(set.drawnCount, 10);
  set.setEntryRate(l, 0);
  set.step(100);
  assert.equal(set.drawnCount, 10);
  assert.equal(set.entryRate(l), 0);
});

test('turning weights 3:1 send some 75% / 25% of the drawn routes each way; default weights split evenly; weight 0 none', () => {
  const shares = (weights: number[] | null): number[] => {
    const sim = new Simulation(forkRoad(), { seed: 11 });
    if (weights) sim.setTurnWeights(weights);
    sim.setEntryRate(0, 0.3);
    const ends = [0, 0];
    const a = roadOf(sim, 'a'), b = roadOf(sim, 'b');
    for (let k = 0; k < 5000; k++) {
      sim.step();
      sim.forEachEntry((v) => {
        const r = lastRoad(sim, v);
        assert.ok(r === a || r === b, 'every route goes on to a or b');
        ends[r === a ? 0 : 1]++;
      });
    }
    assert.ok(ends[0] + ends[1] > 1400, `${ends[0] + ends[1]} routes`);
    return ends.map((n) => n / (ends[0] + ends[1]));
  };
  // link 0 leads to a, link 1 to b (roadLinks in that order)
  const sim = new Simulation(forkRoad());
  assert.equal(sim.net.drivableId(sim.net.nLanes + 0), 'in_0->a_0');
  assert.deepEqual([...sim.turnWeights()], [1, 1], 'default: all 1');
  const [a31] = shares([3, 1]);
  assert.ok(Math.abs(a31 - 0.75) < 0.04, `3:1 gives ${a31} to a`);
  const [a13] = shares([1, 3]);
  assert.ok(Math.abs(a13 - 0.25) < 0.04, `1:3 gives ${a13} to a`);
  const [even] = shares(null);
  assert.ok(Math.abs(even - 0.5) < 0.04, `uniform gives ${even} to a`);
  assert.deepEqual(shares([0, 2]), [0, 1], 'weight 0: never');
});

test('a lane whose out links all weigh 0 ends the route there', () => {
  const sim = new Simulation(forkRoad());
  sim.setTurnWeights([0, 0]);
  sim.setEntryRate(0, 0.2);
  let n = 0;
  for (let k = 0; k < 200; k++) {
    sim.step();
    sim.forEachEntry((v) => {
      assert.deepEqual([...sim.vehicleRemainingPath(v)], [0], 'the lane "in" only');
      n++;
    });
  }
  assert.ok(n >= 39, `${n} came in`);
});

test('drawn routes on a grid are chains of lane links that end at the network\'s edge or after maxRouteRoads roads', () => {
  for (const maxRouteRoads of [40, 3]) {
    const sim = new Simulation(grid(), { seed: 5, maxRouteRoads });
    const net = sim.net;
    const entries = entryLanes(sim);
    assert.ok(entries.length >= 12);
    for (const l of entries) sim.setEntryRate(l, 0.05);
    let checked = 0, atEdge = 0;
    for (let k = 0; k < 600; k++) {
      sim.step();
      sim.forEachEntry((v, lane) => {
        const p = sim.vehicleRemainingPath(v);
        assert.equal(p[0], lane);
        for (let j = 1; j < p.length; j += 2) {
          const link = p[j] - net.nLanes;
          assert.ok(link >= 0 && net.linkStartLane[link] === p[j - 1] && net.linkEndLane[link] === p[j + 1], 'lane, link from it, its end lane, ...');
        }
        const roads = (p.length + 1) / 2;
        const last = p[p.length - 1];
        const edge = net.laneOutStart[last + 1] === net.laneOutStart[last];
        assert.ok(roads <= maxRouteRoads, `${roads} roads, at most ${maxRouteRoads}`);
        assert.ok(edge || roads === maxRouteRoads, `ends at the edge (lane ${net.drivableId(last)}) or at maxRouteRoads`);
        if (edge) atEdge++;
        checked++;
      });
    }
    assert.ok(checked > 200, `${checked} routes checked`);
    if (maxRouteRoads === 40) assert.equal(atEdge, checked, 'on a 3x3 grid every route reaches the edge within 40 roads');
    else assert.ok(atEdge < checked, 'some routes are cut at 3 roads');
  }
});

test('a fork, an imported export, forkInto and restore carry the demand and keep drawing exactly like the original', () => {
  const scenario = grid();
  const sim = new Simulation(scenario, { seed: 2 });
  const entries = entryLanes(sim);
  entries.forEach((l, i) => sim.setEntryRate(l, 0.03 + 0.01 * (i % 5)));
  sim.setTurnWeights(Float64Array.from({ length: sim.net.nLinks }, (_, k) => 1 + (k % 4)));
  sim.step(100);
  assert.ok(sim.drawnCount > 100);
  const fork = sim.fork();
  const imported = new Simulation(scenario, { seed: 77 });
  const exported = sim.exportState();
  const buffers = Simulation.stateBuffers(exported);
  for (const key of ['entryRate', 'entryCredit', 'ratedLanes', 'turnWeight'] as const) assert.ok(buffers.includes(exported[key].buffer as ArrayBuffer), `stateBuffers lists ${key}`);
  imported.importState(structuredClone(exported));
  const other = new Simulation(straightRoad());
  assert.throws(() => other.importState(exported), /importState: .* state of another scenario/);
  // a state exported before the engine had demand is refused by name, not misread
  const older: Partial<typeof exported> = { ...exported };
  delete older.entryRate;
  assert.throws(() => new Simulation(scenario).importState(older as typeof exported), /importState: entryRate \(lanes\) has length none/);
  const spent = sim.fork();
  spent.setEntryRate(entries[0], 3);
  spent.step(40);
  const into = sim.forkInto(spent);
  const snap = sim.snapshot();
  for (const s of [sim, fork, imported, into]) s.step(300);
  assertSame(sim, fork, 'fork');
  assertSame(sim, imported, 'imported');
  assertSame(sim, into, 'forkInto');
  assert.ok(vehicleRows(sim).some((r) => r.id.startsWith('drawn_')), 'drawn vehicles drive');
  const replay = new Simulation(scenario, { seed: 2 });
  replay.restore(snap);
  replay.step(300);
  assertSame(sim, replay, 'restored');
  // the fork's demand is its own
  fork.setEntryRate(entries[0], 0);
  fork.setTurnWeights(new Float64Array(fork.net.nLinks));
  assert.ok(sim.entryRate(entries[0]) > 0);
  assert.equal(sim.turnWeights()[1], 2);
  // and a fork without new arrivals would fall behind: the rates are what keep it in step
  const noDemand = sim.fork();
  for (const l of entries) noDemand.setEntryRate(l, 0);
  const before = sim.drawnCount;
  sim.step(60);
  noDemand.step(60);
  assert.ok(sim.drawnCount > before && noDemand.drawnCount === before);
});

test('placeVehicle without a route draws one from the turning weights; a refusal leaves the draws as they were', () => {
  const sim = new Simulation(forkRoad(), { seed: 1 });
  const a = roadOf(sim, 'a'), b = roadOf(sim, 'b');
  sim.setTurnWeights([1, 0]);
  const v = sim.placeVehicle({ lane: 0, distance: 100, speed: 0 });
  assert.equal(sim.vehicleId(v), 'placed_0');
  assert.equal(lastRoad(sim, v), a);
  sim.setTurnWeights([0, 1]);
  const w = sim.placeVehicle({ lane: 0, distance: 50, speed: 0 });
  assert.equal(lastRoad(sim, w), b);
  sim.setTurnWeights([1, 1]);
  const rng = sim.snapshot().rng.slice();
  assert.throws(() => sim.placeVehicle({ lane: 0, distance: 52, speed: 0 }), /placeVehicle: no room on lane in_0 at 52 m/);
  assert.deepEqual(sim.snapshot().rng, rng, 'the refused placement drew nothing');
  // both ways are drawn, at random
  const ends = new Set<number>();
  for (let k = 0; k < 20; k++) {
    const h = sim.placeVehicle({ lane: 0, distance: 20, speed: 0 });
    ends.add(lastRoad(sim, h));
    sim.removeVehicle(h);
  }
  assert.deepEqual([...ends].sort(), [a, b].sort());
  // a placed vehicle on a lane at the edge: a one-road route
  const edge = sim.placeVehicle({ lane: sim.net.roadFirstLane[a], distance: 10, speed: 0 });
  assert.deepEqual([...sim.vehicleRemainingPath(edge)], [sim.net.roadFirstLane[a]]);
  assert.equal(sim.drawnCount, 0, 'placements are not drawn_ vehicles');
});

test('bad demand is refused with a RangeError naming the lane, the rate, the weight or the option', () => {
  const sim = new Simulation(forkRoad());
  const cases: [() => void, RegExp][] = [
    [() => sim.setEntryRate(-1, 1), /setEntryRate: lane -1 is not a lane index \(0\.\.2\)/],
    [() => sim.setEntryRate(3, 1), /setEntryRate: lane 3 is not a lane index/],
    [() => sim.setEntryRate(0.5, 1), /setEntryRate: lane 0.5 is not a lane index/],
    [() => sim.setEntryRate(0, -0.1), /setEntryRate: rate on lane in_0 must be a finite number >= 0 vehicles\/s, got -0.1/],
    [() => sim.setEntryRate(0, NaN), /rate on lane in_0 .* got NaN/],
    [() => sim.setEntryRate(0, Infinity), /got Infinity/],
    [() => sim.setEntryRate(0, '1' as unknown as number), /got 1/],
    [() => sim.entryRate(7), /entryRate: lane 7 is not a lane index/],
    [() => sim.setTurnWeights([1]), /setTurnWeights: weights must have one number per lane link \(2\), got 1/],
    [() => sim.setTurnWeights(undefined as unknown as number[]), /setTurnWeights: .* got undefined/],
    [() => sim.setTurnWeights([1, -2]), /setTurnWeights: weights\[1\] \(lane link in_0->b_0\) must be a finite number >= 0, got -2/],
    [() => sim.setTurnWeights([NaN, 1]), /weights\[0\] \(lane link in_0->a_0\) .* got NaN/],
    [() => new Simulation(forkRoad(), { maxRouteRoads: 0 }), /maxRouteRoads must be a whole number in 1\.\.32767, got 0/],
    [() => new Simulation(forkRoad(), { maxRouteRoads: 2.5 }), /maxRouteRoads .* got 2.5/],
    [() => sim.addVehicle({ id: 'drawn_4', route: ['in'] }), /vehicle id "drawn_4" is reserved: drawn_\{n\} names the vehicles of the entry rates/],
  ];
  for (const [f, msg] of cases) assert.throws(f, (e: unknown) => e instanceof RangeError && msg.test(e.message), String(msg));
  assert.deepEqual([...sim.turnWeights()], [1, 1], 'a refused weight list changes nothing');
  assert.equal(sim.entryRate(0), 0);
});

test('the path buffer follows the vehicles present, not all that ever came: paths of vehicles gone are reclaimed', () => {
  // explicit routes, all different (a random walk per placement), as the brain placed before the engine drew them
  const sim = new Simulation(grid(4, 4), { seed: 9 });
  const net = sim.net;
  const entries = entryLanes(sim);
  let seed = 12345;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const routes: number[][] = [];
  let stored = 0, peakLive = 0;
  for (let k = 0; k < 3000; k++) {
    const lane = entries[rand(entries.length)];
    const route = [net.laneRoad[lane]];
    for (let cur = lane; net.laneOutStart[cur + 1] > net.laneOutStart[cur]; ) {
      const o = net.laneOutStart[cur] + rand(net.laneOutStart[cur + 1] - net.laneOutStart[cur]);
      cur = net.linkEndLane[net.laneOutList[o] - net.nLanes];
      route.push(net.laneRoad[cur]);
    }
    try {
      const v = sim.placeVehicle({ lane, distance: 5, speed: 0, route });
      stored += 2 * route.length - 1;
      if (k % 50 === 0) routes[v] = route;
    } catch (e) {
      if (!(e instanceof RangeError && /no room/.test(e.message))) throw e;
    }
    for (let j = 0; j < 2; j++) {
      sim.step();
      sim.forEachExit((h) => (routes[h] = undefined as unknown as number[]));
    }
    if (k % 100 === 0) {
      const st = sim.snapshot();
      let live = 0;
      for (let v = 0; v < st.highWater; v++) if (st.vState[v] !== 0) live += st.vPathLen[v];
      peakLive = Math.max(peakLive, live);
    }
    // a vehicle keeps driving its own route across compactions
    for (const h of sim.runningVehicles()) {
      const route = routes[h];
      if (route === undefined) continue;
      const p = sim.vehicleRemainingPath(h);
      assert.equal(net.laneRoad[p[p.length - 1]], route[route.length - 1], `${sim.vehicleId(h)} still heads for the end of its route`);
    }
  }
  const st = sim.snapshot();
  assert.ok(stored > 4 * st.path.length, `${stored} path entries stored over the run, the buffer holds ${st.path.length}`);
  assert.ok(st.path.length <= 4 * peakLive + 2048, `buffer ${st.path.length} vs at most ${peakLive} in use at once`);
  assert.ok(sim.metrics().finishedVehicles > 1000);
});

test('entry rates draw routes into a bounded path buffer, and a fork compacts it exactly as the original does', () => {
  const sim = new Simulation(grid(4, 4), { seed: 4 });
  for (const l of entryLanes(sim)) sim.setEntryRate(l, 0.03);
  sim.step(200);
  const fork = sim.fork();
  let peak = 0, peakLive = 0;
  for (let k = 0; k < 38; k++) {
    sim.step(100);
    fork.step(100);
    const st = sim.snapshot();
    let live = 0;
    for (let v = 0; v < st.highWater; v++) if (st.vState[v] !== 0) live += st.vPathLen[v];
    peakLive = Math.max(peakLive, live);
    peak = Math.max(peak, st.path.length);
  }
  assertSame(sim, fork, 'after 4000 s');
  assert.ok(sim.drawnCount > 5000 && sim.metrics().finishedVehicles > 4500, 'many vehicles came and went');
  // kept without reclaiming, the distinct routes of 4000 s (some 2000) would take ~30000 entries
  assert.ok(peak <= 3 * peakLive + 1024, `buffer ${peak} for at most ${peakLive} path entries in use at once`);
  const st = sim.snapshot();
  assert.ok(st.drawnPaths.size <= st.pathUsed, 'the route cache is bounded by the paths kept');
});
