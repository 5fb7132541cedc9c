import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalEvent } from '@citybrain/brain';
import { Auth, buildApp } from '@citybrain/server';
import { openTestStore } from './helpers.js';

// Issue #12: a bounded fuzz test of POST /api/v1/events. 300 mutants of valid batches (fixed seed): every answer
// is 2xx or 4xx with a one-line message naming what is wrong, never a 5xx, a crash or a hang, and every
// acknowledged event is in the store exactly as acknowledged.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const NOW = Date.now();
// few ids, so mutants retry, repeat and reuse each other's ids (duplicates and conflicts)
const id = fc.integer({ min: 0, max: 150 }).map((n) => `e${n}`);
const ts = fc.integer({ min: NOW - 3_600_000, max: NOW + 60_000 });
const laneEvent = fc.record({
  id, device: fc.constant('cam-1'), ts, kind: fc.constant('lane'), intersection: fc.constant('i1'), lane: fc.constantFrom('i1_N_0', 'i1_E_1'),
  count: fc.integer({ min: 0, max: 50 }), occupancy: fc.double({ min: 0, max: 1, noNaN: true }), speed: fc.double({ min: 0, max: 30, noNaN: true }),
  interval: fc.constantFrom(5, 60),
});
const plateEvent = fc.record({
  id, device: fc.constant('cam-1'), ts, kind: fc.constant('plate'), plate: fc.constantFrom('浙A12345', 'AB123'), camera: fc.constant('c1'),
  intersection: fc.constant('i1'), confidence: fc.double({ min: 0, max: 1, noNaN: true }),
});
const parkingEvent = fc.record({ id, device: fc.constant('cam-1'), ts, kind: fc.constant('parking'), bay: fc.constant('bay-1'), occupied: fc.boolean() });
const signalEvent = fc.record({ id, device: fc.constant('cam-1'), ts, kind: fc.constant('signal'), intersection: fc.constant('i1'), phase: fc.integer({ min: 0, max: 7 }) });
const validBatch = fc.array(fc.oneof(laneEvent, plateEvent, parkingEvent, signalEvent), { minLength: 1, maxLength: 5 });

