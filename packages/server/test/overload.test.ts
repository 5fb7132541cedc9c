import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { startServer } from '@citybrain/server';
import { until } from './helpers.js';

/** p-th percentile of a list of milliseconds */
function pct(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

// Issue #12, item 4: the heaviest controller on the whole demo city at the highest speed the dashboard offers froze
// the server (every request timed out, SIGINT ignored). The brain's loop must never starve the API or ingestion.
test('predictive-sequential everywhere at 60x: /healthz and ingestion keep answering fast, the city says it lags, and the operator can undo it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-overload-'));
  const server = await startServer({
    scenario: generateGrid({ rows: 4, cols: 4, demand: 0.05 }), // the `serve` demo city
    storeUrl: `sqlite:${join(dir, 'o.db')}`, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false,
    auth: { rateLimit: false },
  });
  try {
    // half an hour of traffic first, ingestion keeping up (the controllers decide from what it took in): the network
    // holds its steady 250-300 vehicles, which makes predictive-sequential's rollouts take ~150 ms a decision
    for (let k = 1; k <= 1800; k++) {
      await server.runtime.stepOnce();
      if (k % 5 === 0) await until(() => server.runtime.pendingEvents === 0, 10_000, 'ingestion to keep up');
    }
    const operator = { authorization: `Bearer ${server.createdTokens[0].token}`, 'content-type': 'application/json' };
    const dev = (await server.auth.createToken({ name: 'det', role: 'device', device: 'det-probe', intersections: ['intersection_1_1'] })).token;
    const device = { authorization: `Bearer ${dev}`, 'content-type': 'application/json' };
    const net = server.runtime.sim.net;
    const lane = net.laneId(net.incomingLanes(net.interIndex.get('intersection_1_1')!)[0]);
    // every request has a deadline: a frozen server fails the test instead of hanging it
    const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
      const t0 = performance.now();
      const r = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000) });
      const json = (await r.json()) as any;
      return { status: r.status, body: json, ms: performance.now() - t0 };
    };

    assert.equal((await call('PUT', '/api/v1/regions/city/controller', operator, { controller: 'predictive-sequential' })).status, 200);
    assert.equal((await call('PUT', '/api/v1/simulation', operator, { speed: 60, running: true })).status, 200);
    const health: number[] = [];
    const ingest: number[] = [];
    const simStart = server.runtime.sim.time;
    const wallStart = performance.now();
    const end = wallStart + 10_000;
    let n = 0;
    while (performance.now() < end) {
      const h = await call('GET', '/healthz', {});
      assert.equal(h.status, 200);
      health.push(h.ms);
      const e = await call('POST', '/api/v1/events', device, [{ id: `probe-${++n}`, device: 'det-probe', ts: Date.now(), kind: 'lane', intersection: 'intersection_1_1', lane, count: 1, occupancy: 0.1, speed: 5, interval: 5 }]);
      assert.equal(e.status, 200, JSON.stringify(e.body));
      ingest.push(e.ms);
      await new Promise((r) => setTimeout(r, 50));
    }
    const sim = (await call('GET', '/api/v1/simulation', operator)).body;
    const measured = (sim.time - simStart) / ((performance.now() - wallStart) / 1000);
    console.log(`# ${health.length} probes; /healthz p50 ${pct(health, 50).toFixed(1)} ms, p99 ${pct(health, 99).toFixed(1)} ms, max ${Math.max(...health).toFixed(1)} ms; ` +
      `ingestion p50 ${pct(ingest, 50).toFixed(1)} ms, p99 ${pct(ingest, 99).toFixed(1)} ms, max ${Math.max(...ingest).toFixed(1)} ms; ` +
      `simulation ${JSON.stringify(sim)}, measured ${measured.toFixed(1)}x; ${server.runtime.faults.length} controller faults ${JSON.stringify(server.runtime.faults.slice(0, 2))}`);
    assert.ok(health.length >= 50, `only ${health.length} probes answered in 10 s`);
    // before the fix every request timed out (5 s here). A quiet machine answers /healthz in a few ms and ingestion
    // (a durable commit while the city floods the store) in tens; a 2-core machine running other test files beside
    // this one has shown p99s up to 140 and 240 ms: the bounds leave room for that and still catch a starved loop
    assert.ok(pct(health, 99) < 250, `/healthz p99 ${pct(health, 99).toFixed(1)} ms`);
    assert.ok(pct(ingest, 99) < 500, `ingestion p99 ${pct(ingest, 99).toFixed(1)} ms`);
    assert.equal(sim.speed, 60);
    // whether it keeps up depends on the machine (and on faults handing intersections to the cheap fixed plan): what
    // the API says must match what the city did
    if (measured < 0.8 * 60) assert.equal(sim.lagging, true, `the city ran at ${measured.toFixed(1)}x of 60x and must say it lags`);
    if (!sim.lagging) assert.ok(sim.achievedSpeed >= 0.95 * 60, `not lagging at an achieved ${sim.achievedSpeed}x`);
    // a loop catching up runs ahead of the speed for a while: it owes at most a second of steps (runtime MAX_LAG_S), so over
    // the 5 s it measures on it achieves at most (5 + 1) / 5 of the speed (65x was seen after a slow decision at 60x)
    assert.ok(sim.achievedSpeed > 0 && sim.achievedSpeed <= 60 * 1.2, `achieved speed ${sim.achievedSpeed}`);
    assert.ok(Math.abs(sim.achievedSpeed - measured) < 0.5 * measured, `achieved speed ${sim.achievedSpeed}x reported, ${measured.toFixed(1)}x measured`);
    const metrics = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    assert.match(metrics, /^citybrain_sim_achieved_speed [0-9.e+-]+$/m);

    // the operator undoes both settings
    const back = await call('PUT', '/api/v1/regions/city/controller', operator, { controller: 'max-pressure' });
    assert.equal(back.status, 200);
    const slow = await call('PUT', '/api/v1/simulation', operator, { speed: 1 });
    assert.equal(slow.status, 200);
    assert.equal(slow.body.speed, 1);
  } finally {
    const t0 = performance.now();
    await server.close();
    const closeMs = performance.now() - t0;
    rmSync(dir, { recursive: true, force: true });
    assert.ok(closeMs < 2000, `the server closed in ${closeMs.toFixed(0)} ms`);
  }
});
