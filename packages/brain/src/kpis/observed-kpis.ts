import { structuredClone } from '../clone.js';
import type { Network } from '@citybrain/engine';
import type { Event, LaneEvent, ParkingEvent, PlateEvent, PlatePosition } from '../events.js';
import { LaneEstimate } from '../estimate/lane-estimate.js';
import { congestionIndex, type KpiSample, type RegionKpis } from './kpi-sample.js';
import { GRIDLOCK_LANES, StandstillWatch, type GridlockAlarm, type StandstillState } from './standstill.js';
import { OCR_CONFUSIONS, confusionTable, forEachConfusable } from './plates.js';
import { TimeBuckets, type TimeBucketsState } from './time-buckets.js';

/** A region: the intersections (network indices) whose approach lanes it sums (the runtime's `Region`). */
export interface KpiRegion {
  id: string;
  intersections: readonly number[];
}

export interface ObservedKpisOptions {
  /** regions reported in `regions`; default one, `city`, of every signalised intersection */
  regions?: readonly KpiRegion[];
  /**
   * the lane estimate whose vehicles and queues the KPIs count (the brain's
   * own, fed the same events before this: one rule for what a report says of
   * its lane); default one of its own, fed here
   */
  estimate?: LaneEstimate;
  /**
   * told of each vehicle seen making a movement: read at the stop line of
   * `fromLane`, then next on `toLane`, on a road leaving that intersection
   * (the brain's twin counts its turns from these)
   */
  onMovement?: (fromLane: number, toLane: number) => void;
  /**
   * plate reads below this confidence are never matched (a wrong match costs
   * more than a lost one) and count for the vehicle balance as reads missed;
   * their exits still count as finished vehicles; default 0.5
   */
  minConfidence?: number;
  /** an entry read not matched by an exit within this many seconds is dropped (its exit was missed); default 7200 */
  maxTripSeconds?: number;
  /** averageTravelTime is the mean of the trips completed in this many seconds; default 600 */
  travelTimeWindowSeconds?: number;
  /** roadTravelTimes is the mean of the road passages completed in this many seconds; default 600 */
  roadWindowSeconds?: number;
  /** two reads of a plate further apart than this are no road passage (the vehicle parked, or a read was missed); default 900 */
  maxSegmentSeconds?: number;
  /** plate reads are matched in time order once the newest event is this many seconds past them (devices report out of order by a few seconds); default 5 */
  settleSeconds?: number;
  /** plate reads arriving later than this behind the newest event are refused (counted as `tooLate`): duplicates are told apart this long; default 600 */
  lateSeconds?: number;
  /** a detector report older than this no longer counts (a silent device's last report is not the lane now); default 60 */
  staleSeconds?: number;
  /** seconds between KPI samples (the shortest span the throughput is counted over); default 10 */
  samplePeriodSeconds?: number;
  /** the throughput counts the exit reads of this many seconds (less in the first ones); default 300, at most 3600 */
  throughputWindowSeconds?: number;
  /** open trips kept at most (the oldest go first beyond it): memory stays bounded whatever the devices send; default 200000 */
  maxOpenTrips?: number;
  /** characters recognition confuses, one class per string; default OCR_CONFUSIONS */
  confusions?: readonly string[];
  /**
   * the form plates are held in (the server: their keyed hash, `storedPlate`):
   * open trips, unmatched exits and last reads, hence a snapshot, hold no clear
   * plate; a read's clear text serves only to find its confusable variants as
   * it is matched. Must be deterministic and keep its own output as it is.
   * Default the plate itself.
   */
  plateKey?: (plate: string) => string;
  /** epoch ms of simulated second 0 (a sample's `t`); default the first event's or sample's time */
  epochMs?: number;
}

/** Counters since the start (restored with the state). */
export interface ObservedKpisStats {
  plateReads: number;
  entryReads: number;
  exitReads: number;
  stopLineReads: number;
  /** reads below minConfidence (counted, never matched) */
  lowConfidence: number;
  /** events seen before (same device and id) */
  duplicates: number;
  /** plate reads arriving more than lateSeconds behind the newest event */
  tooLate: number;
  /** exit reads matched to an entry read (trips) */
  matched: number;
  /** seconds of the trips timed since the start, and their number (averageTravelTimeSinceStart; both 0 in a state saved before it, which then starts afresh) */
  tripSeconds: number;
  timedTrips: number;
  /** of which through one confusable character */
  fuzzyMatched: number;
  /** exit (or late entry) reads left unmatched because two or more open reads differ from it by one confusable character */
  ambiguous: number;
  /** entry reads dropped unmatched after maxTripSeconds (or beyond maxOpenTrips) */
  expired: number;
  /** road passages measured (roadTravelTimes) */
  segments: number;
  laneReports: number;
  /** lane and plate events naming a lane the network does not have */
  unknownLanes: number;
}

