import type { FastifyBaseLogger } from 'fastify';
import type { Event, LaneEvent } from '@citybrain/brain';
import { MAX_QUERY_LIMIT, type EventKey, type EventStore } from './store/store.js';

/** Keep a day of events by default: the default 4x4 city then holds about 0.2 GB (README, "Storage"). */
export const DEFAULT_RETENTION_MS = 86_400_000;
/** By default lane reports older than an hour are merged into one per lane per 5 minutes. */
export const DEFAULT_DOWNSAMPLE: DownsampleOptions = { afterMs: 3_600_000, bucketMs: 300_000 };

export interface DownsampleOptions {
  /** lane reports observed (ts) longer ago than this are merged */
  afterMs: number;
  /** into one report per lane per this many ms (aligned to the epoch) */
  bucketMs: number;
}

export interface RetentionOptions {
  /** keep events whose observation time (ts) is newer than this many ms; Infinity keeps them forever */
  retentionMs: number;
  /** merge old lane reports; default none */
  downsample?: DownsampleOptions;
  /** how often to purge; default min(5 minutes, retention / 10) */
  intervalMs?: number;
  /** the present, epoch ms, the ages count from; default Date.now (the server: the later of it and the virtual city's clock) */
  now?: () => number;
  logger?: FastifyBaseLogger;
}

/**
 * Purges events older than the retention period, and merges old lane reports
 * (downsampling), now and then at an interval. The audit log is kept. A
 * retried event older than the retention period (or than the downsampling
 * age, for a lane report) is stored again: the idempotency window is that age.
 */
