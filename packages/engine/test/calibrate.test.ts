import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedTime, runControlled } from '@citybrain/control';
import { calibrateDemand, calibrateDemandByRuns, candidateRoutes, generateGrid, geh, LaneEntries, parseCounts, parseTurnCounts, ScenarioError, Simulation, type CountRow, type Scenario } from '@citybrain/engine';

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
  // per way of sharing counts among routes (even, few): a measuring run, then a run of the fit to compare them
  assert.equal(runs, 4);
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
    { begin: 0, end: 300, at: { lane: `${road}_1` }, count: 12, position: 'stop-line', line: 2 },
    { begin: 300, end: 600, at: { lane: `${road}_1` }, count: 3.5, position: 'stop-line', line: 3 },
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

/** Lane-entry counts of every lane per 300 s (a detector at each lane's upstream end), from a run on the built-in plans. */
function entryCounts(s: Scenario, seconds: number): CountRow[] {
  const sim = new Simulation(s, { seed: 0 });
  const entries = new LaneEntries(sim);
  const n = new Int32Array(sim.net.nLanes);
  const rows: CountRow[] = [];
  for (let t = 1; t <= seconds; t++) {
    sim.step();
    entries.forEach((_v, lane) => n[lane]++);
    if (t % 300 > 0) continue;
    for (let l = 0; l < sim.net.nLanes; l++) rows.push({ begin: t - 300, end: t, at: { lane: sim.net.laneId(l) }, count: n[l], position: 'entry', line: rows.length + 2 });
    n.fill(0);
  }
  return rows;
}

test('LaneEntries: every vehicle is reported entering its first lane and each lane after a stop line it crossed', () => {
  const sim = new Simulation(grid, { seed: 0 });
  const entries = new LaneEntries(sim);
  let entered = 0, boundary = 0, crossed = 0;
  const seen = new Map<number, number>();
  for (let t = 0; t < 2400; t++) {
    sim.step();
    sim.forEachEntry(() => boundary++);
    sim.forEachCrossing(() => crossed++);
    entries.forEach((v, lane) => {
      entered++;
      assert.ok(lane < sim.net.nLanes, 'a lane, not a laneLink');
      assert.equal(sim.vehicleDrivable(v), lane);
      seen.set(lane, (seen.get(lane) ?? 0) + 1);
    });
  }
  assert.equal(boundary, sim.metrics().enteredVehicles);
  // all but the few still on a laneLink at the end
  assert.ok(entered <= boundary + crossed && entered >= boundary + crossed - 20, `${entered} entries, ${boundary} + ${crossed}`);
});

test('entry counts: the fit recovers the grid demand from lane-entry counts alone', () => {
  const counts = entryCounts(grid, 2400);
  const fit = calibrateDemand(grid.roadnet, counts, [], { departUntil: 1800 });
  assert.ok(fit.gehBelow5Percent >= 90, `fit: ${fit.gehBelow5Percent}% below 5`);
  const again = entryCounts({ roadnet: grid.roadnet, flows: fit.flows }, 2400);
  const below = counts.filter((c, i) => geh(again[i].count, c.count, 300) < 5).length / counts.length;
  assert.ok(below >= 0.9, `simulated: ${(below * 100).toFixed(1)}% below 5`);
  const original = vehicles(grid.flows, 2400), fitted = vehicles(fit.flows, 2400);
  assert.ok(Math.abs(fitted - original) <= 0.03 * original, `${fitted} vehicles fitted, ${original} original`);
  // an entry count is not a stop-line count: read as stop-line counts, the same numbers say something else
  const asStopLine = calibrateDemand(grid.roadnet, counts.map(({ position: _, ...c }) => c), [], { departUntil: 1800 });
  assert.notDeepEqual(asStopLine.flows, fit.flows);
});

