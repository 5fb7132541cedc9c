import type { Network } from '@citybrain/engine';
import type { Observed } from '@citybrain/control';
import type { Event, SignalEvent } from '../events.js';

/** Metres a stopped vehicle takes in a queue (a 5 m car and its 2.5 m gap). */
export const JAM_SPACING = 7.5;

/** Seconds over which a lane's arrival rate is averaged from its counts: a few signal cycles. */
export const RATE_SECONDS = 300;
/** A stop-line loop occupied at least this share of an interval ... */
export const LOOP_STANDING_OCCUPANCY = 0.5;
/** ... by vehicles passing slower than this (m/s), or by none passing: a vehicle stands at the line. */
export const LOOP_STANDING_SPEED = 3;
/** A lane's detector is silent after this many of its report intervals without a report ... */
export const SILENT_INTERVALS = 4;
/** ... and at least this many seconds (reports come late by a second or more, and one in a hundred is lost) */
export const SILENT_MIN_SECONDS = 15;
/** A loop occupied less than this share of an interval in which none passed: nobody waits at the line. */
export const LOOP_FREE_OCCUPANCY = 0.1;
/** A queue over this share of a video detector's range fills its view. */
const VIEW_FULL = 0.8;

/**
 * The brain's estimate of every detected lane, built only from the lane
 * events field devices report (through ingestion, once durable): vehicles on
 * the lane and how many of them are stopped, as video detectors count them.
 * Between two reports the last one holds; a lane never reported counts as empty.
 *
 * A stop-line loop reports no vehicles or queue, only its count and the share
 * of the interval it was occupied (time occupancy: a vehicle standing on it
 * at red makes it 1, whatever the queue behind). Its lane's queue is kept by
 * input and output: vehicles arrive at the lane's mean rate (the rate its
 * loop counts over a few cycles: what a lane discharges is what arrived) and
 * leave as the loop counts them; it is at least one while a vehicle stands on
 * the loop and none when the loop is free and nothing passed. Its vehicles
 * are that queue and, by Little's law, those driving down the lane at the
 * arrival rate (arrivals x the lane's free travel time).
 *
 * Every report's count adds to its lane's `counted`, a late one too (it
 * arrives after a newer one: its vehicles passed all the same), a report
 * delivered twice once.
 *
 * It is also the brain's one store of what the signal controllers confirm
 * (signal events): the controllers' `confirmedPhase`, and the PlanBoard's
 * modes (it reads `confirmation`).
 */
export class LaneEstimate implements Observed {
  readonly vehicles: Int32Array;
  readonly queue: Int32Array;
  /** epoch ms of each lane's last report; 0 when never reported */
  readonly reportedAt: Float64Array;
  /** the device whose report each lane holds (so revoking it can take that back) */
  readonly reportedBy: (string | undefined)[];
  /** vehicles each lane's detector counted, over all its reports taken */
  readonly counted: Float64Array;
  /**
   * the reports of each lane counted, as bits: bit k is the report k
   * intervals before the newest (bit 0), so a late one delivered twice is
   * counted once (within 32 intervals; the field's retries and delays are
   * far shorter)
   */
  readonly countedSlots: Uint32Array;
  /** each intersection's latest confirmation (by intersection index): what its signal controller shows, and in which mode */
  readonly confirmations: (SignalEvent | undefined)[];
  /** the phase of each one; -1 unknown */
  readonly confirmedPhase: Int32Array;
  /** every lane's arrival rate (vehicles/s: what it discharges, over RATE_SECONDS); loop-detected lanes' queue (fractional) by input and output */
  readonly arrivals: Float64Array;
  readonly loopQueue: Float64Array;
  /**
   * metres upstream of the stop line each lane's newest report saw vehicles
   * in (Observed.seen): a video detector's view, 0 for a loop, and 0 while
   * its detector is silent (`silence`)
   */
  readonly seen: Float64Array;
  /** each lane's detector silent (no report for SILENT_INTERVALS of its interval, at least SILENT_MIN_SECONDS): 1 */
  readonly silent: Uint8Array;
  /** seconds between each lane's reports, as its newest report gave them (0: never reported) */
  readonly interval: Float64Array;
  reports = 0;
  /** lane events naming a lane this network does not have */
  unknownLanes = 0;

  constructor(readonly net: Network) {
    this.vehicles = new Int32Array(net.nLanes);
    this.queue = new Int32Array(net.nLanes);
    this.reportedAt = new Float64Array(net.nLanes);
    this.reportedBy = new Array<string | undefined>(net.nLanes);
    this.counted = new Float64Array(net.nLanes);
    this.countedSlots = new Uint32Array(net.nLanes);
    this.confirmations = new Array<SignalEvent | undefined>(net.interIds.length);
    this.confirmedPhase = new Int32Array(net.interIds.length).fill(-1);
    this.arrivals = new Float64Array(net.nLanes);
    this.loopQueue = new Float64Array(net.nLanes);
    this.seen = new Float64Array(net.nLanes);
    this.silent = new Uint8Array(net.nLanes);
    this.interval = new Float64Array(net.nLanes);
  }

  /**
   * Marks the lanes whose detector has gone silent by `nowMs` (epoch ms: the
   * brain's present): no report newer than SILENT_INTERVALS of its interval,
   * and at least SILENT_MIN_SECONDS. A silent lane's view is nothing
   * (seen 0): a controller that needs the approach is degraded there
   * (ControllerAssignment.blind) as on a lane with only a loop, not left
   * deciding on a picture that no longer changes. Its next report ends the
   * silence. Returns the lanes that went silent at this call.
   */
  silence(nowMs: number): number[] {
    const went: number[] = [];
    for (let l = 0; l < this.reportedAt.length; l++) {
      const at = this.reportedAt[l];
      if (at === 0 || this.silent[l] === 1) continue;
      if (nowMs - at > 1000 * Math.max(SILENT_INTERVALS * this.interval[l], SILENT_MIN_SECONDS)) {
        this.silent[l] = 1;
        this.seen[l] = 0;
        went.push(l);
      }
    }
    return went;
  }

