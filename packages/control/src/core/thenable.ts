/**
 * Whether a controller's answer is a promise or any other thenable. Never
 * throws: a controller may answer anything, even an object whose `then`
 * getter throws.
 */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  if ((typeof x !== 'object' && typeof x !== 'function') || x === null) return false;
  try {
    return typeof (x as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}
