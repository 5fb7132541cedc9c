import type { Network } from './network.js';
import { FREE, RUNNING, WAITING, type SimState } from './state.js';
import { canYield, reachSteps, SIREN, WAITING_SPEED } from './driver.js';

/**
 * Who is where: the per-drivable lists of vehicles (front first), the boundary
 * queues, vehicle slots, lane changes made after the move, a siren's
 * overtaking and right of way at conflict points, and each vehicle's leader and
 * gap (CityFlow's updateLeaderAndGap).
 */

/** A scratch list of vehicle handles, grown as needed; used within one step, so forks may share it. */
export class VehicleList {
  ids = new Int32Array(64);
  n = 0;
}

/** leaderAhead's second result: the gap to the leader found (scratch, read at once) */
export const aheadGap = new Float64Array(1);

export function enqueue(st: SimState, v: number, lane: number): void {
  st.vState[v] = WAITING;
  // both stores made whether the queue is empty or not (v's own vNext, or wHead, rewritten as it is): the first
  // queue to form (some 1,000 steps into HZ1) took the other path, first met in generate's optimised code, and threw it away
  const tail = st.wTail[lane], head = st.wHead[lane];
  const queued = tail >= 0;
  st.vNext[v] = -1;
  st.vNext[queued ? tail : v] = queued ? v : -1;
  st.wHead[lane] = queued ? head : v;
  st.wTail[lane] = v;
  st.wCount[lane]++;
  st.waiting++;
}

export function alloc(st: SimState): number {
  if (st.nextFree >= 0) {
    const v = st.nextFree;
    st.nextFree = st.vNext[v];
    return v;
  }
  if (st.highWater === st.capacity) st.grow();
  return st.highWater++;
}

export function free(st: SimState, v: number): void {
  st.vState[v] = FREE;
  st.vNext[v] = st.nextFree;
  st.nextFree = v;
}


export function append(st: SimState, v: number, d: number): void {
  const tail = st.dTail[d];
  st.vPrev[v] = tail;
  st.vNext[v] = -1;
  if (tail >= 0) st.vNext[tail] = v;
  else st.dHead[d] = v;
  st.dTail[d] = v;
  st.dCount[d]++;
}

/** Links vehicle v into drivable d's list between the vehicles `ahead` and `behind` (-1: none); unlink's inverse. */
export function linkBetween(st: SimState, v: number, d: number, ahead: number, behind: number): void {
  st.vPrev[v] = ahead;
  st.vNext[v] = behind;
  if (ahead >= 0) st.vNext[ahead] = v;
  else st.dHead[d] = v;
  if (behind >= 0) st.vPrev[behind] = v;
  else st.dTail[d] = v;
  st.dCount[d]++;
}

export function unlink(st: SimState, v: number, d: number): void {
  const p = st.vPrev[v], n = st.vNext[v];
  if (p >= 0) st.vNext[p] = n;
  else st.dHead[d] = n;
  if (n >= 0) st.vPrev[n] = p;
  else st.dTail[d] = p;
  st.dCount[d]--;
}


/**
 * The lane changes due this step (vehicles computeActions found with a lane
 * of the same road next on their path), one by one in run-list order, so each
 * sees the ones made before it: a vehicle moves to the target lane where it is
 * (its distance along the road kept) when the vehicles there leave room ahead
 * and behind: placeVehicle's minimum gap plus the braking distance the
 * follower would lose (speeds differ). Otherwise it waits, stopping before its
 * lane's end if need be, or trades places with the vehicle in its way when
 * that one is due to change to its lane (swapLanes). After the move, before
 * the leaders are recomputed.
 */
export function changeLanes(net: Network, st: SimState, changes: VehicleList): void {
  const n = changes.n;
  if (n === 0) return;
  changes.n = 0;
  const changeVeh = changes.ids;
  for (let i = 0; i < n; i++) {
    const v = changeVeh[i];
    const a = st.vDrv[v];
    const pos = st.vPathPos[v];
    const to = pos + 1 < st.vPathLen[v] ? st.path[st.vPathOff[v] + pos + 1] : -1;
    if (st.vState[v] !== RUNNING || a >= net.nLanes || to < 0 || to >= net.nLanes) continue;
    const x = st.vDis[v] < net.length[to] ? st.vDis[v] : net.length[to];
    const s = st.vSpeed[v];
    let ahead = -1, behind = st.dHead[to];
    while (behind >= 0 && st.vDis[behind] >= x) {
      ahead = behind;
      behind = st.vNext[behind];
    }
    if (ahead >= 0) {
      const sA = st.vSpeed[ahead];
      const lose = s > sA ? (s * s - sA * sA) / (2 * st.vUsualNegAcc[v]) : 0;
      if (st.vDis[ahead] - st.vLen[ahead] - x < st.vMinGap[v] + lose) {
        swapLanes(st, v, ahead);
        continue;
      }
    }
    if (behind >= 0) {
      const sB = st.vSpeed[behind];
      const lose = sB > s ? (sB * sB - s * s) / (2 * st.vUsualNegAcc[behind]) : 0;
      if (x - st.vLen[v] - st.vDis[behind] < st.vMinGap[behind] + lose) {
        swapLanes(st, v, behind);
        continue;
      }
    }
    unlink(st, v, a);
    linkBetween(st, v, to, ahead, behind);
    st.vDrv[v] = to;
    st.vPathPos[v] = pos + 1;
    st.vDis[v] = x;
  }
}

