import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Scenario } from '@citybrain/engine';
import { ComparisonRun } from '../city/compare.js';
import type { CityRuntime } from '../city/runtime.js';
import type { CityAccess } from './city-routes.js';

export interface CompareRoutesOptions {
  runtime: CityRuntime;
  scenario: Scenario;
  access: CityAccess;
  /** runs kept (finished ones are dropped oldest first); default 8 */
  keep?: number;
  /** runs computing at once; default 2 */
  concurrent?: number;
}

const errorSchema = { type: 'object', properties: { statusCode: { type: 'number' }, error: { type: 'string' }, message: { type: 'string' } } };

/** What-if runs: controllers side by side in copies of the twin, with replay frames. */
export async function compareRoutes(app: FastifyInstance, opts: CompareRoutesOptions): Promise<void> {
  const { runtime: rt, access } = opts;
  const keep = opts.keep ?? 8;
  const concurrent = opts.concurrent ?? 2;
  const runs = new Map<string, ComparisonRun>();
  let seq = 0;
  app.addHook('onClose', async () => {
    for (const r of runs.values()) r.cancel();
  });

  app.post<{ Body: { controllers: string[]; duration?: number } }>('/api/v1/compare', {
    onRequest: access.require('operator', 'app'),
    schema: {
      tags: ['compare'], summary: 'Start a side-by-side run of 2–4 controllers on the same demand, from an empty network',
      body: {
        type: 'object',
        properties: {
          controllers: { type: 'array', items: { type: 'string', maxLength: 64 }, minItems: 2, maxItems: 4, uniqueItems: true },
          duration: { type: 'integer', minimum: 60, maximum: 7200, default: 1800, description: 'simulated seconds' },
        },
        required: ['controllers'],
        additionalProperties: false,
      },
      response: { 202: { type: 'object', properties: { id: { type: 'string' } } }, 400: errorSchema, 429: errorSchema },
    },
  }, async (req, reply) => {
    const unknown = req.body.controllers.filter((c) => !Object.hasOwn(rt.factories, c));
    if (unknown.length) {
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `unknown controller ${unknown.map((c) => `"${c}"`).join(', ')}; choose from: ${Object.keys(rt.factories).join(', ')}` });
    }
    if ([...runs.values()].filter((r) => !r.done).length >= concurrent) {
      return reply.code(429).header('retry-after', '30').send({ statusCode: 429, error: 'Too Many Requests', message: `${concurrent} comparisons are already running; try again when one finishes` });
    }
    const id = `cmp-${++seq}`;
    const run = new ComparisonRun(id, opts.scenario, rt.factories, req.body.controllers, req.body.duration ?? 1800);
    runs.set(id, run);
    for (const [k, r] of runs) if (runs.size > keep && r.done) runs.delete(k);
    void run.run();
    return reply.code(202).send({ id });
  });

  app.get('/api/v1/compare', {
    onRequest: access.require('viewer', 'operator', 'app'),
    schema: { tags: ['compare'], summary: 'Comparison runs', response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
  }, async () => [...runs.values()].map((r) => ({ id: r.id, controllers: r.controllers, duration: r.duration, done: r.done, time: r.lanes[0].sim.time })));

  app.get<{ Params: { id: string } }>('/api/v1/compare/:id', {
    onRequest: access.require('viewer', 'operator', 'app'),
    schema: {
      tags: ['compare'], summary: 'A comparison: each controller\'s ATT series so far',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req, reply) => {
    const run = runs.get(req.params.id);
    if (!run) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no comparison "${req.params.id}"` });
    return run.summary();
  });

  app.get<{ Params: { id: string; controller: string }; Querystring: { from?: number; to?: number } }>('/api/v1/compare/:id/replay/:controller', {
    onRequest: access.require('viewer', 'operator', 'app'),
    schema: {
      tags: ['compare'], summary: 'Replay frames (vehicles as x, y, heading, speed; phases) of one controller\'s run',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 }, controller: { type: 'string', maxLength: 64 } }, required: ['id', 'controller'] },
      querystring: { type: 'object', properties: { from: { type: 'number', minimum: 0 }, to: { type: 'number', minimum: 0 } }, additionalProperties: false },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req, reply) => {
    const run = runs.get(req.params.id);
    const frames = run?.frames(req.params.controller, req.query.from ?? 0, req.query.to ?? Infinity);
    if (!run || !frames) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no run of "${req.params.controller}" in comparison "${req.params.id}"` });
    return { id: run.id, controller: req.params.controller, every: run.sampleEvery, frames };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/compare/:id', {
    onRequest: access.require('operator', 'app'),
    schema: { tags: ['compare'], summary: 'Stop and forget a comparison', params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] }, response: { 204: { type: 'null' }, 404: errorSchema } },
  }, async (req, reply) => {
    const run = runs.get(req.params.id);
    if (!run) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no comparison "${req.params.id}"` });
    run.cancel();
    runs.delete(req.params.id);
    return reply.code(204).send();
  });
}
