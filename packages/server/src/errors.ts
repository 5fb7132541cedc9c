/**
 * The error catalogue: every code an error response can carry, its HTTP
 * status and when it is answered (as Fastify's lib/errors.js is Fastify's).
 * Routes, hooks and the ingestion pipeline throw `new HttpError(code,
 * message)`; the status comes from here, so a code cannot be sent with
 * another status. Every error body has the shape `errorSchema`:
 * `{statusCode, code, error, message}`, the message naming the field, id or
 * value at fault. ERRORS.md is this table as users read it; a test keeps the
 * two equal.
 */
import { STATUS_CODES } from 'node:http';

interface ErrorSpec {
  status: number;
  /** when a client gets it, for ERRORS.md */
  when: string;
}

export const ERRORS = {
  CB_INVALID_REQUEST: { status: 400, when: 'a body field, query or path parameter is invalid (the message names it, e.g. `body.controller: ...`), or names something the city does not have (a controller, a road, a route)' },
  CB_INVALID_JSON: { status: 400, when: 'an ingestion body is not valid JSON (the message says where)' },
  CB_EMPTY_BODY: { status: 400, when: 'an ingestion body is empty' },
  CB_INVALID_EVENT: { status: 400, when: 'an event is invalid beyond its schema (an impossible value, a lane not on a road into its intersection, an id given twice in a batch with other fields, a plate starting with `#`, which the log keeps for keyed hashes)' },
  CB_CLOCK_SKEW: { status: 400, when: 'an event\'s `ts` is too far ahead of or behind the server clock' },
  CB_UNAUTHENTICATED: { status: 401, when: 'no, malformed, unknown or revoked token (or stream ticket)' },
  CB_FORBIDDEN: { status: 403, when: 'the token\'s role may not do this, or an app acts on another\'s comparison (the watchlist\'s routes: police and operators only), or a data hub caller lacks the dataset access it needs (its grants), or a hub query touches anything but the datasets it may read (files, other schemas, table functions, COPY, ATTACH, INSTALL, PRAGMA, SET)' },
  CB_OUT_OF_SCOPE: { status: 403, when: 'a device token publishes for another device, intersection, bay or vehicle, or reads another intersection\'s plan' },
  CB_NOT_FOUND: { status: 404, when: 'no such route, intersection, region, incident, emergency vehicle, comparison, replay or active token, data hub department, dataset or grant' },
  CB_CONFLICT: { status: 409, when: 'an emergency vehicle id, or a data hub department or dataset id, is taken' },
  CB_ID_CONFLICT: { status: 409, when: 'an event reuses the id of an event stored earlier with other fields; nothing of the batch is stored' },
  CB_LAST_OPERATOR: { status: 409, when: 'revoking the last active operator token' },
  CB_UNSUPPORTED_ENCODING: { status: 415, when: 'a compressed ingestion body (`Content-Encoding`)' },
  CB_RATE_LIMITED: { status: 429, when: 'the token is over its request rate (with `Retry-After`)' },
  CB_BACKPRESSURE: { status: 429, when: 'the ingestion queue is full (with `Retry-After`); retry the same batch' },
  CB_COMPARE_QUOTA: { status: 429, when: 'an app runs one comparison at a time and keeps a few' },
  CB_COMPARE_BUSY: { status: 429, when: 'as many comparisons as the server runs at once are running' },
  CB_ERROR: { status: 500, when: 'an unexpected error (logged; the message says only "internal server error")' },
  CB_BAY_TAKEN: { status: 409, when: 'a parking reservation\'s window overlaps another on the bay asked for (or on every bay of the site)' },
  CB_IDEMPOTENCY_CONFLICT: { status: 409, when: 'an `Idempotency-Key` is sent again with another request (a retry must resend the same request)' },
  CB_PAYMENT_DECLINED: { status: 402, when: 'the payment provider declined a parking payment (the reservation is cancelled; nothing was charged)' },
  CB_STORE_UNAVAILABLE: { status: 503, when: 'the store cannot be reached (with `Retry-After`); nothing was changed' },
  CB_INVALID_DATA: { status: 400, when: 'a data hub load or append has a row that does not fit the dataset\'s schema (the message names the line, or row, and the field); nothing of it is kept' },
  CB_UNSUPPORTED_FORMAT: { status: 415, when: 'a data hub load that is not CSV (`text/csv`), JSON Lines (`application/x-ndjson`) or Parquet (`application/vnd.apache.parquet`), by `?format=` or `Content-Type`' },
  CB_UPLOAD_TOO_LARGE: { status: 413, when: 'a data hub load larger than the server\'s upload limit; nothing of it is kept' },
  CB_QUERY_LIMIT: { status: 422, when: 'a data hub query ran past the query time limit and was interrupted' },
  CB_STREAM_UNAVAILABLE: { status: 503, when: 'a cluster gateway\'s event stream (NATS JetStream) did not acknowledge the batch in time (with `Retry-After`); nothing is acknowledged: retry the same batch (its message ids make a retry harmless)' },
} as const satisfies Record<`CB_${string}`, ErrorSpec>;

/**
 * Fastify's own codes for request-level problems caught before a route runs,
 * passed through under their names (the app's error handler rewrites their
 * messages). Other 4xx Fastify codes pass through likewise.
 */
export const FASTIFY_ERRORS = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, when: 'a JSON body (outside ingestion) does not parse' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, when: 'a JSON body (outside ingestion) is empty' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, when: 'a body over the limit (ingestion: 1 MiB by default)' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, when: 'a body that is not `application/json`' },
} as const satisfies Record<`FST_${string}`, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The body of every error response (and of every 4xx/5xx in the OpenAPI document). */
export const errorSchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, code: { type: 'string' }, error: { type: 'string' }, message: { type: 'string' } },
} as const;

export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

/** An error with a catalogue code; the app's error handler answers it as is. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly statusCode: number;
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.statusCode = ERRORS[code].status;
  }
}

/** The status and code an error is answered with: the catalogue's for its code, else by its status. */
export function classify(err: { statusCode?: number; code?: string }): { status: number; code: string } {
  const code = err.code;
  if (code !== undefined && Object.hasOwn(ERRORS, code)) return { status: ERRORS[code as ErrorCode].status, code };
  if (code !== undefined && Object.hasOwn(FASTIFY_ERRORS, code)) return { status: FASTIFY_ERRORS[code as keyof typeof FASTIFY_ERRORS].status, code };
  const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  // an unexpected error's own code (ECONNRESET, SQLITE_…) says nothing a client can act on
  return status >= 500 ? { status, code: 'CB_ERROR' } : { status, code: code ?? `CB_HTTP_${status}` };
}

export function errorBody(status: number, code: string, message: string): ErrorBody {
  return { statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message };
}

/** The catalogue as the Markdown table of ERRORS.md. */
export function errorTable(): string {
  const row = (code: string, s: ErrorSpec) => `| ${code} | ${s.status} | ${s.when} |`;
  return [
    '| code | status | when |',
    '|---|---|---|',
    ...Object.entries(ERRORS).map(([c, s]) => row(c, s)),
    ...Object.entries(FASTIFY_ERRORS).map(([c, s]) => row(c, s)),
  ].join('\n');
}
