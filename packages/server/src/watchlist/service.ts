import type { FastifyBaseLogger } from 'fastify';
import type { Network } from '@citybrain/engine';
import {
  parsePlate, parseRegisterCsv, PlateWatchlist, type Event, type ListKind, type PlateKeyer, type TaxiOptions, type VehicleUse, type WatchlistAlert, type WatchlistOptions,
} from '@citybrain/brain';
import type { StoredAlert, StoredEntry, StoredRead, WatchlistStore } from '../store/watchlist-store.js';

export type WatchlistSettings = Pick<WatchlistOptions, 'maxConfusions' | 'minConfidence' | 'maxSpeedKmh' | 'minCloneMetres' | 'repeatSeconds' | 'confusions'> & { taxi?: TaxiOptions };

export interface WatchlistServiceOptions extends WatchlistSettings {
  store: WatchlistStore;
  keyer: PlateKeyer;
  /** the network the cameras' intersections are on */
  net: Network;
  log?: FastifyBaseLogger;
}

export type RegisterRows = { key: string; canonicalKey: string; use: VehicleUse }[];

/** How many alerts the live stream carries (the newest). */
const LIVE_ALERTS = 20;

/**
 * The watchlist on the server: the brain's rules (PlateWatchlist) over every
 * durable plate read, the register and lists kept in the watchlist store as
 * keyed hashes, each alert stored (with the clear plate: the one place it is
 * kept) and handed at once to the listeners (MQTT, the log, the live stream).
 */
export class WatchlistService {
  readonly matcher: PlateWatchlist;
  private readonly listeners = new Set<(a: StoredAlert) => void>();
  private readonly recentAlerts: StoredAlert[] = [];
  private queue: Promise<void> = Promise.resolve();

  private constructor(readonly store: WatchlistStore, private readonly log: FastifyBaseLogger | undefined, opts: WatchlistServiceOptions) {
    const net = opts.net;
    this.matcher = new PlateWatchlist({
      ...opts, keyer: opts.keyer,
      locate: (id) => {
        const i = net.interIndex.get(id);
        return i === undefined ? undefined : { x: net.interX[i], y: net.interY[i] };
      },
    });
  }

  static async start(opts: WatchlistServiceOptions): Promise<WatchlistService> {
    const s = new WatchlistService(opts.store, opts.log, opts);
    for (const r of await opts.store.loadRegister()) s.matcher.register.add(r.key, r.canonicalKey, r.use);
    for (const e of await opts.store.listEntries()) s.matcher.lists.add(e.key, e.canonicalKey, { list: e.list, entry: e.id, note: e.note });
    for (const a of (await opts.store.alerts({ limit: LIVE_ALERTS, status: 'all' })).reverse()) s.recentAlerts.push(a);
    return s;
  }

