import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRunner } from './run-cli.js';


const citybrain = cliRunner(120_000);

test('bench observe: per scenario and sensing, the queue and KPI errors and each controller\'s ATT on devices beside ground truth, with the targets judged', () => {
  const r = citybrain('bench', 'observe', '--grid', '2x3', '--seconds', '900', '--controllers', 'fixed,max-pressure', '--sensing', 'default,loop', '--json');
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout) as {
    seconds: number; conditions: { before: { cores: number; load1: number } };
    scenarios: { scenario: string; sensing: string; queueMae: number; kpiTravelTimeErrorPercent: number | null; plateMatchRate: number; controllers: Record<string, { attDevices: number; attGroundTruth: number; differencePercent: number }> }[];
    targets: string[];
  };
  assert.equal(o.seconds, 900);
  assert.ok(o.conditions.before.cores >= 1);
  assert.deepEqual(o.scenarios.map((e) => [e.scenario, e.sensing]), [['grid 2x3', 'default'], ['grid 2x3', 'loop']]);
  const [def, loop] = o.scenarios;
  // a fixed plan reads nothing: on devices it does what it does on ground truth
  assert.equal(def.controllers.fixed.attDevices, def.controllers.fixed.attGroundTruth);
  for (const e of o.scenarios) {
    assert.ok(e.queueMae >= 0 && e.queueMae < 3, `${e.sensing}: queue MAE ${e.queueMae}`);
    const mp = e.controllers['max-pressure'];
    assert.ok(mp.attDevices > 0 && mp.attGroundTruth > 0);
    assert.ok(Math.abs(mp.differencePercent - (mp.attDevices / mp.attGroundTruth - 1) * 100) < 0.1, `${mp.differencePercent}% from ${mp.attDevices} / ${mp.attGroundTruth}`);
  }
  // checkpoint cameras under both sensings: trips are timed from plates
  assert.ok(def.kpiTravelTimeErrorPercent !== null && def.kpiTravelTimeErrorPercent < 20, `KPI error ${def.kpiTravelTimeErrorPercent}`);
  assert.ok(def.plateMatchRate > 0.7 && loop.plateMatchRate > 0.5);
  // loops see less than video: the brain's queues are further off
  assert.ok(loop.queueMae > def.queueMae);
  assert.ok(o.targets.some((l) => /^Under the default sensing: ATT on devices within 3% of ground truth: (met|NOT met)/.test(l)));
  assert.ok(o.targets.some((l) => /^With loop detectors only .*better than fixed-time: (met|NOT met)/.test(l)));
});

test('bench observe refuses what it cannot run, naming the option', () => {
  const a = citybrain('bench', 'observe', '--sensing', 'telepathy');
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--sensing: unknown sensing "telepathy"; choose from perfect, default, counts, loop/);
  const b = citybrain('bench', 'observe', '--scenarios', 'HZ1');
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--scenarios HZ1 needs --data DIR/);
  const c = citybrain('bench', 'observe', '--controllers', 'oracle');
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /oracle/);
});
