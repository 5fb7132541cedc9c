import type { Network } from './network.js';
import { ADDED, B_BLOCKER, B_END, B_HELD, ENDED, NO_LINK_STEP, type SimState } from './state.js';
import { WAITING_SPEED } from './driver.js';
import { append, free, unlink } from './occupancy.js';
import type { StepLog } from './step-log.js';

/**
 * The step's second phase: each running vehicle takes its buffered speed and
 * position (CityFlow's two-phase update; computeActions, driver.ts, filled the buffers),
 * the buffers and the state swapping places at the end.
 */

/**
 * moveVehicles' sum of the step's delay. A local double summed in the loop was a heap
 * number per vehicle (V8 kept the loop's variable boxed: half the run's garbage on HZ1);
 * an element of a Float64Array is a raw double. Same additions, same order.
 */
const delaySum = new Float64Array(1);

/**
 * One pass over the run list, in its order (the sums of travel time and delay are summed
 * in it): those onto another drivable leave their list and join the new one afterwards,
 * in order of their new distance (front first, ties in run-list order), and every other
 * vehicle's speed, position, blocker, delay and standing time are set in the same pass.
 * Those at their route's end are only listed (log.endVeh, log.nEnds): retireEnded takes
 * them off once the move is done, and clears the blockers that were among them. The
 * step's crossings go into `log`. Returns how many vehicles have stood `teleportSteps`
 * steps or longer (0: jam teleport is off).
 *
 * Every operation in the loop runs from the first steps on, whatever the traffic: V8
 * optimises moveVehicles after some 100 steps of HZ1, and an operation first met in
 * optimised code (the hour's first arrival, first vehicle yielding at a conflict point,
 * first to stand teleportSteps) throws the code away for want of type feedback, the loop
 * running unoptimised until V8 has compiled it again (issue #18). So the rare cases only
 * choose among values computed for every vehicle, and the ends' own work is in retireEnded.
 */
export function moveVehicles(net: Network, st: SimState, dt: number, log: StepLog, teleportSteps: number): number {
  const nLanes = net.nLanes;
  let nPush = 0;
  log.reserve(st.running, st.capacity);
  let nExits = 0, nEnds = 0;
  const { moved: buf, exitVeh, exitLane, endVeh, endLane } = log;
  const { runList, bFlags, vDrv, bPathPos, vPathPos, vPathOff, path, bDis, bSpeed, vDis, vSpeed, bBlocker, vBlocker, vMaxSpeed, vStand, vStallUntil, vHeld } = st;
  const maxSpeed = net.maxSpeed;
  const step = st.step;
  delaySum[0] = 0;
  let standingLong = 0;
  const running = st.running;
  for (let r = 0; r < running; r++) {
    const v = runList[r];
    const flags = bFlags[v];
    // every vehicle is written to the end list and those at their route's end counted: only the jump is rare
    const end = flags & B_END;
    endVeh[nEnds] = v;
    nEnds += end;
    if (end !== 0) continue;
    let d = vDrv[v];
    // read once: V8 repeats every element load (see computeActions)
    const bPos = bPathPos[v];
    if (bPos !== vPathPos[v]) {
      unlink(st, v, d);
      buf[nPush++] = v;
      if (d < nLanes) {
        st.lExits[d]++;
        exitVeh[nExits] = v;
        exitLane[nExits++] = d;
      }
      // the drivable it joins below, after the sort
      d = path[vPathOff[v] + bPos];
    }
    const speed = bSpeed[v];
    // the blocker computeActions found; retireEnded drops those that end this step
    const b = bBlocker[v];
    const has = b >= 0;
    vBlocker[v] = (flags & B_BLOCKER) !== 0 && has ? b : -1;
    vHeld[v] = (flags & B_HELD) >> 2;
    const limit = maxSpeed[d], vmax = vMaxSpeed[v];
    const free = limit < vmax ? limit : vmax;
    if (speed < free) delaySum[0] += (1 - speed / free) * dt;
    if (teleportSteps > 0) {
      // a broken-down vehicle stands by itself, not in a jam
      if (speed >= WAITING_SPEED || vStallUntil[v] > step) vStand[v] = 0;
      else {
        const stood = vStand[v] + 1;
        vStand[v] = stood;
        standingLong += stood >= teleportSteps ? 1 : 0;
      }
    }
  }
  log.nExits = nExits;
  log.nEnds = nEnds;
  if (nPush > 1) sortByDistance(buf, nPush, bDis);
  for (let i = 0; i < nPush; i++) {
    const v = buf[i];
    const bPos = bPathPos[v];
    const d = path[vPathOff[v] + bPos];
    append(st, v, d);
    st.vEnterLinkStep[v] = d >= nLanes ? step : NO_LINK_STEP;
    st.vPrevDrv[v] = vDrv[v];
    vDrv[v] = d;
  }
  st.cumulativeDelay += delaySum[0];
  // the buffers become the state, no copy: computeActions wrote all three for every running vehicle (ended
  // ones are freed; a waiting one, written into both by initVehicle, has the same values in each)
  st.vDis = bDis;
  st.bDis = vDis;
  st.vSpeed = bSpeed;
  st.bSpeed = vSpeed;
  st.vPathPos = bPathPos;
  st.bPathPos = vPathPos;
  return standingLong;
}

