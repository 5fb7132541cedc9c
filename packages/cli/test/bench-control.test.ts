/**
 * bench control on a city of the user's own, and the literature's metric it
 * prints beside ATT (summaryTravelTime), checked against a slow, obvious
 * count of the same thing and against ATT's decomposition.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGrid, Simulation } from '@citybrain/engine';
import { intersectionPhases, maxPressure, runControlled } from '@citybrain/control';
import { ApproachTime } from '../dist/bench/approach-time.js';
import { removedShare } from '../dist/bench/control.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'citybrain-bench-control-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function citybrain(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('summaryTravelTime: the approach lanes\' vehicle-seconds per vehicle seen there, as a per-vehicle tally counts them', async () => {
  // busy enough that handles are freed and reused while vehicles queue
  const s = generateGrid({ rows: 2, cols: 3, demand: 0.25, endTime: 500 });
  const sim = new Simulation(s);
  const ixs = intersectionPhases(sim);
  const lanes = ixs.flatMap((ix) => ix.inLanes);
  const metric = new ApproachTime(sim, lanes);
  const approach = new Set(lanes);
  const perVehicle = new Map<string, number>();
  const buf = new Int32Array(4096);
  let elsewhere = 0, waiting = 0;
  await runControlled(sim, maxPressure(), 800, {
    onStep() {
      metric.sample();
      for (const l of lanes) {
        const n = sim.laneVehicles(l, buf);
        for (let k = 0; k < n; k++) {
          const id = sim.vehicleId(buf[k]);
          perVehicle.set(id, (perVehicle.get(id) ?? 0) + sim.interval);
        }
      }
      // every other drivable (lanes off the approaches, lane links) and the boundary queues
      for (let d = 0; d < sim.net.nDrivables; d++) if (!approach.has(d)) elsewhere += sim.laneVehicleCount(d) * sim.interval;
      waiting += sim.waitingCount * sim.interval;
    },
  });
  const tally = [...perVehicle.values()];
  const expected = tally.reduce((a, b) => a + b, 0) / tally.length;
  assert.ok(tally.length > 500, `${tally.length} vehicles seen`);
  assert.ok(Math.abs(metric.value - expected) < 1e-9, `metric ${metric.value} s, tally ${expected} s`);
  // ATT is the approaches plus everything the metric leaves out (other lanes, junctions, the boundary queues),
  // over every vehicle generated, some of which never reached a lane in this oversaturated run
  const m = sim.metrics();
  assert.ok(tally.length < m.enteredVehicles && waiting > 0);
  const att = (expected * tally.length + elsewhere + waiting) / m.enteredVehicles;
  assert.ok(Math.abs(att - m.averageTravelTime) < 1e-6, `decomposed ${att} s, ATT ${m.averageTravelTime} s`);
  assert.ok(metric.value < m.averageTravelTime);
});

test('the share of avoidable delay removed is (M - ATT) / (M - F), undefined when M is at the floor', () => {
  assert.equal(removedShare(400, 300, 340), 60);
  assert.equal(removedShare(400, 300, 400), 0);
  assert.equal(removedShare(400, 300, 450), -50);
  assert.equal(removedShare(300, 300, 300), null);
});

test('bench control runs on the user\'s own files, several at once, and names what is wrong', () => {
  const files: string[] = [];
  for (const [name, s] of [['grid', generateGrid({ rows: 2, cols: 2, demand: 0.15 })], ['arterial', generateGrid({ rows: 1, cols: 3, demand: 0.1 })]] as const) {
    const roadnet = join(tmp, `${name}-roadnet.json`), flow = join(tmp, `${name}-flow.json`);
    writeFileSync(roadnet, JSON.stringify(s.roadnet));
    writeFileSync(flow, JSON.stringify(s.flows));
    files.push('--roadnet', roadnet, '--flow', flow, '--name', name);
  }
  const r = citybrain('bench', 'control', ...files, '--controllers', 'fixed,sotl', '--seconds', '600', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.scenarios.map((x: { scenario: string }) => x.scenario), ['grid', 'arterial']);
  assert.equal(out.grid36, null, 'the 36 x 36 grid is timed only with the reference scenarios');
  assert.ok(out.conditions.cores >= 1);
  for (const sc of out.scenarios) {
    assert.deepEqual(Object.keys(sc.controllers), ['max-pressure', 'fixed', 'sotl'], 'max-pressure always runs: it is M');
    assert.equal(sc.maxPressureAtt, sc.controllers['max-pressure'].att);
    assert.equal(sc.stored, undefined, 'no stored CityFlow figure for a user\'s city');
    assert.ok(sc.floorAtt > 0 && sc.floorAtt < sc.maxPressureAtt);
    for (const c of Object.values(sc.controllers) as { att: number; summaryTravelTime: number; avoidableDelayRemovedPercent: number }[]) {
      assert.ok(c.summaryTravelTime > 0 && c.summaryTravelTime < c.att);
      assert.equal(c.avoidableDelayRemovedPercent, Math.round(((sc.maxPressureAtt - c.att) / (sc.maxPressureAtt - sc.floorAtt)) * 1000) / 10);
    }
    const best = Object.entries(sc.controllers as Record<string, { att: number }>).sort((a, b) => a[1].att - b[1].att)[0];
    assert.equal(sc.best.controller, best[0]);
    assert.equal(sc.best.meetsTarget, sc.best.avoidableDelayRemovedPercent >= 60);
  }
  const text = citybrain('bench', 'control', ...files.slice(0, 6), '--controllers', 'fixed', '--seconds', '300');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Share of avoidable delay removed/);
  assert.match(text.stdout, /summaryTravelTime/);
  assert.match(text.stdout, /cores, load average/);

  const bad = (args: string[], re: RegExp) => {
    const b = citybrain('bench', 'control', ...args);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, re);
  };
  bad(['--roadnet', files[1]], /--roadnet and --flow go in pairs: got 1 --roadnet and 0 --flow/);
  bad([...files.slice(0, 4), '--controllers', 'fixed,warp'], /--controllers: unknown "warp"; choose from fixed, max-pressure/);
  bad([...files.slice(0, 4), '--name', 'a', '--name', 'b'], /--name names each --roadnet\/--flow pair in order: got 2 names for 1 scenarios/);
  bad(['--roadnet', join(tmp, 'none.json'), '--flow', files[3]], /--roadnet .*none\.json: no such file/);
  bad([...files.slice(0, 4), '--seconds', '5'], /--seconds expects a whole number from 60/);
});
