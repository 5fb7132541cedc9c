import { DEFAULT_VEHICLE, Simulation, type AddVehicleOptions, type Network, type Scenario } from '@citybrain/engine';
import type { TwinConditions } from './conditions.js';
import { MAX_LANE_OBJECTS, type AvlEvent, type Event, type LaneEvent, type LaneObject, type PlateEvent } from '../events.js';
import { JAM_SPACING, LOOP_FREE_OCCUPANCY, LOOP_STANDING_OCCUPANCY, LOOP_STANDING_SPEED } from '../estimate/lane-estimate.js';
import { structuredClone } from '../clone.js';
import { EntryDemand, type EntryDemandState } from './entry-demand.js';
import { FreeSpeed, type FreeSpeedState } from './free-speed.js';
import { Headway, type HeadwayState } from './headway.js';

/**
 * The brain's own twin of the city: a simulation of the network (the
 * scenario's flows are not its business: demand is what the detectors
 * count), kept in step with what the devices report. This is what the
 * predictive controllers fork and every controller reads; the street is
 * never reachable from it.
 *
 * Three corrections keep it in step (data assimilation):
 * - demand: each lane entering the network gets, as the simulation's entry
 *   rate (Simulation.setEntryRate), the arrival rate its detector measures
 *   (departures at the stop line plus the change in vehicles on the lane)
 *   over the last two minutes (EntryDemand);
 * - turning: the simulation's turning weights (setTurnWeights) are the
 *   turning counts plate reads give (a plate read at one stop line and next
 *   at the following intersection is one vehicle making that movement: the
 *   pairs ObservedKpis makes, handed to `movement`), starting from a uniform prior; every arriving or added vehicle drives a
 *   route drawn from them;
 * - lanes: each video report of a lane's vehicles and queue moves the twin's
 *   lane towards it: vehicles the twin lacks are added (stopped at the back
 *   of its queue, or moving upstream of it), vehicles it has in excess are
 *   taken off from the back. A stop-line loop (no vehicle count) says only
 *   whether a queue stands over it: a queue the loop does not see is taken off,
 *   one it sees and the twin lacks is started.
 * Demand and turning weights are thus the simulation's own state: a fork of
 * the twin (a predictive controller's rollout) keeps receiving the arrivals.
 *
 * A vehicle the twin carries by id (an emergency vehicle, added when it was
 * dispatched) is moved to where its AVL unit reports it (`avl` events):
 * its lane and metres along it, projected forward by its speed over the
 * report's age. Between reports the twin drives it on along its route (dead
 * reckoning: a lost report or two, the jitter of delivery). After `avlHoldAfter`
 * seconds without one, the twin puts it back where it was last reported and
 * holds it there until it reports again: a vehicle that stopped (a patient
 * picked up, a breakdown) is the likelier cause of a long silence, and
 * driving it on would take its green corridor past intersections it has yet
 * to reach, which would then be red when it comes; held, the corridor keeps
 * its approach green (the operator can cancel the priority).
 */
export interface BrainTwinOptions {
  /** seed of the twin's simulation: the routes it draws for arriving and added vehicles */
  seed?: number;
  /**
   * share of a lane's vehicle-count mismatch corrected at each report, in
   * (0, 1]; default 0.7: a detector's error is not copied in whole, and the
   * next report corrects what remains
   */
  gain?: number;
  /** seconds over which an entry lane's arrival rate is measured (EntryDemand); default 120 */
  rateWindow?: number;
  /** roads a drawn route has at most (it ends earlier where the network does); default 40 (SimulationOptions.maxRouteRoads) */
  maxRouteRoads?: number;
  /** seconds without an AVL report after which a vehicle is held at its last reported position; default 10 (ten missed reports) */
  avlHoldAfter?: number;
}

/** What the twin knows of a vehicle from its AVL unit. */
export interface AvlTrack {
  /** ts of the report it follows (epoch ms) */
  ts: number;
  /** the twin's second it was applied at */
  at: number;
  /** where it was reported: lane index, metres from the lane's start */
  lane: number;
  distance: number;
  /** held at that position since the silence began (avlHoldAfter) */
  held: boolean;
}

/** The twin's state as plain data (structured-cloneable). */
export interface BrainTwinState {
  /** the simulation, with the entry rates and turning weights */
  sim: ReturnType<Simulation['exportState']>;
  lastTs: Float64Array;
  crossedAt: Float64Array;
  departureBalance: Float64Array;
  turns: Float64Array;
  demand: EntryDemandState;
  stats: BrainTwinStats;
  /** the vehicles followed by AVL; absent in a snapshot from before AVL */
  avl?: [string, AvlTrack][];
  /** each entry lane's measured arrival rate (before the feeds' conditions); absent in a snapshot from before them */
  measured?: Float64Array;
  /** the free speed learnt from the detectors; absent in a snapshot from before it */
  freeSpeed?: FreeSpeedState;
  /** the headway time learnt from tracked vehicles; absent in a snapshot from before it */
  headway?: HeadwayState;
  /** each entry lane's checkpoint reads within the demand's window (lane, ts) and its first read's ts (Infinity: none); absent in a snapshot from before them */
  entryReads?: { lane: number; ts: number[]; first: number }[];
}

