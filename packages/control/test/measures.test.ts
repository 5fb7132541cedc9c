import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { bestPhase, fixedTime, lanesOnRings, linkExits, phasePressure, SignalSupervisor, SpillBack, SpillGuard, SPILL_WARN_SHARE, type Observed } from '@citybrain/control';

// intersection_1_1 of a 1 x 1 grid: phase 2 is NT+ST, phase 4 NL+SL; road_1_2_3 comes from the north, road_1_0_1 from the south
test('a roadLink without laneLinks adds no pressure: its phase still wins on the rest of its movements', () => {
  const s = generateGrid({ rows: 1, cols: 1 });
  const inter = s.roadnet.intersections.find((i) => i.id === 'intersection_1_1')!;
  const northThrough = inter.roadLinks.findIndex((rl) => rl.startRoad === 'road_1_2_3' && rl.type === 'go_straight');
  assert.ok(inter.trafficLight!.lightphases[2].availableRoadLinks.includes(northThrough), 'NT is green in phase 2');
  inter.roadLinks[northThrough].laneLinks = [];
  const sim = new Simulation(s);
  const env = new SignalSupervisor(sim, fixedTime()).env;
  const [ix] = env.intersections;
  const south = sim.net.roadIndex.get('road_1_0_1')!;
  const loaded = new Set<number>();
  for (let k = 0; k < sim.net.roadLaneCount[south]; k++) loaded.add(sim.net.roadFirstLane[south] + k);
  const load = (lane: number) => (loaded.has(lane) ? 1 : 0);
  const perLane = Float64Array.from({ length: sim.net.nLanes }, (_, l) => load(l));
  // ST and SL carry the same load: phases 2 and 4 tie and the lower index wins, the empty NT counting 0 (not NaN)
  assert.equal(phasePressure(ix, 2, perLane), phasePressure(ix, 4, perLane));
  assert.ok(Number.isFinite(phasePressure(ix, 2, perLane)));
  assert.equal(bestPhase(ix, env, load), 2);
});

/** the 1 x 1 grid's only intersection */
const k0 = 0;

// intersection_1_1 of a 1 x 1 grid: road_1_0_1 comes from the south, its lane 0 turns left (NL+SL: phase 4) into road_1_1_2
test('spill-back: a lane about to spill back calls its phase, unless every exit lane of its movement is full', () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 1 }));
  const env = new SignalSupervisor(sim, fixedTime()).env;
  const [ix] = env.intersections;
  const spill = new SpillBack(sim.net, env.intersections);
  const lane = (id: string) => sim.net.laneIndex.get(id)!;
  const left = lane('road_1_0_1_0');
  const slot = ix.greens.indexOf(4);
  const other = ix.greens.indexOf(1);
  const queue = new Float64Array(sim.net.nLanes);
  // a lane holds its length over 7.5 m vehicles: 60% of them is the mark, 80% full
  assert.equal(spill.warnAt[left], Math.ceil(SPILL_WARN_SHARE * Math.floor(sim.net.length[left] / 7.5)));
  assert.ok(spill.warnAt[left] < spill.fullAt[left]);
  queue[left] = spill.warnAt[left] - 1;
  assert.equal(spill.spilling(k0, slot, queue), 0, 'below the mark: nothing to protect');
  queue[left] = spill.warnAt[left];
  assert.equal(spill.spilling(k0, slot, queue), queue[left], 'at the mark: its standing vehicles');
  assert.equal(spill.spilling(k0, other, queue), 0, 'a phase that does not serve it');
  // one exit lane full (the next left-turn lane): the vehicles bound for the others still leave
  queue[lane('road_1_1_2_0')] = spill.fullAt[lane('road_1_1_2_0')];
  assert.equal(spill.spilling(k0, slot, queue), queue[left]);
  for (let k = 0; k < 3; k++) queue[lane(`road_1_1_2_${k}`)] = spill.fullAt[lane(`road_1_1_2_${k}`)];
  assert.equal(spill.spilling(k0, slot, queue), 0, 'every exit full: a green would send its vehicles into the junction to stop there');
});

test('spill guard, fedFirst: a spilling lane a junction feeds is served before an entry lane spilling earlier in the cyclic order', () => {
  // 1 x 2 grid: at intersection_2_1, road_1_1_0 comes from intersection_1_1 (fed), the other approaches from outside
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const env = new SignalSupervisor(sim, fixedTime()).env;
  const k = env.intersections.findIndex((ix) => ix.id === 'intersection_2_1');
  const ix = env.intersections[k];
  const lane = (id: string) => sim.net.laneIndex.get(id)!;
  const fed = lane('road_1_1_0_1'); // eastbound through, phase 1
  const entry = lane('road_2_2_3_0'); // southbound left turn from the boundary, phase 4
  const spill = new SpillBack(sim.net, env.intersections);
  assert.equal(spill.fed[fed], 1);
  assert.equal(spill.fed[entry], 0);
  const queue = new Float64Array(sim.net.nLanes);
  queue[fed] = spill.warnAt[fed];
  queue[entry] = spill.warnAt[entry];
  const observed = { queue, counted: new Float64Array(sim.net.nLanes) } as unknown as Observed;
  const cur = ix.greens.indexOf(2);
  assert.ok(cur >= 0 && ix.greens.indexOf(4) > cur && ix.greens.indexOf(1) < cur, 'phase 4 follows the green in the cyclic order, phase 1 comes after it');
  const cyclic = new SpillGuard(sim.net, env.intersections);
  assert.equal(ix.greens[cyclic.choose(k, ix.greens.length, cur, observed, 10)], 4, 'cyclic order: the next spilling green');
  const fedFirst = new SpillGuard(sim.net, env.intersections, SPILL_WARN_SHARE, { fedFirst: true });
  assert.equal(ix.greens[fedFirst.choose(k, ix.greens.length, cur, observed, 10)], 1, 'fedFirst: the green whose spilling lane a junction feeds');
  queue[fed] = 0;
  assert.equal(ix.greens[new SpillGuard(sim.net, env.intersections, SPILL_WARN_SHARE, { fedFirst: true }).choose(k, ix.greens.length, cur, observed, 10)], 4, 'no fed lane spills: the entry lane is still served');
});

