import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import net from 'node:net';
import { Auth, buildApp, PostgresStore } from '@citybrain/server';
import { events, gated, lane, openTestStore, T0, PG_URL, pgUnavailable, uid, type TestStore } from './helpers.js';

const pgSkip = await pgUnavailable();

interface Reply {
  status: number;
  body: { accepted?: number; duplicates?: number; message?: string; code?: string };
  headers: Record<string, unknown>;
}

async function post(app: FastifyInstance, token: string | undefined, payload: unknown, contentType = 'application/json'): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  return { status: r.statusCode, body: r.json(), headers: r.headers };
}

describe('HTTP ingestion', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let auth: Auth;
  let cam: string;
  let operator: string;
  before(async () => {
    t = await openTestStore('sqlite');
    auth = new Auth(t.store, { rateLimit: false });
    cam = (await auth.createToken({ name: 'camera 1', role: 'device', device: 'cam-1', intersections: ['i1'], bays: ['bay-1'] })).token;
    operator = (await auth.createToken({ name: 'ops', role: 'operator' })).token;
    app = buildApp({ store: t.store, auth, logger: false });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await t?.cleanup();
  });

  /** Asserts the request changed nothing in the store. */
  async function storesNothing(fn: () => Promise<void>): Promise<void> {
    const n = await t.store.count();
    await fn();
    assert.equal(await t.store.count(), n, 'a refused request must store nothing');
  }

  it('200: accepts a batch once it is durable, and a retry is all duplicates', async () => {
    const batch = events(3, 'h200');
    const r = await post(app, cam, { events: batch });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { accepted: 3, duplicates: 0 });
    assert.deepEqual((await t.store.query({ device: 'cam-1' })).filter((e) => e.id.startsWith('h200')).map((e) => e.id), batch.map((e) => e.id));
    assert.deepEqual((await post(app, cam, batch)).body, { accepted: 0, duplicates: 3 }, 'a bare array is accepted too');
    // T0's wall-clock time read in UTC+8 is 8 h before T0
    const inUtc8 = `${new Date(T0).toISOString().slice(0, 19)}+08:00`;
    assert.deepEqual((await post(app, cam, lane('h200-single', { ts: inUtc8 as unknown as number }))).body, { accepted: 1, duplicates: 0 });
    const [single] = await t.store.query({ device: 'cam-1', from: T0 - 8 * 3_600_000, to: T0 - 8 * 3_600_000 + 1000 });
    assert.equal(single.id, 'h200-single', 'an ISO timestamp is stored as epoch ms');
  });

  it('400: names the JSON path of the bad field, and stores nothing of the batch', async () => {
    const cases: [unknown, RegExp][] = [
      [{ events: [...events(3, 'b1'), lane('b1-3', { occupancy: 1.5 })] }, /^events\[3\]\.occupancy: must be <= 1$/],
      [[lane('b2', { ts: 1714550400 })], /^events\[0\]\.ts: 1714550400 looks like seconds since the epoch; send milliseconds \(1714550400000\)/],
      [[lane('b3', { ts: 1714550400000000 })], /^events\[0\]\.ts: .* looks like microseconds/],
      [[lane('b4', { ts: '2024-05-01' as unknown as number })], /^events\[0\]\.ts: "2024-05-01" is not an ISO 8601 date-time with a time zone/],
      [[{ ...lane('b5'), kind: 'radar' }], /^events\[0\]\.kind: must be one of lane, plate, parking, signal, avl \(got "radar"\)$/],
      [[{ ...lane('b6'), occupancy: undefined }], /^events\[0\]\.occupancy: is required$/],
      [[{ ...lane('b7'), occupncy: 0.2 }], /^events\[0\]\.occupncy: unknown field$/],
      [[lane('b8', { count: -1 })], /^events\[0\]\.count: must be >= 0$/],
      [[lane('x'.repeat(129))], /^events\[0\]\.id: must NOT have more than 128 characters$/],
      [[lane('b9', { device: 'cam/1' })], /^events\[0\]\.device: must match pattern/],
      [{ events: [] }, /^events: must NOT have fewer than 1 items$/],
      // a single event without its kind is told so, not that "events" is missing
      [{ id: 'b10', device: 'cam-1', ts: Date.now(), bay: 'bay-1', occupied: true }, /^events\[0\]\.kind: is required$/],
      [{ id: 'b11', device: 'cam-1', ts: Date.now(), knd: 'parking', bay: 'bay-1', occupied: true }, /^events\[0\]\.kind: is required$/],
      [{ evnts: [lane('b12')] }, /^events: is required$/],
      ['{"events": [', /^request body is not valid JSON: /],
      ['', /^request body is empty/],
      ['42', /^body: must be object \(got 42\)$/],
      ['['.repeat(100000) + ']'.repeat(100000), /^events\[0\]: must be object \(got an array\)$/],
      ['{"__proto__": {"admin": true}, "events": [1]}', /^__proto__: unknown field$|^events\[0\]: must be object/],
    ];
    for (const [body, want] of cases) {
      await storesNothing(async () => {
        const r = await post(app, cam, body);
        assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${r.status} ${r.body.message}`);
        assert.match(r.body.message!, want);
      });
    }
    assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype pollution');
  });

  it('400: a field of the wrong JSON type is refused, not coerced (null is not 0 or false, true is not 1)', async () => {
    const parking = (id: string, occupied: unknown) => ({ id, device: 'cam-1', ts: T0, kind: 'parking', bay: 'bay-1', occupied });
    const cases: [unknown, RegExp][] = [
      [[parking('w1', null)], /^events\[0\]\.occupied: must be boolean \(got null\)$/],
      [[parking('w2', 'false')], /^events\[0\]\.occupied: must be boolean \(got "false"\)$/],
      [[parking('w3', 1)], /^events\[0\]\.occupied: must be boolean \(got 1\)$/],
      [[{ ...lane('w4'), count: null }], /^events\[0\]\.count: must be integer \(got null\)$/],
      [[{ ...lane('w5'), speed: true }], /^events\[0\]\.speed: must be number \(got true\)$/],
      [[{ ...lane('w6'), occupancy: [0.5] }], /^events\[0\]\.occupancy: must be number \(got an array\)$/],
      [[{ ...lane('w7'), count: '7' }], /^events\[0\]\.count: must be integer \(got "7"\)$/],
      [[{ ...lane('w8'), id: 8 }], /^events\[0\]\.id: must be string \(got 8\)$/],
      ['[' + JSON.stringify(lane('w10')).replace('"count":4', '"count":1e400') + ']', /^events\[0\]\.count: must be integer \(got a number too large for a double\)$/],
      [[{ ...lane('w9'), ts: String(Date.UTC(2024, 4, 1)) }], /^events\[0\]\.ts: "1714521600000" is a string of digits; send epoch milliseconds as a JSON number or an ISO 8601 date-time/],
    ];
    for (const [body, want] of cases) {
      await storesNothing(async () => {
        const r = await post(app, cam, body);
        assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 120)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.match(r.body.message!, want);
      });
    }
  });

  it('400: a string with a NUL character or an unpaired surrogate is refused by field (PostgreSQL cannot store it)', async () => {
    const cases: [unknown, RegExp][] = [
      [[...events(2, 'nul'), lane('nul-\u0000')], /^events\[2\]\.id: must not contain the NUL character \(\\u0000\)$/],
      [[lane('nul-lane', { lane: 'i1_N\u0000' })], /^events\[0\]\.lane: must not contain the NUL character/],
      [[lane('sur-\ud800')], /^events\[0\]\.id: must be valid Unicode: it has an unpaired surrogate \(\\ud800\)$/],
      [[lane('sur-2', { lane: '\udc00x' })], /^events\[0\]\.lane: must be valid Unicode/],
    ];
    for (const [body, want] of cases) {
      await storesNothing(async () => {
        const r = await post(app, cam, body);
        assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 120)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.match(r.body.message!, want);
      });
    }
    assert.equal((await post(app, cam, [lane('emoji-\ud83d\ude97', { lane: '浙A' })])).status, 200, 'paired surrogates (an emoji) and CJK are fine');
  });

  it('400: a body that is not valid UTF-8 (e.g. Latin-1) is refused, not stored with its letters replaced', async () => {
    const latin1 = Buffer.from(JSON.stringify([{ id: 'enc-1', device: 'cam-1', ts: T0, kind: 'plate', plate: 'ÄB123', camera: 'c1', intersection: 'i1', confidence: 0.9 }]), 'latin1');
    for (const contentType of ['application/json', 'application/json; charset=iso-8859-1']) {
      await storesNothing(async () => {
        const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { 'content-type': contentType, authorization: `Bearer ${cam}` }, payload: latin1 });
        assert.equal(r.statusCode, 400, r.body);
        assert.match(r.json<{ message: string }>().message, /^request body is not valid UTF-8/);
      });
    }
    const utf8 = Buffer.from(latin1.toString('latin1'), 'utf8');
    const ok = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { 'content-type': 'application/json', authorization: `Bearer ${cam}` }, payload: utf8 });
    assert.equal(ok.statusCode, 200, ok.body);
    const stored = (await t.store.query({ kind: 'plate', device: 'cam-1' })).find((e) => e.id === 'enc-1');
    assert.equal(stored?.kind === 'plate' && stored.plate, 'ÄB123');
  });

  it('401: without a token, with a malformed header, an unknown or a revoked token; nothing stored', async () => {
    const revoked = await auth.createToken({ name: 'old camera', role: 'device', device: 'cam-1', intersections: ['i1'] });
    assert.equal(await auth.revoke(revoked.record.id), true);
    for (const [token, want] of [[undefined, /missing Authorization header/], ['', /must be "Bearer <token>"/], ['cbt_nope', /unknown or revoked token/], [revoked.token, /unknown or revoked/]] as const) {
      await storesNothing(async () => {
        const r = await post(app, token, events(2, 'h401'));
        assert.equal(r.status, 401);
        assert.match(r.body.message!, want);
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="citybrain"');
      });
    }
  });

  it('403: another intersection, bay or device, or a non-device role; all or nothing, nothing stored', async () => {
    const cases: [string, unknown[], RegExp][] = [
      [cam, [...events(2, 'f1'), lane('f1-x', { intersection: 'i2' })], /^events\[2\]\.intersection: device "cam-1" may not publish for intersection "i2"$/],
      [cam, [lane('f2'), { id: 'f2-p', device: 'cam-1', ts: Date.now(), kind: 'parking', bay: 'bay-9', occupied: true }], /^events\[1\]\.bay: device "cam-1" may not publish for parking bay "bay-9"$/],
      [cam, [lane('f3', { device: 'cam-2' })], /^events\[0\]\.device: this token publishes for device "cam-1", not "cam-2"$/],
      [operator, [lane('f4')], /^role "operator" may not do this; it needs device$/],
    ];
    for (const [token, body, want] of cases) {
      await storesNothing(async () => {
        const r = await post(app, token, body);
        assert.equal(r.status, 403);
        assert.match(r.body.message!, want);
      });
    }
    // the bay the token does hold is fine
    assert.equal((await post(app, cam, [{ id: 'f5-p', device: 'cam-1', ts: Date.now(), kind: 'parking', bay: 'bay-1', occupied: false }])).status, 200);
  });

  it('413 over the body limit and 415 for a non-JSON body; nothing stored', async () => {
    await storesNothing(async () => {
      const big = events(5000, 'big-'.padEnd(100, 'x'));
      const r = await post(app, cam, big);
      assert.equal(r.status, 413);
      assert.match(r.body.message!, /larger than the 1048576-byte limit/);
    });
    await storesNothing(async () => {
      const r = await app.inject({
        method: 'POST', url: '/api/v1/events', payload: gzipSync(JSON.stringify(events(2, 'gz'))),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${cam}` },
      });
      assert.equal(r.statusCode, 415, r.body);
      assert.match(r.json<{ message: string }>().message, /^Content-Encoding "gzip" is not supported; send the JSON uncompressed$/);
    });
    await storesNothing(async () => {
      const r = await post(app, cam, 'id=1', 'application/x-www-form-urlencoded');
      assert.equal(r.status, 415);
      assert.match(r.body.message!, /send application\/json/);
    });
  });

  it('metrics count accepted, duplicate and refused events; health and OpenAPI are served', async () => {
    const m = (await app.inject('/metrics')).body;
    assert.match(m, /citybrain_ingest_events_accepted_total\{source="http"\} \d+/);
    assert.match(m, /citybrain_ingest_events_duplicate_total\{source="http"\} 3/);
    for (const reason of ['invalid', 'unauthenticated', 'forbidden', 'too_large', 'unsupported_media_type']) {
      assert.match(m, new RegExp(`citybrain_ingest_rejected_total\\{source="http",reason="${reason}"\\} [1-9]`));
    }
    assert.match(m, /citybrain_store_commit_seconds_bucket/);
    assert.match(m, /citybrain_ingest_queue_events 0/);
    assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok', store: 'sqlite', ingestQueueEvents: 0 });
    const doc = (await app.inject('/docs/json')).json() as { paths: Record<string, Record<string, { security?: unknown }>>; components: { securitySchemes: Record<string, unknown> } };
    assert.ok(doc.paths['/api/v1/events'].post.security);
    assert.ok(doc.components.securitySchemes.bearerAuth);
    assert.equal((await app.inject('/docs')).statusCode < 400, true);
  });
});