test('likely routes: candidates by the turning shares the counts show come after the shortest, without repeats', () => {
  const shortest = candidateRoutes(grid.roadnet, 1);
  // every turn equally likely but left turns, which no count saw
  const links = new Map<string, { startRoad: string; endRoad: string }[]>();
  const left = new Set<string>();
  for (const it of grid.roadnet.intersections) {
    for (const rl of it.roadLinks) {
      if (rl.type === 'turn_left') left.add(`${rl.startRoad} ${rl.endRoad}`);
      links.set(rl.startRoad, [...(links.get(rl.startRoad) ?? []), rl]);
    }
  }
  const both = candidateRoutes(grid.roadnet, 1, (from, to) => (left.has(`${from} ${to}`) ? 0 : 1 / 2));
  assert.deepEqual(both.filter((r) => shortest.some((q) => q.join() === r.join())), shortest, 'the shortest first, all kept');
  assert.ok(both.length > shortest.length);
  assert.equal(new Set(both.map((r) => r.join())).size, both.length, 'no repeats');
  const added = both.filter((r) => !shortest.some((q) => q.join() === r.join()));
  const lefts = (r: string[]) => r.slice(1).filter((x, i) => left.has(`${r[i]} ${x}`)).length;
  for (const r of added) {
    const short = shortest.find((q) => q[0] === r[0] && q.at(-1) === r.at(-1))!;
    assert.ok(lefts(r) <= lefts(short), `the likeliest route turns left no more than the shortest: ${r.join(' ')}`);
  }
  const counts = entryCounts(grid, 1800);
  const fit = calibrateDemand(grid.roadnet, counts, [], { departUntil: 1800 });
  assert.ok(fit.candidateRoutes > candidateRoutes(grid.roadnet).length && fit.gehBelow5Percent >= 90, `${fit.candidateRoutes} candidates, ${fit.gehBelow5Percent}%`);
  assert.equal(calibrateDemand(grid.roadnet, counts, [], { departUntil: 1800, likelyRoutesPerPair: 0 }).candidateRoutes, candidateRoutes(grid.roadnet).length);
});

test('sparsity: of routes that explain the counts alike, fewer carry the demand', () => {
  const counts = entryCounts(grid, 1800);
  const routesUsed = (sparsity: number) => {
    const fit = calibrateDemand(grid.roadnet, counts, [], { departUntil: 1800, sparsity });
    return { routes: new Set(fit.flows.map((f) => f.route.join())).size, geh: fit.gehBelow5Percent, vehicles: vehicles(fit.flows, 1800) };
  };
  const spread = routesUsed(0), sparse = routesUsed(3);
  assert.ok(sparse.routes < 0.8 * spread.routes, `${sparse.routes} routes with sparsity 3, ${spread.routes} without`);
  assert.ok(sparse.geh >= 90 && Math.abs(sparse.vehicles - spread.vehicles) <= 0.02 * spread.vehicles, JSON.stringify({ sparse, spread }));
});

test('detourCost: of routes that explain the counts alike, those going round a block carry fewer vehicles', () => {
  // every route of the generated grid is a shortest one for its entry and exit; the fit's candidates are not
  const counts = entryCounts(grid, 1800);
  const len = new Map(grid.roadnet.roads.map((r) => [r.id, Math.hypot(r.points[1].x - r.points[0].x, r.points[1].y - r.points[0].y)]));
  const routeLen = (r: string[]) => r.reduce((n, id) => n + len.get(id)!, 0);
  const shortest = new Map<string, number>();
  for (const r of candidateRoutes(grid.roadnet, 3)) shortest.set(`${r[0]} ${r.at(-1)}`, Math.min(shortest.get(`${r[0]} ${r.at(-1)}`) ?? Infinity, routeLen(r)));
  const detoured = (detourCost: number) => {
    const fit = calibrateDemand(grid.roadnet, counts, [], { departUntil: 1800, detourCost });
    const n = (f: Scenario['flows'][number]) => Math.floor((f.endTime - f.startTime) / f.interval + 1e-9) + 1;
    const all = fit.flows.reduce((k, f) => k + n(f), 0);
    const round = fit.flows.filter((f) => routeLen(f.route) > shortest.get(`${f.route[0]} ${f.route.at(-1)}`)! + 1).reduce((k, f) => k + n(f), 0);
    return { round, all, geh: fit.gehBelow5Percent };
  };
  const free = detoured(0), charged = detoured(1);
  assert.ok(free.round > 0.05 * free.all, `without the charge some vehicles go round a block: ${JSON.stringify(free)}`);
  assert.ok(charged.round < 0.5 * free.round, `${charged.round} vehicles go round a block charged, ${free.round} free`);
  assert.ok(charged.geh >= 90 && Math.abs(charged.all - free.all) <= 0.02 * free.all, JSON.stringify({ charged, free }));
});

