import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Auth } from '../auth.js';
import { EVENT_KINDS, type EventKind } from '../events.js';
import { MAX_QUERY_LIMIT, ROLES, type EventStore, type Role } from '../store/store.js';
import type { CityAccess } from './city-routes.js';

export interface DataRoutesOptions {
  store: EventStore;
  auth: Auth;
  access: CityAccess;
}

const errorSchema = { type: 'object', properties: { statusCode: { type: 'number' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } } };

/** Who am I, the raw events, the audit log, and token management. */
export async function dataRoutes(app: FastifyInstance, opts: DataRoutesOptions): Promise<void> {
  const { store, auth, access } = opts;

  app.get('/api/v1/me', {
    onRequest: access.require(...ROLES),
    schema: {
      tags: ['auth'], summary: 'The caller: token name, role and device scope',
      response: { 200: { type: 'object', properties: { name: { type: 'string' }, role: { type: 'string' }, tokenId: { type: 'string' }, device: { type: 'string' }, intersections: { type: 'array', items: { type: 'string' } }, bays: { type: 'array', items: { type: 'string' } } } } },
    },
  }, async (req) => {
    const p = req.principal!;
    return { name: p.name, role: p.role, tokenId: p.tokenId, device: p.device, intersections: [...p.intersections], bays: [...p.bays] };
  });

  app.get<{ Querystring: { kind?: EventKind; device?: string; intersection?: string; bay?: string; from?: number; to?: number; limit?: number; order?: 'asc' | 'desc' } }>('/api/v1/events', {
    onRequest: access.require('viewer', 'operator', 'app'),
    schema: {
      tags: ['data'], summary: 'Raw field events as stored (event time in epoch ms)',
      querystring: {
        type: 'object',
        properties: {
          kind: { type: 'string', enum: [...EVENT_KINDS] },
          device: { type: 'string', maxLength: 128 },
          intersection: { type: 'string', maxLength: 128 },
          bay: { type: 'string', maxLength: 128 },
          // event times are stored as bigint; beyond the safe integers a bound means nothing more
          from: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          to: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          limit: { type: 'integer', minimum: 1, maximum: MAX_QUERY_LIMIT, default: 100 },
          order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
        },
        additionalProperties: false,
      },
      response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } },
    },
  }, async (req) => store.query(req.query));

  app.get<{ Querystring: { actor?: string; action?: string; target?: string; limit?: number } }>('/api/v1/audit', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['auth'], summary: 'The audit log of control actions: who, what, when, before and after (operators)',
      querystring: {
        type: 'object',
        properties: { actor: { type: 'string', maxLength: 200 }, action: { type: 'string', maxLength: 64 }, target: { type: 'string', maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 } },
        additionalProperties: false,
      },
      response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } },
    },
  }, async (req) => store.queryAudit({ ...req.query, order: 'desc' }));

  app.post<{ Body: { name: string; role: Role; device?: string; intersections?: string[]; bays?: string[] } }>('/api/v1/tokens', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['auth'], summary: 'Issue a token (operators; audited). The secret is returned once.',
      body: {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          role: { type: 'string', enum: [...ROLES] },
          device: { type: 'string', minLength: 1, maxLength: 128 },
          intersections: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 10000 },
          bays: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 10000 },
        },
        required: ['name', 'role'],
        additionalProperties: false,
      },
      response: { 201: { type: 'object', properties: { id: { type: 'string' }, token: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } } }, 400: errorSchema },
    },
  }, async (req, reply) => {
    let created;
    try {
      // the token and its audit entry are stored together or not at all (a store down is a 503)
      created = await auth.createToken(req.body, (record) => ({
        ...access.who(req), action: 'issue-token', target: `token:${record.id}`, before: null,
        after: { name: record.name, role: record.role, device: record.device, intersections: record.intersections, bays: record.bays },
      }));
    } catch (e) {
      if (e instanceof RangeError) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: e.message });
      throw e;
    }
    const { record, token } = created;
    return reply.code(201).send({ id: record.id, token, name: record.name, role: record.role });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['auth'], summary: 'Revoke a token (operators; audited). The last active operator token cannot be revoked (409 CB_LAST_OPERATOR): issue another first.',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
      response: { 204: { type: 'null' }, 404: errorSchema, 409: errorSchema },
    },
  }, async (req, reply) => {
    const revoked = await auth.revoke(req.params.id, { ...access.who(req), action: 'revoke-token', target: `token:${req.params.id}`, before: 'active', after: 'revoked' });
    if (!revoked) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no active token "${req.params.id}"` });
    return reply.code(204).send();
  });
}
