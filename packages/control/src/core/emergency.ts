import { GRID_VEHICLE, LINK_PRIORITY, TURN_SPEED, type AddVehicleOptions, type Network, type VehicleJson } from '@citybrain/engine/core';
import type { Controller, ControlEnv, IntersectionPhases, SignalStatus, SimReader } from './controller.js';
import { isThenable } from './thenable.js';

/**
 * The emergency vehicle dispatched by default: CityFlow's default car (the
 * grid generator's: same car-following model and dimensions) with a desired
 * speed of 16.7 m/s (60 km/h) and a 2 s headway. On duty it is exempt from
 * lane speed limits (as the law allows emergency vehicles), unless the
 * dispatch says otherwise; turn speeds and car following still apply. No
 * vehicle overtakes unless the dispatch turns its siren on (moving vehicles
 * ahead on its lane then give way): without, it drives at the limit of the
 * vehicles ahead of it, which no signal can change, and what priority buys is
 * green lights and flushed queues ahead of it.
 */
export const EMERGENCY_VEHICLE: Readonly<VehicleJson> = Object.freeze({ ...GRID_VEHICLE, maxSpeed: 16.7, headwayTime: 2 });

/** seconds a queue needs to start moving once its light turns green */
const STARTUP = 3;

export interface EmergencyOptions {
  /**
   * Puts a dispatched vehicle on the road: in the server, the street (the
   * ambulance sets off, with its AVL unit) and the brain's twin (which moves
   * it to each position the unit reports: the corridor is planned from the
   * vehicle as the twin has it); in a benchmark, the simulation itself.
   * Without it, dispatch is refused.
   */
  addVehicle?: (v: AddVehicleOptions) => void;
  /**
   * Seconds of look-ahead at most: intersections farther than this (at
   * free-flow speed) are never requested, however long their queue. Default
   * 120 (a queue of about 40 vehicles); on the real data a longer one changes
   * nothing, a 40 s one leaves vehicles stuck behind long fixed-time queues.
   */
  horizon?: number;
  /**
   * Seconds each vehicle queued ahead of the emergency vehicle on its approach
   * lane needs to clear the stop line. The vehicle's green must show
   * 3 s + this x queue before its arrival, so the queue has left when it
   * arrives (its "due" time). From 2 x yellow + min green before that (the
   * longest a switch can take) the intersection is requested: it may no longer
   * switch to a green that does not serve the vehicle; one already showing
   * stays until a yellow before the due time, so the base controller keeps
   * the intersection for as long as possible. Default 2.5.
   */
  dischargeHeadway?: number;
}

export interface EmergencyDispatch {
  id: string;
  /** road ids, origin to destination */
  route: string[];
  /** overrides of EMERGENCY_VEHICLE */
  vehicle?: Partial<VehicleJson>;
  /** drive above lane speed limits, as emergency vehicles on duty may; default true */
  ignoreSpeedLimits?: boolean;
  /** siren on: moving vehicles ahead on its lane give way and it passes them (AddVehicleOptions.siren); default false */
  siren?: boolean;
}

/**
 * One signalised intersection ahead of an emergency vehicle.
 * - `ahead`: not requested yet (farther than the lead time the intersection needs)
 * - `requested`: the intersection is held in (or switching to) `phase`
 * - `yielding`: due, but a vehicle arriving earlier holds it in a phase that does not serve this one
 * - `free`: every green phase serves the movement (a right turn), nothing to request; where
 *   the yellow does not serve it, the green showing is held from a yellow plus the start-up and queue time before the vehicle arrives
 */
export interface CorridorStop {
  intersection: string;
  /** the green phase serving the vehicle's movement that is (or will be) requested */
  phase: number;
  /** seconds until the vehicle reaches the stop line at free-flow speed (a lower bound: queues add to it) */
  eta: number;
  state: 'ahead' | 'requested' | 'yielding' | 'free';
}

export interface ActiveEmergency {
  id: string;
  /** simulated second it was dispatched */
  dispatchedAt: number;
  /** waiting to enter at the boundary, or driving */
  state: 'waiting' | 'running';
  /** lane or laneLink it is on (its first lane while waiting) */
  drivable: string;
  /** signalised intersections still ahead, in route order */
  corridor: CorridorStop[];
  /** seconds to its destination at free-flow speed (a lower bound) */
  eta: number;
}

/** An emergency vehicle with priority, as the registry keeps it (and exportState hands it out). */
export interface Tracked {
  id: string;
  /** dispatch order: breaks ties between equal arrival estimates */
  seq: number;
  dispatchedAt: number;
  maxSpeed: number;
  /** exempt from lane speed limits */
  exempt: boolean;
}