describe('HTTP ingestion limits', () => {
  it('400: one id twice in a batch with different fields is refused (the second reading is not a retry); an exact repeat is a duplicate', async () => {
    const t = await openTestStore('sqlite');
    const auth = new Auth(t.store, { rateLimit: false });
    const { token } = await auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['i1'] });
    const app = buildApp({ store: t.store, auth, logger: false });
    try {
      const r = await post(app, token, [lane('dup-1'), lane('dup-2'), lane('dup-1', { count: 9, ts: T0 + 60_000 })]);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message!, /^events\[2\]\.id: "dup-1" is also the id of events\[0\], with other fields; ids must be unique per device$/);
      assert.equal(await t.store.count(), 0);
      // the same event twice (fields in another order, ts as ISO) is a harmless repeat
      const again = { ...lane('dup-3'), ts: new Date(T0).toISOString() };
      const reordered = Object.fromEntries(Object.entries(lane('dup-3')).reverse());
      assert.deepEqual((await post(app, token, [lane('dup-3'), again, reordered])).body, { accepted: 1, duplicates: 2 });
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it('429 with Retry-After over the per-token rate limit; the refused request stores nothing', async () => {
    const t = await openTestStore('sqlite');
    const auth = new Auth(t.store, { rateLimit: { perSecond: 1, burst: 2 } });
    const { token } = await auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['i1'] });
    const app = buildApp({ store: t.store, auth, logger: false });
    try {
      assert.equal((await post(app, token, events(1, 'r1'))).status, 200);
      assert.equal((await post(app, token, events(1, 'r2'))).status, 200);
      const r = await post(app, token, events(1, 'r3'));
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '1');
      assert.match(r.body.message!, /rate limit of 1 requests\/s for token tok_[0-9a-f]{12} exceeded/);
      assert.equal(await t.store.count(), 2);
      assert.match((await app.inject('/metrics')).body, /citybrain_ingest_rejected_total\{source="http",reason="rate_limited"\} 1/);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });

  it('429 with Retry-After when the ingestion queue is full (backpressure, not loss); the admitted batch still lands', async () => {
    const t = await openTestStore('sqlite');
    const g = gated(t.store);
    const auth = new Auth(g.store, { rateLimit: false });
    const { token } = await auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['i1'] });
    const app = buildApp({ store: g.store, auth, logger: false, limits: { maxQueuedEvents: 10 } });
    try {
      await app.ready();
      const first = post(app, token, events(10, 'q1'));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(app.ingest.depth, 10);
      const refused = await post(app, token, events(1, 'q2'));
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(refused.body.message!, /ingestion queue is full; retry after 1 s; nothing of this batch was stored/);
      g.open();
      assert.deepEqual((await first).body, { accepted: 10, duplicates: 0 });
      assert.equal(await t.store.count(), 10);
      assert.equal((await post(app, token, events(1, 'q2'))).status, 200, 'the retry succeeds once there is room');
      assert.match((await app.inject('/metrics')).body, /citybrain_ingest_rejected_total\{source="http",reason="backpressure"\} 1/);
    } finally {
      g.open();
      await app.close();
      await t.cleanup();
    }
  });

  it('a route of another plugin can require a role with the same tokens', async () => {
    const t = await openTestStore('sqlite');
    const auth = new Auth(t.store, { rateLimit: false });
    const viewer = (await auth.createToken({ name: 'v', role: 'viewer' })).token;
    const operator = (await auth.createToken({ name: 'o', role: 'operator' })).token;
    const app = buildApp({ store: t.store, auth, logger: false });
    app.register(async (p) => {
      p.post('/api/v1/test-control', { preHandler: p.auth.requireRole('operator') }, async (req) => {
        const entry = await p.store.appendAudit({ actor: req.principal!.name, role: req.principal!.role, action: 'test.poke', target: 'i1', before: 0, after: 1 });
        return { seq: entry.seq };
      });
    });
    try {
      const call = (tok: string) => app.inject({ method: 'POST', url: '/api/v1/test-control', headers: { authorization: `Bearer ${tok}` } });
      const denied = await call(viewer);
      assert.equal(denied.statusCode, 403);
      assert.equal((await t.store.queryAudit()).length, 0, 'a refused control action leaves no trace but its refusal');
      assert.equal((await call(operator)).statusCode, 200);
      assert.deepEqual((await t.store.queryAudit()).map((e) => [e.actor, e.action, e.before, e.after]), [['o', 'test.poke', 0, 1]]);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });
});

