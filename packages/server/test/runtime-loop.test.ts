import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import type { Controller } from '@citybrain/control';
import { CityRuntime } from '@citybrain/server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Worst lateness of a 10 ms timer over `ms`: how long the event loop was held. */
async function timerLag(ms: number): Promise<number> {
  let worst = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    await sleep(10);
    worst = Math.max(worst, performance.now() - t0 - 10);
  }
  return worst;
}

test('a slow controller in this thread: the loop lets timers and I/O in between steps, runs slower and says so', async () => {
  // a plug-in that computes 20 ms at every step (it stays within the supervisor's budget, so it is not failed)
  const spin = (): Controller => ({
    name: 'spin',
    beginStep() {
      const end = performance.now() + 20;
      while (performance.now() < end);
    },
    decide: (_ix, s) => s.green,
  });
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2 }), { speed: 200, controller: 'spin', extraControllers: { spin } });
  rt.start();
  try {
    const lag = await timerLag(3000);
    console.log(`# worst timer lateness ${lag.toFixed(1)} ms; achieved ${rt.achievedSpeed}x of ${rt.speed}x; ${rt.sim.time} s simulated`);
    // one slice (15 ms) plus the step that overran it (20 ms): ~35 ms of work, ~100 ms of wall time on a shared 2-core machine at load 7 (before: seconds)
    assert.ok(lag < 400, `the event loop was held ${lag.toFixed(0)} ms`);
    assert.equal(rt.lagging, true);
    assert.ok(rt.achievedSpeed > 10 && rt.achievedSpeed < 100, `achieved ${rt.achievedSpeed}`);
    assert.equal(rt.faults.length, 0);
  } finally {
    await rt.close();
  }
});

test('a city that keeps its speed is not lagging and reports what it achieves; paused, it achieves 0', async () => {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2 }), { speed: 20 });
  rt.start();
  try {
    await sleep(2500);
    assert.equal(rt.lagging, false);
    assert.ok(Math.abs(rt.achievedSpeed - 20) < 3, `achieved ${rt.achievedSpeed}x of 20x`);
    // a lower speed applies at once: no backlog of owed steps runs after it
    rt.speed = 1;
    const t = rt.sim.time;
    await sleep(1000);
    assert.ok(rt.sim.time - t <= 2, `${rt.sim.time - t} s simulated in 1 s at 1x`);
    // at 1x the clock moves a whole step a second: measured over windows that end between steps, a city on time
    // must not read as slower than asked (4 steps in 4.6 s is not 0.87x)
    for (let k = 0; k < 8; k++) {
      await sleep(430);
      assert.equal(rt.lagging, false, `lagging at 1x with ${rt.achievedSpeed}x achieved`);
      assert.ok(Math.abs(rt.achievedSpeed - 1) < 0.1, `achieved ${rt.achievedSpeed}x of 1x`);
    }
  } finally {
    rt.stop();
  }
  assert.equal(rt.achievedSpeed, 0);
  assert.equal(rt.lagging, false);
  await rt.close();
});

test('ingestion slower than the city: field events waiting stay bounded in number, the city waits and says it lags, and nothing is lost', async () => {
  let open = false;
  let delivered = 0;
  let produced = 0;
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.3 }), {
    speed: 1000, detectorPeriod: 1, maxPendingEvents: 300, maxIngestLag: 1e9,
    // a store that takes nothing until it is opened (as a full ingestion queue refuses), then takes everything
    sink: async (events) => {
      if (!open) throw new Error('queue full');
      delivered += events.length;
    },
  });
  const street = rt.street!;
  // every event the field devices produce, counted where they are made
  const step = street.step.bind(street);
  street.step = () => {
    const events = step();
    produced += events.length;
    return events;
  };
  rt.start();
  try {
    let worst = 0;
    // over a second: long enough to be measured as lagging
    for (let k = 0; k < 60; k++) {
      await sleep(25);
      worst = Math.max(worst, rt.pendingEvents);
    }
    const stalledAt = rt.sim.time;
    // one step's reports (16 lanes, plates, bays) on top of the bound at most
    assert.ok(worst < 300 + 200, `up to ${worst} events waited`);
    assert.ok(rt.pendingEvents >= 300, 'the city stopped at the bound');
    assert.equal(rt.lagging, true);
    await sleep(200);
    assert.equal(rt.sim.time, stalledAt, 'and stays there while ingestion takes nothing');
    open = true;
    await sleep(500);
    assert.ok(rt.sim.time > stalledAt, 'ingestion took the backlog: the city moves on');
  } finally {
    rt.stop();
  }
  // what the steps reported has all been delivered once the city stops
  for (let k = 0; k < 50 && rt.pendingEvents > 0; k++) await sleep(10);
  assert.equal(rt.pendingEvents, 0);
  assert.equal(delivered, rt.eventsDelivered);
  assert.equal(delivered, produced);
  await rt.close();
});

test('the city does not run ahead of what ingestion took in by more than maxIngestLag simulated seconds', async () => {
  let open = true;
  let oldestRefused = Infinity;
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.3 }), {
    // exact devices: an event's ts is when it was handed over (a late report's is older: incidents-sensing.test.ts)
    speed: 1000, epochMs: 1_767_225_600_000, sensing: 'perfect',
    sink: async (events) => {
      if (!open) {
        oldestRefused = Math.min(oldestRefused, events[0].ts / 1000);
        throw new Error('queue full');
      }
    },
  });
  rt.start();
  try {
    await sleep(300);
    open = false;
    const closedAt = rt.sim.time;
    // over a second: long enough to be measured as lagging
    await sleep(1500);
    // the controllers decide from what ingestion took in: the street never got more than 10 s (and a step) ahead of it
    assert.ok(rt.sim.time - oldestRefused <= 11, `the city at ${rt.sim.time} s, the oldest event waiting from ${oldestRefused} s`);
    assert.ok(rt.sim.time >= closedAt, 'it ran until the bound');
    assert.equal(rt.lagging, true);
    open = true;
    await sleep(300);
    assert.ok(rt.sim.time > closedAt + 11, 'ingestion takes events again: the city moves on');
  } finally {
    await rt.close();
  }
});
