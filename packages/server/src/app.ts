import Fastify, { type FastifyError, type FastifyInstance, type RouteOptions } from 'fastify';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Auth } from './auth.js';
import { classify, errorBody, ERRORS, HttpError } from './errors.js';
import { describeSchemaErrors, type ClockSkew } from '@citybrain/brain';
import { DEFAULT_INGEST_BODY_LIMIT, IngestPipeline, type EventSink } from './ingest.js';
import { ingestHttpPlugin } from './plugins/ingest-http.js';
import { StoreError, type EventStore } from './store/store.js';
import { redactingDestination, type LogDestination } from './redact.js';
import { unstorable } from '@citybrain/brain';
import { AJV_OPTIONS, buildValidator } from './validation.js';

export interface AppLimits {
  /** largest ingestion request body, bytes; default 1 MiB (other routes: Fastify's default 1 MiB) */
  ingestBodyLimit?: number;
  /** events admitted but not yet durable before ingestion answers 429; default 100000 */
  maxQueuedEvents?: number;
  /** ms a request (headers and body) may take to arrive; default 30000 (slow-client guard: then 408 and the connection is closed) */
  requestTimeoutMs?: number;
  /** how far a device's event `ts` may be from the server clock; default 5 min ahead, 7 days behind; false accepts any */
  clockSkew?: ClockSkew | false;
}

/** The structured JSON log (pino). Every line goes through redactSecrets before it is written. */
export interface LogOptions {
  /** default CITYBRAIN_LOG_LEVEL, else info */
  level?: string;
  /** where lines go; default stdout */
  destination?: LogDestination;
}

export interface AppOptions {
  /** tokens, and (unless `sink`) where ingested events become durable */
  store: EventStore;
  /** where ingested events become durable instead of the store (a cluster gateway: JetStream) */
  sink?: EventSink;
  auth: Auth;
  /** log options, or false for no log; default JSON lines at info to stdout */
  logger?: LogOptions | false;
  limits?: AppLimits;
  /** hears of every route as it is registered, the server's own included (e.g. to check the route table) */
  onRoute?: (route: RouteOptions) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    store: EventStore;
    auth: Auth;
    ingest: IngestPipeline;
    /** the Prometheus registry /metrics serves; plugins add their metrics here */
    metrics: Registry;
  }
}

/**
 * Content-Security-Policy of every response, the dashboard's and /docs' pages
 * included: scripts and connections (the live WebSocket) from this origin
 * only; inline styles, as React, deck.gl, ECharts and Swagger UI set styles
 * on elements; images from data: and blob: URLs (icons, canvases); blob:
 * workers (deck.gl's loaders). No framing (clickjacking).
 */
const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'worker-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

type PartSchemas = { querystring?: unknown; params?: unknown } | undefined;
const numericCache = new WeakMap<object, Record<'querystring' | 'params', Set<string>>>();
const NO_NUMERIC = { querystring: new Set<string>(), params: new Set<string>() };

/** The query and path parameters a route's schema declares as numbers. */
function numericFields(schema: PartSchemas): Record<'querystring' | 'params', Set<string>> {
  if (!schema) return NO_NUMERIC;
  let f = numericCache.get(schema);
  if (!f) {
    const of = (part: unknown) => {
      const props = (part as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
      return new Set(Object.keys(props).filter((k) => [props[k].type].flat().some((t) => t === 'number' || t === 'integer')));
    };
    numericCache.set(schema, (f = { querystring: of(schema.querystring), params: of(schema.params) }));
  }
  return f;
}

/**
 * Why a numeric query or path parameter's text is not a number, or undefined.
 * Ajv's coercion reads "Infinity" and "1e309" as Infinity and then skips
 * minimum/maximum (they check finite numbers only), and reads " " as 0.
 */
function notDecimal(s: string): string | undefined {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && Number.isFinite(Number(s))) return undefined;
  return `must be a finite decimal number (got ${JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)})`;
}

/**
 * The operations server as a Fastify app: OpenAPI at /docs/json (UI at
 * /docs), Prometheus metrics at /metrics, /healthz, and device ingestion at
 * POST /api/v1/events. Register more plugins on it before `listen`; they find
 * the store, auth (`app.auth.requireRole(...)`), ingestion pipeline and
 * metrics registry as decorations. Closing the app does not close the store.
 */