/** One intersection's request: the phases acceptable to every vehicle granted there, the one asked for, and when it must show. */
interface Request {
  phases: number[];
  phase: number;
  /**
   * seconds until the requested green must show (the earliest granted
   * vehicle's free-flow arrival less its start-up and queue time): a green
   * that does not serve the vehicle stays until a yellow before this
   */
  due: number;
}

/** A request for one intersection from one vehicle, before conflicts are settled. */
interface Claim {
  inter: number;
  eta: number;
  /** seconds before its arrival the green must show: start-up and the queue ahead leaving */
  flush: number;
  seq: number;
  /** green phases serving the movement, ascending */
  serving: number[];
  /** every green serves the movement (not the yellow): the claim only keeps a yellow from starting before the vehicle is past */
  free: boolean;
  stop: CorridorStop;
}

interface Plan {
  views: ActiveEmergency[];
  /** the requests to hold on (see EmergencyPriority.held) */
  held: Set<string>;
  /** per intersection: the phases acceptable to every vehicle granted there, the one asked for, and when it must show */
  requests: Map<number, Request>;
}

/**
 * Emergency-vehicle signal priority as a decorator around any controller.
 * Every step, each dispatched vehicle's remaining path is scanned for the
 * signalised intersections ahead. One is requested (held in, or switched to, a
 * green phase serving the vehicle's movement) once the vehicle's free-flow
 * arrival is closer than the lead time that intersection needs: the longest a
 * switch can take, a yellow + min green + a yellow (the base controller may
 * start a yellow towards another phase just before the request, and the
 * supervisor enforces the minimum green of that phase before the yellow back),
 * + the time to flush the queue ahead of the vehicle on its approach lane,
 * capped at `horizon`. A requested intersection showing a serving green keeps
 * it; showing another, it keeps that one while there is time (until a yellow
 * before the serving green is due), unless the base controller wants a
 * change, which then goes to the serving green: within the lead no switch may
 * start that could not come back in time. Requesting no earlier, and switching
 * no sooner, than that keeps the cost to other traffic low. A request holds
 * until the vehicle is past the intersection,
 * even when the lead shrinks as the queue leaves (were it dropped, the base
 * controller could switch away again just before the vehicle arrives).
 * Everything else follows the base controller, and so does an intersection
 * once the vehicle is past it, finished or cancelled.
 *
 * Two vehicles claiming one intersection: the earlier arrival (ties: the
 * earlier dispatch) wins; the other is served too when some phase serves both.
 */
export class EmergencyPriority implements Controller {
  readonly name: string;
  private readonly horizon: number;
  private readonly headway: number;
  private readonly addVehicle?: (v: AddVehicleOptions) => void;
  private env?: ControlEnv;
  private readonly ixOf = new Map<number, IntersectionPhases>();
  /** green phases serving each roadLink, filled lazily */
  private readonly servingOf = new Map<number, number[]>();
  private readonly tracked = new Map<string, Tracked>();
  private seq = 0;
  private requests = new Map<number, Request>();
  /** `${vehicle seq}:${intersection}` of each request made, kept until the vehicle is past the intersection */
  private held = new Set<string>();

  constructor(readonly base: Controller, opts: EmergencyOptions = {}) {
    const horizon = opts.horizon ?? 120;
    if (!(Number.isFinite(horizon) && horizon > 0)) throw new RangeError(`emergency priority: horizon must be a positive number of seconds, got ${String(opts.horizon)}`);
    this.horizon = horizon;
    const headway = opts.dischargeHeadway ?? 2.5;
    if (!(Number.isFinite(headway) && headway >= 0)) throw new RangeError(`emergency priority: dischargeHeadway must be a number of seconds >= 0, got ${String(opts.dischargeHeadway)}`);
    this.headway = headway;
    this.addVehicle = opts.addVehicle;
    this.name = `${base.name}+emergency`;
  }

  init(env: ControlEnv): void {
    this.env = env;
    this.ixOf.clear();
    for (const ix of env.intersections) this.ixOf.set(ix.intersection, ix);
    this.base.init?.(env);
  }

  beginStep(env: ControlEnv): void | Promise<void> {
    this.refresh(env.twin);
    return this.base.beginStep?.(env);
  }

  nameAt(i: number): string {
    return this.base.nameAt?.(i) ?? this.base.name;
  }

  fixedPlanAt(i: number): boolean {
    return this.base.fixedPlanAt?.(i) ?? this.base.fixedPlan ?? false;
  }

  /** An intersection requested for an emergency vehicle is held in its phase on purpose (or the base holds it). */
  holdsAt(i: number): boolean {
    return this.requests.has(i) || (this.base.holdsAt?.(i) ?? false);
  }

