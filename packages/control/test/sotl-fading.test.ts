import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '@citybrain/engine';
import { fadingSotl, intersectionPhases, sotl, sotlParams, SotlPolicy } from '@citybrain/control';
import { att, pulsedArterial, unbalancedGrid } from './cities.js';

// measured: 130.1 s against 148.6 s on the grid, 243.4 s against 278.6 s on the arterial (both 12.5% below)
test('sotl-fading: at least 8% below max-pressure on an unbalanced grid and a pulsed arterial it was not tuned on', async () => {
  for (const [name, s] of [['unbalanced 3x3 grid', unbalancedGrid()], ['pulsed 1x4 arterial', pulsedArterial()]] as const) {
    const mp = await att(s, 'max-pressure', 1200);
    const mine = await att(s, 'sotl-fading', 1200);
    assert.ok(mine <= 0.92 * mp, `${name}: sotl-fading ${mine.toFixed(1)} s, max-pressure ${mp.toFixed(1)} s`);
  }
});

test('sotl fade: a red phase\'s kappa forgets, bounded by its largest demand x 1 / (1 - exp(-dt / fade)); without fade it only grows', () => {
  const s = unbalancedGrid();
  const plain = new Simulation(s);
  const ixs = intersectionPhases(plain);
  const tau = 10;
  const counter = new SotlPolicy(ixs, sotlParams(), plain.net);
  const fading = new SotlPolicy(ixs, sotlParams({ fade: tau }), plain.net);
  // the signals stay in phase 1 (the roadnet's plans are not run): the other greens' kappa is all red time
  for (const ix of ixs) plain.setPhase(ix.intersection, 1);
  let peak = 0;
  for (let k = 0; k < 300; k++) {
    counter.accumulate(plain);
    fading.accumulate(plain);
    for (const ix of ixs) for (const l of ix.inLanes) peak = Math.max(peak, plain.laneApproachingCount(l, 100));
    plain.step();
  }
  const a = counter.copyState().kappa, b = fading.copyState().kappa;
  const bound = 2 * peak / (1 - Math.exp(-plain.interval / tau)); // a phase serves two approaches
  assert.ok(a.some((x) => x > bound), 'the plain counter grows past what a fading one can reach');
  for (let i = 0; i < a.length; i++) {
    assert.ok(b[i] <= a[i] + 1e-9, `slot ${i}: fading ${b[i]} above plain ${a[i]}`);
    assert.ok(b[i] <= bound, `slot ${i}: fading ${b[i]} above ${bound}`);
  }
});

test('sotl-fading: its name, and a bad fade is refused naming the option', () => {
  assert.equal(fadingSotl().name, 'sotl-fading');
  assert.equal(sotl({ fade: 5 }).name, 'sotl');
  assert.throws(() => sotl({ fade: -1 }), /sotl: option fade/);
  assert.throws(() => fadingSotl({ fade: Number.NaN }), /sotl: option fade/);
});
