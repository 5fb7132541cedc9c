import type { FlowJson, RoadnetJson, VehicleJson } from '../format/cityflow.js';
import { ScenarioError } from '../errors.js';
import { polylineLength } from '../sim/geometry.js';
import { GRID_VEHICLE } from '../generate/grid.js';
import type { CountRow, TurnCountRow } from './counts.js';

/**
 * Demand from counts, as SUMO's routeSampler does it: route flows per time
 * slice fitted to detector counts, then written as CityFlow flows.
 *
 * Candidate routes: for every pair of an entry road (nothing leads into it)
 * and an exit road (it leads nowhere), the k shortest loopless routes by
 * length (Yen). Entry-to-exit because every vehicle a detector sees came in
 * at the boundary; k alternatives so that counts on parallel roads can be
 * met without inventing detours.
 *
 * The fit: the departures x(route, slice) >= 0 minimise
 * sum over counts of (model - count)^2 / max(count, 1) (the GEH's own
 * weighting: an error matters relative to the square root of the count),
 * with a small ridge term that shares a count evenly among routes that explain
 * it equally; solved by cyclic coordinate descent, deterministic. A vehicle
 * that departs in slice [s0, s1) is taken to cross the stop line of its
 * route's i-th road uniformly in [s0 + t_i, s1 + t_i), t_i its free-flow
 * time to there plus `delayPerSignal` per stop line passed; on road a, bound
 * for road b, it uses the lanes of a that lead to b, spread evenly over them.
 */
export interface CalibrationOptions {
  /** candidate routes per entry/exit pair; default 3 */
  routesPerPair?: number;
  /** seconds a vehicle is assumed to lose at each stop line it passes (queue and red); default 40 */
  delayPerSignal?: number;
  /** the vehicle of the written flows; default the CityFlow generator's (GRID_VEHICLE) */
  vehicle?: VehicleJson;
  /** coordinate-descent sweeps at most; default 400 */
  maxSweeps?: number;
}

/** One count beside the fitted model's value for it, and their GEH. */
export interface FittedCount {
  row: CountRow | TurnCountRow;
  /** vehicles in [begin, end) the fitted demand sends past the detector */
  model: number;
  geh: number;
}

export interface CalibrationResult {
  /** CityFlow flows: one per route and slice with vehicles, whole vehicles (the fractions carried over from slice to slice) */
  flows: FlowJson[];
  counts: FittedCount[];
  /** % of counts with GEH < 5 */
  gehBelow5Percent: number;
  candidateRoutes: number;
  sweeps: number;
}

/**
 * GEH of a model and an observed count over an interval of `seconds`, on
 * hourly flows: sqrt(2 (M - C)^2 / (M + C)); 0 when both are 0.
 */
export function geh(model: number, count: number, seconds: number): number {
  const m = (model * 3600) / seconds, c = (count * 3600) / seconds;
  return m + c === 0 ? 0 : Math.sqrt((2 * (m - c) ** 2) / (m + c));
}