/** Mean travel time per road (index as `net.roadIds`) over the recent window: NaN where no vehicle was timed. */
export interface RoadTravelTimes {
  seconds: Float64Array;
  samples: Int32Array;
}

/** What ObservedKpis holds beyond the counters: every entry here is bounded (see memory()). */
export interface ObservedKpisMemory {
  openTrips: number;
  pendingExits: number;
  dedupKeys: number;
  lastReads: number;
  buffered: number;
  parkingBays: number;
}

/** An ObservedKpis' state as plain data (structured-cloneable; see exportState). */
export interface ObservedKpisState {
  nLanes: number;
  nRoads: number;
  clock: { watermark: number; settledTo: number; lastSweep: number; lastSampleTs: number; epoch: number };
  /** (vehicles and queue: its own lane estimate's, absent when it reads the brain's) */
  lanes: { vehicles?: Int32Array; queue?: Int32Array; speed: Float64Array; reportedAt: Float64Array };
  parking: [bay: string, occupied: boolean, ts: number][];
  seen: [key: string, ts: number][];
  buffer: PlateEvent[];
  open: [plate: string, entryTs: number[]][];
  pending: [plate: string, exitTs: number[]][];
  lastReads: [plate: string, ts: number, lane: number, position: PlatePosition][];
  rings: Record<'exits' | 'trips' | 'roads' | 'unmatched', TimeBucketsState>;
  stats: ObservedKpisStats;
  /** since each lane last moved (absent in a state saved before the gridlock alarm: the lanes then start afresh) */
  standstill?: StandstillState;
}

interface LastRead {
  ts: number;
  lane: number;
  position: PlatePosition;
}

const RANK: Record<PlatePosition, number> = { entry: 0, 'stop-line': 1, exit: 2 };
/** plate reads are processed in time order; at one instant an entry before a stop line before an exit */
const byTime = (a: PlateEvent, b: PlateEvent) => a.ts - b.ts || RANK[a.position ?? 'stop-line'] - RANK[b.position ?? 'stop-line'];
const SWEEP_MS = 10_000;

/**
 * The city's KPIs computed only from what its devices report, as Hangzhou's
 * City Brain does: travel times from plate reads matched between checkpoint
 * cameras, queues and speeds from lane detectors, occupancy from parking
 * sensors. The street's ground truth is for scoring it, never an input.
 *
 * Estimators (one line each):
 * - averageTravelTime: mean exit-minus-entry time of the trips (entry read matched to exit read) completed in the last travelTimeWindowSeconds; 0 when none.
 * - averageTravelTimeSinceStart: the same over every trip completed since the start (CityFlow's ATT counts so: it moves little after the first hour).
 * - vehiclesInNetwork: (open trips - exits without an entry) / share of exits whose entry was read. A missed exit read leaves a trip
 *   open until maxTripSeconds, a missed entry read an exit unmatched: counting those exits over the same span, shifted by the mean
 *   trip time, the two cancel with equal miss rates; the share scales up for the vehicles inside whose entry was missed. Never fewer
 *   than the detectors see on their lanes; with no checkpoint camera, what the detectors see.
 * - finishedVehicles: exit reads since the start.
 * - throughput: exit reads per hour over the last throughputWindowSeconds (5 min: per 10 s sample it swung by a vehicle's worth, 360/h).
 * - queued: the detectors' stopped vehicles on their lanes (a loop's estimated from its occupancy and speed: reportedQueue()).
 * - congestionIndex: sum of vehicles x speed limit over sum of vehicles x reported speed on the detected lanes (congestionIndex()).
 * - parkingOccupancy: occupied bays over the bays parking events have named.
 * - activeIncidents: passed in (IncidentDetector).
 * - regions: the same detector figures over the approach lanes of each region's intersections.
 * Only reports fresher than staleSeconds count.
 *
 * Plate matching: an exit read takes the latest open entry read of the same
 * plate within maxTripSeconds; failing that, the one open entry read that
 * differs from it in one confusable character (OCR_CONFUSIONS), when exactly
 * one does: two or more candidates leave it unmatched (`ambiguous`). Reads are
 * matched in time order (settleSeconds), later ones as they come.
 */
