import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { issueTokenAudit, READ_ROLES, type Auth } from '../auth.js';
import { errorSchema, HttpError } from '../errors.js';
import { EVENT_KINDS, type EventKind } from '@citybrain/brain';
import { CursorError, MAX_PAGE_BYTES, type Page } from '../store/page.js';
import { MAX_QUERY_LIMIT, ROLES, type EventStore, type Role } from '../store/store.js';
import type { CityAccess } from './city-routes.js';

export interface DataRoutesOptions {
  store: EventStore;
  auth: Auth;
  access: CityAccess;
  /** whether the hub has registered this department (a token's organisation must name one) */
  departmentExists?: (id: string) => boolean;
}


/**
 * Licence plates are personal data: plate events (the plate, and the camera,
 * lane and time of each vehicle's passage) are for the roles that need them.
 * Other readers are refused kind=plate and find no plate events in other reads.
 */
export const PERSONAL_KINDS: readonly EventKind[] = ['plate'];
/** what roles without personal data read */
const NON_PERSONAL_KINDS = EVENT_KINDS.filter((k) => !PERSONAL_KINDS.includes(k));
export const PERSONAL_DATA_ROLES: readonly Role[] = ['operator'];

const PAGING = `At most \`limit\` rows and about ${MAX_PAGE_BYTES / (1 << 20)} MiB per response; when more match, the \`Link\` header gives the next page ` +
  '(`<…&after=CURSOR>; rel="next"`): follow it until a response has no such link. A page continues after the last row of the previous one, ' +
  'so rows stored meanwhile never shift it.';

/** A page's answer: a JSON array, and the next page's link while more rows match. */
const pageSchema = {
  type: 'array', items: { type: 'object', additionalProperties: true },
  headers: { link: { type: 'string', description: '`<URL of the next page>; rel="next"`; absent on the last page' } },
};

const afterSchema = { type: 'string', maxLength: 200, description: 'where to continue: the cursor of the previous page\'s `Link: rel="next"` URL (opaque)' };

/** Sends a page as it is (JSON text built by the store), with the next page's link when there is one. */
function sendPage(req: FastifyRequest, reply: FastifyReply, page: Page): FastifyReply {
  if (page.next !== undefined) {
    const url = new URL(req.url, 'http://x');
    url.searchParams.set('after', page.next);
    reply.header('link', `<${url.pathname}${url.search}>; rel="next"`);
  }
  return reply.type('application/json; charset=utf-8').send(page.json);
}

/** A store read, with a cursor that is not this listing's answered 400 naming the parameter. */
async function read(p: Promise<Page>): Promise<Page> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof CursorError) throw new HttpError('CB_INVALID_REQUEST', `querystring.after: ${e.message}`);
    throw e;
  }
}

