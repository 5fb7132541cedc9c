// swagger's schema fields (tags, summary) for the OpenAPI document
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { CityRuntime } from '../city/runtime.js';
import { networkView, type NetworkView } from './network-view.js';
import { intersectionDetail, intersectionSummaries, kpiRange, regionOf as regionsOf, simulationView } from '../city/views.js';
import { STATE_KEYS } from '../city/persistence.js';
import type { Audited } from './audited.js';
import { errorSchema, HttpError } from '../errors.js';

import type { Role } from './contract.js';
import { READ_ROLES } from '../auth.js';

/** What the city API needs from the security layer. */
export interface CityAccess {
  /**
   * An onRequest hook admitting only callers with one of `roles` (401 without a valid token, 403 with another role).
   * onRequest, before the body is parsed and validated: a caller without access learns nothing of the route's schema.
   */
  require(...roles: Role[]): onRequestHookHandler;
  /** who made the request, for the audit log */
  who(req: FastifyRequest): { actor: string; role: string };
}

export interface CityRoutesOptions {
  runtime: CityRuntime;
  access: CityAccess;
  audited: Audited;
}


/**
 * The live city: network, signals, controllers, KPIs and the simulation clock.
 * Reads are open to viewers, operators and third-party apps; changes are the
 * operators' and land in the audit log with the state before and after.
 */
