/**
 * All mutable simulation state, as typed arrays indexed by integer ids, so
 * that a fork is a handful of memcpy's (`clone`).
 *
 * Vehicle slots are recycled through a free list; `vState` says what a slot
 * holds. Vehicles on a drivable form a doubly linked list from the front
 * (head, furthest along) to the back (tail): vPrev points to the vehicle
 * ahead, vNext to the one behind. Waiting vehicles reuse vNext as their queue.
 */
import { DEFAULT_PARAMS } from './flows.js';

export const FREE = 0;
export const WAITING = 1;
export const RUNNING = 2;
/** finished this step; freed once the step's buffers are applied */
export const ENDED = 3;

export const NO_LINK_STEP = 0x7fffffff;

/** vFlow of a vehicle added by addVehicle, of one put on a lane by placeVehicle (named placed_{n}), and of one drawn from an entry rate (drawn_{n}) */
export const ADDED = -1;
export const PLACED = -2;
export const DRAWN = -3;

/** buffered-update flags (bFlags), CityFlow's two-phase step */
export const B_END = 1;
export const B_BLOCKER = 2;
/** kept clear (SUMO's rules), stopping before a green laneLink for want of room beyond it (junction.ts roomBeyond) */
export const B_HELD = 4;

/** The per-vehicle arrays, all of length `capacity`. */
const VEHICLE_ARRAYS = [
  'vState', 'vFlow', 'vSerial', 'vPriority', 'vDis', 'vSpeed', 'vEnter', 'vLen', 'vMaxPosAcc', 'vMaxNegAcc', 'vUsualPosAcc',
  'vUsualNegAcc', 'vMinGap', 'vMaxSpeed', 'vHeadway', 'vTurnSpeed', 'vYieldDist', 'vApproach', 'vDrv', 'vPrevDrv', 'vPathOff',
  'vPathLen', 'vPathPos', 'vNext', 'vPrev', 'vLeader', 'vGap', 'vBlocker', 'vEnterLinkStep', 'vRunIdx', 'bSpeed', 'bDis',
  'bPathPos', 'bBlocker', 'bFlags', 'runList', 'vExempt', 'vWidth', 'vStallUntil', 'vStand', 'vHeld',
] as const satisfies readonly (keyof SimState)[];

/**
 * SimState's own fields as plain data (numbers, typed arrays, arrays, a Map):
 * what `Simulation.exportState` returns and structuredClone / postMessage carry.
 */
export type SimStateData = { [K in Exclude<keyof SimState, 'capacity' | 'grow' | 'clone'>]: SimState[K] };

/** Sizes of an empty state, the blank a clone is written into. */
const NO_SIZES = { vehicles: 0, drivables: 0, lanes: 0, inters: 0, links: 0, crosses: 0, flows: 0, path: new Int32Array(0) };

export class SimState {
  step = 0;
  generated = 0;
  finished = 0;
  running = 0;
  waiting = 0;
  // These two hold fractions. Created holding one (the constructor zeroes them), they are
  // stored as doubles from the start: created holding a small integer, V8 would change this
  // object's hidden class at the first fraction, mid-run, and throw away the step's compiled code.
  cumulativeTravelTime = 0.5;
  /** vehicle-seconds lost against free-flow speed */
  cumulativeDelay = 0.5;
  spawnCounter = 0;
  /** vehicles put on a lane by placeVehicle so far: the n of their ids placed_{n} */
  placed = 0;
  /** vehicles taken off by removeVehicle (no longer in generated/ATT, still in averageDelay's denominator) */
  removed = 0;
  /** vehicles moved on by jam teleport (SimulationRules.timeToTeleport) */
  teleported = 0;
  /** 1 after a place/remove: every leader is recomputed before the next step's car following */
  leadersStale = 0;
  rng: Uint32Array;

