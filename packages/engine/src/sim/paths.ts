import type { Network } from './network.js';
import { nextU32 } from './rng.js';
import { FREE, type SimState } from './state.js';
import { buildPathInto, pathRoads, reaches, routePath } from './flows.js';

/**
 * Paths made while the simulation runs, in the state's path buffer after the flows'
 * (which are compiled once, flows.ts): those of added, placed and relocated vehicles,
 * and of routes drawn from the turning weights. A stored path is named by a code,
 * offset * PATH_CODE + length, so that the caches (SimState.placedPaths, drawnPaths)
 * hold small integers.
 */

/** placed and drawn paths are cached as offset * PATH_CODE + length */
export const PATH_CODE = 65536;

export const pathOffset = (code: number): number => Math.floor(code / PATH_CODE);
export const pathLength = (code: number): number => code % PATH_CODE;

/**
 * What storing and drawing paths need beside the state: where the run-time part of the
 * buffer starts, and scratch for a drawn route (roads) and its path, used within one
 * call, so forks share it.
 */
export class PathSpace {
  readonly routeBuf: Int32Array;
  readonly pathBuf: Int32Array;

  /**
   * @param pathBase length of the flows' paths at the start of the buffer
   * @param maxRouteRoads roads a route drawn from the turning weights has at most
   */
  constructor(readonly pathBase: number, readonly maxRouteRoads: number) {
    if (!(Number.isInteger(maxRouteRoads) && maxRouteRoads >= 1 && 2 * maxRouteRoads - 1 < PATH_CODE)) {
      throw new RangeError(`maxRouteRoads must be a whole number in 1..${PATH_CODE / 2 - 1}, got ${maxRouteRoads}`);
    }
    this.routeBuf = new Int32Array(maxRouteRoads);
    this.pathBuf = new Int32Array(2 * maxRouteRoads - 1);
  }
}

/**
 * Appends p[0..n) to the run-time part of the path buffer; returns its offset.
 * When it is full, the paths no vehicle drives any more are reclaimed first
 * (compactPaths), and it grows only when the live ones fill more than half of
 * it: its size follows the vehicles present, not all that ever came (a fork copies it).
 */
export function storePath(st: SimState, ps: PathSpace, p: ArrayLike<number>, n: number): number {
  if (st.pathUsed + n > st.path.length) {
    compactPaths(st, ps.pathBase);
    const room = st.path.length - ps.pathBase;
    const need = st.pathUsed + n - ps.pathBase;
    if (need > room / 2) {
      const next = new Int32Array(ps.pathBase + Math.max(2 * room, 2 * need));
      next.set(st.path.subarray(0, st.pathUsed));
      st.path = next;
    }
  }
  const off = st.pathUsed;
  const path = st.path;
  for (let j = 0; j < n; j++) path[off + j] = p[j];
  st.pathUsed += n;
  return off;
}

/**
 * Reclaims the run-time part of the path buffer: keeps the paths of the
 * vehicles present (a shared one once, in stored order) and forgets cached
 * paths none of them drives. Rare (when the buffer is full), and it follows
 * from the state alone, so a fork compacts alike.
 */
function compactPaths(st: SimState, base: number): void {
  const live: number[] = [];
  for (let v = 0; v < st.highWater; v++) if (st.vState[v] !== FREE && st.vPathOff[v] >= base) live.push(v);
  const off = st.vPathOff;
  live.sort((a, b) => off[a] - off[b]);
  const moved = new Map<number, number>();
  let used = base;
  for (const v of live) {
    const from = off[v];
    let to = moved.get(from);
    if (to === undefined) {
      // ascending offsets: each path moves down, never over one still to move
      st.path.copyWithin(used, from, from + st.vPathLen[v]);
      moved.set(from, (to = used));
      used += st.vPathLen[v];
    }
    off[v] = to;
  }
  for (const cache of [st.placedPaths, st.drawnPaths] as Map<unknown, number>[]) {
    for (const [key, code] of cache) {
      const to = moved.get(pathOffset(code));
      if (to === undefined) cache.delete(key);
      else cache.set(key, to * PATH_CODE + pathLength(code));
    }
  }
  st.path.fill(0, used, st.pathUsed);
  st.pathUsed = used;
}

/**
 * Draws a route from `lane` into ps.routeBuf and returns how many roads it has:
 * at each lane the next laneLink among the lane's out links, in proportion to
 * the turning weights, then on from the link's end lane, until a lane with no
 * out link (of weight > 0) or maxRouteRoads roads. As SUMO's jtrrouter builds
 * routes from turning ratios. The one route-drawing rule of the engine.
 */
