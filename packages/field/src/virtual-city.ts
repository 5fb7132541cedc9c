import { structuredClone } from './clone.js';
import { DEVICE_ID, type AvlEvent, type Event, type Plan, type PlatePosition, type SignalEvent } from '@citybrain/brain';
import { Simulation, type AddVehicleOptions, type Network, type RandomKind, type Scenario } from '@citybrain/engine';
import { deviceId } from './device-id.js';
import { FieldSignals } from './signals.js';
import type { FieldSignalControllerState, PlanVerdict } from './signal-controller.js';
import { FieldSensors, resolveSensing, type Sensing, type SensingOptions, type SensingPreset, type SensorsState } from './sensing.js';
import { xorshift32 } from './random.js';
import { ParkingDrivers, type ParkingApp, type ParkingDriversOptions } from './parking-drivers.js';

/**
 * The virtual city: the twin running as if it were the street, with the field
 * devices a real deployment has. Its detectors and cameras emit the same
 * events real ones send (per-lane counts, queues, occupancy and speed every
 * few seconds; a plate read per vehicle crossing a stop line, entering or
 * leaving the network; parking-bay changes), and its signal heads accept plans
 * and report the phase they show. The devices err, lose and delay reports as
 * real ones do (sensing.ts) unless `sensing: 'perfect'`.
 * A user sees the whole City Brain work with nothing else installed.
 * Its events are the protocol's own (`Event`, events.ts), nothing more.
 */

/**
 * A field device of the virtual city and what it may report on: its token's
 * scope, were it a real device. Its events are admitted under that scope
 * like any device's (serve.ts, city/field-admission.ts).
 */
export interface FieldDevice {
  device: string;
  intersections: readonly string[];
  bays: readonly string[];
  /** an AVL unit: the vehicle whose position it reports */
  vehicles?: readonly string[];
}

/** Seconds between two position reports of a vehicle's AVL unit. */
export const AVL_PERIOD = 1;

export interface ParkingBay {
  id: string;
  intersection: string;
  x: number;
  y: number;
  occupied: boolean;
}

export interface VirtualCityOptions {
  seed?: number;
  /** the street simulation's random stream (SimulationOptions.random); default 'xoshiro' */
  random?: RandomKind;
  /** the devices' models (sensing.ts): a preset ('perfect', 'default', 'loop') or settings over DEFAULT_SENSING; default DEFAULT_SENSING */
  sensing?: SensingOptions | SensingPreset;
  /** seconds between two detector reports: sensing.period under its older name (sensing.period wins) */
  detectorPeriod?: number;
  /** parking bays near each signalised intersection; default 8 */
  baysPerIntersection?: number;
  /** wall-clock epoch (ms) of simulated second 0; default now */
  epochMs?: number;
  /** share of vehicles whose plate is not in the registry; default 0.005 */
  unregisteredShare?: number;
  /**
   * share of vehicles driving on a cloned plate: the plate of a vehicle of
   * another flow that sets off at about the same time (two vehicles, one
   * plate, far apart); default 0
   */
  clonedShare?: number;
  /**
   * private cars working as unlicensed taxis (default 0): each takes, when
   * idle, a trip of a vehicle setting off from a pick-up point (the first
   * junction of every `PICK_UP_EVERY`-th flow's route), so its plate makes
   * many short trips with stops between (see `taxiStopSeconds`)
   */
  illegalTaxis?: number;
  /** share of the trips from pick-up points an idle unlicensed taxi takes; default 0.5 */
  taxiTripShare?: number;
  /** the least a taxi stands between two trips (waiting for a fare), seconds; default 420 */
  taxiStopSeconds?: number;
  /**
   * vehicles breaking down on the detected lanes (approaches of signalised
   * intersections) per simulated hour, at random times; default 0. Nothing
   * reports them: the brain has to detect them from the lane detectors.
   */
  breakdownsPerHour?: number;
  /** how long a breakdown blocks its lane, simulated seconds, drawn uniformly in [min, max]; default [300, 900] */
  breakdownSeconds?: [number, number];
  /**
   * Whether a plan message is the brain's (its signature verifies against
   * the brain's public key); default: none is, and the signal controllers
   * run their local plans.
   */
  planVerify?: (plan: Plan) => boolean;
  /** seconds a signal controller holds the brain's last plan before running its local plan; default 10 */
  watchdog?: number;
}

