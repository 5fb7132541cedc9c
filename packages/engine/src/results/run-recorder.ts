import type { Simulation } from '../sim/simulation.js';
import { compassOf, type Compass } from '../sim/geometry.js';

/**
 * What a traffic engineer takes away from a run, recorded from the
 * simulation's ground truth after every step (the study's results, as SUMO's
 * tripinfo and edge outputs are): one record per trip, per-approach and
 * per-intersection delay, stops, queues and level of service, and a time
 * series. Pure: the CLI writes the files.
 *
 * Definitions (said again in the files' headers and the report):
 * - time loss: seconds lost against the vehicle's free speed (its own top speed
 *   or the limit of the lane it is on, whichever is lower), SUMO's timeLoss and
 *   the engine's totalDelay, per vehicle;
 * - a stop: a vehicle slowing below 0.1 m/s (the waiting threshold of the
 *   queue counts) after moving;
 * - approach delay: the time loss of vehicles on an approach's lanes per vehicle
 *   that crossed its stop line (HCM's control delay, less what is lost
 *   accelerating past the stop line);
 * - queue: vehicles below 0.1 m/s on the approach's lanes, sampled every step.
 */

/** Highway Capacity Manual (6th ed.) level of service of a signalised intersection or approach by control delay, s/vehicle. */
export const LOS_THRESHOLDS: readonly { los: LevelOfService; upTo: number }[] = [
  { los: 'A', upTo: 10 }, { los: 'B', upTo: 20 }, { los: 'C', upTo: 35 }, { los: 'D', upTo: 55 }, { los: 'E', upTo: 80 }, { los: 'F', upTo: Infinity },
];
export type LevelOfService = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

export function levelOfService(delayPerVehicle: number): LevelOfService {
  for (const t of LOS_THRESHOLDS) if (delayPerVehicle <= t.upTo) return t.los;
  return 'F';
}

export interface TripRecord {
  id: string;
  /** when the vehicle was generated, s */
  depart: number;
  /** seconds it waited at the boundary for room on its first lane */
  departDelay: number;
  /** when it left the network at the end of its route, s; null if it had not */
  arrival: number | null;
  /** arrival (or the end of the run) − depart, s: its share of ATT */
  duration: number;
  /** metres driven */
  routeLength: number;
  timeLoss: number;
  /** seconds below 0.1 m/s while on the network */
  waitingTime: number;
  stops: number;
  /** first road */
  from: string;
  /** last road it drove, or for one still driving the last of its route */
  to: string;
}

export interface ApproachRecord {
  intersection: string;
  road: string;
  /** the road's street name (RoadJson.name), null where the network gives none */
  roadName: string | null;
  /** the direction traffic comes from, by the road's geometry: 'N', 'NE', ... */
  from: Compass;
  lanes: number;
  /** vehicles that crossed its stop line */
  vehicles: number;
  delayPerVehicle: number;
  stopsPerVehicle: number;
  queueP50: number;
  queueP95: number;
  queueMax: number;
  los: LevelOfService;
}

export interface IntersectionRecord {
  intersection: string;
  vehicles: number;
  delayPerVehicle: number;
  stopsPerVehicle: number;
  los: LevelOfService;
  x: number;
  y: number;
}

export interface TimeSample {
  /** end of the window, s */
  time: number;
  inNetwork: number;
  waitingToEnter: number;
  /** trips finished in the window, per hour */
  throughputPerHour: number;
  /** mean duration of the trips finished in the window, s; null when none did */
  windowTravelTime: number | null;
  /** mean speed of the vehicles on the network at the end of the window, m/s */
  meanSpeed: number;
}

/** The finished trips' records summed: divide by `trips` for a mean per trip. */
export interface FinishedTotals {
  trips: number;
  /** s */
  duration: number;
  /** s */
  timeLoss: number;
  stops: number;
}

/** the queue and stop threshold of the engine's waiting counts */
const STOPPED = 0.1;

export interface RunRecorderOptions {
  /** seconds per time-series window; default 300 */
  window?: number;
}

