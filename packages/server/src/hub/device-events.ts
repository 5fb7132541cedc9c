/**
 * The server's device events published into the hub: one dataset per kind
 * (brain/src/hub/device-events.ts), one batch per closed UTC day, read from
 * the event store page by page and written as Parquet by the hub. A day is
 * published once: its batch is named `device-events:YYYY-MM-DD` in the
 * dataset's record (the store's state row), so a restart, a second timer or
 * a second call finds it and skips it; a publication that fails leaves
 * nothing (the hub's all-or-nothing batch) and is tried again next time.
 * Every batch is audited as a load by the system ('citybrain server').
 */
import {
  DEVICE_EVENT_DATASETS, DEVICE_EVENT_KINDS, deviceEventRow, deviceEventsDataset, LANE_HOURLY_DATASET, LANE_HOURLY_SQL, OPERATIONS_DEPARTMENT, type DeviceEventKind, type Event, type HubValue,
} from '@citybrain/brain';
import type { EventStore } from '../store/store.js';
import type { Hub, HubActor } from './hub.js';

const DAY = 86_400_000;
const PAGE = 10_000;
const SOURCE = 'device-events:';

/** The server writing its own device events: an operator of the operations department for the access rules, 'system' in the audit log. */
export const DEVICE_EVENTS_WRITER: HubActor = { actor: 'citybrain server', role: 'operator', department: OPERATIONS_DEPARTMENT.id, auditRole: 'system' };

export interface DeviceEventPublisherOptions {
  /** how often to look for closed days, ms; default 10 minutes */
  everyMs?: number;
  /** how long after a UTC day ends it is published (events of its last minutes may still be arriving), ms; default 15 minutes */
  graceMs?: number;
  now?: () => number;
}

export interface PublishedDay {
  kind: DeviceEventKind | 'lane-hourly';
  /** YYYY-MM-DD (UTC) */
  day: string;
  rows: number;
}

const dayName = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class DeviceEventPublisher {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<PublishedDay[]> | undefined;
  private readonly now: () => number;
  private readonly graceMs: number;

  constructor(private readonly hub: Hub, private readonly store: EventStore, private readonly plateHash: (plate: string) => string, private readonly opts: DeviceEventPublisherOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.graceMs = opts.graceMs ?? 15 * 60_000;
  }

  /** The operations department and the five datasets, registered (audited, by the system) when absent. */
  async ensureDatasets(): Promise<void> {
    const sys: HubActor = { actor: DEVICE_EVENTS_WRITER.actor, role: 'operator', auditRole: 'system' };
    if (!this.hub.departments.has(OPERATIONS_DEPARTMENT.id)) await this.hub.registerDepartment(sys, { ...OPERATIONS_DEPARTMENT });
    for (const kind of DEVICE_EVENT_KINDS) {
      const spec = DEVICE_EVENT_DATASETS[kind];
      if (!this.hub.datasets.has(spec.id)) await this.hub.registerDataset(sys, spec);
    }
    if (!this.hub.datasets.has(LANE_HOURLY_DATASET.id)) await this.hub.registerDerived(sys, LANE_HOURLY_DATASET, { inputs: [deviceEventsDataset('lane')], sql: LANE_HOURLY_SQL });
  }

  /** The hourly rollup of every lane partition that has none yet (each day once, like the partitions). */
  private async rollUp(done: PublishedDay[]): Promise<void> {
    const lane = this.hub.datasets.get(deviceEventsDataset('lane'));
    const hourly = this.hub.datasets.get(LANE_HOURLY_DATASET.id);
    if (!lane || !hourly) return;
    const have = new Set(hourly.batches.map((b) => b.source));
    for (const b of lane.batches) {
      if (!b.source.startsWith(SOURCE) || have.has(b.source)) continue;
      const out = await this.hub.deriveBatch(DEVICE_EVENTS_WRITER, LANE_HOURLY_DATASET.id, lane.id, b, LANE_HOURLY_SQL, b.source);
      done.push({ kind: 'lane-hourly', day: b.source.slice(SOURCE.length), rows: out.rows });
    }
  }

  /** Looks for closed days every `everyMs` (and once now); errors are reported to `onError` and tried again next time. */
  start(onError: (e: unknown) => void = () => {}): void {
    const run = () => void this.publish().catch(onError);
    run();
    this.timer = setInterval(run, this.opts.everyMs ?? 10 * 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** Publishes every closed day not yet in the hub, each kind's days oldest first; one run at a time (a second call waits for the first and finds nothing more). */
  publish(): Promise<PublishedDay[]> {
    const prev = this.running ?? Promise.resolve([]);
    const run = prev.catch(() => []).then(() => this.publishOnce());
    this.running = run;
    return run;
  }

  private async publishOnce(): Promise<PublishedDay[]> {
    // days before this one are closed: it ended at least graceMs ago
    const open = Math.floor((this.now() - this.graceMs) / DAY) * DAY;
    const done: PublishedDay[] = [];
    for (const kind of DEVICE_EVENT_KINDS) {
      const id = deviceEventsDataset(kind);
      const first = (await this.store.query({ kind, order: 'asc', limit: 1, to: open }))[0];
      if (!first) continue;
      // registered when there is something to publish (a server that never stored a device event has no such datasets)
      await this.ensureDatasets();
      const published = new Set(this.hub.datasets.get(id)!.batches.filter((b) => b.source.startsWith(SOURCE)).map((b) => b.source.slice(SOURCE.length)));
      // from the day after the last published one (or the first event's day): days before it are in the hub or had no events
      const last = [...published].sort().pop();
      let day = last ? Date.parse(`${last}T00:00:00Z`) + DAY : Math.floor(first.ts / DAY) * DAY;
      day = Math.max(day, Math.floor(first.ts / DAY) * DAY);
      for (; day < open; day += DAY) {
        if (published.has(dayName(day))) continue;
        if ((await this.store.count({ kind, from: day, to: day + DAY })) === 0) continue;
        const batch = await this.hub.writeBatch(DEVICE_EVENTS_WRITER, id, SOURCE + dayName(day), (push) => this.readDay(kind, day, push));
        done.push({ kind, day: dayName(day), rows: batch.rows });
      }
    }
    await this.rollUp(done);
    return done;
  }

  /** A day's events of one kind, page by page, as rows of its dataset. */
  private async readDay(kind: DeviceEventKind, day: number, push: (rows: HubValue[][]) => void): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.store.queryPage({ kind, from: day, to: day + DAY, order: 'asc', limit: PAGE, after });
      push((JSON.parse(page.json) as Event[]).map((e) => deviceEventRow(e, this.plateHash)));
      if (!page.next) return;
      after = page.next;
    }
  }
}
