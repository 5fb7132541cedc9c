import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import type { Controller } from '@citybrain/control';
import { startServer } from '@citybrain/server';

test('a failing controller: its intersection falls back to fixed time, and the fault shows in the API and the metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-fault-'));
  const broken = (): Controller => ({ name: 'broken', decide: () => { throw new Error('camera feed lost'); } });
  const server = await startServer({
    scenario: generateGrid({ rows: 1, cols: 2, demand: 0.1 }),
    storeUrl: `sqlite:${join(dir, 'f.db')}`, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false,
    extraControllers: { broken },
  });
  try {
    const h = { authorization: `Bearer ${server.createdTokens[0].token}`, 'content-type': 'application/json' };
    const put = await fetch(`${server.url}/api/v1/intersections/intersection_1_1/controller`, { method: 'PUT', headers: h, body: JSON.stringify({ controller: 'broken' }) });
    assert.equal(put.status, 200);
    for (let k = 0; k < 80; k++) await server.runtime.stepOnce();
    const faults = (await (await fetch(`${server.url}/api/v1/faults`, { headers: h })).json()) as { controller: string; intersection: string; error: string }[];
    assert.equal(faults.length, 1);
    assert.deepEqual([faults[0].controller, faults[0].intersection, faults[0].error], ['broken', 'intersection_1_1', 'camera feed lost']);
    const ints = (await (await fetch(`${server.url}/api/v1/intersections`, { headers: h })).json()) as { id: string; fallback: boolean }[];
    const byId = Object.fromEntries(ints.map((i) => [i.id, i.fallback]));
    assert.deepEqual(byId, { intersection_1_1: true, intersection_2_1: false });
    // the fallen intersection keeps changing phase, through yellow, on the fixed-time fallback
    const log = ((await (await fetch(`${server.url}/api/v1/intersections/intersection_1_1`, { headers: h })).json()) as { phaseLog: unknown[] }).phaseLog;
    assert.ok(log.length >= 3, 'phases still change');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^citybrain_intersections_fallen_back 1$/m);
    assert.match(metrics, /^citybrain_controller_faults_total\{controller="broken"\} 1$/m);
    // an operator hands it to a working controller: it is reinstated
    await fetch(`${server.url}/api/v1/intersections/intersection_1_1/controller`, { method: 'PUT', headers: h, body: JSON.stringify({ controller: 'max-pressure' }) });
    assert.equal(server.runtime.supervisor.fallen.size, 0);
    assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^citybrain_intersections_fallen_back 0$/m);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('putting in charge a controller that cannot start (its factory or init throws, or its async init rejects): the intersection falls back with the fault, the server stays up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-fault-'));
  let made = 0;
  const extraControllers: Record<string, () => Controller> = {
    'bad-init': () => ({ name: 'bad-init', init: () => { throw new Error('no licence'); }, decide: (_ix, s) => s.green }),
    'bad-async-init': () => ({ name: 'bad-async-init', init: (async () => { throw new Error('model download failed'); }) as unknown as () => void, decide: (_ix, s) => s.green }),
    'bad-factory': () => {
      if (made++ > 0) throw new Error('one instance per licence');
      return { name: 'bad-factory', decide: (_ix, s) => s.green };
    },
  };
  extraControllers['bad-factory'](); // a loader probes the factory once, as citybrain --plugin does
  const server = await startServer({
    scenario: generateGrid({ rows: 1, cols: 4, demand: 0.1 }),
    storeUrl: `sqlite:${join(dir, 'f.db')}`, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false,
    extraControllers,
  });
  const unhandled: unknown[] = [];
  const listener = (e: unknown) => void unhandled.push(e);
  process.on('unhandledRejection', listener);
  try {
    const h = { authorization: `Bearer ${server.createdTokens[0].token}`, 'content-type': 'application/json' };
    const put = (id: string, controller: string) => fetch(`${server.url}/api/v1/intersections/${id}/controller`, { method: 'PUT', headers: h, body: JSON.stringify({ controller }) });
    const targets = { intersection_1_1: 'bad-init', intersection_2_1: 'bad-async-init', intersection_3_1: 'bad-factory' };
    for (const [id, name] of Object.entries(targets)) assert.equal((await put(id, name)).status, 200, name);
    for (let k = 0; k < 20; k++) await server.runtime.stepOnce();
    const faults = (await (await fetch(`${server.url}/api/v1/faults`, { headers: h })).json()) as { controller: string; intersection: string; error: string }[];
    assert.deepEqual(
      faults.map((f) => [f.intersection, f.controller, f.error]).sort(),
      [
        ['intersection_1_1', 'bad-init', 'no licence'],
        ['intersection_2_1', 'bad-async-init', 'model download failed'],
        ['intersection_3_1', 'bad-factory', 'one instance per licence'],
      ],
    );
    const fallen = [...server.runtime.supervisor.fallen].map((i) => server.runtime.sim.net.interIds[i]).sort();
    assert.deepEqual(fallen, ['intersection_1_1', 'intersection_2_1', 'intersection_3_1']);
    // asked again, it is started again (and fails again): it never decides without a successful init
    assert.equal((await put('intersection_1_1', 'bad-init')).status, 200);
    for (let k = 0; k < 10; k++) await server.runtime.stepOnce();
    assert.equal(server.runtime.faults.length, 4);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', listener);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a controller whose beginStep throws, rejects, never finishes or overruns loses only its own intersections, not the other controllers'", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-fault-'));
  const server = await startServer({
    scenario: generateGrid({ rows: 1, cols: 4, demand: 0.1 }),
    storeUrl: `sqlite:${join(dir, 'f.db')}`, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false,
    extraControllers: {
      'step-throws': () => ({ name: 'step-throws', beginStep: () => { throw new Error('gpu lost'); }, decide: (_ix, s) => s.green }),
      'step-rejects': () => ({ name: 'step-rejects', beginStep: async () => { throw new Error('upstream 503'); }, decide: (_ix, s) => s.green }),
      'step-hangs': () => ({ name: 'step-hangs', beginStep: () => new Promise<void>(() => {}), decide: (_ix, s) => s.green }),
      'step-spins': () => {
        let calls = 0;
        return {
          name: 'step-spins',
          // synchronous and too slow, once: after that it must not be called again
          beginStep: () => {
            assert.equal(++calls, 1, 'a controller that overran is not called again');
            const t0 = performance.now();
            while (performance.now() - t0 < 950);
          },
          decide: (_ix, s) => s.green,
        };
      },
    },
  });
  try {
    const h = { authorization: `Bearer ${server.createdTokens[0].token}`, 'content-type': 'application/json' };
    const put = (id: string, controller: string) => fetch(`${server.url}/api/v1/intersections/${id}/controller`, { method: 'PUT', headers: h, body: JSON.stringify({ controller }) });
    assert.equal((await put('intersection_1_1', 'step-throws')).status, 200);
    assert.equal((await put('intersection_2_1', 'step-rejects')).status, 200);
    assert.equal((await put('intersection_3_1', 'step-hangs')).status, 200);
    assert.equal((await put('intersection_4_1', 'step-spins')).status, 200);
    for (let k = 0; k < 20; k++) await server.runtime.stepOnce();
    const faults = (await (await fetch(`${server.url}/api/v1/faults`, { headers: h })).json()) as { controller: string; intersection: string; error: string }[];
    assert.deepEqual(
      faults.map((f) => [f.intersection, f.controller, f.error.replace(/took \d+ ms/, 'took N ms')]).sort(),
      [['intersection_1_1', 'step-throws', 'gpu lost'], ['intersection_2_1', 'step-rejects', 'upstream 503'], ['intersection_3_1', 'step-hangs', 'beginStep did not finish within 900 ms'], ['intersection_4_1', 'step-spins', 'beginStep took N ms, over 900 ms']],
    );
    const fallen = [...server.runtime.supervisor.fallen].map((i) => server.runtime.sim.net.interIds[i]).sort();
    assert.deepEqual(fallen, ['intersection_1_1', 'intersection_2_1', 'intersection_3_1', 'intersection_4_1']);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a comparison reports the faults of a controller that fell back to the fixed plan', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-fault-'));
  const server = await startServer({
    scenario: generateGrid({ rows: 1, cols: 2, demand: 0.1 }),
    storeUrl: `sqlite:${join(dir, 'f.db')}`, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false,
    extraControllers: { broken: () => ({ name: 'broken', decide: () => 0 }) },
  });
  try {
    const h = { authorization: `Bearer ${server.createdTokens[0].token}`, 'content-type': 'application/json' };
    const start = await fetch(`${server.url}/api/v1/compare`, { method: 'POST', headers: h, body: JSON.stringify({ controllers: ['fixed', 'broken'], duration: 60 }) });
    assert.equal(start.status, 202);
    const { id } = (await start.json()) as { id: string };
    let summary: { done: boolean; faults?: Record<string, { intersection: string; error: string }[]> } = { done: false };
    for (let k = 0; k < 200 && !summary.done; k++) {
      await new Promise((r) => setTimeout(r, 25));
      summary = (await (await fetch(`${server.url}/api/v1/compare/${id}`, { headers: h })).json()) as typeof summary;
    }
    assert.ok(summary.done);
    assert.deepEqual(summary.faults?.fixed, []);
    assert.deepEqual(summary.faults?.broken.map((f) => [f.intersection, f.error]), [
      ['intersection_1_1', 'answered phase 0, not one of 1, 2, 3, 4'],
      ['intersection_2_1', 'answered phase 0, not one of 1, 2, 3, 4'],
    ]);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
