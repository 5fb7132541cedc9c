import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spread, storedLine, type SpeedCase, type SpeedConditions } from '../dist/bench/speed.js';
import { SIDE_BY_SIDE, STORED_GRID36_TLPLAN } from '../dist/bench/reference.js';
import { cliRunner } from './run-cli.js';

const citybrain = cliRunner(120_000);
const DATA = process.env.CITYBRAIN_DATA ?? fileURLToPath(new URL('../../../../shared/data', import.meta.url));
const hasData = existsSync(join(DATA, 'hangzhou_4x4', 'roadnet_4_4.json'));

test('spread: min and median of the runs (the mean of the middle two for an even count)', () => {
  assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2 });
  assert.deepEqual(spread([4, 1, 3, 2]), { min: 1, median: 2.5 });
  assert.deepEqual(spread([0.12345]), { min: 0.123, median: 0.123 });
});

test('bench speed --json: each case over its runs with the conditions; memory above an empty node process, per vehicle and per lane', () => {
  const r = citybrain('bench', 'speed', '--cases', 'grid2,grid2-tl', '--reps', '2', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { conditions: SpeedConditions; results: SpeedCase[] };
  const k = out.conditions;
  assert.ok(Number.isInteger(k.cores) && k.cores >= 1);
  assert.equal(k.node, process.version);
  assert.equal(k.taskset, null);
  assert.equal(k.reps, 2);
  assert.ok(k.nodeBaselineRssMB > 10, `an empty node process takes memory: ${k.nodeBaselineRssMB}`);
  assert.deepEqual(out.results.map((x) => x.case), ['2x2 grid, built-in plans, 900 s', '2x2 grid --tl-plan, built-in plans, 900 s']);
  for (const c of out.results) {
    assert.equal(c.runs, 2);
    for (const s of [c.loopSeconds, c.loadSeconds, c.processSeconds, c.peakRssMB, c.vehicleUpdatesPerSecond]) {
      assert.ok(s.min > 0 && s.min <= s.median, JSON.stringify(s));
    }
    // the whole process holds the loading and the loop
    assert.ok(c.processSeconds.min > c.loopSeconds.min);
    assert.equal(c.lanes, 24 * 3); // 4 x 2 x 2 + 2 x (2 + 2) roads of 3 lanes
    assert.ok(c.enteredVehicles > 0 && c.vehiclesInNetwork > 0);
    assert.equal(c.aboveNodeMB, Math.round((c.peakRssMB.median - k.nodeBaselineRssMB) * 10) / 10);
    assert.equal(c.kBPerVehicle, Math.round((c.aboveNodeMB * 1024 * 100) / c.enteredVehicles) / 100);
    assert.equal(c.kBPerLane, Math.round((c.aboveNodeMB * 1024 * 10) / c.lanes) / 10);
    assert.ok(c.loadAverage.before >= 0 && c.loadAverage.after >= 0);
    // no peer figure for a grid nobody measured, and nothing divided by one
    assert.equal(c.stored, undefined);
    assert.equal(c.sumo, undefined);
    assert.ok(!/speedup|ratio/i.test(JSON.stringify(c)), JSON.stringify(c));
  }
});

test('bench speed: the conditions beside the table, the stored CityFlow figures labelled as stored', { skip: !hasData && 'benchmark data not present' }, () => {
  const r = citybrain('bench', 'speed', '--data', DATA, '--cases', 'hz1', '--reps', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Speed, measured now: \d+ cores \(.*\), node v\d+\.\d+\.\d+, not pinned, 1 runs per case/);
  assert.match(r.stdout, /an empty node process peaks at [\d.]+ MB/);
  assert.match(r.stdout, /load avg before\/after/);
  const stored = r.stdout.split('\n').filter((l) => l.includes('CityFlow'));
  assert.equal(stored.length, 3, r.stdout);
  for (const l of stored) assert.match(l, /\(stored, measured 2026-12-06 on a 2-core machine/);
  assert.ok(r.stdout.includes(storedLine(SIDE_BY_SIDE.hz1)));
  assert.doesNotMatch(r.stdout, /speedup|x faster/i);
});

test('the stored 36 x 36 figure is the --tlPlan grid\'s, with its vehicle count, and says CityBrain was not measured beside it', () => {
  assert.equal(STORED_GRID36_TLPLAN.vehiclesAt900, 18200);
  assert.match(storedLine(STORED_GRID36_TLPLAN), /^CityFlow 34.8 s \(CityFlow's generator with --tlPlan.*\); peak 642 MB \(stored, measured on a 2-core machine .*CityBrain not run beside it\)$/);
  assert.match(storedLine(SIDE_BY_SIDE.grid72), /CityFlow 173.6 s \/ 187.3 s .*CityBrain beside it then 8.95 s \/ 12.39 s, peak 559 MB \(stored, measured 2026-12-06/);
});

test('bench speed: a wrong case, --reps or --cpu is named in one line', () => {
  for (const [args, re] of [
    [['--cases', 'grid36,nope'], /--cases: unknown case "nope"; choose from hz1, sumo, gridN, gridN-tl \(N 1\.\.100\)/],
    [['--cases', 'grid101'], /grid size expects a whole number from 1 to 100, got "101"/],
    [['--reps', '0'], /--reps expects a whole number from 1 to 20, got "0"/],
    [['--cpu', '999'], /--cpu expects a whole number from 0 to \d+, got "999"/],
  ] as const) {
    const r = citybrain('bench', 'speed', ...args);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr.trim(), re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('generate grid --tl-plan writes CityFlow\'s --tlPlan phases; without it, the 9 default ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-tlplan-'));
  try {
    for (const [flag, times] of [[['--tl-plan'], [30, 5, 30, 5, 30, 5, 30, 5]], [[], [5, 30, 30, 30, 30, 30, 30, 30, 30]]] as const) {
      const r = citybrain('generate', 'grid', '--rows', '2', '--cols', '2', '--out', dir, ...flag);
      assert.equal(r.code, 0, r.stderr);
      const roadnet = JSON.parse(readFileSync(join(dir, 'roadnet.json'), 'utf8')) as { intersections: { virtual: boolean; trafficLight: { lightphases: { time: number }[] } }[] };
      for (const i of roadnet.intersections) assert.deepEqual(i.trafficLight.lightphases.map((p) => p.time), times);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
