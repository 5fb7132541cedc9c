import { Simulation, type Network, type Scenario } from '@citybrain/engine';
import type { Event, LaneEvent, PlateEvent } from '../events.js';
import { JAM_SPACING } from '../estimate/lane-estimate.js';
import { structuredClone } from '../clone.js';

/**
 * The brain's own twin of the city: a simulation of the network (the
 * scenario's flows are not its business: demand is what the detectors
 * count), kept in step with what the devices report. This is what the
 * predictive controllers fork and every controller reads; the street is
 * never reachable from it.
 *
 * Three corrections keep it in step (data assimilation):
 * - demand: on each lane entering the network, vehicles are injected at the
 *   arrival rate its detector measures (departures at the stop line plus the
 *   change in vehicles on the lane), smoothed over the last reports;
 * - turning: each injected or added vehicle drives a route drawn from the
 *   turning counts plate reads give (a plate read at one stop line and next
 *   at the following intersection is one vehicle making that movement),
 *   starting from a uniform prior;
 * - lanes: each video report of a lane's vehicles and queue moves the twin's
 *   lane towards it: vehicles the twin lacks are added (stopped at the back
 *   of its queue, or moving upstream of it), vehicles it has in excess are
 *   taken off from the back. A stop-line loop (no vehicle count) says only
 *   whether a queue stands over it: a queue the loop does not see is taken off,
 *   one it sees and the twin lacks is started.
 */
export interface BrainTwinOptions {
  /** seed of the twin's own randomness (routes, placements) */
  seed?: number;
  /**
   * share of a lane's vehicle-count mismatch corrected at each report, in
   * (0, 1]; default 0.7: a detector's error is not copied in whole, and the
   * next report corrects what remains
   */
  gain?: number;
  /** weight of the newest report in a lane's arrival rate, in (0, 1]; default 0.25 (some 20 s at 5 s reports) */
  rateSmoothing?: number;
  /** roads a drawn route has at most (it ends earlier where the network does); default 40 */
  maxRouteRoads?: number;
}

/** The twin's state as plain data (structured-cloneable). */
export interface BrainTwinState {
  sim: ReturnType<Simulation['exportState']>;
  rng: number;
  rate: Float64Array;
  credit: Float64Array;
  lastVehicles: Int32Array;
  lastTs: Float64Array;
  turns: Float64Array;
  plates: [string, number, number][];
  stats: BrainTwinStats;
}

/** What assimilation did so far (for metrics and the benchmark). */
export interface BrainTwinStats {
  /** vehicles injected at the network's entries */
  injected: number;
  /** vehicles added to lanes whose detectors saw more than the twin had */
  added: number;
  /** vehicles taken off lanes whose detectors saw fewer */
  removed: number;
  /** movements learnt from plate reads */
  turnsObserved: number;
}

/** Plate reads kept for matching the next read of the same vehicle, at most. */
const MAX_PLATES = 50_000;
/** A plate not read again within this many ms has left the area watched. */
const PLATE_TTL_MS = 15 * 60_000;
/** Metres a vehicle takes in a moving stream (kept free in front of a placed one). */
const MOVING_SPACING = 15;

export class BrainTwin {
  readonly sim: Simulation;
  readonly net: Network;
  readonly stats: BrainTwinStats = { injected: 0, added: 0, removed: 0, turnsObserved: 0 };
  private readonly gain: number;
  private readonly alpha: number;
  private readonly maxRoads: number;
  /** lanes of roads no lane link leads onto: vehicles appear there from outside */
  readonly entryLane: Uint8Array;
  /** arrivals per second measured on each entry lane, and injection owed */
  private readonly rate: Float64Array;
  private readonly credit: Float64Array;
  /** the previous report's vehicles (-1 none) and ts, per lane */
  private readonly lastVehicles: Int32Array;
  private readonly lastTs: Float64Array;
  /** turning counts per (lane, out link): turns[laneOutStart[l] + j] for the j-th link out of lane l, prior 1 */
  private readonly turns: Float64Array;
  /** last stop-line read per plate: [lane, ts] */
  private readonly plates = new Map<string, [number, number]>();
  private rng: number;
  private readonly laneBuf: Int32Array;

