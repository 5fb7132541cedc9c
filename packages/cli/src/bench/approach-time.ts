import type { Simulation } from '@citybrain/engine';

/**
 * The literature's travel-time metric (`summaryTravelTime`), computed as the
 * code behind most published results on the CityFlow datasets computes it
 * (CoLight, Advanced-XLight, DynamicLight...: each intersection's
 * `dic_vehicle_arrive_leave_time`, then per vehicle the sum over intersections,
 * then the mean over vehicles). Per signalised intersection and vehicle:
 * - arrival: the first time the vehicle is seen on one of the intersection's
 *   lanes, entering or exiting;
 * - departure: the last time it left the intersection's entering lanes (a
 *   vehicle that comes by twice counts from its first arrival to its last
 *   departure, the time away included); none yet, or still there: the end of
 *   the run.
 * It leaves out the last road, the junctions and the wait to enter, so it
 * runs well below ATT (on HZ1 under max-pressure 284.9 s against 330.1 s,
 * as ../shared/reference/baselines.md measured in CityFlow; this reproduces it).
 *
 * Sampled after every step, as those environments poll their lanes each second.
 * A vehicle handle is reused only by a vehicle entering from the boundary, so
 * an entry gives the handle a new vehicle number.
 */
export class ApproachTime {
  /** per lane: the signalised intersections it enters (at most one) and leaves (at most one), as intersection numbers or -1 */
  private readonly enters: Int32Array;
  private readonly exits: Int32Array;
  private readonly lanes: Int32Array;
  private readonly nIx: number;
  private onLane = new Int32Array(64);
  /** per handle: the vehicle number it carries now */
  private vehicleOf = new Int32Array(4096).fill(-1);
  private nextVehicle = 0;
  /** per (vehicle, intersection) key: first arrival, last time seen on an entering lane, and the departure before that visit */
  private readonly arrival = new Map<number, number>();
  private readonly lastOnEntering = new Map<number, number>();
  private readonly departed = new Map<number, number>();
  private readonly newVehicle = (v: number) => {
    this.grow(v);
    this.vehicleOf[v] = this.nextVehicle++;
  };

  /** `intersections`: each signalised intersection's entering (incoming) lanes and exiting (outgoing) lanes. */
  constructor(private readonly sim: Simulation, intersections: readonly { entering: readonly number[]; exiting: readonly number[] }[]) {
    const n = sim.net.nLanes;
    this.nIx = intersections.length;
    this.enters = new Int32Array(n).fill(-1);
    this.exits = new Int32Array(n).fill(-1);
    const used = new Set<number>();
    intersections.forEach((ix, x) => {
      for (const l of ix.entering) {
        this.enters[l] = x;
        used.add(l);
      }
      for (const l of ix.exiting) {
        this.exits[l] = x;
        used.add(l);
      }
    });
    this.lanes = Int32Array.from(used);
  }

  /** Call after every step. */
  sample(): void {
    const sim = this.sim;
    const t = sim.time, dt = sim.interval;
    sim.forEachEntry(this.newVehicle);
    for (let k = 0; k < this.lanes.length; k++) {
      const lane = this.lanes[k];
      const n = sim.laneVehicleCount(lane);
      if (n === 0) continue;
      if (n > this.onLane.length) this.onLane = new Int32Array(2 * n);
      sim.laneVehicles(lane, this.onLane);
      const into = this.enters[lane], outOf = this.exits[lane];
      for (let i = 0; i < n; i++) {
        const h = this.onLane[i];
        this.grow(h);
        // a placed vehicle never came in by the boundary: numbered when first seen
        if (this.vehicleOf[h] < 0) this.vehicleOf[h] = this.nextVehicle++;
        const base = this.vehicleOf[h] * this.nIx;
        if (into >= 0) {
          const key = base + into;
          if (!this.arrival.has(key)) this.arrival.set(key, t);
          const last = this.lastOnEntering.get(key);
          // back after time away: it had departed one step after it was last seen
          if (last !== undefined && last < t - dt / 2 - dt) this.departed.set(key, last + dt);
          this.lastOnEntering.set(key, t);
        }
        if (outOf >= 0 && !this.arrival.has(base + outOf)) this.arrival.set(base + outOf, t);
      }
    }
  }

  /** Seconds per vehicle seen at a signalised intersection, counted to now; 0 before any was. */
  get value(): number {
    const end = this.sim.time, dt = this.sim.interval;
    const vehicles = new Set<number>();
    let total = 0;
    for (const [key, a] of this.arrival) {
      const last = this.lastOnEntering.get(key);
      // the last departure: one step after it was last seen there; there still, the one before, if any; else the end
      const left = last !== undefined && last < end - dt / 2 ? last + dt : this.departed.get(key) ?? end;
      total += left - a;
      vehicles.add(Math.floor(key / this.nIx));
    }
    return vehicles.size === 0 ? 0 : total / vehicles.size;
  }

  private grow(h: number): void {
    if (h < this.vehicleOf.length) return;
    const g = new Int32Array(Math.max(2 * this.vehicleOf.length, h + 1)).fill(-1);
    g.set(this.vehicleOf);
    this.vehicleOf = g;
  }
}
