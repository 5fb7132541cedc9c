/** citybrain calibrate end to end: counts.csv in, flow.json out, which simulate runs; bad counts get one line naming it. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid, LaneEntries, Simulation, type Scenario } from '@citybrain/engine';
import { cliRunner } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'citybrain-calibrate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const citybrain = cliRunner(60_000);

/** counts.csv lines (with its header) of a scenario's stop-line crossings per lane, every 300 s up to `seconds`. */
function stopLineCounts(scenario: Scenario, seconds: number): string[] {
  const sim = new Simulation(scenario);
  const lines = ['begin,end,lane,count'];
  const before = new Int32Array(sim.net.nLanes);
  for (let t = 300; t <= seconds; t += 300) {
    sim.step(300);
    for (let l = 0; l < sim.net.nLanes; l++) {
      lines.push(`${t - 300},${t},${sim.net.laneId(l)},${sim.laneCrossings(l) - before[l]}`);
      before[l] = sim.laneCrossings(l);
    }
  }
  return lines;
}

test('calibrate: lane counts of a grid in, flows out that simulate runs, GEH printed per count', () => {
  const grid = generateGrid({ rows: 2, cols: 2, demand: 1 / 20, endTime: 1199 });
  const roadnet = join(tmp, 'roadnet.json');
  writeFileSync(roadnet, JSON.stringify(grid.roadnet));
  const lines = stopLineCounts(grid, 1200);
  const counts = join(tmp, 'counts.csv');
  writeFileSync(counts, lines.join('\n') + '\n');
  const out = join(tmp, 'flow.json');
  const r = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.counts, lines.length - 1);
  assert.equal(j.perCount.length, j.counts);
  assert.ok(j.gehBelow5Percent >= 85, `${j.gehBelow5Percent}%`);
  assert.ok(Array.isArray(JSON.parse(readFileSync(out, 'utf8'))));
  // both ways of sharing counts among routes fitted and simulated; the one meeting more counts kept
  assert.deepEqual(j.simulated.map((x: { routeSharing: string }) => x.routeSharing), ['even', 'few']);
  const kept = j.simulated.find((x: { routeSharing: string }) => x.routeSharing === j.routeSharing);
  assert.ok(j.simulated.every((x: { gehBelow5Percent: number }) => kept.gehBelow5Percent >= x.gehBelow5Percent), JSON.stringify(j.simulated));
  const s = citybrain('simulate', '--roadnet', roadnet, '--flow', out, '--steps', '1200', '--json');
  assert.equal(s.code, 0, s.stderr);
  const entered = JSON.parse(s.stdout).enteredVehicles;
  assert.ok(Math.abs(entered - j.vehicles) <= 1, `${entered} simulated, ${j.vehicles} written`);
  const text = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out);
  assert.match(text.stdout, /^begin\tend\tdetector\tcount\tmodel\tGEH$/m);
  assert.match(text.stdout, /% of \d+ counts with GEH < 5/);
  assert.match(text.stdout, /^routes shared (even|few): simulated, counts with GEH < 5 even [\d.]+% \(mean GEH [\d.]+\), few [\d.]+%/m);
  const few = JSON.parse(citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out, '--sharing', 'few', '--json').stdout);
  assert.equal(few.routeSharing, 'few');
  assert.equal(few.simulated, undefined, 'one way given: nothing to choose, no extra run');
  const bad = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out, '--sharing', 'some');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--sharing must be even, few or best, got "some"/);
});

test('calibrate: lane-entry counts (the position column); --likely, --sparsity', () => {
  const grid = generateGrid({ rows: 2, cols: 2, demand: 1 / 20, endTime: 1199 });
  const roadnet = join(tmp, 'roadnet-entry.json');
  writeFileSync(roadnet, JSON.stringify(grid.roadnet));
  const sim = new Simulation(grid);
  const entries = new LaneEntries(sim);
  const n = new Int32Array(sim.net.nLanes);
  const lines = ['begin,end,lane,count,position'];
  for (let t = 1; t <= 1500; t++) {
    sim.step();
    entries.forEach((_v, lane) => n[lane]++);
    if (t % 300 > 0) continue;
    for (let l = 0; l < sim.net.nLanes; l++) lines.push(`${t - 300},${t},${sim.net.laneId(l)},${n[l]},entry`);
    n.fill(0);
  }
  const counts = join(tmp, 'entry.csv');
  writeFileSync(counts, lines.join('\n') + '\n');
  const out = join(tmp, 'flow-entry.json');
  const r = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out, '--until', '1200', '--likely', '2', '--sparsity', '1', '--runs', '1', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(j.gehBelow5Percent >= 90, `${j.gehBelow5Percent}%`);
  assert.ok(j.perCount.every((c: { at: string }) => c.at.endsWith(' (entry)')));
  const original = sim.metrics().enteredVehicles;
  assert.ok(Math.abs(j.vehicles - original) <= 0.03 * original, `${j.vehicles} vehicles for ${original}`);
  const bad = join(tmp, 'bad-position.csv');
  writeFileSync(bad, 'begin,end,lane,count,position\n0,300,road_0_1_0_1,3,upstream\n');
  const e = citybrain('calibrate', '--roadnet', roadnet, '--counts', bad, '--out', out);
  assert.equal(e.code, 2);
  assert.equal(e.stderr.trim(), 'citybrain: bad-position.csv: line 2: position: expected "stop-line" or "entry", got "upstream"');
});