test('entry roads: the vehicles entering the network per interval are met, peaks too', () => {
  // demand that doubles for 10 minutes on every route from the west
  const peak = grid.flows.filter((f) => f.route[0].startsWith('road_0_')).map((f) => ({ ...f, startTime: 600, endTime: 1199 }));
  const s: Scenario = { roadnet: grid.roadnet, flows: [...grid.flows, ...peak] };
  const counts = entryCounts(s, 1800);
  const fit = calibrateDemand(grid.roadnet, counts, [], { departUntil: 1800 });
  const fed = new Set(grid.roadnet.intersections.flatMap((i) => i.roadLinks.map((l) => l.endRoad)));
  const sums = new Map<string, [number, number]>();
  for (const c of fit.counts) {
    const at = (c.row as CountRow).at as { lane: string };
    const road = at.lane.replace(/_\d+$/, '');
    if (fed.has(road)) continue;
    const k = `${road} ${c.row.begin}`;
    const e = sums.get(k) ?? [0, 0];
    e[0] += c.row.count;
    e[1] += c.model;
    sums.set(k, e);
  }
  const worst = Math.max(...[...sums.values()].map(([n, m]) => Math.abs(m - n)));
  assert.ok(worst <= 1.5, `an entry road's interval off by ${worst.toFixed(2)} vehicles`);
});

test('fitted departures: each entry road\'s vehicles of a 300 s slice evenly spaced over it, none bunched at its start', () => {
  const fit = calibrateDemand(grid.roadnet, entryCounts(grid, 1800), [], { departUntil: 1800 });
  const times = new Map<string, number[]>();
  for (const f of fit.flows) {
    assert.equal(f.startTime, f.endTime, 'one vehicle per flow');
    const k = `${f.route[0]} ${Math.floor(f.startTime / 300)}`;
    times.set(k, [...(times.get(k) ?? []), f.startTime]);
  }
  for (const [k, ts] of times) {
    const s0 = Number(k.split(' ')[1]) * 300, gap = 300 / ts.length;
    ts.sort((a, b) => a - b);
    // the m-th at the midpoint of the m-th of n equal parts, in whole seconds
    ts.forEach((t, m) => assert.ok(Math.abs(t - (s0 + (m + 0.5) * gap)) < 1, `${k}: ${ts.join(' ')}`));
  }
});

test('counts.csv: the position column (stop-line | entry); bad values refused naming the line', () => {
  const rn = grid.roadnet;
  const road = rn.roads[0].id;
  const rows = parseCounts(`begin,end,lane,count,position\n0,300,${road}_1,12,entry\n0,300,${road}_1,9,stop-line\n`, rn);
  assert.deepEqual(rows.map((r) => [r.position, r.count]), [['entry', 12], ['stop-line', 9]], 'an entry and a stop-line detector on one lane do not overlap');
  assert.equal(parseCounts(`begin,end,road,count,position\n0,300,${road},7,entry\n`, rn)[0].position, 'entry');
  const bad = (text: string, message: RegExp) => assert.throws(() => parseCounts(text, rn), (e: unknown) => e instanceof ScenarioError && message.test(e.message));
  bad(`begin,end,lane,count,place\n`, /line 1: expected the header .*optionally followed by ",position", got "begin,end,lane,count,place"/);
  bad(`begin,end,lane,count,position\n0,300,${road}_1,12,midblock\n`, /counts\.csv: line 2: position: expected "stop-line" or "entry", got "midblock"/);
  bad(`begin,end,lane,count,position\n0,300,${road}_1,12,\n`, /line 2: position: expected "stop-line" or "entry", got ""/);
  bad(`begin,end,lane,count,position\n0,300,${road}_1,12\n`, /line 2: expected 5 fields \(begin,end,lane,count,position\), got 4/);
  bad(`begin,end,lane,count\n0,300,${road}_1,12,entry\n`, /line 2: expected 4 fields \(begin,end,lane,count\), got 5/);
  bad(`begin,end,lane,count,position\n0,300,${road}_1,1,entry\n200,500,${road}_1,1,entry\n`, /line 3: .*_1 \(entry\): \[200, 500\) overlaps \[0, 300\) on line 2/);
});