  /** Hears of each alert as it is raised (after it is stored); returns an unsubscribe function. */
  onAlert(fn: (a: StoredAlert) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Acknowledges an alert in the store and in the live stream's newest; returns it as stored (undefined: no such alert). */
  async acknowledge(id: string, by: string, ts: number): Promise<StoredAlert | undefined> {
    const a = await this.store.acknowledge(id, by, ts);
    const k = a ? this.recentAlerts.findIndex((x) => x.id === id) : -1;
    if (k >= 0) this.recentAlerts[k] = a!;
    return a;
  }

  /** The newest alerts, newest first (for the live stream). */
  recent(): StoredAlert[] {
    return [...this.recentAlerts].reverse();
  }

  /** Judges the plate reads among durable events; their reads and alerts are stored in arrival order. */
  ingest(events: readonly Event[]): void {
    const reads: StoredRead[] = [];
    const alerts: WatchlistAlert[] = [];
    for (const e of events) {
      if (e.kind !== 'plate') continue;
      const out = this.matcher.read({ plate: e.plate, camera: e.camera, intersection: e.intersection, ts: e.ts, confidence: e.confidence });
      if (out.key !== undefined) reads.push({ ts: e.ts, key: out.key, camera: e.camera, intersection: e.intersection, matched: out.matched });
      alerts.push(...out.alerts);
    }
    if (reads.length > 0 || alerts.length > 0) this.persist(reads, alerts);
  }

  /** Closes idle trips as of `now` (the taxi rule) and forgets plates unseen for the window. */
  flush(now: number): void {
    const alerts = this.matcher.flush(now);
    if (alerts.length > 0) this.persist([], alerts);
  }

  /** Resolves once every read and alert handed in so far is stored. */
  settled(): Promise<void> {
    return this.queue;
  }

  private persist(reads: StoredRead[], alerts: WatchlistAlert[]): void {
    const stored = alerts.map((alert): StoredAlert => ({ id: `${alert.kind}:${alert.ts}:${alert.key.slice(0, 10)}`, kind: alert.kind, key: alert.key, ts: alert.ts, alert, acknowledged: null }));
    this.queue = this.queue.then(async () => {
      await this.store.appendReads(reads);
      if (stored.length === 0) return;
      await this.store.addAlerts(stored);
      for (const a of stored) {
        this.recentAlerts.push(a);
        if (this.recentAlerts.length > LIVE_ALERTS) this.recentAlerts.shift();
        for (const fn of this.listeners) fn(a);
      }
    }).catch((e: unknown) => this.log?.error({ err: e, reads: reads.length, alerts: stored.length }, 'watchlist reads or alerts not stored'));
  }

  /** The register's rows from CSV, keyed (parseRegisterCsv: a RangeError naming the line of the first fault); nothing changes yet. */
  parseRegister(csv: string): RegisterRows {
    return parseRegisterCsv(csv).map((r) => ({ ...this.matcher.keysOf(r.plate), use: r.use }));
  }

  /** Imports the register (CSV, or rows parseRegister made, so a route can audit before the change); returns the vehicles imported. */
  /**
   * A large register replacing the current one, written a slice at a time so that `stop` (the server closing) is
   * heard between slices; stopped, the part written is removed again (a half register would flag the rest) and
   * false is returned. The matcher takes it whole at the end.
   */
  async replaceRegisterInSlices(rows: RegisterRows, stop: () => boolean, slice = 20_000): Promise<boolean> {
    for (let i = 0; i < rows.length; i += slice) {
      if (stop()) {
        await this.store.putRegister([], true);
        return false;
      }
      await this.store.putRegister(rows.slice(i, i + slice), i === 0);
      // a macrotask between slices: SQLite's write is synchronous, and awaiting it yields to promises only, so
      // without this a signal, a request or a timer waits for the whole register
      await new Promise((r) => setImmediate(r));
    }
    this.matcher.register.clear();
    for (const r of rows) this.matcher.register.add(r.key, r.canonicalKey, r.use);
    return true;
  }

  async importRegister(csv: string | RegisterRows, replace: boolean): Promise<number> {
    const rows = typeof csv === 'string' ? this.parseRegister(csv) : csv;
    await this.store.putRegister(rows, replace);
    if (replace) this.matcher.register.clear();
    for (const r of rows) this.matcher.register.add(r.key, r.canonicalKey, r.use);
    return rows.length;
  }

  /** A plate's keys, or a RangeError saying why the text is no plate. */
  keysOf(text: string): { key: string; canonicalKey: string } {
    const p = parsePlate(text);
    if ('error' in p) throw new RangeError(p.error);
    return this.matcher.keysOf(p.plate);
  }

  async addEntry(list: ListKind, plate: string, note: string | undefined, by: string, at: number): Promise<StoredEntry> {
    const keys = this.keysOf(plate);
    const e: StoredEntry = { id: `${list}-${at.toString(36)}-${keys.key.slice(0, 6)}`, list, ...keys, ...(note ? { note } : {}), addedAt: at, addedBy: by };
    await this.store.putEntry(e);
    this.matcher.lists.add(e.key, e.canonicalKey, { list, entry: e.id, note });
    return e;
  }

  async removeEntry(id: string): Promise<StoredEntry | undefined> {
    const e = await this.store.deleteEntry(id);
    if (e) this.matcher.lists.delete(e.key, e.canonicalKey);
    return e;
  }
}
