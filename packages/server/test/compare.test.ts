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
  // a server that died while a run computed (no shutdown to mark it) left it "running" with what it saved last
  const crashed = await openStore(url);
  const { controllers, duration, owner, series, faults } = finished;
  await crashed.putComparison({ id: 'cmp-90', controllers, duration, sampleEvery: 10, owner, createdAt: finished.createdAt + 1, status: 'running', time: 120, error: null, series, faults });
  await crashed.close();
  server = await serverOn(url);
  call = client(server);
  try {
    const operator = (await server.auth.createToken({ name: 'op2', role: 'operator' })).token;
    const list = (await call('GET', '/api/v1/compare', operator)).body;
    assert.deepEqual(list.map((x: { id: string; status: string }) => [x.id, x.status]), [[finished.id, 'done'], ['cmp-90', 'interrupted'], [running, 'interrupted']]);
    const afterCrash = (await call('GET', '/api/v1/compare/cmp-90', operator)).body;
    assert.deepEqual([afterCrash.time, afterCrash.series, afterCrash.error], [120, finished.series, 'the server stopped while this comparison ran; start it again to complete it']);
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
          series: { fixed: [{ t: 10, averageTravelTime: 31.5, vehiclesInNetwork: 7, finishedVehicles: 0 }], sotl: [] },
          faults: { fixed: [], sotl: [{ controller: 'sotl', intersection: 'i1', time: 12, error: 'boom', kind: 'error' }] },
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
