import type { FlowJson, RoadnetJson, Scenario, VehicleJson } from '../format/cityflow.js';
import { routeLanePaths, type Simulation } from '../sim/simulation.js';
import { Network } from '../sim/network.js';
import { ScenarioError } from '../errors.js';
import { polylineLength } from '../sim/geometry.js';
import { GRID_VEHICLE } from '../generate/grid.js';
import { splitLaneId, type CountRow, type TurnCountRow } from './counts.js';

/**
 * Demand from counts, as SUMO's routeSampler does it: route flows per time
 * slice fitted to detector counts, then written as CityFlow flows.
 *
 * Candidate routes: for every pair of an entry road (nothing leads into it)
 * and an exit road (it leads nowhere), the k shortest loopless routes by
 * length (Yen), and the k likeliest by the turning shares the counts show
 * (turnShares). Entry-to-exit because every vehicle a detector sees came in
 * at the boundary; k alternatives so that counts on parallel roads can be
 * met without inventing detours; the likeliest because a demand that turns
 * where the shortest routes go straight (the CityFlow generator's staircase
 * routes) is otherwise met by other routes with the same turning counts.
 *
 * The fit: the departures x(route, slice) >= 0 minimise
 * sum over counts of (model - count)^2 / max(count, 1) (the GEH's own
 * weighting: an error matters relative to the square root of the count),
 * plus each detector's total over its whole span, weighted 50 times (every
 * counted vehicle is in the demand once, whenever it is assumed to have
 * passed), and each entry road's count per interval weighted 50 times too
 * (entryRoadRows), with a small ridge term that shares a count evenly among routes that explain
 * it equally (`routeSharing` even; none with few), then reweighted L1 over route totals (`sparsity`: of routes that
 * explain the counts alike, a few carry the demand; it decides only without the ridge), and each vehicle charged
 * for its route's detour over the shortest of its entry/exit pair
 * (`detourCost`: counts on every lane pin how many vehicles enter each road,
 * not whether a vehicle went around a block to get there; drivers mostly do
 * not); solved by cyclic
 * coordinate descent, deterministic. A vehicle that departs in slice
 * [s0, s1) is taken to cross the stop line of its route's i-th road
 * uniformly in [s0 + t_i, s1 + t_i), t_i its free-flow time to there plus
 * `delayPerSignal` per stop line passed, or the time measured by simulating
 * the fit (calibrateDemandByRuns), and to enter road i at the time it left
 * road i - 1 (departure for the first road); its lanes are those the
 * simulation gives it (lanePaths), each first lane equally likely.
 */
export interface CalibrationOptions {
  /** candidate routes per entry/exit pair; default 3 */
  routesPerPair?: number;
  /**
   * also this many likeliest routes per pair by the turning shares the counts
   * show (turnShares): routes that turn where the counts say vehicles turn,
   * which the shortest miss; default 3, 0 none
   */
  likelyRoutesPerPair?: number;
  /** seconds a vehicle is assumed to lose at each stop line it passes (queue and red); default 40 */
  delayPerSignal?: number;
  /** the vehicle of the written flows; default the CityFlow generator's (GRID_VEHICLE) */
  vehicle?: VehicleJson;
  /** how strongly few routes are preferred to many that explain the counts alike (solveSparse); default 3, 0 not at all */
  sparsity?: number;
  /**
   * what a vehicle costs the fit per unit of relative detour: a route r metres long, where the
   * shortest candidate of its entry/exit pair is m, is charged detourCost x (r / m - 1) per
   * vehicle; default 1, 0 not at all
   */
  detourCost?: number;
  /** coordinate-descent sweeps at most; default 400 */
  maxSweeps?: number;
  /** no departure at or after this second (counts may go on after the demand ends, while the network drains); default the end of the last count */
  departUntil?: number;
  /**
   * how the fit shares a count among routes that explain it exactly alike (as vehicles from
   * different roads that meet on one lane and part again after the next junction): `even`, a small
   * ridge term shares it evenly (vehicles turn independently at each junction), or `few`, no ridge,
   * the sparsity prior decides (few routes carry each lane's vehicles on); counts say neither.
   * Default: calibrateDemand `even`; calibrateDemandByRuns fits both and keeps the one whose
   * simulated counts meet the counts given better (CalibrationResult.routeSharing)
   */
  routeSharing?: RouteSharing;
  /**
   * the candidate routes (road ids, entry road first), as routeSampler takes a route file: only
   * these are fitted; default candidateRoutes (routesPerPair and likelyRoutesPerPair)
   */
  candidates?: readonly (readonly string[])[];
  /** where `candidates` came from (a file name), to name in errors; default "candidates" */
  candidatesSource?: string;
}

/** How the fit shares a count among routes that explain it alike (CalibrationOptions.routeSharing). */
export type RouteSharing = 'even' | 'few';

export const ROUTE_SHARINGS: readonly RouteSharing[] = ['even', 'few'];

/** One count beside the fitted model's value for it, and their GEH. */
export interface FittedCount {
  row: CountRow | TurnCountRow;
  /** vehicles in [begin, end) the fitted demand sends past the detector */
  model: number;
  geh: number;
}

