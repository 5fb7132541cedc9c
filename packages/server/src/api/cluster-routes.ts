import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Event, Plan, PlanBoard } from '@citybrain/brain';
import type { EventSink } from '../ingest.js';
import type { ClusterView } from './contract.js';
import type { CityAccess } from './city-routes.js';

/**
 * What makes an API server a cluster's (issue #20, `citybrain serve
 * --cluster NATS_URL`), handed to startServer by the CLI from
 * `@citybrain/server/cluster` (cluster/follower.ts), so serve itself never
 * loads the NATS clients: the server controls nothing; it follows every
 * partition of the event stream into its brain (the live map, KPIs and
 * incidents as in one process), shows the workers' plans, reads the store the
 * writers fill for history, and the owners' and workers' KV buckets for
 * `GET /api/v1/cluster`.
 */
export interface ClusterFeed {
  /** the durable step of this server's own ingestion: the stream (its events come back through `follow`, and the writers store them) */
  sink: EventSink;
  /**
   * starts handing every partition's events (the stream's recent past first) to `events`, every plan verified with
   * `verify` to `plans`, and the plate reads as read (the gateways' and this server's, from the plates stream) to
   * `plates`, whose promise resolves once they are judged and stored (then they are acknowledged)
   */
  follow(to: { events: (events: Event[]) => void; plans: PlanBoard; verify: (plan: Plan) => boolean; plates?: (reads: Event[]) => Promise<void> }): Promise<void>;
  /** who owns which region, and the workers' health */
  view(): Promise<ClusterView>;
  close(): Promise<void>;
}

export interface ClusterRoutesOptions {
  /** undefined on a one-process server: the route answers `cluster: false` */
  feed?: ClusterFeed;
  access: CityAccess;
}

const workerSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, regions: { type: 'array', items: { type: 'string' } },
    decisionMs: { type: 'object', additionalProperties: { type: 'number' }, description: 'mean ms of decision per step of the worker\'s loop, per owned region' },
    eventsPerSecond: { type: 'number' }, lagSeconds: { type: 'number' }, updatedAt: { type: 'integer' }, alive: { type: 'boolean' },
  },
  required: ['id', 'regions', 'decisionMs', 'eventsPerSecond', 'lagSeconds', 'updatedAt', 'alive'],
};

const clusterSchema = {
  type: 'object',
  properties: {
    cluster: { type: 'boolean', description: 'false: a one-process server (no regions, no workers)' },
    nats: { type: 'string' },
    regions: {
      type: 'array',
      items: { type: 'object', properties: { id: { type: 'string' }, owner: { type: ['string', 'null'] }, intersections: { type: 'array', items: { type: 'string' } } }, required: ['id', 'owner', 'intersections'] },
    },
    workers: { type: 'array', items: workerSchema },
    at: { type: 'integer' },
  },
  required: ['cluster', 'regions', 'workers', 'at'],
};

/** `GET /api/v1/cluster`: the regions with their owner and intersections, the brain workers with their health. */
export async function clusterRoutes(app: FastifyInstance, opts: ClusterRoutesOptions): Promise<void> {
  const { feed, access } = opts;
  app.get('/api/v1/cluster', {
    onRequest: access.require('viewer', 'operator', 'police'),
    schema: {
      tags: ['cluster'],
      summary: 'A cluster\'s regions (owner, intersections) and brain workers (regions, decision ms per region, events per second, lag, alive); cluster false on a one-process server',
      response: { 200: clusterSchema },
    },
  }, async (): Promise<ClusterView> => (feed ? feed.view() : { cluster: false, regions: [], workers: [], at: Date.now() }));
}
