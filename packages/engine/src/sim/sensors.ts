import type { Network } from './network.js';
import type { SimState } from './state.js';
import { WAITING_SPEED } from './driver.js';

/**
 * What detectors read off the state: per-lane counts of vehicles waiting,
 * approaching and moving, and a video detector's lane statistics. Queries,
 * allocation-free; the Simulation's lane methods answer with them.
 */

/** Vehicles on lane `lane` slower than 0.1 m/s. */
export function laneWaitingCount(st: SimState, lane: number): number {
  let n = 0;
  for (let v = st.dHead[lane]; v >= 0; v = st.vNext[v]) if (st.vSpeed[v] < WAITING_SPEED) n++;
  return n;
}

/** Vehicles on lane `lane` within `range` metres of its end (approaching the stop line). */
export function laneApproachingCount(net: Network, st: SimState, lane: number, range: number): number {
  const from = net.length[lane] - range;
  let n = 0;
  for (let v = st.dHead[lane]; v >= 0 && st.vDis[v] >= from; v = st.vNext[v]) n++;
  return n;
}

/**
 * Vehicles on lane `lane` within `range` metres of its end that are moving
 * (faster than 0.1 m/s): those approaching the stop line without having
 * joined its queue. The queue's tail may lie beyond `range`, so this is not
 * laneApproachingCount less the lane's waiting vehicles.
 */
export function laneMovingCount(net: Network, st: SimState, lane: number, range: number): number {
  const from = net.length[lane] - range;
  let n = 0;
  for (let v = st.dHead[lane]; v >= 0 && st.vDis[v] >= from; v = st.vNext[v]) if (st.vSpeed[v] > WAITING_SPEED) n++;
  return n;
}

/** Fills `out` (length >= nLanes) with waiting (speed < 0.1 m/s) counts per lane. */
export function laneWaitingCounts(net: Network, st: SimState, out: Int32Array): Int32Array {
  out.fill(0, 0, net.nLanes);
  for (let r = 0; r < st.running; r++) {
    const v = st.runList[r];
    const d = st.vDrv[v];
    if (d < net.nLanes && st.vSpeed[v] < WAITING_SPEED) out[d]++;
  }
  return out;
}

/**
 * What a video detector over the whole lane sees, written into out[0..3]:
 * vehicles on the lane, of which stopped (< 0.1 m/s), their mean speed (m/s,
 * the lane's limit when empty) and occupancy (share of the lane's length covered).
 */
export function laneStats(net: Network, st: SimState, lane: number, out: Float64Array): Float64Array {
  let n = 0, stopped = 0, speed = 0, occupied = 0;
  for (let v = st.dHead[lane]; v >= 0; v = st.vNext[v]) {
    n++;
    if (st.vSpeed[v] < WAITING_SPEED) stopped++;
    speed += st.vSpeed[v];
    occupied += st.vLen[v];
  }
  out[0] = n;
  out[1] = stopped;
  out[2] = n > 0 ? speed / n : net.maxSpeed[lane];
  out[3] = Math.min(1, occupied / net.length[lane]);
  return out;
}