export class ObservedKpis {
  private readonly confusions: Map<string, string>;
  private readonly o: Required<Omit<ObservedKpisOptions, 'regions' | 'confusions' | 'epochMs' | 'estimate' | 'onMovement' | 'plateKey'>>;
  private readonly onMovement?: (fromLane: number, toLane: number) => void;
  private readonly plateKey: (plate: string) => string;
  private readonly regions: { id: string; lanes: Int32Array }[];
  private readonly allLanes: Int32Array;
  // lanes: the last report of each
  private readonly est: LaneEstimate;
  private readonly standstill: StandstillWatch;
  private readonly ownEstimate: boolean;
  private readonly one: LaneEvent[] = [];
  private readonly laneSpeed: Float64Array;
  private readonly laneReportedAt: Float64Array;
  private readonly parking = new Map<string, { occupied: boolean; ts: number }>();
  /** plate reads seen (device \0 id -> ts), for lateSeconds */
  private readonly seen = new Map<string, number>();
  /** plate reads waiting to be matched in time order */
  private buffer: PlateEvent[] = [];
  /** open trips: plate -> entry times, ascending */
  private readonly open = new Map<string, number[]>();
  private openCount = 0;
  /** exit reads no entry matched, kept lateSeconds for an entry read arriving late: plate -> exit times, ascending */
  private readonly pending = new Map<string, number[]>();
  /** each plate's last read with a lane, for road passages */
  private readonly lastRead = new Map<string, LastRead>();
  /** exit reads per 1 s */
  private readonly exits = new TimeBuckets(1000, 3600);
  /** completed trips per 10 s: [sum of seconds, count] */
  private readonly trips: TimeBuckets;
  /** road passages per 10 s: [sum of seconds, count] per road */
  private readonly roads: TimeBuckets;
  /** exit reads no entry matched, per minute (the vehicle balance) */
  private readonly unmatched: TimeBuckets;
  private watermark = -Infinity;
  private settledTo = -Infinity;
  private lastSweep = -Infinity;
  private lastSampleTs = NaN;
  private epoch: number;
  private readonly counters: ObservedKpisStats = {
    plateReads: 0, entryReads: 0, exitReads: 0, stopLineReads: 0, lowConfidence: 0, duplicates: 0, tooLate: 0,
    matched: 0, tripSeconds: 0, timedTrips: 0, fuzzyMatched: 0, ambiguous: 0, expired: 0, segments: 0, laneReports: 0, unknownLanes: 0,
  };

  constructor(readonly net: Network, opts: ObservedKpisOptions = {}) {
    const seconds = (name: keyof ObservedKpisOptions, def: number, min = 0) => {
      const v = (opts[name] as number | undefined) ?? def;
      if (!(Number.isFinite(v) && v >= min)) throw new RangeError(`observed KPIs: ${name} must be a number >= ${min}, got ${v}`);
      return v;
    };
    const minConfidence = seconds('minConfidence', 0.5);
    if (minConfidence > 1) throw new RangeError(`observed KPIs: minConfidence must be in 0..1, got ${minConfidence}`);
    this.onMovement = opts.onMovement;
    this.plateKey = opts.plateKey ?? ((p) => p);
    this.o = {
      minConfidence,
      maxTripSeconds: seconds('maxTripSeconds', 7200, 1),
      travelTimeWindowSeconds: seconds('travelTimeWindowSeconds', 600, 10),
      roadWindowSeconds: seconds('roadWindowSeconds', 600, 10),
      maxSegmentSeconds: seconds('maxSegmentSeconds', 900, 1),
      settleSeconds: seconds('settleSeconds', 5),
      lateSeconds: seconds('lateSeconds', 600),
      staleSeconds: seconds('staleSeconds', 60, 1),
      samplePeriodSeconds: seconds('samplePeriodSeconds', 10, 1),
      throughputWindowSeconds: seconds('throughputWindowSeconds', 300, 1),
      maxOpenTrips: seconds('maxOpenTrips', 200_000, 1),
    };
    if (this.o.throughputWindowSeconds > 3600) throw new RangeError(`observed KPIs: throughputWindowSeconds must be at most 3600 (the exit reads kept), got ${this.o.throughputWindowSeconds}`);
    if (this.o.samplePeriodSeconds > 3600) throw new RangeError(`observed KPIs: samplePeriodSeconds must be at most 3600, got ${this.o.samplePeriodSeconds}`);
    this.confusions = confusionTable(opts.confusions ?? OCR_CONFUSIONS);
    this.epoch = opts.epochMs ?? NaN;
    const nInter = net.interIds.length;
    const regions = opts.regions ?? [{ id: 'city', intersections: [...net.signalised] }];
    this.regions = regions.map((r) => {
      for (const i of r.intersections) {
        if (!(Number.isInteger(i) && i >= 0 && i < nInter)) throw new RangeError(`observed KPIs: region "${r.id}": ${i} is not an intersection index (0..${nInter - 1})`);
      }
      return { id: r.id, lanes: Int32Array.from(r.intersections.flatMap((i) => net.incomingLanes(i))) };
    });
    this.allLanes = Int32Array.from({ length: net.nLanes }, (_, l) => l);
    this.ownEstimate = opts.estimate === undefined;
    this.est = opts.estimate ?? new LaneEstimate(net);
    if (this.est.net !== net) throw new RangeError('observed KPIs: the lane estimate is of another network');
    this.laneSpeed = new Float64Array(net.nLanes);
    this.laneReportedAt = new Float64Array(net.nLanes);
    this.standstill = new StandstillWatch(this.est, this.laneReportedAt);
    this.trips = new TimeBuckets(10_000, Math.ceil(this.o.travelTimeWindowSeconds / 10) + 1, 2);
    this.roads = new TimeBuckets(10_000, Math.ceil(this.o.roadWindowSeconds / 10) + 1, 2 * net.roadIds.length);
    this.unmatched = new TimeBuckets(60_000, Math.ceil(this.o.maxTripSeconds / 60) + 1);
  }

