import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { startServer, type RunningServer } from '@citybrain/server';
import { startTestServer } from './helpers.js';

test('the virtual city\'s drivers reserve through the parking service, arrive at their bay (its sensor confirms) and leave; walk-ins fill the rest', async () => {
  const { server, cleanup } = await startTestServer('parking-city', generateGrid({ rows: 2, cols: 2, demand: 0.05 }), { parkingBookingsPerHour: 30, sensing: 'perfect' });
  try {
    const rt = server.runtime;
    for (let k = 0; k < 2400; k++) {
      await rt.stepOnce();
      if (k % 60 === 0) {
        while (rt.pendingEvents > 0) await new Promise((r) => setTimeout(r, 2));
        await server.parking.tick();
      }
    }
    await server.parking.settled();
    const mine = await server.store.parking.listReservations({ app: 'virtual-city-app', limit: 1000 });
    assert.ok(mine.length >= 5, `bookings: ${mine.length}`);
    assert.ok(mine.some((r) => r.status === 'arrived' || r.status === 'completed'), `statuses: ${mine.map((r) => r.status).join(',')}`);
    // every arrival the brain confirmed is a sensor's report of that bay, in the window's arrival time
    for (const r of mine.filter((x) => x.arrivedAt !== null)) assert.ok(r.arrivedAt! >= r.from - server.parking.rules.earlyArrivalMs && r.arrivedAt! <= r.from + server.parking.rules.graceMs);
    const sessions = await server.store.parking.listSessions({ limit: 1000 });
    assert.ok(sessions.some((s) => s.reservation === null), 'walk-in sessions too');
    // exact sensors: every bay whose sensor has reported is what the street has, bay for bay (the others are unknown, not free)
    // what the street reported in its last steps, through ingestion (a batch in flight is not pending) to the service
    while (rt.pendingEvents > 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 300));
    await server.parking.settled();
    const reported = rt.street!.bays.filter((b) => server.parking.bayStatus(b.id) !== 'unknown');
    assert.ok(reported.length > rt.street!.bays.length / 2, `${reported.length} bays reported`);
    for (const b of reported) assert.equal(server.parking.bayStatus(b.id), b.occupied ? 'occupied' : 'free', b.id);
    const unknown = server.parking.live().reduce((a, s) => a + s.unknown, 0);
    assert.equal(unknown, rt.street!.bays.length - reported.length);
    assert.deepEqual(await server.store.parking.integrity(), { doubleBookings: 0, doubleCharges: 0 });
  } finally {
    await cleanup();
  }
});

test('restarted, the street\'s drivers book again: their keys are new to the service (this run\'s driver-1 is not the last run\'s)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-parking-restart-'));
  const serve = () => startServer({
    scenario: generateGrid({ rows: 2, cols: 2, demand: 0.05 }), storeUrl: `sqlite:${join(dir, 'city.db')}`, parkingBookingsPerHour: 30, sensing: 'perfect',
    port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false },
  });
  const run = async (server: RunningServer, steps: number) => {
    const rt = server.runtime;
    for (let k = 0; k < steps; k++) {
      await rt.stepOnce();
      // the bays' sensor reports through ingestion to the service (guidance offers only bays reported free)
      if (k % 60 === 0) {
        while (rt.pendingEvents > 0) await new Promise((r) => setTimeout(r, 2));
        await server.parking.tick();
      }
    }
    // the app's bookings are in flight until their promises settle
    await new Promise((r) => setTimeout(r, 200));
    await server.parking.settled();
  };
  try {
    const a = await serve();
    await run(a, 900);
    const first = await a.store.parking.listReservations({ app: 'virtual-city-app', limit: 1000 });
    await a.close();
    assert.ok(first.length >= 3, `${first.length} bookings in the first run`);
    const payers = new Set(first.map((r) => r.payer));

    const b = await serve();
    try {
      await run(b, 900);
      const all = await b.store.parking.listReservations({ app: 'virtual-city-app', limit: 1000 });
      const again = all.filter((r) => !first.some((f) => f.id === r.id));
      assert.ok(again.length >= 3, `${again.length} bookings after the restart`);
      // the new run's drivers are named as the last run's were (driver-1, driver-2, ...): booked all the same
      assert.ok(again.some((r) => payers.has(r.payer)), `a driver named as one of the first run booked (first: ${[...payers].join(', ')}; after: ${again.map((r) => r.payer).join(', ')})`);
      assert.deepEqual(await b.store.parking.integrity(), { doubleBookings: 0, doubleCharges: 0 });
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
