import { LINK_PRIORITY, type Network } from './network.js';
import { B_BLOCKER, B_HELD, type SimState } from './state.js';
import { canStopWithin, canYield, nextDrivable, reachSteps, SIREN, stopBeforeSpeed, WAITING_SPEED } from './driver.js';
import { sirenRightOfWay } from './occupancy.js';

/**
 * The junction rules: conflict points (which vehicle each one sees on each of
 * its two laneLinks, and who goes first, CityFlow's Cross), entering a laneLink
 * (CityFlow's rule, or SUMO's keep-clear with the room beyond the junction),
 * and the built-in signal plans that open and close the laneLinks.
 */

/**
 * lanes beyond a laneLink whose room keepJunctionsClear adds up, at most (SUMO's
 * checkRewindLinkLanes looks 5 links ahead; OpenStreetMap imports have chains of
 * more lanes shorter than a car between junctions netconvert did not join)
 */
const ROOM_LOOKAHEAD = 12;
/** vehicles keepJunctionsClear follows along a chain of waits looking for a ring */
const WAIT_CHAIN = 32;
/** linkPriority of a laneLink going straight on (no turn speed limit) */
const STRAIGHT = LINK_PRIORITY.go_straight;

/**
 * keepJunctionsClear's scratch within one computeActions: metres of each lane
 * claimed this step by vehicles cleared to enter it, and the lanes claimed
 * (so clearing them costs what was claimed, not the network's size).
 */
export class LaneClaims {
  readonly metres: Float64Array;
  private readonly lanes: Int32Array;
  private n = 0;

  constructor(nLanes: number) {
    this.metres = new Float64Array(nLanes);
    this.lanes = new Int32Array(nLanes);
  }

  claim(lane: number, metres: number): void {
    if (this.metres[lane] === 0) this.lanes[this.n++] = lane;
    this.metres[lane] += metres;
  }

  clear(): void {
    for (let i = 0; i < this.n; i++) this.metres[this.lanes[i]] = 0;
    this.n = 0;
  }
}

/**
 * The conflict points' notes of one step, made on demand: which vehicle each
 * conflict point sees on each of its two laneLinks, and how far it is from
 * the point (st.cVeh, st.cDist). A laneLink's side of its conflict points is
 * written the first time in a step that canPass asks about it (nearLink, noteLink),
 * from the state as the step began (computeActions changes nothing noteLink
 * reads), so laneLinks no vehicle yields to cost nothing, and no pass over
 * the vehicles finds the laneLinks beforehand. The notes are indexed as
 * net.linkCrossList (a laneLink's together, in its order), not by conflict
 * point: noteLink writes a run of memory. Scratch within one step: forks may share it.
 */
export class CrossNotes {
  /** per laneLink: the epoch its notes were last written in; minus it when no vehicle was near (its notes then are not written) */
  readonly stamp: Int32Array;
  epoch = 0;
  /** the note (index into net.linkCrossList) of side s of conflict point c, at 2c + s */
  readonly noteOf: Int32Array;
  /** net.crossDist in the notes' order */
  readonly dist: Float64Array;
  /**
   * per note, its conflict point's other side: the laneLink (k, not the drivable) and its note. What
   * intersectionRelatedSpeed asks of every conflict point ahead of a vehicle, every step: one load each
   * instead of a chain of four (linkCrossList, linkCrossSide, crossLink, noteOf)
   */
  readonly foeLink: Int32Array;
  readonly foeNote: Int32Array;

  constructor(net: Network) {
    this.stamp = new Int32Array(net.nLinks);
    const list = net.linkCrossList, side = net.linkCrossSide, crossDist = net.crossDist, crossLink = net.crossLink;
    // in locals: the loops run once per conflict point side (millions on a big grid), mostly before V8 optimises them
    const noteOf = (this.noteOf = new Int32Array(2 * net.nCrosses));
    const dist = (this.dist = new Float64Array(list.length));
    for (let i = 0; i < list.length; i++) {
      const slot = 2 * list[i] + side[i];
      noteOf[slot] = i;
      dist[i] = crossDist[slot];
    }
    const foeLink = (this.foeLink = new Int32Array(list.length));
    const foeNote = (this.foeNote = new Int32Array(list.length));
    for (let i = 0; i < list.length; i++) {
      const foeSlot = 2 * list[i] + 1 - side[i];
      foeLink[i] = crossLink[foeSlot] - net.nLanes;
      foeNote[i] = noteOf[foeSlot];
    }
  }