export function buildApp(opts: AppOptions): FastifyInstance {
  const limits = opts.limits ?? {};
  const log = opts.logger ?? {};
  const requestTimeout = limits.requestTimeoutMs ?? 30000;
  const app = Fastify({
    // redacted line by line: tokens in URLs (?token=, ?ticket=), authorization headers and URL passwords never reach the log
    logger: log && { level: log.level ?? process.env.CITYBRAIN_LOG_LEVEL ?? 'info', stream: redactingDestination(log.destination) },
    ajv: { customOptions: { ...AJV_OPTIONS } },
    schemaController: { compilersFactory: { buildValidator } },
    requestTimeout,
    // Fastify sets server.requestTimeout after creating the server, which leaves Node's headersTimeout at 60 s,
    // and a body trickling in is closed by that one (measured on Node 20: requestTimeout alone never fires),
    // checked only every connectionsCheckingInterval (30 s): 60-90 s instead of the 30 s guard. Both at
    // construction, and checked often enough that the guard holds to within a second.
    http: { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(100, requestTimeout / 20)) },
    return503OnClosing: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'citybrain_' });
  const pipeline = new IngestPipeline(opts.sink ?? opts.store, { registry, maxQueuedEvents: limits.maxQueuedEvents, clockSkew: limits.clockSkew });
  app.decorate('store', opts.store);
  app.decorate('auth', opts.auth);
  app.decorate('ingest', pipeline);
  app.decorate('metrics', registry);
  app.addHook('onReady', async () => pipeline.open());
  app.addHook('onClose', async () => pipeline.close());

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let { status, code } = classify(err);
    let message = err.message;
    if (err.validation) {
      const ctx = err.validationContext ?? 'body';
      const data = ctx === 'body' ? req.body : ctx === 'querystring' ? req.query : ctx === 'params' ? req.params : req.headers;
      message = describeSchemaErrors(err.validation, data);
      if (ctx !== 'body') message = `${ctx}${message.startsWith('body') ? message.slice(4) : `.${message}`}`;
      code = 'CB_INVALID_REQUEST';
      status = ERRORS.CB_INVALID_REQUEST.status;
    } else if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `request body is larger than the ${req.routeOptions.bodyLimit ?? DEFAULT_INGEST_BODY_LIMIT}-byte limit; send smaller batches`;
    } else if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = `Content-Type "${req.headers['content-type'] ?? ''}" is not supported; send application/json`;
    } else if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (status === 400 && err instanceof SyntaxError)) {
      message = `request body is not valid JSON: ${err.message}`;
    } else if (err instanceof StoreError) {
      code = 'CB_STORE_UNAVAILABLE';
      status = ERRORS.CB_STORE_UNAVAILABLE.status;
      reply.header('retry-after', '5');
    }
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      // an unexpected error's message may tell internals; a store's or the catalogue's own 5xx says what to do
      if (!(err instanceof StoreError || err instanceof HttpError)) message = 'internal server error';
    }
    reply.status(status).send(errorBody(status, code, message));
  });
  // Fastify's own 404, with a code (its log line and message as they were)
  app.setNotFoundHandler(async (req) => {
    const { method, url } = req.raw;
    req.log.info(`Route ${method}:${url} not found`);
    throw new HttpError('CB_NOT_FOUND', `Route ${method}:${url} not found`);
  });

  // PostgreSQL cannot compare text with a NUL in it (a 500 for ?device=a%00b): refuse such query and path strings by name
  app.addHook('preValidation', async (req) => {
    const numeric = numericFields(req.routeOptions.schema);
    for (const [part, data] of [['querystring', req.query], ['params', req.params]] as const) {
      if (data === null || typeof data !== 'object') continue;
      for (const [k, v] of Object.entries(data)) {
        for (const s of Array.isArray(v) ? v : [v]) {
          const bad = typeof s !== 'string' ? undefined : unstorable(s) ?? (numeric[part].has(k) ? notDecimal(s) : undefined);
          if (bad) throw new HttpError('CB_INVALID_REQUEST', `${part}.${k}: ${bad}`);
        }
      }
    }
  });

  app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // a plain-HTTP server must not ask browsers to upgrade to HTTPS; HSTS belongs to whatever terminates TLS
    strictTransportSecurity: false,
  });
  app.register(swagger, {
    openapi: {
      info: {
        title: 'CityBrain operations server',
        version: '0.1.0',
        description: 'Device ingestion, storage and control API. Authenticate with `Authorization: Bearer <token>`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An opaque CityBrain token (cbt_...).' } } },
    },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', {
    schema: {
      tags: ['operations'], summary: 'Health: 200 when the process answers and the store does; 503 (with the store\'s error) when the store does not, as every other request then fails',
      response: {
        200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] }, store: { type: 'string' }, ingestQueueEvents: { type: 'integer' } } },
        503: { type: 'object', properties: { status: { type: 'string', enum: ['store-unavailable'] }, store: { type: 'string' }, ingestQueueEvents: { type: 'integer' }, error: { type: 'string' } } },
      },
    },
  }, async (_req, reply) => {
    try {
      await opts.store.ping();
    } catch (e) {
      reply.header('retry-after', '5');
      return reply.code(503).send({ status: 'store-unavailable', store: opts.store.backend, ingestQueueEvents: pipeline.depth, error: (e as Error).message });
    }
    return { status: 'ok', store: opts.store.backend, ingestQueueEvents: pipeline.depth };
  });
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format)' } }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });

  app.register(ingestHttpPlugin, { pipeline, auth: opts.auth, bodyLimit: limits.ingestBodyLimit });
  return app;
}