describe('HTTP ingestion on PostgreSQL', { skip: pgSkip }, () => {
  it('503 with Retry-After, as documented, when the database goes away, also while looking up a token', async () => {
    // the store reaches PostgreSQL through a proxy that the test then shuts
    const sockets = new Set<net.Socket>();
    const target = new URL(PG_URL);
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const via = new URL(PG_URL);
    via.hostname = '127.0.0.1';
    via.port = String((proxy.address() as net.AddressInfo).port);
    const schema = `cb_test_${uid()}`;
    const store = await PostgresStore.open(via.toString(), { schema });
    const auth = new Auth(store, { rateLimit: false });
    const cached = (await auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['i1'] })).token;
    const app = buildApp({ store, auth, logger: false });
    try {
      assert.equal((await post(app, cached, events(1, 'down0'))).status, 200);
      proxy.close();
      for (const s of sockets) s.destroy();
      for (const token of [cached, 'cbt_a-token-not-looked-up-yet-0001']) {
        const r = await post(app, token, events(1, 'down1'));
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.headers['retry-after'], '5');
        assert.equal(r.body.code, 'CB_STORE_UNAVAILABLE');
      }
    } finally {
      await app.close();
      await store.close().catch(() => {});
      const cleanup = await PostgresStore.open(PG_URL, { schema });
      await cleanup.dropSchema();
      await cleanup.close();
    }
  });

  it('acknowledges durable batches, deduplicates retries and stores nothing of a refused batch', async () => {
    const t = await openTestStore('postgres');
    const auth = new Auth(t.store, { rateLimit: false });
    const { token } = await auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['i1'] });
    const app = buildApp({ store: t.store, auth, logger: false });
    try {
      const batch = events(50, 'pg');
      assert.deepEqual((await post(app, token, batch)).body, { accepted: 50, duplicates: 0 });
      assert.deepEqual((await post(app, token, [...batch.slice(0, 10), ...events(5, 'pg2')])).body, { accepted: 5, duplicates: 10 });
      const r = await post(app, token, [...events(3, 'pg3'), lane('pg3-x', { intersection: 'i2' })]);
      assert.equal(r.status, 403);
      assert.equal(await t.store.count(), 55);
      // a NUL would fail the whole group commit (503, forever on retry): it is refused before the store
      const [poison, good] = await Promise.all([post(app, token, [...events(2, 'pg4'), lane('pg4-\u0000')]), post(app, token, events(2, 'pg5'))]);
      assert.equal(poison.status, 400, JSON.stringify(poison.body));
      assert.match(poison.body.message!, /^events\[2\]\.id: must not contain the NUL character/);
      assert.equal((await post(app, token, [lane('pg6-\ud800')])).status, 400);
      assert.deepEqual(good.body, { accepted: 2, duplicates: 0 });
      assert.equal(await t.store.count(), 57);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });
});
