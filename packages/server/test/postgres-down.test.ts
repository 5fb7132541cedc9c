import { test } from 'node:test';
import { DEFAULT_CONTROLLER } from '@citybrain/control';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import { startServer } from '@citybrain/server';

/**
 * A PostgreSQL of the test's own (initdb as the postgres user, on a free
 * port), stopped in the middle of the test: the shared one others use is not
 * touched. Skipped, saying why, where that cannot be done.
 */
const BIN = ['/usr/local/bin', ...['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`)].find((d) => existsSync(join(d, 'initdb')));
function why(): string | undefined {
  if (!BIN) return 'no initdb found';
  if (process.getuid?.() !== 0) return 'not root: cannot run initdb as the postgres user';
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
    execFileSync('runuser', ['--help'], { stdio: 'ignore' });
  } catch {
    return 'no postgres user or no runuser';
  }
  return undefined;
}
const skip = why();
if (skip) console.log(`${skip}: the PostgreSQL-stopped test is skipped`);

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  });
});

test('with its PostgreSQL stopped, an operator action answers 503 and changes nothing, /healthz says so; both recover when it is back', { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  chownSync(dir, uid, Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const port = await freePort();
  const pgctl = (...args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', join(BIN!, 'pg_ctl'), '-D', join(dir, 'data'), '-w', ...args], { stdio: 'ignore' });
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN!, 'initdb'), '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres'], { stdio: 'ignore' });
  const start = () => pgctl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', join(dir, 'log'), 'start');
  start();
  try {
    const server = await startServer({
      scenario: generateGrid({ rows: 2, cols: 2, demand: 0.1 }), storeUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false },
    });
    const token = server.createdTokens[0].token;
    const put = (controller: string) => fetch(`${server.url}/api/v1/intersections/intersection_1_1/controller`, {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ controller }),
    });
    const i = server.runtime.sim.net.interIndex.get('intersection_1_1')!;
    try {
      assert.equal((await put('sotl')).status, 200);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      pgctl('-m', 'fast', 'stop');
      const r = await put('fixed');
      assert.equal(r.status, 503, await r.text());
      assert.ok(Number(r.headers.get('retry-after')) > 0);
      assert.equal(server.runtime.assignment.controllerOf(i), 'sotl', 'not applied');
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { status: string }).status, 'store-unavailable');

      start();
      assert.equal((await put('fixed')).status, 200);
      assert.equal(server.runtime.assignment.controllerOf(i), 'fixed');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      const log = await server.store.queryAudit({ target: 'intersection:intersection_1_1' });
      assert.deepEqual(log.map((e) => [e.before, e.after]), [[DEFAULT_CONTROLLER, 'sotl'], ['sotl', 'fixed']], 'the refused change is not in the log');
    } finally {
      await server.close();
    }
  } finally {
    try {
      pgctl('-m', 'immediate', 'stop');
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
