import type { Network } from './network.js';
import { ADDED, NO_LINK_STEP, type SimState } from './state.js';
import { append, free, unlink } from './occupancy.js';

/**
 * SUMO's jam teleport (SimulationRules.timeToTeleport): each vehicle that has
 * stood that long and is the first on its lane or laneLink is taken off and
 * put at the start of the next lane on its route with room there (no vehicle
 * on a laneLink into it, the last one on it at least its minimum gap on), or,
 * with none, leaves the network as if at its route's end (finished, as SUMO
 * counts it). After the move and the lane changes, before the leaders are
 * recomputed. No stop line is crossed: detectors do not count it.
 */
export function teleport(net: Network, st: SimState, teleportSteps: number, now: number): void {
  const nLanes = net.nLanes;
  const path = st.path;
  for (let r = st.running - 1; r >= 0; r--) {
    const v = st.runList[r];
    const d = st.vDrv[v];
    if (st.vStand[v] < teleportSteps || st.dHead[d] !== v) continue;
    const off = st.vPathOff[v], len = st.vPathLen[v];
    // lanes of its own road are beside it, not ahead of it
    const road = d < nLanes ? net.laneRoad[d] : -1;
    let pos = st.vPathPos[v] + 1;
    for (; pos < len; pos++) {
      const l = path[off + pos];
      if (l < nLanes && net.laneRoad[l] !== road && roomAtStart(net, st, l, v)) break;
    }
    unlink(st, v, d);
    st.teleported++;
    st.vBlocker[v] = -1;
    st.vStand[v] = 0;
    st.vHeld[v] = 0;
    if (pos < len) {
      const l = path[off + pos];
      st.vPathPos[v] = pos;
      st.vPrevDrv[v] = d;
      st.vDrv[v] = l;
      st.vDis[v] = 0;
      st.vSpeed[v] = 0;
      st.vEnterLinkStep[v] = NO_LINK_STEP;
      append(st, v, l);
      continue;
    }
    st.finished++;
    st.cumulativeTravelTime += now - st.vEnter[v];
    if (st.vFlow[v] === ADDED) {
      st.extraFinished.set(st.extraIds[st.vSerial[v]], { enterTime: st.vEnter[v], finishTime: now });
      st.extraHandles[st.vSerial[v]] = -1;
    }
    const last = st.runList[--st.running];
    st.runList[r] = last;
    st.vRunIdx[last] = r;
    free(st, v);
  }
}

/** Whether vehicle v fits at the start of `lane`: nothing on a laneLink into it, its last vehicle beyond v's minimum gap (admitWaiting's room). */
export function roomAtStart(net: Network, st: SimState, lane: number, v: number): boolean {
  for (let o = net.laneInStart[lane]; o < net.laneInStart[lane + 1]; o++) if (st.dHead[net.laneInList[o]] >= 0) return false;
  const tail = st.dTail[lane];
  return tail < 0 || st.vDis[tail] > st.vLen[tail] + st.vMinGap[v];
}
