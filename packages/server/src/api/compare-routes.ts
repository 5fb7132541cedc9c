import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Scenario } from '@citybrain/engine';
import { Comparison } from '../city/compare.js';
import type { CityRuntime } from '../city/runtime.js';
import { errorSchema, HttpError } from '../errors.js';
import { READ_ROLES } from '../auth.js';
import type { CityAccess } from './city-routes.js';
import type { Audited } from './audited.js';

export interface CompareRoutesOptions {
  runtime: CityRuntime;
  scenario: Scenario;
  access: CityAccess;
  /** the server's one path for audited actions (one at a time, 503 when the store cannot record) */
  audited: Audited;
  /** finished runs kept (dropped oldest first, from the store too); default 8 */
  keep?: number;
  /** runs computing at once, each on a worker thread of its own; default 2 */
  concurrent?: number;
  /** comparisons an app may keep (running or finished) before it deletes one of its own; default 2 */
  appQuota?: number;
}

const INTERRUPTED = 'the server stopped while this comparison ran; start it again to complete it';
const idParam = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] };

/**
 * What-if runs: controllers side by side in copies of the twin, with replay
 * frames. Each runs on a worker thread of its own (a run with a plug-in
 * controller, which exists only in the server's thread, runs there in
 * slices), at most `concurrent` at once. Viewers, operators and apps read
 * every run. Operators start runs and delete any; an app starts its own, one
 * at a time and `appQuota` kept, and deletes only its own. Starting and
 * deleting are audited. Runs are kept in the store: after a restart they are
 * listed with their results (without replay frames), and one that was running
 * is marked `interrupted`.
 */