export class RunRecorder {
  private readonly trips: TripRecord[] = [];
  // per vehicle handle (grown with the handles seen)
  private tracked = new Uint8Array(0);
  private stopped = new Uint8Array(0);
  private admitted = new Float64Array(0);
  private length = new Float64Array(0);
  private loss = new Float64Array(0);
  private waited = new Float64Array(0);
  private stopCount = new Int32Array(0);
  private fromRoad = new Int32Array(0);
  private handles = new Int32Array(1024);
  // per lane: its approach, or -1
  private readonly approachOf: Int32Array;
  private readonly approaches: { intersection: number; road: number; lanes: number; from: Compass }[] = [];
  private readonly aDelay: Float64Array;
  private readonly aStops: Float64Array;
  private readonly aServed: Float64Array;
  private readonly aQueue: Int32Array;
  /** per approach, how many steps saw each queue length (the last bin holds longer ones) */
  private readonly aHist: Uint32Array[];
  private readonly series: TimeSample[] = [];
  private readonly window: number;
  private windowEnd: number;
  private windowFinished = 0;
  private windowDuration = 0;
  private readonly done: FinishedTotals = { trips: 0, duration: 0, timeLoss: 0, stops: 0 };
  // the engine times an entry or an exit at the start of the step it happened in (as ATT counts it)
  private readonly onEntry = (v: number, lane: number) => this.track(v, lane, this.sim.time - this.sim.interval);
  private readonly onCrossing = (_v: number, lane: number) => {
    const a = this.approachOf[lane];
    if (a >= 0) this.aServed[a]++;
  };
  private readonly onExit = (v: number, lane: number) => {
    const at = this.sim.time - this.sim.interval;
    if (v >= this.tracked.length || !this.tracked[v]) this.track(v, lane, at);
    const rec = this.record(v, at);
    rec.to = this.sim.net.roadIds[this.sim.net.laneRoad[lane]];
    this.trips.push(rec);
    this.tracked[v] = 0;
    this.windowFinished++;
    this.windowDuration += rec.duration;
    this.done.trips++;
    this.done.duration += rec.duration;
    this.done.timeLoss += rec.timeLoss;
    this.done.stops += rec.stops;
  };

  constructor(private readonly sim: Simulation, opts: RunRecorderOptions = {}) {
    const w = opts.window ?? 300;
    if (!(Number.isFinite(w) && w > 0)) throw new RangeError(`RunRecorder: window must be a positive number of seconds, got ${String(opts.window)}`);
    this.window = w;
    this.windowEnd = sim.time + w;
    const net = sim.net;
    this.approachOf = new Int32Array(net.nLanes).fill(-1);
    for (const i of net.signalised) {
      const byRoad = new Map<number, number>();
      for (const lane of net.incomingLanes(i)) {
        const road = net.laneRoad[lane];
        let a = byRoad.get(road);
        if (a === undefined) {
          a = this.approaches.length;
          byRoad.set(road, a);
          this.approaches.push({ intersection: i, road, lanes: 0, from: comingFrom(sim, road) });
        }
        this.approaches[a].lanes++;
        this.approachOf[lane] = a;
      }
    }
    const n = this.approaches.length;
    this.aDelay = new Float64Array(n);
    this.aStops = new Float64Array(n);
    this.aServed = new Float64Array(n);
    this.aQueue = new Int32Array(n);
    // a queue holds at most one vehicle per few metres of its lanes: the histogram has a bin for every length it can take
    const room = new Float64Array(n);
    for (let l = 0; l < net.nLanes; l++) if (this.approachOf[l] >= 0) room[this.approachOf[l]] += Math.ceil(net.length[l] / 4);
    this.aHist = this.approaches.map((_, a) => new Uint32Array(room[a] + 2));
  }

  /** Call after every step. */
  sample(): void {
    const sim = this.sim, net = sim.net, dt = sim.interval;
    sim.forEachEntry(this.onEntry);
    sim.forEachCrossing(this.onCrossing);
    sim.forEachExit(this.onExit);
    let n = sim.runningHandles(this.handles);
    if (n > this.handles.length) {
      this.handles = new Int32Array(2 * n);
      n = sim.runningHandles(this.handles);
    }
    this.aQueue.fill(0);
    let speedSum = 0;
    for (let k = 0; k < n; k++) {
      const v = this.handles[k];
      // placed vehicles never came in by the boundary: tracked from where they were first seen
      if (v >= this.tracked.length || !this.tracked[v]) this.track(v, sim.vehicleDrivable(v), sim.time - dt);
      const d = sim.vehicleDrivable(v);
      const speed = sim.vehicleSpeed(v);
      speedSum += speed;
      this.length[v] += speed * dt;
      const top = sim.vehicleMaxSpeed(v);
      const free = net.maxSpeed[d] < top ? net.maxSpeed[d] : top;
      const lost = speed < free ? (1 - speed / free) * dt : 0;
      this.loss[v] += lost;
      const a = d < net.nLanes ? this.approachOf[d] : -1;
      if (a >= 0) this.aDelay[a] += lost;
      if (speed < STOPPED) {
        this.waited[v] += dt;
        if (a >= 0) this.aQueue[a]++;
        if (!this.stopped[v]) {
          this.stopped[v] = 1;
          this.stopCount[v]++;
          if (a >= 0) this.aStops[a]++;
        }
      } else this.stopped[v] = 0;
    }
    for (let a = 0; a < this.aQueue.length; a++) {
      const h = this.aHist[a];
      h[Math.min(this.aQueue[a], h.length - 1)]++;
    }
    if (sim.time >= this.windowEnd - 1e-9) {
      this.series.push({
        time: sim.time, inNetwork: n, waitingToEnter: sim.waitingCount,
        throughputPerHour: (this.windowFinished * 3600) / this.window,
        windowTravelTime: this.windowFinished ? this.windowDuration / this.windowFinished : null,
        meanSpeed: n ? speedSum / n : 0,
      });
      this.windowFinished = 0;
      this.windowDuration = 0;
      this.windowEnd += this.window;
    }
  }