  /** Takes in device events as they become durable (any order; duplicates and signal events change nothing). */
  apply(events: readonly Event[]): void {
    for (const e of events) {
      if (Number.isNaN(this.epoch)) this.epoch = e.ts;
      switch (e.kind) {
        case 'lane':
          this.applyLane(e);
          break;
        case 'parking':
          this.applyParking(e);
          break;
        case 'plate':
          this.applyPlate(e);
          break;
      }
      if (e.ts > this.watermark) this.watermark = e.ts;
    }
    this.settle(this.watermark - this.o.settleSeconds * 1000);
    if (this.watermark - this.lastSweep >= SWEEP_MS) this.sweep();
  }

  /** The KPIs at `nowTs` (epoch ms) from the events so far; `t` (simulated seconds) defaults to the seconds since epochMs. */
  /** A lane's latest report as the KPIs took it: the mean speed its detector measured (m/s) and when (epoch ms; 0: never reported). */
  laneReport(lane: number): { speed: number; reportedAt: number } {
    return { speed: this.laneSpeed[lane], reportedAt: this.laneReportedAt[lane] };
  }

  sample(nowTs: number, extra: { t?: number; activeIncidents?: number } = {}): KpiSample {
    if (!Number.isFinite(nowTs)) throw new RangeError(`observed KPIs: sample needs a time in epoch ms, got ${nowTs}`);
    if (Number.isNaN(this.epoch)) this.epoch = nowTs;
    this.catchUp(nowTs);

    const fresh = nowTs - this.o.staleSeconds * 1000;
    this.standstill.update(nowTs, fresh);
    const city = this.laneKpis(this.allLanes, fresh, nowTs);
    const regions: Record<string, RegionKpis> = {};
    let gridlock: GridlockAlarm | null = null;
    for (const r of this.regions) {
      regions[r.id] = this.laneKpis(r.lanes, fresh, nowTs);
      const st = this.standstill.standingOf(r.lanes, nowTs);
      if (st.lanes < GRIDLOCK_LANES) continue;
      gridlock ??= { regions: [], standingLanes: 0, queued: 0, since: st.since };
      gridlock.regions.push(r.id);
      gridlock.standingLanes += st.lanes;
      gridlock.queued += st.queued;
      gridlock.since = Math.min(gridlock.since, st.since);
    }

    // the window, or the time since the first event when shorter (never below one sample period)
    const span = Math.max(this.o.samplePeriodSeconds * 1000, Math.min(this.o.throughputWindowSeconds * 1000, nowTs - this.epoch));
    this.lastSampleTs = nowTs;
    const window = this.o.travelTimeWindowSeconds * 1000;
    const tripCount = this.trips.sum(nowTs - window, nowTs, 1);
    const meanTrip = tripCount > 0 ? this.trips.sum(nowTs - window, nowTs, 0) / tripCount : 0;
    let occupied = 0;
    for (const b of this.parking.values()) if (b.occupied) occupied++;
    return {
      t: extra.t ?? Math.round(nowTs - this.epoch) / 1000,
      ts: nowTs,
      averageTravelTime: round(meanTrip, 1),
      averageTravelTimeSinceStart: this.counters.timedTrips > 0 ? round(this.counters.tripSeconds / this.counters.timedTrips, 1) : 0,
      vehiclesInNetwork: this.vehiclesInNetwork(nowTs, city.vehicles, meanTrip, tripCount),
      finishedVehicles: this.counters.exitReads,
      throughput: Math.round((this.exits.sum(nowTs - span, nowTs) * 3_600_000) / span),
      queued: city.queued,
      congestionIndex: city.congestionIndex,
      parkingOccupancy: this.parking.size > 0 ? round(occupied / this.parking.size, 3) : 0,
      activeIncidents: extra.activeIncidents ?? 0,
      regions,
      gridlock,
    };
  }