/** A breakdown the virtual city caused: the ground truth incident detection is measured against. */
export interface Breakdown {
  vehicle: string;
  lane: string;
  /** simulated seconds it started and ends */
  t: number;
  until: number;
}

/** Every this many flows (0, k, 2k, ...), a flow sets off from a pick-up point, where unlicensed taxis take fares. */
export const PICK_UP_EVERY = 3;

/**
 * What the street knows of the plates its vehicles carry (the truth the
 * watchlist benchmark scores against), as of the reads so far.
 */
export interface PlateTruth {
  /** plates carried by two vehicles, with the vehicles seen carrying each */
  cloned: Map<string, Set<string>>;
  /** the unlicensed taxis' plates, with the trips each took (vehicle ids) */
  taxis: Map<string, string[]>;
}

interface Taxi {
  plate: string;
  /** the vehicle driving its current trip; '' between trips */
  vehicle: string;
  /** simulated second it was last read or ended a trip */
  lastSeen: number;
}

/** A VirtualCity's state as plain data (structured-cloneable). */
export interface VirtualCityState {
  sim: ReturnType<Simulation['exportState']>;
  epochMs: number;
  rng: number;
  occupied: boolean[];
  lastCrossings: Int32Array;
  breakdowns: Breakdown[];
  signals: FieldSignalControllerState[];
  /** absent in a snapshot from before the device models: they start afresh */
  sensors?: SensorsState;
  /** the vehicles with an AVL unit (emergency vehicles); absent in a snapshot from before AVL: none */
  avl?: string[];
}

export class VirtualCity {
  readonly sim: Simulation;
  readonly bays: ParkingBay[] = [];
  /** every device that reports, with what it reports on (the scope its token would carry) */
  readonly devices: readonly FieldDevice[];
  readonly detectorPeriod: number;
  /** the signal controllers: they take the brain's plans and set what the street shows */
  get signals(): FieldSignals {
    return this.heads;
  }
  private heads: FieldSignals;
  private readonly signalOptions: { verify?: (plan: Plan) => boolean; watchdog?: number };
  /** the device models' settings in force */
  readonly sensing: Sensing;
  /** the device models (which detector each lane has, what each device is doing) */
  readonly sensors: FieldSensors;
  /** wall-clock epoch (ms) of simulated second 0 (moved forward by importState when the city resumes after a pause) */
  get epochMs(): number {
    return this.epoch;
  }
  private epoch: number;
  /** the event ids' middle part: the epoch at first, a fresh one after importState (the ids of a resumed city never repeat stored ones) */
  private idBase: number;
  private readonly unregisteredShare: number;
  private readonly clonedShare: number;
  private readonly taxiTripShare: number;
  private readonly taxiStopSeconds: number;
  private readonly taxis: Taxi[] = [];
  /** the plate of each trip a taxi took, by vehicle id (the street's truth; not in snapshots: a resumed city's taxis start afresh) */
  private readonly taxiPlate = new Map<string, string>();
  private readonly flows: Scenario['flows'];
  /** the pick-up points (junction positions, metres) unlicensed taxis take fares at */
  readonly pickUpPoints: { intersection: string; x: number; y: number }[] = [];
  /** the plates' truth so far (benchmarks only: the brain never sees it) */
  readonly plateTruth: PlateTruth = { cloned: new Map(), taxis: new Map() };
  private readonly breakdownRate: number;
  private readonly breakdownSeconds: [number, number];
  private readonly detectedLane: Uint8Array;
  /** every breakdown so far, oldest first */
  readonly breakdowns: Breakdown[] = [];
  /** incoming lanes of each signalised intersection, as (intersection id, lane) pairs */
  private readonly detected: { inter: string; lane: number; laneId: string; device: string; dev: number }[] = [];
  /** the camera device at each intersection (plates are read per crossing: no id built per read), and its index in `devices` */
  private readonly cameraOf: string[];
  private readonly cameraDev: Int32Array;
  /** per bay, its parking sensor's device index */
  private readonly bayDev: Int32Array;
  /** this step's events while the simulation's callbacks run */
  private out: Event[] = [];
  private readonly lastCrossings: Int32Array;
  private readonly seq = new Map<string, number>();
  /** vehicles on the network read under their own plates already (a pick-up vehicle's first read decides whether a taxi takes it; a clone's victim is one of its carriers) */
  private readonly seenOwn = new Set<string>();
  private rng: number;
  /** the vehicles fitted with an AVL unit (emergency vehicles), by id, with their unit's device id */
  private readonly avl = new Map<string, string>();
  /** AVL units fitted so far (the n of a unit named `avl:<n>`) */
  private avlFitted = 0;
  private readonly avlPos = new Float64Array(3);
  /** drivers who reserve with an app (useParkingApp), when the street has one */
  private drivers: ParkingDrivers | undefined;
  /** the parking sensors report their bays' state at the next step (they just started) */
  private sensorsStarting = true;