/** The candidate routes (road ids): the k shortest loopless routes by length from each entry road to each exit road. */
export function candidateRoutes(roadnet: RoadnetJson, k = 3): string[][] {
  const ids = roadnet.roads.map((r) => r.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const len = roadnet.roads.map((r) => polylineLength(r.points));
  const next: number[][] = ids.map(() => []);
  const hasIn = new Uint8Array(ids.length);
  for (const it of roadnet.intersections) {
    for (const rl of it.roadLinks) {
      const a = index.get(rl.startRoad), b = index.get(rl.endRoad);
      if (a === undefined || b === undefined || next[a].includes(b)) continue;
      next[a].push(b);
      hasIn[b] = 1;
    }
  }
  const entries = ids.map((_, i) => i).filter((i) => !hasIn[i] && next[i].length > 0);
  const exits = ids.map((_, i) => i).filter((i) => next[i].length === 0 && hasIn[i]);
  const routes: string[][] = [];
  for (const s of entries) {
    for (const t of exits) for (const p of yen(next, len, s, t, k)) routes.push(p.map((i) => ids[i]));
  }
  return routes;
}

/** Yen's k shortest loopless paths over roads (cost: the length of each road entered). */
function yen(next: number[][], len: number[], s: number, t: number, k: number): number[][] {
  const first = dijkstra(next, len, s, t, new Uint8Array(next.length), new Set());
  if (!first) return [];
  const found: number[][] = [first];
  const cands: { path: number[]; cost: number }[] = [];
  const cost = (p: number[]) => p.reduce((c, r, i) => c + (i === 0 ? 0 : len[r]), 0);
  while (found.length < k) {
    const last = found[found.length - 1];
    for (let i = 0; i + 1 < last.length; i++) {
      const root = last.slice(0, i + 1);
      const bannedEdges = new Set<number>();
      for (const p of found) if (p.length > i + 1 && root.every((r, j) => p[j] === r)) bannedEdges.add(p[i] * next.length + p[i + 1]);
      const bannedNodes = new Uint8Array(next.length);
      for (let j = 0; j < i; j++) bannedNodes[root[j]] = 1;
      const spur = dijkstra(next, len, root[i], t, bannedNodes, bannedEdges);
      if (!spur) continue;
      const path = [...root.slice(0, -1), ...spur];
      if (!cands.some((c) => sameRoute(c.path, path)) && !found.some((p) => sameRoute(p, path))) cands.push({ path, cost: cost(path) });
    }
    if (cands.length === 0) break;
    // cheapest first; ties by the route's roads, so the choice never depends on search order
    cands.sort((a, b) => a.cost - b.cost || compareRoutes(a.path, b.path));
    found.push(cands.shift()!.path);
  }
  return found;
}

function sameRoute(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

function compareRoutes(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function dijkstra(next: number[][], len: number[], s: number, t: number, bannedNodes: Uint8Array, bannedEdges: Set<number>): number[] | undefined {
  const n = next.length;
  const dist = new Float64Array(n).fill(Infinity);
  const prev = new Int32Array(n).fill(-1);
  const done = new Uint8Array(n);
  dist[s] = 0;
  for (;;) {
    let u = -1;
    for (let i = 0; i < n; i++) if (!done[i] && dist[i] < Infinity && (u < 0 || dist[i] < dist[u])) u = i;
    if (u < 0) return undefined;
    if (u === t) break;
    done[u] = 1;
    for (const v of next[u]) {
      if (bannedNodes[v] || done[v] || bannedEdges.has(u * n + v)) continue;
      const d = dist[u] + len[v];
      if (d < dist[v]) {
        dist[v] = d;
        prev[v] = u;
      }
    }
  }
  const path = [t];
  for (let v = t; v !== s; ) path.push((v = prev[v]));
  return path.reverse();
}

/**
 * Fits route flows to `counts` (and optional turning counts) and returns them
 * as CityFlow flows, with each count's fitted value and GEH.
 */
export function calibrateDemand(roadnet: RoadnetJson, counts: readonly CountRow[], turns: readonly TurnCountRow[] = [], opts: CalibrationOptions = {}): CalibrationResult {
  const rows: (CountRow | TurnCountRow)[] = [...counts, ...turns];
  if (rows.length === 0) throw new ScenarioError('counts', '', 'no counts to fit');
  const vehicle = opts.vehicle ?? GRID_VEHICLE;
  const delay = opts.delayPerSignal ?? 40;
  const routes = candidateRoutes(roadnet, opts.routesPerPair ?? 3);
  if (routes.length === 0) throw new ScenarioError('roadnet', '', 'no route leads from an entry road to an exit road');

  // departure slices: between consecutive count boundaries
  const bounds = [...new Set(rows.flatMap((r) => [r.begin, r.end]))].sort((a, b) => a - b);
  const slices: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) slices.push([bounds[i], bounds[i + 1]]);

  const roadOf = new Map(roadnet.roads.map((r) => [r.id, r]));
  const roadLen = new Map(roadnet.roads.map((r) => [r.id, polylineLength(r.points)]));
  // lanes of road a that lead to road b
  const laneTo = new Map<string, number[]>();
  for (const it of roadnet.intersections) {
    for (const rl of it.roadLinks) {
      const key = `${rl.startRoad}\u0000${rl.endRoad}`;
      const set = new Set(laneTo.get(key) ?? []);
      for (const ll of rl.laneLinks) set.add(ll.startLaneIndex);
      laneTo.set(key, [...set].sort((x, y) => x - y));
    }
  }
  // the rows watching each (road, next road) movement, by detector
  const rowsAt = new Map<string, number[]>();
  const add = (key: string, i: number) => {
    const l = rowsAt.get(key);
    if (l) l.push(i);
    else rowsAt.set(key, [i]);
  };
  rows.forEach((r, i) => {
    if ('from' in r) add(`turn\u0000${r.from}\u0000${r.to}`, i);
    else if ('lane' in r.at) add(`lane\u0000${r.at.lane}`, i);
    else add(`road\u0000${r.at.road}`, i);
  });

  // sparse columns: for each (route, slice), the rows it contributes to and how much per vehicle
  const colStart: number[] = [0];
  const colRow: number[] = [];
  const colVal: number[] = [];
  const colRoute: number[] = [];
  const colSlice: number[] = [];
  const acc = new Map<number, number>();
  for (let r = 0; r < routes.length; r++) {
    const route = routes[r];
    const crossings: { keys: [string, number][]; t: number }[] = [];
    let t = 0;
    for (let i = 0; i + 1 < route.length; i++) {
      const a = route[i], b = route[i + 1];
      const road = roadOf.get(a)!;
      const speed = Math.min(vehicle.maxSpeed, ...road.lanes.map((l) => l.maxSpeed));
      t += roadLen.get(a)! / speed + delay;
      const lanes = laneTo.get(`${a}\u0000${b}`) ?? [];
      const keys: [string, number][] = [[`road\u0000${a}`, 1], [`turn\u0000${a}\u0000${b}`, 1]];
      for (const l of lanes) keys.push([`lane\u0000${a}_${l}`, 1 / lanes.length]);
      crossings.push({ keys, t });
    }
    for (let s = 0; s < slices.length; s++) {
      const [s0, s1] = slices[s];
      acc.clear();
      for (const c of crossings) {
        for (const [key, share] of c.keys) {
          for (const i of rowsAt.get(key) ?? []) {
            const o = Math.min(s1 + c.t, rows[i].end) - Math.max(s0 + c.t, rows[i].begin);
            if (o > 0) acc.set(i, (acc.get(i) ?? 0) + (share * o) / (s1 - s0));
          }
        }
      }
      if (acc.size === 0) continue;
      for (const [i, v] of acc) {
        colRow.push(i);
        colVal.push(v);
      }
      colStart.push(colRow.length);
      colRoute.push(r);
      colSlice.push(s);
    }
  }

  const nCols = colRoute.length;
  const w = rows.map((r) => 1 / Math.max(r.count, 1));
  const resid = Float64Array.from(rows, (r) => -r.count);
  const x = new Float64Array(nCols);
  const h = new Float64Array(nCols);
  for (let j = 0; j < nCols; j++) for (let k = colStart[j]; k < colStart[j + 1]; k++) h[j] += w[colRow[k]] * colVal[k] ** 2;
  const meanH = h.reduce((a, b) => a + b, 0) / Math.max(1, nCols);
  const ridge = 1e-3 * meanH;
  const maxSweeps = opts.maxSweeps ?? 400;
  let sweeps = 0;
  for (; sweeps < maxSweeps; ) {
    sweeps++;
    let moved = 0;
    for (let j = 0; j < nCols; j++) {
      let g = ridge * x[j];
      for (let k = colStart[j]; k < colStart[j + 1]; k++) g += w[colRow[k]] * colVal[k] * resid[colRow[k]];
      const nx = Math.max(0, x[j] - g / (h[j] + ridge));
      const d = nx - x[j];
      if (d === 0) continue;
      x[j] = nx;
      moved = Math.max(moved, Math.abs(d));
      for (let k = colStart[j]; k < colStart[j + 1]; k++) resid[colRow[k]] += d * colVal[k];
    }
    if (moved < 1e-4) break;
  }

  // whole vehicles: each route's fractions carried from slice to slice, so its total is kept
  const flows: FlowJson[] = [];
  let lastRoute = -1, carry = 0;
  for (let j = 0; j < nCols; j++) {
    if (colRoute[j] !== lastRoute) {
      lastRoute = colRoute[j];
      carry = 0;
    }
    const want = x[j] + carry;
    const n = Math.max(0, Math.round(want));
    carry = want - n;
    if (n === 0) continue;
    const [s0, s1] = slices[colSlice[j]];
    const interval = (s1 - s0) / n;
    // a flow emits its k-th vehicle in the first 1 s step at or after startTime + k interval, while
    // time <= endTime: end at the step of the n-th, before that of an (n+1)-th
    const last = Math.ceil((n - 1) * interval - 1e-9);
    flows.push({ vehicle: { ...vehicle }, route: routes[colRoute[j]], interval, startTime: s0, endTime: s0 + Math.min(last, Math.ceil(n * interval - 1e-9) - 0.5) });
  }

  const fitted = rows.map((row, i) => {
    const model = Math.max(0, row.count + resid[i]);
    return { row, model, geh: geh(model, row.count, row.end - row.begin) };
  });
  const below = fitted.filter((c) => c.geh < 5).length;
  return { flows, counts: fitted, gehBelow5Percent: (100 * below) / fitted.length, candidateRoutes: routes.length, sweeps };
}
