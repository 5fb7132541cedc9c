import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Auth } from '../auth.js';
import { errorSchema, HttpError } from '../errors.js';
import { appendResultSchema, eventBatchSchema, MAX_EVENTS_PER_BATCH, type EventInput } from '@citybrain/brain';
import { asBatch, BackpressureError, DEFAULT_INGEST_BODY_LIMIT, StreamUnavailableError, type IngestPipeline, type RejectReason } from '../ingest.js';
import { parseJsonBytes } from '../text.js';
import { EventConflictError } from '../store/store.js';

export interface IngestHttpOptions {
  pipeline: IngestPipeline;
  auth: Auth;
  /** bytes; default 1 MiB */
  bodyLimit?: number;
}

const REASON_BY_STATUS: Record<number, RejectReason> = {
  400: 'invalid', 401: 'unauthenticated', 403: 'forbidden', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type',
};

/**
 * POST /api/v1/events: devices publish batches over HTTP. A batch is all or
 * nothing: one invalid or out-of-scope event refuses the whole request and
 * stores nothing. 200 means every event is durable (newly or from an earlier
 * try); on 429 retry the same batch after Retry-After: retries are harmless.
 */
export const ingestHttpPlugin: FastifyPluginAsync<IngestHttpOptions> = async (app, opts) => {
  const { pipeline, auth } = opts;
  const reasons = new WeakMap<FastifyRequest, RejectReason>();

  // our own JSON parser, so a syntax error says where it is (Fastify's says only "not valid JSON").
  // __proto__ keys cannot pollute anything: JSON.parse makes them own properties, and the
  // schema refuses unknown fields
  app.removeAllContentTypeParsers();
  // read as bytes: decoding as a string would replace bytes that are not UTF-8 (a Latin-1 "Ä") with U+FFFD and store that
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    // bodies are not decompressed: say so rather than fail on the compressed bytes as "not valid JSON"
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return done(new HttpError('CB_UNSUPPORTED_ENCODING', `Content-Encoding "${encoding}" is not supported; send the JSON uncompressed`), undefined);
    }
    if (body.length === 0) return done(new HttpError('CB_EMPTY_BODY', 'request body is empty; send a JSON batch'), undefined);
    const parsed = parseJsonBytes(body as Buffer);
    if ('error' in parsed) return done(new HttpError('CB_INVALID_JSON', `request body is ${parsed.error}`), undefined);
    done(null, parsed.value);
  });

  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode < 400) return;
    const reason = reasons.get(req) ?? REASON_BY_STATUS[reply.statusCode] ?? (reply.statusCode >= 500 ? 'store_error' : 'invalid');
    pipeline.reject('http', reason);
  });

  // rate-limited 429s come from the auth hook; mark them so the metric says why
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode === 429 && !reasons.has(req)) reasons.set(req, 'rate_limited');
    return payload;
  });

  app.post('/api/v1/events', {
    bodyLimit: opts.bodyLimit ?? DEFAULT_INGEST_BODY_LIMIT,
    // before the body is read: an unauthenticated client's upload is not parsed
    onRequest: auth.requireRole('device'),
    preValidation: async (req) => {
      req.body = asBatch(req.body);
    },
    // the pipeline's validator, the one MQTT's messages pass too (the schema below documents it)
    validatorCompiler: () => pipeline.validator,
    schema: {
      tags: ['ingestion'],
      summary: 'Publish a batch of device events',
      description:
        `Body: {"events": [...]} (or a bare array, or one event), 1 to ${MAX_EVENTS_PER_BATCH} events, at most ${opts.bodyLimit ?? DEFAULT_INGEST_BODY_LIMIT} bytes. ` +
        'Needs a device token; every event must name that device and only its intersections and bays. ' +
        'All or nothing: 200 only once every event is durable; the idempotency key is (device, id), so retrying a batch stores nothing twice. ' +
        '409 when an event reuses the id of an event stored earlier with other fields (nothing of the batch is stored). ' +
        '429 with Retry-After when the server is saturated or the token is over its rate limit: retry the same batch. ' +
        'On a cluster gateway, 200 means the event stream (JetStream) holds the batch; 503 CB_STREAM_UNAVAILABLE with Retry-After when it did not acknowledge in time.',
      security: [{ bearerAuth: [] }],
      body: eventBatchSchema,
      response: { 200: appendResultSchema, '4xx': errorSchema, '5xx': errorSchema },
    },
  }, async (req, reply) => {
    const events = pipeline.prepare(req.principal!, (req.body as { events: EventInput[] }).events);
    try {
      const r = await pipeline.ingest(events, 'http');
      return { accepted: r.accepted.length, duplicates: r.duplicates.length };
    } catch (e) {
      if (e instanceof EventConflictError) throw new HttpError('CB_ID_CONFLICT', `${e.message}; nothing of this batch was stored`);
      if (e instanceof StreamUnavailableError) {
        reasons.set(req, 'stream_unavailable');
        reply.header('retry-after', String(e.retryAfterSeconds));
        throw new HttpError('CB_STREAM_UNAVAILABLE', `${e.message}; not acknowledged: retry the same batch`);
      }
      if (!(e instanceof BackpressureError)) throw e;
      reasons.set(req, 'backpressure');
      reply.header('retry-after', String(e.retryAfterSeconds));
      throw new HttpError('CB_BACKPRESSURE', `${e.message}; nothing of this batch was stored`);
    }
  });
};