  constructor(scenario: Scenario, opts: VirtualCityOptions = {}) {
    this.sim = new Simulation(scenario, { seed: opts.seed ?? 0, random: opts.random });
    const sensing = resolveSensing(opts.sensing);
    this.sensing = opts.detectorPeriod !== undefined && !(typeof opts.sensing === 'object' && opts.sensing.period !== undefined) ? resolveSensing({ ...sensing, period: opts.detectorPeriod }) : sensing;
    this.detectorPeriod = this.sensing.period;
    this.epoch = opts.epochMs ?? Date.now();
    this.idBase = this.epoch;
    this.unregisteredShare = opts.unregisteredShare ?? 0.005;
    this.clonedShare = opts.clonedShare ?? 0;
    this.taxiTripShare = opts.taxiTripShare ?? 0.5;
    this.taxiStopSeconds = opts.taxiStopSeconds ?? 420;
    for (const [name, v] of [['unregisteredShare', this.unregisteredShare], ['clonedShare', this.clonedShare], ['taxiTripShare', this.taxiTripShare]] as const) {
      if (!(v >= 0 && v <= 1)) throw new RangeError(`virtual city: ${name} must be a share in [0, 1], got ${v}`);
    }
    const nTaxis = opts.illegalTaxis ?? 0;
    if (!(Number.isInteger(nTaxis) && nTaxis >= 0)) throw new RangeError(`virtual city: illegalTaxis must be a whole number >= 0, got ${nTaxis}`);
    if (!(this.taxiStopSeconds >= 0 && Number.isFinite(this.taxiStopSeconds))) throw new RangeError(`virtual city: taxiStopSeconds must be a number >= 0, got ${this.taxiStopSeconds}`);
    this.flows = scenario.flows;
    // registered private plates (an unregistered taxi would be flagged as that first)
    for (let k = 0; this.taxis.length < nTaxis; k++) {
      const plate = plateOf(`taxi_${k}`);
      if (this.isRegistered(plate)) this.taxis.push({ plate, vehicle: '', lastSeen: -Infinity });
    }
    this.rng = ((opts.seed ?? 0) ^ 0x2545f491) >>> 0 || 1;
    const net = this.sim.net;
    this.breakdownRate = opts.breakdownsPerHour ?? 0;
    if (!(Number.isFinite(this.breakdownRate) && this.breakdownRate >= 0)) throw new RangeError(`virtual city: breakdownsPerHour must be a number >= 0, got ${this.breakdownRate}`);
    this.breakdownSeconds = opts.breakdownSeconds ?? [300, 900];
    const [bMin, bMax] = this.breakdownSeconds;
    if (!(bMin > 0 && bMax >= bMin && Number.isFinite(bMax))) throw new RangeError(`virtual city: breakdownSeconds must be [min, max] with 0 < min <= max, got [${bMin}, ${bMax}]`);
    this.lastCrossings = new Int32Array(net.nLanes);
    this.detectedLane = new Uint8Array(net.nLanes);
    this.cameraOf = net.interIds.map((_, i) => deviceId('cam', net, i));
    const perIntersection = opts.baysPerIntersection ?? 8;
    for (const i of net.signalised) {
      const id = net.interIds[i];
      for (const lane of net.incomingLanes(i)) {
        this.detected.push({ inter: id, lane, laneId: net.laneId(lane), device: deviceId('det', net, i), dev: -1 });
        this.detectedLane[lane] = 1;
      }
      for (let k = 0; k < perIntersection; k++) {
        // bays on a ring around the junction, kerbside
        const a = (2 * Math.PI * k) / perIntersection;
        const r = (net.interWidth[i] || 15) + 25;
        this.bays.push({ id: `bay-${id}-${k}`, intersection: id, x: net.interX[i] + r * Math.cos(a), y: net.interY[i] + r * Math.sin(a), occupied: this.random() < 0.6 });
      }
    }
    const points = new Set<number>();
    for (let f = 0; f < this.flows.length; f += PICK_UP_EVERY) {
      const first = this.flows[f].route[0];
      const road = first === undefined ? undefined : net.roadIndex.get(first);
      if (road !== undefined) points.add(net.roadEndInter[road]);
    }
    for (const i of [...points].sort((a, b) => a - b)) this.pickUpPoints.push({ intersection: net.interIds[i], x: net.interX[i], y: net.interY[i] });
    this.devices = fieldDevices(net, this.bays);
    const devIndex = new Map(this.devices.map((d, k) => [d.device, k]));
    for (const d of this.detected) d.dev = devIndex.get(d.device)!;
    this.cameraDev = Int32Array.from(this.cameraOf, (c) => devIndex.get(c) ?? -1);
    this.bayDev = Int32Array.from(this.bays, (b) => devIndex.get(deviceId('park', net, net.interIndex.get(b.intersection)!))!);
    this.sensors = new FieldSensors(this.sensing, this.sim, this.detected.map((d) => d.lane), this.devices.length, opts.seed ?? 0);
    this.signalOptions = { verify: opts.planVerify, watchdog: opts.watchdog };
    this.heads = new FieldSignals(this.sim, { ...this.signalOptions, epochMs: this.epoch, idBase: this.idBase });
  }