  /** Every trip: the finished ones, then those still on the network (arrival null, counted to now). */
  tripRecords(): TripRecord[] {
    const out = [...this.trips];
    const net = this.sim.net;
    const n = this.sim.runningHandles(this.handles);
    for (let k = 0; k < n && k < this.handles.length; k++) {
      const v = this.handles[k];
      if (!this.tracked[v]) continue;
      const rec = this.record(v, this.sim.time);
      rec.arrival = null;
      const path = this.sim.vehicleRemainingPath(v);
      let last = -1;
      for (const d of path) if (d < net.nLanes) last = net.laneRoad[d];
      rec.to = last >= 0 ? net.roadIds[last] : rec.from;
      out.push(rec);
    }
    return out;
  }

  approachRecords(): ApproachRecord[] {
    const net = this.sim.net;
    return this.approaches.map((ap, a) => {
      const served = this.aServed[a];
      const q = percentiles(this.aHist[a], [0.5, 0.95, 1]);
      const delay = served ? this.aDelay[a] / served : 0;
      return {
        intersection: net.interIds[ap.intersection], road: net.roadIds[ap.road], roadName: net.roadNames[ap.road], from: ap.from, lanes: ap.lanes, vehicles: served,
        delayPerVehicle: delay, stopsPerVehicle: served ? this.aStops[a] / served : 0,
        queueP50: q[0], queueP95: q[1], queueMax: q[2], los: levelOfService(delay),
      };
    });
  }

  intersectionRecords(): IntersectionRecord[] {
    const net = this.sim.net;
    const by = new Map<number, { served: number; delay: number; stops: number }>();
    this.approaches.forEach((ap, a) => {
      const t = by.get(ap.intersection) ?? { served: 0, delay: 0, stops: 0 };
      t.served += this.aServed[a];
      t.delay += this.aDelay[a];
      t.stops += this.aStops[a];
      by.set(ap.intersection, t);
    });
    return [...by].map(([i, t]) => {
      const delay = t.served ? t.delay / t.served : 0;
      return {
        intersection: net.interIds[i], vehicles: t.served, delayPerVehicle: delay, stopsPerVehicle: t.served ? t.stops / t.served : 0,
        los: levelOfService(delay), x: net.interX[i], y: net.interY[i],
      };
    });
  }

  /** The finished trips' totals so far (their records summed), without copying the records: for figures sampled while a run goes on. */
  finishedTotals(): Readonly<FinishedTotals> {
    return this.done;
  }

  timeSeries(): readonly TimeSample[] {
    return this.series;
  }

  private track(v: number, drivable: number, admittedAt: number): void {
    if (v >= this.tracked.length) this.grow(v + 1);
    const net = this.sim.net;
    this.tracked[v] = 1;
    this.stopped[v] = 0;
    this.admitted[v] = admittedAt;
    this.length[v] = 0;
    this.loss[v] = 0;
    this.waited[v] = 0;
    this.stopCount[v] = 0;
    this.fromRoad[v] = drivable < net.nLanes ? net.laneRoad[drivable] : -1;
  }

  private record(v: number, now: number): TripRecord {
    const net = this.sim.net;
    const depart = this.sim.vehicleEnterTime(v);
    return {
      id: this.sim.vehicleId(v), depart, departDelay: Math.max(0, this.admitted[v] - depart), arrival: now, duration: now - depart,
      routeLength: this.length[v], timeLoss: this.loss[v], waitingTime: this.waited[v], stops: this.stopCount[v],
      from: this.fromRoad[v] >= 0 ? net.roadIds[this.fromRoad[v]] : '', to: '',
    };
  }

  private grow(min: number): void {
    const size = Math.max(min, 2 * this.tracked.length, 1024);
    const g = <T extends Uint8Array | Float64Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.tracked = g(this.tracked);
    this.stopped = g(this.stopped);
    this.admitted = g(this.admitted);
    this.length = g(this.length);
    this.loss = g(this.loss);
    this.waited = g(this.waited);
    this.stopCount = g(this.stopCount);
    this.fromRoad = g(this.fromRoad);
  }
}

/** The side a road's traffic comes from where it meets its end intersection, from the two intersections' positions. */
function comingFrom(sim: Simulation, road: number): Compass {
  const net = sim.net;
  const from = net.roadStartInter[road], to = net.roadEndInter[road];
  return compassOf(net.interX[from] - net.interX[to], net.interY[from] - net.interY[to]);
}

/** Values at the given quantiles (0..1) of a histogram of small integers. */
function percentiles(hist: Uint32Array, qs: number[]): number[] {
  let total = 0;
  for (const c of hist) total += c;
  if (total === 0) return qs.map(() => 0);
  return qs.map((q) => {
    const target = q >= 1 ? total : Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let k = 0; k < hist.length; k++) {
      seen += hist[k];
      if (seen >= target) return k;
    }
    return hist.length - 1;
  });
}