  // ---- vehicles (capacity = vState.length)
  nextFree = -1;
  highWater = 0;
  vState: Uint8Array;
  /** the vehicle's flow; -1: added by addVehicle (vSerial indexes extraIds); -2: placed, -3: drawn from an entry rate (vSerial is its n) */
  vFlow: Int32Array;
  vSerial: Int32Array;
  vPriority: Int32Array;
  vDis: Float64Array;
  vSpeed: Float64Array;
  vEnter: Float64Array;
  vLen: Float64Array;
  /** drawn width, metres (not used by the model) */
  vWidth: Float32Array;
  vMaxPosAcc: Float64Array;
  vMaxNegAcc: Float64Array;
  vUsualPosAcc: Float64Array;
  vUsualNegAcc: Float64Array;
  vMinGap: Float64Array;
  vMaxSpeed: Float64Array;
  vHeadway: Float64Array;
  vTurnSpeed: Float64Array;
  vYieldDist: Float64Array;
  vApproach: Float64Array;
  vDrv: Int32Array;
  vPrevDrv: Int32Array;
  vPathOff: Int32Array;
  vPathLen: Int32Array;
  vPathPos: Int32Array;
  vNext: Int32Array;
  vPrev: Int32Array;
  /** leader and gap as updateLeader found them; kept only for a vehicle first on its drivable or with a siren (computeActions reads vPrev for the others) */
  vLeader: Int32Array;
  vGap: Float64Array;
  vBlocker: Int32Array;
  vEnterLinkStep: Int32Array;
  vRunIdx: Int32Array;
  /** 1 for a vehicle allowed above the lanes' speed limits (an emergency vehicle on duty) */
  vExempt: Uint8Array;
  /** step before which the vehicle is broken down (stands still whatever is ahead); 0: never */
  vStallUntil: Int32Array;
  /** steps the vehicle has stood (< 0.1 m/s) without a break; kept only with a time to teleport (SimulationRules) */
  vStand: Int32Array;
  /**
   * 1 for a vehicle that, as of the last step, stops before the green laneLink next on its path for want of room
   * beyond it (keepJunctionsClear): it will not pass, and vehicles on conflicting laneLinks do not yield to it
   * (SUMO's MSLink::blockedByFoe ignores an approaching foe that has not set its request to pass, willPass)
   */
  vHeld: Uint8Array;
  bSpeed: Float64Array;
  bDis: Float64Array;
  bPathPos: Int32Array;
  bBlocker: Int32Array;
  bFlags: Uint8Array;

  /** dense list of running vehicles (order is irrelevant: updates are buffered) */
  runList: Int32Array;

  // ---- drivables and lanes
  dHead: Int32Array;
  dTail: Int32Array;
  dCount: Int32Array;
  wHead: Int32Array;
  wTail: Int32Array;
  wCount: Int32Array;

  /** vehicles that have crossed each lane's stop line since the start (detector counts) */
  lExits: Int32Array;

  // ---- signals
  iPhase: Int32Array;
  iRemain: Float64Array;
  /** 1 when a controller holds the intersection; 0 when its built-in plan cycles */
  iExternal: Uint8Array;
  linkAvail: Uint8Array;

  // ---- conflict points: each side's nearest vehicle and its distance, in net.linkCrossList's order, written within a step as asked (junction.ts CrossNotes)
  cVeh: Int32Array;
  cDist: Float64Array;

  // ---- flows
  fNow: Float64Array;
  /** vehicles generated per flow, for CityFlow-style ids flow_{f}_{n} */
  fSerial: Int32Array;
  fActive: Int32Array;
  nActive = 0;
  nextFlow = 0;

  // ---- routes: the flows' precomputed paths, then paths of vehicles added at run time
  path: Int32Array;
  pathUsed: number;

  /**
   * Paths of placed vehicles by "lane:road,road,...": offset * 2^16 + length in
   * `path`. Placed vehicles share one copy per (lane, route), so assimilating
   * thousands of vehicles does not grow the path buffer each fork copies.
   */
  placedPaths = new Map<string, number>();