  decide(ix: IntersectionPhases, status: SignalStatus, env: ControlEnv): number {
    // the base always decides, so a stateful controller sees every step as usual
    const wanted = this.base.decide(ix, status, env);
    const req = this.requests.get(ix.intersection);
    if (!req) return wanted;
    // overridden here, a promise answered by mistake (an async decide) must not reject unobserved: that would end the process
    const answered: unknown = wanted;
    if (isThenable(answered)) Promise.resolve(answered).then(undefined, () => {});
    // a green serving the vehicle stays until it is past
    if (req.phases.includes(status.green)) return status.green;
    // another green: any change the base controller wants goes to the vehicle's green (there would be no time to come back);
    // without one, the switch starts when only its yellow (and a step) is left before the green is due
    if (wanted !== status.green || req.due <= env.yellowTime + env.twin.interval) return req.phases.includes(wanted) ? wanted : req.phase;
    return status.green;
  }

  /** Puts an emergency vehicle on the road (`addVehicle`: it enters at the next step) and gives it priority. Returns its id. */
  dispatch(d: EmergencyDispatch): string {
    const env = this.env;
    if (!env) throw new Error('emergency priority: dispatch needs the controller running under a SignalSupervisor (init has not been called)');
    if (!this.addVehicle) throw new Error('emergency priority: dispatch needs the addVehicle option (where a dispatched vehicle is put on the road)');
    if (d === null || typeof d !== 'object') throw new TypeError('emergency dispatch must be an object { id, route, vehicle? }');
    if (typeof d.id !== 'string' || d.id === '') throw new TypeError(`emergency dispatch: id must be a non-empty string, got ${JSON.stringify(d.id)}`);
    if (!Array.isArray(d.route) || d.route.length === 0 || d.route.some((r) => typeof r !== 'string')) {
      throw new TypeError(`emergency vehicle "${d.id}": route must be a non-empty array of road ids`);
    }
    if (this.tracked.has(d.id)) throw new RangeError(`emergency vehicle "${d.id}" is already active`);
    const vehicle: VehicleJson = { ...EMERGENCY_VEHICLE, ...d.vehicle };
    const exempt = d.ignoreSpeedLimits ?? true;
    this.addVehicle({ id: d.id, route: d.route, vehicle, ignoreSpeedLimits: exempt, ...(d.siren ? { siren: true } : {}) });
    this.tracked.set(d.id, { id: d.id, seq: this.seq++, dispatchedAt: env.twin.time, maxSpeed: vehicle.maxSpeed, exempt });
    return d.id;
  }

  /** Ends the priority of an emergency vehicle (it drives on as an ordinary one). Returns whether it was active. */
  cancel(id: string): boolean {
    const had = this.tracked.delete(id);
    // drop its claims now, so decisions made before the next step already ignore it
    if (had && this.env) this.adopt(this.plan(this.env.twin));
    return had;
  }

  /**
   * The registry of vehicles with priority, as plain data: with the twin's own
   * exported state (which holds the vehicles themselves) it lets a restarted
   * brain carry on giving them priority.
   */
  exportState(): { tracked: Tracked[]; seq: number } {
    return { tracked: [...this.tracked.values()].map((t) => ({ ...t })), seq: this.seq };
  }

  /** Takes over a registry from exportState; the vehicles must be in the twin (a vehicle that is not is dropped at the next step). */
  importState(s: { tracked: readonly Tracked[]; seq: number }): void {
    this.tracked.clear();
    for (const t of s.tracked) this.tracked.set(t.id, { ...t });
    this.seq = s.seq;
    this.held.clear();
    if (this.env) this.adopt(this.plan(this.env.twin));
    else this.requests = new Map();
  }

  /** Emergency vehicles with priority now, their corridors and arrival estimates. */
  active(): ActiveEmergency[] {
    return this.env ? this.plan(this.env.twin).views : [];
  }

  private refresh(sim: SimReader): void {
    // finished vehicles leave the registry; everything they held is released
    for (const t of [...this.tracked.values()]) if (sim.vehicleHandle(t.id) < 0) this.tracked.delete(t.id);
    this.adopt(this.plan(sim));
  }

  private adopt(p: Plan): void {
    this.requests = p.requests;
    this.held = p.held;
  }

