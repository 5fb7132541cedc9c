/** Timers exist in every JS runtime but not in the ES library types this pure package compiles against. */
export const timers = globalThis as unknown as { setTimeout(f: () => void, ms: number): unknown; clearTimeout(h: unknown): void };

/** Wall-clock milliseconds; `performance` exists in Node, workers and browsers. */
export function now(): number {
  return (globalThis as unknown as { performance: { now(): number } }).performance.now();
}
