import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Auth, buildApp, EventConflictError } from '@citybrain/server';
import { lane, openTestStore, pgUnavailable, T0, type TestStore } from './helpers.js';

// Issue #12: an event id re-sent later with other fields is a 409 naming the id, not a silent duplicate.
const pgSkip = await pgUnavailable();

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`an id stored earlier with other fields (${backend})`, { skip: backend === 'postgres' ? pgSkip : false }, () => {
    let t: TestStore;
    let app: FastifyInstance;
    let token: string;
    before(async () => {
      t = await openTestStore(backend);
      const auth = new Auth(t.store, { rateLimit: false });
      token = (await auth.createToken({ name: 'cam', role: 'device', device: 'cam-1', intersections: ['i1'] })).token;
      app = buildApp({ store: t.store, auth, logger: false });
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await t?.cleanup();
    });

    const post = async (payload: unknown) => {
      const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
      return { status: r.statusCode, body: r.json() as { accepted?: number; duplicates?: number; message?: string; code?: string } };
    };

    it('the store refuses the whole batch, naming the event; an identical retry stays a duplicate', async () => {
      assert.deepEqual(await t.store.append([lane('s-1')]), { accepted: ['s-1'], duplicates: [] });
      await assert.rejects(t.store.append([lane('s-2'), lane('s-1', { count: 9 })]), (e: unknown) => {
        assert.ok(e instanceof EventConflictError);
        assert.deepEqual([e.index, e.device, e.id], [1, 'cam-1', 's-1']);
        return true;
      });
      assert.equal(await t.store.count({ device: 'cam-1' }), 1, 'nothing of the refused batch (s-2) is stored');
      // the same reading again, fields in another order: a retry
      const reordered = Object.fromEntries(Object.entries(lane('s-1')).reverse()) as ReturnType<typeof lane>;
      assert.deepEqual(await t.store.append([reordered, lane('s-2')]), { accepted: ['s-2'], duplicates: ['s-1'] });
      const kept = (await t.store.query({ device: 'cam-1' })).find((e) => e.id === 's-1')!;
      assert.ok(kept.kind === 'lane' && kept.count === 4, 'the first reading is kept');
    });

    it('batches committed together: the conflicting one stores nothing, the others are stored', async () => {
      const [a, b, c] = await Promise.allSettled([
        t.store.append([lane('g-1'), lane('g-2')]),
        t.store.append([lane('g-3'), lane('g-1', { occupancy: 0.9 })]),
        t.store.append([lane('g-4'), lane('g-2')]),
      ]);
      assert.deepEqual(a.status === 'fulfilled' && a.value, { accepted: ['g-1', 'g-2'], duplicates: [] });
      assert.ok(b.status === 'rejected' && b.reason instanceof EventConflictError && b.reason.id === 'g-1', String(b.status === 'rejected' && b.reason));
      assert.deepEqual(c.status === 'fulfilled' && c.value, { accepted: ['g-4'], duplicates: ['g-2'] });
      const ids = (await t.store.query({ device: 'cam-1', limit: 100 })).map((e) => e.id).filter((id) => id.startsWith('g-')).sort();
      assert.deepEqual(ids, ['g-1', 'g-2', 'g-4']);
    });

    it('HTTP answers 409 naming the id, stores nothing of the batch, and still acknowledges a genuine retry', async () => {
      assert.equal((await post([lane('h-1')])).status, 200);
      const r = await post([lane('h-2'), lane('h-1', { ts: T0 + 5000 })]);
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.code, 'CB_ID_CONFLICT');
      assert.equal(r.body.message, 'events[1].id: "h-1" was stored earlier with other fields; ids must be unique per device (a retry must resend the same event); nothing of this batch was stored');
      assert.equal((await t.store.query({ device: 'cam-1', limit: 100 })).some((e) => e.id === 'h-2'), false);
      assert.deepEqual((await post([lane('h-1'), lane('h-2')])).body, { accepted: 1, duplicates: 1 });
      assert.match((await app.inject('/metrics')).body, /citybrain_ingest_rejected_total\{source="http",reason="conflict"\} 1/);
    });
  });
}