  /** Takes in a batch of stored events: lane reports change the estimate; signal controllers' confirmations say what they show. */
  apply(events: readonly Event[]): void {
    for (const e of events) {
      if (e.kind === 'signal') {
        const i = this.net.interIndex.get(e.intersection);
        // a late confirmation does not overwrite a newer one
        if (i !== undefined && e.ts >= (this.confirmations[i]?.ts ?? -Infinity)) {
          this.confirmations[i] = e;
          this.confirmedPhase[i] = e.phase;
        }
        continue;
      }
      if (e.kind !== 'lane') continue;
      const l = this.net.laneIndex.get(e.lane);
      if (l === undefined) {
        this.unknownLanes++;
        continue;
      }
      const newest = this.reportedAt[l];
      const slots = this.countedSlots[l];
      if (e.ts <= newest) {
        // late: counted once (its slot, k intervals before the newest, not taken yet), but it does not overwrite the newer one
        const k = Math.round((newest - e.ts) / (e.interval * 1000));
        if (k < 32 && (slots >>> k) & 1) continue;
        if (k < 32) this.countedSlots[l] = (slots | (1 << k)) >>> 0;
        this.counted[l] += e.count;
        continue;
      }
      const k = newest === 0 ? 32 : Math.round((e.ts - newest) / (e.interval * 1000));
      this.countedSlots[l] = k >= 32 ? 1 : ((slots << k) | 1) >>> 0;
      this.counted[l] += e.count;
      this.reportedAt[l] = e.ts;
      this.reportedBy[l] = e.device;
      this.arrivals[l] += (1 - Math.exp(-e.interval / RATE_SECONDS)) * (e.count / e.interval - this.arrivals[l]);
      this.seen[l] = e.vehicles === undefined ? 0 : Math.min(e.range ?? Infinity, this.net.length[l]);
      this.silent[l] = 0;
      this.interval[l] = e.interval;
      if (e.vehicles === undefined) this.fromLoop(l, e.count, e.occupancy, e.speed, e.interval);
      else {
        this.fromVideo(l, e.vehicles, e.queue ?? (e.speed < 1 ? e.vehicles : 0), e.range);
        this.loopQueue[l] = this.queue[l];
      }
      this.reports++;
    }
  }

  /** The latest confirmation of an intersection (by id), if its signal controller sent one. */
  confirmation(intersection: string): SignalEvent | undefined {
    const i = this.net.interIndex.get(intersection);
    return i === undefined ? undefined : this.confirmations[i];
  }

  /**
   * A video detector's report. One that sees `range` metres of a longer lane
   * misses the vehicles beyond: a queue filling its view goes on beyond it
   * as dense; otherwise the vehicles driving in its view (outside the queue)
   * are as dense beyond it.
   */
  private fromVideo(l: number, vehicles: number, queue: number, range: number | undefined): void {
    const len = this.net.length[l];
    if (range === undefined || range >= len) {
      this.vehicles[l] = vehicles;
      this.queue[l] = queue;
      return;
    }
    const capacity = Math.floor(len / JAM_SPACING);
    if (queue * JAM_SPACING >= VIEW_FULL * range) {
      this.queue[l] = Math.min(capacity, Math.round((queue * len) / range));
      this.vehicles[l] = Math.min(capacity, Math.max(this.queue[l], Math.round((vehicles * len) / range)));
      return;
    }
    const driving = (vehicles - queue) / Math.max(JAM_SPACING, range - queue * JAM_SPACING);
    this.queue[l] = queue;
    this.vehicles[l] = Math.min(capacity, Math.round(vehicles + driving * (len - range)));
  }

  /** A stop-line loop's report (see the class comment). */
  private fromLoop(l: number, count: number, occupancy: number, speed: number, interval: number): void {
    const net = this.net;
    let q = this.loopQueue[l] + this.arrivals[l] * interval - count;
    if (occupancy >= LOOP_STANDING_OCCUPANCY && (count === 0 || speed < LOOP_STANDING_SPEED)) q = Math.max(1, q);
    else if (count === 0 && occupancy < LOOP_FREE_OCCUPANCY) q = 0;
    const capacity = net.length[l] / JAM_SPACING;
    q = Math.min(capacity, Math.max(0, q));
    this.loopQueue[l] = q;
    this.queue[l] = Math.round(q);
    this.vehicles[l] = Math.round(Math.min(capacity, q + (this.arrivals[l] * net.length[l]) / net.maxSpeed[l]));
  }

  /**
   * Drops what `device` contributed (its device token was revoked): each lane
   * whose last report is its goes back to never reported, so the next genuine
   * report counts whatever its timestamp (a report dated in the future would
   * otherwise outrank every later one). What it counted stays counted.
   * Returns those lanes.
   */
  forgetDevice(device: string): number[] {
    const lanes: number[] = [];
    for (let l = 0; l < this.reportedBy.length; l++) {
      if (this.reportedBy[l] !== device) continue;
      this.reportedBy[l] = undefined;
      this.reportedAt[l] = 0;
      this.countedSlots[l] = 0;
      this.vehicles[l] = 0;
      this.queue[l] = 0;
      this.arrivals[l] = 0;
      this.loopQueue[l] = 0;
      this.seen[l] = 0;
      this.silent[l] = 0;
      lanes.push(l);
    }
    return lanes;
  }
}
