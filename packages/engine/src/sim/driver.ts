import type { Network } from './network.js';
import { B_BLOCKER, B_END, type SimState } from './state.js';
import type { CrossNotes, LaneClaims } from './junction.js';
import { intersectionRelatedSpeed, junctionSpeed } from './junction.js';
import type { VehicleList } from './occupancy.js';

/**
 * The driver model: CityFlow's safe-speed car following, stop-before-a-line and
 * its estimates of when a vehicle reaches a point, and computeActions, the
 * step's first phase, where every running vehicle chooses its next speed and
 * position from the previous state (buffered in bSpeed/bDis/bPathPos, so the
 * order vehicles are visited in does not matter). Free functions over the state columns.
 */

/** m/s at most on turning laneLinks (exported: emergency priority's arrival estimates use it) */
export const TURN_SPEED = 8.3333;
/** metres before a conflict point a yielding vehicle stops */
export const YIELD_DISTANCE = 5;
const EPS = 1e-8;
/** below this speed (m/s) a vehicle counts as waiting (CityFlow's queue) */
export const WAITING_SPEED = 0.1;
/** cars in a ring of leaders computeActions breaks: the loops of stubs on the Osnabrück import hold 2 to 8 */
const LEADER_RING = 8;
/** how far past its minimum gap a standing car may be from its leader and still be held by it (m) */
const RING_GAP = 1;

/**
 * Whether standing v, held by its leader L beyond its drivable (gap m ahead), is in a ring: the cars ahead, each
 * standing and held by the next (the one ahead on its drivable, else its leader: within RING_GAP of its minimum
 * gap behind it, or waiting for it at a junction as of the last step, vBlocker), lead back to v within
 * LEADER_RING cars. Each waits for the next to move, so none ever does.
 */
function leaderRing(st: SimState, v: number, L: number, gap: number): boolean {
  if (gap >= st.vMinGap[v] + RING_GAP && st.vBlocker[v] !== L) return false;
  for (let x = L, n = 0; n < LEADER_RING; n++) {
    if (st.vSpeed[x] >= WAITING_SPEED) return false;
    const p = st.vPrev[x];
    const y = p >= 0 ? p : st.vLeader[x];
    if (y < 0 || ((p >= 0 ? st.vDis[p] - st.vLen[p] - st.vDis[x] : st.vGap[x]) >= st.vMinGap[x] + RING_GAP && st.vBlocker[x] !== y)) return false;
    if (y === v) return true;
    x = y;
  }
  return false;
}
/** vExempt's bits: above lane speed limits (AddVehicleOptions.ignoreSpeedLimits); siren on (AddVehicleOptions.siren) */
export const EXEMPT = 1;
export const SIREN = 2;

export function nextDrivable(st: SimState, v: number): number {
  const pos = st.vPathPos[v] + 1;
  return pos < st.vPathLen[v] ? st.path[st.vPathOff[v] + pos] : -1;
}

