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
