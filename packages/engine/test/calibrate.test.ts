import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrateDemand, calibrateDemandByRuns, candidateRoutes, generateGrid, geh, parseCounts, parseTurnCounts, ScenarioError, Simulation, type CountRow, type Scenario } from '@citybrain/engine';

/** Stop-line counts of every lane per 300 s, from a run of the scenario on its built-in signal plans. */
function laneCounts(s: Scenario, seconds: number): CountRow[] {
  const sim = new Simulation(s, { seed: 0 });
  const before = new Int32Array(sim.net.nLanes);
  const rows: CountRow[] = [];
  for (let t = 300; t <= seconds; t += 300) {
    sim.step(300);
    for (let l = 0; l < sim.net.nLanes; l++) {
      const c = sim.laneCrossings(l);
      rows.push({ begin: t - 300, end: t, at: { lane: sim.net.laneId(l) }, count: c - before[l], line: rows.length + 2 });
      before[l] = c;
    }
  }
  return rows;
}

function vehicles(flows: Scenario['flows'], seconds: number): number {
  const sim = new Simulation({ roadnet: grid.roadnet, flows });
  sim.step(seconds);
  const m = sim.metrics();
  return m.enteredVehicles;
}

// a 3 x 3 grid with one vehicle per 20 s on each of its 20 routes for 30 minutes: 1800 vehicles
const grid = generateGrid({ rows: 3, cols: 3, demand: 1 / 20, endTime: 1799 });

test('GEH is 0 for equal flows and about 5 for 100 against 150 vehicles an hour', () => {
  assert.equal(geh(0, 0, 300), 0);
  assert.equal(geh(10, 10, 300), 0);
  assert.ok(Math.abs(geh(100, 150, 3600) - 4.47) < 0.01);
  assert.ok(Math.abs(geh(25 / 3, 12.5, 300) - geh(100, 150, 3600)) < 1e-9, 'computed on hourly flows');
});

test('candidate routes run from entry roads to exit roads, k per pair at most', () => {
  const routes = candidateRoutes(grid.roadnet, 2);
  const hasIn = new Set(grid.roadnet.intersections.flatMap((i) => i.roadLinks.map((l) => l.endRoad)));
  const hasOut = new Set(grid.roadnet.intersections.flatMap((i) => i.roadLinks.map((l) => l.startRoad)));
  assert.ok(routes.length > 0);
  for (const r of routes) {
    assert.ok(!hasIn.has(r[0]) && !hasOut.has(r[r.length - 1]), r.join(' '));
    assert.equal(new Set(r).size, r.length, 'loopless');
  }
  const pairs = new Map<string, number>();
  for (const r of routes) pairs.set(`${r[0]} ${r.at(-1)}`, (pairs.get(`${r[0]} ${r.at(-1)}`) ?? 0) + 1);
  assert.ok(Math.max(...pairs.values()) <= 2);
  assert.ok([...pairs.values()].some((n) => n === 2), 'alternatives exist on a grid');
  const links = new Set(grid.roadnet.intersections.flatMap((i) => i.roadLinks.map((l) => `${l.startRoad} ${l.endRoad}`)));
  for (const r of routes) for (let i = 0; i + 1 < r.length; i++) assert.ok(links.has(`${r[i]} ${r[i + 1]}`), 'drivable');
});

test('calibration on a generated grid recovers its flows from lane counts alone: GEH < 5 on >= 85% of counts, the same demand', () => {
  const counts = laneCounts(grid, 2400);
  const fit = calibrateDemand(grid.roadnet, counts);
  assert.ok(fit.gehBelow5Percent >= 85, `fit: ${fit.gehBelow5Percent}% below 5`);
  // the fitted flows, simulated, give the counts again
  const again = laneCounts({ roadnet: grid.roadnet, flows: fit.flows }, 2400);
  const below = counts.filter((c, i) => geh(again[i].count, c.count, 300) < 5).length / counts.length;
  assert.ok(below >= 0.85, `simulated: ${(below * 100).toFixed(1)}% below 5`);
  const original = vehicles(grid.flows, 2400), fitted = vehicles(fit.flows, 2400);
  assert.ok(Math.abs(fitted - original) <= 0.05 * original, `${fitted} vehicles fitted, ${original} original`);
  // deterministic
  assert.deepEqual(calibrateDemand(grid.roadnet, counts).flows, fit.flows);
});

