/**
 * runControlled's timing hook, which bench control reads its decision times
 * from: one call per step with the wall time of that step's decisions, async
 * step work included, and the run itself unchanged by it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { maxPressure, runControlled, type Controller } from '@citybrain/control';

const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.3 });

test('onTick sees every step once, in order, with its decisions\' wall ms; the run is the same as without it', async () => {
  const steps: number[] = [];
  const timed = await runControlled(new Simulation(scenario), maxPressure(), 200, {
    onTick: (ms, k) => {
      assert.ok(Number.isFinite(ms) && ms >= 0, `ms at step ${k}: ${ms}`);
      steps.push(k);
    },
  });
  assert.deepEqual(steps, Array.from({ length: 200 }, (_, k) => k));
  const plain = await runControlled(new Simulation(scenario), maxPressure(), 200);
  assert.deepEqual(timed.metrics, plain.metrics);
  assert.equal(timed.vehicleUpdates, plain.vehicleUpdates);
});

test('onTick times an async controller\'s step work with its decisions', async () => {
  const wait = 30;
  const base = maxPressure();
  const slow: Controller = {
    name: 'slow',
    init: base.init?.bind(base),
    beginStep: () => new Promise<void>((res) => setTimeout(res, wait)),
    decide: (ix, s, env) => base.decide(ix, s, env),
  };
  const ms: number[] = [];
  const r = await runControlled(new Simulation(scenario), slow, 4, { onTick: (t) => void ms.push(t) });
  assert.deepEqual(r.supervisor!.faults, []);
  assert.equal(ms.length, 4);
  // timers fire no earlier than asked, give or take the clock's rounding
  for (const t of ms) assert.ok(t >= wait - 1, `step took ${t} ms, its step work alone ${wait} ms`);
});

test('under the built-in plans there are no decisions to time', async () => {
  let calls = 0;
  await runControlled(new Simulation(scenario), 'plan', 50, { onTick: () => void calls++ });
  assert.equal(calls, 0);
});
