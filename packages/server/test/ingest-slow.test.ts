import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Auth, buildApp } from '@citybrain/server';
import { openTestStore } from './helpers.js';

// Issue #12: a body trickling in was closed after 60-90 s although the guard is 30 s.
test('a request body that trickles in is answered 408 and closed once the request timeout is over, not a minute later', async () => {
  const t = await openTestStore('sqlite');
  const auth = new Auth(t.store, { rateLimit: false });
  const { token } = await auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['i1'] });
  const app = buildApp({ store: t.store, auth, logger: false, limits: { requestTimeoutMs: 1500 } });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    assert.equal(app.server.headersTimeout, 1500, 'Node\'s headers timeout follows the request timeout');
    const socket = net.connect((app.server.address() as net.AddressInfo).port, '127.0.0.1');
    const t0 = Date.now();
    socket.write(`POST /api/v1/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[`);
    // a byte every 200 ms: never idle, never done
    const drip = setInterval(() => socket.write(' '), 200);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => {});
    const closedAfter = await new Promise<number>((resolve) => {
      socket.on('close', () => resolve(Date.now() - t0));
      // without the fix Node closes it after its 60 s headers timeout: give up well before
      setTimeout(() => resolve(Infinity), 6000);
    });
    clearInterval(drip);
    socket.destroy();
    assert.ok(closedAfter >= 1400 && closedAfter < 3000, `closed after ${closedAfter} ms, expected about 1500`);
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
    assert.equal(await t.store.count(), 0);
  } finally {
    await app.close();
    await t.cleanup();
  }
});

test('by default the guard is 30 s, checked every second', async () => {
  const t = await openTestStore('sqlite');
  const app = buildApp({ store: t.store, auth: new Auth(t.store), logger: false });
  try {
    await app.ready();
    assert.deepEqual([app.server.requestTimeout, app.server.headersTimeout, (app.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval], [30000, 30000, 1000]);
  } finally {
    await app.close();
    await t.cleanup();
  }
});