test('spill-back, strictExits: one exit lane standing full holds a movement, unless that lane waits on it through a ring of full lanes', () => {
  // 2 x 2 grid: the left-turn lanes round its block, each feeding the next (road_2_1_1_0 turns left at
  // intersection_2_2 into road_2_2_2, whose lane 0 turns left at intersection_1_2, and so on back to road_2_1_1)
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2 }));
  const env = new SignalSupervisor(sim, fixedTime()).env;
  const k = env.intersections.findIndex((ix) => ix.id === 'intersection_2_2');
  const slot = env.intersections[k].greens.indexOf(4); // NL+SL: road_2_1_1 comes from the south
  const lane = (id: string) => sim.net.laneIndex.get(id)!;
  const ring = ['road_2_1_1_0', 'road_2_2_2_0', 'road_1_2_3_0', 'road_1_1_0_0'].map(lane);
  const [left, next] = ring;
  const lenient = new SpillBack(sim.net, env.intersections);
  const strict = new SpillBack(sim.net, env.intersections, SPILL_WARN_SHARE, true);
  const queue = new Float64Array(sim.net.nLanes);
  queue[left] = strict.warnAt[left];
  assert.equal(strict.spilling(k, slot, queue), queue[left], 'exits with room: called');
  assert.equal(strict.exitsHeld(left, queue), false);
  queue[next] = strict.fullAt[next];
  assert.equal(lenient.spilling(k, slot, queue), queue[left], 'lenient: the other exit lanes have room');
  assert.equal(strict.exitsHeld(left, queue), true, 'the next left-turn lane stands full');
  assert.equal(strict.spilling(k, slot, queue), 0, 'strict: not called, its vehicles bound for the full lane would stop in the junction');
  for (const l of ring) queue[l] = strict.fullAt[l];
  assert.equal(strict.exitsHeld(left, queue), false, 'the ring closed: the full exit lane waits on this one');
  assert.equal(strict.spilling(k, slot, queue), queue[left]);
  assert.equal(strict.discharges(k, slot, queue), true);
  queue[ring[2]] = 0;
  assert.equal(strict.exitsHeld(left, queue), true, 'the ring open again: held');
  assert.equal(strict.discharges(k, slot, queue), false);
});

test('spill guard, weighed: of several spilling greens the heaviest is called, not the next in the cyclic order', () => {
  // 1 x 1 grid: road_1_0_1 comes from the south, lane 1 straight (phase 2: NT+ST), lane 0 left (phase 4: NL+SL)
  const sim = new Simulation(generateGrid({ rows: 1, cols: 1 }));
  const env = new SignalSupervisor(sim, fixedTime()).env;
  const [ix] = env.intersections;
  const lane = (id: string) => sim.net.laneIndex.get(id)!;
  const through = lane('road_1_0_1_1'), left = lane('road_1_0_1_0');
  const queue = new Float64Array(sim.net.nLanes);
  const observed = { queue, counted: new Float64Array(sim.net.nLanes) } as unknown as Observed;
  const cur = ix.greens.indexOf(1);
  const guard = (weighed: boolean) => new SpillGuard(sim.net, env.intersections, SPILL_WARN_SHARE, { weighed });
  const warn = guard(false).spill.warnAt;
  queue[through] = warn[through];
  queue[left] = warn[left] + 4;
  assert.equal(ix.greens[guard(false).choose(k0, ix.greens.length, cur, observed, 10)], 2, 'cyclic: the next spilling green');
  assert.equal(ix.greens[guard(true).choose(k0, ix.greens.length, cur, observed, 10)], 4, 'weighed: the longer spilling queue');
  // what stands beyond weighs against it (max-pressure's term): the left turn's exit road_1_1_2 half full
  for (let j = 0; j < 3; j++) queue[lane(`road_1_1_2_${j}`)] = 20;
  assert.equal(ix.greens[guard(true).choose(k0, ix.greens.length, cur, observed, 10)], 2, 'weighed: the queue that can leave');
});

// actuated's max-out bound applies only where an intersection's lanes lie on a ring of lanes (controllers/actuated.ts)
test('lanesOnRings: none on an arterial (no way back without a U-turn), the ones round the blocks on a grid', () => {
  const onRings = (rows: number, cols: number) => {
    const net = new Simulation(generateGrid({ rows, cols })).net;
    const ringed = lanesOnRings(linkExits(net));
    return new Set([...ringed.keys()].filter((l) => ringed[l] === 1).map((l) => net.laneId(l)));
  };
  assert.equal(onRings(1, 4).size, 0);
  const grid = onRings(2, 2);
  // the centre block's counter-clockwise ring of left-turn lanes (road_x_y_d_0: lane 0 turns left), as the deadlocks on 4 x 4 closed
  for (const l of ['road_1_1_0_0', 'road_2_1_1_0', 'road_2_2_2_0', 'road_1_2_3_0']) assert.ok(grid.has(l), `${l} on a ring`);
  // entry lanes (from the boundary's virtual intersections) are on none
  for (const l of grid) assert.ok(!/^road_0_|^road_3_|^road_\d_0_|^road_\d_3_/.test(l), `${l} is an internal lane`);
});