export function startRetention(store: EventStore, opts: RetentionOptions): { stop(): void; runOnce(): Promise<number> } {
  if (!(opts.retentionMs > 0)) throw new RangeError(`retention must be a positive number of ms, got ${opts.retentionMs}`);
  const ds = opts.downsample;
  if (ds && !(ds.afterMs > 0 && ds.bucketMs > 0 && Number.isFinite(ds.afterMs) && Number.isFinite(ds.bucketMs))) {
    throw new RangeError(`downsampling needs positive afterMs and bucketMs, got ${ds.afterMs} and ${ds.bucketMs}`);
  }
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? Math.max(1000, Math.min(300_000, opts.retentionMs / 10));
  let running: Promise<number> | undefined;
  /** purges, then downsamples; resolves to the events purged */
  const runOnce = (): Promise<number> => {
    running ??= (async () => {
      const t = now();
      const purged = Number.isFinite(opts.retentionMs) ? await store.purgeOlderThan(t - opts.retentionMs) : 0;
      const merged = ds ? await downsampleLaneReports(store, t - ds.afterMs, ds.bucketMs) : 0;
      if (purged > 0 || merged > 0) opts.logger?.info({ purged, laneReportsMerged: merged, retentionMs: opts.retentionMs }, 'retention');
      return purged;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () => runOnce().catch((e: unknown) => opts.logger?.error({ err: e }, 'retention failed'));
  void tick();
  const timer = setInterval(tick, interval);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}

/** State row: up to which epoch ms lane reports are downsampled (a bucket boundary). */
export const DOWNSAMPLED_UNTIL = 'retention:lane-downsampled-until';

/**
 * Merges the lane reports observed before `before` into one per device, lane
 * and `bucketMs` bucket (see mergeLaneReports), chunk by chunk, each chunk in
 * one transaction with the progress mark. Returns how many reports went.
 */
export async function downsampleLaneReports(store: EventStore, before: number, bucketMs: number, chunkSize = MAX_QUERY_LIMIT): Promise<number> {
  // the ts at which bucket b's reports start (see bucketOf)
  const firstTs = (b: number) => b * bucketMs + 1;
  // buckets that ended by `before`
  const to = firstTs(Math.floor(before / bucketMs));
  let from = ((await store.readState(DOWNSAMPLED_UNTIL)).get(DOWNSAMPLED_UNTIL) as number | undefined) ?? 0;
  if (!(chunkSize >= 1 && chunkSize <= MAX_QUERY_LIMIT)) throw new RangeError(`downsampling: chunk size must be 1 to ${MAX_QUERY_LIMIT}, got ${chunkSize}`);
  let removedTotal = 0;
  while (from < to) {
    const chunk = (await store.query({ kind: 'lane', from, to, limit: chunkSize, order: 'asc' })) as (LaneEvent & { receivedAt: number })[];
    // a full chunk may end inside a bucket: that bucket is merged as far as it goes, and taken again from its start next time
    const full = chunk.length === chunkSize;
    const until = full ? firstTs(bucketOf(chunk[chunk.length - 1].ts, bucketMs)) : to;
    const { removed, added } = mergeLaneReports(chunk.map(({ receivedAt: _, ...e }) => e as LaneEvent), bucketMs);
    if (full && until === from && removed.length === 0) {
      throw new Error(`downsampling: over ${chunkSize} lane reports in one ${bucketMs} ms bucket from ${from} cannot be merged further`);
    }
    await store.replaceEvents(removed, added, { [DOWNSAMPLED_UNTIL]: until });
    removedTotal += removed.length - added.length;
    from = until;
  }
  return removedTotal;
}

/**
 * Lane reports merged per device, lane and bucket (by ts) into one report that
 * covers them all: counts summed, the interval spanning them, occupancy and
 * speed averaged over time, vehicles and queue as the last one saw them (the
 * end of the interval). A merged report merges again with later ones of its bucket.
 */
export function mergeLaneReports(events: readonly LaneEvent[], bucketMs: number): { removed: EventKey[]; added: Event[] } {
  const groups = new Map<string, LaneEvent[]>();
  for (const e of events) {
    const k = `${e.device}\u0000${e.lane}\u0000${bucketOf(e.ts, bucketMs)}`;
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(e);
  }
  const removed: EventKey[] = [];
  const added: Event[] = [];
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    g.sort((a, b) => a.ts - b.ts);
    const first = g[0];
    const last = g[g.length - 1];
    const start = Math.min(...g.map((e) => e.ts - e.interval * 1000));
    let seconds = 0, occupancy = 0, speed = 0, moving = 0, count = 0;
    for (const e of g) {
      seconds += e.interval;
      occupancy += e.occupancy * e.interval;
      count += e.count;
      if (e.speed > 0) {
        speed += e.speed * e.interval;
        moving += e.interval;
      }
      removed.push({ device: e.device, id: e.id });
    }
    const merged: LaneEvent = {
      kind: 'lane', id: `ds:${bucketOf(first.ts, bucketMs) * bucketMs}:${first.lane}`, device: first.device, ts: last.ts, intersection: first.intersection, lane: first.lane,
      count, occupancy: round(occupancy / seconds, 3), speed: moving ? round(speed / moving, 3) : 0, interval: (last.ts - start) / 1000,
    };
    if (last.vehicles !== undefined) merged.vehicles = last.vehicles;
    if (last.queue !== undefined) merged.queue = last.queue;
    added.push(merged);
  }
  return { removed, added };
}

/** A report's ts is the end of its interval: the one ending on a boundary belongs to the bucket it covers, (b·bucket, (b+1)·bucket]. */
function bucketOf(ts: number, bucketMs: number): number {
  return Math.floor((ts - 1) / bucketMs);
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Parses a retention like "30d", "12h", "90m", "3600s" or plain days ("30") into ms; "forever" is Infinity. */
export function parseRetention(s: string): number {
  return parseDuration(s, 'retention');
}

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/**
 * A duration as options give it: a positive number with a unit d, h, m or s
 * (no unit: days), or forever (Infinity). `what` names it in the error.
 */
export function parseDuration(s: string, what: string): number {
  if (s.trim() === 'forever') return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*(d|h|m|s)?$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new RangeError(`${what} "${s}" must be a positive number with a unit d, h, m or s (e.g. 30d), or forever`);
  return Number(m[1]) * UNIT_MS[(m[2] ?? 'd') as keyof typeof UNIT_MS];
}

/** A duration in the largest unit that divides it (1d, 12h, 5m, 30s), or forever. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  for (const [unit, n] of [['d', UNIT_MS.d], ['h', UNIT_MS.h], ['m', UNIT_MS.m]] as const) if (ms % n === 0) return `${ms / n}${unit}`;
  return `${ms / 1000}s`;
}

// ---- the plate watchlist's reads

/** Reads that matched no list nor the register are kept this long by default (an hour); the others as long as events. */
export const DEFAULT_UNMATCHED_READ_RETENTION_MS = 3_600_000;

/**
 * Purges the watchlist's stored reads now and then: those that matched the
 * register or a list after `matchedMs`, the others (nobody's business) after
 * the shorter `unmatchedMs`. Alerts are kept.
 */
export function startReadRetention(
  store: { purgeReads(matchedBefore: number, unmatchedBefore: number): Promise<number> },
  opts: { matchedMs: number; unmatchedMs: number; now?: () => number; intervalMs?: number; logger?: FastifyBaseLogger },
): { stop(): void; runOnce(): Promise<number> } {
  if (!(opts.unmatchedMs > 0) || !(opts.matchedMs > 0)) throw new RangeError(`read retention must be positive ms, got ${opts.matchedMs} and ${opts.unmatchedMs}`);
  const now = opts.now ?? Date.now;
  const runOnce = async () => {
    const t = now();
    const n = await store.purgeReads(Number.isFinite(opts.matchedMs) ? t - opts.matchedMs : Number.MIN_SAFE_INTEGER, t - opts.unmatchedMs);
    if (n > 0) opts.logger?.info({ purged: n, unmatchedMs: opts.unmatchedMs }, 'watchlist read retention');
    return n;
  };
  const timer = setInterval(() => void runOnce().catch((e: unknown) => opts.logger?.error({ err: e }, 'watchlist read retention failed')), opts.intervalMs ?? Math.max(1000, Math.min(300_000, opts.unmatchedMs / 10)));
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