  /**
   * An emergency vehicle sets off (Simulation.addVehicle), fitted with an AVL
   * unit that reports its position every AVL_PERIOD seconds while it drives
   * (device `avl-<vehicle id>`, whose scope is that vehicle: `device`).
   */
  addEmergencyVehicle(v: AddVehicleOptions): string {
    const id = this.sim.addVehicle(v);
    this.avl.set(id, avlDeviceId(id, this.avlFitted++));
    return id;
  }

  /**
   * Some of the street's drivers reserve ahead through `app` (a third-party
   * parking app speaking to the city's API), drive to the bay it gives and
   * park there; the others park where they find a free bay. Returns the
   * drivers' model (its `stats`).
   */
  useParkingApp(app: ParkingApp, opts?: ParkingDriversOptions & { seed?: number }): ParkingDrivers {
    const areas = new Map<string, { x: number; y: number }>();
    for (const b of this.bays) if (!areas.has(b.intersection)) areas.set(b.intersection, { x: b.x, y: b.y });
    this.drivers = new ParkingDrivers(app, [...areas.values()], this.bays, opts?.seed ?? this.rng, opts);
    return this.drivers;
  }

  /** A device reporting now: one of `devices`, or the AVL unit of a vehicle it carries (they come and go). */
  device(id: string): FieldDevice | undefined {
    for (const [vehicle, device] of this.avl) if (device === id) return { device, intersections: [], bays: [], vehicles: [vehicle] };
    return this.devices.find((d) => d.device === id);
  }

  /** A plan message for one of its signal controllers arrives (checked, verified; the verdict says why one is refused). */
  receivePlan(plan: unknown): PlanVerdict {
    return this.signals.receive(plan);
  }

  /** Simulated seconds since the city started. */
  get time(): number {
    return this.sim.time;
  }

  /** Wall-clock timestamp (epoch ms) of the current simulated instant. */
  get ts(): number {
    return this.epochMs + Math.round(this.sim.time * 1000);
  }

