import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NGSI_PARKING_TYPES, parseSite, RESERVATION_STATUSES, type ParkingSite, type ReservationStatus } from '@citybrain/brain';
import { READ_ROLES } from '../auth.js';
import { errorSchema, HttpError } from '../errors.js';
import type { ParkingService } from '../parking/service.js';
import type { CityAccess } from './city-routes.js';
import type { Audited } from './audited.js';

export interface ParkingRoutesOptions {
  parking: ParkingService;
  access: CityAccess;
  audited: Audited;
}

const obj = { type: 'object', additionalProperties: true } as const;
const list = { type: 'array', items: obj } as const;
const errors = { 400: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema } as const;
const KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's Idempotency-Key header, required on every request that moves money. */
function idempotencyKey(req: FastifyRequest): string {
  const k = req.headers['idempotency-key'];
  if (typeof k !== 'string' || !KEY.test(k)) {
    throw new HttpError('CB_INVALID_REQUEST', `headers.idempotency-key: required, 1 to 128 letters, digits or . _ : - (the same on every retry of one request), got ${JSON.stringify(k) ?? 'nothing'}`);
  }
  return k;
}

/** An app sees only its own reservations, sessions paid and payments; viewers and operators see all. */
const ownerOf = (req: FastifyRequest) => (req.principal?.role === 'app' ? req.principal.tokenId : undefined);

/**
 * Smart parking: sites and bays (operators register them; audited), live
 * availability and its history, guidance, the apps' reservations and
 * payments (`Idempotency-Key` on each), and the sites and bays as NGSI-LD
 * keyValues (FIWARE Smart Data Models) for city platforms.
 */
