// What the dashboard says of a failed call: a sentence in the reader's
// language for the server's error `code` (packages/server/src/errors.ts), with
// the server's own English message kept beside it as the detail (it names the
// field, id or value at fault; people quote it to support). Pure: the panels
// pass their `t`.
import { ApiError } from './api.js';
import type { MessageKey } from './i18n.js';

type T = (key: MessageKey, params?: Record<string, string | number>) => string;

/** The codes the dashboard has a sentence for: the server's catalogue (ERRORS and FASTIFY_ERRORS; a unit test holds them equal). */
export const TRANSLATED_CODES = [
  'CB_INVALID_REQUEST', 'CB_INVALID_JSON', 'CB_EMPTY_BODY', 'CB_INVALID_EVENT', 'CB_CLOCK_SKEW', 'CB_UNAUTHENTICATED',
  'CB_FORBIDDEN', 'CB_OUT_OF_SCOPE', 'CB_NOT_FOUND', 'CB_CONFLICT', 'CB_ID_CONFLICT', 'CB_LAST_OPERATOR',
  'CB_UNSUPPORTED_ENCODING', 'CB_RATE_LIMITED', 'CB_BACKPRESSURE', 'CB_COMPARE_QUOTA', 'CB_COMPARE_BUSY', 'CB_ERROR',
  'CB_STORE_UNAVAILABLE', 'CB_STREAM_UNAVAILABLE', 'FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_ERR_CTP_BODY_TOO_LARGE',
  'FST_ERR_CTP_INVALID_MEDIA_TYPE',
  'CB_BAY_TAKEN', 'CB_IDEMPOTENCY_CONFLICT', 'CB_PAYMENT_DECLINED',
  'CB_INVALID_DATA', 'CB_UNSUPPORTED_FORMAT', 'CB_UPLOAD_TOO_LARGE', 'CB_QUERY_LIMIT',
] as const;
export type TranslatedCode = (typeof TRANSLATED_CODES)[number];

/**
 * A failed call as the dashboard keeps it (language-free: the sentence is
 * made when shown, so it follows a change of language).
 * - `server`: the server (or the in-browser city) answered with an error
 * - `unreachable`: no answer (network down, server stopped)
 * - `page`: something failed in the dashboard itself
 */
export type ErrorInfo =
  | { kind: 'server'; status: number; code: string; detail: string }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'page'; detail: string };

/** A response's code when it carries none (a proxy's, Fastify's while shutting down, the in-browser city's): the catalogue's code for its status. */
const BY_STATUS: Record<number, TranslatedCode> = {
  400: 'CB_INVALID_REQUEST', 401: 'CB_UNAUTHENTICATED', 403: 'CB_FORBIDDEN', 404: 'CB_NOT_FOUND', 409: 'CB_CONFLICT',
  413: 'FST_ERR_CTP_BODY_TOO_LARGE', 415: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 422: 'CB_QUERY_LIMIT', 429: 'CB_RATE_LIMITED',
};

export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof ApiError) {
    if (e.status === 0) return { kind: 'unreachable', detail: e.message };
    return { kind: 'server', status: e.status, code: e.code ?? BY_STATUS[e.status] ?? (e.status >= 500 ? 'CB_ERROR' : `CB_HTTP_${e.status}`), detail: e.message };
  }
  return { kind: 'page', detail: e instanceof Error ? e.message : String(e) };
}

function isTranslated(code: string): code is TranslatedCode {
  return (TRANSLATED_CODES as readonly string[]).includes(code);
}

/** The sentence for an error in the reader's language (without the detail). */
export function errorSentence(info: ErrorInfo, t: T): string {
  if (info.kind === 'unreachable') return t('err_UNREACHABLE');
  if (info.kind === 'page') return t('err_PAGE');
  if (isTranslated(info.code)) return t(`err_${info.code}`);
  // a code this dashboard does not know yet (a newer server): by its status
  return t(info.status >= 500 ? 'err_CB_ERROR' : 'err_REFUSED', { status: info.status });
}
