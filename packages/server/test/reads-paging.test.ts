import { test, describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { type Event } from '@citybrain/brain';
import { MAX_PAGE_BYTES, MAX_WAITING_READS, StoreError, type EventStore, type RunningServer } from '@citybrain/server';
import { lane, nextOf, openTestStore, pageReader, pgUnavailable, startTestServer, type TestStore } from './helpers.js';

/**
 * Raw events and the audit log in pages: a cursor continues where the last
 * page stopped, a page holds at most `limit` rows and about MAX_PAGE_BYTES.
 * One server on a temp SQLite store, the virtual city paused (no events but ours).
 */
let server: RunningServer;
let cleanup: () => Promise<void>;
const tokens: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };

const { get, allPages } = pageReader(() => server.url);

const HIST = 'det-hist';
const T0 = Date.UTC(2024, 4, 1, 8);

before(async () => {
  ({ server, cleanup } = await startTestServer('reads-paging', generateGrid({ rows: 1, cols: 1, demand: 0.1 })));
  tokens.operator = server.createdTokens[0].token;
  tokens.viewer = (await server.auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  // 8,000 lane reports in threes per millisecond: ties in event time are ordered by arrival
  for (let k = 0; k < 8000; k += 2000) {
    await server.store.append(Array.from({ length: 2000 }, (_, i): Event => lane(`h-${k + i}`, { device: HIST, ts: T0 + Math.floor((k + i) / 3), queue: (k + i) % 9 })));
  }
});

after(async () => {
  await cleanup?.();
});

describe('GET /api/v1/events pages with a cursor', () => {
  it('walks every event once, newest first, ties by arrival, while events keep arriving', async () => {
    const ids: string[] = [];
    let extra = 0;
    let path: string | undefined = `/api/v1/events?device=${HIST}&limit=700`;
    while (path !== undefined) {
      const a = await get(path, tokens.viewer);
      assert.equal(a.status, 200);
      const page = a.body as { id: string; ts: number; receivedAt: number }[];
      assert.ok(page.length <= 700);
      ids.push(...page.map((e) => e.id));
      // newer reports arrive while the client pages: they are ahead of its cursor and shift nothing
      await server.store.append([lane(`new-${extra++}`, { device: HIST, ts: T0 + 10_000 + extra })]);
      path = nextOf(a.link);
    }
    const want = Array.from({ length: 8000 }, (_, i) => `h-${i}`).sort((a, b) => {
      const [x, y] = [Number(a.slice(2)), Number(b.slice(2))];
      return Math.floor(y / 3) - Math.floor(x / 3) || y - x;
    });
    assert.deepEqual(ids, want);
    assert.equal(extra, Math.ceil(8000 / 700), 'one request per page, and no empty last page');
  });

  it('oldest first as well; filters carry over to the next page', async () => {
    const { pages } = await allPages(`/api/v1/events?device=${HIST}&order=asc&from=${T0 + 100}&to=${T0 + 400}&limit=250`, tokens.viewer);
    const events = pages.flat() as { id: string; ts: number }[];
    assert.deepEqual(pages.map((p) => p.length), [250, 250, 250, 150]);
    assert.deepEqual(events.map((e) => e.id), Array.from({ length: 900 }, (_, i) => `h-${300 + i}`));
  });

  it('caps a response at about 1 MiB whatever the limit, and says where to continue', async () => {
    const { pages, bytes } = await allPages(`/api/v1/events?device=${HIST}&limit=10000`, tokens.viewer);
    assert.ok(pages.length >= 2, `8,000 reports of ~180 bytes take more than one page (${bytes.join(', ')} bytes)`);
    for (const b of bytes) assert.ok(b <= MAX_PAGE_BYTES, `a page of ${b} bytes`);
    assert.ok(bytes[0] > MAX_PAGE_BYTES * 0.9, 'the cap, not the limit, ended the first page');
    const ids = (pages.flat() as { id: string }[]).map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no event twice');
    assert.ok(ids.filter((id) => id.startsWith('h-')).length === 8000, 'every event');
  });

  it('a cursor that is not one, or of the other order, is a 400 naming the parameter', async () => {
    const first = await get(`/api/v1/events?device=${HIST}&limit=5`, tokens.viewer);
    const cursor = new URL(nextOf(first.link)!, server.url).searchParams.get('after')!;
    const other = await get(`/api/v1/events?device=${HIST}&limit=5&order=asc&after=${cursor}`, tokens.viewer);
    assert.equal(other.status, 400);
    assert.equal((other.body as { message: string }).message, 'querystring.after: this cursor continues an order=desc listing, not order=asc');
    for (const bad of ['nonsense', Buffer.from('events:desc:1:x').toString('base64url'), Buffer.from('audit:desc:5').toString('base64url'), '%2F%2F']) {
      const a = await get(`/api/v1/events?after=${bad}`, tokens.viewer);
      assert.equal(a.status, 400, bad);
      assert.match((a.body as { message: string }).message, /^querystring\.after: ".*" is not a cursor of the events listing: pass the next link of a previous page unchanged$/);
    }
  });
});

test('the OpenAPI document tells clients how to page and what a page holds', async () => {
  const doc = (await get('/docs/json')).body as { paths: Record<string, { get: { description: string; responses: Record<string, { headers?: Record<string, unknown> }> } }> };
  for (const path of ['/api/v1/events', '/api/v1/audit']) {
    const op = doc.paths[path].get;
    assert.ok(op.responses['200'].headers?.link, `${path} documents the Link header`);
    assert.match(op.description, /At most `limit` rows and about 1 MiB per response; when more match, the `Link` header gives the next page/);
  }
});

test('GET /api/v1/audit pages newest first with the same cursor links', async () => {
  const written = [];
  for (let i = 0; i < 25; i++) written.push(await server.store.appendAudit({ actor: 'pager', role: 'operator', action: 'test.page', target: `t${i}`, after: { i } }));
  const { pages } = await allPages('/api/v1/audit?action=test.page&limit=10', tokens.operator);
  assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
  assert.deepEqual(pages.flat(), written.reverse());
  const bad = await get(`/api/v1/audit?after=${Buffer.from('events:desc:1:2').toString('base64url')}`, tokens.operator);
  assert.equal(bad.status, 400);
  assert.match((bad.body as { message: string }).message, /^querystring\.after: .* not a cursor of the audit listing/);
});

const pgSkip = await pgUnavailable();
for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`${backend} store: pages`, { skip: backend === 'postgres' ? pgSkip : undefined }, () => {
    let t: TestStore;
    let store: EventStore;
    before(async () => {
      t = await openTestStore(backend);
      store = t.store;
      await store.append(Array.from({ length: 40 }, (_, i) => lane(`p-${i}`, { device: 'cam-P', ts: T0 + (i >> 1) })));
      await store.append([{ kind: 'plate', id: 'pl-1', device: 'cam-P', ts: T0, intersection: 'i1', camera: 'c1', plate: '浙A12345', confidence: 0.9 }]);
    });
    after(async () => t?.cleanup());

    it('a byte bound splits pages at row boundaries, always at least one row; the pages add up to the whole read', async () => {
      const whole = await store.query({ device: 'cam-P', kinds: ['lane'], limit: 100 });
      assert.equal(whole.length, 40);
      const rowBytes = Buffer.byteLength(JSON.stringify(whole[0]));
      const seen: unknown[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await store.queryPage({ device: 'cam-P', kinds: ['lane'], limit: 100, after, maxBytes: rowBytes * 3 + 4 });
        const rows = JSON.parse(page.json) as unknown[];
        assert.equal(page.rows, rows.length);
        assert.ok(rows.length >= 1 && Buffer.byteLength(page.json) <= rowBytes * 3 + 4, `page of ${rows.length} rows, ${page.json.length} bytes`);
        seen.push(...rows);
        after = page.next;
        pages++;
      } while (after !== undefined);
      assert.deepEqual(seen, whole);
      assert.ok(pages >= 13, `${pages} pages`);
      const tiny = await store.queryPage({ device: 'cam-P', limit: 5, maxBytes: 1 });
      assert.equal(tiny.rows, 1, 'a row larger than the bound still makes a page');
      assert.notEqual(tiny.next, undefined);
    });

    it('kinds leaves other kinds out of reads and counts', async () => {
      assert.equal(await store.count({ device: 'cam-P' }), 41);
      assert.equal(await store.count({ device: 'cam-P', kinds: ['lane', 'signal'] }), 40);
      assert.equal(await store.count({ device: 'cam-P', kinds: [] }), 0);
      assert.deepEqual((await store.query({ device: 'cam-P', kinds: ['plate'] })).map((e) => e.id), ['pl-1']);
    });

    if (backend === 'sqlite') {
      it('a flood of reads waits no deeper than MAX_WAITING_READS: the rest are refused at once, to retry (503)', async () => {
        const reads = Array.from({ length: MAX_WAITING_READS + 6 }, () => store.count({ device: 'cam-P' }).then((n) => n, (e: unknown) => e));
        const answers = await Promise.all(reads);
        assert.deepEqual(answers.slice(0, MAX_WAITING_READS), new Array(MAX_WAITING_READS).fill(41));
        for (const a of answers.slice(MAX_WAITING_READS)) {
          assert.ok(a instanceof StoreError && a.message === `${MAX_WAITING_READS} reads are already waiting for the SQLite reader; retry shortly`, String(a));
        }
        assert.equal(await store.count({ device: 'cam-P' }), 41, 'and reads go on');
      });
    }

    it('the audit log pages by sequence', async () => {
      const a = [];
      for (let i = 0; i < 5; i++) a.push(await store.appendAudit({ actor: 'x', role: 'operator', action: 'page', target: `t${i}`, before: i === 0 ? undefined : { n: i } }));
      const first = await store.queryAuditPage({ action: 'page', limit: 2, order: 'desc' });
      assert.deepEqual(JSON.parse(first.json), [a[4], a[3]]);
      const second = await store.queryAuditPage({ action: 'page', limit: 10, order: 'desc', after: first.next });
      assert.deepEqual(JSON.parse(second.json), [a[2], a[1], a[0]]);
      assert.equal(second.next, undefined);
      assert.deepEqual(await store.queryAudit({ action: 'page' }), a);
    });
  });
}