/**
 * The move's second half, called after it every step: the vehicles moveVehicles listed at
 * their route's end leave their drivable, finished, in run-list order (their travel times
 * are summed in it), and their slots are freed. Apart from moveVehicles so that its first
 * arrival throws away only this small function's optimised code. The order against the
 * move's own changes to the drivables' lists does not matter: taking a vehicle out of a
 * list leaves the same list whenever it is done.
 */
export function retireEnded(st: SimState, dt: number, log: StepLog): void {
  const nEnds = log.nEnds;
  if (nEnds === 0) return;
  const now = st.step * dt;
  const { endVeh, endLane } = log;
  const { runList, vState, vDrv } = st;
  for (let i = 0; i < nEnds; i++) {
    const v = endVeh[i];
    endLane[i] = vDrv[v];
    endRoute(st, v, now);
  }
  // a blocker that has ended blocks no more (all of them ENDED now, none freed yet)
  const vBlocker = st.vBlocker;
  for (let r = 0; r < st.running; r++) {
    const v = runList[r];
    const b = vBlocker[v];
    if (b >= 0 && vState[b] === ENDED) vBlocker[v] = -1;
  }
  // out of the run list, each place filled from its end, the ended taken off the end freed as met there: the list
  // and the free list as a scan of the run list would leave them, visiting only the ended (endVeh is in run-list order)
  const vRunIdx = st.vRunIdx;
  let running = st.running;
  for (let i = 0; i < nEnds; i++) {
    let w = endVeh[i];
    if (vState[w] !== ENDED) continue;
    const r = vRunIdx[w];
    for (;;) {
      const last = runList[--running];
      runList[r] = last;
      vRunIdx[last] = r;
      free(st, w);
      if (r >= running || vState[last] !== ENDED) break;
      w = last;
    }
  }
  st.running = running;
}

/** Vehicle v has reached the end of its route: off its drivable, finished (freed once the step's move is done). */
function endRoute(st: SimState, v: number, now: number): void {
  unlink(st, v, st.vDrv[v]);
  st.vState[v] = ENDED;
  st.finished++;
  st.cumulativeTravelTime += now - st.vEnter[v];
  if (st.vFlow[v] === ADDED) {
    st.extraFinished.set(st.extraIds[st.vSerial[v]], { enterTime: st.vEnter[v], finishTime: now });
    st.extraHandles[st.vSerial[v]] = -1;
  }
}

/**
 * Sorts the first n handles in buf by dis, the largest first, ties in their
 * order (a stable sort, as TypedArray.prototype.sort with a comparator is):
 * insertion for the few of a step on a district, allocating nothing; the
 * built-in merge sort beyond.
 */
function sortByDistance(buf: Int32Array, n: number, dis: Float64Array): void {
  if (n > 48) {
    // the sign alone: a difference of two distances would be a boxed number per comparison
    buf.subarray(0, n).sort((a, b) => (dis[b] > dis[a] ? 1 : dis[b] < dis[a] ? -1 : 0));
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = buf[i];
    const x = dis[v];
    let j = i - 1;
    for (; j >= 0 && dis[buf[j]] < x; j--) buf[j + 1] = buf[j];
    buf[j + 1] = v;
  }
}
