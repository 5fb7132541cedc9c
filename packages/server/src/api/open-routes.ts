import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import {
  dcatCatalogue, dcatDataset, localProjection, OPEN_FORMATS, TRAFFIC_FLOW_TYPE, trafficFlowEntities, type LaneEstimate, type ObservedKpis, type Projection,
} from '@citybrain/brain';
import type { Network } from '@citybrain/engine';
import { errorSchema, HttpError } from '../errors.js';
import type { Hub, HubActor } from '../hub/hub.js';

/** What the open catalogue says of itself, and where the city is. */
export interface OpenDataOptions {
  /** default "CityBrain open data" */
  title?: string;
  description?: string;
  /** the catalogue's publisher (the city's name); default "CityBrain" */
  publisher?: string;
  /** the public base URL the catalogue's links use (behind a proxy); default the request's own scheme and host */
  baseUrl?: string;
  /** where the network's (0, 0) is on the globe: TrafficFlowObserved entities then carry a GeoJSON location, datasets a bbox */
  origin?: { lon: number; lat: number };
}

export interface OpenRoutesOptions extends OpenDataOptions {
  hub: Hub;
  /** the brain's lane estimate and KPIs (the city's traffic observations) */
  traffic?: { net: Network; estimate: LaneEstimate; observed: ObservedKpis };
}

const ANONYMOUS: HubActor = { actor: 'anonymous (open data)', role: 'public' };
const list = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;

/**
 * Open data, no token: the public datasets' DCAT-AP 3 catalogue (JSON-LD,
 * harvestable by CKAN's ckanext-dcat), their downloads (CSV, Parquet;
 * audited as anonymous reads), and the city's traffic observations as
 * FIWARE TrafficFlowObserved entities (NGSI-LD keyValues) under /open/ngsi-ld/v1.
 */