export function computeActions(net: Network, st: SimState, dt: number, claims: LaneClaims | null, notes: CrossNotes, changes: VehicleList): void {
  const length = net.length;
  const maxSpeed = net.maxSpeed;
  const nLanes = net.nLanes;
  const path = st.path;
  if (changes.ids.length < st.running) changes.ids = new Int32Array(st.capacity);
  const changeVeh = changes.ids;
  let nChange = 0;
  if (claims !== null) claims.clear();
  // the columns read per vehicle, once per call: each st.x in the loop would be a load V8 cannot hoist past the calls
  const { runList, bFlags, bSpeed, bDis, bPathPos, bBlocker, vSpeed, vDrv, vDis, vMaxSpeed, vMaxPosAcc, vMaxNegAcc, vUsualNegAcc, vExempt } = st;
  const { vStallUntil, vPathPos, vPathLen, vPathOff, vApproach, vLeader, vGap, vMinGap, vHeadway, vPrev, vLen } = st;
  const step = st.step;
  const running = st.running;
  const linkAvail = st.linkAvail;
  for (let r = 0; r < running; r++) {
    const v = runList[r];
    const s = vSpeed[v];
    const drv = vDrv[v];
    // what is read of v more than once, read once: V8 repeats every element load (its bounds check, and
    // the column's map and pointers again after a call); HZ1: 2.8% fewer instructions in this function
    const x = vDis[v];
    const lenDrv = length[drv];
    const vmax = vMaxSpeed[v];
    const maxDec = vMaxNegAcc[v];
    const exempt = vExempt[v];
    // desired speed: CityFlow's getNextSpeed
    let nv = vmax;
    const acc = s + vMaxPosAcc[v] * dt;
    if (acc < nv) nv = acc;
    const limit = maxSpeed[drv];
    if (limit < nv && (exempt & EXEMPT) === 0) nv = limit;
    // car following: the safe speed behind the leader (CityFlow's getCarFollowSpeed): the vehicle ahead
    // on the drivable (updateLeaders leaves it to be read here), else the one updateLeader found
    const p = vPrev[v];
    const ahead = p >= 0 && (exempt & SIREN) === 0;
    const L = ahead ? p : vLeader[v];
    // kept clear, standing v held by a leader beyond its drivable that is held (through others) by v: their paths
    // close a loop (U-turns at the ends of lanes shorter than the cars, netconvert's stubs) that holds less than the
    // cars on it, each one's tail in the next one's way, and none ever moves; v drives on, as junction.ts's rings
    // are broken (issue #16: the Osnabrück import locked at 3,500-4,000 trips/h on Arndtplatz's 2 m stubs)
    if (L >= 0 && !(claims !== null && !ahead && s < WAITING_SPEED && leaderRing(st, v, L, vGap[v]))) {
      const gap = ahead ? vDis[p] - vLen[p] - x : vGap[v];
      const cf = followSpeed(vSpeed[L], vMaxNegAcc[L], vUsualNegAcc[L], s, maxDec, vUsualNegAcc[v], gap, dt, vMinGap[v], vHeadway[v], nv);
      if (cf < nv) nv = cf;
    } else if (vmax < nv) nv = vmax;
    // broken down: brakes as hard as it can and stays put
    if (vStallUntil[v] > step) nv = 0;
    const pos0 = vPathPos[v];
    const off = vPathOff[v];
    const last = vPathLen[v] - 1;
    // CityFlow's isIntersectionRelated: on a laneLink, or approaching one
    const next = pos0 < last ? path[off + pos0 + 1] : -1;
    // v's flags this step, stored once at the end; the junction rules set B_BLOCKER themselves
    let flags = 0;
    if (drv >= nLanes || (next >= nLanes && lenDrv - x <= vApproach[v])) {
      let ir = vmax;
      // before a red light it can stop for (the junction rules' commonest case, a fifth of HZ1's vehicle
      // updates): stopped at the line here, without the call and its loads; so is one the junction rules stop
      let stop = drv < nLanes && linkAvail[next - nLanes] !== 1 && canStopWithin(s, maxDec, lenDrv - x);
      if (!stop) {
        bFlags[v] = 0;
        stop = intersectionRelatedSpeed(net, st, claims, notes, v, drv, dt);
        flags = bFlags[v];
        ir = junctionSpeed[0];
      }
      if (stop) {
        const sb = stopBeforeSpeed(st, v, lenDrv - x, dt);
        ir = sb < vmax ? sb : vmax;
      }
      if (ir < nv) nv = ir;
    } else if (next >= 0 && next < nLanes) {
      // a lane change due (the next drivable is a lane of this road): made after the move when there is room
      // (changeLanes); until then the lane's end is a stop line
      const sb = stopBeforeSpeed(st, v, lenDrv - x, dt);
      if (sb < nv) nv = sb;
      changeVeh[nChange++] = v;
    }
    const floor = s - maxDec * dt;
    if (floor > nv) nv = floor;
    // kept clear, one standing behind its leader waits for it, on a lane as inside an intersection: waitsFor sees
    // rings through queues (a ring that closed through one standing on a lane locked the Osnabrück import, issue #16)
    if (claims !== null && nv < WAITING_SPEED && (flags & B_BLOCKER) === 0 && L >= 0) {
      bBlocker[v] = L;
      flags |= B_BLOCKER;
    }
    let delta: number;
    if (nv < 0) {
      delta = (0.5 * s * s) / maxDec;
      nv = 0;
    } else delta = ((s + nv) * dt) / 2;
    bSpeed[v] = nv;
    // advance along the path
    let dis = x + delta;
    let pos = pos0;
    let d = drv;
    let lenD = lenDrv;
    let end = 0;
    while (dis > lenD) {
      // a lane change is made sideways, never past the lane's end: one that cannot stop in time stops there
      if (d < nLanes && pos < last && path[off + pos + 1] < nLanes) {
        dis = lenD;
        bSpeed[v] = 0;
        break;
      }
      dis -= lenD;
      if (pos === last) {
        end = B_END;
        break;
      }
      d = path[off + ++pos];
      lenD = length[d];
    }
    // stored on every vehicle: a store first met in optimised code (the hour's first arrival) would throw it away
    bFlags[v] = flags | end;
    bDis[v] = dis;
    bPathPos[v] = pos;
  }
  changes.n = nChange;
}


/** Whether a vehicle at speed s braking at most maxDec can still stop within `distance` m (one that cannot goes on: CityFlow's amber running). */
export function canStopWithin(s: number, maxDec: number, distance: number): boolean {
  return !((0.5 * s * s) / maxDec > distance);
}