test('measuring runs: the boundary waits of the fit\'s own vehicles are not put back into their departures (a congested 1 x 6 arterial)', async () => {
  // the arterial at 1 vehicle per 10 s on each of its 22 routes for an hour, counted through a 30-minute drain (bench
  // calibrate --grid 1x6 --demand 0.1): the fitted demand mixes vehicles bound for different lanes on one lane, so
  // some of its vehicles queue at the entries, which the original's hardly do
  const arterial = generateGrid({ rows: 1, cols: 6, demand: 1 / 10, endTime: 3599 });
  const seconds = 5400;
  const counts = entryCounts(arterial, seconds);
  const run = async (s: Scenario, observe: (sim: Simulation) => void) => {
    const sim = new Simulation(s);
    for (let t = 0; t < seconds; t++) {
      sim.step();
      observe(sim);
    }
  };
  /** vehicle-seconds the demand's vehicles wait at the boundary for room on their first lane */
  const boundaryWait = async (flows: Scenario['flows']) => {
    let waited = 0;
    await run({ roadnet: arterial.roadnet, flows }, (sim) => (waited += sim.metrics().waitingToEnter));
    return waited;
  };
  const first = await calibrateDemandByRuns(arterial.roadnet, counts, [], { runs: 0, departUntil: 3600, routeSharing: 'even' }, run);
  const measured = await calibrateDemandByRuns(arterial.roadnet, counts, [], { runs: 3, departUntil: 3600, routeSharing: 'even' }, run);
  const w0 = await boundaryWait(first.flows), w3 = await boundaryWait(measured.flows);
  console.log(`1x6 at 1/10: fit GEH<5 ${first.gehBelow5Percent.toFixed(1)}% -> ${measured.gehBelow5Percent.toFixed(1)}% after 3 runs; boundary wait ${w0} -> ${w3} vehicle-s`);
  // measured times only correct the fit: it meets the counts at least as well, and its vehicles queue outside no longer
  assert.ok(measured.gehBelow5Percent >= first.gehBelow5Percent - 1, `${first.gehBelow5Percent}% -> ${measured.gehBelow5Percent}%`);
  assert.ok(w3 <= 1.5 * w0, `boundary wait ${w0} -> ${w3} vehicle-s`);
});

test('candidates: only the routes given are fitted (as routeSampler\'s route file); a route the roadLinks do not connect is refused', () => {
  const counts = entryCounts(grid, 2400);
  const own = grid.flows.map((f) => f.route);
  const fit = calibrateDemand(grid.roadnet, counts, [], { departUntil: 1800, candidates: [...own, own[0]] });
  assert.equal(fit.candidateRoutes, own.length, 'a repeated route is one candidate');
  const given = new Set(own.map((r) => r.join(' ')));
  assert.ok(fit.flows.every((f) => given.has(f.route.join(' '))), 'every fitted vehicle on a given route');
  assert.ok(fit.gehBelow5Percent >= 90, `${fit.gehBelow5Percent}%`);
  const original = vehicles(grid.flows, 2400), fitted = vehicles(fit.flows, 2400);
  assert.ok(Math.abs(fitted - original) <= 0.03 * original, `${fitted} vehicles fitted, ${original} original`);
  assert.throws(() => calibrateDemand(grid.roadnet, counts, [], { candidates: [[own[0][0], own[1][0]]] }), (e: unknown) => e instanceof ScenarioError && /^candidates: \[0\]: no roadLink leads from road/.test(e.message));
  assert.throws(() => calibrateDemand(grid.roadnet, counts, [], { candidates: [['no_such_road']] }), (e: unknown) => e instanceof ScenarioError && /road "no_such_road" is not in the roadnet/.test(e.message));
});