  /** A new step: every laneLink's notes are stale. */
  begin(): void {
    if (++this.epoch === 0x40000000) {
      this.stamp.fill(0);
      this.epoch = 1;
    }
  }
}

/**
 * Whether a vehicle is near laneLink k for its conflict points' notes (noteLink): one on it, one that has
 * just left it onto its end lane, or the first of its start lane bound for it while it is green. Apart from
 * noteLink so that intersectionRelatedSpeed asks it without a call: most laneLinks it asks about have
 * nobody near (345 k of 417 k in HZ1's hour).
 */
export function nearLink(net: Network, st: SimState, k: number): boolean {
  const d = net.nLanes + k;
  if (st.dHead[d] >= 0) return true;
  const tailV = st.dTail[net.linkEndLane[k]];
  if (tailV >= 0 && st.vPrevDrv[tailV] === d) return true;
  const headV = st.dHead[net.linkStartLane[k]];
  return headV >= 0 && st.linkAvail[k] === 1 && st.vHeld[headV] === 0 && nextDrivable(st, headV) === d;
}

/**
 * Link k's side of its conflict points (CityFlow's notifyCross), k one that nearLink finds a vehicle
 * near: each learns the nearest vehicle on k, the one that has just left it onto its end lane, one on
 * it, or the first of its start lane approaching it while it is green; -1 where there is none.
 */
export function noteLink(net: Network, st: SimState, notes: CrossNotes, k: number): void {
  const nLanes = net.nLanes;
  const { linkCrossStart, length } = net;
  const crossDist = notes.dist;
  const { cVeh, cDist, vDis, vLen, dHead, dTail, vPrevDrv, vNext } = st;
  const c0 = linkCrossStart[k];
  let r = linkCrossStart[k + 1] - 1;
  const d = nLanes + k;
  const startLane = net.linkStartLane[k];
  const tailV = dTail[net.linkEndLane[k]];
  const headV = dHead[startLane];
  const linkHead = dHead[d];
  // kept clear, one stopping before the link for want of room beyond it will not pass: nobody yields to it (SUMO's willPass)
  const approach = headV >= 0 && st.linkAvail[k] === 1 && st.vHeld[headV] === 0 && nextDrivable(st, headV) === d;
  const justLeft = tailV >= 0 && vPrevDrv[tailV] === d;
  const linkLen = length[d];
  // the vehicle that has just left this link onto its end lane
  if (justLeft) {
    const vehDistance = vDis[tailV] - vLen[tailV];
    while (r >= c0) {
      const crossDistance = linkLen - crossDist[r];
      if (crossDistance + vehDistance < 0) {
        cVeh[r] = tailV;
        cDist[r] = -(vDis[tailV] + crossDistance);
        r--;
      } else break;
    }
  }
  // vehicles on the link, front first
  for (let v = linkHead; v >= 0 && r >= c0; v = vNext[v]) {
    const vehDistance = vDis[v];
    while (r >= c0) {
      const crossDistance = crossDist[r];
      if (vehDistance > crossDistance) {
        if (vehDistance - crossDistance - vLen[v] <= 0) {
          cVeh[r] = v;
          cDist[r] = crossDistance - vehDistance;
        } else break;
      } else {
        cVeh[r] = v;
        cDist[r] = crossDistance - vehDistance;
      }
      r--;
    }
  }
  // the first vehicle of the incoming lane, if it will take this link and the link is green
  if (approach) {
    const vehDistance = length[startLane] - vDis[headV];
    while (r >= c0) {
      cVeh[r] = headV;
      cDist[r] = vehDistance + crossDist[r];
      r--;
    }
  }
  // the conflict points nearer its start than any of them
  for (; r >= c0; r--) cVeh[r] = -1;
}

/**
 * intersectionRelatedSpeed's result. A number returned from a call V8 does not
 * inline is boxed on the heap unless it is a small integer; a speed is not, so
 * it is passed back here (one per vehicle approaching a junction, every step, otherwise).
 */
