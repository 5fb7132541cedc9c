/**
 * Datasets that feed the brain: the hub's datasets marked as a feed
 * (roadworks, events, weather: brain/src/twin/conditions.ts) are read as
 * their rows arrive and applied to the brain's twin, the conditions of the
 * city's present (its clock: an accelerated city runs ahead of the wall
 * clock) recomputed every second and handed to the twin when they change.
 */
import { compileFeed, conditionsAt, type BrainTwin, type CompiledFeed, type TwinConditions } from '@citybrain/brain';
import type { FastifyBaseLogger } from 'fastify';
import type { Hub, HubActor } from './hub.js';

/** Who reads the feeds in the audit log. */
export const FEED_READER: HubActor = { actor: 'citybrain brain (dataset feeds)', role: 'system' };

export interface FeedStatus {
  dataset: string;
  kind: string;
  rows: number;
  /** rows the network cannot use, by row */
  problems: string[];
}

export class TwinFeeds {
  private readonly compiled = new Map<string, CompiledFeed>();
  private readonly status = new Map<string, FeedStatus>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = '';
  private reading: Promise<unknown> = Promise.resolve();

  constructor(private readonly hub: Hub, private readonly twin: BrainTwin, private readonly now: () => number, private readonly log?: FastifyBaseLogger) {}

  /** Reads every feed, applies the conditions now, then follows new batches and feed marks, and the clock. */
  async start(everyMs = 1000): Promise<void> {
    for (const d of this.hub.datasets.values()) if (d.feed) await this.reload(d.id);
    this.apply();
    this.hub.onBatch((id) => {
      if (this.hub.datasets.get(id)?.feed) void this.refresh(id);
    });
    this.timer = setInterval(() => this.apply(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A dataset's feed mark or rows changed: read it again (or drop it) and apply. Settles when applied. */
  refresh(id: string): Promise<void> {
    const run = this.reading.then(async () => {
      await this.reload(id);
      this.apply();
    });
    this.reading = run.catch((e: unknown) => this.log?.error({ err: e, dataset: id }, 'feed not read'));
    return run;
  }

  /** The feeds and what each could not use. */
  feeds(): FeedStatus[] {
    return [...this.status.values()];
  }

  /** What the twin is doing now because of the feeds. */
  conditions(): TwinConditions | undefined {
    return this.twin.currentConditions;
  }

  /** Lane indices as the network's lane ids. */
  laneIds(lanes: readonly number[]): string[] {
    return lanes.map((l) => this.twin.net.drivableId(l));
  }

  private async reload(id: string): Promise<void> {
    const d = this.hub.datasets.get(id);
    if (!d?.feed) {
      this.compiled.delete(id);
      this.status.delete(id);
      return;
    }
    const rows = await this.hub.readRows(FEED_READER, id);
    const f = compileFeed(d.feed, rows, this.twin.net, this.twin.entryLane);
    this.compiled.set(id, f);
    this.status.set(id, { dataset: id, kind: d.feed, rows: rows.length, problems: f.problems });
    if (f.problems.length > 0) this.log?.warn({ dataset: id, problems: f.problems.slice(0, 20) }, `feed ${id}: ${f.problems.length} rows not used`);
  }

  /** The conditions at the city's present, handed to the twin when they differ from the last. */
  apply(): void {
    const c = conditionsAt(this.compiled, this.now());
    const key = JSON.stringify([c.closedLanes, [...c.extraEntry], c.speedFactor, c.headwayFactor]);
    if (key === this.last) return;
    this.last = key;
    this.twin.setConditions(c.closedLanes.length === 0 && c.extraEntry.size === 0 && c.speedFactor === 1 && c.headwayFactor === 1 ? undefined : c);
    this.log?.info({ closedLanes: c.closedLanes.map((l) => this.twin.net.drivableId(l)), extraEntryLanes: c.extraEntry.size, speedFactor: c.speedFactor, headwayFactor: c.headwayFactor }, 'the feeds\' conditions applied to the twin');
  }
}