const at = fc.nat(1000);
const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom<Json>(-1, 1.5, 1e300, 'i2', 'cam-2', 'bay-9', '', 'x'.repeat(200), 'a\u0000b', '\ud800'),
);
const oddTs = fc.oneof(
  fc.constantFrom<Json>(Math.round(NOW / 1000), NOW * 1000, 1e13, 1e11, NOW + 86_400_000, NOW - 30 * 86_400_000, String(NOW), new Date(NOW).toISOString(), '2024-05-01', 'yesterday'),
  fc.double() as fc.Arbitrary<Json>,
);
const mutation = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), i: at, k: at }),
  fc.record({ op: fc.constant('set' as const), i: at, k: at, v: oddValue }),
  fc.record({ op: fc.constant('unknown' as const), i: at, name: fc.string({ maxLength: 8 }), v: oddValue }),
  fc.record({ op: fc.constant('ts' as const), i: at, v: oddTs }),
  fc.record({ op: fc.constant('kind' as const), i: at, v: fc.constantFrom<Json>('lane', 'plate', 'parking', 'signal', 'Lane', 3, null) }),
  fc.record({ op: fc.constant('reuse' as const), i: at, j: at }),
  fc.record({ op: fc.constant('shape' as const), v: fc.constantFrom('array', 'single', 'extra', 'empty', 'null', 'string') }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('byte' as const), at, b: fc.integer({ min: 0, max: 255 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** Applies the mutations: first to the events, then to the body's shape, then to its bytes. */
function mutate(batch: Obj[], ms: readonly Mutation[]): Buffer {
  const events = batch.map((e) => ({ ...e }));
  let body: Json = { events };
  for (const m of ms) {
    const e = events[('i' in m ? m.i : 0) % events.length];
    const keys = Object.keys(e);
    switch (m.op) {
      case 'drop': delete e[keys[m.k % keys.length]]; break;
      case 'set': e[keys[m.k % keys.length]] = m.v; break;
      case 'unknown': e[m.name] = m.v; break;
      case 'ts': e.ts = m.v; break;
      case 'kind': e.kind = m.v; break;
      // another reading under an existing id (a conflict), or the very same event again (a duplicate)
      case 'reuse': e.id = events[m.j % events.length].id; break;
      case 'shape':
        body = m.v === 'array' ? events : m.v === 'single' ? events[0] : m.v === 'extra' ? { events, more: 1 } : m.v === 'empty' ? { events: [] } : m.v === 'null' ? null : 'events';
        break;
      default: break;
    }
  }
  let bytes = Buffer.from(JSON.stringify(body));
  for (const m of ms) {
    if (m.op === 'truncate') bytes = bytes.subarray(0, m.at % bytes.length);
    if (m.op === 'byte') {
      bytes = Buffer.from(bytes);
      bytes[m.at % bytes.length] = m.b;
    }
  }
  return bytes;
}

/** The event as stored: ts in epoch ms. */
function normalized(e: Obj): Obj {
  return { ...e, ts: typeof e.ts === 'string' ? Date.parse(e.ts) : e.ts };
}

test('fuzz: 300 mutants of valid batches get 2xx or a one-line 4xx naming the problem; no acknowledged event is lost', async () => {
  const t = await openTestStore('sqlite');
  const auth = new Auth(t.store, { rateLimit: false });
  const { token } = await auth.createToken({ name: 'fuzz', role: 'device', device: 'cam-1', intersections: ['i1'], bays: ['bay-1'] });
  const app = buildApp({ store: t.store, auth, logger: false });
  await app.ready();
  // what the server acknowledged: key → the event as stored
  const acknowledged = new Map<string, string>();
  const statuses = new Map<number, number>();
  try {
    await fc.assert(
      fc.asyncProperty(validBatch, fc.oneof({ arbitrary: fc.constant([]), weight: 1 }, { arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }), weight: 3 }), async (batch, ms) => {
        const payload = mutate(batch as Obj[], ms);
        const answer = app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload });
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([answer, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within 5 s to ${payload.toString()}`)), 5000)))])
          .finally(() => clearTimeout(timer));
        statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        const body = r.json() as { accepted?: number; duplicates?: number; message?: string; code?: string };
        assert.ok(r.statusCode >= 200 && r.statusCode < 500, `${r.statusCode} ${r.body} for ${payload.toString()}`);
        if (r.statusCode >= 400) {
          assert.equal(typeof body.message, 'string', r.body);
          assert.ok(body.message!.length > 0 && !body.message!.includes('\n'), `one line: ${body.message}`);
          // it names what is wrong: a JSON path, the body, or the id / header at fault
          assert.match(body.message!, /^(([A-Za-z_$][\w$]*|\[".*"\])(\[\d+\]|\.[A-Za-z_$][\w$]*|\[".*"\])*: |request body |Content-)/, body.message);
          return;
        }
        // 200: every event of the batch is stored, new or as a retry of exactly the same event
        const sent = (JSON.parse(payload.toString()) as Json) as Obj | Obj[];
        const events = Array.isArray(sent) ? sent : 'events' in sent ? (sent.events as Obj[]) : [sent];
        let fresh = 0;
        for (const e of events.map(normalized)) {
          const key = `${e.device}\u0000${e.id}`;
          const before = acknowledged.get(key);
          if (before === undefined) {
            acknowledged.set(key, canonicalEvent(e));
            fresh++;
          } else assert.equal(canonicalEvent(e), before, `acknowledged "${e.id}" as a duplicate of another event`);
        }
        assert.deepEqual(body, { accepted: fresh, duplicates: events.length - fresh });
      }),
      { seed: 20261206, numRuns: 300 },
    );
    const stored = await t.store.query({ limit: 10000 });
    assert.equal(stored.length, acknowledged.size, 'the store holds exactly the acknowledged events');
    for (const { receivedAt: _, ...e } of stored) assert.equal(canonicalEvent(e), acknowledged.get(`${e.device}\u0000${e.id}`), e.id);
    // the mutants reach both sides: accepted batches and refusals
    assert.ok((statuses.get(200) ?? 0) > 30 && (statuses.get(400) ?? 0) > 50 && (statuses.get(409) ?? 0) > 5, JSON.stringify([...statuses]));
  } finally {
    await app.close();
    await t.cleanup();
  }
});
