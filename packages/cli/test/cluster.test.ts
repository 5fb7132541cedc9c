import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../dist/free-port.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const NATS_SERVER = process.env.CITYBRAIN_NATS_SERVER ?? '/usr/sbin/nats-server';
const PG_URL = process.env.CITYBRAIN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `cb_cluster_cli_${process.pid}_${Date.now().toString(36)}`;

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => { c.destroy(); resolve(false); });
  });
}

async function until<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const skip = !existsSync(NATS_SERVER) ? `${NATS_SERVER} not found (apt-get install nats-server)` : undefined;
const db = new pg.Client({ connectionString: PG_URL });
after(async () => {
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await db.end().catch(() => {});
});

test('citybrain cluster --nodes 2 --grid 3x3: events reach PostgreSQL through the gateways, the workers\' plans reach the street (central), /api/v1/cluster lists 2 workers owning every region; SIGTERM stops all', { skip, timeout: 90_000 }, async () => {
  await db.connect();
  const natsPort = await freePort();
  const t0 = Date.now();
  const proc = spawn(process.execPath, [MAIN, 'cluster', '--nodes', '2', '--grid', '3x3', '--db', `${PG_URL}?schema=${schema}`, '--port', '0', '--gateway-port', '0', '--nats-port', String(natsPort)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    await until(async () => (out.includes('Ctrl-C stops it all.') ? true : proc.exitCode !== null ? Promise.reject(new Error(err)) : undefined), 45_000, `the cluster to start; its stderr:\n${err}`);
    const api = /dashboard and API\s+(\S+?)\/\s/.exec(out)![1];
    const token = /operator token\s+(\S+)/.exec(out)![1];
    const gateways = /balancing (.+)\)/.exec(out)![1].split(', ');
    assert.equal(gateways.length, 2);
    console.log(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s: API ${api}, gateways ${gateways.join(', ')}`);

    // the street's events, through the gateways and the stream, stored by the writer
    const stored = await until(async () => {
      const r = await db.query(`SELECT count(*)::int AS n, count(DISTINCT kind)::int AS kinds FROM ${schema}.events`);
      return r.rows[0].n > 50 ? r.rows[0] as { n: number; kinds: number } : undefined;
    }, 30_000, 'events in PostgreSQL');
    assert.ok(stored.kinds >= 2, `lane and signal events at least, got ${stored.kinds} kinds`);
    // the workers' plans, through the gateways' plan route, obeyed by the street's controllers: they confirm mode central
    const central = await until(async () => {
      const r = await db.query(`SELECT count(DISTINCT intersection)::int AS n FROM ${schema}.events WHERE kind = 'signal' AND body->>'mode' = 'central'`);
      return r.rows[0].n === 9 ? r.rows[0].n as number : undefined;
    }, 30_000, 'every intersection\'s controller confirming mode central');
    assert.equal(central, 9);

    const view = await until(async () => {
      const res = await fetch(`${api}/api/v1/cluster`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const v = await res.json() as { cluster: boolean; regions: { id: string; owner: string | null; intersections: string[] }[]; workers: { id: string; alive: boolean; regions: string[]; decisionMs: Record<string, number> }[] };
      return v.workers.filter((w) => w.alive).length === 2 && v.regions.every((r) => r.owner !== null) ? v : undefined;
    }, 15_000, 'GET /api/v1/cluster: 2 live workers owning every region');
    assert.equal(view.cluster, true);
    assert.deepEqual(view.workers.map((w) => w.id).sort(), ['worker-1', 'worker-2']);
    assert.equal(view.regions.length, 4);
    assert.equal(view.regions.flatMap((r) => r.intersections).length, 9);
    assert.deepEqual(new Set(view.regions.map((r) => r.owner)), new Set(['worker-1', 'worker-2']), 'the regions shared between the two workers');
    for (const w of view.workers) for (const r of w.regions) assert.ok(w.decisionMs[r] >= 0, `${w.id}: decision ms of ${r}`);
    const res = await fetch(`${api}/api/v1/cluster`);
    assert.equal(res.status, 401, 'no token, no cluster view');

    proc.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
    assert.equal(code, 0, `exit code; stderr tail:\n${err.slice(-2000)}`);
    assert.match(err, /stopped; \S+ removed/);
    const dir = /removed/.test(err) ? /stopped; (\S+) removed/.exec(err)![1] : '';
    assert.equal(existsSync(dir), false, 'the temp folder removed');
    assert.equal(await listening(natsPort), false, 'nats-server stopped');
    for (const g of gateways) assert.equal(await listening(Number(new URL(g).port)), false, `gateway ${g} stopped`);
    assert.equal(await listening(Number(new URL(api).port)), false, 'the API server stopped');
    console.log(`cluster test: ${stored.n}+ events stored, 9/9 intersections central, stopped; ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
});
