import type { FastifyBaseLogger } from 'fastify';
import type { EventStore } from './store/store.js';

export interface RetentionOptions {
  /** keep events whose observation time (ts) is newer than this many ms */
  retentionMs: number;
  /** how often to purge; default min(1 hour, retention / 10) */
  intervalMs?: number;
  logger?: FastifyBaseLogger;
}

/**
 * Purges events older than the retention period now and then at an interval.
 * The audit log is kept. A retried event older than the retention period is
 * stored again (the idempotency window is the retention period).
 */
export function startRetention(store: EventStore, opts: RetentionOptions): { stop(): void; runOnce(): Promise<number> } {
  if (!Number.isFinite(opts.retentionMs) || opts.retentionMs <= 0) throw new RangeError(`retention must be a positive number of ms, got ${opts.retentionMs}`);
  const interval = opts.intervalMs ?? Math.max(1000, Math.min(3_600_000, opts.retentionMs / 10));
  let running: Promise<number> | undefined;
  const runOnce = (): Promise<number> => {
    running ??= store.purgeOlderThan(Date.now() - opts.retentionMs).then((n) => {
      if (n > 0) opts.logger?.info({ purged: n, retentionMs: opts.retentionMs }, 'retention purge');
      return n;
    }).finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () => runOnce().catch((e: unknown) => opts.logger?.error({ err: e }, 'retention purge failed'));
  void tick();
  const timer = setInterval(tick, interval);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}

/** Parses a retention like "30d", "12h", "90m", "3600s" or plain days ("30") into ms. */
export function parseRetention(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new RangeError(`retention "${s}" must be a positive number with a unit d, h, m or s (e.g. 30d)`);
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[(m[2] ?? 'd') as 'd' | 'h' | 'm' | 's'];
}
