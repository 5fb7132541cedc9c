import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { lane } from './helpers.js';

const SERVER = new URL('./fixtures/ingest-server.js', import.meta.url);
const TOKEN = 'cbt_crash-test-device-token-0123456789';

function startServer(db: string): Promise<{ child: ChildProcess; url: URL }> {
  const child = spawn(process.execPath, [SERVER.pathname], {
    env: {
      ...process.env, CITYBRAIN_STORE: `sqlite:${db}`,
      CITYBRAIN_TOKENS: JSON.stringify([{ name: 'crash cam', role: 'device', device: 'cam-1', intersections: ['i1'], token: TOKEN }]),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve({ child, url: new URL(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
}

function post(agent: http.Agent, url: URL, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: '/api/v1/events', method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${TOKEN}` },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('kill -9 during heavy ingestion: after a restart every acknowledged event is stored exactly once', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-crash-'));
  const db = join(dir, 'crash.db');
  try {
    let { child, url } = await startServer(db);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    // each acknowledged batch with its ts: a retry resends exactly the same events (other fields under a stored id are a 409)
    const acked: { ids: string[]; ts: number }[] = [];
    let sent = 0;
    const unexpected: string[] = [];
    let killed = false;
    const worker = async (w: number) => {
      for (let k = 0; !killed; k++) {
        // every fifth request re-sends an acknowledged batch, as a client retrying would
        const retry = k % 5 === 4 && acked.length > 0;
        const batch = retry ? acked[(k * 7919) % acked.length] : { ids: Array.from({ length: 50 }, (_, i) => `w${w}-b${k}-e${i}`), ts: Date.now() };
        sent++;
        let r: { status: number; text: string };
        try {
          r = await post(agent, url, JSON.stringify({ events: batch.ids.map((id) => lane(id, { ts: batch.ts })) }));
        } catch {
          continue; // the connection died with the server: this batch was not acknowledged
        }
        if (r.status !== 200) unexpected.push(`${r.status}: ${r.text}`);
        else if (!retry) acked.push(batch);
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    // kill once well into the run, while requests are in flight
    while (acked.length < 400) await new Promise((r) => setTimeout(r, 10));
    const died = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
    child.kill('SIGKILL');
    killed = true;
    await load;
    agent.destroy();
    assert.equal(await died, 'SIGKILL');
    assert.deepEqual(unexpected, [], 'every answer before the kill is 200');
    const ackedIds = acked.flatMap((b) => b.ids);
    assert.ok(ackedIds.length >= 20000, `acknowledged ${ackedIds.length} events before the kill`);

    // restart on the same file: a retry of acknowledged batches is all duplicates
    ({ child, url } = await startServer(db));
    const again = new http.Agent({ keepAlive: true });
    for (const b of [acked[0], acked[acked.length - 1]]) {
      const r = await post(again, url, JSON.stringify({ events: b.ids.map((id) => lane(id, { ts: b.ts })) }));
      assert.deepEqual(JSON.parse(r.text), { accepted: 0, duplicates: 50 });
    }
    again.destroy();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;

    const conn = new Database(db, { readonly: true });
    try {
      const rows = conn.prepare("SELECT id, count(*) AS n FROM events WHERE device = 'cam-1' GROUP BY id").all() as { id: string; n: number }[];
      const stored = new Map(rows.map((r) => [r.id, r.n]));
      const missing = ackedIds.filter((id) => !stored.has(id));
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged events lost`);
      assert.ok(rows.every((r) => r.n === 1), 'every event stored once');
      const total = (conn.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      assert.equal(total, rows.length);
      // in-flight batches at the kill may or may not have landed, but only whole
      const extra = rows.length - ackedIds.length;
      assert.ok(extra >= 0 && extra % 50 === 0, `${extra} unacknowledged events stored: must be whole batches`);
      console.log(`sent ${sent} requests; ${ackedIds.length} events acknowledged before SIGKILL, all stored once; ${extra / 50} in-flight batches also landed`);
    } finally {
      conn.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