export const junctionSpeed = new Float64Array(1);

/**
 * CityFlow's intersection-related speed of vehicle v on drivable drv (a laneLink, or
 * a lane whose end it approaches): it stops before a red or a full exit lane,
 * slows to its turn speed, and yields at conflict points. Into junctionSpeed[0];
 * returns true instead where v is to stop before its lane's end (red, or no room
 * beyond, and it can stop), which computeActions works out as it does before a red
 * light: the stop's code then runs from the first steps on, not first at the hour's
 * first full exit lane (some 300 steps into HZ1, HZ2, JN1), where V8 threw this
 * function's optimised code away for want of type feedback.
 */
export function intersectionRelatedSpeed(net: Network, st: SimState, claims: LaneClaims | null, notes: CrossNotes, v: number, drv: number, dt: number): boolean {
  const nLanes = net.nLanes;
  let r = st.vMaxSpeed[v];
  const next = nextDrivable(st, v);
  let link = -1;
  // read once (see computeActions)
  const dis = st.vDis[v];
  const toEnd = net.length[drv] - dis;
  if (next >= nLanes) {
    link = next;
    const k = next - nLanes;
    // loaded on every call (the test is compiled into the rare branch that uses it)
    const canStop = canStopWithin(st.vSpeed[v], st.vMaxNegAcc[v], toEnd);
    if (st.linkAvail[k] !== 1 || !(claims !== null ? roomBeyond(net, st, claims, v) : canEnter(st, net.linkEndLane[k], v))) {
      if (canStop) {
        // kept clear, stopping before a green link for want of room: it will not pass (nearLink, noteLink)
        if (claims !== null && st.linkAvail[k] === 1) st.bFlags[v] |= B_HELD;
        return true;
      }
    }
    if (net.linkPriority[k] !== STRAIGHT) {
      const turn = st.vTurnSpeed[v];
      if (turn < r) r = turn;
    }
  }
  if (link < 0 && drv >= nLanes) link = drv;
  if (link < 0) {
    junctionSpeed[0] = r;
    return false;
  }
  const k = link - nLanes;
  // how far v is past the link's start (before it: minus the way to its lane's end); spelled out, not
  // called: a double returned from a call V8 does not inline is a heap number
  const distToStart = drv < nLanes ? -toEnd : dis;
  const c0 = net.linkCrossStart[k], c1 = net.linkCrossStart[k + 1];
  const { stamp, epoch, dist, foeLink: foeLinks, foeNote: foeNotes } = notes;
  const cVeh = st.cVeh;
  for (let ci = c0; ci < c1; ci++) {
    const distOn = dist[ci];
    if (distOn < distToStart) continue;
    // the foe: the vehicle the conflict point sees on its other laneLink, noted as first asked
    const foeLink = foeLinks[ci];
    let seen = stamp[foeLink];
    if (seen !== epoch && seen !== -epoch) {
      const near = nearLink(net, st, foeLink);
      if (near) noteLink(net, st, notes, foeLink);
      stamp[foeLink] = seen = near ? epoch : -epoch;
    }
    if (seen < 0) continue;
    const foeNote = foeNotes[ci];
    const foe = cVeh[foeNote];
    if (foe >= 0 && !canPass(net, st, v, drv, ci, foe, foeNote, dt)) {
      const sb = stopBeforeSpeed(st, v, distOn - distToStart - st.vYieldDist[v], dt);
      if (sb < r) r = sb;
      st.bBlocker[v] = foe;
      st.bFlags[v] |= B_BLOCKER;
      break;
    }
  }
  junctionSpeed[0] = r;
  return false;
}

/** CityFlow's rule for entering a laneLink: its exit lane's last vehicle is far enough on, or moving. */
export function canEnter(st: SimState, lane: number, v: number): boolean {
  const tail = st.dTail[lane];
  if (tail < 0) return true;
  return st.vDis[tail] > st.vLen[tail] + st.vLen[v] || st.vSpeed[tail] >= 2;
}