test('calibrate: a bad counts file is one line naming the file and line; --help documents the format', () => {
  const roadnet = join(tmp, 'roadnet2.json');
  writeFileSync(roadnet, JSON.stringify(generateGrid({ rows: 1, cols: 1 }).roadnet));
  const counts = join(tmp, 'bad.csv');
  writeFileSync(counts, 'begin,end,road,count\n0,300,road_0_1_0,-3\n');
  const r = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', join(tmp, 'x.json'));
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'citybrain: bad.csv: line 2: count: -3 is negative');
  const h = citybrain('calibrate', '--help');
  assert.match(h.stdout, /begin,end,lane,count/);
  assert.match(h.stdout, /begin,end,road,count/);
  assert.match(h.stdout, /begin,end,lane,count,position/);
  assert.match(h.stdout, /--likely K/);
  assert.match(h.stdout, /--sparsity X/);
  assert.match(h.stdout, /--detour-cost X/);
  const bad = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', join(tmp, 'x.json'), '--detour-cost=-1');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--detour-cost expects a number from 0 to 1000, got "-1"/);
  assert.equal(citybrain('calibrate', '--roadnet', roadnet).code, 2);
});

test('bench calibrate --grid RxC --demand D --only-grids: a generated scenario the default three do not cover, in issue #15\'s JSON; bad values refused', () => {
  const r = citybrain('bench', 'calibrate', '--only-grids', '--grid', '1x2', '--demand', '1/30', '--json');
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const out = JSON.parse(r.stdout) as { calibration: { scenario: string; gehBelow5Percent: number; attFixedOriginal: number; attFixedFitted: number; attMaxPressureOriginal: number; attMaxPressureFitted: number; vehiclesOriginal: number }[]; pass: boolean };
  assert.deepEqual(out.calibration.map((e) => e.scenario), ['grid1x2@0.0333']);
  const [e] = out.calibration;
  // 1 x 2: 2 + 4 straight routes and the 8 staircase routes, one vehicle per 30 s each for an hour
  assert.equal(e.vehiclesOriginal, 14 * 120);
  for (const k of ['gehBelow5Percent', 'attFixedOriginal', 'attFixedFitted', 'attMaxPressureOriginal', 'attMaxPressureFitted'] as const) assert.ok(e[k] > 0, `${k} ${e[k]}`);
  assert.equal(r.code, out.pass ? 0 : 1);
  const bad = (args: string[], message: RegExp) => {
    const b = citybrain('bench', 'calibrate', ...args);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, message);
  };
  bad(['--grid', '1x6', '--grid', '2x2', '--demand', '0.1,0.2,0.3'], /--demand: give one value, or one per --grid \(2\), got 3/);
  bad(['--grid', '6', '--only-grids'], /--grid: expected ROWSxCOLS/);
  bad(['--grid', '1x6', '--demand', '0'], /--demand: expected vehicles\/s per route/);
  bad(['--only-grids'], /--only-grids: needs --grid/);
  assert.match(citybrain('bench', 'calibrate', '--help').stdout, /--grid RxC/);
});

test('calibrate --route-file: only the routes given are fitted (a flow file serves as one); a bad file gets one line naming it', () => {
  const grid = generateGrid({ rows: 1, cols: 2, demand: 1 / 20, endTime: 599 });
  const roadnet = join(tmp, 'roadnet-rf.json');
  writeFileSync(roadnet, JSON.stringify(grid.roadnet));
  const counts = join(tmp, 'counts-rf.csv');
  writeFileSync(counts, stopLineCounts(grid, 600).join('\n') + '\n');
  // the generator's own routes as the candidates: once as a flow file, once as bare road lists
  const routes = [...new Set(grid.flows.map((f) => JSON.stringify(f.route)))].map((r) => JSON.parse(r) as string[]);
  const flowFile = join(tmp, 'flows-rf.json'), listFile = join(tmp, 'routes-rf.json'), out = join(tmp, 'flow-rf.json');
  writeFileSync(flowFile, JSON.stringify(grid.flows));
  writeFileSync(listFile, JSON.stringify(routes));
  for (const file of [flowFile, listFile]) {
    const r = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out, '--route-file', file, '--runs', '0', '--sharing', 'even', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.candidateRoutes, routes.length);
    const fitted = new Set(JSON.parse(readFileSync(out, 'utf8')).map((f: { route: string[] }) => JSON.stringify(f.route)));
    assert.ok([...fitted].every((r) => routes.some((g) => JSON.stringify(g) === r)), 'every fitted route is one given');
    assert.ok(j.gehBelow5Percent >= 85, `${j.gehBelow5Percent}%`);
  }
  const bad = join(tmp, 'bad-rf.json');
  writeFileSync(bad, JSON.stringify([routes[0], { route: 5 }]));
  const r = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out, '--route-file', bad);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--route-file bad-rf\.json: \[1\] is not a route/);
  writeFileSync(bad, JSON.stringify([['road_0_1_0', 'no_such_road']]));
  const unknown = citybrain('calibrate', '--roadnet', roadnet, '--counts', counts, '--out', out, '--route-file', bad);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /bad-rf\.json: \[0\]: road "no_such_road" is not in the roadnet/);
});
