import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { HUB_READ_ROLES } from '@citybrain/brain';
import { errorSchema, HttpError } from '../errors.js';
import type { Role } from '../store/store.js';
import type { CityAccess } from './city-routes.js';
import type { TwinFeeds } from '../hub/feeds.js';
import { FEED_KINDS } from '@citybrain/brain';
import { LOAD_FORMATS, type Hub, type HubActor, type LoadFormat, type QueryFormat } from '../hub/hub.js';

export interface HubRoutesOptions {
  hub: Hub;
  access: CityAccess;
  /** the feeds of the brain's twin (absent: datasets can be marked, nothing applies them here) */
  feeds?: TwinFeeds;
}

/** Who may call the hub's routes at all; what each may do with a dataset is its grants' (brain/src/hub/access.ts). */
export const HUB_ROLES: readonly Role[] = HUB_READ_ROLES as readonly Role[];

const MEDIA: Record<string, LoadFormat> = {
  'text/csv': 'csv', 'application/csv': 'csv',
  'application/x-ndjson': 'jsonl', 'application/jsonl': 'jsonl', 'application/jsonlines': 'jsonl', 'application/json-lines': 'jsonl',
  'application/vnd.apache.parquet': 'parquet', 'application/x-parquet': 'parquet', 'application/octet-stream': 'parquet',
};

const idParam = { type: 'object', properties: { id: { type: 'string', maxLength: 63 } }, required: ['id'] } as const;
const looseObject = { type: 'object', additionalProperties: true } as const;

function actor(access: CityAccess, req: FastifyRequest): HubActor {
  const who: HubActor = access.who(req);
  const org = req.principal?.organisation;
  if (org !== undefined) who.department = org;
  return who;
}

/**
 * The city data hub: departments, datasets (register, load, append, derive),
 * grants and SQL queries. Every route is open to the reading roles (and
 * analysts); what a caller may do with a dataset is decided by the dataset's
 * owner, classification and grants, and every read and write is audited.
 */