/**
 * keepJunctionsClear's rule for vehicle v, approaching the laneLink next on
 * its path, as SUMO's checkRewindLinkLanes: it enters only if it can stop
 * clear of the intersection beyond it. The room on each lane is what
 * MSLane::getSpaceTillLastStanding leaves (the back of the last standing
 * vehicle, less the moving ones behind it, each with its minimum gap; with
 * none standing, the lane's length less all of them), less what is
 * committed to the lane: vehicles on laneLinks into it and vehicles cleared
 * to enter it earlier in this step (claimed, so two from different approaches
 * cannot take room for one); and, on the first lane, vehicles ahead of v
 * bound for it. Lanes shorter than a vehicle (netconvert leaves some of 0.2 m
 * between junctions) hold none: as SUMO does, the room of the lanes after
 * them counts too, up to a standing vehicle (then it must have been enough)
 * or ROOM_LOOKAHEAD lanes (then it is: nothing stands within reach). It
 * must hold v's length and gap; cleared, v claims it where it found it.
 */
export function roomBeyond(net: Network, st: SimState, claims: LaneClaims, v: number): boolean {
  const nLanes = net.nLanes;
  const path = st.path;
  const end = st.vPathOff[v] + st.vPathLen[v];
  let i = st.vPathOff[v] + st.vPathPos[v] + 2;
  if (i >= end) return true;
  const first = path[i];
  const own = st.vLen[v] + st.vMinGap[v];
  let room = 0;
  for (let w = st.vPrev[v]; w >= 0; w = st.vPrev[w]) if (bound(net, st, w, first)) room -= st.vLen[w] + st.vMinGap[w];
  for (let n = 0; n < ROOM_LOOKAHEAD; n++) {
    const lane = path[i];
    room -= claims.metres[lane];
    for (let o = net.laneInStart[lane]; o < net.laneInStart[lane + 1]; o++) {
      for (let w = st.dHead[net.laneInList[o]]; w >= 0; w = st.vNext[w]) room -= st.vLen[w] + st.vMinGap[w];
    }
    let free = net.length[lane];
    let standing = -1;
    for (let w = st.dTail[lane]; w >= 0; w = st.vPrev[w]) {
      // one standing at the lane's head to take v's place (a swap, through U-turns) leaves once v has: not in v's way
      if (st.vSpeed[w] < WAITING_SPEED && !(w === st.dHead[lane] && bound(net, st, w, st.vDrv[v]))) {
        free += st.vDis[w] - st.vLen[w] - net.length[lane];
        standing = w;
        break;
      }
      free -= st.vLen[w] + st.vMinGap[w];
    }
    room += free;
    // the route ends on this lane: the vehicle drives off its end unless one stands in its way
    const last = i + 1 >= end;
    // a standing vehicle bounds the room, unless it waits (through others) for v: a ring, which v breaks, or nobody would
    if (room >= own || (last && standing < 0) || (standing >= 0 && waitsFor(st, standing, v))) {
      claims.claim(lane, own);
      return true;
    }
    if (standing >= 0) {
      st.bBlocker[v] = standing;
      st.bFlags[v] |= B_BLOCKER;
      return false;
    }
    if (last) return false;
    // a lane change due goes on alongside (onto a lane of the same road)
    i += path[i + 1] < nLanes ? 1 : 2;
  }
  // nothing stands within reach: what is ahead is moving on
  return true;
}

/**
 * Whether vehicle w waits for v, through the vehicles each waits for as of
 * the last step (vBlocker: the foe it yields to; kept clear, also the one
 * standing in the room it needs, and, where it stands behind one, its leader).
 */
export function waitsFor(st: SimState, w: number, v: number): boolean {
  for (let b = st.vBlocker[w], n = 0; b >= 0 && n < WAIT_CHAIN; b = st.vBlocker[b], n++) if (b === v) return true;
  return false;
}

/** Whether vehicle w's next drivable is a laneLink into `lane`. */
export function bound(net: Network, st: SimState, w: number, lane: number): boolean {
  const next = nextDrivable(st, w);
  return next >= net.nLanes && net.linkEndLane[next - net.nLanes] === lane;
}


/**
 * CityFlow's Cross::canPass: who goes first at a conflict point, the ci-th on
 * v's laneLink (net.linkCrossList's order), where `foe` is noted on the other
 * laneLink (its note `foeNote`).
 */