  constructor(scenario: Pick<Scenario, 'roadnet'> & Partial<Scenario>, opts: BrainTwinOptions = {}) {
    // the network only: what the city's demand is, the devices say
    this.sim = new Simulation({ ...scenario, flows: [] } as Scenario, { seed: opts.seed ?? 0 });
    const net = (this.net = this.sim.net);
    this.gain = opts.gain ?? 0.7;
    if (!(this.gain > 0 && this.gain <= 1)) throw new RangeError(`brain twin: gain must be in (0, 1], got ${opts.gain}`);
    this.alpha = opts.rateSmoothing ?? 0.25;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`brain twin: rateSmoothing must be in (0, 1], got ${opts.rateSmoothing}`);
    this.maxRoads = opts.maxRouteRoads ?? 40;
    if (!(Number.isInteger(this.maxRoads) && this.maxRoads >= 1)) throw new RangeError(`brain twin: maxRouteRoads must be a whole number >= 1, got ${opts.maxRouteRoads}`);
    this.rng = ((opts.seed ?? 0) ^ 0x6a09e667) >>> 0 || 1;
    const fed = new Uint8Array(net.nLanes);
    for (let d = 0; d < net.nLinks; d++) fed[net.linkEndLane[d]] = 1;
    const onRoad = new Uint8Array(net.roadIds.length);
    for (let l = 0; l < net.nLanes; l++) if (fed[l]) onRoad[net.laneRoad[l]] = 1;
    this.entryLane = new Uint8Array(net.nLanes);
    for (let l = 0; l < net.nLanes; l++) this.entryLane[l] = onRoad[net.laneRoad[l]] ? 0 : 1;
    this.rate = new Float64Array(net.nLanes);
    this.credit = new Float64Array(net.nLanes);
    this.lastVehicles = new Int32Array(net.nLanes).fill(-1);
    this.lastTs = new Float64Array(net.nLanes);
    this.turns = new Float64Array(net.laneOutStart[net.nLanes]).fill(1);
    this.laneBuf = new Int32Array(256);
  }

  /** Takes device events as they become durable: lane reports correct the lanes and the demand, plate reads teach the turns. */
  observe(events: readonly Event[]): void {
    for (const e of events) {
      if (e.kind === 'lane') this.laneReport(e);
      else if (e.kind === 'plate') this.plateRead(e);
    }
  }

  /** Injects the demand owed on the entry lanes, then advances one step (set the phases before). */
  step(): void {
    const sim = this.sim;
    const net = this.net;
    const dt = sim.interval;
    for (let l = 0; l < net.nLanes; l++) {
      if (!this.entryLane[l] || this.rate[l] <= 0) continue;
      this.credit[l] = Math.min(this.credit[l] + this.rate[l] * dt, 10);
      // a vehicle that finds no room waits, like one at the boundary
      while (this.credit[l] >= 1 && this.place(l, 0, net.maxSpeed[l] * 0.8)) {
        this.credit[l] -= 1;
        this.stats.injected++;
      }
    }
    sim.step();
  }

  private laneReport(e: LaneEvent): void {
    const net = this.net;
    const l = net.laneIndex.get(e.lane);
    if (l === undefined) return;
    // a late report is older than what the twin already followed: the demand still counts it, the lane is not corrected
    const fresh = e.ts >= this.lastTs[l];
    if (this.entryLane[l]) {
      let arrivals = e.count;
      if (e.vehicles !== undefined && this.lastVehicles[l] >= 0 && fresh) arrivals += e.vehicles - this.lastVehicles[l];
      const r = Math.max(0, arrivals) / e.interval;
      this.rate[l] = this.lastTs[l] === 0 ? r : (1 - this.alpha) * this.rate[l] + this.alpha * r;
    }
    if (!fresh) return;
    this.lastTs[l] = e.ts;
    if (e.vehicles !== undefined) {
      this.lastVehicles[l] = e.vehicles;
      this.correctCount(l, e.vehicles, e.queue ?? 0);
    } else {
      this.correctFromLoop(l, e);
    }
  }

  /** Moves the twin's lane towards `vehicles` on it, `queue` of them stopped. */
  private correctCount(l: number, vehicles: number, queue: number): void {
    const sim = this.sim;
    const have = sim.laneVehicleCount(l);
    const diff = vehicles - have;
    if (diff === 0) return;
    const k = Math.sign(diff) * Math.max(1, Math.round(this.gain * Math.abs(diff)));
    if (k < 0) {
      this.stats.removed += this.removeFromBack(l, -k, false);
      return;
    }
    const stopped = Math.max(0, Math.min(k, queue - sim.laneWaitingCount(l)));
    this.stats.added += this.addQueued(l, stopped) + this.addMoving(l, k - stopped);
  }

  /** A stop-line loop: occupied and slow means a queue stands over it; empty over a whole interval means none does. */
  private correctFromLoop(l: number, e: LaneEvent): void {
    const sim = this.sim;
    if (e.occupancy < 0.05 && e.count === 0) {
      this.stats.removed += this.removeFromBack(l, sim.laneWaitingCount(l), true);
    } else if (e.occupancy > 0.7 && e.speed < 2 && sim.laneWaitingCount(l) === 0) {
      this.stats.added += this.addQueued(l, 2);
    }
  }

  /** Adds up to n stopped vehicles at the back of the lane's queue (at the stop line when there is none). */
  private addQueued(l: number, n: number): number {
    const sim = this.sim;
    let added = 0;
    for (let j = 0; j < n; j++) {
      const back = this.back(l);
      // the front of a stopped vehicle behind the back one: its length and gap further upstream
      const at = back < 0 ? this.net.length[l] - 0.5 : sim.vehicleDistance(back) - JAM_SPACING;
      if (at < 0 || (back >= 0 && sim.vehicleSpeed(back) > 0.1 && j === 0 && sim.laneWaitingCount(l) === 0)) break;
      if (!this.place(l, at, 0)) break;
      added++;
    }
    return added;
  }

  /** Adds up to n vehicles moving upstream of everything on the lane, spaced along the free stretch. */
  private addMoving(l: number, n: number): number {
    const sim = this.sim;
    const back = this.back(l);
    const free = back < 0 ? this.net.length[l] : sim.vehicleDistance(back) - MOVING_SPACING;
    let added = 0;
    for (let j = 0; j < n; j++) {
      const at = free - (j + 0.5) * Math.max(MOVING_SPACING, free / n);
      if (at < 0) break;
      if (this.place(l, at, this.net.maxSpeed[l] * 0.8)) added++;
    }
    return added;
  }

  /** Takes up to n of the twin's own vehicles off the lane, from the back; `stoppedOnly`: only those standing. */
  private removeFromBack(l: number, n: number, stoppedOnly: boolean): number {
    const sim = this.sim;
    const m = this.lane(l);
    let removed = 0;
    for (let j = m - 1; j >= 0 && removed < n; j--) {
      const v = this.laneBuf[j];
      // vehicles added by others (an emergency vehicle the brain follows) are not the twin's to drop
      if (!sim.vehicleId(v).startsWith('placed_')) continue;
      if (stoppedOnly && sim.vehicleSpeed(v) > 0.1) continue;
      sim.removeVehicle(v);
      removed++;
    }
    return removed;
  }

  private lane(l: number): number {
    const n = this.sim.laneVehicles(l, this.laneBuf);
    return Math.min(n, this.laneBuf.length);
  }

  /** The vehicle furthest upstream on the lane, or -1. */
  private back(l: number): number {
    const n = this.lane(l);
    return n > 0 ? this.laneBuf[n - 1] : -1;
  }

  /** Places one vehicle with a drawn route; false when there is no room there. */
  private place(l: number, distance: number, speed: number): boolean {
    try {
      this.sim.placeVehicle({ lane: l, distance, speed, route: this.route(l) });
      return true;
    } catch (e) {
      if (e instanceof RangeError && /no room/.test(e.message)) return false;
      throw e;
    }
  }

  /** A route from lane l's road: each next road drawn from the turning counts, to the network's edge. */
  private route(l: number): number[] {
    const net = this.net;
    const roads = [net.laneRoad[l]];
    let lane = l;
    while (roads.length < this.maxRoads) {
      const o0 = net.laneOutStart[lane];
      const o1 = net.laneOutStart[lane + 1];
      if (o1 === o0) break;
      let total = 0;
      for (let o = o0; o < o1; o++) total += this.turns[o];
      let x = this.random() * total;
      let pick = o1 - 1;
      for (let o = o0; o < o1; o++) {
        x -= this.turns[o];
        if (x < 0) {
          pick = o;
          break;
        }
      }
      const next = net.linkEndLane[net.laneOutList[pick] - net.nLanes];
      roads.push(net.laneRoad[next]);
      lane = next;
    }
    return roads;
  }

  private plateRead(e: PlateEvent): void {
    if (e.lane === undefined || (e.position ?? 'stop-line') === 'entry') return;
    const net = this.net;
    const l = net.laneIndex.get(e.lane);
    if (l === undefined) return;
    const prev = this.plates.get(e.plate);
    if (prev && e.ts > prev[1] && e.ts - prev[1] < PLATE_TTL_MS) {
      const [from] = prev;
      // the next road of that vehicle is this lane's road: count the movement on the link that leads there
      const road = net.laneRoad[l];
      for (let o = net.laneOutStart[from]; o < net.laneOutStart[from + 1]; o++) {
        if (net.laneRoad[net.linkEndLane[net.laneOutList[o] - net.nLanes]] === road) {
          this.turns[o] += 1;
          this.stats.turnsObserved++;
          break;
        }
      }
    }
    if (e.position === 'exit') {
      this.plates.delete(e.plate);
      return;
    }
    this.plates.delete(e.plate);
    this.plates.set(e.plate, [l, e.ts]);
    // oldest first (insertion order): bounded, and reads past their time go
    for (const [p, [, ts]] of this.plates) {
      if (this.plates.size <= MAX_PLATES && e.ts - ts < PLATE_TTL_MS) break;
      this.plates.delete(p);
    }
  }

  /** xorshift32, the twin's own */
  private random(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng / 4294967296;
  }

  exportState(): BrainTwinState {
    return {
      sim: this.sim.exportState(), rng: this.rng, rate: this.rate.slice(), credit: this.credit.slice(), lastVehicles: this.lastVehicles.slice(),
      lastTs: this.lastTs.slice(), turns: this.turns.slice(), plates: [...this.plates].map(([p, [l, ts]]) => [p, l, ts]), stats: structuredClone(this.stats),
    };
  }

  /** Continues from exported state of a twin of the same network. */
  importState(s: BrainTwinState): void {
    if (s.rate.length !== this.rate.length || s.turns.length !== this.turns.length) throw new RangeError(`brain twin state: made for another network (${s.rate.length} lanes, this one has ${this.rate.length})`);
    this.sim.importState(s.sim);
    this.rng = s.rng;
    this.rate.set(s.rate);
    this.credit.set(s.credit);
    this.lastVehicles.set(s.lastVehicles);
    this.lastTs.set(s.lastTs);
    this.turns.set(s.turns);
    this.plates.clear();
    for (const [p, l, ts] of s.plates) this.plates.set(p, [l, ts]);
    Object.assign(this.stats, s.stats);
  }
}