  // ---- demand as entry rates and turning weights (Simulation.setEntryRate, setTurnWeights)
  /** arrivals per second on each lane; 0: none */
  entryRate: Float64Array;
  /** arrivals owed on each lane: each whole one is a vehicle drawn into its boundary queue */
  entryCredit: Float64Array;
  /** the lanes with a rate, ascending: the first nRated entries */
  ratedLanes: Int32Array;
  nRated = 0;
  /** weight of each laneLink (by link index k) when a route is drawn; all 1 by default */
  turnWeight: Float64Array;
  /** the parameters (PARAM_KEYS order) of vehicles drawn from the entry rates and placed (Simulation.setDrawnVehicleParams) */
  drawnParams: Float64Array = DEFAULT_PARAMS.slice();
  /** vehicles drawn from the entry rates so far: the n of their ids drawn_{n} */
  drawn = 0;
  /** paths of drawn routes by a hash of (lane, roads), as in placedPaths (a hit is checked against the path) */
  drawnPaths = new Map<number, number>();

  /** ids of vehicles added through the API (vFlow = -1, vSerial indexes this) */
  extraIds: string[] = [];
  /** vehicle slot of each API-added vehicle, by serial; -1 once it has left */
  extraHandles: number[] = [];
  /** enter and finish times of API-added vehicles that have left, by id */
  extraFinished = new Map<string, { enterTime: number; finishTime: number }>();

  constructor(sizes: { vehicles: number; drivables: number; lanes: number; inters: number; links: number; crosses: number; flows: number; path: Int32Array }) {
    const c = sizes.vehicles;
    this.cumulativeTravelTime = 0;
    this.cumulativeDelay = 0;
    this.rng = new Uint32Array(4);
    this.vState = new Uint8Array(c);
    this.vFlow = new Int32Array(c);
    this.vSerial = new Int32Array(c);
    this.vPriority = new Int32Array(c);
    this.vDis = new Float64Array(c);
    this.vSpeed = new Float64Array(c);
    this.vEnter = new Float64Array(c);
    this.vLen = new Float64Array(c);
    this.vWidth = new Float32Array(c);
    this.vMaxPosAcc = new Float64Array(c);
    this.vMaxNegAcc = new Float64Array(c);
    this.vUsualPosAcc = new Float64Array(c);
    this.vUsualNegAcc = new Float64Array(c);
    this.vMinGap = new Float64Array(c);
    this.vMaxSpeed = new Float64Array(c);
    this.vHeadway = new Float64Array(c);
    this.vTurnSpeed = new Float64Array(c);
    this.vYieldDist = new Float64Array(c);
    this.vApproach = new Float64Array(c);
    this.vDrv = new Int32Array(c);
    this.vPrevDrv = new Int32Array(c);
    this.vPathOff = new Int32Array(c);
    this.vPathLen = new Int32Array(c);
    this.vPathPos = new Int32Array(c);
    this.vNext = new Int32Array(c);
    this.vPrev = new Int32Array(c);
    this.vLeader = new Int32Array(c);
    this.vGap = new Float64Array(c);
    this.vBlocker = new Int32Array(c);
    this.vEnterLinkStep = new Int32Array(c);
    this.vRunIdx = new Int32Array(c);
    this.vExempt = new Uint8Array(c);
    this.vStallUntil = new Int32Array(c);
    this.vStand = new Int32Array(c);
    this.vHeld = new Uint8Array(c);
    this.bSpeed = new Float64Array(c);
    this.bDis = new Float64Array(c);
    this.bPathPos = new Int32Array(c);
    this.bBlocker = new Int32Array(c);
    this.bFlags = new Uint8Array(c);
    this.runList = new Int32Array(c);

    this.dHead = new Int32Array(sizes.drivables).fill(-1);
    this.dTail = new Int32Array(sizes.drivables).fill(-1);
    this.dCount = new Int32Array(sizes.drivables);
    this.wHead = new Int32Array(sizes.lanes).fill(-1);
    this.wTail = new Int32Array(sizes.lanes).fill(-1);
    this.wCount = new Int32Array(sizes.lanes);
    this.lExits = new Int32Array(sizes.lanes);
    this.iPhase = new Int32Array(sizes.inters);
    this.iRemain = new Float64Array(sizes.inters);
    this.iExternal = new Uint8Array(sizes.inters);
    this.linkAvail = new Uint8Array(sizes.links);
    this.cVeh = new Int32Array(2 * sizes.crosses).fill(-1);
    this.cDist = new Float64Array(2 * sizes.crosses);
    this.entryRate = new Float64Array(sizes.lanes);
    this.entryCredit = new Float64Array(sizes.lanes);
    this.ratedLanes = new Int32Array(sizes.lanes);
    this.turnWeight = new Float64Array(sizes.links).fill(1);
    this.fNow = new Float64Array(sizes.flows);
    this.fSerial = new Int32Array(sizes.flows);
    this.fActive = new Int32Array(sizes.flows);
    // room for paths of vehicles added at run time
    this.path = new Int32Array(sizes.path.length + 1024);
    this.path.set(sizes.path);
    this.pathUsed = sizes.path.length;
  }

