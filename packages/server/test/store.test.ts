import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ParkingEvent, type SignalEvent } from '@citybrain/brain';
import { openStore, StoreError, type EventStore } from '@citybrain/server';
import pg from 'pg';
import { events, lane, openTestStore, PG_URL, pgUnavailable, uid, type TestStore } from './helpers.js';

const pgSkip = await pgUnavailable();
if (pgSkip) console.log(pgSkip);

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`EventStore contract: ${backend}`, { skip: backend === 'postgres' ? pgSkip : undefined }, () => {
    let t: TestStore;
    let store: EventStore;
    before(async () => {
      t = await openTestStore(backend);
      store = t.store;
    });
    after(async () => t?.cleanup());

    it('stores a batch once: a retried batch and repeats within a batch are duplicates', async () => {
      const batch = events(5, 'retry');
      assert.deepEqual(await store.append(batch), { accepted: batch.map((e) => e.id), duplicates: [] });
      assert.deepEqual(await store.append(batch), { accepted: [], duplicates: batch.map((e) => e.id) });
      const r = await store.append([lane('retry-new'), lane('retry-new'), lane('retry-0')]);
      assert.deepEqual(r, { accepted: ['retry-new'], duplicates: ['retry-new', 'retry-0'] });
      assert.equal(await store.count({ device: 'cam-1' }), 6);
    });

    it('keys idempotency on (device, id): another device may reuse an id', async () => {
      const r = await store.append([lane('shared-id', { device: 'cam-A' }), lane('shared-id', { device: 'cam-B' })]);
      assert.deepEqual(r.accepted, ['shared-id', 'shared-id']);
      assert.equal(await store.count({ device: 'cam-A' }), 1);
      assert.equal(await store.count({ device: 'cam-B' }), 1);
    });

    it('groups concurrent appends into shared commits and resolves each with its own result', async () => {
      const sizes: number[] = [];
      const off = store.onCommit((c) => sizes.push(c.events));
      const results = await Promise.all(Array.from({ length: 40 }, (_, k) => store.append(events(25, `group-${k}`, { device: 'cam-G' }))));
      off();
      for (const [k, r] of results.entries()) assert.deepEqual(r.accepted, events(25, `group-${k}`).map((e) => e.id));
      assert.equal(await store.count({ device: 'cam-G' }), 1000);
      assert.equal(sizes.reduce((a, b) => a + b, 0), 1000);
      assert.ok(Math.max(...sizes) > 25, `some commit should carry several requests' batches, got commit sizes ${sizes.join(',')}`);
    });

    it('queries by kind, device, intersection, bay and time range, with limit and order', async () => {
      const base = Date.UTC(2025, 0, 1);
      const park: ParkingEvent = { id: 'q-p', device: 'cam-Q', ts: base + 1000, kind: 'parking', bay: 'bay-7', occupied: true };
      const sig: SignalEvent = { id: 'q-s', device: 'cam-Q', ts: base + 2000, kind: 'signal', intersection: 'i9', phase: 3 };
      const lanes = [0, 1, 2, 3].map((i) => lane(`q-l${i}`, { device: 'cam-Q', intersection: 'i9', ts: base + 3000 + i * 1000 }));
      await store.append([park, sig, ...lanes]);
      const before = Date.now();
      const all = await store.query({ device: 'cam-Q' });
      assert.deepEqual(all.map((e) => e.id), ['q-p', 'q-s', 'q-l0', 'q-l1', 'q-l2', 'q-l3']);
      assert.deepEqual({ ...all[1], receivedAt: 0 }, { ...sig, receivedAt: 0 });
      assert.ok(all.every((e) => e.receivedAt > before - 60000 && e.receivedAt <= Date.now()));
      assert.deepEqual((await store.query({ kind: 'parking', device: 'cam-Q' })).map((e) => e.id), ['q-p']);
      assert.deepEqual((await store.query({ bay: 'bay-7' })).map((e) => e.id), ['q-p']);
      assert.deepEqual((await store.query({ intersection: 'i9', kind: 'lane', from: base + 4000, to: base + 6000 })).map((e) => e.id), ['q-l1', 'q-l2']);
      assert.deepEqual((await store.query({ device: 'cam-Q', order: 'desc', limit: 2 })).map((e) => e.id), ['q-l3', 'q-l2']);
      assert.equal(await store.count({ intersection: 'i9' }), 5);
      await assert.rejects(store.query({ limit: 0 }), /limit must be a positive integer/);
      await assert.rejects(store.query({ kind: 'bogus' as 'lane' }), /kind must be one of/);
    });

    it('purges events older than the retention cutoff and keeps the rest', async () => {
      const old = events(30, 'old', { device: 'cam-R', ts: Date.UTC(2020, 0, 1) });
      const fresh = events(5, 'fresh', { device: 'cam-R', ts: Date.UTC(2030, 0, 1) });
      await store.append([...old, ...fresh]);
      const n = await store.purgeOlderThan(Date.UTC(2021, 0, 1));
      assert.ok(n >= 30, `purged ${n}`);
      assert.equal(await store.count({ device: 'cam-R' }), 5);
      // the idempotency window is the retention period: a purged id is new again
      assert.deepEqual((await store.append([old[0]])).accepted, [old[0].id]);
    });

    it('appends and queries the audit log with before and after states', async () => {
      const a = await store.appendAudit({ actor: 'ops (tok_1)', role: 'operator', action: 'signal.setPhase', target: 'i1', before: { phase: 1 }, after: { phase: 2 }, at: 1000 });
      const b = await store.appendAudit({ actor: 'ops (tok_1)', role: 'operator', action: 'controller.switch', target: 'city', before: 'fixed', after: 'max-pressure', at: 2000 });
      const c = await store.appendAudit({ actor: 'other (tok_2)', role: 'operator', action: 'signal.setPhase', target: 'i2' });
      assert.ok(a.seq < b.seq && b.seq < c.seq);
      assert.deepEqual(await store.queryAudit({ target: 'i1' }), [a]);
      assert.deepEqual((await store.queryAudit({ action: 'signal.setPhase' })).map((e) => e.seq), [a.seq, c.seq]);
      assert.deepEqual((await store.queryAudit({ actor: 'ops (tok_1)', order: 'desc' })).map((e) => e.after), ['max-pressure', { phase: 2 }]);
      assert.deepEqual((await store.queryAudit({ from: 1500, to: 2500 })).map((e) => e.seq), [b.seq]);
      assert.equal(c.before, null);
    });

    it('stores token records by hash and revokes them', async () => {
      const rec = { id: 'tok_abc', hash: 'f'.repeat(64), name: 'gw', role: 'device' as const, device: 'gw-1', intersections: ['i1'], bays: ['b1'], vehicles: ['amb-1'], createdAt: 5 };
      await store.putToken(rec);
      assert.deepEqual(await store.findToken(rec.hash), rec);
      assert.equal(await store.findToken('0'.repeat(64)), undefined);
      assert.ok((await store.listTokens()).some((t) => t.id === 'tok_abc'));
      assert.equal(await store.revokeToken('tok_abc', 99), true);
      assert.equal(await store.revokeToken('tok_abc', 100), false);
      assert.equal((await store.findToken(rec.hash))?.revokedAt, 99);
    });

    it('records an audited action and the state it sets in one write, and a revoke of no token as nothing', async () => {
      const who = { actor: 'ops (tok_1)', role: 'operator' };
      const a = await store.recordAction({ ...who, action: 'set-controller', target: 'region:nw', before: 'fixed', after: 'sotl', at: 5000 },
        { t: 'state', set: { 'controller:i1': 'sotl', 'controller:i2': 'sotl', 'other:x': { n: 1 } } });
      assert.ok(a && a.seq > 0 && a.after === 'sotl');
      assert.deepEqual([...(await store.readState('controller:'))], [['controller:i1', 'sotl'], ['controller:i2', 'sotl']]);
      await store.recordAction({ ...who, action: 'set-controller', target: 'intersection:i2', after: 'fixed' }, { t: 'state', set: { 'controller:i2': null } });
      assert.deepEqual([...(await store.readState('controller:'))], [['controller:i1', 'sotl']]);
      assert.deepEqual((await store.readState()).get('other:x'), { n: 1 });

      const rec = { id: 'tok_act', hash: 'e'.repeat(64), name: 'issued', role: 'viewer' as const, intersections: [], bays: [], vehicles: [], createdAt: 1 };
      assert.ok(await store.recordAction({ ...who, action: 'issue-token', target: 'token:tok_act' }, { t: 'token', rec }));
      assert.equal((await store.findToken(rec.hash))?.name, 'issued');
      assert.ok(await store.recordAction({ ...who, action: 'revoke-token', target: 'token:tok_act' }, { t: 'revoke', id: 'tok_act', at: 7 }));
      assert.equal((await store.findToken(rec.hash))?.revokedAt, 7);
      const audits = await store.queryAudit({ target: 'token:tok_act' });
      assert.equal(await store.recordAction({ ...who, action: 'revoke-token', target: 'token:tok_act' }, { t: 'revoke', id: 'tok_act', at: 8 }), undefined);
      assert.equal((await store.queryAudit({ target: 'token:tok_act' })).length, audits.length, 'a revoke that changed nothing is not audited');
    });

    it('keeps one snapshot per name, replaced whole', async () => {
      assert.equal(await store.getSnapshot('city'), undefined);
      await store.putSnapshot({ name: 'city', fingerprint: 'a', at: 1, data: new Uint8Array([1, 2, 3]) });
      await store.putSnapshot({ name: 'city', fingerprint: 'b', at: 2, data: new Uint8Array([0, 255, 0, 7]) });
      assert.deepEqual(await store.getSnapshot('city'), { name: 'city', fingerprint: 'b', at: 2, data: new Uint8Array([0, 255, 0, 7]) });
    });

    it('replaces events by others in one write, with a state row', async () => {
      await store.append([lane('rep-a', { device: 'cam-Repl' }), lane('rep-b', { device: 'cam-Repl' })]);
      await store.replaceEvents([{ device: 'cam-Repl', id: 'rep-a' }, { device: 'cam-Repl', id: 'rep-b' }], [lane('rep-ab', { device: 'cam-Repl', count: 8 })], { 'test:mark': 42 });
      assert.deepEqual((await store.query({ device: 'cam-Repl' })).map((e) => [e.id, (e as { count: number }).count]), [['rep-ab', 8]]);
      assert.equal((await store.readState('test:')).get('test:mark'), 42);
    });

    it('answers a ping and tells where its data is and how big it is', async () => {
      await store.ping();
      const f = await store.footprint();
      assert.ok(f.bytes > 0, `${f.bytes} bytes`);
      assert.match(f.location, backend === 'sqlite' ? /test\.db$/ : /schema "cb_test_/);
    });

    it('keeps everything across a close and reopen', async () => {
      const url = t.url;
      const n = await store.count();
      if (backend === 'sqlite') {
        await store.close();
        store = await openStore(url);
        t.store = store;
      } else {
        const second = await openStore(url);
        try {
          assert.equal(await second.count(), n);
        } finally {
          await second.close();
        }
      }
      assert.equal(await store.count(), n);
      assert.deepEqual((await store.append([lane('retry-0')])).duplicates, ['retry-0']);
    });
  });
}