export async function compareRoutes(app: FastifyInstance, opts: CompareRoutesOptions): Promise<void> {
  const { runtime: rt, access, audited } = opts;
  const store = app.store;
  const keep = opts.keep ?? 8;
  const concurrent = opts.concurrent ?? 2;
  const appQuota = opts.appQuota ?? 2;
  const runs = new Map<string, Comparison>();
  let seq = 0;
  for (const record of await store.listComparisons()) {
    // the server stopped while it ran: what it had computed is kept, and it says so
    if (record.status === 'running') {
      Object.assign(record, { status: 'interrupted', error: INTERRUPTED });
      await store.putComparison(record);
    }
    runs.set(record.id, new Comparison(record));
    seq = Math.max(seq, Number(/^cmp-(\d+)$/.exec(record.id)?.[1] ?? 0));
  }
  const save = (c: Comparison) => store.putComparison(c.record).catch((e: unknown) => app.log.error({ err: e, comparison: c.id }, 'comparison not saved'));
  // what a running comparison computed survives a crash up to its last save, and a shutdown whole
  const saving = setInterval(() => {
    for (const r of runs.values()) if (!r.done) void save(r);
  }, 30_000).unref();
  app.addHook('onClose', async () => {
    clearInterval(saving);
    const cut = [...runs.values()].filter((r) => !r.done);
    for (const r of cut) {
      r.stop();
      Object.assign(r.record, { status: 'interrupted', error: INTERRUPTED });
    }
    await Promise.all(cut.map(save));
  });
  const notFound = (id: string) => new HttpError('CB_NOT_FOUND', `no comparison "${id}"`);

  app.post<{ Body: { controllers: string[]; duration?: number } }>('/api/v1/compare', {
    onRequest: access.require('operator', 'app'),
    schema: {
      tags: ['compare'],
      summary: 'Start a side-by-side run of 2–4 controllers on the same demand, from an empty network (operators; apps: their own, one at a time; audited)',
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
      throw new HttpError('CB_INVALID_REQUEST', `body.controllers: unknown controller ${unknown.map((c) => `"${c}"`).join(', ')}; choose from: ${Object.keys(rt.factories).join(', ')}`);
    }
    const owner = access.who(req);
    const duration = req.body.duration ?? 1800;
    const controllers = req.body.controllers;
    // the quota and the running count are checked, and the run takes its place, under the audited actions' lock:
    // two requests at once cannot both pass the checks
    const run = await audited(() => {
      if (owner.role === 'app') {
        const mine = [...runs.values()].filter((r) => r.record.owner.actor === owner.actor);
        if (mine.some((r) => !r.done)) {
          throw new HttpError('CB_COMPARE_QUOTA', 'an app runs one comparison at a time; try again when yours finishes');
        }
        if (mine.length >= appQuota) {
          throw new HttpError('CB_COMPARE_QUOTA', `an app keeps at most ${appQuota} comparisons; delete one of yours (${mine.map((r) => r.id).join(', ')}) first`);
        }
      }
      if ([...runs.values()].filter((r) => !r.done).length >= concurrent) {
        reply.header('retry-after', '30');
        throw new HttpError('CB_COMPARE_BUSY', `${concurrent} comparisons are already running; try again when one finishes`);
      }
      const id = `cmp-${++seq}`;
      const created = new Comparison({
        id, controllers, duration, sampleEvery: 10, owner, createdAt: Date.now(), status: 'running', time: 0, error: null,
        series: Object.fromEntries(controllers.map((c) => [c, []])), faults: Object.fromEntries(controllers.map((c) => [c, []])), intersections: {},
      });
      return {
        entry: { ...owner, action: 'start-comparison', target: `comparison:${id}`, after: { controllers, duration } },
        apply: () => {
          runs.set(id, created);
          return created;
        },
      };
    });
    // audited, then stored before it starts: a run nobody can account for never starts
    try {
      await store.putComparison(run.record);
    } catch (e) {
      runs.delete(run.id);
      throw e;
    }
    run.start(opts.scenario, rt.factories, save);
    for (const [k, r] of runs) {
      if (runs.size <= keep) break;
      if (!r.done) continue;
      runs.delete(k);
      await store.deleteComparison(k);
    }
    return reply.code(202).send({ id: run.id });
  });

  app.get('/api/v1/compare', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['compare'], summary: 'Comparison runs, oldest first (status: running, done, failed, or interrupted by a restart), each with its winner so far: the lowest ATT and its margin against the runner-up (null while fewer than two have one, or on a tie)', response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
  }, async () => [...runs.values()].map((r) => r.listing()));

  app.get<{ Params: { id: string } }>('/api/v1/compare/:id', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['compare'], summary: 'A comparison: each controller\'s samples so far (ATT, delay and stops per finished trip, queued vehicles, throughput over the last 300 s), each KPI\'s winner with its margins, and per-intersection delay and level of service',
      params: idParam,
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req) => {
    const run = runs.get(req.params.id);
    if (!run) throw notFound(req.params.id);
    return run.summary();
  });

  const download = (name: string, type: string, text: string, reply: FastifyReply) =>
    reply.type(type).header('content-disposition', `attachment; filename="${name}"`).send(text);

  app.get<{ Params: { id: string } }>('/api/v1/compare/:id/export.csv', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['compare'], summary: 'A comparison\'s samples as CSV: one row per controller per sample, every KPI; the header names each column\'s unit (empty where not measured)',
      params: idParam,
      response: { 200: { type: 'string' }, 404: errorSchema },
    },
  }, async (req, reply) => {
    const run = runs.get(req.params.id);
    if (!run) throw notFound(req.params.id);
    return download(`${run.id}.csv`, 'text/csv; charset=utf-8', run.csv(), reply);
  });

  app.get<{ Params: { id: string } }>('/api/v1/compare/:id/report.html', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['compare'], summary: 'A comparison\'s report, one self-contained HTML page as `citybrain simulate --out` writes: the KPIs with each controller as a column and the winner, charts with a line per controller, delay and level of service by intersection',
      params: idParam,
      response: { 200: { type: 'string' }, 404: errorSchema },
    },
  }, async (req, reply) => {
    const run = runs.get(req.params.id);
    if (!run) throw notFound(req.params.id);
    return download(`${run.id}-report.html`, 'text/html; charset=utf-8', run.report(opts.scenario.roadnet), reply);
  });

  app.get<{ Params: { id: string; controller: string }; Querystring: { from?: number; to?: number } }>('/api/v1/compare/:id/replay/:controller', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['compare'], summary: 'Replay frames (vehicles as x, y, heading, speed; phases) of one controller\'s run (kept in memory: none after a restart)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 }, controller: { type: 'string', maxLength: 64 } }, required: ['id', 'controller'] },
      querystring: { type: 'object', properties: { from: { type: 'number', minimum: 0 }, to: { type: 'number', minimum: 0 } }, additionalProperties: false },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req) => {
    const { id, controller } = req.params;
    const run = runs.get(id);
    if (!run) throw notFound(id);
    const frames = run.frames(controller, req.query.from ?? 0, req.query.to ?? Infinity);
    if (!frames) {
      const why = run.record.controllers.includes(controller) ? 'its replay frames were not kept across the server\'s restart' : `it compares ${run.record.controllers.join(', ')}`;
      throw new HttpError('CB_NOT_FOUND', `no replay of "${controller}" in comparison "${id}": ${why}`);
    }
    return { id, controller, every: run.record.sampleEvery, frames };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/compare/:id', {
    onRequest: access.require('operator', 'app'),
    schema: { tags: ['compare'], summary: 'Stop and forget a comparison (operators: any; apps: their own; audited)', params: idParam, response: { 204: { type: 'null' }, 403: errorSchema, 404: errorSchema } },
  }, async (req, reply) => {
    const who = access.who(req);
    const id = req.params.id;
    await audited(() => {
      const run = runs.get(id);
      if (!run) throw notFound(id);
      if (who.role !== 'operator' && run.record.owner.actor !== who.actor) {
        throw new HttpError('CB_FORBIDDEN', `comparison "${run.id}" was started by ${run.record.owner.actor}; an app deletes only its own`);
      }
      const r = run.record;
      return {
        entry: { ...who, action: 'delete-comparison', target: `comparison:${run.id}`, before: { controllers: r.controllers, duration: r.duration, status: r.status, owner: r.owner.actor } },
        apply: () => {
          run.stop();
          runs.delete(run.id);
        },
      };
    });
    await store.deleteComparison(id);
    return reply.code(204).send();
  });
}