  get capacity(): number {
    return this.vState.length;
  }

  /** Doubles vehicle capacity, keeping every slot's contents. */
  grow(): void {
    const c = this.capacity * 2;
    const self = this as unknown as Record<string, Float64Array | Int32Array | Uint8Array>;
    for (const key of VEHICLE_ARRAYS) {
      const a = self[key];
      const next = new (a.constructor as new (n: number) => typeof a)(c);
      next.set(a);
      self[key] = next;
    }
  }

  /**
   * Makes `dst` a deep copy of this state, copying into the memory of its
   * typed arrays wherever it is large enough (a rollout's fork often has
   * grown its vehicle tables past the twin's): then only a view is made, at
   * the source's length, so the copy is exact. Other arrays are replaced.
   */
  copyInto(dst: SimState): void {
    copyFields(this, dst);
  }

  /** A deep copy: typed arrays are copied, maps and id lists too. */
  clone(): SimState {
    // built by the constructor, not Object.create: ~90 properties added to a bare
    // object put it in V8's slow dictionary mode, and a fork then stepped ~5x slower
    const copy = new SimState(NO_SIZES);
    copyFields(this, copy);
    return copy;
  }

  /** A SimState holding a copy of `data` (exported state, possibly posted from another thread). */
  static fromData(data: SimStateData): SimState {
    const copy = new SimState(NO_SIZES);
    copyFields(data, copy);
    return copy;
  }
}

/** SimState.copyInto's loop, over a SimState or its plain-data form (fromData). */
function copyFields(src: object, dst: SimState): void {
  const from = src as Record<string, unknown>;
  const to = dst as unknown as Record<string, unknown>;
  for (const key of Object.keys(from)) {
    const v = from[key];
    const d = to[key];
    if (ArrayBuffer.isView(v)) {
      const a = v as Int32Array;
      if (ArrayBuffer.isView(d) && d.constructor === a.constructor && d.byteOffset === 0 && d.buffer.byteLength >= a.byteLength) {
        const Ctor = a.constructor as new (b: ArrayBufferLike, off: number, n: number) => Int32Array;
        const into = (d as Int32Array).length === a.length ? (d as Int32Array) : new Ctor(d.buffer, 0, a.length);
        into.set(a);
        to[key] = into;
      } else to[key] = a.slice();
    } else if (Array.isArray(v)) to[key] = v.slice();
    else if (v instanceof Map) to[key] = new Map(v);
    else to[key] = v;
  }
}