  /**
   * Per-road travel times from consecutive reads of one plate: from the stop
   * line it crossed (or the entry checkpoint on the road) to the road's stop
   * line (or exit checkpoint), over the last roadWindowSeconds up to `nowTs`
   * (default the newest event). Exact plates only: a misread costs a sample.
   */
  roadTravelTimes(nowTs = this.watermark, out?: RoadTravelTimes): RoadTravelTimes {
    this.catchUp(nowTs);
    const n = this.net.roadIds.length;
    const res = out ?? { seconds: new Float64Array(n), samples: new Int32Array(n) };
    const sums = this.roads.sums(nowTs - this.o.roadWindowSeconds * 1000, nowTs, new Float64Array(2 * n));
    for (let r = 0; r < n; r++) {
      res.samples[r] = sums[2 * r + 1];
      res.seconds[r] = sums[2 * r + 1] > 0 ? sums[2 * r] / sums[2 * r + 1] : NaN;
    }
    return res;
  }

  /** The clock moves on to `nowTs`: reads before it are matched, windows move. */
  private catchUp(nowTs: number): void {
    if (nowTs > this.watermark) this.watermark = nowTs;
    this.settle(nowTs - this.o.settleSeconds * 1000);
    this.sweep();
    for (const r of this.rings()) r.advance(nowTs);
  }

  private rings(): TimeBuckets[] {
    return [this.exits, this.trips, this.roads, this.unmatched];
  }

  /** Matched trips over exit reads since the start, of those matched yet (not waiting settleSeconds); 0 before the first. */
  get matchRate(): number {
    let waiting = 0;
    for (const e of this.buffer) if (e.position === 'exit') waiting++;
    const exits = this.counters.exitReads - waiting;
    return exits > 0 ? this.counters.matched / exits : 0;
  }

  get stats(): Readonly<ObservedKpisStats> {
    return { ...this.counters };
  }

  /** How much is held (each bounded: by the event rate times a window, and open trips by maxOpenTrips). */
  memory(): ObservedKpisMemory {
    let pendingExits = 0;
    for (const xs of this.pending.values()) pendingExits += xs.length;
    return {
      openTrips: this.openCount, pendingExits, dedupKeys: this.seen.size, lastReads: this.lastRead.size,
      buffered: this.buffer.length, parkingBays: this.parking.size,
    };
  }

  // ---- lanes and parking: the newest report holds

  private applyLane(e: LaneEvent): void {
    const l = this.net.laneIndex.get(e.lane);
    if (l === undefined) {
      this.counters.unknownLanes++;
      return;
    }
    if (e.ts <= this.laneReportedAt[l]) return;
    this.laneReportedAt[l] = e.ts;
    if (this.ownEstimate) {
      this.one[0] = e;
      this.est.apply(this.one);
    }
    this.laneSpeed[l] = e.speed;
    this.counters.laneReports++;
  }

  private applyParking(e: ParkingEvent): void {
    const b = this.parking.get(e.bay);
    if (b && e.ts < b.ts) return;
    this.parking.set(e.bay, { occupied: e.occupied, ts: e.ts });
  }

  /** The detector figures over `lanes`, from reports fresher than `fresh`. */
  private laneKpis(lanes: Int32Array, fresh: number, nowTs: number): RegionKpis {
    let queued = 0, vehicles = 0, free = 0, moving = 0;
    for (const l of lanes) {
      if (this.laneReportedAt[l] === 0 || this.laneReportedAt[l] < fresh) continue;
      const v = this.est.vehicles[l];
      vehicles += v;
      queued += this.est.queue[l];
      free += v * this.net.maxSpeed[l];
      moving += v * this.laneSpeed[l];
    }
    return {
      queued: Math.round(queued), vehicles: Math.round(vehicles), meanSpeed: vehicles > 0 ? round(moving / vehicles, 2) : 0,
      congestionIndex: round(congestionIndex(free, moving), 3), standingLanes: this.standstill.standingOf(lanes, nowTs).lanes,
    };
  }

