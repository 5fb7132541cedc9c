import type { FlowJson, VehicleJson } from '../format/cityflow.js';
import { ScenarioError } from '../errors.js';
import type { Network } from './network.js';

/**
 * Flow compilation: routes (road ids) to paths (lanes and the laneLinks between
 * them), the lanes a route may start from, and the flows' static table the
 * generator steps through. Pure functions of the network.
 */

/** Static, shared part of the compiled flows (never mutated after construction). */
export interface FlowTable {
  n: number;
  params: Float64Array; // 9 per flow, VehicleJson order below
  interval: Float64Array;
  start: Float64Array;
  end: Float64Array;
  order: Int32Array; // by start time
  /** the first road of each flow's route; -1: a flow CityFlow drops (its route is empty) */
  firstRoad: Int32Array;
  candStart: Int32Array; // CSR of candidate first lanes
  candPathOff: Int32Array;
  candPathLen: Int32Array;
}

export const P_LEN = 0, P_WIDTH = 1, P_MAXPOS = 2, P_MAXNEG = 3, P_USUALPOS = 4, P_USUALNEG = 5, P_MINGAP = 6, P_MAXSPEED = 7, P_HEADWAY = 8;
export const PARAM_KEYS: (keyof VehicleJson)[] = ['length', 'width', 'maxPosAcc', 'maxNegAcc', 'usualPosAcc', 'usualNegAcc', 'minGap', 'maxSpeed', 'headwayTime'];
export const DEFAULT_VEHICLE: VehicleJson = {
  length: 5, width: 2, maxPosAcc: 2, maxNegAcc: 4.5, usualPosAcc: 2, usualNegAcc: 4.5, minGap: 2.5, maxSpeed: 11.111, headwayTime: 2,
};

export const DEFAULT_PARAMS = new Float64Array(PARAM_KEYS.map((k) => DEFAULT_VEHICLE[k]));


export function routeRoads(net: Network, flow: FlowJson, where: string): number[] {
  return flow.route.map((id, k) => {
    const r = net.roadIndex.get(id);
    if (r === undefined) throw new ScenarioError(where, `route[${k}]`, `unknown road "${id}"`);
    return r;
  });
}

/**
 * The paths (drivable indices: lanes and the lane links between them) a
 * route's vehicles are admitted on, one per lane they may start on: the
 * lanes whose path drives the whole route without a lane change, when there
 * are any (CityFlow's scenarios: exactly CityFlow's paths); else those from
 * which it can be driven with changes (SUMO nets: a lane often serves one
 * turn only); else every start lane's path, which stops early where the
 * vehicle leaves. Flows and demand calibration both take their paths from here.
 */
export function routeLanePaths(net: Network, roads: number[]): number[][] {
  const starts = firstLanes(net, roads);
  const paths = starts.map((lane) => buildPath(net, roads, lane));
  let whole = paths.filter((p) => p.length === 2 * roads.length - 1);
  if (whole.length === 0) whole = starts.map((lane) => buildPathWithChanges(net, roads, lane)).filter((p) => p !== null);
  return whole.length > 0 ? whole : paths;
}

/** Lanes of the first road from which the second road can be reached (all lanes for a one-road route). */
export function firstLanes(net: Network, roads: number[]): number[] {
  const r0 = roads[0];
  const lanes: number[] = [];
  for (let l = net.roadFirstLane[r0]; l < net.roadFirstLane[r0] + net.roadLaneCount[r0]; l++) {
    if (roads.length === 1 || reaches(net, l, roads[1])) lanes.push(l);
  }
  return lanes;
}

/** Whether a laneLink out of `lane` ends on `road`. */
export function reaches(net: Network, lane: number, road: number): boolean {
  for (let o = net.laneOutStart[lane]; o < net.laneOutStart[lane + 1]; o++) {
    if (net.laneRoad[net.linkEndLane[net.laneOutList[o] - net.nLanes]] === road) return true;
  }
  return false;
}

/**
 * The drivables a vehicle takes from `lane` along roads[0..nRoads), into `out`
 * (room for 2 * nRoads - 1); returns how many: at each junction the laneLink
 * whose end lane is nearest in index to the current lane, among those that can
 * continue to the road after (CityFlow's Router). A dead end stops the path
 * early, as in CityFlow, and the vehicle leaves there. With `weights` (the
 * turning weights, one per laneLink), a link of weight 0 is taken only where
 * no link of weight > 0 goes on (a closed lane is avoided where the road has
 * another). Allocation-free.
 */
