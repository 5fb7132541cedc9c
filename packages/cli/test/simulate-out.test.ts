/**
 * simulate --out and --seeds: the study's files as a traffic engineer opens
 * them, checked for their numbers against the run's own summary.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { cliRunner } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'citybrain-simulate-out-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const citybrain = cliRunner(120_000);

/** a 2 x 3 grid with two through lanes, so that seeds (which lane a vehicle starts in) change the run */
function writeGrid(): string[] {
  const s = generateGrid({ rows: 2, cols: 3, lanesPerMovement: { left: 1, straight: 2, right: 1 }, demand: 0.08 });
  const roadnet = join(tmp, 'roadnet.json'), flow = join(tmp, 'flow.json');
  writeFileSync(roadnet, JSON.stringify(s.roadnet));
  writeFileSync(flow, JSON.stringify(s.flows));
  return ['--roadnet', roadnet, '--flow', flow];
}

const csv = (path: string) => {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, k) => [cols[k], v])));
};

test('simulate --out writes trips, approaches, intersections, a time series, a summary and an offline report that agree with the run', () => {
  const files = writeGrid();
  const out = join(tmp, 'study');
  const r = citybrain('simulate', ...files, '--controller', 'max-pressure', '--steps', '1200', '--out', out, '--window', '120', '--json');
  assert.equal(r.code, 0, r.stderr);
  const run = JSON.parse(r.stdout);
  assert.deepEqual(run.out.files, ['trips.csv', 'trips.jsonl', 'approaches.csv', 'intersections.csv', 'timeseries.csv', 'summary.json', 'report.html']);
  const trips = csv(join(out, 'trips.csv'));
  assert.equal(trips.length, run.enteredVehicles - run.waitingToEnter, 'one record per vehicle that got onto the network');
  assert.equal(trips.filter((t) => t.arrival !== '').length, run.finishedVehicles);
  const jsonl = readFileSync(join(out, 'trips.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(jsonl.length, trips.length);
  assert.equal(jsonl[0].id, trips[0].id);
  if (run.waitingToEnter === 0) {
    const att = trips.reduce((a, t) => a + Number(t.duration), 0) / trips.length;
    assert.ok(Math.abs(att - run.averageTravelTime) < 0.01, `trips ${att} s, ATT ${run.averageTravelTime} s`);
  }
  const approaches = csv(join(out, 'approaches.csv'));
  assert.equal(approaches.length, 6 * 4);
  for (const a of approaches) assert.match(a.los, /^[A-F]$/);
  assert.ok(approaches.every((a) => a.roadName === ''), 'a generated grid names no street: the column is empty');
  assert.equal(csv(join(out, 'intersections.csv')).length, 6);
  assert.deepEqual(csv(join(out, 'timeseries.csv')).map((s) => Number(s.time)), [120, 240, 360, 480, 600, 720, 840, 960, 1080, 1200]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.kpis.averageTravelTime.mean, run.averageTravelTime);
  assert.equal(summary.kpis.averageTravelTime.ci95, null, 'one seed: no interval');
  assert.equal(summary.kpis.tripsFinished.mean, run.finishedVehicles);
  assert.match(summary.definitions.controlDelay, /per vehicle that crossed a stop line/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.ok(!/(src|href)=["']?(https?:)?\/\//i.test(html), 'nothing fetched: the report opens offline');
  assert.ok(!/<script/i.test(html));
  assert.ok((html.match(/<svg/g) ?? []).length >= 5, 'four time-series plots and the map');
  assert.ok(html.includes(`${run.averageTravelTime.toFixed(2)} s`), 'the ATT as the run printed it');
  for (const i of ['intersection_1_1', 'intersection_3_2']) assert.ok(html.includes(i));
});

test('simulate --seeds N reports each KPI\'s mean with a 95% confidence interval, and the study carries a seed column', () => {
  const files = writeGrid();
  const out = join(tmp, 'seeds');
  const r = citybrain('simulate', ...files, '--controller', 'sotl', '--steps', '900', '--seeds', '3', '--seed', '7', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /seeds {15}3 \(7, 8, 9\), 900 s each; mean ± 95% confidence interval/);
  assert.match(r.stdout, /average travel time \d+\.\d\d ± \d+\.\d\d s/);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const att = summary.kpis.averageTravelTime;
  assert.deepEqual(summary.seeds, [7, 8, 9]);
  assert.equal(att.perSeed.length, 3);
  assert.ok(new Set(att.perSeed).size > 1, 'seeds change which lane vehicles start in');
  assert.ok(att.ci95 > 0);
  // Student's t for 2 degrees of freedom
  const mean = att.perSeed.reduce((a: number, b: number) => a + b, 0) / 3;
  const sd = Math.sqrt(att.perSeed.reduce((a: number, x: number) => a + (x - mean) ** 2, 0) / 2);
  assert.ok(Math.abs(att.ci95 - (4.303 * sd) / Math.sqrt(3)) < 1e-9);
  assert.deepEqual([...new Set(csv(join(out, 'trips.csv')).map((t) => t.seed))], ['7', '8', '9']);
  const json = JSON.parse(citybrain('simulate', ...files, '--steps', '300', '--seeds', '2', '--json').stdout);
  assert.deepEqual(json.runs.map((x: { seed: number }) => x.seed), [0, 1]);
});

test('simulate --out and --seeds name what is wrong', () => {
  const files = writeGrid();
  const bad = (args: string[], re: RegExp) => {
    const r = citybrain('simulate', ...files, ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  };
  bad(['--seeds', '0'], /--seeds expects a whole number from 1 to 100, got "0"/);
  bad(['--seeds', '2', '--replay', join(tmp, 'replay')], /--replay records one run: give it without --seeds/);
  bad(['--window', '0', '--out', join(tmp, 'w')], /--window expects a whole number from 1/);
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  bad(['--out', file, '--steps', '10'], /--out .*a-file: cannot create the folder/);
  assert.ok(!existsSync(join(tmp, 'w')), 'a refused command writes nothing');
});
