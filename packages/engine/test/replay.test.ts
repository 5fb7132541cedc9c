/**
 * Replay output in CityFlow's format: the static roadnet log and the per-step
 * frame lines (`x y heading id laneChange length width,` per vehicle, then `;`
 * and `roadId g|r|i ...,` per road into a signalised intersection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, ReplayRecorder, replayRoadnet, Simulation, type Scenario } from '@citybrain/engine';
import { drivableIndex, oneSignal, vehicleRows } from './twin-helpers.js';

interface ReplayNode { id: string; point: number[]; virtual: boolean; width?: number; outline: number[] }
interface ReplayEdge { id: string; from: string; to: string; points: number[][]; nLane: number; laneWidths: number[] }

function parseFrame(line: string) {
  const [cars, lights] = line.split(';');
  assert.equal(line.split(';').length, 2, 'one ";" per frame');
  const vehicles = cars.split(',').filter((s) => s !== '').map((s) => {
    const f = s.split(' ');
    assert.equal(f.length, 7, `7 fields per vehicle: "${s}"`);
    return { x: Number(f[0]), y: Number(f[1]), heading: Number(f[2]), id: f[3], laneChange: f[4], length: Number(f[5]), width: Number(f[6]) };
  });
  const roads = lights.split(',').filter((s) => s !== '').map((s) => {
    const [id, ...lanes] = s.split(' ');
    return { id, lanes };
  });
  return { vehicles, roads };
}

/**
 * The expected light letter of every lane of every road that ends at a signalised intersection,
 * from the roadnet JSON: g when each laneLink leaving the lane belongs to a roadLink listed in
 * the current phase, r otherwise, i when the intersection has no signal plan (0 or 1 phase).
 */
function expectedLights(s: Scenario, phaseOf: (interId: string) => number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const inters = new Map(s.roadnet.intersections.map((i) => [i.id, i]));
  for (const road of s.roadnet.roads) {
    const end = inters.get(road.endIntersection)!;
    if (end.virtual) continue;
    const phases = end.trafficLight.lightphases;
    const green = new Set(phases.length > 1 ? phases[phaseOf(end.id)].availableRoadLinks : []);
    out.set(road.id, road.lanes.map((_, lane) => {
      if (phases.length <= 1) return 'i';
      let go = true;
      end.roadLinks.forEach((rl, k) => {
        if (rl.startRoad === road.id && rl.laneLinks.some((ll) => ll.startLaneIndex === lane) && !green.has(k)) go = false;
      });
      return go ? 'g' : 'r';
    }));
  }
  return out;
}

test('replayRoadnet lists every intersection as a node and every road as an edge', () => {
  const s = generateGrid({ rows: 2, cols: 3, lanesPerMovement: { left: 1, straight: 2, right: 1 } });
  const sim = new Simulation(s);
  const log = replayRoadnet(sim) as { static: { nodes: ReplayNode[]; edges: ReplayEdge[] } };
  assert.deepEqual(JSON.parse(JSON.stringify(log)), log, 'plain JSON');
  const { nodes, edges } = log.static;
  assert.deepEqual(nodes.map((n) => n.id).sort(), s.roadnet.intersections.map((i) => i.id).sort());
  assert.deepEqual(edges.map((e) => e.id).sort(), s.roadnet.roads.map((r) => r.id).sort());
  const inters = new Map(s.roadnet.intersections.map((i) => [i.id, i]));
  for (const n of nodes) {
    const i = inters.get(n.id)!;
    assert.deepEqual(n.point, [i.point.x, i.point.y]);
    assert.equal(n.virtual, i.virtual);
    assert.equal(n.outline.length, 8, 'a quadrilateral');
  }
  for (const e of edges) {
    const r = s.roadnet.roads.find((x) => x.id === e.id)!;
    assert.deepEqual([e.from, e.to], [r.startIntersection, r.endIntersection]);
    assert.equal(e.nLane, r.lanes.length);
    assert.deepEqual(e.laneWidths, r.lanes.map((l) => l.width));
    // the edge is drawn along the road's own axis (grid roads are straight segments)
    const [a, b] = [r.points[0], r.points[r.points.length - 1]];
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    assert.ok(e.points.length >= 2);
    for (const [x, y] of e.points) {
      const off = Math.abs((b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x)) / len;
      const along = ((x - a.x) * (b.x - a.x) + (y - a.y) * (b.y - a.y)) / len;
      assert.ok(off < 1e-6 && along > -1e-6 && along < len + 1e-6, `${e.id}: point (${x}, ${y}) on the road axis`);
    }
  }
});