export function buildPathInto(net: Network, roads: ArrayLike<number>, nRoads: number, lane: number, out: Int32Array, weights?: ArrayLike<number>): number {
  const nLanes = net.nLanes;
  let n = 0;
  out[n++] = lane;
  let cur = lane;
  for (let k = 0; k + 1 < nRoads; k++) {
    const next = roads[k + 1];
    const ci = net.laneIndexInRoad[cur];
    let best = -1, bestDiff = Infinity;
    // with weights: links of weight 0 (a closed lane's) only where no other link goes on
    for (let pass = weights ? 0 : 1; pass < 2 && best < 0; pass++) {
      for (let o = net.laneOutStart[cur]; o < net.laneOutStart[cur + 1]; o++) {
        const d = net.laneOutList[o];
        if (pass === 0 && !(weights![d - nLanes] > 0)) continue;
        const end = net.linkEndLane[d - nLanes];
        if (net.laneRoad[end] !== next || (k + 2 < nRoads && !reaches(net, end, roads[k + 2]))) continue;
        const diff = Math.abs(net.laneIndexInRoad[end] - ci);
        if (diff < bestDiff) {
          bestDiff = diff;
          best = d;
        }
      }
    }
    if (best < 0) break;
    out[n++] = best;
    cur = net.linkEndLane[best - nLanes];
    out[n++] = cur;
  }
  return n;
}

export function buildPath(net: Network, roads: number[], lane: number): number[] {
  const out = new Int32Array(2 * roads.length - 1);
  return Array.from(out.subarray(0, buildPathInto(net, roads, roads.length, lane, out)));
}

/**
 * The path from `lane` along `roads` with the cheapest lane changes, or null
 * when none drives the whole route. A lane change is a path step from a lane to
 * the adjacent lane of the same road (two lanes in a row), made where the
 * vehicle is along the road; changing over two lanes is two steps. A change
 * costs more the shorter its road (changeCost: OSM nets split roads into
 * stubs a few metres long, where two vehicles wanting each other's lane would
 * wait for ever). Among equal costs, changing on the road it is on (early), then,
 * as CityFlow's Router, the link whose end lane is nearest in index. For routes
 * buildPath cannot drive (SUMO nets: a lane often serves one turn only); allocates.
 */
export function buildPathWithChanges(net: Network, roads: number[], lane: number): number[] | null {
  const n = roads.length;
  const nLanes = net.nLanes;
  // cost[k][i]: fewest changes that drive roads[k..] from lane i (index in its road) of roads[k]
  const cost: Float64Array[] = new Array(n);
  cost[n - 1] = new Float64Array(net.roadLaneCount[roads[n - 1]]);
  for (let k = n - 2; k >= 0; k--) {
    const r = roads[k], c = net.roadLaneCount[r], l0 = net.roadFirstLane[r];
    // fewest changes after leaving from lane j over a link onto roads[k + 1]
    const leave = new Float64Array(c).fill(Infinity);
    for (let j = 0; j < c; j++) {
      for (let o = net.laneOutStart[l0 + j]; o < net.laneOutStart[l0 + j + 1]; o++) {
        const end = net.linkEndLane[net.laneOutList[o] - nLanes];
        if (net.laneRoad[end] === roads[k + 1]) leave[j] = Math.min(leave[j], cost[k + 1][net.laneIndexInRoad[end]]);
      }
    }
    const here = (cost[k] = new Float64Array(c).fill(Infinity));
    const per = changeCost(net.length[l0]);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) here[i] = Math.min(here[i], per * Math.abs(i - j) + leave[j]);
  }
  if (net.laneRoad[lane] !== roads[0] || cost[0][net.laneIndexInRoad[lane]] === Infinity) return null;
  const out = [lane];
  let cur = lane;
  for (let k = 0; k + 1 < n; k++) {
    const l0 = net.roadFirstLane[roads[k]];
    const ci = net.laneIndexInRoad[cur];
    const per = changeCost(net.length[l0]);
    let best = -1, bestCost = Infinity, bestHere = -1, bestDiff = Infinity;
    for (let j = 0; j < net.roadLaneCount[roads[k]]; j++) {
      for (let o = net.laneOutStart[l0 + j]; o < net.laneOutStart[l0 + j + 1]; o++) {
        const d = net.laneOutList[o];
        const end = net.linkEndLane[d - nLanes];
        if (net.laneRoad[end] !== roads[k + 1]) continue;
        const here = Math.abs(ci - j);
        const total = per * here + cost[k + 1][net.laneIndexInRoad[end]];
        const diff = Math.abs(net.laneIndexInRoad[end] - j);
        if (total < bestCost || (total === bestCost && (here > bestHere || (here === bestHere && diff < bestDiff)))) {
          best = d;
          bestCost = total;
          bestHere = here;
          bestDiff = diff;
        }
      }
    }
    // the lane the link leaves from, one adjacent lane at a time
    const from = net.linkStartLane[best - nLanes];
    while (cur !== from) out.push((cur += from > cur ? 1 : -1));
    out.push(best);
    cur = net.linkEndLane[best - nLanes];
    out.push(cur);
  }
  return out;
}

/** What a lane change on a road `length` m long costs a path: 1 on a long road, more on a short one (20 m: 2, 2 m: 11). */
export function changeCost(length: number): number {
  return 1 + 20 / Math.max(length, 1);
}

/**
 * The path from `lane` along `roads`: CityFlow's (buildPath) when it drives the
 * whole route, so CityFlow scenarios stay as CityFlow runs them; else the one
 * with the fewest lane changes that does; else CityFlow's, cut short.
 */