export interface CalibrationResult {
  /** CityFlow flows: one per vehicle, whole vehicles (the fractions carried over from slice to slice; see toFlows) */
  flows: FlowJson[];
  counts: FittedCount[];
  /** % of counts with GEH < 5 */
  gehBelow5Percent: number;
  candidateRoutes: number;
  /** coordinate-descent sweeps of the last fit */
  sweeps: number;
  /** simulation runs that measured the times to each stop line (calibrateDemandByRuns) */
  runs: number;
  /** how the fit shared counts among routes that explain them alike */
  routeSharing: RouteSharing;
  /**
   * calibrateDemandByRuns: the fitted demand simulated (under `run`), % of the counts its
   * simulated counts meet with GEH < 5, and their mean GEH, per route sharing tried
   */
  simulated?: { routeSharing: RouteSharing; gehBelow5Percent: number; meanGeh: number }[];
}

/**
 * GEH of a model and an observed count over an interval of `seconds`, on
 * hourly flows: sqrt(2 (M - C)^2 / (M + C)); 0 when both are 0.
 */
export function geh(model: number, count: number, seconds: number): number {
  const m = (model * 3600) / seconds, c = (count * 3600) / seconds;
  return m + c === 0 ? 0 : Math.sqrt((2 * (m - c) ** 2) / (m + c));
}

/**
 * The candidate routes (road ids): the k shortest loopless routes by length
 * from each entry road to each exit road; with `turnShare` (the share of road
 * `from`'s vehicles that turn into road `to`), also the `likelyK` likeliest by
 * the product of their turning shares, after the shortest and without repeats.
 */
export function candidateRoutes(roadnet: RoadnetJson, k = 3, turnShare?: (from: string, to: string) => number, likelyK = k): string[][] {
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
  const byLength = (u: number, v: number) => len[v];
  // -log of the share, floored: a turn no count saw is unlikely, not impossible
  const byShare = turnShare && ((u: number, v: number) => -Math.log(Math.max(1e-3, turnShare(ids[u], ids[v]))));
  for (const s of entries) {
    for (const t of exits) {
      const short = yen(next, byLength, s, t, k);
      const likely = byShare ? yen(next, byShare, s, t, likelyK).filter((p) => !short.some((q) => sameRoute(p, q))) : [];
      for (const p of [...short, ...likely]) routes.push(p.map((i) => ids[i]));
    }
  }
  return routes;
}

/** Candidate routes as given (CalibrationOptions.candidates): each a road sequence the roadLinks connect, without repeats. */
function givenRoutes(roadnet: RoadnetJson, given: readonly (readonly string[])[], source: string): string[][] {
  const roads = new Set(roadnet.roads.map((r) => r.id));
  const links = new Set<string>();
  for (const it of roadnet.intersections) for (const rl of it.roadLinks) links.add(`${rl.startRoad}\u0000${rl.endRoad}`);
  const seen = new Set<string>();
  const out: string[][] = [];
  given.forEach((route, k) => {
    const where = `[${k}]`;
    if (route.length === 0) throw new ScenarioError(source, where, 'is empty');
    for (const r of route) if (!roads.has(r)) throw new ScenarioError(source, where, `road "${r}" is not in the roadnet`);
    for (let i = 1; i < route.length; i++) {
      if (!links.has(`${route[i - 1]}\u0000${route[i]}`)) throw new ScenarioError(source, where, `no roadLink leads from road "${route[i - 1]}" to road "${route[i]}"`);
    }
    const key = route.join('\u0000');
    if (seen.has(key)) return;
    seen.add(key);
    out.push([...route]);
  });
  return out;
}

