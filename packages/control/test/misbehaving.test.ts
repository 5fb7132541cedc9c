/**
 * Third-party controllers that misbehave in ways the supervisor must survive:
 * whatever they do, the run goes on, the signals stay safe, and the fault is
 * reported for the intersections concerned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { SignalSupervisor, type Controller } from '@citybrain/control';

/** Runs `fn` and returns the promise rejections nobody handled meanwhile (each would end the process). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (e: unknown) => void seen.push(e);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

test('an async decide is a fault with a clear message, and its rejection does not end the process', async () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const c = { name: 'async-decide', decide: async () => { throw new Error('model not loaded'); } } as unknown as Controller;
  let sup: SignalSupervisor | undefined;
  const unhandled = await unhandledDuring(async () => {
    sup = new SignalSupervisor(sim, c);
    for (let k = 0; k < 10; k++) {
      sup.tick();
      sim.step();
    }
  });
  assert.deepEqual(unhandled, []);
  assert.equal(sup!.fallen.size, 2);
  assert.match(sup!.faults[0].error, /decide returned a Promise/);
});

test('an async init that rejects hands every intersection to the fallback, and does not end the process', async () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const c = { name: 'async-init', init: async () => { throw new Error('licence server unreachable'); }, decide: (_ix: unknown, s: { green: number }) => s.green } as unknown as Controller;
  let sup: SignalSupervisor | undefined;
  const unhandled = await unhandledDuring(async () => {
    sup = new SignalSupervisor(sim, c);
  });
  assert.deepEqual(unhandled, []);
  assert.equal(sup!.fallen.size, 2);
  assert.deepEqual(sup!.faults.map((f) => f.error), ['licence server unreachable', 'licence server unreachable']);
});