/** What assimilation did so far (for metrics and the benchmark). */
export interface BrainTwinStats {
  /** vehicles that arrived at the network's entries (drawn from the entry rates: Simulation.drawnCount) */
  injected: number;
  /** vehicles added to lanes whose detectors saw more than the twin had */
  added: number;
  /** vehicles taken off lanes whose detectors saw fewer */
  removed: number;
  /** movements learnt from plate reads */
  turnsObserved: number;
  /** AVL positions a vehicle was moved to */
  avlApplied: number;
  /** AVL positions not followed: the twin has no such vehicle, the position is off its route, or there is no room there */
  avlIgnored: number;
  /** vehicles placed where checkpoint cameras read them entering the network (absent in a snapshot from before them) */
  entered?: number;
}

/** The twin's own vehicles: placed by assimilation or drawn from the entry rates. */
const TWIN_VEHICLE = /^(placed|drawn)_/;

/** Whether an event moves the twin's vehicles: lane reports, AVL reports, checkpoint reads of vehicles entering. */
function moves(e: Event): boolean {
  return e.kind === 'lane' || e.kind === 'avl' || (e.kind === 'plate' && e.position === 'entry');
}

/** Whether a vehicle of the twin's simulation is the twin's own guess (placed by assimilation or drawn from the entry rates), not one it follows (a dispatched vehicle). */
export function isTwinVehicle(id: string): boolean {
  return TWIN_VEHICLE.test(id);
}
/** m/s below which a vehicle stands (the engine's and the detectors' rule). */
const STOPPED = 0.1;
/** Seconds a tracked vehicle's report is moved on at most (an older one is as good as lost). */
const MAX_AGE = 10;
/** Metres a vehicle takes in a moving stream (kept free in front of a placed one). */
const MOVING_SPACING = 15;

export class BrainTwin {
  readonly sim: Simulation;
  readonly net: Network;
  readonly stats: BrainTwinStats = { injected: 0, added: 0, removed: 0, turnsObserved: 0, avlApplied: 0, avlIgnored: 0, entered: 0 };
  private readonly gain: number;
  private readonly demand: EntryDemand;
  /** lanes of roads no lane link leads onto: vehicles appear there from outside */
  readonly entryLane: Uint8Array;
  /** the newest report's ts, per lane */
  private readonly lastTs: Float64Array;
  /** per lane: the twin's stop-line crossings at that report, and the departures it still owes (+) or has in excess (-) (correctDepartures) */
  private readonly crossedAt: Float64Array;
  private readonly departureBalance: Float64Array;
  /** turning counts per laneLink k (drivable nLanes + k), prior 1: the simulation's turning weights */
  private readonly turns: Float64Array;
  /**
   * The simulation as the last step started (a fork), while nothing has
   * changed it since: reports taken then and delivered after the step are
   * applied to it and the step is run again (observe). A report delivered a
   * second late put a vehicle at 12 m/s 12 m short, and the twin's queues
   * discharged a second late (grid 4x4, predictive: 181.8 s with reports
   * delivered at once, 188.4 s a second late, its vehicles moved on by their
   * speed).
   */
  private past: Simulation | null = null;
  private pastValid = false;
  /** turns changed since they were last handed to the simulation */
  private turnsChanged = false;
  private laneBuf: Int32Array;
  private readonly avlHoldAfter: number;
  /** the vehicles followed by AVL, by id */
  private readonly avl = new Map<string, AvlTrack>();
  /** each entry lane's arrival rate as its detector measures it (EntryDemand), before the conditions shift it */
  private readonly measured: Float64Array;
  /** what the feeds say now (setConditions): closed lanes, extra entry demand, driving factors */
  private closed: Uint8Array;
  private extra: Float64Array;
  private conditions: TwinConditions | undefined;
  /** the free speed the detectors report (FreeSpeed), and the top speed last given to drawn and placed vehicles */
  private readonly freeSpeed = new FreeSpeed();
  private topSpeed = DEFAULT_VEHICLE.maxSpeed;
  /** whether the free speed or the headway observed something since the last step: only then can their estimates move */
  private learnt = false;
  /** per entry lane: the ts of its checkpoint reads within the demand's window, and of its first; the reads' ids, a minute */
  private readonly reads: number[][] = [];
  private readonly firstRead: Float64Array;
  private readonly entryReadIds = new Map<string, number>();
  private pruneReadsAt = 4096;
  private readonly rateWindowMs: number;
  /** the time gap the tracking detectors see drivers keep (Headway), and the one last given to drawn and placed vehicles */
  private readonly headway = new Headway();
  private headwayTime = DEFAULT_VEHICLE.headwayTime;