  /** Advances the street by one step and returns what the field devices reported during it (and what reached the brain late). */
  step(): Event[] {
    const events: Event[] = (this.out = []);
    // the signal controllers set what the street shows for this step, and confirm it
    this.signals.tick(events as SignalEvent[]);
    if (this.breakdownRate > 0 && this.random() < (this.breakdownRate / 3600) * this.sim.interval) this.breakDownOne();
    this.sim.step();
    const sensors = this.sensors;
    sensors.due(events);
    const ts = this.ts;
    const t = this.sim.time;
    const net = this.sim.net;
    // cameras at the stop lines: one plate read per crossing (stop-line loops time the same crossings)
    this.sim.forEachCrossing(this.onCrossing);
    if (this.sensing.checkpoints) {
      this.sim.forEachEntry(this.onEntry);
      this.sim.forEachExit(this.onExit);
    }
    if (this.taxis.length > 0 || this.clonedShare > 0) this.sim.forEachExit(this.onLeft);
    // parking bays: Poisson arrivals (mean 10 min free) and departures (mean 30 min parked)
    const dt = this.sim.interval;
    const park = (b: number, occupied: boolean) => {
      this.bays[b].occupied = occupied;
      const device = this.devices[this.bayDev[b]].device;
      sensors.send(events, { kind: 'parking', id: this.nextId(device), device, ts, bay: this.bays[b].id, occupied }, this.bayDev[b], t);
    };
    // each parking sensor reports its bay as it starts: the brain knows every bay from the first step, not from its first change
    if (this.sensorsStarting) {
      this.sensorsStarting = false;
      for (let b = 0; b < this.bays.length; b++) park(b, this.bays[b].occupied);
    }
    const drivers = this.drivers;
    for (let b = 0; b < this.bays.length; b++) {
      const bay = this.bays[b];
      const rate = bay.occupied ? 1 / 1800 : 1 / 600;
      if (this.random() < rate * dt) {
        // a reserved driver's car leaves when its driver does; a walk-in mostly keeps out of a bay marked reserved
        if (drivers && (drivers.holds(b) || (!bay.occupied && drivers.keepsOut(b, ts)))) continue;
        park(b, !bay.occupied);
      }
    }
    if (drivers) {
      drivers.move(ts, (b) => this.bays[b].occupied, park);
      drivers.book(ts, dt);
    }
    sensors.afterStep();
    if ((this.taxis.length > 0 || this.clonedShare > 0) && this.sim.stepCount % 3600 === 0) this.forgetGone();
    if (this.avl.size > 0 && this.sim.stepCount % Math.max(1, Math.round(AVL_PERIOD / dt)) === 0) this.reportPositions(events, ts, t);
    // lane detectors report every detectorPeriod seconds
    const stepsPerReport = Math.max(1, Math.round(this.detectorPeriod / dt));
    if (this.sim.stepCount % stepsPerReport === 0) {
      for (let k = 0; k < this.detected.length; k++) {
        const d = this.detected[k];
        const crossed = this.sim.laneCrossings(d.lane);
        const e = sensors.laneReport(k, crossed - this.lastCrossings[d.lane], { id: this.nextId(d.device), device: d.device, ts, intersection: d.inter, lane: d.laneId, interval: this.detectorPeriod });
        sensors.send(events, e, d.dev, t);
        this.lastCrossings[d.lane] = crossed;
      }
    }
    sensors.endStep();
    this.out = [];
    return events;
  }

  /**
   * Each AVL unit reports its vehicle's position: its lane (road and lane
   * index) and the metres along it. Inside a junction (on a lane link) a unit
   * map-matched to lanes has none to give, and a vehicle not yet entered has
   * no position: no report then. A vehicle gone ends its unit.
   */
  private reportPositions(out: Event[], ts: number, t: number): void {
    const sim = this.sim;
    const net = sim.net;
    const pos = this.avlPos;
    for (const [vehicle, device] of this.avl) {
      const h = sim.vehicleHandle(vehicle);
      if (h < 0) {
        this.avl.delete(vehicle);
        continue;
      }
      const status = sim.vehicleStatus(vehicle).state;
      const d = sim.vehicleDrivable(h);
      if (status !== 'running' || d >= net.nLanes) continue;
      const distance = sim.vehicleDistance(h);
      net.positionAt(d, distance, pos, 0);
      // the network's angle is from east, counter-clockwise; a heading is from north, clockwise
      const heading = round3((((90 - (pos[2] * 180) / Math.PI) % 360) + 360) % 360) % 360;
      const e: AvlEvent = {
        kind: 'avl', id: this.nextId(device), device, ts, vehicle, road: net.roadIds[net.laneRoad[d]], lane: net.laneIndexInRoad[d],
        distance: round3(Math.min(distance, net.length[d])), speed: round3(sim.vehicleSpeed(h)), heading,
      };
      // lost, late or twice as any report; AVL units have no silence model of their own (-1)
      this.sensors.send(out, e, -1, t);
    }
  }

