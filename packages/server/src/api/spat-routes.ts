import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { CityRuntime } from '../city/runtime.js';
import { citySpat } from '../city/spat.js';
import { errorSchema, HttpError } from '../errors.js';
import { READ_ROLES } from '../auth.js';
import type { CityAccess } from './city-routes.js';

export interface SpatRoutesOptions {
  runtime: CityRuntime;
  access: CityAccess;
}

// J2735 SPaT as JSON (city/spat.ts has the shape); documented loosely here, the module's types are the reference
const spatSchema = {
  type: 'object',
  description: 'SAE J2735 SPAT, JSON with the ASN.1 field names and the USDOT ODE list wrappers (see packages/server/INGESTION.md, "SPaT out")',
  properties: { timeStamp: { type: 'integer' }, name: { type: 'string' }, intersections: { type: 'array', items: { type: 'object', additionalProperties: true } } },
  required: ['timeStamp', 'name', 'intersections'],
};

/** SPaT for connected vehicles and third parties: the signal state now, per intersection or for the whole city. */
export async function spatRoutes(app: FastifyInstance, opts: SpatRoutesOptions): Promise<void> {
  const { runtime: rt, access } = opts;
  const indexOf = new Map(rt.supervisor.env.intersections.map((ix, k) => [ix.id, k]));

  app.get('/api/v1/spat', {
    onRequest: access.require(...READ_ROLES),
    schema: { tags: ['city'], summary: 'SPaT (SAE J2735 shape) of every signalised intersection now', response: { 200: spatSchema } },
  }, async () => citySpat(rt));

  app.get<{ Params: { id: string } }>('/api/v1/intersections/:id/spat', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['city'], summary: 'SPaT (SAE J2735 shape) of one intersection now',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
      response: { 200: spatSchema, 404: errorSchema },
    },
  }, async (req) => {
    const k = indexOf.get(req.params.id);
    if (k === undefined) throw new HttpError('CB_NOT_FOUND', `no signalised intersection "${req.params.id}"`);
    return citySpat(rt, k);
  });
}
