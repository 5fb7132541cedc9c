import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { type Event } from '@citybrain/brain';
import { CityRuntime } from '@citybrain/server';

// Issue #12, item 4: under overload an incident storm went to the police feed, most "cleared" within 50 ms. Ingestion
// behind the city hands the brain batches holding several reports of each lane, and each report was judged on the
// estimate of the batch's last one (a queue that formed later, a lane downstream that filled later).
test('incident detection gives the same incidents whether ingestion hands it the reports step by step or in large late batches', async () => {
  const scenario = generateGrid({ rows: 3, cols: 3, demand: 0.08 });
  // a fixed-time plan ignores what the brain sees, so both streets are the same whatever their estimates; so
  // gridlock detection is off: it judges what the brain sees, later in the late runtime, and hands intersections over
  const opts = { epochMs: 1_767_225_600_000, controller: 'fixed', breakdownsPerHour: 20, gridlock: false as const };
  const prompt = new CityRuntime(scenario, opts);
  const held: Event[] = [];
  const late = new CityRuntime(scenario, { ...opts, sink: async (events) => void held.push(...events) });
  for (let k = 1; k <= 3600; k++) {
    await prompt.stepOnce();
    await late.stepOnce();
    // ingestion 5 simulated minutes behind the city: one batch of 300 steps' reports
    if (k % 300 === 0) late.ingested(held.splice(0));
  }
  late.ingested(held.splice(0));
  const seen = (rt: CityRuntime) => rt.incidents.incidents.map((i) => `${i.lane} ${i.since}-${i.detectedAt}-${i.clearedAt}`);
  assert.ok(prompt.street!.breakdowns.length >= 5, `breakdowns: ${prompt.street!.breakdowns.length}`);
  assert.ok(prompt.incidents.incidents.length >= 1, 'some breakdowns were detected');
  assert.deepEqual(seen(late), seen(prompt));
});
