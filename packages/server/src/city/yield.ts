// Letting the event loop in (I/O, timers, messages) between slices of work, in
// Node, a worker and the browser alike: setImmediate where the host has it
// (Node), otherwise a zero timer (browsers have no setImmediate/clearImmediate).

/** Runs `fn` after pending I/O; returns a function that cancels it. */
export function soon(fn: () => void): () => void {
  if (typeof globalThis.setImmediate === 'function') {
    const h = globalThis.setImmediate(fn);
    return () => globalThis.clearImmediate(h);
  }
  const h = setTimeout(fn, 0);
  return () => clearTimeout(h);
}

/** Resolves after pending I/O. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => void soon(resolve));
}
