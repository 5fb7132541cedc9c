import type { Network } from '@citybrain/engine';
import type { Observed } from '@citybrain/control';
import type { Event } from '../events.js';

/** Metres a stopped vehicle takes in a queue (a 5 m car and its 2.5 m gap). */
export const JAM_SPACING = 7.5;

/**
 * The brain's estimate of every detected lane, built only from the lane
 * events field devices report (through ingestion, once durable): vehicles on
 * the lane and how many of them are stopped, as video detectors count them.
 * Between two reports the last one holds; a lane never reported counts as empty.
 */
export class LaneEstimate implements Observed {
  readonly vehicles: Int32Array;
  readonly queue: Int32Array;
  /** epoch ms of each lane's last report; 0 when never reported */
  readonly reportedAt: Float64Array;
  /** the device whose report each lane holds (so revoking it can take that back) */
  readonly reportedBy: (string | undefined)[];
  /** the phase each intersection's signal controller last confirmed (by intersection index); -1 unknown */
  readonly confirmedPhase: Int32Array;
  /** epoch ms of each intersection's last confirmation */
  readonly confirmedAt: Float64Array;
  reports = 0;
  /** lane events naming a lane this network does not have */
  unknownLanes = 0;

  constructor(readonly net: Network) {
    this.vehicles = new Int32Array(net.nLanes);
    this.queue = new Int32Array(net.nLanes);
    this.reportedAt = new Float64Array(net.nLanes);
    this.reportedBy = new Array<string | undefined>(net.nLanes);
    this.confirmedPhase = new Int32Array(net.interIds.length).fill(-1);
    this.confirmedAt = new Float64Array(net.interIds.length);
  }

  /** Takes in a batch of stored events: lane reports, and the phases signal controllers confirm. */
  apply(events: readonly Event[]): void {
    for (const e of events) {
      if (e.kind === 'signal') {
        const i = this.net.interIndex.get(e.intersection);
        // a late confirmation does not overwrite a newer one
        if (i !== undefined && e.ts >= this.confirmedAt[i]) {
          this.confirmedAt[i] = e.ts;
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
      // an older report arriving late does not overwrite a newer one
      if (e.ts < this.reportedAt[l]) continue;
      this.reportedAt[l] = e.ts;
      this.reportedBy[l] = e.device;
      // a loop detector reports no counts on the lane: its occupancy over the interval stands in
      this.vehicles[l] = e.vehicles ?? Math.round(e.occupancy * this.net.length[l] / JAM_SPACING);
      this.queue[l] = e.queue ?? (e.speed < 1 ? this.vehicles[l] : 0);
      this.reports++;
    }
  }

  /**
   * Drops what `device` contributed (its device token was revoked): each lane
   * whose last report is its goes back to never reported, so the next genuine
   * report counts whatever its timestamp (a report dated in the future would
   * otherwise outrank every later one). Returns those lanes.
   */
  forgetDevice(device: string): number[] {
    const lanes: number[] = [];
    for (let l = 0; l < this.reportedBy.length; l++) {
      if (this.reportedBy[l] !== device) continue;
      this.reportedBy[l] = undefined;
      this.reportedAt[l] = 0;
      this.vehicles[l] = 0;
      this.queue[l] = 0;
      lanes.push(l);
    }
    return lanes;
  }
}