  /** Pure: the corridors and requests implied by the twin's current state. */
  private plan(sim: SimReader): Plan {
    const net = sim.net;
    const views: ActiveEmergency[] = [];
    const claims = new Map<number, Claim[]>();
    const held = new Set<string>();
    for (const t of this.tracked.values()) {
      const st = sim.vehicleStatus(t.id).state;
      if (st !== 'waiting' && st !== 'running') continue;
      const h = sim.vehicleHandle(t.id);
      const path = sim.vehicleRemainingPath(h);
      const corridor: CorridorStop[] = [];
      let eta = 0;
      // vehicles ahead of it on the lane before the next stop line
      let queue = 0;
      for (let k = 0; k < path.length; k++) {
        const d = path[k];
        // k = 0: already on it, so no stop line ahead if it is a laneLink
        if (k > 0 && d >= net.nLanes) this.claim(net, t, d - net.nLanes, eta, queue, corridor, claims, held);
        // a lane change (a lane after a lane) runs alongside the lane before: no further to go
        const change = k > 0 && d < net.nLanes && path[k - 1] < net.nLanes;
        const left = change ? 0 : net.length[d] - (k === 0 ? sim.vehicleDistance(h) : 0);
        if (d < net.nLanes) queue = k > 0 ? sim.laneVehicleCount(d) : st === 'running' ? sim.laneApproachingCount(d, left) - 1 : sim.laneVehicleCount(d);
        eta += Math.max(0, left) / freeSpeed(net, d, t.maxSpeed, t.exempt);
      }
      views.push({ id: t.id, dispatchedAt: t.dispatchedAt, state: st, drivable: net.drivableId(path[0]), corridor, eta: round1(eta) });
    }
    const requests = new Map<number, Request>();
    for (const [inter, list] of claims) {
      list.sort((a, b) => a.eta - b.eta || a.seq - b.seq);
      let phases = list[0].serving;
      let due = Infinity;
      for (const c of list) {
        const both = phases.filter((p) => c.serving.includes(p));
        if (c === list[0] || both.length > 0) {
          phases = both.length > 0 ? both : phases;
          c.stop.state = c.free ? 'free' : 'requested';
          if (!c.free) due = Math.min(due, c.eta - c.flush);
        } else c.stop.state = 'yielding';
      }
      // keep the green already showing, or the one already asked for (the yellow towards it may be running)
      const shown = sim.phase(inter);
      const prev = this.requests.get(inter)?.phase;
      const phase = phases.includes(shown) ? shown : prev !== undefined && phases.includes(prev) ? prev : phases[0];
      requests.set(inter, { phases, phase, due });
      for (const c of list) if (c.stop.state === 'requested' || c.free) c.stop.phase = phase;
    }
    return { views, requests, held };
  }

  /** Records the stop at the intersection of laneLink k, and a claim on it once the vehicle is within its lead time. */
  private claim(net: Network, t: Tracked, k: number, eta: number, queue: number, corridor: CorridorStop[], claims: Map<number, Claim[]>, held: Set<string>): void {
    const rl = net.linkRoadLink[k];
    const inter = net.roadLinkInter[rl];
    const ix = this.ixOf.get(inter);
    if (!ix) return; // not signalised
    let serving = this.servingOf.get(rl);
    if (!serving) {
      serving = ix.greens.filter((p) => ix.movements[p].some((m) => m.roadLink === rl));
      this.servingOf.set(rl, serving);
    }
    if (serving.length === 0) throw new Error(`intersection ${ix.id}: no green phase serves roadLink ${rl - net.interRoadLinkStart[inter]}`);
    const free = serving.length === ix.greens.length;
    const stop: CorridorStop = { intersection: ix.id, phase: serving[0], eta: round1(eta), state: free ? 'free' : 'ahead' };
    corridor.push(stop);
    // a movement the yellow serves too (a right turn on most real roadnets) needs nothing
    if (free && ix.movements[ix.yellow].some((m) => m.roadLink === rl)) return;
    const env = this.env!;
    // the start-up and the queue ahead leaving; before that, the longest a switch can take (a yellow the base controller has just started towards another phase, its minimum green, the yellow back);
    // where every green serves it, only a yellow starting then would stop the vehicle
    const flush = STARTUP + this.headway * queue;
    const lead = Math.min(this.horizon, (free ? env.yellowTime : 2 * env.yellowTime + env.minGreen) + flush);
    const key = `${t.seq}:${inter}`;
    if (eta >= lead && !this.held.has(key)) return;
    held.add(key);
    let list = claims.get(inter);
    if (!list) claims.set(inter, (list = []));
    list.push({ inter, eta, flush, seq: t.seq, serving, free, stop });
  }
}

/** Free-flow speed of a vehicle on drivable d: lane limit, or the turn speed on turning laneLinks. */
function freeSpeed(net: Network, d: number, vmax: number, exempt: boolean): number {
  let v = exempt ? vmax : Math.min(vmax, net.maxSpeed[d]);
  // the engine's turn speed (CityFlow's default) on a laneLink that does not go straight
  if (d >= net.nLanes && net.linkPriority[d - net.nLanes] !== LINK_PRIORITY.go_straight) v = Math.min(v, TURN_SPEED);
  return v;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
