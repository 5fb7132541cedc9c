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
