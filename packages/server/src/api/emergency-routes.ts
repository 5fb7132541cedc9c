import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { RoadGraph, type RoadnetJson } from '@citybrain/engine';
import type { CityRuntime } from '../city/runtime.js';
import { emergencyView } from '../city/views.js';
import { HttpError } from '../auth.js';
import type { CityAccess } from './city-routes.js';
import type { Audited } from './audited.js';

// serve.ts takes it from here for the live stream
export { emergencyView } from '../city/views.js';

export interface EmergencyRoutesOptions {
  runtime: CityRuntime;
  roadnet: RoadnetJson;
  access: CityAccess;
  audited: Audited;
}

const errorSchema = { type: 'object', properties: { statusCode: { type: 'number' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } } };
/** A map point farther than this from every road is not snapped to one: it is in another unit or another city. */
const MAX_SNAP_METRES = 1000;
const point = { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'], additionalProperties: false };

/**
 * Emergency dispatch: an operator sends an emergency vehicle from one point of
 * the map to another (or along given roads); the brain clears a green
 * corridor ahead of it and restores normal control behind it.
 */
export async function emergencyRoutes(app: FastifyInstance, opts: EmergencyRoutesOptions): Promise<void> {
  const { runtime: rt, access, audited } = opts;
  const graph = new RoadGraph(opts.roadnet);
  const net = rt.sim.net;
  let seq = 0;
  const active = () => emergencyView(rt);

  app.post<{ Body: { id?: string; from?: { x: number; y: number }; to?: { x: number; y: number }; route?: string[] } }>('/api/v1/emergency', {
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
        },
        additionalProperties: false,
      },
      response: { 201: { type: 'object', additionalProperties: true }, 400: errorSchema, 409: errorSchema, 503: errorSchema },
    },
  }, async (req, reply) => {
    const b = req.body;
    let route = b.route;
    if (!route) {
      if (!b.from || !b.to) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'give either route (road ids) or both from and to ({x, y} in metres)' });
      const o = RoadGraph.nearestRoad(opts.roadnet, b.from);
      const d = RoadGraph.nearestRoad(opts.roadnet, b.to);
      if (!o || !d) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'the network has no roads' });
      for (const [field, p, near] of [['from', b.from, o], ['to', b.to, d]] as const) {
        if (near.distance > MAX_SNAP_METRES) {
          return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `${field}: (${p.x}, ${p.y}) is ${Math.round(near.distance)} m from the nearest road; give a point on the map, in metres` });
        }
      }
      route = graph.shortest(o.road, d.road);
      if (!route) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `no route from road "${o.road}" to road "${d.road}"` });
    } else {
      const unknown = route.find((r) => !net.roadIndex.has(r));
      if (unknown) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `route: unknown road "${unknown}"` });
    }
    const path = route;
    const id = await audited(() => {
      const id = b.id ?? `ev-${++seq}`;
      if (rt.sim.vehicleStatus(id).state !== 'unknown') throw new HttpError(409, `vehicle "${id}" exists already`, 'CB_CONFLICT');
      // tried on a copy of the twin first: the dispatch is audited before it happens, so it must not fail afterwards
      try {
        rt.sim.fork().addVehicle({ id, route: path });
      } catch (e) {
        throw new HttpError(400, (e as Error).message, 'CB_INVALID_REQUEST');
      }
      return {
        entry: { ...access.who(req), action: 'dispatch-emergency', target: `vehicle:${id}`, before: null, after: { route: path } },
        apply: () => rt.emergency.dispatch({ id, route: path }),
      };
    });
    const view = active().find((e) => e.id === id);
    return reply.code(201).send({ id, route, corridor: view?.corridor ?? [], eta: view?.eta ?? null });
  });

  app.get('/api/v1/emergency', {
    onRequest: access.require('viewer', 'operator', 'app'),
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
      if (!rt.emergency.active().some((e) => e.id === id)) throw new HttpError(404, `no emergency vehicle "${id}" with priority`, 'CB_NOT_FOUND');
      return {
        entry: { ...access.who(req), action: 'cancel-emergency', target: `vehicle:${id}`, before: 'priority', after: 'none' },
        apply: () => rt.emergency.cancel(id),
      };
    });
    return reply.code(204).send();
  });
}