export async function cityRoutes(app: FastifyInstance, opts: CityRoutesOptions): Promise<void> {
  const { runtime: rt, access, audited } = opts;
  const net = rt.sim.net;
  const intersections = rt.supervisor.env.intersections;
  let view: NetworkView | undefined;
  const ixById = new Map(intersections.map((ix) => [ix.id, ix]));
  const regionOf = regionsOf(rt);

  const findIntersection = (id: string) => {
    const ix = ixById.get(id);
    if (!ix) throw new HttpError('CB_NOT_FOUND', `no signalised intersection "${id}"`);
    return ix;
  };

  app.get('/api/v1/network', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['city'], summary: 'Road network geometry, intersections, phases and regions', response: { 200: { type: 'object', additionalProperties: true } } },
  }, async () => (view ??= networkView(net, intersections, rt.regions)));

  app.get('/api/v1/controllers', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['control'], summary: 'Controllers that can be put in charge of an intersection', response: { 200: { type: 'array', items: { type: 'string' } } } },
  }, async () => Object.keys(rt.factories));

  app.get('/api/v1/intersections', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['city'], summary: 'Every signalised intersection with its live signal state',
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' }, phase: { type: 'integer' }, green: { type: 'integer' }, yellow: { type: 'boolean' },
              controller: { type: 'string' }, fallback: { type: 'boolean', description: 'handed to the fixed-time fallback after a controller fault' }, relieved: { type: 'boolean', description: 'handed to max-pressure after its controller gridlocked it' }, degraded: { type: 'boolean' }, mode: { type: 'string', enum: ['central', 'local'] }, region: { type: 'string' }, queue: { type: 'integer' },
            },
          },
        },
      },
    },
  }, async () => intersectionSummaries(rt, regionOf));

  app.get<{ Params: { id: string } }>('/api/v1/intersections/:id', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['city'], summary: 'One intersection: phase timeline, queue per approach, controller in charge',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req) => {
    const ix = findIntersection(req.params.id);
    return intersectionDetail(rt, ix.id, regionOf);
  });

  const controllerBody = {
    type: 'object',
    properties: { controller: { type: 'string', minLength: 1, maxLength: 64 } },
    required: ['controller'],
    additionalProperties: false,
  };

  const switchController = async (req: FastifyRequest, targets: number[], target: string, name: string) => {
    if (!Object.hasOwn(rt.factories, name)) {
      throw new HttpError('CB_INVALID_REQUEST', `unknown controller "${name}"; choose one of: ${Object.keys(rt.factories).join(', ')}`);
    }
    return audited(() => {
      const before = targets.map((i) => rt.assignment.controllerOf(i));
      return {
        entry: { ...access.who(req), action: 'set-controller', target, before: before.length === 1 ? before[0] : before, after: name },
        change: { t: 'state', set: Object.fromEntries(targets.map((i) => [STATE_KEYS.controller(net.interIds[i]), name])) },
        apply: () => {
          rt.setController(targets, name);
          return { target, controller: name, before };
        },
      };
    });
  };

  app.put<{ Params: { id: string }; Body: { controller: string } }>('/api/v1/intersections/:id/controller', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['control'], summary: 'Put a controller in charge of one intersection (operators; audited)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
      body: controllerBody,
      response: { 200: { type: 'object', additionalProperties: true }, 400: errorSchema, 404: errorSchema, 503: errorSchema },
    },
  }, async (req) => {
    const ix = findIntersection(req.params.id);
    return switchController(req, [ix.intersection], `intersection:${ix.id}`, req.body.controller);
  });

  app.put<{ Params: { id: string }; Body: { controller: string } }>('/api/v1/regions/:id/controller', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['control'], summary: 'Put a controller in charge of every intersection of a region (operators; audited)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
      body: controllerBody,
      response: { 200: { type: 'object', additionalProperties: true }, 400: errorSchema, 404: errorSchema, 503: errorSchema },
    },
  }, async (req) => {
    const region = req.params.id === 'city' ? { id: 'city', intersections: [...net.signalised] } : rt.regions.find((r) => r.id === req.params.id);
    if (!region) throw new HttpError('CB_NOT_FOUND', `no region "${req.params.id}"; regions: city, ${rt.regions.map((r) => r.id).join(', ')}`);
    return switchController(req, region.intersections, `region:${region.id}`, req.body.controller);
  });

  app.get<{ Querystring: { from?: number; to?: number; limit?: number } }>('/api/v1/kpis', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['city'], summary: 'KPI samples over time (simulated seconds), city-wide and per region, oldest first',
      querystring: {
        type: 'object',
        properties: {
          from: { type: 'number', minimum: 0, description: 'simulated second; with it, the first `limit` samples from there (page forward with the last t + 1)' },
          to: { type: 'number', minimum: 0 },
          limit: { type: 'integer', minimum: 1, maximum: 10000, default: 360, description: 'without `from`, the latest samples (what a live chart wants)' },
        },
        additionalProperties: false,
      },
      response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } },
    },
  }, async (req) => {
    return kpiRange(rt.kpis, req.query);
  });

  app.get('/api/v1/faults', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['control'], summary: 'Controller faults: the intersections that fell back to their fixed plan, and why', response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
  }, async () => rt.faults);

  app.get('/api/v1/simulation', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['city'], summary: 'The virtual city clock',
      response: {
        200: {
          type: 'object',
          properties: {
            time: { type: 'number' }, speed: { type: 'number', description: 'simulated seconds per second asked for' }, running: { type: 'boolean' }, vehicles: { type: 'integer' },
            achievedSpeed: { type: 'number', description: 'simulated seconds per second achieved over the last few seconds; 0 while paused' },
            lagging: { type: 'boolean', description: 'the city cannot keep `speed` (controllers or ingestion too slow) and runs at `achievedSpeed` instead' },
            error: { type: ['string', 'null'], description: 'why the city loop stopped, when an unexpected error stopped it' },
            virtualStreet: { type: 'boolean', description: 'this server runs a virtual street (the demo): the live stream offers its ground truth on request (`truth`)' },
            streetDemand: {
              type: 'string', enum: ['running', 'ended', 'finished'],
              description: 'with a virtual street: its demand runs, has ended (every flow past its end; vehicles still drive) or the scenario has finished (every vehicle arrived)',
            },
          },
        },
      },
    },
  }, async () => simulationView(rt));

  app.put<{ Body: { speed?: number; running?: boolean } }>('/api/v1/simulation', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['city'], summary: 'Set the virtual city speed (simulated seconds per second) or pause it (operators; audited)',
      body: {
        type: 'object',
        properties: { speed: { type: 'number', exclusiveMinimum: 0, maximum: 1000 }, running: { type: 'boolean' } },
        additionalProperties: false,
      },
      response: { 200: { type: 'object', additionalProperties: true }, 400: errorSchema, 503: errorSchema },
    },
  }, async (req) => audited(() => {
    const before = { speed: rt.speed, running: rt.isRunning };
    const after = { speed: req.body.speed ?? rt.speed, running: req.body.running ?? rt.isRunning };
    return {
      entry: { ...access.who(req), action: 'set-simulation', target: 'simulation', before, after },
      change: { t: 'state', set: { [STATE_KEYS.simulation]: after } },
      apply: () => {
        if (req.body.speed !== undefined) rt.speed = req.body.speed;
        if (req.body.running === true) rt.start();
        if (req.body.running === false) rt.stop();
        return { speed: rt.speed, running: rt.isRunning };
      },
    };
  }));
}