/** Yen's k shortest loopless paths over roads (cost: `edge(u, v)` for each road v entered from u, >= 0). */
function yen(next: number[][], edge: (u: number, v: number) => number, s: number, t: number, k: number): number[][] {
  const first = dijkstra(next, edge, s, t, new Uint8Array(next.length), new Set());
  if (!first) return [];
  const found: number[][] = [first];
  const cands: { path: number[]; cost: number }[] = [];
  const cost = (p: number[]) => p.reduce((c, r, i) => c + (i === 0 ? 0 : edge(p[i - 1], r)), 0);
  while (found.length < k) {
    const last = found[found.length - 1];
    for (let i = 0; i + 1 < last.length; i++) {
      const root = last.slice(0, i + 1);
      const bannedEdges = new Set<number>();
      for (const p of found) if (p.length > i + 1 && root.every((r, j) => p[j] === r)) bannedEdges.add(p[i] * next.length + p[i + 1]);
      const bannedNodes = new Uint8Array(next.length);
      for (let j = 0; j < i; j++) bannedNodes[root[j]] = 1;
      const spur = dijkstra(next, edge, root[i], t, bannedNodes, bannedEdges);
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

function dijkstra(next: number[][], edge: (u: number, v: number) => number, s: number, t: number, bannedNodes: Uint8Array, bannedEdges: Set<number>): number[] | undefined {
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
      const d = dist[u] + edge(u, v);
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
 * The share of road `from`'s vehicles that turn into road `to`, from the
 * counts: a turning count is its movement's; a lane count goes to the roads
 * its lane's laneLinks lead to, evenly (a lane serving one movement gives that
 * movement's count). Stop-line and entry counts alike; 0 where no count says.
 */
function turnShares(roadnet: RoadnetJson, rows: readonly (CountRow | TurnCountRow)[]): (from: string, to: string) => number {
  const links = laneLinksByLane(roadnet);
  const moved = new Map<string, Map<string, number>>();
  const add = (from: string, to: string, n: number) => {
    const m = moved.get(from) ?? new Map<string, number>();
    m.set(to, (m.get(to) ?? 0) + n);
    moved.set(from, m);
  };
  for (const r of rows) {
    if ('from' in r) add(r.from, r.to, r.count);
    else if ('lane' in r.at) {
      const { road, index } = splitLaneId(r.at.lane)!;
      const to = [...new Set((links.get(road)?.[index] ?? []).map(([next]) => next))];
      for (const b of to) add(road, b, r.count / to.length);
    }
  }
  return (from, to) => {
    const m = moved.get(from);
    if (!m) return 0;
    let all = 0;
    for (const n of m.values()) all += n;
    return all > 0 ? (m.get(to) ?? 0) / all : 0;
  };
}

/** Seconds from departure to a route's i-th detector event (a stop line crossed, a lane entered), measured per (route, departure slice, i); see measuredLags. */
export type LagTable = Map<string, number>;

/** how much more a detector's total counts than one of its intervals */
const TOTAL_WEIGHT = 50;
/** how much more an entry road's count of an interval (its vehicles entering the network) counts than a lane's */
const ENTRY_WEIGHT = 50;

/**
 * The vehicles entering the network through each entry road (nothing leads
 * into it) per interval, weighted as a detector's total: a road count given at
 * its upstream end, or the sum of its lanes' when all are given for the
 * interval. When a vehicle enters depends only on when it departs and how long
 * it waits at the boundary, not on the times through the network that the fit
 * only assumes or measures on its own demand; without these, the counts
 * further on, met with those times, shave the entries' peaks (HZ1's busiest
 * 5 minutes: 326 entries counted, 300 fitted).
 */
function entryRoadRows(roadnet: RoadnetJson, rows: (CountRow | TurnCountRow)[], real: number, weight: number[], rowsAt: Map<string, number[]>): void {
  const fed = new Set(roadnet.intersections.flatMap((it) => it.roadLinks.map((rl) => rl.endRoad)));
  const lanes = new Map(roadnet.roads.map((r) => [r.id, r.lanes.length]));
  const sums = new Map<string, { road: string; begin: number; end: number; count: number; lanes: number }>();
  for (let i = 0; i < real; i++) {
    const r = rows[i];
    if ('from' in r || r.position !== 'entry') continue;
    if ('road' in r.at) {
      if (!fed.has(r.at.road)) weight[i] = ENTRY_WEIGHT / Math.max(r.count, 1);
      continue;
    }
    const road = splitLaneId(r.at.lane)!.road;
    if (fed.has(road)) continue;
    const key = `${road}\u0000${r.begin}\u0000${r.end}`;
    const sum = sums.get(key) ?? { road, begin: r.begin, end: r.end, count: 0, lanes: 0 };
    sum.count += r.count;
    sum.lanes++;
    sums.set(key, sum);
  }
  for (const sum of sums.values()) {
    if (sum.lanes !== lanes.get(sum.road)) continue;
    const key = `road-entry\u0000${sum.road}`;
    const list = rowsAt.get(key);
    // a road count given for the same detector already says it
    if (list?.some((i) => rows[i].begin === sum.begin && rows[i].end === sum.end)) continue;
    if (list) list.push(rows.length);
    else rowsAt.set(key, [rows.length]);
    rows.push({ begin: sum.begin, end: sum.end, at: { road: sum.road }, count: sum.count, position: 'entry', line: 0 });
    weight.push(ENTRY_WEIGHT / Math.max(sum.count, 1));
  }
}

const lagKey = (route: number, slice: number, i: number) => `${route} ${slice} ${i}`;

/** The fitting problem: rows (counts), candidate routes, departure slices, and what each road's crossing looks like. */
interface Problem {
  roadnet: RoadnetJson;
  /** the counts, then each detector's total over its span (internal) */
  rows: (CountRow | TurnCountRow)[];
  /** how many of rows are counts given */
  real: number;
  weight: number[];
  routes: string[][];
  /** per route, its length over the shortest candidate's of its entry/exit pair, minus 1 */
  detour: Float64Array;
  slices: [number, number][];
  /** per route, the detector events of its vehicles (each stop line passed, each lane entered): the detectors that see it (key, share of the vehicles) and the model lag */
  crossings: { keys: [string, number][]; t: number }[][];
  /** per route and road index: the event of crossing that road's stop line, of entering it (-1 none) */
  stopEvent: number[][];
  entryEvent: number[][];
  rowsAt: Map<string, number[]>;
  vehicle: VehicleJson;
}

function problem(roadnet: RoadnetJson, counts: readonly CountRow[], turns: readonly TurnCountRow[], opts: CalibrationOptions): Problem {
  const rows: (CountRow | TurnCountRow)[] = [...counts, ...turns];
  if (rows.length === 0) throw new ScenarioError('counts', '', 'no counts to fit');
  const vehicle = opts.vehicle ?? GRID_VEHICLE;
  const delay = opts.delayPerSignal ?? 40;
  const likely = opts.likelyRoutesPerPair ?? 3;
  const routes = opts.candidates ? givenRoutes(roadnet, opts.candidates, opts.candidatesSource ?? 'candidates') : candidateRoutes(roadnet, opts.routesPerPair ?? 3, likely > 0 ? turnShares(roadnet, rows) : undefined, likely);
  if (routes.length === 0) throw new ScenarioError('roadnet', '', 'no route leads from an entry road to an exit road');

  // departure slices: between consecutive count boundaries, up to departUntil
  const until = opts.departUntil ?? Infinity;
  const bounds = [...new Set(rows.flatMap((r) => [r.begin, r.end]))].sort((a, b) => a - b);
  const slices: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length && bounds[i] < until; i++) slices.push([bounds[i], Math.min(until, bounds[i + 1])]);

  const roadOf = new Map(roadnet.roads.map((r) => [r.id, r]));
  const roadLen = new Map(roadnet.roads.map((r) => [r.id, polylineLength(r.points)]));
  const net = new Network(roadnet);
  // the rows of each detector
  const rowsAt = new Map<string, number[]>();
  const add = (key: string, i: number) => {
    const l = rowsAt.get(key);
    if (l) l.push(i);
    else rowsAt.set(key, [i]);
  };
  rows.forEach((r, i) => {
    if ('from' in r) add(`turn\u0000${r.from}\u0000${r.to}`, i);
    else {
      const pos = r.position === 'entry' ? '-entry' : '';
      if ('lane' in r.at) add(`lane${pos}\u0000${r.at.lane}`, i);
      else add(`road${pos}\u0000${r.at.road}`, i);
    }
  });
  const real = rows.length;
  // each detector's total over its whole (gapless) span, weighted up: every vehicle counted is in the
  // demand once, whatever time it is assumed to have taken to get there
  const weight = rows.map((r) => 1 / Math.max(r.count, 1));
  for (const [key, list] of rowsAt) {
    if (list.length < 2) continue;
    const sorted = list.map((i) => rows[i]).sort((a, b) => a.begin - b.begin);
    if (sorted.some((r, i) => i > 0 && r.begin !== sorted[i - 1].end)) continue;
    const count = sorted.reduce((n, r) => n + r.count, 0);
    list.push(rows.length);
    rows.push({ ...sorted[0], begin: sorted[0].begin, end: sorted[sorted.length - 1].end, count, line: 0 });
    weight.push(TOTAL_WEIGHT / Math.max(count, 1));
  }
  entryRoadRows(roadnet, rows, real, weight, rowsAt);
  const stopEvent: number[][] = [], entryEvent: number[][] = [];
  const crossings = routes.map((route) => {
    const out: { keys: [string, number][]; t: number }[] = [];
    const stops = route.map(() => -1), entries = route.map(() => -1);
    // each first lane equally likely (the simulation draws one), then the lanes its path takes
    const paths = lanePaths(net, route);
    const share = 1 / Math.max(1, paths.length);
    const laneShares = (i: number): [string, number][] => {
      const m = new Map<number, number>();
      for (const p of paths) if (i < p.enter.length) m.set(p.enter[i], (m.get(p.enter[i]) ?? 0) + share);
      return [...m].map(([l, w]) => [`${route[i]}_${l}`, w]);
    };
    let t = 0;
    for (let i = 0; i < route.length; i++) {
      const a = route[i], b = route[i + 1];
      // entering road a: at departure on the first road, else as it leaves the road before (the laneLink's few metres neglected)
      const lanes = laneShares(i);
      const reach = lanes.reduce((n, [, w]) => n + w, 0);
      if (reach === 0) break;
      entries[i] = out.length;
      out.push({ keys: [[`road-entry\u0000${a}`, reach], ...lanes.map(([l, w]): [string, number] => [`lane-entry\u0000${l}`, w])], t });
      if (b === undefined) break;
      const speed = Math.min(vehicle.maxSpeed, ...roadOf.get(a)!.lanes.map((l) => l.maxSpeed));
      t += roadLen.get(a)! / speed + delay;
      // past the stop line: the paths that go on to b (a dead end leaves the network at its stop line)
      const on = paths.filter((p) => i + 1 < p.leave.length);
      const go = on.length * share;
      if (go === 0) break;
      const m = new Map<number, number>();
      for (const p of on) m.set(p.leave[i], (m.get(p.leave[i]) ?? 0) + share);
      stops[i] = out.length;
      out.push({ keys: [[`road\u0000${a}`, go], [`turn\u0000${a}\u0000${b}`, go], ...[...m].map(([l, w]): [string, number] => [`lane\u0000${a}_${l}`, w])], t });
    }
    stopEvent.push(stops);
    entryEvent.push(entries);
    return out;
  });
  const routeLen = routes.map((r) => r.reduce((n, id) => n + roadLen.get(id)!, 0));
  const pair = (r: string[]) => `${r[0]}\u0000${r.at(-1)}`;
  const shortest = new Map<string, number>();
  routes.forEach((r, i) => shortest.set(pair(r), Math.min(shortest.get(pair(r)) ?? Infinity, routeLen[i])));
  const detour = Float64Array.from(routes, (r, i) => routeLen[i] / shortest.get(pair(r))! - 1);
  return { roadnet, rows, real, weight, routes, detour, slices, crossings, stopEvent, entryEvent, rowsAt, vehicle };
}

interface Columns {
  start: number[];
  row: number[];
  val: number[];
  route: number[];
  slice: number[];
}

/** Sparse columns: for each (route, slice) seen by some detector, the rows its vehicles pass and how much per vehicle. */
function columns(p: Problem, lags?: LagTable): Columns {
  const c: Columns = { start: [0], row: [], val: [], route: [], slice: [] };
  const acc = new Map<number, number>();
  for (let r = 0; r < p.routes.length; r++) {
    for (let s = 0; s < p.slices.length; s++) {
      const [s0, s1] = p.slices[s];
      acc.clear();
      p.crossings[r].forEach((x, i) => {
        const t = lags?.get(lagKey(r, s, i)) ?? x.t;
        for (const [key, share] of x.keys) {
          for (const k of p.rowsAt.get(key) ?? []) {
            const o = Math.min(s1 + t, p.rows[k].end) - Math.max(s0 + t, p.rows[k].begin);
            if (o > 0) acc.set(k, (acc.get(k) ?? 0) + (share * o) / (s1 - s0));
          }
        }
      });
      if (acc.size === 0) continue;
      for (const [k, v] of acc) {
        c.row.push(k);
        c.val.push(v);
      }
      c.start.push(c.row.length);
      c.route.push(r);
      c.slice.push(s);
    }
  }
  return c;
}

/** Per road, per lane index: its laneLinks as [end road, end lane index], in the roadnet's order. */
function laneLinksByLane(roadnet: RoadnetJson): Map<string, [string, number][][]> {
  const out = new Map(roadnet.roads.map((r) => [r.id, r.lanes.map((): [string, number][] => [])]));
  for (const it of roadnet.intersections) {
    for (const rl of it.roadLinks) for (const ll of rl.laneLinks) out.get(rl.startRoad)?.[ll.startLaneIndex]?.push([rl.endRoad, ll.endLaneIndex]);
  }
  return out;
}

/**
 * The lanes a vehicle of `route` takes, one path per lane it may start on, as
 * the simulation admits it (routeLanePaths: the one rule): per road driven,
 * the lane index it enters on and the one it leaves by (they differ after a
 * lane change). A path ends early at a dead end, where the vehicle leaves.
 */
function lanePaths(net: Network, route: string[]): { enter: number[]; leave: number[] }[] {
  const roads = route.map((id) => net.roadIndex.get(id)!);
  return routeLanePaths(net, roads).map((path) => {
    const enter: number[] = [], leave: number[] = [];
    for (let j = 0; j < path.length; j++) {
      const d = path[j];
      if (d >= net.nLanes) continue;
      const index = d - net.roadFirstLane[net.laneRoad[d]];
      // a lane right after a lane of the same road is a lane change: the road's lane to leave by
      if (j > 0 && path[j - 1] < net.nLanes) leave[leave.length - 1] = index;
      else {
        enter.push(index);
        leave.push(index);
      }
    }
    return { enter, leave };
  });
}

/** Non-negative weighted least squares by cyclic coordinate descent, from x0 (a previous fit's departures, by route and slice). */
function solve(p: Problem, c: Columns, maxSweeps: number, even: boolean, x0?: Map<string, number> | Float64Array, penalty?: Float64Array): { x: Float64Array; resid: Float64Array; sweeps: number } {
  const n = c.route.length;
  const w = p.weight;
  const resid = Float64Array.from(p.rows, (r) => -r.count);
  const x = new Float64Array(n);
  const h = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    for (let k = c.start[j]; k < c.start[j + 1]; k++) h[j] += w[c.row[k]] * c.val[k] ** 2;
    x[j] = (x0 instanceof Float64Array ? x0[j] : x0?.get(`${c.route[j]} ${c.slice[j]}`)) ?? 0;
    for (let k = c.start[j]; k < c.start[j + 1]; k++) resid[c.row[k]] += x[j] * c.val[k];
  }
  // `even`: a small ridge, which shares a count evenly among columns that explain it alike
  const ridge = even ? (1e-3 * h.reduce((a, b) => a + b, 0)) / Math.max(1, n) : 0;
  let sweeps = 0;
  while (sweeps < maxSweeps) {
    sweeps++;
    let moved = 0;
    for (let j = 0; j < n; j++) {
      let g = ridge * x[j] + (penalty ? penalty[c.route[j]] : 0);
      for (let k = c.start[j]; k < c.start[j + 1]; k++) g += w[c.row[k]] * c.val[k] * resid[c.row[k]];
      if (h[j] + ridge === 0) continue;
      const nx = Math.max(0, x[j] - g / (h[j] + ridge));
      const d = nx - x[j];
      if (d === 0) continue;
      x[j] = nx;
      moved = Math.max(moved, Math.abs(d));
      for (let k = c.start[j]; k < c.start[j + 1]; k++) resid[c.row[k]] += d * c.val[k];
    }
    if (moved < 1e-4) break;
  }
  return { x, resid, sweeps };
}

/**
 * solve, each departure of a route charged detourCost x its detour, then
 * rounds times again with each also charged sparsity / (the route's total +
 * eps) (reweighted L1: about sparsity x the log of each route's total + eps), so that
 * of routes explaining the counts alike a few carry the demand rather than all
 * of them a little. Sharing evenly (the ridge), 3 rounds with eps 1 vehicle;
 * by few routes, where this prior alone decides, 10 rounds with eps 0.1 (a
 * route under a tenth of a vehicle is as good as unused): with 3 rounds and
 * eps 1 the reweighting stops short (bench calibrate --grid 2x4 --demand 0.1:
 * 1,673 of 7,197 fitted vehicles straight through against the original's
 * 4,320; simulated counts 81.9% within GEH 5, with 10 rounds and eps 0.1 94.3%).
 */
function solveSparse(p: Problem, c: Columns, opts: CalibrationOptions, x0?: Map<string, number>): { x: Float64Array; resid: Float64Array; sweeps: number } {
  const maxSweeps = opts.maxSweeps ?? 400, lambda = opts.sparsity ?? 3, mu = opts.detourCost ?? 1, even = (opts.routeSharing ?? 'even') === 'even';
  const { rounds, eps } = even ? SPARSE_EVEN : SPARSE_FEW;
  const detour = p.detour.map((d) => mu * d);
  let fit = solve(p, c, maxSweeps, even, x0, detour);
  if (lambda <= 0) return fit;
  for (let k = 0; k < rounds; k++) {
    const total = new Float64Array(p.routes.length);
    for (let j = 0; j < fit.x.length; j++) total[c.route[j]] += fit.x[j];
    fit = solve(p, c, maxSweeps, even, fit.x, total.map((t, i) => lambda / (t + eps) + detour[i]));
  }
  return fit;
}

const SPARSE_EVEN = { rounds: 3, eps: 1 };
const SPARSE_FEW = { rounds: 10, eps: 0.1 };

/**
 * Whole vehicles as CityFlow flows, one per vehicle: each route's fractions
 * carried from slice to slice, so its total is kept; each entry road's
 * vehicles of a slice evenly spaced over it, at the midpoints of equal parts
 * (the fit takes a departure as uniform in its slice, and these are that
 * distribution's quantiles: vehicles all starting at the slice's start instead
 * wait at the boundary and go on as platoons no count showed), each route's
 * vehicles spread among them (its k-th of n where (k + 0.5) / n falls), so no
 * route comes in a bunch either.
 */
function toFlows(p: Problem, c: Columns, x: Float64Array): { flows: FlowJson[]; flowColumn: number[] } {
  const whole = new Int32Array(x.length);
  let lastRoute = -1, carry = 0;
  for (let j = 0; j < x.length; j++) {
    if (c.route[j] !== lastRoute) {
      lastRoute = c.route[j];
      carry = 0;
    }
    const want = x[j] + carry;
    whole[j] = Math.max(0, Math.round(want));
    carry = want - whole[j];
  }
  // per slice and entry road, its columns with vehicles
  const groups = new Map<string, number[]>();
  for (let j = 0; j < x.length; j++) {
    if (whole[j] === 0) continue;
    const key = `${c.slice[j]}\u0000${p.routes[c.route[j]][0]}`;
    const g = groups.get(key);
    if (g) g.push(j);
    else groups.set(key, [j]);
  }
  const out: { flow: FlowJson; column: number }[] = [];
  for (const g of groups.values()) {
    const [s0, s1] = p.slices[c.slice[g[0]]];
    const wants: [number, number][] = [];
    for (const j of g) for (let k = 0; k < whole[j]; k++) wants.push([(k + 0.5) / whole[j], j]);
    // ties by column, so the order never depends on the map's
    wants.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    wants.forEach(([, j], m) => {
      // whole seconds (the simulation's steps), inside the slice
      const t = Math.min(s1 - 1, Math.max(Math.ceil(s0), Math.floor(s0 + ((m + 0.5) * (s1 - s0)) / wants.length)));
      out.push({ flow: { vehicle: { ...p.vehicle }, route: p.routes[c.route[j]], interval: 1, startTime: t, endTime: t }, column: j });
    });
  }
  // by departure, then column: the order the simulation admits same-second vehicles in
  out.sort((a, b) => a.flow.startTime - b.flow.startTime || a.column - b.column);
  return { flows: out.map((o) => o.flow), flowColumn: out.map((o) => o.column) };
}

function result(p: Problem, c: Columns, fit: { x: Float64Array; resid: Float64Array; sweeps: number }, runs: number, sharing: RouteSharing): CalibrationResult & { flowColumn: number[] } {
  const { flows, flowColumn } = toFlows(p, c, fit.x);
  const counts = p.rows.slice(0, p.real).map((row, i) => {
    const model = Math.max(0, row.count + fit.resid[i]);
    return { row, model, geh: geh(model, row.count, row.end - row.begin) };
  });
  const below = counts.filter((k) => k.geh < 5).length;
  return { flows, flowColumn, counts, gehBelow5Percent: (100 * below) / counts.length, candidateRoutes: p.routes.length, sweeps: fit.sweeps, runs, routeSharing: sharing };
}

/**
 * Fits route flows to `counts` (and optional turning counts) and returns them
 * as CityFlow flows, with each count's fitted value and GEH. Vehicles are
 * assumed to reach each stop line in free-flow time plus `delayPerSignal` per
 * stop line (calibrateDemandByRuns measures it instead).
 */
export function calibrateDemand(roadnet: RoadnetJson, counts: readonly CountRow[], turns: readonly TurnCountRow[] = [], opts: CalibrationOptions = {}): CalibrationResult {
  const p = problem(roadnet, counts, turns, opts);
  const c = columns(p);
  const { flowColumn: _, ...r } = result(p, c, solveSparse(p, c, opts), 0, opts.routeSharing ?? 'even');
  return r;
}

/**
 * Runs the fitted demand through the simulation: `run` builds and steps a
 * Simulation of `scenario` (under the signal control the counts were taken
 * under) and calls `observe(sim)` after each step.
 */
export type CalibrationRun = (scenario: Scenario, observe: (sim: Simulation) => void) => Promise<void>;

/**
 * calibrateDemand, then `runs` times: simulate the fitted demand, measure
 * how long its vehicles took from departure to each stop line (per route and
 * departure slice: queues and signals included, waits at the boundary not:
 * see measuredLags), and fit again with those times. Under congestion the free-flow guess puts departures too late and
 * loses the vehicles still queued when the counts end; the measured times do
 * not. Without `routeSharing`, both ways (even, few) are fitted so and each
 * fitted demand simulated once more: the one whose simulated counts meet more
 * of the counts with GEH < 5 (then the smaller mean GEH) is returned. The fit's
 * model adds vehicles up linearly; the simulation does not: on a saturated
 * arterial, vehicles shared evenly turn independently at each junction, one
 * lane carries vehicles bound for different lanes, one waiting for a full lane
 * holds the rest, and the fitted demand no longer gives the counts it was
 * fitted to (bench calibrate --grid 1x6 --demand 0.1: 93.2% of counts within
 * GEH 5 shared evenly, 97.1% by few routes). Deterministic when `run` is.
 */
export async function calibrateDemandByRuns(
  roadnet: RoadnetJson, counts: readonly CountRow[], turns: readonly TurnCountRow[], opts: CalibrationOptions & { runs: number }, run: CalibrationRun,
): Promise<CalibrationResult> {
  const p = problem(roadnet, counts, turns, opts);
  if (opts.routeSharing) {
    const { flowColumn: _, ...out } = await fitByRuns(p, opts, opts.routeSharing, run);
    return out;
  }
  // both ways of sharing, each fitted and then simulated: the one whose simulated counts meet the counts better
  const simulated: NonNullable<CalibrationResult['simulated']> = [];
  let best: { fit: CalibrationResult; score: (typeof simulated)[number] } | undefined;
  for (const sharing of ROUTE_SHARINGS) {
    const { flowColumn: _, ...fit } = await fitByRuns(p, opts, sharing, run);
    const values = await simulatedCounts(p, fit.flows, run);
    const g = p.rows.slice(0, p.real).map((row, i) => geh(values[i], row.count, row.end - row.begin));
    const score = { routeSharing: sharing, gehBelow5Percent: (100 * g.filter((x) => x < 5).length) / g.length, meanGeh: g.reduce((a, b) => a + b, 0) / g.length };
    simulated.push(score);
    // more counts met; of as many, the smaller mean GEH; ties keep the first (even)
    const better = !best || score.gehBelow5Percent > best.score.gehBelow5Percent || (score.gehBelow5Percent === best.score.gehBelow5Percent && score.meanGeh < best.score.meanGeh);
    if (better) best = { fit, score };
  }
  return { ...best!.fit, simulated };
}

/** calibrateDemand with one way of route sharing, then `opts.runs` times: simulate, measure the times (measuredLags), fit again. */
async function fitByRuns(p: Problem, opts: CalibrationOptions & { runs: number }, sharing: RouteSharing, run: CalibrationRun): Promise<CalibrationResult & { flowColumn: number[] }> {
  const o = { ...opts, routeSharing: sharing };
  let c = columns(p);
  let fit = solveSparse(p, c, o);
  let r = result(p, c, fit, 0, sharing);
  for (let k = 1; k <= opts.runs; k++) {
    const lags = await measuredLags(p, c, r.flows, r.flowColumn, run);
    const x0 = new Map<string, number>();
    for (let j = 0; j < fit.x.length; j++) x0.set(`${c.route[j]} ${c.slice[j]}`, fit.x[j]);
    c = columns(p, lags);
    fit = solveSparse(p, c, o, x0);
    r = result(p, c, fit, k, sharing);
  }
  return r;
}

/**
 * The counts given (p.rows up to p.real), as the detectors would count `flows`
 * simulated under `run`: stop-line crossings, lane entries (LaneEntries), road
 * sums and turning movements (a stop line of `from` crossed, then `to` entered;
 * counted when the stop line was crossed); an event in the step that ends at
 * t is counted in the interval that holds t - the step length.
 */
async function simulatedCounts(p: Problem, flows: FlowJson[], run: CalibrationRun): Promise<Float64Array> {
  const values = new Float64Array(p.real);
  const add = (key: string, t: number) => {
    for (const k of p.rowsAt.get(key) ?? []) {
      if (k >= p.real) continue;
      const row = p.rows[k];
      if (t >= row.begin && t < row.end) values[k]++;
    }
  };
  // per vehicle handle: the road whose stop line it crossed last and when (until it enters its next lane)
  const crossed = new Map<number, [string, number]>();
  let entries: LaneEntries | undefined;
  await run({ roadnet: p.roadnet, flows }, (sim) => {
    const t = sim.time - sim.interval;
    const roadOf = (lane: number) => sim.net.roadIds[sim.net.laneRoad[lane]];
    sim.forEachCrossing((v, lane) => {
      const road = roadOf(lane);
      add(`lane\u0000${sim.net.laneId(lane)}`, t);
      add(`road\u0000${road}`, t);
      crossed.set(v, [road, t]);
    });
    sim.forEachExit((v) => crossed.delete(v));
    (entries ??= new LaneEntries(sim)).forEach((v, lane) => {
      const road = roadOf(lane);
      add(`lane-entry\u0000${sim.net.laneId(lane)}`, t);
      add(`road-entry\u0000${road}`, t);
      const from = crossed.get(v);
      if (from) {
        add(`turn\u0000${from[0]}\u0000${road}`, from[1]);
        crossed.delete(v);
      }
    });
  });
  return values;
}

/**
 * Mean seconds from departure to each detector event (a stop line crossed, a
 * lane entered) of the fitted flows' vehicles, by (route, slice, event), less
 * each vehicle's wait at the boundary for room on its first lane. No count
 * sees a vehicle before it enters, so a count never says how long it waited
 * outside; the waits measured here are the fitted demand's own, and put back
 * into its departures they fed on themselves: each run moved departures
 * earlier to meet the entry counts, the earlier departures queued longer at
 * the entries, and the next run moved them earlier again (a 1 x 6 arterial at
 * 1/10 per route, bench calibrate --grid 1x6 --demand 0.1: boundary queue
 * 0.41 to 1.13 million vehicle-seconds over 5 runs, fixed-time ATT 213 to 323 s
 * against the original's 160, the fit's own GEH < 5 98.3% to 90.1%).
 */
async function measuredLags(p: Problem, c: Columns, flows: FlowJson[], flowColumn: number[], run: CalibrationRun): Promise<LagTable> {
  // when each vehicle (by id) entered the network: the boundary wait is taken out of its lags
  const entered = new Map<string, number>();
  const sum = new Map<string, [number, number]>();
  const position = p.routes.map((route) => new Map(route.map((road, i) => [road, i])));
  const measure = (sim: Simulation, v: number, lane: number, event: number[][]) => {
    const id = sim.vehicleId(v);
    const m = /^flow_(\d+)_(\d+)$/.exec(id);
    if (!m) return;
    const f = Number(m[1]), serial = Number(m[2]);
    const j = flowColumn[f];
    const i = position[c.route[j]].get(sim.net.roadIds[sim.net.laneRoad[lane]]);
    if (i === undefined || event[c.route[j]][i] < 0) return;
    const fl = flows[f];
    const departed = fl.startTime + Math.ceil(serial * fl.interval - 1e-9);
    // the seconds it waited at the boundary beyond the step that admits it
    const wait = Math.max(0, (entered.get(id) ?? departed) - departed - sim.interval);
    const key = lagKey(c.route[j], c.slice[j], event[c.route[j]][i]);
    const e = sum.get(key) ?? [0, 0];
    e[0] += sim.time - departed - wait;
    e[1]++;
    sum.set(key, e);
  };
  let entries: LaneEntries | undefined;
  await run({ roadnet: p.roadnet, flows }, (sim) => {
    sim.forEachEntry((v) => entered.set(sim.vehicleId(v), sim.time));
    sim.forEachCrossing((v, lane) => measure(sim, v, lane, p.stopEvent));
    (entries ??= new LaneEntries(sim)).forEach((v, lane) => measure(sim, v, lane, p.entryEvent));
  });
  const lags: LagTable = new Map();
  for (const [key, [t, n]] of sum) lags.set(key, t / n);
  return lags;
}

/**
 * The lane entries of a running simulation, as a detector at each lane's
 * upstream end counts them: call `forEach` after every step; it reports each
 * vehicle that entered a lane in that step, from the boundary or from a
 * laneLink. Built on the public crossings and entries (a vehicle that crossed
 * a stop line is on a laneLink until its next lane).
 */
export class LaneEntries {
  /** vehicles on a laneLink, between two lanes, in the order they got there */
  private readonly between = new Set<number>();
  constructor(private readonly sim: Simulation) {}

  forEach(fn: (vehicle: number, lane: number) => void): void {
    const sim = this.sim, nLanes = sim.net.nLanes;
    sim.forEachEntry(fn);
    sim.forEachCrossing((v) => this.between.add(v));
    for (const v of this.between) {
      const d = sim.vehicleDrivable(v);
      if (d < nLanes) {
        this.between.delete(v);
        fn(v, d);
      }
    }
  }
}