  // ---- plate reads

  private applyPlate(e: PlateEvent): void {
    const c = this.counters;
    if (e.ts < this.watermark - this.o.lateSeconds * 1000) {
      c.tooLate++;
      return;
    }
    const key = `${e.device}\u0000${e.id}`;
    if (this.seen.has(key)) {
      c.duplicates++;
      return;
    }
    this.seen.set(key, e.ts);
    c.plateReads++;
    const position = e.position ?? 'stop-line';
    if (position === 'entry') c.entryReads++;
    else if (position === 'stop-line') c.stopLineReads++;
    else {
      c.exitReads++;
      this.exits.add(e.ts, 0, 1);
    }
    if (e.confidence < this.o.minConfidence) c.lowConfidence++;
    if (e.ts <= this.settledTo) this.process(e);
    else this.buffer.push(e);
  }

  /** Matches the buffered reads up to `to` in time order. */
  private settle(to: number): void {
    if (!(to > this.settledTo)) return;
    this.settledTo = to;
    if (this.buffer.length === 0) return;
    this.buffer.sort(byTime);
    let k = 0;
    while (k < this.buffer.length && this.buffer[k].ts <= to) this.process(this.buffer[k++]);
    this.buffer = k === this.buffer.length ? [] : this.buffer.slice(k);
  }

  private process(e: PlateEvent): void {
    const position = e.position ?? 'stop-line';
    const matchable = e.confidence >= this.o.minConfidence;
    let lane = -1;
    if (e.lane !== undefined) {
      lane = this.net.laneIndex.get(e.lane) ?? -1;
      if (lane < 0) this.counters.unknownLanes++;
    }
    if (!matchable) return;
    const key = this.plateKey(e.plate);
    if (lane >= 0) this.passage(key, e.ts, lane, position);
    if (position === 'entry') {
      if (!this.matchLateEntry(key, e.plate, e.ts)) this.openTrip(key, e.ts);
    } else if (position === 'exit' && !this.matchExit(key, e.plate, e.ts)) {
      this.unmatched.add(e.ts, 0, 1);
      insertSorted(this.pending, key, e.ts);
    }
  }

  /** An exit read (`plate` its key, `read` its clear text): the latest open entry of its plate, else the one entry a confusable character away. */
  private matchExit(plate: string, read: string, ts: number): boolean {
    const lo = ts - this.o.maxTripSeconds * 1000;
    const own = this.open.get(plate);
    if (own) {
      for (let k = own.length - 1; k >= 0; k--) {
        if (own[k] > ts) continue;
        if (own[k] < lo) break;
        this.trip(own[k], ts);
        this.take(this.open, plate, k);
        this.openCount--;
        return true;
      }
    }
    const cand = this.unique(this.open, read, lo, ts);
    if (!cand) return false;
    this.trip(cand.ts, ts);
    this.take(this.open, cand.plate, cand.k);
    this.openCount--;
    this.counters.fuzzyMatched++;
    return true;
  }

  /** An entry read that arrives after its exit read was processed: the earliest unmatched exit of its plate after it, else a unique confusable one. */
  private matchLateEntry(plate: string, read: string, ts: number): boolean {
    if (this.pending.size === 0) return false;
    const hi = ts + this.o.maxTripSeconds * 1000;
    const own = this.pending.get(plate);
    if (own) {
      for (let k = 0; k < own.length; k++) {
        if (own[k] < ts) continue;
        if (own[k] > hi) break;
        this.trip(ts, own[k]);
        this.unmatched.add(own[k], 0, -1);
        this.take(this.pending, plate, k);
        return true;
      }
    }
    const cand = this.unique(this.pending, read, ts, hi);
    if (!cand) return false;
    this.trip(ts, cand.ts);
    this.unmatched.add(cand.ts, 0, -1);
    this.take(this.pending, cand.plate, cand.k);
    this.counters.fuzzyMatched++;
    return true;
  }

  /** The one read in `pool` within [lo, hi] whose plate is one confusable character from the clear `read`; none when zero or several are. */
  private unique(pool: Map<string, number[]>, read: string, lo: number, hi: number): { plate: string; k: number; ts: number } | undefined {
    let found: { plate: string; k: number; ts: number } | undefined;
    let n = 0;
    forEachConfusable(read, this.confusions, (v) => {
      const key = this.plateKey(v);
      const xs = pool.get(key);
      if (!xs) return;
      for (let k = 0; k < xs.length; k++) {
        if (xs[k] < lo || xs[k] > hi) continue;
        n++;
        found = { plate: key, k, ts: xs[k] };
      }
    });
    if (n > 1) this.counters.ambiguous++;
    return n === 1 ? found : undefined;
  }