function drawRoute(net: Network, st: SimState, ps: PathSpace, lane: number): number {
  const nLanes = net.nLanes;
  const w = st.turnWeight;
  const roads = ps.routeBuf;
  roads[0] = net.laneRoad[lane];
  let n = 1;
  for (let cur = lane; n < ps.maxRouteRoads; ) {
    const o0 = net.laneOutStart[cur], o1 = net.laneOutStart[cur + 1];
    let total = 0, pick = -1, choices = 0;
    for (let o = o0; o < o1; o++) {
      const x = w[net.laneOutList[o] - nLanes];
      if (x > 0) {
        total += x;
        pick = o;
        choices++;
      }
    }
    if (pick < 0) break;
    // a draw only where there is a choice; rounding that runs past the end leaves the last link picked above
    if (choices > 1) {
      let x = (nextU32(st.rng) / 4294967296) * total;
      for (let o = o0; o < o1; o++) {
        const wk = w[net.laneOutList[o] - nLanes];
        if (wk > 0 && (x -= wk) < 0) {
          pick = o;
          break;
        }
      }
    }
    cur = net.linkEndLane[net.laneOutList[pick] - nLanes];
    roads[n++] = net.laneRoad[cur];
  }
  return n;
}

/**
 * A route drawn from `lane` (drawRoute) and its path's code: built as the flows'
 * paths are (buildPath) and shared by every draw of the same route (cached by a
 * hash of lane and roads, a hit checked against the stored path).
 */
export function drawnPath(net: Network, st: SimState, ps: PathSpace, lane: number): number {
  const roads = ps.routeBuf;
  const n = drawRoute(net, st, ps, lane);
  let h = Math.imul(0x811c9dc5 ^ lane, 0x01000193);
  for (let j = 0; j < n; j++) h = Math.imul(h ^ roads[j], 0x01000193);
  // a small integer key: Map lookups without a heap number
  const key = (h ^ (h >>> 15)) & 0x3fffffff;
  const known = st.drawnPaths.get(key);
  if (known !== undefined) {
    const off = pathOffset(known), len = pathLength(known);
    let same = len === 2 * n - 1 && st.path[off] === lane;
    for (let j = 1; same && j < n; j++) same = net.laneRoad[st.path[off + 2 * j]] === roads[j];
    if (same) return known;
  }
  const len = buildPathInto(net, roads, n, lane, ps.pathBuf, st.turnWeight);
  const code = storePath(st, ps, ps.pathBuf, len) * PATH_CODE + len;
  // a route no lane chain follows to its end is cut short: that path is not the route's, so not shared
  if (len === 2 * n - 1) st.drawnPaths.set(key, code);
  return code;
}

/**
 * The path's code of a vehicle placed on `lane` along `route` (road indices),
 * validated: stored once per (lane, route) in the state. Errors name placeVehicle.
 */
export function placedPath(net: Network, st: SimState, ps: PathSpace, lane: number, laneId: string, route: ArrayLike<number>): number {
  const n = route?.length;
  const nRoads = net.roadIds.length;
  if (!(n >= 1 && 2 * n - 1 < PATH_CODE)) throw new RangeError(`placeVehicle: route must list 1..${PATH_CODE / 2 - 1} road indices, got ${n ?? route}`);
  const roads: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = route[k];
    if (!(Number.isInteger(r) && r >= 0 && r < nRoads)) throw new RangeError(`placeVehicle: route[${k}] = ${r} is not a road index (0..${nRoads - 1})`);
    roads.push(r);
  }
  const road = net.laneRoad[lane];
  if (roads[0] !== road) throw new RangeError(`placeVehicle: route[0] is road ${net.roadIds[roads[0]]}, but lane ${laneId} is on road ${net.roadIds[road]}`);
  const key = `${lane}:${roads.join(',')}`;
  const known = st.placedPaths.get(key);
  if (known !== undefined) return known;
  if (n > 1 && !reaches(net, lane, roads[1])) {
    throw new RangeError(`placeVehicle: route[1] (road ${net.roadIds[roads[1]]}) is not connected from lane ${laneId}: no lane link leads there`);
  }
  const p = routePath(net, roads, lane);
  const k = pathRoads(net, p, 0, p.length).length;
  if (k !== n) {
    throw new RangeError(`placeVehicle: route is not connected from lane ${laneId}: no chain of lane links goes on from route[${k - 1}] (road ${net.roadIds[roads[k - 1]]}) to route[${k}] (road ${net.roadIds[roads[k]]}) and beyond`);
  }
  if (p.length >= PATH_CODE) throw new RangeError(`placeVehicle: route's path from lane ${laneId} has ${p.length} drivables with its lane changes, at most ${PATH_CODE - 1}`);
  const code = storePath(st, ps, p, p.length) * PATH_CODE + p.length;
  st.placedPaths.set(key, code);
  return code;
}