export async function openRoutes(app: FastifyInstance, opts: OpenRoutesOptions): Promise<void> {
  const { hub } = opts;
  const project: Projection | undefined = opts.origin ? localProjection(opts.origin) : undefined;
  const baseUrl = (req: FastifyRequest) => (opts.baseUrl ?? `${req.protocol}://${req.headers.host ?? req.hostname}`).replace(/\/$/, '');
  const bbox = (): [number, number, number, number] | undefined => {
    const net = opts.traffic?.net;
    if (!project || !net || net.ptX.length === 0) return undefined;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let p = 0; p < net.ptX.length; p++) {
      x0 = Math.min(x0, net.ptX[p]); x1 = Math.max(x1, net.ptX[p]); y0 = Math.min(y0, net.ptY[p]); y1 = Math.max(y1, net.ptY[p]);
    }
    const [w, s] = project(x0, y0), [e, n] = project(x1, y1);
    return [w, s, e, n];
  };
  const temporal = async (ids: string[]) => {
    const m = new Map<string, { start: number; end: number }>();
    for (const id of ids) {
      const t = await hub.timeExtent(id);
      if (t) m.set(id, t);
    }
    return m;
  };
  const meta = {
    title: opts.title ?? 'CityBrain open data',
    description: opts.description ?? 'The datasets the city\'s departments publish as open data through CityBrain\'s data hub.',
    publisher: opts.publisher ?? 'CityBrain',
  };

  app.get('/api/v1/open/catalogue', {
    schema: {
      tags: ['open data'], summary: 'The public datasets as a DCAT-AP 3 catalogue (JSON-LD, no token): for a city portal to harvest (CKAN: ckanext-dcat)',
      response: { 200: { type: 'object', additionalProperties: true } },
    },
  }, async (req, reply) => {
    const datasets = hub.publicDatasets();
    const body = dcatCatalogue({ ...meta, baseUrl: baseUrl(req), datasets, departments: hub.departments, temporal: await temporal(datasets.map((d) => d.id)), bbox: bbox() });
    return reply.type('application/ld+json').send(JSON.stringify(body));
  });

  app.get<{ Params: { id: string } }>('/api/v1/open/datasets/:id', {
    schema: {
      tags: ['open data'], summary: 'One public dataset as a dcat:Dataset (JSON-LD, no token)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 63 } }, required: ['id'] },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req, reply) => {
    const d = hub.datasets.get(req.params.id);
    if (!d || d.classification !== 'public') throw new HttpError('CB_NOT_FOUND', `no public dataset "${req.params.id}"`);
    const body = { '@context': dcatCatalogue({ ...meta, baseUrl: '', datasets: [], departments: hub.departments })['@context'], ...dcatDataset(d, { baseUrl: baseUrl(req), departments: hub.departments, temporal: await temporal([d.id]), bbox: bbox() }) };
    return reply.type('application/ld+json').send(JSON.stringify(body));
  });

  app.get<{ Params: { id: string; format: string } }>('/api/v1/open/datasets/:id/data.:format', {
    schema: {
      tags: ['open data'], summary: 'A public dataset, whole, as CSV or Parquet (no token; audited as an anonymous read)',
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 63 }, format: { type: 'string', enum: OPEN_FORMATS.map((f) => f.ext) } }, required: ['id', 'format'] },
      response: { 404: errorSchema },
    },
  }, async (req, reply) => {
    const format = req.params.format as 'csv' | 'parquet';
    const who: HubActor = { ...ANONYMOUS, actor: `anonymous (open data, ${req.ip})` };
    const { file, rows, done } = await hub.openDownload(who, req.params.id, format);
    const stream = createReadStream(file);
    stream.once('close', () => void done());
    const media = OPEN_FORMATS.find((f) => f.ext === format)!.media;
    return reply
      .type(format === 'csv' ? `${media}; charset=utf-8` : media)
      .header('content-disposition', `attachment; filename="${req.params.id}.${format}"`)
      .header('x-citybrain-rows', String(rows))
      .send(stream);
  });

  // ---------------------------------------------- NGSI-LD: the city's traffic observations (FIWARE Smart Data Models)

  const entities = () => {
    const t = opts.traffic;
    if (!t) return [];
    return trafficFlowEntities({ net: t.net, estimate: t.estimate, speed: (l) => t.observed.laneReport(l).speed, project });
  };

  app.get<{ Querystring: { type?: string; options?: string; id?: string; limit?: number } }>('/open/ngsi-ld/v1/entities', {
    schema: {
      tags: ['open data'], summary: `The city's traffic observations per lane as NGSI-LD keyValues ${TRAFFIC_FLOW_TYPE} entities (no token); type=${TRAFFIC_FLOW_TYPE}, id= one or more urns, comma-separated`,
      querystring: {
        type: 'object',
        properties: { type: { type: 'string', maxLength: 200 }, options: { type: 'string', maxLength: 100 }, id: { type: 'string', maxLength: 10_000 }, limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } },
        additionalProperties: true,
      },
      response: { 200: list, 400: errorSchema },
    },
  }, async (req, reply) => {
    const types = req.query.type?.split(',').map((t) => t.trim()).filter(Boolean);
    const unknown = types?.find((t) => t !== TRAFFIC_FLOW_TYPE);
    if (unknown) throw new HttpError('CB_INVALID_REQUEST', `querystring.type: "${unknown}" is not served here; types: ${TRAFFIC_FLOW_TYPE}`);
    if (req.query.options !== undefined && req.query.options !== 'keyValues') throw new HttpError('CB_INVALID_REQUEST', 'querystring.options: only keyValues is served');
    const ids = req.query.id?.split(',').map((s) => s.trim()).filter(Boolean);
    let out = entities();
    if (ids) out = out.filter((e) => ids.includes(e.id as string));
    return reply.type('application/ld+json').send(JSON.stringify(out.slice(0, req.query.limit ?? 1000)));
  });

  app.get<{ Params: { id: string } }>('/open/ngsi-ld/v1/entities/:id', {
    schema: {
      tags: ['open data'], summary: `One lane's ${TRAFFIC_FLOW_TYPE} (NGSI-LD keyValues, no token) by its urn`,
      params: { type: 'object', properties: { id: { type: 'string', maxLength: 300 } }, required: ['id'] },
      response: { 200: { type: 'object', additionalProperties: true }, 404: errorSchema },
    },
  }, async (req, reply) => {
    const e = entities().find((x) => x.id === req.params.id);
    if (!e) throw new HttpError('CB_NOT_FOUND', `no entity "${req.params.id}" (a lane no device has reported has none)`);
    return reply.type('application/ld+json').send(JSON.stringify(e));
  });
}
