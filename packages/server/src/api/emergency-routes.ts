import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { RoadnetJson } from '@citybrain/engine';
import { EmergencyRoutePlanner } from '../city/emergency-route.js';
import type { CityRuntime } from '../city/runtime.js';
import { emergencyView } from '../city/views.js';
import { errorSchema, HttpError } from '../errors.js';
import { READ_ROLES } from '../auth.js';
import type { CityAccess } from './city-routes.js';
import type { Audited } from './audited.js';

// serve.ts takes it from here for the live stream

export interface EmergencyRoutesOptions {
  runtime: CityRuntime;
  roadnet: RoadnetJson;
  access: CityAccess;
  audited: Audited;
}

const point = { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'], additionalProperties: false };

/**
 * Emergency dispatch: an operator sends an emergency vehicle from one point of
 * the map to another (or along given roads); the brain clears a green
 * corridor ahead of it and restores normal control behind it.
 */
export async function emergencyRoutes(app: FastifyInstance, opts: EmergencyRoutesOptions): Promise<void> {
  const { runtime: rt, access, audited } = opts;
  const planner = new EmergencyRoutePlanner(opts.roadnet, rt.sim.net);
  let seq = 0;
  const active = () => emergencyView(rt);

  app.post<{ Body: { id?: string; from?: { x: number; y: number }; to?: { x: number; y: number }; route?: string[]; siren?: boolean } }>('/api/v1/emergency', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['emergency'], summary: 'Dispatch an emergency vehicle from `from` to `to` (map points, metres, each within 1 km of a road) or along `route` (road ids); operators; audited',
      body: {
        type: 'object',
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
          from: point,
          to: point,
          route: { type: 'array', items: { type: 'string', maxLength: 200 }, minItems: 1, maxItems: 500 },
          siren: {
            type: 'boolean', default: true,
            description: 'its siren on (default), as on an emergency run: moving vehicles ahead of it on its lane give way and it passes them; false: it follows them',
          },
        },
        additionalProperties: false,
      },
      response: { 201: { type: 'object', additionalProperties: true }, 400: errorSchema, 409: errorSchema, 503: errorSchema },
    },
  }, async (req, reply) => {
    const b = req.body;
    // an emergency run is made with the siren on: traffic gives way (the schema's default, also when validation is bypassed)
    const siren = b.siren ?? true;
    const planned = planner.plan(b);
    if ('error' in planned) throw new HttpError('CB_INVALID_REQUEST', planned.error);
    const { route } = planned;
    const id = await audited(() => {
      const id = b.id ?? `ev-${++seq}`;
      if (rt.sim.vehicleStatus(id).state !== 'unknown') throw new HttpError('CB_CONFLICT', `vehicle "${id}" exists already`);
      // tried on a copy of the twin first: the dispatch is audited before it happens, so it must not fail afterwards
      try {
        rt.sim.fork().addVehicle({ id, route });
      } catch (e) {
        throw new HttpError('CB_INVALID_REQUEST', (e as Error).message);
      }
      return {
        entry: { ...access.who(req), action: 'dispatch-emergency', target: `vehicle:${id}`, before: null, after: { route, siren } },
        apply: () => rt.emergency.dispatch({ id, route, siren }),
      };
    });
    const view = active().find((e) => e.id === id);
    return reply.code(201).send({ id, route, corridor: view?.corridor ?? [], eta: view?.eta ?? null });
  });

  app.get('/api/v1/emergency', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['emergency'], summary: 'Emergency vehicles with priority now: position, corridor, ETA', response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
  }, async () => active());

  app.delete<{ Params: { id: string } }>('/api/v1/emergency/:id', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['emergency'], summary: 'Cancel the priority of an emergency vehicle (operators; audited)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
      response: { 204: { type: 'null' }, 404: errorSchema, 503: errorSchema },
    },
  }, async (req, reply) => {
    const { id } = req.params;
    await audited(() => {
      if (!rt.emergency.active().some((e) => e.id === id)) throw new HttpError('CB_NOT_FOUND', `no emergency vehicle "${id}" with priority`);
      return {
        entry: { ...access.who(req), action: 'cancel-emergency', target: `vehicle:${id}`, before: 'priority', after: 'none' },
        apply: () => rt.emergency.cancel(id),
      };
    });
    return reply.code(204).send();
  });
}
