/** Checks on client-supplied strings that every store backend must be able to keep. */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string cannot be stored as text by every backend (PostgreSQL refuses
 * NUL in text and jsonb, and unpaired surrogates in jsonb), or undefined.
 */
export function unstorable(v: string): string | undefined {
  if (v.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  const m = LONE_SURROGATE.exec(v);
  if (m) return `must be valid Unicode: it has an unpaired surrogate (\\u${m[0].charCodeAt(0).toString(16)})`;
  return undefined;
}

/**
 * Strict UTF-8, JSON's encoding: throws on bytes that are not UTF-8 instead of
 * replacing them with U+FFFD. A byte order mark is kept, so JSON.parse refuses it as before.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * JSON sent as bytes (an HTTP body, an MQTT payload): its value, or why it is
 * refused, to follow "request body is" / "payload is".
 */
export function parseJsonBytes(bytes: Uint8Array): { value: unknown } | { error: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { error: 'not valid UTF-8; send JSON encoded as UTF-8' };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: `not valid JSON: ${(e as Error).message}` };
  }
}