test('every frame lists each running vehicle and each signalised road with g/r per lane matching linkGreen', () => {
  const s = generateGrid({ rows: 2, cols: 2, demand: 0.5, blockLength: 200 });
  const sim = new Simulation(s, { seed: 5 });
  const rec = new ReplayRecorder(sim);
  const inters = s.roadnet.intersections;
  let frames = 0, greens = 0, reds = 0;
  for (let k = 0; k < 160; k++) {
    sim.step();
    if (k % 7 !== 0) continue;
    const frame = parseFrame(rec.frame());
    frames++;
    const rows = vehicleRows(sim);
    assert.equal(frame.vehicles.length, sim.runningCount);
    assert.deepEqual(frame.vehicles.map((v) => v.id).sort(), rows.map((r) => r.id));
    // positions agree with the simulation's own vehicle states (rounded to cm in the file)
    const buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };
    const n = sim.vehicleStates(buf);
    const byId = new Map(frame.vehicles.map((v) => [v.id, v]));
    for (let j = 0; j < n; j++) {
      const v = byId.get(sim.vehicleId(buf.ids[j]))!;
      assert.ok(Math.abs(v.x - buf.xyhs[4 * j]) <= 0.0051 && Math.abs(v.y - buf.xyhs[4 * j + 1]) <= 0.0051, `${v.id} position`);
    }
    // lights, computed from the roadnet JSON and the current phases
    const want = expectedLights(s, (id) => sim.phase(sim.net.interIndex.get(id)!));
    assert.deepEqual(frame.roads.map((r) => r.id).sort(), [...want.keys()].sort(), 'one entry per road into a signalised intersection');
    for (const r of frame.roads) {
      assert.deepEqual(r.lanes, want.get(r.id), `${r.id} at t=${sim.time}`);
      // and the same through the simulation's laneLink state
      const road = s.roadnet.roads.find((x) => x.id === r.id)!;
      const end = inters.find((i) => i.id === road.endIntersection)!;
      r.lanes.forEach((letter, lane) => {
        const links = end.roadLinks.filter((rl) => rl.startRoad === r.id).flatMap((rl) =>
          rl.laneLinks.filter((ll) => ll.startLaneIndex === lane).map((ll) => `${r.id}_${lane}->${rl.endRoad}_${ll.endLaneIndex}`));
        assert.equal(letter === 'g', links.every((id) => sim.linkGreen(drivableIndex(sim, id))), `${r.id}_${lane}`);
        if (letter === 'g') greens++;
        else reds++;
      });
    }
  }
  assert.ok(frames > 20 && greens > 0 && reds > 0);
});

test('roads into an intersection without a signal plan are marked i', () => {
  const s = oneSignal({ lanes: 2, phases: [{ time: 30, availableRoadLinks: [0] }] });
  const sim = new Simulation(s);
  sim.step();
  assert.deepEqual(parseFrame(new ReplayRecorder(sim).frame()).roads, [{ id: 'in', lanes: ['i', 'i'] }]);
});

test('frames carry each vehicle\'s own length and width, as CityFlow writes them', () => {
  const s = generateGrid({ rows: 1, cols: 1, vehicle: { length: 8, width: 2.5 } });
  const sim = new Simulation(s);
  sim.step(5);
  const frame = parseFrame(new ReplayRecorder(sim).frame());
  assert.ok(frame.vehicles.length > 0);
  for (const v of frame.vehicles) assert.deepEqual([v.length, v.width], [8, 2.5], v.id);
});