  private readonly onCrossing = (vehicle: number, lane: number): void => {
    this.sensors.crossing(vehicle, lane);
    // the street's randomness is drawn whatever the camera reads: it unfolds the same under any sensing
    this.read(vehicle, lane, 'stop-line', 0.9 + 0.1 * this.random());
  };

  private readonly onEntry = (vehicle: number, lane: number): void => this.read(vehicle, lane, 'entry', this.sensors.cleanConfidence());

  private readonly onExit = (vehicle: number, lane: number): void => this.read(vehicle, lane, 'exit', this.sensors.cleanConfidence());

  /** A vehicle left the network (after its exit read): a taxi it drove is free from now; it is forgotten. */
  private readonly onLeft = (vehicle: number): void => {
    const id = this.sim.vehicleId(vehicle);
    this.seenOwn.delete(id);
    if (!this.taxiPlate.delete(id)) return;
    const taxi = this.taxis.find((x) => x.vehicle === id);
    if (taxi) {
      taxi.vehicle = '';
      taxi.lastSeen = this.sim.time;
    }
  };

  /**
   * A camera reads a vehicle on `lane`: at its stop line, its start (entering
   * the network) or its end (leaving it). The camera is that of the
   * intersection the lane leads to, which is where a lane event's lane is checked against.
   */
  private read(vehicle: number, lane: number, position: PlatePosition, confidence: number): void {
    const net = this.sim.net;
    const road = net.laneRoad[lane];
    const ix = net.roadEndInter[road];
    const plate = this.sensors.readPlate(this.taxis.length > 0 || this.clonedShare > 0 ? this.plateCarried(this.sim.vehicleId(vehicle)) : plateOf(this.sim.vehicleId(vehicle)), confidence);
    if (plate === undefined) return;
    const device = this.cameraOf[ix];
    const e: Event = position === 'stop-line'
      ? { kind: 'plate', id: this.nextId(device), device, ts: this.ts, intersection: net.interIds[ix], lane: net.laneId(lane), camera: `${device}-${net.roadIds[road]}`, plate, confidence: this.sensors.confidence }
      : { kind: 'plate', id: this.nextId(device), device, ts: this.ts, intersection: net.interIds[ix], lane: net.laneId(lane), camera: `${device}-${net.roadIds[road]}-${position}`, plate, confidence: this.sensors.confidence, position };
    this.sensors.send(this.out, e, this.cameraDev[ix], this.sim.time);
  }

  /** A vehicle on a detected lane, before its stop line, breaks down (none when no vehicle is there). */
  private breakDownOne(): void {
    const sim = this.sim;
    const running = sim.runningVehicles();
    for (let attempt = 0; attempt < 50 && running.length > 0; attempt++) {
      const v = running[Math.floor(this.random() * running.length)];
      const lane = sim.vehicleDrivable(v);
      // on the lane itself, with room to stop before the junction (braking from 40 km/h takes some 13 m): not in the junction's box
      if (lane >= sim.net.nLanes || !this.detectedLane[lane] || sim.vehicleDistance(v) > sim.net.length[lane] - 20 || sim.isBrokenDown(v)) continue;
      const [lo, hi] = this.breakdownSeconds;
      const seconds = Math.round(lo + (hi - lo) * this.random());
      sim.breakDown(v, seconds);
      this.breakdowns.push({ vehicle: sim.vehicleId(v), lane: sim.net.laneId(lane), t: sim.time, until: sim.time + seconds });
      return;
    }
  }