/**
 * Vehicle v, due to change lanes, is kept from it by w on the target lane:
 * when w is due to change to v's lane, each would wait for the other for
 * ever, so they trade places (each its lane and its distance along the road,
 * the lists' order kept), unless that puts either over the vehicle behind.
 */
export function swapLanes(st: SimState, v: number, w: number): void {
  const a = st.vDrv[v], b = st.vDrv[w];
  const pw = st.vPathPos[w];
  if (pw + 1 >= st.vPathLen[w] || st.path[st.vPathOff[w] + pw + 1] !== a) return;
  const xv = st.vDis[v], xw = st.vDis[w];
  // side by side (a trade, not a leap along the road)
  if (Math.abs(xv - xw) > st.vLen[v] + st.vMinGap[v]) return;
  const pa = st.vPrev[v], na = st.vNext[v], pb = st.vPrev[w], nb = st.vNext[w];
  if ((na >= 0 && xv - st.vLen[w] < st.vDis[na]) || (nb >= 0 && xw - st.vLen[v] < st.vDis[nb])) return;
  // each takes the other's place in its list (its neighbours as they were)
  unlink(st, v, a);
  unlink(st, w, b);
  linkBetween(st, w, a, pa, na);
  linkBetween(st, v, b, pb, nb);
  st.vDrv[v] = b;
  st.vDis[v] = xw;
  st.vPathPos[v]++;
  st.vDrv[w] = a;
  st.vDis[w] = xv;
  st.vPathPos[w] = pw + 1;
}


/**
 * A vehicle with its siren on that drove past vehicles giving way to it
 * (updateLeader let it ignore them) takes its place ahead of them on the
 * lane, so each lane stays ordered front first. Only vehicles added with
 * addVehicle have a siren: their handles are the ones looked at.
 */
export function overtake(net: Network, st: SimState): void {
  const handles = st.extraHandles;
  for (let k = 0; k < handles.length; k++) {
    const v = handles[k];
    if (v < 0 || (st.vExempt[v] & SIREN) === 0 || st.vState[v] !== RUNNING) continue;
    const d = st.vDrv[v];
    if (d >= net.nLanes) continue;
    for (let p = st.vPrev[v]; p >= 0 && st.vDis[p] < st.vDis[v]; p = st.vPrev[v]) {
      // v takes p's place ahead of it: ... a p v b ... becomes ... a v p b ...
      const a = st.vPrev[p];
      unlink(st, v, d);
      linkBetween(st, v, d, a, p);
    }
  }
}

/** Whether vehicle p gives way to a vehicle with its siren on behind it on its lane: it is moving, not broken down, and has no siren itself. */
export function givesWay(st: SimState, p: number): boolean {
  return st.vSpeed[p] >= WAITING_SPEED && st.vStallUntil[p] <= st.step && (st.vExempt[p] & SIREN) === 0;
}

/**
 * Who goes first at a conflict point when one of the two vehicles has its
 * siren on and the other not (the rule of the road: other traffic gives way
 * to an emergency vehicle on an emergency run, e.g. China's Road Traffic
 * Safety Law art. 53, Germany's StVO section 38, the US Uniform Vehicle Code
 * section 11-405): 1 when v goes first, -1 when v gives way, 0 when the rule
 * does not apply (both or neither with a siren: CityFlow's order, junction.ts
 * canPass). `d1`, `d2`: v's and the foe's distances to the conflict point
 * (negative past it); v can still stop before it (canPass asks first).
 * - v has the siren: it goes first unless the foe can no longer stop before
 *   the point (or stands in it): then CityFlow's order decides.
 * - the foe has it: v gives way when the foe would reach the point before v
 *   had crossed it (v's own length at its speed, at least a step); a foe far
 *   back on its approach is no reason to stop.
 */
