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

test('events the steps reported while a delivery was in flight go to ingestion once it is done, without waiting for another step', async () => {
  const batches: number[] = [];
  const rt = new CityRuntime(generateGrid({ rows: 1, cols: 1, demand: 0.3 }), {
    detectorPeriod: 1,
    sink: async (events) => {
      batches.push(events.length);
      await new Promise((r) => setTimeout(r, 5));
    },
  });
  // several steps back to back, as the loop does when it catches up, then the city is paused
  for (let k = 0; k < 5; k++) await rt.stepOnce();
  assert.ok(rt.pendingEvents > 0, 'events of later steps wait behind the first delivery');
  for (let k = 0; k < 50 && (rt.pendingEvents > 0 || rt.eventsDelivered < batches.reduce((a, b) => a + b, 0)); k++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(rt.pendingEvents, 0, 'nothing is left waiting while the city is paused');
  assert.equal(batches.length, 2);
  assert.equal(rt.eventsDelivered, batches[0] + batches[1]);
});
