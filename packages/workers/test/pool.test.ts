import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import {
  inProcessExecutor,
  predictive,
  pressurePlus,
  runControlled,
  SignalSupervisor,
  type Plan,
  type RolloutBatch,
  type RolloutParams,
} from '@citybrain/control';
import { workerPool } from '@citybrain/workers';

const scenario: Scenario = generateGrid({ rows: 2, cols: 2, demand: 0.3 });

const params: RolloutParams = {
  horizon: 25,
  base: { kind: 'pressure-plus', period: 5, periodSteps: 5, range: null, keepWeight: 2, entryQueue: false, gapOut: null },
  rules: { yellowSteps: 5, minGreen: 5 },
  yellowTime: 5,
};

/** A twin 150 s into the grid under pressure-plus, and a batch of distinct plans from its signal state. */
async function twinAndBatch(): Promise<{ sim: Simulation; sup: SignalSupervisor; batch: RolloutBatch }> {
  const sim = new Simulation(scenario);
  const sup = new SignalSupervisor(sim, pressurePlus());
  for (let k = 0; k < 150; k++) {
    await sup.tick();
    sim.step();
  }
  const n = sup.env.intersections.length;
  const signals = {
    green: Int32Array.from(sup.status, (s) => s.green),
    greenSince: Float64Array.from(sup.status, (s) => s.greenSince),
    yellowLeft: Int32Array.from(sup.status, (s) => s.yellowLeft),
  };
  const plans: Plan[] = [1, 2, 3, 4].map((g) => ({ phase: new Int32Array(n).fill(g), hold: new Int32Array(n).fill(10 + g) }));
  plans.push({ phase: new Int32Array(n).fill(-1), hold: new Int32Array(n) });
  return { sim, sup, batch: { signals, plans, params } };
}

test('worker pool and in-process executor give identical costs for the same state', async () => {
  const { sim, sup, batch } = await twinAndBatch();
  const local = await inProcessExecutor().evaluate(sim, sup.env.intersections, batch);
  // the plans differ, so do their costs: the comparison is not vacuous
  assert.ok(new Set(local.map((c) => c[c.length - 1])).size > 1);
  for (const mainThread of [true, false]) {
    const pool = workerPool(scenario, { size: 2, mainThread });
    try {
      const remote = await pool.evaluate(sim, sup.env.intersections, batch);
      assert.equal(remote.length, batch.plans.length);
      assert.deepEqual(remote.map((c) => Array.from(c)), local.map((c) => Array.from(c)), `mainThread ${mainThread}`);
    } finally {
      await pool.close();
    }
  }
});

test('predictive on the worker pool runs exactly as in process, with either search and base', async () => {
  const att = async (search: 'parallel' | 'sequential', exec?: ReturnType<typeof workerPool>) => {
    const sim = new Simulation(scenario);
    // sequential search defaults to the SOTL base, whose counters travel with each batch
    const c = predictive({ search, horizon: 20, ...(exec ? { executor: exec } : {}) });
    const r = await runControlled(sim, c, 200, { budgetMs: 60_000 });
    await c.close();
    assert.equal(r.supervisor!.faults.length, 0);
    return r.metrics;
  };
  for (const search of ['parallel', 'sequential'] as const) {
    const pool = workerPool(scenario, { size: 1, mainThread: false });
    const remote = await att(search, pool);
    const local = await att(search);
    assert.deepEqual(remote, local, search);
    await assert.rejects(pool.evaluate(new Simulation(scenario), [], { signals: { green: new Int32Array(0), greenSince: new Float64Array(0), yellowLeft: new Int32Array(0) }, plans: [], params }), /closed/);
  }
});

test('a pool of another scenario refuses the state with a clear error', async () => {
  const { sim, sup, batch } = await twinAndBatch();
  const pool = workerPool(generateGrid({ rows: 1, cols: 2 }), { size: 1 });
  try {
    await assert.rejects(pool.evaluate(sim, sup.env.intersections, batch), /not the same scenario|another scenario/);
  } finally {
    await pool.close();
  }
});

test('bad pool options are refused', () => {
  assert.throws(() => workerPool(scenario, { size: 0 }), /size must be an integer >= 1/);
});

test('workers shut down: a process exits after close(), and idle workers do not hold it open', () => {
  const engine = import.meta.resolve('@citybrain/engine');
  const control = import.meta.resolve('@citybrain/control');
  const workers = import.meta.resolve('@citybrain/workers');
  const script = (close: boolean) => `
    import { generateGrid, Simulation } from '${engine}';
    import { predictive, runControlled } from '${control}';
    import { workerPool } from '${workers}';
    const scenario = generateGrid({ rows: 1, cols: 2, demand: 0.2 });
    const pool = workerPool(scenario, { size: 2 });
    const c = predictive({ executor: pool, horizon: 10 });
    const r = await runControlled(new Simulation(scenario), c, 60, { budgetMs: 60000 });
    ${close ? 'await c.close();' : ''}
    console.log('done', r.supervisor.faults.length);
  `;
  for (const close of [true, false]) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(close)], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, `process killed by timeout (close=${close}): workers kept it alive`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'done 0');
  }
});