test('calibrateDemandByRuns: times measured by simulating the fit, departures only in the demand window, counts through the drain', async () => {
  const counts = laneCounts(grid, 2700);
  let runs = 0;
  const fit = await calibrateDemandByRuns(grid.roadnet, counts, [], { runs: 1, departUntil: 1800 }, async (s, observe) => {
    runs++;
    const sim = new Simulation(s);
    for (let t = 0; t < 2700; t++) {
      sim.step();
      observe(sim);
    }
  });
  assert.equal(runs, 1);
  assert.equal(fit.runs, 1);
  assert.ok(fit.flows.every((f) => f.startTime < 1800 && f.endTime < 1800), 'no departure after --until');
  assert.ok(fit.gehBelow5Percent >= 85, `${fit.gehBelow5Percent}%`);
  const original = vehicles(grid.flows, 2700), fitted = vehicles(fit.flows, 2700);
  assert.ok(Math.abs(fitted - original) <= 0.03 * original, `${fitted} vehicles fitted, ${original} original`);
});

test('road counts and turning counts constrain the fit too', () => {
  const lanes = laneCounts(grid, 1800);
  const byRoad = new Map<string, CountRow>();
  for (const c of lanes) {
    const road = (c.at as { lane: string }).lane.replace(/_\d+$/, '');
    const k = `${road} ${c.begin}`;
    const r = byRoad.get(k);
    if (r) r.count += c.count;
    else byRoad.set(k, { ...c, at: { road }, line: byRoad.size + 2 });
  }
  const roads = [...byRoad.values()];
  const fit = calibrateDemand(grid.roadnet, roads);
  assert.ok(fit.gehBelow5Percent >= 85, `${fit.gehBelow5Percent}%`);
  const link = grid.roadnet.intersections.find((i) => !i.virtual)!.roadLinks[0];
  const turns = parseTurnCounts(`begin,end,from,to,count\n0,1800,${link.startRoad},${link.endRoad},0\n`, grid.roadnet);
  const none = calibrateDemand(grid.roadnet, roads, turns);
  const model = none.counts.find((c) => 'from' in c.row)!.model;
  assert.ok(model < 2, `a turn counted 0 gets (almost) no vehicles: ${model}`);
});

test('counts.csv: lane and road files parse; bad rows are refused naming the line', () => {
  const rn = grid.roadnet;
  const road = rn.roads[0].id;
  assert.deepEqual(parseCounts(`begin,end,lane,count\n0,300,${road}_1,12\n300,600,${road}_1,3.5\n`, rn), [
    { begin: 0, end: 300, at: { lane: `${road}_1` }, count: 12, line: 2 },
    { begin: 300, end: 600, at: { lane: `${road}_1` }, count: 3.5, line: 3 },
  ]);
  assert.equal(parseCounts(`begin,end,road,count\r\n0,300,${road},7\r\n`, rn)[0].count, 7);
  const bad = (text: string, message: RegExp) => assert.throws(() => parseCounts(text, rn), (e: unknown) => e instanceof ScenarioError && message.test(e.message));
  bad('begin,end,detector,count\n', /counts\.csv: line 1: expected the header "begin,end,lane,count" or "begin,end,road,count"/);
  bad('', /counts\.csv: the file is empty/);
  bad(`begin,end,lane,count\n0,300,${road}_1\n`, /line 2: expected 4 fields/);
  bad(`begin,end,lane,count\n\n0,300,nowhere_0,1\n`, /line 3: lane "nowhere_0" is not in the roadnet/);
  bad(`begin,end,lane,count\n0,300,${road}_9,1\n`, /line 2: lane ".*_9" is not in the roadnet/);
  bad(`begin,end,road,count\n0,300,nowhere,1\n`, /line 2: road "nowhere" is not in the roadnet/);
  bad(`begin,end,road,count\n0,300,${road},-1\n`, /line 2: count: -1 is negative/);
  bad(`begin,end,road,count\n0,300,${road},many\n`, /line 2: count: expected a number, got "many"/);
  bad(`begin,end,road,count\n300,300,${road},1\n`, /line 2: end: expected seconds after begin 300/);
  bad(`begin,end,road,count\n-5,300,${road},1\n`, /line 2: begin: expected seconds >= 0/);
  bad(`begin,end,road,count\n0,300,${road},1\n600,900,${road},1\n200,400,${road},1\n`, /line 4: .*: \[200, 400\) overlaps \[0, 300\) on line 2/);
  assert.throws(() => parseTurnCounts(`begin,end,from,to,count\n0,300,${road},${road},1\n`, rn), /turns\.csv: line 2: no roadLink leads from road/);
});
