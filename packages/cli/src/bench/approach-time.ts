import type { Simulation } from '@citybrain/engine';

/**
 * The literature's travel-time metric (`summaryTravelTime`), as most published
 * results on the CityFlow datasets report it (CoLight, Advanced-XLight,
 * DynamicLight...): for each signalised intersection, the time a vehicle spends
 * on that intersection's approach lanes, first seen to first not seen (a
 * vehicle still there at the end counts until the end), summed over
 * intersections per vehicle and averaged over the vehicles ever seen on an
 * approach. It leaves out the last road, the time inside junctions and the
 * wait to enter, so it runs well below ATT (../shared/reference/baselines.md).
 *
 * Sampled after every step, as those papers' environments poll their lanes
 * each second: the vehicle-seconds on the approach lanes, and the distinct
 * vehicles seen there. A vehicle handle is reused only by a vehicle that enters
 * from the boundary, so an entry clears the handle's mark. Allocation-free once
 * its buffers have grown to the largest lane and handle seen.
 */
export class ApproachTime {
  private readonly lanes: Int32Array;
  private onLane = new Int32Array(64);
  private seen = new Uint8Array(4096);
  private vehicleSeconds = 0;
  private vehicles = 0;
  private readonly clearEntry = (v: number) => {
    if (v < this.seen.length) this.seen[v] = 0;
  };

  /** `lanes`: the approach lanes of the signalised intersections (each lane enters one intersection). */
  constructor(private readonly sim: Simulation, lanes: Iterable<number>) {
    this.lanes = Int32Array.from(new Set(lanes));
  }

  /** Call after every step. */
  sample(): void {
    const sim = this.sim;
    sim.forEachEntry(this.clearEntry);
    for (let k = 0; k < this.lanes.length; k++) {
      const lane = this.lanes[k];
      const n = sim.laneVehicleCount(lane);
      if (n === 0) continue;
      if (n > this.onLane.length) this.onLane = new Int32Array(2 * n);
      sim.laneVehicles(lane, this.onLane);
      for (let i = 0; i < n; i++) {
        const v = this.onLane[i];
        if (v >= this.seen.length) {
          const grown = new Uint8Array(Math.max(2 * this.seen.length, v + 1));
          grown.set(this.seen);
          this.seen = grown;
        }
        if (this.seen[v] === 0) {
          this.seen[v] = 1;
          this.vehicles++;
        }
      }
      this.vehicleSeconds += n * sim.interval;
    }
  }

  /** Seconds per vehicle seen on an approach; 0 before any was. */
  get value(): number {
    return this.vehicles === 0 ? 0 : this.vehicleSeconds / this.vehicles;
  }
}