export async function hubRoutes(app: FastifyInstance, opts: HubRoutesOptions): Promise<void> {
  const { hub, access } = opts;
  // uploads are streamed through the checks into Parquet, never held whole in memory
  app.addContentTypeParser(Object.keys(MEDIA).filter((m) => m !== 'application/octet-stream'), (_req, payload, done) => done(null, payload));
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.get('/api/v1/hub/departments', {
    onRequest: access.require(...HUB_ROLES),
    schema: { tags: ['hub'], summary: 'The departments registered in the data hub', response: { 200: { type: 'array', items: looseObject } } },
  }, async () => [...hub.departments.values()]);

  app.post<{ Body: { id: string; name: string } }>('/api/v1/hub/departments', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['hub'], summary: 'Register a department (operators; audited). Issue its users\' tokens with POST /api/v1/tokens {organisation}.',
      body: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } }, required: ['id', 'name'], additionalProperties: false },
      response: { 201: looseObject, 400: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => reply.code(201).send(await hub.registerDepartment(actor(access, req), req.body)));

  app.get('/api/v1/hub/datasets', {
    onRequest: access.require(...HUB_ROLES),
    schema: { tags: ['hub'], summary: 'The datasets the caller may read, with its access and how each column reads for it', response: { 200: { type: 'array', items: looseObject } } },
  }, async (req) => hub.catalogue(actor(access, req)).map(({ dataset, access: a }) => view(dataset, a)));

  app.post<{ Body: Record<string, unknown> }>('/api/v1/hub/datasets', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'Register a dataset (its owner department\'s tokens, or operators; audited); with `sql`, a dataset derived from a query (its lineage recorded)',
      description: 'Body: `{id, title?, owner, description, columns: [{name, type: string|integer|double|boolean|timestamp|date, nullable?, personal?}], updateFrequency, licence, classification: public|internal|restricted|personal, retentionDays?}`. ' +
        'A derived dataset gives `sql` (and `personal`: the result columns that are personal) instead of `columns`: the query runs as the caller, its result is the first batch.',
      body: looseObject,
      response: { 201: looseObject, 400: errorSchema, 403: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    const who = actor(access, req);
    const d = req.body.sql !== undefined ? await hub.derive(who, req.body) : await hub.registerDataset(who, req.body);
    return reply.code(201).send(view(d, hub.accessOf(who, d.id)!.access));
  });

  app.get<{ Params: { id: string } }>('/api/v1/hub/datasets/:id', {
    onRequest: access.require(...HUB_ROLES),
    schema: { tags: ['hub'], summary: 'A dataset: schema, classification, licence, batches, lineage (readers of it)', params: idParam, response: { 200: looseObject, 403: errorSchema, 404: errorSchema } },
  }, async (req) => {
    const { dataset, access: a } = await hub.require(actor(access, req), req.params.id, 'read', 'reading the description');
    return view(dataset, a);
  });

  app.post<{ Params: { id: string }; Querystring: { format?: LoadFormat } }>('/api/v1/hub/datasets/:id/load', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'Load a file into a dataset as one batch (write access; audited): CSV, JSON Lines or Parquet',
      description: 'The body is the file: `text/csv` (a header row naming the columns), `application/x-ndjson` (one object per line) or `application/vnd.apache.parquet` (or `?format=`). ' +
        'Every row is checked against the schema; a bad one is answered 400 CB_INVALID_DATA naming its line (Parquet: row) and field, and nothing of the load is kept.',
      params: idParam,
      querystring: { type: 'object', properties: { format: { type: 'string', enum: [...LOAD_FORMATS] } }, additionalProperties: false },
      response: { 201: looseObject, 400: errorSchema, 403: errorSchema, 404: errorSchema, 413: errorSchema, 415: errorSchema },
    },
  }, async (req, reply) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const format = req.query.format ?? MEDIA[type];
    const body = req.body as Readable | undefined;
    if (!format || typeof (body as { [Symbol.asyncIterator]?: unknown } | undefined)?.[Symbol.asyncIterator] !== 'function') {
      // a JSON body (or none) was parsed already: it cannot be a load
      throw new HttpError('CB_UNSUPPORTED_FORMAT', `Content-Type "${type}" is not a load format: send text/csv, application/x-ndjson or application/vnd.apache.parquet (or ?format=csv|jsonl|parquet with one of them)`);
    }
    const batch = await hub.load(actor(access, req), req.params.id, format, body as AsyncIterable<Buffer>);
    return reply.code(201).send(batch);
  });

  app.post<{ Params: { id: string }; Body: { rows: unknown[] } }>('/api/v1/hub/datasets/:id/rows', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'Append rows to a dataset as one batch (write access; audited), all or nothing',
      params: idParam,
      body: { type: 'object', properties: { rows: { type: 'array', minItems: 1, maxItems: 100_000, items: {} } }, required: ['rows'], additionalProperties: false },
      response: { 201: looseObject, 400: errorSchema, 403: errorSchema, 404: errorSchema },
    },
    bodyLimit: 64 * 1024 * 1024,
  }, async (req, reply) => reply.code(201).send(await hub.append(actor(access, req), req.params.id, req.body.rows)));

  app.get<{ Params: { id: string } }>('/api/v1/hub/datasets/:id/grants', {
    onRequest: access.require(...HUB_ROLES),
    schema: { tags: ['hub'], summary: 'A dataset\'s grants (its admins)', params: idParam, response: { 200: { type: 'array', items: looseObject }, 403: errorSchema, 404: errorSchema } },
  }, async (req) => {
    await hub.require(actor(access, req), req.params.id, 'admin', 'listing grants');
    return hub.grants.get(req.params.id) ?? [];
  });

  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>('/api/v1/hub/datasets/:id/grants', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'Grant access to a dataset (its admins; audited)',
      description: 'Body: `{department?, role?, access: read|write|admin, personal?: [personal columns it reads], masks?: {column: "null"|"hash"}}`.',
      params: idParam, body: looseObject,
      response: { 201: looseObject, 400: errorSchema, 403: errorSchema, 404: errorSchema },
    },
  }, async (req, reply) => reply.code(201).send(await hub.grant(actor(access, req), req.params.id, req.body)));

  app.delete<{ Params: { id: string; grant: string } }>('/api/v1/hub/datasets/:id/grants/:grant', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'Revoke a grant (the dataset\'s admins; audited)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 63 }, grant: { type: 'string', maxLength: 64 } }, required: ['id', 'grant'] },
      response: { 204: { type: 'null' }, 403: errorSchema, 404: errorSchema },
    },
  }, async (req, reply) => {
    await hub.revokeGrant(actor(access, req), req.params.id, req.params.grant);
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>('/api/v1/hub/datasets/:id/access-log', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'Who read and wrote a dataset, and who was refused (its admins), newest first',
      params: idParam,
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 } }, additionalProperties: false },
      response: { 200: { type: 'array', items: looseObject }, 403: errorSchema, 404: errorSchema },
    },
  }, async (req) => hub.accessLog(actor(access, req), req.params.id, req.query.limit));

  app.put<{ Params: { id: string }; Body: { kind: string | null } }>('/api/v1/hub/datasets/:id/feed', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'Mark a dataset as a feed of the brain\'s twin (roadworks, events, weather), or unmark it (kind null); its admins; audited',
      description: 'The dataset\'s columns must fit the kind (README, "Datasets that feed the brain"): roadworks `lane` or `road` (+ `lanes_closed`), `start`, `end`; events `venue`, `start`, `end`, `extra_vehicles_per_hour`; ' +
        'weather `time`, `condition`, `visibility_m`?, `precipitation_mm_h`?. Its rows are applied to the twin at once and as new batches arrive.',
      params: idParam,
      body: { type: 'object', properties: { kind: { type: ['string', 'null'], enum: [...FEED_KINDS, null] } }, required: ['kind'], additionalProperties: false },
      response: { 200: looseObject, 400: errorSchema, 403: errorSchema, 404: errorSchema },
    },
  }, async (req) => {
    const who = actor(access, req);
    const d = await hub.setFeed(who, req.params.id, req.body.kind as never);
    await opts.feeds?.refresh(d.id);
    return { ...(view(d, hub.accessOf(who, d.id)!.access) as object), feedStatus: opts.feeds?.feeds().find((f) => f.dataset === d.id) ?? null };
  });

  app.get('/api/v1/hub/feeds', {
    onRequest: access.require(...HUB_ROLES),
    schema: { tags: ['hub'], summary: 'The datasets feeding the brain\'s twin, the rows it could not use, and the conditions in force now', response: { 200: looseObject } },
  }, async () => {
    const c = opts.feeds?.conditions();
    return {
      applied: opts.feeds !== undefined,
      feeds: opts.feeds?.feeds() ?? [...hub.datasets.values()].filter((d) => d.feed).map((d) => ({ dataset: d.id, kind: d.feed, rows: null, problems: [] })),
      conditions: c ? { closedLanes: opts.feeds!.laneIds(c.closedLanes), extraEntryLanes: c.extraEntry.size, speedFactor: c.speedFactor, headwayFactor: c.headwayFactor, active: c.active } : null,
    };
  });

  app.post<{ Body: { sql: string; format?: QueryFormat } }>('/api/v1/hub/query', {
    onRequest: access.require(...HUB_ROLES),
    schema: {
      tags: ['hub'], summary: 'SQL (one SELECT, DuckDB dialect) over the datasets the caller may read, as its grants show them (audited)',
      description: 'Datasets are tables by their id. Anything else (files, table functions, other schemas, COPY, ATTACH, INSTALL, PRAGMA, SET) is refused before any data is read (403, audited). ' +
        'Results as JSON `{columns, rows, rowCount, truncated, datasets, ms}`, CSV or Parquet (the `X-CityBrain-Truncated` header says whether the row limit cut it).',
      body: {
        type: 'object',
        properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 }, format: { type: 'string', enum: ['json', 'csv', 'parquet'], default: 'json' } },
        required: ['sql'], additionalProperties: false,
      },
      response: { 200: {}, 400: errorSchema, 403: errorSchema, 422: errorSchema },
    },
  }, async (req, reply) => {
    const format = req.body.format ?? 'json';
    const r = await hub.query(actor(access, req), req.body.sql, format);
    reply.header('x-citybrain-truncated', String(r.truncated)).header('x-citybrain-rows', String(r.rowCount));
    if (format === 'parquet') return reply.type('application/vnd.apache.parquet').send(r.parquet);
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(toCsv(r.columns.map((c) => c.name), r.rows!));
    return reply.type('application/json; charset=utf-8').send(JSON.stringify({ columns: r.columns, rows: r.rows, rowCount: r.rowCount, truncated: r.truncated, datasets: r.datasets, ms: r.ms }));
  });
}

function view(d: import('@citybrain/brain').Dataset, a: import('@citybrain/brain').DatasetAccess): unknown {
  const exposure = new Map(a.columns.map((c) => [c.column.name, c.exposure]));
  return {
    ...d, rows: d.batches.reduce((n, b) => n + b.rows, 0), bytes: d.batches.reduce((n, b) => n + b.bytes, 0),
    columns: d.columns.map((c) => ({ ...c, reads: exposure.get(c.name) ?? 'null' })), access: a.level ?? null, via: a.via,
  };
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(names: string[], rows: unknown[][]): string {
  return [names.map(csvField).join(','), ...rows.map((r) => r.map(csvField).join(','))].join('\r\n') + '\r\n';
}
