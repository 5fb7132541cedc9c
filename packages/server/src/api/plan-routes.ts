import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { planSchema, type Plan, type PlanBoard } from '@citybrain/brain';
import { checkDeviceScope, READ_ROLES } from '../auth.js';
import { errorSchema, HttpError } from '../errors.js';
import type { BrainKey } from '../plans/brain-key.js';
import type { CityAccess } from './city-routes.js';

export interface PlanRoutesOptions {
  board: PlanBoard;
  /** the brain's key: only its public half is served (a cluster's gateway holds no more) */
  key: Pick<BrainKey, 'publicPem'>;
  access: CityAccess;
  /** how long `?after=` waits for a newer plan, ms; default 25000 */
  longPollMs?: number;
}

/** How long a long poll of a plan waits by default: under the usual 30 s idle timeouts of proxies. */
export const PLAN_LONG_POLL_MS = 25_000;

/**
 * Plans out over HTTP, for field controllers without MQTT: the latest signed
 * plan of an intersection, or (`?after=<seq>`) the first one newer than seq,
 * waiting up to 25 s for it (long poll: a controller polling again at once
 * gets each plan within milliseconds of its issue). Read by that
 * intersection's devices (scope checked like their events), operators and
 * viewers. And the brain's public key, which field controllers verify plans with.
 */
export async function planRoutes(app: FastifyInstance, opts: PlanRoutesOptions): Promise<void> {
  const { board, key, access } = opts;
  const longPollMs = opts.longPollMs ?? PLAN_LONG_POLL_MS;
  const publicPem = key.publicPem();
  // waiting polls end (with 204) when the server closes, so it does not wait 25 s for them
  const waiting = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...waiting]) end();
  });

  app.get('/api/v1/brain/key', {
    onRequest: access.require(...READ_ROLES, 'device'),
    schema: {
      tags: ['plans'], summary: 'The brain\'s public key (Ed25519, SPKI PEM): plans that do not verify against it are not the brain\'s',
      response: { 200: { type: 'string', description: 'PEM text (application/x-pem-file)' } },
    },
  }, async (_req, reply) => reply.type('application/x-pem-file').send(publicPem));

  app.get<{ Params: { id: string }; Querystring: { after?: number } }>('/api/v1/intersections/:id/plan', {
    onRequest: access.require('viewer', 'operator', 'police', 'device'),
    schema: {
      tags: ['plans'],
      summary: 'The latest signed plan of an intersection; with ?after=<seq>, the first newer one, waiting up to 25 s (204 when none came)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 200 } }, required: ['id'] },
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { after: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'the seq of the last plan the controller has: answer the first plan with a higher one, waiting for it' } },
      },
      response: { 200: planSchema, 204: { type: 'null', description: 'no plan yet (without after), or none newer within the wait' }, 403: errorSchema, 404: errorSchema },
    },
  }, async (req, reply) => {
    const id = req.params.id;
    if (!board.has(id)) throw new HttpError('CB_NOT_FOUND', `no signalised intersection "${id}"`);
    const p = req.principal;
    if (p?.role === 'device') {
      // the device must be one that may report this intersection's signal
      const denied = checkDeviceScope(p, [{ kind: 'signal', id: 'plan', device: p.device ?? '', ts: 0, intersection: id, phase: 0 }]);
      if (denied) throw new HttpError('CB_OUT_OF_SCOPE', `device "${p.device}" may not read the plans of intersection "${id}"`);
    }
    const after = req.query.after;
    const latest = board.latest(id);
    if (after === undefined || (latest && latest.seq > after)) return latest ?? reply.code(204).send();
    const plan = await new Promise<Plan | undefined>((resolve) => {
      const end = (found?: Plan) => {
        clearTimeout(timer);
        off();
        waiting.delete(end);
        reply.raw.off('close', gone);
        resolve(found);
      };
      const gone = () => end();
      const timer = setTimeout(end, longPollMs);
      const off = board.onPlan((next) => {
        if (next.intersection === id && next.seq > after) end(next);
      });
      waiting.add(end);
      // the controller hung up: stop waiting for it
      reply.raw.once('close', gone);
    });
    return plan ?? reply.code(204).send();
  });
}