export function stopBeforeSpeed(st: SimState, v: number, distance: number, dt: number): number {
  const s = st.vSpeed[v];
  const next = s + st.vUsualPosAcc[v] * dt;
  const brake = ((s + next) * dt) / 2 + (next * next) / st.vUsualNegAcc[v] / 2;
  if (brake < distance) return next;
  const take = (2 * distance) / (s + EPS) / dt;
  // standing exactly at the line (a vehicle placed there): 0 - 0 / 0 would be NaN, and NaN runs the red.
  // (Standing, s - s / trunc(take) is 0 too.) Each operation here runs on every call: one first met
  // in optimised code would throw it away (V8 deoptimises on an operation it has no feedback for)
  const steps = take >= 1 ? Math.trunc(take) : take;
  return s === 0 ? 0 : s - s / steps;
}

export function canYield(st: SimState, v: number, dist: number): boolean {
  const minBrake = (0.5 * st.vSpeed[v] * st.vSpeed[v]) / st.vMaxNegAcc[v];
  return (dist > 0 && minBrake < dist - st.vYieldDist[v]) || (dist < 0 && dist + st.vLen[v] < 0);
}


export function reachSteps(st: SimState, v: number, distance: number, turn: boolean, dt: number): number {
  if (distance <= 0) return 0;
  const s = st.vSpeed[v];
  const target = turn ? st.vTurnSpeed[v] : st.vMaxSpeed[v];
  const acc = st.vUsualPosAcc[v];
  if (s > target) return Math.ceil(distance / s);
  // distance covered until reaching the target speed
  let until = 0;
  if (target > s) {
    const steps1 = Math.floor((target - s) / acc / dt);
    const speed1 = s + (steps1 * acc) / dt;
    until = ((s + speed1) * (steps1 * dt)) / 2 + (speed1 < target ? ((speed1 + target) * dt) / 2 : 0);
  }
  if (until > distance) return Math.ceil((Math.sqrt(s * s + 2 * acc * distance) - s) / acc / dt);
  return Math.ceil((target - s) / acc / dt) + Math.ceil((distance - until) / target / dt);
}


/**
 * The safe speed behind a leader (CityFlow's getCarFollowSpeed): no collision if the leader brakes as hard as it
 * can, keeping the minimum gap if both brake as usual, and the headway time. Exact where it is below `bound`, the
 * speed the caller allows already (computeActions takes the lower of the two): above it, it may be higher than
 * CityFlow's. Scalars in, so that the step reads its columns once and V8 inlines this; exported for
 * scripts/speed-floor.mjs's kernel.
 */
export function followSpeed(
  vL: number, maxDecL: number, usualDecL: number,
  s: number, maxDec: number, usualDec: number,
  gap: number, dt: number, minGap: number, headway: number, bound: number,
): number {
  // noCollisionSpeed's shortcut needs 0 < 0.5 / dec < 1e300 (a rounding error of 0.5 / (0.5 / dec) bounded) and a bound >= 0
  // (a flag: bound reassigned, or a NaN in its place, made it a heap number per call)
  const sure = maxDec > 1e-300 && usualDec > 1e-300 && bound >= 0;
  let cf = noCollisionSpeed(vL, maxDecL, s, maxDec, gap, dt, 0, bound, sure);
  const assumeDecel = s > vL ? s - vL : 0;
  const r2 = noCollisionSpeed(vL, usualDecL, s, usualDec, gap, dt, minGap, bound, sure);
  if (r2 < cf) cf = r2;
  const r3 = (gap + (vL + assumeDecel / 2) * dt - (s * dt) / 2) / (headway + dt / 2);
  return r3 < cf ? r3 : cf;
}

/**
 * CityFlow's collision-free speed given a leader braking at dL: the lower of v1 = (0.5 / a)(sqrt(D) - b), the
 * root of the stopping distances' quadratic, and v2; or v2 where v1 >= bound (followSpeed's). That is known
 * without the square root where D >= ((2a bound + b)(1 + 1e-6))^2: the margin exceeds the rounding of every
 * operation in v1 and in the test (a few units in 2^-53) a million times, so the v1 left out is >= bound, and
 * min(result, bound) is min(CityFlow's, bound) to the last bit. 98% of the first calls on HZ1, 48% of the second.
 */
function noCollisionSpeed(vL: number, dL: number, vF: number, dF: number, gap: number, interval: number, targetGap: number, bound: number, sure: boolean): number {
  const c = (vF * interval) / 2 + targetGap - (0.5 * vL * vL) / dL - gap;
  const a = 0.5 / dF;
  const b = 0.5 * interval;
  if (b * b < 4 * a * c) return -100;
  const v2 = 2 * vL - dL * interval + (2 * (gap - targetGap)) / interval;
  const D = b * b - 4 * a * c;
  // the root's result written before the shortcut, so that its operations run on every call: V8 compiles them
  // into the branch that uses them (no square root where the shortcut returns), and has their type feedback from
  // the first call (the first close follower, ~70 steps into HZ1, threw the optimised code away for want of it)
  const v1 = (0.5 / a) * (Math.sqrt(D) - b);
  const rootLower = v1 < v2;
  const q = (2 * a * bound + b) * 1.000001;
  if (sure && D >= q * q) return v2;
  return rootLower ? v1 : v2;
}
