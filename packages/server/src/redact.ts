/**
 * Secrets out of printed text: the one redaction every log line, error
 * message and printed URL goes through.
 */

const MASK = '***';

// the password of a URL's user:password@ (a password may hold an unencoded '@': the last one ends it)
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"'\\]+):[^/?#\s"'\\]*@/gi;
// query parameters that carry credentials: ?token=, &ticket=, ?access_token=
const SECRET_PARAM = /([?&](?:token|ticket|access_token)=)[^&#\s"'\\]*/gi;
// "Authorization: Bearer <token>" in any spelling, and a CityBrain token wherever it appears
const BEARER = /(\bBearer\s+)[^\s"'\\,]+/gi;
const CB_TOKEN = /\bcbt_[A-Za-z0-9_-]{8,}/g;
// a logged header object: "authorization": "...", "cookie": "..." (JSON text, as in a log line)
const SECRET_HEADER = /("(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)"\s*:\s*")(?:[^"\\]|\\.)*"/gi;

/**
 * The text with every secret it may carry masked: a URL's password
 * (`mqtt://user:***@host`), `token`, `ticket` and `access_token` query
 * parameters, bearer credentials, `cbt_` tokens and the values of
 * authorization and cookie headers written as JSON.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_PASSWORD, `$1:${MASK}@`)
    .replace(SECRET_PARAM, `$1${MASK}`)
    .replace(SECRET_HEADER, `$1${MASK}"`)
    .replace(BEARER, `$1${MASK}`)
    .replace(CB_TOKEN, `cbt_${MASK}`);
}

/** Where log lines go: a stream's write, as pino calls it. */
export interface LogDestination {
  write(line: string): unknown;
}

/** A log destination that writes each line to `dest` (default stdout) with its secrets masked. */
export function redactingDestination(dest: LogDestination = process.stdout): LogDestination {
  return { write: (line: string) => dest.write(redactSecrets(line)) };
}