  /**
   * The plate vehicle `id` carries: its own, a cloned one (the plate of a
   * vehicle of another flow setting off at about the same time), or an
   * unlicensed taxi's (decided at its first read, when a taxi is idle).
   */
  private plateCarried(id: string): string {
    const taxi = this.taxiPlate.get(id);
    if (taxi !== undefined) return this.taxiRead(id, taxi);
    const m = FLOW_ID.exec(id);
    if (m === null) return plateOf(id);
    const f = Number(m[1]), n = Number(m[2]);
    if (this.clonedShare > 0 && this.flows.length > 1 && hash(`clone:${id}`) % 10_000 < this.clonedShare * 10_000) {
      // the flow half the list away: another route, most often far off
      const g = (f + (this.flows.length >> 1)) % this.flows.length;
      const a = this.flows[f], b = this.flows[g];
      const victim = `flow_${g}_${Math.max(0, Math.round(((a.startTime ?? 0) + n * a.interval - (b.startTime ?? 0)) / b.interval))}`;
      const plate = plateOf(victim);
      let carriers = this.plateTruth.cloned.get(plate);
      // the victim read before its clone was is a carrier too
      if (carriers === undefined) this.plateTruth.cloned.set(plate, (carriers = new Set(this.seenOwn.has(victim) ? [victim] : [])));
      carriers.add(id);
      return plate;
    }
    if (this.taxis.length > 0 && f % PICK_UP_EVERY === 0 && !this.seenOwn.has(id)) {
      // a vehicle's first read: a fare for an idle taxi?
      if (hash(`taxi:${id}`) % 10_000 < this.taxiTripShare * 10_000) {
        const t = this.sim.time;
        const idle = this.taxis.find((x) => x.vehicle === '' && t - x.lastSeen >= this.taxiStopSeconds);
        if (idle !== undefined) {
          idle.vehicle = id;
          this.taxiPlate.set(id, idle.plate);
          const trips = this.plateTruth.taxis.get(idle.plate) ?? [];
          trips.push(id);
          this.plateTruth.taxis.set(idle.plate, trips);
          return this.taxiRead(id, idle.plate);
        }
      }
    }
    const own = plateOf(id);
    this.plateTruth.cloned.get(own)?.add(id);
    this.seenOwn.add(id);
    return own;
  }

  /**
   * Forgets the vehicles no longer on the network that left unseen by
   * `onLeft` (removed, not driven out): a long-running city's memory stays flat.
   */
  private forgetGone(): void {
    const running = new Set<string>();
    for (const h of this.sim.runningVehicles()) running.add(this.sim.vehicleId(h));
    for (const id of this.seenOwn) if (!running.has(id)) this.seenOwn.delete(id);
    for (const id of this.taxiPlate.keys()) if (!running.has(id)) this.taxiPlate.delete(id);
    for (const x of this.taxis) if (x.vehicle !== '' && !running.has(x.vehicle)) x.vehicle = '';
  }

  private taxiRead(id: string, plate: string): string {
    const taxi = this.taxis.find((x) => x.vehicle === id);
    if (taxi) taxi.lastSeen = this.sim.time;
    return plate;
  }

  /**
   * The vehicle register the city's data bureau would hand over: the
   * registered plates of every vehicle the scenario's flows set off within
   * `horizonSeconds`, and the unlicensed taxis' (registered as private cars),
   * each once. Lazy, so that a caller can take a busy day's (over 600,000
   * plates) a slice at a time and let its event loop in between.
   */
  *registerPlates(horizonSeconds: number): Generator<string, void, undefined> {
    const seen = new Set<string>();
    for (const id of this.flowVehicles(horizonSeconds)) {
      const p = plateOf(id);
      if (!seen.has(p) && this.isRegistered(p)) {
        seen.add(p);
        yield p;
      }
    }
    for (const t of this.taxis) {
      if (seen.has(t.plate)) continue;
      seen.add(t.plate);
      yield t.plate;
    }
  }

  /** The id of every vehicle the scenario's flows set off within `horizonSeconds` (`flow_{f}_{n}`). */
  *flowVehicles(horizonSeconds: number): Generator<string, void, undefined> {
    for (let f = 0; f < this.flows.length; f++) {
      const fl = this.flows[f];
      if (fl.route.length === 0) continue;
      const start = fl.startTime ?? 0;
      const end = fl.endTime !== undefined && fl.endTime >= 0 ? Math.min(fl.endTime, horizonSeconds) : horizonSeconds;
      for (let n = 0; start + n * fl.interval <= end; n++) yield `flow_${f}_${n}`;
    }
  }

  /** Whether a plate belongs to a registered vehicle (the vehicle registry of the city's data bureau). */
  isRegistered(plate: string): boolean {
    return hash(plate) % 10_000 >= this.unregisteredShare * 10_000;
  }

  private nextId(device: string): string {
    const n = (this.seq.get(device) ?? 0) + 1;
    this.seq.set(device, n);
    return `${device}:${this.idBase}:${n}`;
  }

  // ---- persistence: the street as plain data for a snapshot, and continued from one