/** Who am I, the raw events, the audit log, and token management. */
export async function dataRoutes(app: FastifyInstance, opts: DataRoutesOptions): Promise<void> {
  const { store, auth, access } = opts;

  app.get('/api/v1/me', {
    onRequest: access.require(...ROLES),
    schema: {
      tags: ['auth'], summary: 'The caller: token name, role and device scope',
      response: { 200: { type: 'object', properties: { name: { type: 'string' }, role: { type: 'string' }, tokenId: { type: 'string' }, organisation: { type: 'string' }, device: { type: 'string' }, intersections: { type: 'array', items: { type: 'string' } }, bays: { type: 'array', items: { type: 'string' } }, vehicles: { type: 'array', items: { type: 'string' } } } } },
    },
  }, async (req) => {
    const p = req.principal!;
    return { name: p.name, role: p.role, tokenId: p.tokenId, organisation: p.organisation, device: p.device, intersections: [...p.intersections], bays: [...p.bays], vehicles: [...p.vehicles] };
  });

  app.get<{ Querystring: { kind?: EventKind; device?: string; intersection?: string; bay?: string; from?: number; to?: number; limit?: number; order?: 'asc' | 'desc'; after?: string } }>('/api/v1/events', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['data'], summary: 'Raw field events as stored (event time in epoch ms)',
      description: `Events in event-time order (then arrival order), newest first by default. ${PAGING}\n\n` +
        `Licence plates are personal data: only ${PERSONAL_DATA_ROLES.join(', ')} tokens read ${PERSONAL_KINDS.join(', ')} events. ` +
        `Other roles are refused \`kind=${PERSONAL_KINDS[0]}\` (403) and other reads leave those events out. ` +
        'The log keeps each plate as the city\'s keyed hash (`#` and 15 characters; the same plate, the same hash), never the plate as read.',
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
          after: afterSchema,
        },
        additionalProperties: false,
      },
      response: { 200: pageSchema, 400: errorSchema, 403: errorSchema },
    },
  }, async (req, reply) => {
    const { role } = req.principal!;
    const personal = PERSONAL_DATA_ROLES.includes(role);
    if (!personal && req.query.kind !== undefined && PERSONAL_KINDS.includes(req.query.kind)) {
      throw new HttpError('CB_FORBIDDEN', `role "${role}" may not read ${req.query.kind} events: licence plates are personal data, for ${PERSONAL_DATA_ROLES.join(', ')} tokens only`);
    }
    const kinds = personal ? undefined : NON_PERSONAL_KINDS;
    return sendPage(req, reply, await read(store.queryPage({ ...req.query, kinds, maxBytes: MAX_PAGE_BYTES })));
  });

  app.get<{ Querystring: { actor?: string; action?: string; target?: string; limit?: number; after?: string } }>('/api/v1/audit', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['auth'], summary: 'The audit log of control actions: who, what, when, before and after (operators)',
      description: `Newest first. ${PAGING}`,
      querystring: {
        type: 'object',
        properties: {
          actor: { type: 'string', maxLength: 200 }, action: { type: 'string', maxLength: 64 }, target: { type: 'string', maxLength: 200 },
          limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 }, after: afterSchema,
        },
        additionalProperties: false,
      },
      response: { 200: pageSchema, 400: errorSchema },
    },
  }, async (req, reply) => sendPage(req, reply, await read(store.queryAuditPage({ ...req.query, order: 'desc', maxBytes: MAX_PAGE_BYTES }))));

  app.post<{ Body: { name: string; role: Role; organisation?: string; device?: string; intersections?: string[]; bays?: string[]; vehicles?: string[] } }>('/api/v1/tokens', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['auth'], summary: 'Issue a token (operators; audited). The secret is returned once.',
      body: {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          role: { type: 'string', enum: [...ROLES] },
          organisation: { type: 'string', minLength: 1, maxLength: 63, description: 'the department (registered in the data hub) whose user the token is; not for device tokens' },
          device: { type: 'string', minLength: 1, maxLength: 128 },
          intersections: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 10000 },
          bays: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 10000 },
          vehicles: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 10000, description: 'device tokens: the vehicles whose positions (AVL) it may publish' },
        },
        required: ['name', 'role'],
        additionalProperties: false,
      },
      response: { 201: { type: 'object', properties: { id: { type: 'string' }, token: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, organisation: { type: 'string' } } }, 400: errorSchema },
    },
  }, async (req, reply) => {
    if (req.body.organisation !== undefined && !(opts.departmentExists?.(req.body.organisation) ?? false)) {
      throw new HttpError('CB_INVALID_REQUEST', `body.organisation: no department "${req.body.organisation}" is registered in the data hub (POST /api/v1/hub/departments)`);
    }
    let created;
    try {
      // the token and its audit entry are stored together or not at all (a store down is a 503)
      created = await auth.createToken(req.body, issueTokenAudit(access.who(req)));
    } catch (e) {
      if (e instanceof RangeError) throw new HttpError('CB_INVALID_REQUEST', e.message);
      throw e;
    }
    const { record, token } = created;
    return reply.code(201).send({ id: record.id, token, name: record.name, role: record.role, organisation: record.organisation });
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
    if (!revoked) throw new HttpError('CB_NOT_FOUND', `no active token "${req.params.id}"`);
    return reply.code(204).send();
  });
}