  constructor(scenario: Pick<Scenario, 'roadnet'> & Partial<Scenario>, opts: BrainTwinOptions = {}) {
    // the network only: what the city's demand is, the devices say
    this.sim = new Simulation({ ...scenario, flows: [] } as Scenario, { seed: opts.seed ?? 0, maxRouteRoads: opts.maxRouteRoads });
    const net = (this.net = this.sim.net);
    this.gain = opts.gain ?? 0.7;
    if (!(this.gain > 0 && this.gain <= 1)) throw new RangeError(`brain twin: gain must be in (0, 1], got ${opts.gain}`);
    const fed = new Uint8Array(net.nLanes);
    for (let d = 0; d < net.nLinks; d++) fed[net.linkEndLane[d]] = 1;
    const onRoad = new Uint8Array(net.roadIds.length);
    for (let l = 0; l < net.nLanes; l++) if (fed[l]) onRoad[net.laneRoad[l]] = 1;
    this.entryLane = new Uint8Array(net.nLanes);
    for (let l = 0; l < net.nLanes; l++) this.entryLane[l] = onRoad[net.laneRoad[l]] ? 0 : 1;
    const slot = new Int32Array(net.nLanes).fill(-1);
    let entries = 0;
    for (let l = 0; l < net.nLanes; l++) if (this.entryLane[l]) slot[l] = entries++;
    this.demand = new EntryDemand(slot, entries, opts.rateWindow ?? 120);
    this.rateWindowMs = (opts.rateWindow ?? 120) * 1000;
    this.firstRead = new Float64Array(net.nLanes).fill(Infinity);
    this.lastTs = new Float64Array(net.nLanes);
    this.crossedAt = new Float64Array(net.nLanes);
    this.departureBalance = new Float64Array(net.nLanes);
    this.turns = new Float64Array(net.nLinks).fill(1);
    this.laneBuf = new Int32Array(256);
    this.measured = new Float64Array(net.nLanes);
    this.closed = new Uint8Array(net.nLanes);
    this.extra = new Float64Array(net.nLanes);
    this.avlHoldAfter = opts.avlHoldAfter ?? 10;
    if (!(this.avlHoldAfter > 0)) throw new RangeError(`brain twin: avlHoldAfter must be a positive number of seconds, got ${opts.avlHoldAfter}`);
  }

  /**
   * Takes device events as they become durable: lane reports correct the
   * lanes and the demand (plate reads teach the turns through `movement`),
   * AVL reports move their vehicles. `nowMs`: the twin's present in epoch
   * ms, by which a tracked vehicle or an AVL unit reported at `ts` has moved
   * on (reports reach the brain a second or more after they were taken);
   * absent, reports are taken as of their own time.
   */
  observe(events: readonly Event[], nowMs?: number): void {
    // reports taken one step ago (delivered a second late, as most are): applied to the state of that time, and the step run again from there
    let replayed: Set<Event> | undefined;
    if (nowMs !== undefined && this.pastValid) {
      // (plate reads and confirmations change nothing here: a batch of them leaves the kept state usable)
      const dt = this.sim.interval * 1000;
      const late = events.filter((e) => moves(e) && Math.round((nowMs - e.ts) / dt) === 1);
      if (late.length > 0) {
        this.past!.forkInto(this.sim);
        for (const e of late) this.apply(e, e.ts);
        this.advance();
        this.pastValid = false;
        replayed = new Set(late);
      }
    }
    for (const e of events) {
      if (replayed?.has(e) || !moves(e)) continue;
      // corrected after the step, the state kept before it is no longer where this one came from
      this.pastValid = false;
      this.apply(e, nowMs);
    }
  }

  private apply(e: Event, nowMs: number | undefined): void {
    if (e.kind === 'lane') this.laneReport(e, nowMs ?? e.ts);
    else if (e.kind === 'avl') this.avlReport(e, nowMs);
    else if (e.kind === 'plate') this.entryRead(e, nowMs ?? e.ts);
  }

  /**
   * A checkpoint camera read a vehicle entering the network on an entry lane: it is placed there (from a standstill
   * at the lane's start, moved on by the read's age at the usual acceleration up to the free speed), where otherwise
   * the entry rate would have drawn one at a time of its own.
   * Beyond the stop-line camera's view an entry lane held only those draws, whose count on a lane was off by more than
   * it held (grid 4x4: 0.21 vehicles per lane against 0.07 on the lanes fed by upstream stop lines). The lane's
   * arrival rate then draws only the vehicles the cameras miss (entryRates). A read delivered twice is placed once;
   * one older than MAX_AGE is left to the lane's detector.
   */
  private entryRead(e: PlateEvent, nowMs: number): void {
    const l = e.lane === undefined ? undefined : this.net.laneIndex.get(e.lane);
    if (l === undefined || !this.entryLane[l]) return;
    const key = `${e.device}\u0000${e.id}`;
    if (this.entryReadIds.has(key)) return;
    this.entryReadIds.set(key, e.ts);
    if (this.entryReadIds.size > this.pruneReadsAt) {
      for (const [k, ts] of this.entryReadIds) if (ts < e.ts - 60_000) this.entryReadIds.delete(k);
      // a city whose boundary reads more than that in a minute prunes again only once the map has doubled
      this.pruneReadsAt = Math.max(4096, 2 * this.entryReadIds.size);
    }
    const times = (this.reads[l] ??= []);
    times.push(e.ts);
    if (e.ts < this.firstRead[l]) this.firstRead[l] = e.ts;
    const age = (nowMs - e.ts) / 1000;
    if (age > MAX_AGE || this.closed[l]) return;
    // from a standstill at the lane's start, as the simulation admits the arrivals it draws (placed at the free speed,
    // they reached the stop line seconds before the street's: grid 5x5, +4.8% against ground truth as with no reads)
    const acc = this.sim.drawnVehicleParams().usualPosAcc;
    const t = Math.max(0, age), top = Math.min(this.topSpeed, this.net.maxSpeed[l]);
    const accelerating = Math.min(t, top / acc);
    const at = 0.5 * acc * accelerating * accelerating + top * (t - accelerating);
    if (at < this.net.length[l] && this.place(l, at, acc * accelerating)) this.stats.entered = (this.stats.entered ?? 0) + 1;
  }