export async function parkingRoutes(app: FastifyInstance, opts: ParkingRoutesOptions): Promise<void> {
  const { parking, access, audited } = opts;

  app.get('/api/v1/parking/sites', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['parking'], summary: 'Parking sites with their bays, tariff and opening hours, and live availability from the bay sensors', response: { 200: list } },
  }, async () => {
    const live = new Map(parking.live().map((v) => [v.id, v]));
    return parking.listSites().map((s) => ({ ...s, live: live.get(s.id) }));
  });

  app.put<{ Body: { sites: unknown[] } }>('/api/v1/parking/sites', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['parking'], summary: 'Register or replace parking sites (a register file\'s {"sites": [...]}); operators; audited',
      body: { type: 'object', properties: { sites: { type: 'array', minItems: 1, maxItems: 10000 } }, required: ['sites'], additionalProperties: false },
      response: { 200: obj, ...errors },
    },
  }, async (req) => {
    const sites: ParkingSite[] = [];
    for (const [k, s] of req.body.sites.entries()) {
      const p = parseSite(s, `body.sites[${k}]`);
      if ('error' in p) throw new HttpError('CB_INVALID_REQUEST', p.error);
      sites.push(p.ok);
    }
    // a bay claimed twice, in the request or against another site, before anything is audited
    const owner = new Map(parking.listSites().flatMap((s) => s.bays.map((b) => [b.id, s.id] as const)));
    const replaced = new Set(sites.map((s) => s.id));
    for (const [b, s] of owner) if (replaced.has(s)) owner.delete(b);
    for (const s of sites) {
      for (const b of s.bays) {
        const o = owner.get(b.id);
        if (o !== undefined && o !== s.id) throw new HttpError('CB_INVALID_REQUEST', `body.sites: bay "${b.id}" is in site "${o}" already`);
        owner.set(b.id, s.id);
      }
    }
    await audited(() => ({
      entry: { ...access.who(req), action: 'register-parking-sites', target: `parking:${sites.map((s) => s.id).slice(0, 20).join(',')}`, before: null, after: { sites: sites.length, bays: sites.reduce((a, s) => a + s.bays.length, 0) } },
      apply: () => parking.putSites(sites),
    }));
    return { sites: sites.length, bays: sites.reduce((a, s) => a + s.bays.length, 0) };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/parking/sites/:id', {
    onRequest: access.require('operator'),
    schema: { tags: ['parking'], summary: 'Remove a parking site and its bays (its reservations and sessions are kept); operators; audited', params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] }, response: { 204: { type: 'null' }, ...errors } },
  }, async (req, reply) => {
    const site = parking.site(req.params.id);
    await audited(() => ({
      entry: { ...access.who(req), action: 'delete-parking-site', target: `parking:${site.id}`, before: { bays: site.bays.length }, after: null },
      apply: () => parking.deleteSite(site.id),
    }));
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string }; Querystring: { from?: number; to?: number } }>('/api/v1/parking/sites/:id/availability', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['parking'], summary: 'A site\'s availability over time: 5-minute buckets of occupied and free bays (means of one-minute samples), default the last 24 h',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] },
      querystring: { type: 'object', properties: { from: { type: 'integer', description: 'epoch ms' }, to: { type: 'integer', description: 'epoch ms' } }, additionalProperties: false },
      response: { 200: list, ...errors },
    },
  }, async (req) => {
    const to = req.query.to ?? Date.now() + 86_400_000;
    const from = req.query.from ?? to - 2 * 86_400_000;
    if (from >= to) throw new HttpError('CB_INVALID_REQUEST', 'querystring.from: must be before to');
    return parking.availability(req.params.id, from, to);
  });

  app.get<{ Querystring: { x: number; y: number; limit?: number; speeds?: 'current' | 'free' } }>('/api/v1/parking/guidance', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['parking'], summary: 'The nearest open sites with a free bay from a map point, by drive time on the network (the brain\'s twin\'s current speeds, or free-flow)',
      querystring: {
        type: 'object',
        properties: {
          x: { type: 'number', description: 'map metres' }, y: { type: 'number', description: 'map metres' },
          limit: { type: 'integer', minimum: 1, maximum: 50, default: 5 }, speeds: { type: 'string', enum: ['current', 'free'], default: 'current' },
        },
        required: ['x', 'y'], additionalProperties: false,
      },
      response: { 200: list, 400: errorSchema },
    },
  }, async (req) => parking.guidance({ x: req.query.x, y: req.query.y }, req.query.limit ?? 5, (req.query.speeds ?? 'current') === 'current'));

  app.post<{ Body: { site: string; bay?: string; from: number; to: number; payer: string } }>('/api/v1/parking/reservations', {
    onRequest: access.require('app'),
    schema: {
      tags: ['parking'], summary: 'Reserve a bay (or a place in a site) for [from, to) and pay the window\'s price; apps; `Idempotency-Key` header required (a retry gets the first answer, never a second charge)',
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } },
      body: {
        type: 'object',
        properties: {
          site: { type: 'string', maxLength: 128 }, bay: { type: 'string', maxLength: 128 },
          from: { type: 'integer', description: 'epoch ms' }, to: { type: 'integer', description: 'epoch ms' },
          payer: { type: 'string', minLength: 1, maxLength: 200, description: 'the driver\'s payment account at the app' },
        },
        required: ['site', 'from', 'to', 'payer'], additionalProperties: false,
      },
      response: { 200: obj, 201: obj, 402: errorSchema, ...errors },
    },
  }, async (req, reply) => {
    const key = idempotencyKey(req);
    const b = req.body;
    const r = await parking.reserve({ app: req.principal!.tokenId, payer: b.payer, site: b.site, bay: b.bay, from: b.from, to: b.to, idempotencyKey: key });
    if (r.payment.status === 'declined' || r.payment.status === 'failed') {
      throw new HttpError('CB_PAYMENT_DECLINED', `reservation ${r.reservation.id} cancelled: the payment was ${r.payment.status} (${r.payment.error ?? 'no reason given'})`);
    }
    return reply.code(r.created ? 201 : 200).send({ reservation: r.reservation, payment: r.payment });
  });

  app.get<{ Querystring: { status?: ReservationStatus; site?: string; limit?: number } }>('/api/v1/parking/reservations', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['parking'], summary: 'Reservations, newest first (an app: its own)',
      querystring: {
        type: 'object',
        properties: { status: { type: 'string', enum: [...RESERVATION_STATUSES] }, site: { type: 'string', maxLength: 128 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        additionalProperties: false,
      },
      response: { 200: list },
    },
  }, async (req) => parking.listReservations({ app: ownerOf(req), site: req.query.site, statuses: req.query.status ? [req.query.status] : undefined, limit: req.query.limit }));

  app.get<{ Params: { id: string } }>('/api/v1/parking/reservations/:id', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['parking'], summary: 'One reservation (an app: its own)', params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] }, response: { 200: obj, 404: errorSchema } },
  }, async (req) => parking.reservationOf(ownerOf(req), req.params.id));

  app.post<{ Params: { id: string } }>('/api/v1/parking/reservations/:id/cancel', {
    onRequest: access.require('app'),
    schema: {
      tags: ['parking'], summary: 'Cancel a booked reservation of the app\'s; refunded in full before its window starts. Cancelling again answers the same.',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] }, response: { 200: obj, ...errors },
    },
  }, async (req) => parking.cancel(req.principal!.tokenId, req.params.id));

  app.get<{ Querystring: { site?: string; open?: boolean; limit?: number } }>('/api/v1/parking/sessions', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['parking'], summary: 'Parking sessions from the bay sensors (arrival, departure, price from the tariff), newest first',
      querystring: { type: 'object', properties: { site: { type: 'string', maxLength: 128 }, open: { type: 'boolean' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, additionalProperties: false },
      response: { 200: list },
    },
  }, async (req) => parking.listSessions(req.query));

  app.post<{ Params: { id: string }; Body: { payer: string } }>('/api/v1/parking/sessions/:id/pay', {
    onRequest: access.require('app'),
    schema: {
      tags: ['parking'], summary: 'Pay a finished parking session at its tariff price; apps; `Idempotency-Key` header required',
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } },
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 128 } }, required: ['id'] },
      body: { type: 'object', properties: { payer: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['payer'], additionalProperties: false },
      response: { 200: obj, 402: errorSchema, ...errors },
    },
  }, async (req) => {
    const r = await parking.paySession(req.principal!.tokenId, req.params.id, req.body.payer, idempotencyKey(req));
    if (r.payment.status === 'declined' || r.payment.status === 'failed') throw new HttpError('CB_PAYMENT_DECLINED', `session ${r.session.id} not paid: the payment was ${r.payment.status} (${r.payment.error ?? 'no reason given'})`);
    return r;
  });

  app.get<{ Querystring: { reservation?: string; limit?: number } }>('/api/v1/parking/payments', {
    onRequest: access.require('operator', 'app'),
    schema: {
      tags: ['parking'], summary: 'Payments (charges and refunds), newest first (an app: its own)',
      querystring: { type: 'object', properties: { reservation: { type: 'string', maxLength: 128 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, additionalProperties: false },
      response: { 200: list },
    },
  }, async (req) => parking.listPayments({ app: ownerOf(req), reservation: req.query.reservation, limit: req.query.limit }));

  // ---------------------------------------------- NGSI-LD (FIWARE Smart Data Models)

  const ngsiTypes = NGSI_PARKING_TYPES.join(', ');
  app.get<{ Querystring: { type?: string; options?: string } }>('/ngsi-ld/v1/entities', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['parking'], summary: `Parking sites and bays as NGSI-LD keyValues entities (${ngsiTypes}); type= one or more, comma-separated`,
      querystring: { type: 'object', properties: { type: { type: 'string', maxLength: 200 }, options: { type: 'string', maxLength: 100 } }, additionalProperties: true },
      response: { 200: list, 400: errorSchema },
    },
  }, async (req, reply) => {
    const types = req.query.type?.split(',').map((t) => t.trim()).filter(Boolean);
    const unknown = types?.find((t) => !(NGSI_PARKING_TYPES as readonly string[]).includes(t));
    if (unknown) throw new HttpError('CB_INVALID_REQUEST', `querystring.type: "${unknown}" is not served; types: ${ngsiTypes}`);
    if (req.query.options !== undefined && req.query.options !== 'keyValues') throw new HttpError('CB_INVALID_REQUEST', 'querystring.options: only keyValues is served');
    return reply.type('application/ld+json').send(parking.ngsiEntities(types));
  });

  app.get<{ Params: { id: string } }>('/ngsi-ld/v1/entities/:id', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['parking'], summary: 'One parking entity (NGSI-LD keyValues) by its urn', params: { type: 'object', properties: { id: { type: 'string', maxLength: 300 } }, required: ['id'] }, response: { 200: obj, 404: errorSchema } },
  }, async (req, reply) => {
    const e = parking.ngsiEntities(undefined).find((x) => x.id === req.params.id);
    if (!e) throw new HttpError('CB_NOT_FOUND', `no entity "${req.params.id}"`);
    return reply.type('application/ld+json').send(e);
  });
}