export function canPass(net: Network, st: SimState, v: number, drv: number, ci: number, foe: number, foeNote: number, dt: number): boolean {
  const nLanes = net.nLanes;
  const c = net.linkCrossList[ci];
  const side = net.linkCrossSide[ci];
  const distToStart = drv < nLanes ? -(net.length[drv] - st.vDis[v]) : st.vDis[v];
  const t1 = net.linkPriority[net.crossLink[2 * c + side] - nLanes];
  const t2 = net.linkPriority[net.crossLink[2 * c + 1 - side] - nLanes];
  const d1 = net.crossDist[2 * c + side] - distToStart;
  const d2 = st.cDist[foeNote];
  if (!canYield(st, v, d1)) return true;
  // a siren goes first (occupancy.ts); asked only when one has a siren: the call boxes the distances it is passed
  if ((st.vExempt[v] | st.vExempt[foe]) & SIREN) {
    const siren = sirenRightOfWay(st, v, foe, d1, d2, t1 !== STRAIGHT, t2 !== STRAIGHT, dt);
    if (siren !== 0) return siren === 1;
  }
  // y: -1 v goes first, 1 the foe does. A higher priority goes first; otherwise (a lower one, or the
  // same) the foe goes first unless it would reach the point later than v, or (already past it) has
  // left it; with the same priority, ties go to the one on its link first, then the nearer, then vPriority.
  // The two priorities' cases share their code: a path first met in optimised code throws it away.
  let y: number;
  if (!canYield(st, foe, d2)) y = 1;
  else if (t1 > t2) y = -1;
  else if (d2 > 0) {
    const fs = reachSteps(st, foe, d2, t2 !== STRAIGHT, dt);
    const ms = reachSteps(st, v, d1, t1 !== STRAIGHT, dt);
    if (fs > ms) y = -1;
    else if (t1 < t2 || fs < ms) y = 1;
    else {
      // the three tie-breaks all worked out, one chosen: the first ties of two on their links at different steps come
      // an hour into HZ1, and a comparison first met in optimised code throws it away
      const e1 = st.vEnterLinkStep[v], e2 = st.vEnterLinkStep[foe];
      const byLink = e1 < e2 ? -1 : 1;
      const byDist = d1 < d2 ? -1 : 1;
      const byPriority = st.vPriority[v] > st.vPriority[foe] ? -1 : 1;
      y = e1 !== e2 ? byLink : d1 !== d2 ? byDist : byPriority;
    }
  } else y = d2 + st.vLen[foe] < 0 ? -1 : 1;
  if (y === 1) {
    // a cycle of vehicles blocking each other: go, or nobody ever will
    let fast = foe, slow = foe;
    while (fast >= 0 && st.vBlocker[fast] >= 0) {
      slow = st.vBlocker[slow];
      fast = st.vBlocker[st.vBlocker[fast]];
      if (slow === fast) return true;
    }
  }
  return y === -1;
}


export function advancePlans(net: Network, st: SimState, dt: number): void {
  const sig = net.signalised;
  for (let j = 0; j < sig.length; j++) {
    const i = sig[j];
    if (st.iExternal[i]) continue;
    st.iRemain[i] -= dt;
    if (st.iRemain[i] > 0) continue;
    const p0 = net.interPhaseStart[i];
    const n = net.interPhaseStart[i + 1] - p0;
    let p = st.iPhase[i];
    while (st.iRemain[i] <= 0) {
      p = (p + 1) % n;
      st.iRemain[i] += net.phaseTime[p0 + p];
    }
    applyPhase(net, st, i, p);
  }
}

export function applyPhase(net: Network, st: SimState, i: number, p: number): void {
  st.iPhase[i] = p;
  if (net.interPhaseStart[i + 1] === net.interPhaseStart[i]) return;
  const avail = net.phaseAvailStart[net.interPhaseStart[i] + p];
  const rl0 = net.interRoadLinkStart[i];
  for (let d = net.interLinkStart[i]; d < net.interLinkStart[i + 1]; d++) {
    const k = d - net.nLanes;
    st.linkAvail[k] = net.phaseAvail[avail + net.linkRoadLink[k] - rl0];
  }
}
