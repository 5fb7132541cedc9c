import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { CityRuntime } from '@citybrain/server';

test('an unexpected error stops the city loop, is reported, and does not take the process down', async () => {
  let reported: unknown;
  const rt = new CityRuntime(generateGrid({ rows: 1, cols: 1 }), { speed: 100, onError: (e) => (reported = e) });
  rt.stepOnce = async () => {
    throw new Error('disk on fire');
  };
  rt.start();
  for (let k = 0; k < 50 && rt.isRunning; k++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(rt.isRunning, false);
  assert.equal(rt.error, 'disk on fire');
  assert.equal((reported as Error).message, 'disk on fire');
});