describe('openStore', () => {
  it('refuses an unknown scheme with the accepted forms', async () => {
    await assert.rejects(openStore('mysql://x'), (e: Error) => e instanceof StoreError && /use sqlite:PATH .* or postgres:\/\//.test(e.message));
    await assert.rejects(openStore('sqlite:'), /needs a file path/);
  });

  it('fails a ping once the store is closed', async () => {
    const t = await openTestStore('sqlite');
    await t.store.close();
    await assert.rejects(t.store.ping(), (e: Error) => e instanceof StoreError && /closed/.test(e.message));
    await t.cleanup();
  });

  it('names a missing PostgreSQL database with the command that creates it, and creates it when asked', { skip: pgSkip }, async () => {
    const name = `cb_test_db_${uid()}`;
    const url = new URL(PG_URL);
    url.pathname = `/${name}`;
    await assert.rejects(openStore(url.toString()), (e: Error) => e instanceof StoreError
      && e.message.includes(`database "${name}" does not exist; create it with \`createdb -h ${url.hostname} -p ${url.port || 5432} -U ${url.username} ${name}\`, or start with --create-db`));
    const store = await openStore(url.toString(), { createDatabase: true });
    try {
      await store.append([lane('in-new-db')]);
      assert.equal(await store.count(), 1);
    } finally {
      await store.close();
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE "${name}"`);
      await admin.end();
    }
  });

  it('names an unreachable PostgreSQL without its password', async () => {
    await assert.rejects(openStore('postgres://u:secret@127.0.0.1:1/db'), (e: Error) => /cannot open PostgreSQL store at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/.test(e.message) && !e.message.includes('secret'));
  });
});
