import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { bestPhase, fixedTime, phasePressure, SignalSupervisor } from '@citybrain/control';

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
