/**
 * The ingestion pipeline is transport-neutral: it compiles the batch schema's
 * validator itself (no Fastify app needed), the HTTP route validates with
 * that very validator, and a body refused over HTTP is refused by `admit`
 * (MQTT's way in) with the same message and code.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { Auth, buildApp, HttpError, IngestPipeline, type Principal } from '@citybrain/server';
import { lane, openTestStore, type TestStore } from './helpers.js';

describe('ingestion pipeline', () => {
  let t: TestStore;
  let auth: Auth;
  let app: FastifyInstance;
  let token: string;
  let principal: Principal;
  before(async () => {
    t = await openTestStore('sqlite');
    auth = new Auth(t.store, { rateLimit: false });
    token = (await auth.createToken({ name: 'camera 1', role: 'device', device: 'cam-1', intersections: ['i1'], bays: ['bay-1'] })).token;
    principal = (await auth.authenticate(token))!;
    app = buildApp({ store: t.store, auth, logger: false });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await t?.cleanup();
  });

  it('validates without an app: the schema is compiled in the pipeline, with body types not coerced', async () => {
    const pipeline = new IngestPipeline(t.store, { registry: new Registry() });
    try {
      assert.equal(pipeline.validator({ events: [lane('p-ok')] }), true);
      assert.equal(pipeline.validator({ events: [{ ...lane('p-null'), queue: null }] }), false, 'null is not coerced');
      assert.equal(pipeline.validator({ events: [{ ...lane('p-extra'), colour: 'red' }] }), false, 'an unknown field is refused, not removed');
      // transports are let in only once an app made it ready (its event checks in place)
      assert.throws(() => pipeline.admit(principal, [lane('p-early')]), /await app\.ready\(\) first/);
      pipeline.open();
      assert.equal(pipeline.admit(principal, [lane('p-open')]).length, 1);
    } finally {
      pipeline.close();
    }
  });

  it('HTTP and admit (MQTT) refuse a bad body alike: same status, code and message', async () => {
    const bodies: unknown[] = [
      { events: [{ ...lane('b-1'), queue: -1 }] },
      [lane('b-2'), { ...lane('b-3'), kind: 'teleport' }],
      { ...lane('b-4'), colour: 'red' },
      { events: [] },
      { events: [{ ...lane('b-5'), intersection: 'i9' }] },
    ];
    for (const body of bodies) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
      let thrown: unknown;
      try {
        app.ingest.admit(principal, body);
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof HttpError, `admit refuses ${JSON.stringify(body)}`);
      assert.deepEqual([r.statusCode, r.json().code, r.json().message], [thrown.statusCode, thrown.code, thrown.message], JSON.stringify(body));
    }
  });
});
