/** JSON bytes from a transport (HTTP body, MQTT payload). `unstorable` lives with the event model, in @citybrain/brain. */

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