  /** Entry reads per second on entry lane l over the demand's window before `ts` (its reads kept that long). */
  private readRate(l: number, ts: number): number {
    const times = this.reads[l];
    if (!times || times.length === 0) return 0;
    const from = ts - this.rateWindowMs;
    let k = 0;
    while (k < times.length && times[k] < from) k++;
    if (k > 0) times.splice(0, k);
    // until the window has passed since the first read: the reads over the time since then
    const span = Math.min(this.rateWindowMs, ts - this.firstRead[l]) / 1000;
    return span > 0 ? times.length / span : 0;
  }

  /** Adds a vehicle the brain follows on its own account (a dispatched emergency vehicle: Simulation.addVehicle). */
  addVehicle(v: AddVehicleOptions): string {
    // not in the state kept for replaying a step
    this.pastValid = false;
    return this.sim.addVehicle(v);
  }

  /** What the twin knows of vehicle `id` from its AVL unit (undefined: no report followed yet). */
  avlTrack(id: string): Readonly<AvlTrack> | undefined {
    return this.avl.get(id);
  }

  /**
   * Moves the vehicle to its reported position (its lane, the metres along
   * it projected forward by its speed over the report's age, not beyond the
   * lane's end), clearing the twin's own vehicles that stand in the way. A
   * report older than the one followed is ignored, and so is one of a vehicle
   * the twin does not carry, or off its route (the twin keeps its guess).
   */
  private avlReport(e: AvlEvent, nowMs: number | undefined): void {
    const sim = this.sim;
    const net = this.net;
    const h = sim.vehicleHandle(e.vehicle);
    const road = net.roadIndex.get(e.road);
    const last = this.avl.get(e.vehicle);
    if (h < 0 || road === undefined || e.lane >= net.roadLaneCount[road] || (last && e.ts <= last.ts)) {
      this.stats.avlIgnored++;
      return;
    }
    const lane = net.roadFirstLane[road] + e.lane;
    const age = nowMs === undefined ? 0 : Math.max(0, (nowMs - e.ts) / 1000);
    const reported = Math.min(e.distance, net.length[lane]);
    const distance = Math.min(reported + e.speed * age, net.length[lane]);
    if (!this.relocate(h, lane, distance, e.speed)) {
      this.stats.avlIgnored++;
      return;
    }
    this.avl.set(e.vehicle, { ts: e.ts, at: sim.time, lane, distance: reported, held: false });
    this.stats.avlApplied++;
  }

