import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { CityRuntime, nodeControllerHost } from '@citybrain/server';

/** Phases shown at every step, per intersection, and the city's figures at the end. */
async function run(rt: CityRuntime, warm: number, steps: number, controller: string): Promise<{ phases: number[][]; metrics: unknown; faults: number }> {
  for (let k = 0; k < warm; k++) await rt.stepOnce();
  rt.assignment.assign([...rt.sim.net.signalised], controller);
  const phases: number[][] = [];
  for (let k = 0; k < steps; k++) {
    await rt.stepOnce();
    phases.push(rt.supervisor.env.intersections.map((ix) => rt.sim.phase(ix.intersection)));
  }
  return { phases, metrics: rt.sim.metrics(), faults: rt.faults.length };
}

for (const controller of ['predictive-sequential', 'predictive']) {
  test(`${controller} decides in the controller worker exactly as in the main thread (same phases every step, same city)`, async () => {
    const scenario = generateGrid({ rows: 3, cols: 3, demand: 0.05 });
    const inline = new CityRuntime(scenario, { epochMs: 1_767_225_600_000, hostedControllers: [] });
    const hosted = new CityRuntime(scenario, { epochMs: 1_767_225_600_000, controllerHost: nodeControllerHost });
    try {
      const a = await run(inline, 300, 300, controller);
      const b = await run(hosted, 300, 300, controller);
      assert.equal(a.faults, 0);
      assert.equal(b.faults, 0, JSON.stringify(hosted.faults.slice(0, 3)));
      assert.deepEqual(b.phases, a.phases);
      assert.deepEqual(b.metrics, a.metrics);
      // and it did decide: some intersection changed phase under it
      assert.ok(a.phases.some((p, k) => k > 0 && p.some((x, i) => x !== a.phases[k - 1][i])));
    } finally {
      await inline.close();
      await hosted.close();
    }
  });
}

test('a hosted controller whose worker is gone faults its intersections to the fixed plan; the city goes on', async () => {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.05 }), { epochMs: 1_767_225_600_000, controller: 'predictive', controllerHost: nodeControllerHost });
  try {
    for (let k = 0; k < 10; k++) await rt.stepOnce();
    assert.equal(rt.faults.length, 0);
    await rt.close();
    for (let k = 0; k < 10; k++) await rt.stepOnce();
    assert.equal(rt.supervisor.fallen.size, 4);
    assert.match(rt.faults[0].error, /controller worker was closed/);
    assert.equal(rt.sim.time, 20);
  } finally {
    await rt.close();
  }
});