export function routePath(net: Network, roads: number[], lane: number): number[] {
  const p = buildPath(net, roads, lane);
  if (p.length === 2 * roads.length - 1) return p;
  return buildPathWithChanges(net, roads, lane) ?? p;
}

/** The roads a path drives (laneRoad of each lane not reached by a lane change). */
export function pathRoads(net: Network, path: ArrayLike<number>, off: number, len: number): number[] {
  const roads: number[] = [];
  for (let j = 0; j < len; j++) {
    const d = path[off + j];
    if (d < net.nLanes && (j === 0 || path[off + j - 1] >= net.nLanes)) roads.push(net.laneRoad[d]);
  }
  return roads;
}

/**
 * The flows' distinct routes (the same roads in the same order), numbered in order of first use: flow f's route is
 * routeOf[f], and route r is first used by flow routeFlow[r]. Loading routes each once and shares what it builds.
 */
export function distinctRoutes(flows: readonly { route: readonly string[] }[]): { routeOf: Int32Array; routeFlow: number[] } {
  const n = flows.length;
  const routeOf = new Int32Array(n);
  const routeFlow: number[] = [];
  const byKey = new Map<string, number>();
  for (let f = 0; f < n; f++) {
    const key = flows[f].route.join('\u0000');
    let r = byKey.get(key);
    if (r === undefined) {
      r = routeFlow.length;
      byKey.set(key, r);
      routeFlow.push(f);
    }
    routeOf[f] = r;
  }
  return { routeOf, routeFlow };
}

export function compileFlows(net: Network, flows: FlowJson[]): { table: FlowTable; path: Int32Array } {
  const n = flows.length;
  // Three short loops, not one: a long one over the flows that also routed them was compiled (OSR) as one big
  // function, 20-30 ms of TurboFan at every load of HZ1's 2,983 flows.
  // 1. each flow's route, numbered in order of first use: flows with the same route share their paths
  const { routeOf, routeFlow } = distinctRoutes(flows);
  // 2. each route's paths (in the order of first use, so an unknown road is reported at the same flow as ever)
  const { pool, candOff, candLen, routeCand, routeFirstRoad } = routePaths(net, flows, routeFlow);
  // 3. the flows' table
  const params = new Float64Array(n * 9);
  const interval = new Float64Array(n);
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const candStart = new Int32Array(n + 1);
  const firstRoad = new Int32Array(n);
  const candPathOff: number[] = [];
  const candPathLen: number[] = [];
  for (let f = 0; f < n; f++) {
    const fl = flows[f];
    const v = fl.vehicle;
    const o = f * 9; // PARAM_KEYS' order, written out
    params[o + P_LEN] = v.length;
    params[o + P_WIDTH] = v.width;
    params[o + P_MAXPOS] = v.maxPosAcc;
    params[o + P_MAXNEG] = v.maxNegAcc;
    params[o + P_USUALPOS] = v.usualPosAcc;
    params[o + P_USUALNEG] = v.usualNegAcc;
    params[o + P_MINGAP] = v.minGap;
    params[o + P_MAXSPEED] = v.maxSpeed;
    params[o + P_HEADWAY] = v.headwayTime;
    interval[f] = fl.interval;
    start[f] = fl.startTime ?? 0;
    end[f] = fl.endTime ?? -1;
    candStart[f] = candPathOff.length;
    const r = routeOf[f];
    for (let k = routeCand[r]; k < routeCand[r + 1]; k++) {
      candPathOff.push(candOff[k]);
      candPathLen.push(candLen[k]);
    }
    // no lane to start from: generates nothing, as a flow CityFlow drops
    firstRoad[f] = routeCand[r] === routeCand[r + 1] ? -1 : routeFirstRoad[r];
  }
  candStart[n] = candPathOff.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => start[a] - start[b] || a - b);
  const table: FlowTable = {
    n, params, interval, start, end, order, firstRoad, candStart,
    candPathOff: Int32Array.from(candPathOff), candPathLen: Int32Array.from(candPathLen),
  };
  return { table, path: Int32Array.from(pool) };
}

/** compileFlows' paths of each distinct route (routeFlow: a flow of each), pooled: route r's are routeCand[r]..routeCand[r + 1]. */
function routePaths(net: Network, flows: FlowJson[], routeFlow: number[]) {
  const pool: number[] = [];
  const candOff: number[] = [];
  const candLen: number[] = [];
  const routeCand = new Int32Array(routeFlow.length + 1);
  const routeFirstRoad = new Int32Array(routeFlow.length).fill(-1);
  for (let r = 0; r < routeFlow.length; r++) {
    const f = routeFlow[r];
    routeCand[r] = candOff.length;
    const roads = routeRoads(net, flows[f], `flows[${f}]`);
    // an empty route: a flow the CityFlow loader dropped (kept so that later flows keep their indexes and ids)
    if (roads.length === 0) continue;
    routeFirstRoad[r] = roads[0];
    for (const p of routeLanePaths(net, roads)) {
      candOff.push(pool.length);
      candLen.push(p.length);
      for (const d of p) pool.push(d);
    }
  }
  routeCand[routeFlow.length] = candOff.length;
  return { pool, candOff, candLen, routeCand, routeFirstRoad };
}