  private trip(entryTs: number, exitTs: number): void {
    this.counters.matched++;
    this.counters.tripSeconds += (exitTs - entryTs) / 1000;
    this.counters.timedTrips++;
    this.trips.add(exitTs, 0, (exitTs - entryTs) / 1000);
    this.trips.add(exitTs, 1, 1);
  }

  private take(pool: Map<string, number[]>, plate: string, k: number): void {
    const xs = pool.get(plate)!;
    if (xs.length === 1) pool.delete(plate);
    else xs.splice(k, 1);
  }

  private openTrip(plate: string, ts: number): void {
    insertSorted(this.open, plate, ts);
    if (++this.openCount <= this.o.maxOpenTrips) return;
    // beyond the cap the earliest opened goes (insertion order: late reads aside, the oldest)
    const [first] = this.open.keys();
    this.take(this.open, first, 0);
    this.openCount--;
    this.counters.expired++;
  }

  /** A road passage between two consecutive reads of a plate, when the second read's road starts where the first read was. */
  private passage(plate: string, ts: number, lane: number, position: PlatePosition): void {
    const net = this.net;
    const prev = this.lastRead.get(plate);
    if (prev && ts <= prev.ts) return;
    if (prev && ts - prev.ts <= this.o.maxSegmentSeconds * 1000) {
      const road = net.laneRoad[lane];
      const from = net.laneRoad[prev.lane];
      const ok = prev.position === 'stop-line' ? position !== 'entry' && net.roadStartInter[road] === net.roadEndInter[from]
        : prev.position === 'entry' && position === 'stop-line' && road === from;
      if (ok) {
        this.roads.add(ts, 2 * road, (ts - prev.ts) / 1000);
        this.roads.add(ts, 2 * road + 1, 1);
        this.counters.segments++;
        if (prev.position === 'stop-line') this.onMovement?.(prev.lane, lane);
      }
    }
    if (position === 'exit') this.lastRead.delete(plate);
    else this.lastRead.set(plate, { ts, lane, position });
  }

  /** Drops what has aged out of its window (open trips, unmatched exits, dedup keys, last reads). */
  private sweep(): void {
    const now = this.watermark;
    this.lastSweep = now;
    const tripLo = now - this.o.maxTripSeconds * 1000;
    for (const [plate, xs] of this.open) {
      let k = 0;
      while (k < xs.length && xs[k] < tripLo) k++;
      if (k === 0) continue;
      this.counters.expired += k;
      this.openCount -= k;
      if (k === xs.length) this.open.delete(plate);
      else xs.splice(0, k);
    }
    const lateLo = now - this.o.lateSeconds * 1000;
    for (const [plate, xs] of this.pending) {
      let k = 0;
      while (k < xs.length && xs[k] < lateLo) k++;
      if (k === xs.length) this.pending.delete(plate);
      else if (k > 0) xs.splice(0, k);
    }
    for (const [key, ts] of this.seen) if (ts < lateLo) this.seen.delete(key);
    const segLo = now - this.o.maxSegmentSeconds * 1000;
    for (const [plate, r] of this.lastRead) if (r.ts < segLo) this.lastRead.delete(plate);
  }

  /** See the class comment; `meanTrip` is the window's mean trip time in seconds (0 when none), `trips` their number. */
  private vehiclesInNetwork(nowTs: number, detected: number, meanTrip: number, trips: number): number {
    const c = this.counters;
    if (c.entryReads + c.exitReads === 0) return detected;
    let buffered = 0;
    for (const e of this.buffer) {
      if (e.confidence >= this.o.minConfidence) buffered += e.position === 'entry' ? 1 : e.position === 'exit' ? -1 : 0;
    }
    // open entries are at most maxTrip old; the exits of vehicles that entered then are a trip later
    const span = this.o.maxTripSeconds * 1000;
    const orphans = this.unmatched.sum(nowTs - span + Math.min(meanTrip * 1000, span), nowTs);
    const recentOrphans = this.unmatched.sum(nowTs - this.o.travelTimeWindowSeconds * 1000, nowTs);
    const entryShare = trips + recentOrphans > 0 ? Math.max(0.5, trips / (trips + recentOrphans)) : 1;
    return Math.max(0, detected, Math.round((this.openCount + buffered - orphans) / entryShare));
  }

