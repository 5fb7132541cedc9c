import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { openStore, startServer, type ComparisonRecord, type RunningServer } from '@citybrain/server';
import { openTestStore, pgUnavailable } from './helpers.js';

const pgSkip = await pgUnavailable();

function client(server: RunningServer) {
  return async (method: string, path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
}

async function serverOn(storeUrl: string, scenario = generateGrid({ rows: 2, cols: 2, demand: 0.1 })): Promise<RunningServer> {
  return startServer({ scenario, storeUrl, port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false } });
}

async function until<T>(f: () => Promise<T>, ok: (x: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const x = await f();
    if (ok(x) || Date.now() > end) return x;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Issue #12, item 6: the app role started CPU-heavy comparisons and deleted anyone's, unaudited.
test('comparison rights: an app starts its own (one at a time, two kept) and deletes only its own; operators delete any; all audited', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-cmp-'));
  const server = await serverOn(`sqlite:${join(dir, 'c.db')}`);
  const call = client(server);
  try {
    const operator = server.createdTokens[0].token;
    const appA = (await server.auth.createToken({ name: 'partner A', role: 'app' })).token;
    const appB = (await server.auth.createToken({ name: 'partner B', role: 'app' })).token;
    const viewer = (await server.auth.createToken({ name: 'screen', role: 'viewer' })).token;
    const def = { controllers: ['fixed', 'max-pressure'], duration: 3600 };

    assert.equal((await call('POST', '/api/v1/compare', viewer, def)).status, 403);
    const a1 = await call('POST', '/api/v1/compare', appA, def);
    assert.equal(a1.status, 202);
    const again = await call('POST', '/api/v1/compare', appA, def);
    assert.equal(again.status, 429);
    assert.equal(again.body.message, 'an app runs one comparison at a time; try again when yours finishes');
    // another app's run is not this one's to delete; nothing changed
    const foreign = await call('DELETE', `/api/v1/compare/${a1.body.id}`, appB);
    assert.equal(foreign.status, 403);
    assert.match(foreign.body.message, new RegExp(`^comparison "${a1.body.id}" was started by partner A \\(tok_\\w+\\); an app deletes only its own$`));
    assert.equal((await call('GET', `/api/v1/compare/${a1.body.id}`, viewer)).status, 200);
    const listed = (await call('GET', '/api/v1/compare', viewer)).body;
    assert.deepEqual(listed.map((r: { id: string; owner: { role: string } }) => [r.id, r.owner.role]), [[a1.body.id, 'app']]);

    const done = await until(() => call('GET', `/api/v1/compare/${a1.body.id}`, viewer), (r) => r.body.done);
    assert.equal(done.body.status, 'done');
    const a2 = await call('POST', '/api/v1/compare', appA, { ...def, duration: 60 });
    assert.equal(a2.status, 202);
    await until(() => call('GET', `/api/v1/compare/${a2.body.id}`, viewer), (r) => r.body.done);
    const over = await call('POST', '/api/v1/compare', appA, def);
    assert.equal(over.status, 429);
    assert.equal(over.body.message, `an app keeps at most 2 comparisons; delete one of yours (${a1.body.id}, ${a2.body.id}) first`);
    assert.equal((await call('DELETE', `/api/v1/compare/${a2.body.id}`, appA)).status, 204);
    assert.equal((await call('DELETE', `/api/v1/compare/${a1.body.id}`, operator)).status, 204);
    assert.equal((await call('DELETE', `/api/v1/compare/${a1.body.id}`, operator)).status, 404);

    const audit = (await call('GET', '/api/v1/audit?limit=10', operator)).body
      .filter((e: { action: string }) => e.action.endsWith('-comparison'))
      .map((e: { action: string; target: string; role: string; actor: string }) => [e.action, e.target, e.role, e.actor.split(' (')[0]])
      .reverse();
    assert.deepEqual(audit, [
      ['start-comparison', `comparison:${a1.body.id}`, 'app', 'partner A'],
      ['start-comparison', `comparison:${a2.body.id}`, 'app', 'partner A'],
      ['delete-comparison', `comparison:${a2.body.id}`, 'app', 'partner A'],
      ['delete-comparison', `comparison:${a1.body.id}`, 'operator', 'admin'],
    ]);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an app starting two comparisons at the same moment gets one: the quota is checked under the audit lock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-cmp-race-'));
  const server = await serverOn(`sqlite:${join(dir, 'c.db')}`);
  const call = client(server);
  try {
    const app = (await server.auth.createToken({ name: 'partner', role: 'app' })).token;
    const def = { controllers: ['fixed', 'max-pressure'], duration: 3600 };
    const replies = await Promise.all([1, 2, 3].map(() => call('POST', '/api/v1/compare', app, def)));
    assert.deepEqual(replies.map((r) => r.status).sort(), [202, 429, 429]);
    assert.equal((await server.store.queryAudit({ action: 'start-comparison' })).length, 1, 'one start audited');
    assert.equal((await call('GET', '/api/v1/compare', app)).body.length, 1);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a heavy comparison runs on a worker thread: the server\'s event loop stays free', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-cmp-'));
  const server = await serverOn(`sqlite:${join(dir, 'c.db')}`, generateGrid({ rows: 4, cols: 4, demand: 0.3 }));
  const call = client(server);
  try {
    const operator = server.createdTokens[0].token;
    const r = await call('POST', '/api/v1/compare', operator, { controllers: ['predictive-sequential', 'predictive'], duration: 3600 });
    assert.equal(r.status, 202);
    // worst lateness of a 10 ms timer for 4 s: how long the event loop was held (in this thread, before: 0.9 s)
    let worst = 0;
    const end = performance.now() + 4000;
    while (performance.now() < end) {
      const t0 = performance.now();
      await new Promise((res) => setTimeout(res, 10));
      worst = Math.max(worst, performance.now() - t0 - 10);
    }
    const s = (await call('GET', `/api/v1/compare/${r.body.id}`, operator)).body;
    console.log(`# worst timer lateness ${worst.toFixed(1)} ms while the comparison ran to ${s.time} s`);
    assert.ok(s.time > 0, 'it is running');
    assert.ok(worst < 250, `the event loop was held ${worst.toFixed(0)} ms`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Issue #12, item 10: comparisons came back empty after a restart.
test('comparisons outlive a restart: a finished one with its results, a running one marked interrupted, also after a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-cmp-'));
  const url = `sqlite:${join(dir, 'c.db')}`;
  let server = await serverOn(url);
  let call = client(server);
  let finished;
  let running: string;
  try {
    const operator = server.createdTokens[0].token;
    const f = await call('POST', '/api/v1/compare', operator, { controllers: ['fixed', 'max-pressure'], duration: 300 });
    finished = (await until(() => call('GET', `/api/v1/compare/${f.body.id}`, operator), (r) => r.body.done)).body;
    assert.equal(finished.status, 'done');
    assert.equal(finished.series.fixed.length, 30);
    const r = await call('POST', '/api/v1/compare', operator, { controllers: ['fixed', 'sotl'], duration: 7200 });
    running = r.body.id;
    await until(() => call('GET', `/api/v1/compare/${running}`, operator), (x) => x.body.series.fixed.length > 0);
  } finally {
    await server.close();
  }
  // a server that died while a run computed (no shutdown to mark it) left it "running" with what it saved last;
  // and a server from before delay, stops, queue, throughput and the intersections were measured stored it without them
  const crashed = await openStore(url);
  const { controllers, duration, owner, series, faults } = finished;
  type Point = ComparisonRecord['series'][string][number];
  const oldSeries = Object.fromEntries(Object.entries(series as Record<string, Point[]>).map(([c, ps]) => [c, ps.map((p) => ({ t: p.t, averageTravelTime: p.averageTravelTime, vehiclesInNetwork: p.vehiclesInNetwork, finishedVehicles: p.finishedVehicles }))]));
  await crashed.putComparison({ id: 'cmp-90', controllers, duration, sampleEvery: 10, owner, createdAt: finished.createdAt + 1, status: 'running', time: 120, error: null, series: oldSeries, faults } as unknown as ComparisonRecord);
  await crashed.close();
  server = await serverOn(url);
  call = client(server);
  try {
    const operator = (await server.auth.createToken({ name: 'op2', role: 'operator' })).token;
    const list = (await call('GET', '/api/v1/compare', operator)).body;
    assert.deepEqual(list.map((x: { id: string; status: string }) => [x.id, x.status]), [[finished.id, 'done'], ['cmp-90', 'interrupted'], [running, 'interrupted']]);
    const afterCrash = (await call('GET', '/api/v1/compare/cmp-90', operator)).body;
    const upgraded = Object.fromEntries(Object.entries(oldSeries).map(([c, ps]) => [c, ps.map((p) => ({ ...p, delay: null, stops: null, queued: null, throughput: null }))]));
    assert.deepEqual([afterCrash.time, afterCrash.series, afterCrash.intersections, afterCrash.error], [120, upgraded, {}, 'the server stopped while this comparison ran; start it again to complete it']);
    // its winner is still named by ATT, which it has; the later KPIs have none
    assert.equal(afterCrash.winner?.kpi, 'att');
    assert.deepEqual(afterCrash.kpis.filter((k: { winner: string | null }) => k.winner !== null).map((k: { kpi: string }) => k.kpi), ['att']);
    const oldCsv = await fetch(`${server.url}/api/v1/compare/cmp-90/export.csv`, { headers: { authorization: `Bearer ${operator}` } });
    assert.match((await oldCsv.text()).split('\n')[1], /^fixed,10,[\d.]+,,,,,\d+,\d+$/);
    const back = (await call('GET', `/api/v1/compare/${finished.id}`, operator)).body;
    assert.deepEqual([back.series, back.faults, back.owner, back.controllers, back.duration], [finished.series, finished.faults, finished.owner, finished.controllers, finished.duration]);
    const cut = (await call('GET', `/api/v1/compare/${running}`, operator)).body;
    assert.equal(cut.error, 'the server stopped while this comparison ran; start it again to complete it');
    // what it had computed when the server stopped is kept
    assert.ok(cut.series.fixed.length >= 1 && cut.series.fixed.at(-1).t <= cut.time, `kept up to ${cut.time} s: ${JSON.stringify(cut.series.fixed.at(-1))}`);
    const replay = await call('GET', `/api/v1/compare/${finished.id}/replay/fixed`, operator);
    assert.equal(replay.status, 404);
    assert.equal(replay.body.message, `no replay of "fixed" in comparison "${finished.id}": its replay frames were not kept across the server's restart`);
    // numbering goes on after the stored runs
    const next = await call('POST', '/api/v1/compare', operator, { controllers: ['fixed', 'sotl'], duration: 60 });
    assert.equal(next.body.id, 'cmp-91');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`EventStore comparison runs: ${backend}`, { skip: backend === 'postgres' ? pgSkip : undefined }, () => {
    it('puts (insert or replace by id), lists oldest first and deletes comparison runs', async () => {
      const t = await openTestStore(backend);
      try {
        const rec = (id: string, createdAt: number, status: ComparisonRecord['status']): ComparisonRecord => ({
          id, controllers: ['fixed', 'sotl'], duration: 600, sampleEvery: 10, owner: { actor: 'partner (tok_1)', role: 'app' }, createdAt, status, time: 20, error: null,
          series: { fixed: [{ t: 10, averageTravelTime: 31.5, vehiclesInNetwork: 7, finishedVehicles: 0, delay: null, stops: null, queued: 3, throughput: 0 }], sotl: [] },
          faults: { fixed: [], sotl: [{ controller: 'sotl', intersection: 'i1', time: 12, error: 'boom', kind: 'error' }] },
          intersections: { fixed: [{ intersection: 'i1', vehicles: 4, delayPerVehicle: 12.5, stopsPerVehicle: 0.5, los: 'B', x: 0, y: 0 }], sotl: [] },
        });
        await t.store.putComparison(rec('cmp-2', 2000, 'running'));
        await t.store.putComparison(rec('cmp-1', 1000, 'done'));
        await t.store.putComparison({ ...rec('cmp-2', 2000, 'failed'), error: 'worker exited' });
        assert.deepEqual(await t.store.listComparisons(), [rec('cmp-1', 1000, 'done'), { ...rec('cmp-2', 2000, 'failed'), error: 'worker exited' }]);
        assert.equal(await t.store.deleteComparison('cmp-1'), true);
        assert.equal(await t.store.deleteComparison('cmp-1'), false);
        assert.deepEqual((await t.store.listComparisons()).map((c) => c.id), ['cmp-2']);
      } finally {
        await t.cleanup();
      }
    });
  });
}

// Issue #17: only ATT was compared, of two controllers, and nothing could be taken away.
test('a comparison of three controllers measures ATT, delay, stops, queue and throughput, names each KPI\'s winner with its margin, and exports CSV and a report that agree', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-cmp-'));
  const server = await serverOn(`sqlite:${join(dir, 'c.db')}`, generateGrid({ rows: 2, cols: 2, demand: 0.15 }));
  const call = client(server);
  try {
    const operator = server.createdTokens[0].token;
    const viewer = (await server.auth.createToken({ name: 'screen', role: 'viewer' })).token;
    const names = ['fixed', 'max-pressure', 'sotl'];
    const r = await call('POST', '/api/v1/compare', operator, { controllers: names, duration: 600 });
    assert.equal(r.status, 202);
    const s = (await until(() => call('GET', `/api/v1/compare/${r.body.id}`, viewer), (x) => x.body.done)).body;
    assert.equal(s.status, 'done');
    for (const n of names) {
      const pts = s.series[n];
      assert.equal(pts.length, 60);
      for (const p of pts) {
        assert.ok(Number.isInteger(p.queued) && p.queued >= 0 && p.queued <= p.vehiclesInNetwork, `queued ${p.queued} of ${p.vehiclesInNetwork}`);
        assert.ok(p.throughput >= 0);
        if (p.finishedVehicles === 0) assert.deepEqual([p.delay, p.stops], [null, null]);
        else assert.ok(p.delay >= 0 && p.stops >= 0, JSON.stringify(p));
      }
      const last = pts.at(-1);
      // the last 300 s: 30 samples back
      assert.equal(last.throughput, Math.round(((last.finishedVehicles - pts[29].finishedVehicles) * 3600) / 300 * 10) / 10);
      assert.ok(last.finishedVehicles > 0 && last.delay > 0, `${n} finished trips with some delay`);
      // per-intersection figures of each controller's run
      assert.deepEqual(s.intersections[n].map((i: { intersection: string }) => i.intersection).sort(), ['intersection_1_1', 'intersection_1_2', 'intersection_2_1', 'intersection_2_2']);
    }
    // each KPI's figure, from the samples, and its winner
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const figure: Record<string, (n: string) => number> = {
      att: (n) => s.series[n].at(-1).averageTravelTime,
      delay: (n) => s.series[n].at(-1).delay,
      stops: (n) => s.series[n].at(-1).stops,
      queue: (n) => mean(s.series[n].map((p: { queued: number }) => p.queued)),
      throughput: (n) => (s.series[n].at(-1).finishedVehicles * 3600) / 600,
    };
    assert.deepEqual(s.kpis.map((k: { kpi: string }) => k.kpi), ['att', 'delay', 'stops', 'queue', 'throughput']);
    for (const k of s.kpis) {
      // to the digits shown
      const digits: Record<string, number> = { att: 1, delay: 1, stops: 2, queue: 1, throughput: 0 };
      const values = names.map((n) => Math.round(figure[k.kpi](n) * 10 ** digits[k.kpi]) / 10 ** digits[k.kpi]);
      assert.deepEqual(k.values, values, k.kpi);
      const best = k.kpi === 'throughput' ? Math.max(...values) : Math.min(...values);
      if (k.winner === null) continue;
      assert.equal(values[names.indexOf(k.winner)], best, `${k.kpi} winner`);
      for (const o of k.against) {
        // to the digits shown: the margin to the KPI's, its share to 0.1%
        assert.ok(Math.abs(o.margin - Math.abs(o.value - best)) < 1e-6);
        assert.equal(o.marginPct, Math.round((o.margin / o.value) * 1000) / 10);
      }
      assert.equal(k.against.length, 2);
    }
    const att = s.kpis[0];
    assert.ok(att.winner, 'three controllers on 600 s of demand differ in ATT');
    assert.deepEqual(s.winner, {
      controller: att.winner, kpi: 'att', value: figure.att(att.winner), runnerUp: att.against[0].controller, runnerUpValue: att.against[0].value,
      margin: att.against[0].margin, marginPct: att.against[0].marginPct,
    });
    const listed = (await call('GET', '/api/v1/compare', viewer)).body.find((x: { id: string }) => x.id === r.body.id);
    assert.deepEqual(listed.winner, s.winner);

    // CSV: a header with units, one row per controller per sample, the summary's numbers
    const get = (path: string, token?: string) => fetch(server.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    assert.equal((await get(`/api/v1/compare/${r.body.id}/export.csv`)).status, 401);
    assert.equal((await get('/api/v1/compare/cmp-404/export.csv', viewer)).status, 404);
    const csvReply = await get(`/api/v1/compare/${r.body.id}/export.csv`, viewer);
    assert.equal(csvReply.status, 200);
    assert.match(csvReply.headers.get('content-type') ?? '', /^text\/csv/);
    assert.equal(csvReply.headers.get('content-disposition'), `attachment; filename="${r.body.id}.csv"`);
    const [head, ...rows] = (await csvReply.text()).trim().split('\n');
    const cols = head.split(',');
    assert.deepEqual(cols, ['controller', 't_s', 'att_s', 'delay_s_per_trip', 'stops_per_trip', 'queued_vehicles', 'throughput_trips_per_h', 'in_network_vehicles', 'finished_trips']);
    assert.equal(rows.length, 180);
    const parsed = rows.map((line) => Object.fromEntries(line.split(',').map((v, k) => [cols[k], v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v)])));
    for (const n of names) {
      const mine = parsed.filter((x) => x.controller === n);
      assert.deepEqual(mine.map((x) => [x.t_s, x.att_s, x.delay_s_per_trip, x.stops_per_trip, x.queued_vehicles, x.throughput_trips_per_h, x.in_network_vehicles, x.finished_trips]),
        s.series[n].map((p: Record<string, number | null>) => [p.t, p.averageTravelTime, p.delay, p.stops, p.queued, p.throughput, p.vehiclesInNetwork, p.finishedVehicles]));
      assert.equal(mine.at(-1)!.att_s, figure.att(n));
    }

    // the report: self-contained, each controller a column with its figures, the winner, the intersections
    const rep = await get(`/api/v1/compare/${r.body.id}/report.html`, viewer);
    assert.equal(rep.status, 200);
    assert.match(rep.headers.get('content-type') ?? '', /^text\/html/);
    const html = await rep.text();
    assert.doesNotMatch(html, /<script|<link|src=/);
    for (const n of names) {
      assert.ok(html.includes(`>${n}</th>`), `${n} has a column`);
      assert.ok(html.includes(`${figure.att(n).toFixed(1)} s`), `${n}'s ATT is in the report`);
      assert.ok(html.includes(`${figure.throughput(n).toFixed(0)} trips/h`), `${n}'s throughput is in the report`);
    }
    const w = s.winner;
    assert.ok(html.includes(`${w.controller} wins: ATT ${w.value.toFixed(1)} s, ${w.marginPct.toFixed(1)}% below ${w.runnerUp}&#39;s ${w.runnerUpValue.toFixed(1)} s`), 'the winner and its margin');
    assert.ok(html.includes('intersection_1_1') && html.includes('Delay by intersection'));
    assert.equal((html.match(/<polyline fill="none" stroke="#c05621" stroke-width="2"/g) ?? []).length, 5, 'a line of the first controller in each of the five KPI charts');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