test('route sharing: of the fits sharing counts evenly among routes that explain them alike and by few routes, the one whose simulated counts meet the counts better (a congested 1 x 6 arterial, fixed-time)', async () => {
  // the arterial of the test above, counted and run under the fixed-time controller as bench calibrate does: sharing
  // evenly, a third of the vehicles going straight from each end turn off at the next junction (the original's all
  // drive through), so one lane carries vehicles bound for different lanes and one waiting for a full lane holds the
  // rest: the fitted demand, simulated, misses the counts it was fitted to, and its ATT is far off
  const arterial = generateGrid({ rows: 1, cols: 6, demand: 1 / 10, endTime: 3599 });
  const seconds = 5400;
  let runs = 0;
  const run = async (s: Scenario, observe: (sim: Simulation) => void) => {
    runs++;
    await runControlled(new Simulation(s), fixedTime(), seconds, { onStep: (sim) => observe(sim) });
  };
  /** lane-entry counts per 300 s under fixed-time */
  const counted = async (s: Scenario) => {
    const rows: CountRow[] = [];
    let entries: LaneEntries | undefined;
    let n: Int32Array | undefined;
    await run(s, (sim) => {
      entries ??= new LaneEntries(sim);
      n ??= new Int32Array(sim.net.nLanes);
      entries.forEach((_v, lane) => n![lane]++);
      if (sim.time % 300 > 0) return;
      for (let l = 0; l < sim.net.nLanes; l++) rows.push({ begin: sim.time - 300, end: sim.time, at: { lane: sim.net.laneId(l) }, count: n[l], position: 'entry', line: rows.length + 2 });
      n.fill(0);
    });
    return rows;
  };
  const counts = await counted(arterial);
  runs = 0;
  const fit = await calibrateDemandByRuns(arterial.roadnet, counts, [], { runs: 3, departUntil: 3600 }, run);
  assert.equal(runs, 2 * (3 + 1), 'per way of sharing 3 measuring runs, then a run of the fit');
  assert.deepEqual(fit.simulated?.map((x) => x.routeSharing), ['even', 'few']);
  const chosen = fit.simulated!.find((x) => x.routeSharing === fit.routeSharing)!;
  for (const x of fit.simulated!) assert.ok(chosen.gehBelow5Percent >= x.gehBelow5Percent, JSON.stringify(fit.simulated));
  // the share reported is the one the detectors count
  const again = await counted({ roadnet: arterial.roadnet, flows: fit.flows });
  const share = (100 * counts.filter((c, i) => geh(again[i].count, c.count, 300) < 5).length) / counts.length;
  assert.ok(Math.abs(share - chosen.gehBelow5Percent) < 1e-9, `${share} counted, ${chosen.gehBelow5Percent} reported`);
  const att = async (flows: Scenario['flows']) => (await runControlled(new Simulation({ roadnet: arterial.roadnet, flows }), fixedTime(), 3600)).metrics.averageTravelTime;
  const even = await calibrateDemandByRuns(arterial.roadnet, counts, [], { runs: 3, departUntil: 3600, routeSharing: 'even' }, run);
  const [a0, a1, ae] = [await att(arterial.flows), await att(fit.flows), await att(even.flows)];
  console.log(`1x6 at 1/10: simulated ${JSON.stringify(fit.simulated)}; chosen ${fit.routeSharing}; fixed-time ATT original ${a0.toFixed(1)}, chosen ${a1.toFixed(1)}, even ${ae.toFixed(1)}`);
  assert.equal(fit.routeSharing, 'few');
  // even sharing's ATT is far off; the demand chosen by its simulated counts is nearer (bench calibrate, 5 runs: +2.0%;
  // here, 3 runs: about +7%)
  assert.ok(ae > 1.25 * a0, `sharing evenly: ${ae.toFixed(1)} s against the original's ${a0.toFixed(1)}`);
  assert.ok(Math.abs(a1 - a0) < 0.75 * Math.abs(ae - a0), `chosen: ${a1.toFixed(1)} s, even ${ae.toFixed(1)}, original ${a0.toFixed(1)}`);
});
