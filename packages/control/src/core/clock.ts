/** Timers exist in every JS runtime but not in the ES library types this pure package compiles against. */
export const timers = globalThis as unknown as { setTimeout(f: () => void, ms: number): unknown; clearTimeout(h: unknown): void };

/** `performance` exists in Node, workers and browsers; looked up once (the supervisor reads the clock per intersection and step). */
const perf = (globalThis as unknown as { performance: { now(): number } }).performance;

/** Wall-clock milliseconds. */
export function now(): number {
  return perf.now();
}