  // ---- persistence

  /** Everything it holds, as plain data (typed arrays, arrays of tuples), for a restart. */
  exportState(): ObservedKpisState {
    return structuredClone({
      nLanes: this.net.nLanes,
      nRoads: this.net.roadIds.length,
      clock: { watermark: this.watermark, settledTo: this.settledTo, lastSweep: this.lastSweep, lastSampleTs: this.lastSampleTs, epoch: this.epoch },
      lanes: { ...(this.ownEstimate ? { vehicles: this.est.vehicles, queue: this.est.queue } : {}), speed: this.laneSpeed, reportedAt: this.laneReportedAt },
      parking: [...this.parking].map(([bay, b]): [string, boolean, number] => [bay, b.occupied, b.ts]),
      seen: [...this.seen],
      // reads not yet matched (a few seconds' worth) keep only their key: after a restart they match exactly
      buffer: this.buffer.map((e) => ({ ...e, plate: this.plateKey(e.plate) })),
      open: [...this.open],
      pending: [...this.pending],
      lastReads: [...this.lastRead].map(([plate, r]): [string, number, number, PlatePosition] => [plate, r.ts, r.lane, r.position]),
      rings: {
        exits: this.exits.exportState(), trips: this.trips.exportState(), roads: this.roads.exportState(),
        unmatched: this.unmatched.exportState(),
      },
      stats: this.counters,
      standstill: this.standstill.exportState(),
    });
  }

  /** Continues from exported state of an ObservedKpis of the same network and options (before any event). */
  importState(state: ObservedKpisState): void {
    const s = structuredClone(state);
    if (s.nLanes !== this.net.nLanes || s.nRoads !== this.net.roadIds.length) {
      throw new RangeError(`observed KPIs state: ${s.nLanes} lanes and ${s.nRoads} roads, this network has ${this.net.nLanes} and ${this.net.roadIds.length}`);
    }
    const rings = [s.rings.exits, s.rings.trips, s.rings.roads, s.rings.unmatched];
    const names = ['exits', 'trips (travelTimeWindowSeconds differs?)', 'road passages (roadWindowSeconds differs?)', 'unmatched exits (maxTripSeconds differs?)'];
    // all checked before anything changes
    this.rings().forEach((r, k) => r.assertFits(rings[k], `observed KPIs state: ${names[k]}`));
    if (s.standstill && (s.standstill.movedAt.length !== s.nLanes || s.standstill.counted.length !== s.nLanes)) {
      throw new RangeError(`observed KPIs state: standstill holds ${s.standstill.movedAt.length} lanes, the state ${s.nLanes}`);
    }
    if (s.standstill) this.standstill.importState(s.standstill);
    this.rings().forEach((r, k) => r.importState(rings[k], `observed KPIs state: ${names[k]}`));
    ({ watermark: this.watermark, settledTo: this.settledTo, lastSweep: this.lastSweep, lastSampleTs: this.lastSampleTs, epoch: this.epoch } = s.clock);
    if (this.ownEstimate && s.lanes.vehicles && s.lanes.queue) {
      this.est.vehicles.set(s.lanes.vehicles);
      this.est.queue.set(s.lanes.queue);
    }
    this.laneSpeed.set(s.lanes.speed);
    this.laneReportedAt.set(s.lanes.reportedAt);
    this.parking.clear();
    for (const [bay, occupied, ts] of s.parking) this.parking.set(bay, { occupied, ts });
    this.seen.clear();
    for (const [k, ts] of s.seen) this.seen.set(k, ts);
    this.buffer = s.buffer;
    this.open.clear();
    this.openCount = 0;
    for (const [plate, xs] of s.open) {
      this.open.set(plate, xs);
      this.openCount += xs.length;
    }
    this.pending.clear();
    for (const [plate, xs] of s.pending) this.pending.set(plate, xs);
    this.lastRead.clear();
    for (const [plate, ts, lane, position] of s.lastReads) this.lastRead.set(plate, { ts, lane, position });
    Object.assign(this.counters, { tripSeconds: 0, timedTrips: 0 }, s.stats);
  }
}

function insertSorted(pool: Map<string, number[]>, plate: string, ts: number): void {
  const xs = pool.get(plate);
  if (!xs) {
    pool.set(plate, [ts]);
    return;
  }
  let k = xs.length;
  while (k > 0 && xs[k - 1] > ts) k--;
  xs.splice(k, 0, ts);
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