export function sirenRightOfWay(st: SimState, v: number, foe: number, d1: number, d2: number, turnV: boolean, turnFoe: boolean, dt: number): number {
  const sv = (st.vExempt[v] & SIREN) !== 0, sf = (st.vExempt[foe] & SIREN) !== 0;
  if (sv === sf) return 0;
  if (sv) return canYield(st, foe, d2) ? 1 : 0;
  const cross = Math.ceil(st.vLen[v] / Math.max(st.vSpeed[v], 1) / dt);
  return reachSteps(st, foe, d2, turnFoe, dt) <= reachSteps(st, v, d1, turnV, dt) + cross ? -1 : 0;
}

/**
 * updateLeader for the running vehicles with no vehicle ahead on their
 * drivable, and those with a siren: each other one follows the vehicle ahead
 * of it (vPrev), which computeActions reads itself, with the gap, at the next
 * step; nothing it reads changes in between (a vehicle placed or removed
 * sets leadersStale), so the vehicle ahead's leader and gap are not stored.
 */
export function updateLeaders(net: Network, st: SimState, dt: number): void {
  const { runList, vPrev, vExempt } = st;
  const running = st.running;
  for (let r = 0; r < running; r++) {
    const v = runList[r];
    if (vPrev[v] < 0 || vExempt[v] & SIREN) updateLeader(net, st, dt, v);
  }
}

/** CityFlow's updateLeaderAndGap: the vehicle ahead on this drivable, else the nearest one ahead on the path. */
export function updateLeader(net: Network, st: SimState, dt: number, v: number): void {
  let p = st.vPrev[v];
  // with its siren on, it drives past the vehicles ahead on its lane that give way (overtake reorders the lane)
  if (st.vExempt[v] & SIREN && st.vDrv[v] < net.nLanes) while (p >= 0 && givesWay(st, p)) p = st.vPrev[p];
  if (p >= 0) {
    st.vLeader[v] = p;
    st.vGap[v] = st.vDis[p] - st.vLen[p] - st.vDis[v];
    return;
  }
  const vmax = st.vMaxSpeed[v];
  const horizon = (vmax * vmax) / st.vUsualNegAcc[v] / 2 + vmax * dt * 2;
  const leader = leaderAhead(net, st, st.vDrv[v], st.vDis[v], horizon, st.vPathOff[v], st.vPathPos[v], st.vPathLen[v]);
  st.vLeader[v] = leader;
  if (leader >= 0) st.vGap[v] = aheadGap[0];
}

/**
 * The nearest vehicle ahead on the path beyond drivable `drv` (at `dis` m
 * along it, path position `pos`), within `horizon` m; -1 if none. Its gap
 * goes to aheadGap[0] (updateLeader's, and placeVehicle's room check).
 */
export function leaderAhead(net: Network, st: SimState, drv: number, dis0: number, horizon: number, off: number, pos0: number, len: number): number {
  const nLanes = net.nLanes;
  let dis = net.length[drv] - dis0;
  for (let pos = pos0 + 1; pos < len; pos++) {
    const d = st.path[off + pos];
    const link = d >= nLanes;
    // a lane change (a lane after a lane) runs alongside, not ahead: beyond it the lane's end is what stops the vehicle
    if (!link && st.path[off + pos - 1] < nLanes) return -1;
    // laneLinks from one lane overlap at their start: the nearest vehicle on any of them is followed; on a lane, its
    // last. One loop for both: a lane's own code, first met in optimised code (JN1's first leader found beyond a
    // laneLink, ~70 steps in), threw it away for want of type feedback
    let o = 0, o1 = 1;
    if (link) {
      const lane = net.linkStartLane[d - nLanes];
      o = net.laneOutStart[lane];
      o1 = net.laneOutStart[lane + 1];
    }
    let best = -1, bestGap = 0;
    for (; o < o1; o++) {
      const c = st.dTail[link ? net.laneOutList[o] : d];
      if (c < 0) continue;
      const g = dis + st.vDis[c] - st.vLen[c];
      // compared for the first candidate too: a comparison first met in optimised code throws it away
      const nearer = g < bestGap;
      if (best < 0 || nearer) {
        best = c;
        bestGap = g;
      }
    }
    if (best >= 0) {
      aheadGap[0] = bestGap;
      return best;
    }
    dis += net.length[d];
    if (dis > horizon) return -1;
  }
  return -1;
}