  /** Moves vehicle h (Simulation.relocateVehicle), taking the twin's own guesses off the spot first when they leave no room; whether it moved. */
  private relocate(h: number, lane: number, distance: number, speed: number): boolean {
    const sim = this.sim;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        sim.relocateVehicle(h, { lane, distance, speed });
        return true;
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        if (attempt > 0 || !/no room/.test(err.message)) return false;
      }
      // the report is what is there: the twin's guesses overlapping it go (from a vehicle length and gap behind, to one ahead)
      const lo = distance - sim.vehicleLength(h) - 3, hi = distance + 10;
      const n = this.lane(lane);
      for (let j = n - 1; j >= 0; j--) {
        const v = this.laneBuf[j];
        const at = sim.vehicleDistance(v);
        if (v === h || at < lo || at > hi || !TWIN_VEHICLE.test(sim.vehicleId(v))) continue;
        sim.removeVehicle(v);
        this.stats.removed++;
      }
    }
    return false;
  }

  /** Vehicles silent for avlHoldAfter seconds go back to their last reported position and stand there until they report again. */
  private holdSilent(): void {
    const sim = this.sim;
    for (const [id, t] of this.avl) {
      const h = sim.vehicleHandle(id);
      if (h < 0) {
        this.avl.delete(id);
        continue;
      }
      if (sim.time - t.at < this.avlHoldAfter) continue;
      if (!t.held) {
        t.held = true;
        // where it was seen last: if it moved on since, a later report moves it again
        this.relocate(h, t.lane, t.distance, 0);
      }
      // stands this step (not in a junction: there it drives out, and stands at its next lane)
      if (sim.vehicleStatus(id).state === 'running' && sim.vehicleDrivable(h) < this.net.nLanes) sim.breakDown(h, sim.interval);
    }
  }

  /**
   * A vehicle was seen leaving lane `fromLane`'s stop line onto lane `toLane` (two plate reads, ObservedKpis'
   * onMovement): one more on the lane link from the one to the other, or, where none joins the two lanes (the
   * vehicle changed lanes on its way), on the first link onto toLane's road. The link's end lane matters: a drawn
   * route takes the next road's lane from it, and where each lane of that road serves one movement, that lane is
   * the vehicle's next turn. Counted on the first link onto the road whatever the lane, the twin sent nearly
   * every vehicle leaving a stop line into the next road's first lane (a left turn, on a generated grid), and
   * the stretch beyond the cameras' view held the wrong lanes' vehicles.
   */
  movement(fromLane: number, toLane: number): void {
    const net = this.net;
    const road = net.laneRoad[toLane];
    let onRoad = -1;
    for (let o = net.laneOutStart[fromLane]; o < net.laneOutStart[fromLane + 1]; o++) {
      const k = net.laneOutList[o] - net.nLanes;
      const end = net.linkEndLane[k];
      if (end === toLane) {
        onRoad = k;
        break;
      }
      if (onRoad < 0 && net.laneRoad[end] === road) onRoad = k;
    }
    if (onRoad < 0) return;
    this.turns[onRoad] += 1;
    this.turnsChanged = true;
    this.stats.turnsObserved++;
  }

  /**
   * What the datasets that feed the brain say now (conditions.ts): closed
   * lanes get no arrivals (an entry lane's measured demand moves to its road's
   * open lanes) and weigh 0 in the turning weights, so drawn routes and their
   * lanes avoid them wherever the road has another (vehicles already on a
   * closed lane drive off it); extra demand arrives on the entry lanes named;
   * drawn and placed vehicles drive with maxSpeed and headwayTime scaled by
   * the factors. `undefined` lifts every condition.
   */
  setConditions(c: TwinConditions | undefined): void {
    const net = this.net;
    const closed = new Uint8Array(net.nLanes);
    const extra = new Float64Array(net.nLanes);
    for (const l of c?.closedLanes ?? []) {
      if (!(Number.isInteger(l) && l >= 0 && l < net.nLanes)) throw new RangeError(`brain twin: closed lane ${l} is not a lane index of this network (0..${net.nLanes - 1})`);
      closed[l] = 1;
    }
    for (const [l, r] of c?.extraEntry ?? []) {
      if (!(Number.isInteger(l) && l >= 0 && l < net.nLanes && this.entryLane[l])) throw new RangeError(`brain twin: extra demand on lane ${l}, which is not an entry lane`);
      if (!(r >= 0 && r < Infinity)) throw new RangeError(`brain twin: extra demand on lane ${net.drivableId(l)} must be a finite number >= 0 vehicles/s, got ${r}`);
      extra[l] = r;
    }
    const speedFactor = c?.speedFactor ?? 1, headwayFactor = c?.headwayFactor ?? 1;
    if (!(speedFactor > 0 && speedFactor <= 1) || !(headwayFactor >= 1 && headwayFactor < Infinity)) throw new RangeError(`brain twin: speedFactor must be in (0, 1] and headwayFactor >= 1, got ${speedFactor} and ${headwayFactor}`);
    const closedChanged = closed.some((x, l) => x !== this.closed[l]);
    this.closed = closed;
    this.extra = extra;
    this.conditions = c;
    const roads = new Set<number>();
    for (let l = 0; l < net.nLanes; l++) if (this.entryLane[l]) roads.add(net.laneRoad[l]);
    for (const r of roads) this.entryRates(r);
    if (closedChanged) this.turnsChanged = true;
    this.vehicleParams();
  }

  /**
   * Drawn and placed vehicles' top speed and headway: the free speed the
   * detectors report (CityFlow's default until they have reported enough),
   * learnt in normal conditions only and then scaled by the conditions' factors.
   */
  private vehicleParams(): void {
    const speedFactor = this.conditions?.speedFactor ?? 1, headwayFactor = this.conditions?.headwayFactor ?? 1;
    this.topSpeed = this.freeSpeed.estimate() ?? DEFAULT_VEHICLE.maxSpeed;
    this.headwayTime = this.headway.estimate() ?? DEFAULT_VEHICLE.headwayTime;
    this.sim.setDrawnVehicleParams({ maxSpeed: this.topSpeed * speedFactor, headwayTime: this.headwayTime * headwayFactor });
  }

  /** The conditions in force (setConditions). */
  get currentConditions(): TwinConditions | undefined {
    return this.conditions;
  }

  /** Whether a lane is closed by the conditions. */
  isClosed(lane: number): boolean {
    return this.closed[lane] === 1;
  }

  /** The learnt turning counts as the simulation's weights: links onto a closed lane weigh 0. */
  private weights(): Float64Array {
    const w = this.turns.slice();
    for (let k = 0; k < w.length; k++) if (this.closed[this.net.linkEndLane[k]]) w[k] = 0;
    return w;
  }

  /** An entry road's lanes' rates: each its measured demand and extra, a closed lane's moved evenly onto the road's open ones (none open: none arrive). */
  private entryRates(road: number): void {
    const net = this.net;
    const first = net.roadFirstLane[road], n = net.roadLaneCount[road];
    let shifted = 0, open = 0;
    for (let l = first; l < first + n; l++) {
      if (!this.entryLane[l]) continue;
      if (this.closed[l]) shifted += this.measured[l] + this.extra[l];
      else open++;
    }
    for (let l = first; l < first + n; l++) {
      if (!this.entryLane[l]) continue;
      // the vehicles checkpoint cameras read entering are placed as they are read (entryRead): drawn are the others
      this.sim.setEntryRate(l, this.closed[l] ? 0 : Math.max(0, this.measured[l] + this.extra[l] + shifted / open - this.readRate(l, this.lastTs[l])));
    }
  }

  /** Advances one step (set the phases before): the simulation brings the arrivals itself, by its entry rates. */
  step(): void {
    if (this.learnt) {
      this.learnt = false;
      const free = this.freeSpeed.estimate(), headway = this.headway.estimate();
      if ((free !== undefined && free !== this.topSpeed) || (headway !== undefined && headway !== this.headwayTime)) this.vehicleParams();
    }
    // plate reads of a step are handed over together, once
    if (this.turnsChanged) {
      this.sim.setTurnWeights(this.weights());
      this.turnsChanged = false;
    }
    // the state this step starts from (its phases set), for reports of it that arrive after the step
    this.past = this.past ? this.sim.forkInto(this.past) : this.sim.fork();
    this.pastValid = true;
    this.advance();
  }

  /** One step of the simulation, with what the twin does at every step. */
  private advance(): void {
    if (this.avl.size > 0) this.holdSilent();
    this.sim.step();
    this.stats.injected = this.sim.drawnCount;
  }

  private laneReport(e: LaneEvent, nowMs: number): void {
    const net = this.net;
    const l = net.laneIndex.get(e.lane);
    if (l === undefined) return;
    // one delivered again (a retry, a restart re-sending what was pending) is taken once
    if (e.ts === this.lastTs[l]) return;
    // a late report is older than what the twin already followed: the demand still counts it, the lane is not corrected
    const fresh = e.ts > this.lastTs[l];
    if (this.entryLane[l]) {
      this.measured[l] = this.demand.report(l, e.ts, e.count, e.interval, e.vehicles, fresh);
      this.entryRates(net.laneRoad[l]);
    }
    if (!fresh) return;
    // the free speed and the headway are learnt in normal conditions: under a condition's factor, what the detectors see is scaled by it already
    if ((this.conditions?.speedFactor ?? 1) === 1) {
      if (e.objects !== undefined) for (const o of e.objects) this.freeSpeed.observe(o.speed);
      else if (e.count > 0) this.freeSpeed.observe(e.speed);
      this.learnt = true;
    }
    if (e.objects !== undefined && (this.conditions?.headwayFactor ?? 1) === 1) {
      this.observeGaps(e.objects);
      this.learnt = true;
    }
    const gap = e.ts - this.lastTs[l];
    this.lastTs[l] = e.ts;
    // a video detector that sees only the last `range` metres says nothing of the lane beyond
    const from = e.range !== undefined && e.range < net.length[l] ? net.length[l] - e.range : 0;
    if (e.objects !== undefined) {
      // the vehicles themselves: the front of the lane included, so no departure count is needed
      this.correctFromObjects(l, e.objects, from, Math.min(MAX_AGE, Math.max(0, (nowMs - e.ts) / 1000)));
      return;
    }
    this.correctDepartures(l, e.count, gap <= 1.5 * e.interval * 1000);
    if (e.vehicles !== undefined) {
      this.correctCount(l, e.vehicles, e.queue ?? 0, from);
    } else {
      this.correctFromLoop(l, e);
    }
  }

  /** The time gaps between the vehicles a tracking detector lists in a row (Headway), front first. */
  private observeGaps(objects: readonly LaneObject[]): void {
    const o = objects.length <= 1 ? objects : [...objects].sort((a, b) => a.distance - b.distance);
    for (let j = 1; j < o.length; j++) this.headway.observe(o[j - 1].distance, o[j - 1].speed, o[j].distance, o[j].speed, DEFAULT_VEHICLE.length);
  }

  /**
   * A tracking detector's vehicles replace the twin's own on the stretch it
   * sees: where each vehicle is and how fast it goes, which counts cannot
   * say. With counts alone the twin knew how many vehicles a lane held but
   * not where: a vehicle it lacked was added at the back of the stretch, so
   * which vehicles would reach the stop line within a few seconds (what
   * SOTL's gap-out and the predictive rollouts turn on) was a guess (grid
   * 4x4, SOTL on perfect counts every second: 188.6 s against 170.2 s on
   * the street's truth; on the street's positions every 5 s: 172.2 s). The
   * replaced vehicles' routes are drawn anew from the turning weights: no
   * device tells where a vehicle goes next. Placed front first, each at
   * least a queued vehicle's spacing behind the one ahead (reported
   * positions are noisy); one the lane has no room for is left out.
   * A report `age` seconds old is moved on by each vehicle's speed over that
   * time (a stopped one stays; one that would be past the stop line by now
   * is left to the next lane's report): delivered a second late, a vehicle
   * at 12 m/s is 12 m further (grid 4x4, predictive: 194.1 s on the
   * default devices, 181.6 s with reports delivered at once).
   */
  private correctFromObjects(l: number, objects: readonly LaneObject[], from: number, age: number): void {
    const sim = this.sim;
    const len = this.net.length[l];
    const seen = objects.length <= 1 ? objects : [...objects].sort((a, b) => a.distance - b.distance);
    // a full list (MAX_LANE_OBJECTS) may end before the view does: beyond its last vehicle the twin keeps its own
    if (seen.length >= MAX_LANE_OBJECTS) from = Math.max(from, len - seen[seen.length - 1].distance - JAM_SPACING / 2);
    const m = this.lane(l);
    let removed = 0;
    for (let j = 0; j < m; j++) {
      const v = this.laneBuf[j];
      if (sim.vehicleDistance(v) < from) break;
      if (!TWIN_VEHICLE.test(sim.vehicleId(v))) continue;
      sim.removeVehicle(v);
      removed++;
    }
    let placed = 0;
    let ahead = Infinity;
    for (const o of seen) {
      const moved = len - o.distance + o.speed * age;
      if (moved > len) continue;
      const at = Math.min(len - 0.5, moved, ahead - JAM_SPACING);
      if (at < from || at < 0) break;
      if (this.place(l, at, o.speed)) {
        placed++;
        ahead = at;
      }
    }
    if (placed > removed) this.stats.added += placed - removed;
    else this.stats.removed += removed - placed;
  }

  /**
   * The stop line first: the vehicles the detector counted leaving the lane
   * against those the twin let go since the previous report. A twin that
   * discharged too few takes the difference off the front of the lane (those
   * vehicles are gone in the street); one that discharged too many puts it
   * back, stopped at the stop line. Corrected at the front, a discharge
   * that is early or late in the twin does not turn into a vehicle missing
   * at the back, added there and driven to the stop line a second time (a
   * phantom arrival, which controllers that look at approaching vehicles
   * took for demand). The difference is kept as a balance that halves at
   * each report, so the detector's occasional missed count and the reports'
   * jitter never add up to a correction. `paired`: the report follows the
   * previous one by about its interval (none lost or late in between), so the
   * two counts cover the same time.
   */
  private correctDepartures(l: number, counted: number, paired: boolean): void {
    const crossed = this.sim.laneCrossings(l);
    const twin = crossed - this.crossedAt[l];
    this.crossedAt[l] = crossed;
    if (!paired) {
      this.departureBalance[l] = 0;
      return;
    }
    const b = 0.5 * this.departureBalance[l] + (counted - twin);
    const k = Math.trunc(b);
    let done = 0;
    if (k > 0) done = this.removeFromFront(l, k);
    else if (k < 0) done = -this.putBackAtFront(l, -k);
    if (done > 0) this.stats.removed += done;
    else this.stats.added -= done;
    this.departureBalance[l] = b - done;
  }

  /** Takes up to n of the twin's own vehicles off the front of the lane (the next to cross its stop line). */
  private removeFromFront(l: number, n: number): number {
    const m = this.lane(l);
    let removed = 0;
    for (let j = 0; j < m && removed < n; j++) {
      const v = this.laneBuf[j];
      if (!TWIN_VEHICLE.test(this.sim.vehicleId(v))) continue;
      this.sim.removeVehicle(v);
      removed++;
    }
    return removed;
  }

  /** Puts up to n vehicles back at the stop line, stopped, while there is room in front of the first one. */
  private putBackAtFront(l: number, n: number): number {
    let placed = 0;
    for (let j = 0; j < n; j++) {
      const m = this.lane(l);
      const at = m === 0 ? this.net.length[l] - 0.5 : Math.min(this.net.length[l] - 0.5, this.sim.vehicleDistance(this.laneBuf[0]) + JAM_SPACING);
      if (at > this.net.length[l] || !this.place(l, at, 0)) break;
      placed++;
    }
    return placed;
  }

  /** Moves the twin's lane, from `from` metres to its stop line, towards `vehicles` there, `queue` of them stopped. */
  private correctCount(l: number, vehicles: number, queue: number, from: number): void {
    // stopped and moving vehicles apart: a queue the twin lacks is added at its tail, moving vehicles upstream; an excess of either goes from the back
    const n = this.lane(l);
    let have = 0, stopped = 0;
    for (let j = 0; j < n; j++) {
      const v = this.laneBuf[j];
      if (this.sim.vehicleDistance(v) < from) break;
      have++;
      if (this.sim.vehicleSpeed(v) < STOPPED) stopped++;
    }
    const dq = this.share(queue - stopped);
    const dm = this.share(vehicles - queue - (have - stopped));
    if (dq < 0) this.stats.removed += this.removeFromBack(l, -dq, 'stopped', from);
    if (dm < 0) this.stats.removed += this.removeFromBack(l, -dm, 'moving', from);
    if (dq > 0) this.stats.added += this.addQueued(l, dq, from);
    if (dm > 0) this.stats.added += this.addMoving(l, dm, from);
  }

  /** The part of a mismatch corrected at once: `gain` of it, at least one vehicle. */
  private share(diff: number): number {
    return diff === 0 ? 0 : Math.sign(diff) * Math.max(1, Math.round(this.gain * Math.abs(diff)));
  }

  /** A stop-line loop (the lane estimate's rule): occupied and slow means a vehicle stands over it; free with none passing means none waits at the line. */
  private correctFromLoop(l: number, e: LaneEvent): void {
    const sim = this.sim;
    if (e.count === 0 && e.occupancy < LOOP_FREE_OCCUPANCY) {
      this.stats.removed += this.removeFromBack(l, sim.laneWaitingCount(l), 'stopped', 0);
    } else if (e.occupancy >= LOOP_STANDING_OCCUPANCY && (e.count === 0 || e.speed < LOOP_STANDING_SPEED) && sim.laneWaitingCount(l) === 0) {
      this.stats.added += this.addQueued(l, 1, 0);
    }
  }

  /** Adds up to n stopped vehicles at the back of the lane's queue (at the stop line when there is none), not beyond `from`. */
  private addQueued(l: number, n: number, from: number): number {
    const sim = this.sim;
    let added = 0;
    for (let j = 0; j < n; j++) {
      const back = this.back(l);
      // the front of a stopped vehicle behind the back one: its length and gap further upstream
      const at = back < 0 ? this.net.length[l] - 0.5 : sim.vehicleDistance(back) - JAM_SPACING;
      if (at < from || (back >= 0 && sim.vehicleSpeed(back) >= STOPPED && j === 0 && sim.laneWaitingCount(l) === 0)) break;
      if (!this.place(l, at, 0)) break;
      added++;
    }
    return added;
  }

  /** Adds up to n vehicles moving upstream of everything on the lane's watched stretch (from `from`), spaced along its free part. */
  private addMoving(l: number, n: number, from: number): number {
    const sim = this.sim;
    const m = this.lane(l);
    let end = this.net.length[l];
    for (let j = 0; j < m && sim.vehicleDistance(this.laneBuf[j]) >= from; j++) end = sim.vehicleDistance(this.laneBuf[j]) - MOVING_SPACING;
    const free = end - from;
    let added = 0;
    for (let j = 0; j < n; j++) {
      const at = end - (j + 0.5) * Math.max(MOVING_SPACING, free / n);
      if (at < from) break;
      if (this.place(l, at, this.net.maxSpeed[l] * 0.8)) added++;
    }
    return added;
  }

  /** Takes up to n of the twin's own vehicles, stopped or moving, off the lane's watched stretch (from `from`), from its back. */
  private removeFromBack(l: number, n: number, which: 'stopped' | 'moving', from: number): number {
    const sim = this.sim;
    const m = this.lane(l);
    let removed = 0;
    for (let j = m - 1; j >= 0 && removed < n; j--) {
      const v = this.laneBuf[j];
      if (sim.vehicleDistance(v) < from) continue;
      // vehicles added by others (an emergency vehicle the brain follows) are not the twin's to drop
      if (!TWIN_VEHICLE.test(sim.vehicleId(v))) continue;
      if ((sim.vehicleSpeed(v) < STOPPED) !== (which === 'stopped')) continue;
      sim.removeVehicle(v);
      removed++;
    }
    return removed;
  }

  /** The lane's vehicles into laneBuf, front first (grown to hold them all); returns how many. */
  private lane(l: number): number {
    const n = this.sim.laneVehicleCount(l);
    if (n > this.laneBuf.length) this.laneBuf = new Int32Array(Math.max(n, 2 * this.laneBuf.length));
    return this.sim.laneVehicles(l, this.laneBuf);
  }

  /** The vehicle furthest upstream on the lane, or -1. */
  private back(l: number): number {
    const n = this.lane(l);
    return n > 0 ? this.laneBuf[n - 1] : -1;
  }

  /** Places one vehicle, its route drawn by the simulation from the turning weights; false when there is no room there. */
  private place(l: number, distance: number, speed: number): boolean {
    try {
      this.sim.placeVehicle({ lane: l, distance, speed });
      return true;
    } catch (e) {
      if (e instanceof RangeError && /no room/.test(e.message)) return false;
      throw e;
    }
  }

  exportState(): BrainTwinState {
    return {
      sim: this.sim.exportState(), lastTs: this.lastTs.slice(), crossedAt: this.crossedAt.slice(), departureBalance: this.departureBalance.slice(), turns: this.turns.slice(), demand: this.demand.exportState(), stats: structuredClone(this.stats),
      avl: structuredClone([...this.avl]),
      measured: this.measured.slice(),
      freeSpeed: this.freeSpeed.exportState(),
      headway: this.headway.exportState(),
      entryReads: this.reads.flatMap((ts, lane) => (ts ? [{ lane, ts: ts.slice(), first: this.firstRead[lane] }] : [])),
    };
  }

  /** Continues from exported state of a twin of the same network. */
  importState(s: BrainTwinState): void {
    this.pastValid = false;
    if (s.lastTs?.length !== this.lastTs.length || s.turns?.length !== this.turns.length) {
      throw new RangeError(`brain twin state: made for another network (${s.lastTs?.length} lanes and ${s.turns?.length} lane links, this one has ${this.lastTs.length} and ${this.turns.length})`);
    }
    this.sim.importState(s.sim);
    this.lastTs.set(s.lastTs);
    this.crossedAt.set(s.crossedAt);
    this.departureBalance.set(s.departureBalance);
    this.turns.set(s.turns);
    this.demand.importState(s.demand);
    if (s.freeSpeed) this.freeSpeed.importState(s.freeSpeed);
    if (s.headway) this.headway.importState(s.headway);
    this.learnt = true;
    this.reads.length = 0;
    this.firstRead.fill(Infinity);
    for (const r of s.entryReads ?? []) {
      if (!(Number.isInteger(r.lane) && r.lane >= 0 && r.lane < this.net.nLanes)) throw new RangeError(`brain twin state: entry reads of lane ${r.lane}, not a lane of this network`);
      this.reads[r.lane] = r.ts.slice();
      this.firstRead[r.lane] = r.first;
    }
    // the vehicles' parameters came with the simulation: the learnt free speed and headway are given again at the next step
    this.topSpeed = NaN;
    this.headwayTime = NaN;
    // (a state from before the feeds: the simulation's rates are the measured ones)
    if (s.measured?.length === this.measured.length) this.measured.set(s.measured);
    else for (let l = 0; l < this.measured.length; l++) this.measured[l] = this.entryLane[l] ? this.sim.entryRate(l) : 0;
    // counts read after the last step were not in the simulation's weights yet: hand them over at the next step
    this.turnsChanged = true;
    Object.assign(this.stats, s.stats);
    this.avl.clear();
    for (const [id, t] of s.avl ?? []) this.avl.set(id, { ...t });
    this.stats.injected = this.sim.drawnCount;
  }
}