  exportState(): VirtualCityState {
    return {
      sim: this.sim.exportState(), epochMs: this.epoch, rng: this.rng, occupied: this.bays.map((b) => b.occupied),
      lastCrossings: this.lastCrossings.slice(), breakdowns: structuredClone(this.breakdowns), signals: this.signals.exportState(), sensors: this.sensors.exportState(),
      avl: [...this.avl.keys()],
    };
  }

  /**
   * Continues from exported state of a city of the same scenario. The clock
   * resumes where it stood; its wall-clock epoch moves forward so that it
   * resumes at `nowMs` (never backwards: a city ahead of the wall clock stays ahead).
   */
  importState(s: VirtualCityState, nowMs = Date.now()): void {
    if (s.occupied.length !== this.bays.length) throw new RangeError(`virtual city state: ${s.occupied.length} parking bays, this city has ${this.bays.length}`);
    if (s.lastCrossings.length !== this.lastCrossings.length) throw new RangeError(`virtual city state: ${s.lastCrossings.length} lanes, this city has ${this.lastCrossings.length}`);
    this.sim.importState(s.sim);
    this.epoch = Math.max(s.epochMs, nowMs - Math.round(this.sim.time * 1000));
    this.idBase = Math.max(nowMs, this.idBase + 1);
    this.rng = s.rng;
    s.occupied.forEach((o, k) => (this.bays[k].occupied = o));
    this.lastCrossings.set(s.lastCrossings);
    this.breakdowns.length = 0;
    this.breakdowns.push(...structuredClone(s.breakdowns));
    // the controllers confirm on the resumed clock, with ids of their own
    this.heads = new FieldSignals(this.sim, { ...this.signalOptions, epochMs: this.epoch, idBase: this.idBase });
    this.heads.importState(s.signals);
    if (s.sensors) this.sensors.importState(s.sensors);
    this.avl.clear();
    for (const v of s.avl ?? []) this.avl.set(v, avlDeviceId(v, this.avlFitted++));
    // the street goes on as it was: its sensors reported their bays when they started
    this.sensorsStarting = false;
  }

  /** xorshift32 (random.ts): the field's own randomness, separate from the simulation's */
  private random(): number {
    this.rng = xorshift32(this.rng);
    return this.rng / 4294967296;
  }
}

/**
 * The devices `step` and `signalReport` report as: a lane detector (`det-`)
 * and a signal head (`sig-`) per signalised intersection, parking sensors
 * (`park-`) for its bays, and a camera (`cam-`) at every intersection a lane
 * ends at (plates are read wherever vehicles cross a stop line).
 */
function fieldDevices(net: Network, bays: readonly ParkingBay[]): FieldDevice[] {
  const devices: FieldDevice[] = [];
  for (const i of net.signalised) {
    const id = net.interIds[i];
    devices.push({ device: deviceId('det', net, i), intersections: [id], bays: [] }, { device: deviceId('sig', net, i), intersections: [id], bays: [] });
    const own = bays.filter((b) => b.intersection === id).map((b) => b.id);
    if (own.length > 0) devices.push({ device: deviceId('park', net, i), intersections: [], bays: own });
  }
  const watched = new Set<number>();
  for (let l = 0; l < net.nLanes; l++) watched.add(net.roadEndInter[net.laneRoad[l]]);
  for (const i of [...watched].sort((a, b) => a - b)) devices.push({ device: deviceId('cam', net, i), intersections: [net.interIds[i]], bays: [] });
  return devices;
}

/** The AVL unit of vehicle `id`: `avl-<id>`, or `avl:<n>` when that is no valid device id. */
function avlDeviceId(vehicle: string, n: number): string {
  const id = `avl-${vehicle}`;
  return DEVICE_ID.test(id) ? id : `avl:${n}`;
}

const PLATE_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
const FLOW_ID = /^flow_(\d+)_(\d+)$/;

/** A stable synthetic Hangzhou plate for a vehicle id: 浙A followed by five characters. */
export function plateOf(vehicleId: string): string {
  let h = hash(vehicleId);
  let s = '';
  for (let k = 0; k < 5; k++) {
    s += PLATE_CHARS[h % PLATE_CHARS.length];
    h = Math.floor(h / PLATE_CHARS.length) ^ Math.imul(h, 0x9e3779b1) >>> 7;
    h >>>= 0;
  }
  return `浙A${s}`;
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
