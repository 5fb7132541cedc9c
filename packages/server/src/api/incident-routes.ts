import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { CityRuntime } from '../city/runtime.js';
import type { Incident } from './contract.js';
import type { CityAccess } from './city-routes.js';
import { READ_ROLES } from '../auth.js';
import type { Audited } from './audited.js';
import { STATE_KEYS } from '../city/persistence.js';
import { errorSchema, HttpError } from '../errors.js';

export interface IncidentRoutesOptions {
  runtime: CityRuntime;
  access: CityAccess;
  audited: Audited;
}

const incidentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, status: { type: 'string', enum: ['active', 'cleared'] }, lane: { type: 'string' }, road: { type: 'string' }, intersection: { type: 'string' },
    x: { type: 'number' }, y: { type: 'number' }, since: { type: 'number' }, detectedAt: { type: 'number' }, detectedTs: { type: 'number' },
    clearedAt: { type: ['number', 'null'] }, clearedTs: { type: ['number', 'null'] },
    evidence: { type: 'object', properties: { greenSeconds: { type: 'number' }, queue: { type: 'number' } } },
    acknowledged: { anyOf: [{ type: 'null' }, { type: 'object', properties: { by: { type: 'string' }, ts: { type: 'number' } } }] },
  },
};

/**
 * Incidents the brain detected on its own (see IncidentDetector): the list,
 * newest first, and the operators' acknowledgement (police on the way),
 * which is audited. New and cleared incidents also go out at once on the
 * live stream and, when the server has a broker, over MQTT.
 */
export async function incidentRoutes(app: FastifyInstance, opts: IncidentRoutesOptions): Promise<void> {
  const { runtime: rt, access, audited } = opts;

  app.get<{ Querystring: { status?: 'active' | 'cleared' | 'all'; limit?: number } }>('/api/v1/incidents', {
    onRequest: access.require(...READ_ROLES),
    schema: {
      tags: ['incidents'], summary: 'Detected lane-blocking incidents, newest first',
      querystring: {
        type: 'object',
        properties: {
          status: { type: 'string', enum: ['active', 'cleared', 'all'], default: 'all', description: 'active: not cleared yet' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
        additionalProperties: false,
      },
      response: { 200: { type: 'array', items: incidentSchema } },
    },
  }, async (req) => {
    const { status = 'all', limit = 100 } = req.query;
    const out: Incident[] = [];
    const all = rt.incidents.incidents;
    for (let k = all.length - 1; k >= 0 && out.length < limit; k--) if (status === 'all' || all[k].status === status) out.push(all[k]);
    return out;
  });

  app.post<{ Params: { id: string } }>('/api/v1/incidents/:id/acknowledge', {
    onRequest: access.require('operator'),
    schema: {
      tags: ['incidents'], summary: 'Acknowledge an incident (police dispatched); operators; audited. Acknowledging twice keeps the first.',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
      response: { 200: incidentSchema, 404: errorSchema, 503: errorSchema },
    },
  }, async (req) => {
    const { actor } = access.who(req);
    const known = rt.incidents.incidents.find((i) => i.id === req.params.id);
    if (!known) throw new HttpError('CB_NOT_FOUND', `no incident "${req.params.id}" (it may have been cleared long ago and dropped from the history)`);
    return audited(() => {
      const apply = () => rt.incidents.acknowledge(known.id, actor, ack.ts) ?? known;
      // on the city's clock, like the incident's own times: acknowledged minus detected is the response time
      const ack = known.acknowledged ?? { by: actor, ts: rt.ts };
      if (known.acknowledged !== null) return { apply };
      return {
        entry: { ...access.who(req), action: 'acknowledge-incident', target: `incident:${known.id}`, before: null, after: { lane: known.lane, intersection: known.intersection } },
        change: { t: 'state', set: { [STATE_KEYS.acknowledgement(known)]: ack } },
        apply,
      };
    });
  });
}

/** The live stream's view: the active incidents. */
export function activeIncidents(rt: CityRuntime): Incident[] {
  return rt.incidents.incidents.filter((i) => i.status === 'active');
}
