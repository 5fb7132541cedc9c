/**
 * CityFlow scenario loader: roadnet and flow JSON *text* -> typed, normalised
 * RoadnetJson / FlowJson[]. Every problem is a ScenarioError naming the source,
 * the JSON path and the offending value, e.g.
 * `roadnet.json: roads[12].lanes[0].maxSpeed: expected a number, got "fast"`.
 *
 * Validation is hand-written straight-line code (no schema library): the real
 * files are megabytes and are loaded in benchmarks. A path is a Path (parent,
 * key), joined into its text only for an error, and point arrays are checked in
 * place, not copied.
 */
import { ScenarioError } from '../errors.js';
import { MIN_CYCLE, MIN_FLOW_INTERVAL } from './bounds.js';
import { lanePolylines, polylineLength, type XY } from '../sim/geometry.js';
import { distinctRoutes } from '../sim/flows.js';
import { rapidjsonNumbers } from './rapidjson-number.js';
import type {
  FlowJson,
  IntersectionJson,
  LaneJson,
  LaneLinkJson,
  LightPhaseJson,
  Point,
  RoadJson,
  RoadLinkJson,
  RoadLinkType,
  RoadnetJson,
  Scenario,
  TrafficLightJson,
  VehicleJson,
} from '../format/cityflow.js';

/** 200 km/h in m/s: a faster road or vehicle is almost certainly given in km/h. */
const MAX_SPEED = 55.6;
/** metres; an articulated bus is ~25 m */
const MAX_VEHICLE_LENGTH = 30;
/** m/s²; hard braking is ~9, so anything above 15 is a unit error */
const MAX_ACC = 15;
const LINK_TYPES: ReadonlySet<string> = new Set<RoadLinkType>(['go_straight', 'turn_left', 'turn_right']);

type Obj = Record<string, unknown>;
type Key = string | number;

/**
 * The JSON path of a value, `flows[12].vehicle` as ('flows[12]', 'vehicle'), joined into its text only
 * for an error: a string per flow, lane and laneLink that passes was a good part of loading HZ1 and the
 * 36 x 36 grid.
 */
class Path {
  constructor(readonly parent: At, readonly key: Key) {}

  toString(): string {
    return join(this.parent, this.key);
  }
}
/** a path's text where it is built once (a top-level key), else a Path */
type At = string | Path;

// ---------------------------------------------------------------- public API

/** Parses and validates a CityFlow roadnet file's text. */
export function parseRoadnet(text: string, source = 'roadnet.json'): RoadnetJson {
  return validateRoadnet(parseJson(text, source), source);
}

/**
 * Parses and validates a CityFlow flow file's text. With `roadnet`, routes are
 * routed against it as CityFlow routes them (validateScenario): the flows CityFlow
 * drops come back with an empty route, and why goes into `warnings`.
 */
export function parseFlows(text: string, source = 'flow.json', roadnet?: RoadnetJson, warnings?: string[]): FlowJson[] {
  return validateFlows(parseJson(text, source), source, roadnet, warnings);
}

/**
 * What every loader returns: the scenario, and one line per thing in the files that
 * the model does not take as written (CityFlow: each flow it drops; SUMO: what is not modelled).
 */
export interface LoadedScenario {
  scenario: Scenario;
  warnings: string[];
}

/** Loads a CityFlow roadnet and flow file's text as CityFlow runs them (parseRoadnet, then parseFlows against it). */
export function loadCityflowScenario(input: { roadnet: string; flow: string; roadnetSource?: string; flowSource?: string }): LoadedScenario {
  const roadnet = parseRoadnet(input.roadnet, input.roadnetSource);
  const warnings: string[] = [];
  const flows = parseFlows(input.flow, input.flowSource, roadnet, warnings);
  return { scenario: { roadnet, flows }, warnings };
}

export function validateRoadnet(value: unknown, source: string): RoadnetJson {
  const c = new Check(source);
  if (!isObj(value)) {
    return c.fail('', `expected a roadnet object with "roads" and "intersections" arrays, got ${kind(value)}` +
      (Array.isArray(value) ? ' (is this a flow file?)' : ''));
  }
  const rawInters = c.arr(value.intersections, '', 'intersections');
  const rawRoads = c.arr(value.roads, '', 'roads');

  // Intersection ids first: roads refer to them, and intersections refer to roads.
  const interIdx = new Map<string, number>();
  for (let i = 0; i < rawInters.length; i++) {
    const id = c.str(c.obj(rawInters[i], 'intersections', i).id, new Path('intersections', i), 'id');
    const dup = interIdx.get(id);
    if (dup !== undefined) c.fail(`intersections[${i}].id`, `duplicate intersection id ${show(id)} (also intersections[${dup}])`);
    interIdx.set(id, i);
  }

  const roads: RoadJson[] = new Array(rawRoads.length);
  const roadIdx = new Map<string, number>();
  for (let i = 0; i < rawRoads.length; i++) {
    const at = new Path('roads', i);
    const r = c.obj(rawRoads[i], 'roads', i);
    const id = c.str(r.id, at, 'id');
    const dup = roadIdx.get(id);
    if (dup !== undefined) c.fail(`${at}.id`, `duplicate road id ${show(id)} (also roads[${dup}])`);
    roadIdx.set(id, i);
    const lanesAt = new Path(at, 'lanes');
    const lanes = c.arr(r.lanes, at, 'lanes', 1).map((v, j): LaneJson => {
      const l = c.obj(v, lanesAt, j);
      const la = new Path(lanesAt, j);
      return { width: c.positive(l.width, la, 'width'), maxSpeed: c.speed(l.maxSpeed, la, 'maxSpeed', 'a road') };
    });
    const name = r.name === undefined ? undefined : c.str(r.name, at, 'name').trim();
    roads[i] = {
      id,
      ...(name ? { name } : {}),
      points: c.points(r.points, at, 'points', 2),
      lanes,
      startIntersection: c.ref(r.startIntersection, at, 'startIntersection', interIdx, 'intersection'),
      endIntersection: c.ref(r.endIntersection, at, 'endIntersection', interIdx, 'intersection'),
    };
  }

  const roadById = new Map<string, RoadJson>();
  for (const r of roads) roadById.set(r.id, r);
  const intersections = rawInters.map((v, i) => intersection(c, v as Obj, new Path('intersections', i), roadById));

  // Lanes stop a signalised intersection's width short of it (virtual ones: 0), so a road must be longer than that.
  const trim = new Map<string, number>();
  for (const it of intersections) trim.set(it.id, it.virtual ? 0 : it.width);
  for (let i = 0; i < roads.length; i++) {
    const r = roads[i];
    const length = polylineLength(r.points);
    const ts = trim.get(r.startIntersection)!;
    const te = trim.get(r.endIntersection)!;
    if (!(length > ts + te)) {
      c.fail(`roads[${i}].points`, length === 0
        ? 'the road has zero length: its points coincide'
        : `the road is ${Number(length.toPrecision(6))} m long, no longer than the widths of its intersections ` +
          `(${ts} m at ${r.startIntersection} + ${te} m at ${r.endIntersection}), which its lanes stop short of`);
    }
  }
  return { intersections, roads };
}

export function validateFlows(value: unknown, source: string, roadnet?: RoadnetJson, warnings?: string[]): FlowJson[] {
  const c = new Check(source);
  if (!Array.isArray(value)) {
    return c.fail('', `expected a JSON array of flows at the top level, got ${kind(value)}` +
      (isObj(value) && 'roads' in value ? ' (is this a roadnet file?)' : ''));
  }
  const flows: FlowJson[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) flows[i] = flow(c, value[i], i);
  if (!roadnet) return flows;
  const routed = validateScenario(roadnet, flows, source);
  warnings?.push(...routed.warnings);
  return routed.flows;
}

/** flows[i], checked (a function of its own: validateFlows' loop is compiled on its own, not with this) */
function flow(c: Check, value: unknown, i: number): FlowJson {
  const at = new Path('flows', i);
  const f = c.obj(value, 'flows', i);
  const v = c.obj(f.vehicle, at, 'vehicle');
  const va = new Path(at, 'vehicle');
  const vehicle: VehicleJson = {
    length: c.positive(v.length, va, 'length', MAX_VEHICLE_LENGTH, ' m'),
    width: c.positive(v.width, va, 'width'),
    maxPosAcc: c.positive(v.maxPosAcc, va, 'maxPosAcc', MAX_ACC, ' m/s²'),
    maxNegAcc: c.positive(v.maxNegAcc, va, 'maxNegAcc', MAX_ACC, ' m/s²'),
    usualPosAcc: c.positive(v.usualPosAcc, va, 'usualPosAcc', MAX_ACC, ' m/s²'),
    usualNegAcc: c.positive(v.usualNegAcc, va, 'usualNegAcc', MAX_ACC, ' m/s²'),
    minGap: c.nonNegative(v.minGap, va, 'minGap'),
    maxSpeed: c.speed(v.maxSpeed, va, 'maxSpeed', 'a vehicle'),
    headwayTime: c.nonNegative(v.headwayTime, va, 'headwayTime'),
  };
  const route = c.arr(f.route, at, 'route', 1);
  const ra = new Path(at, 'route');
  for (let k = 0; k < route.length; k++) c.str(route[k], ra, k);
  const interval = c.positive(f.interval, at, 'interval');
  if (interval < MIN_FLOW_INTERVAL) {
    c.fail(`${at}.interval`, `${interval} s between two vehicles is implausible (more than ${1 / MIN_FLOW_INTERVAL} vehicles per second ` +
      'from one flow); interval is the seconds from one vehicle to the next');
  }
  const startTime = f.startTime === undefined ? 0 : c.nonNegative(f.startTime, at, 'startTime');
  const endTime = f.endTime === undefined ? -1 : c.num(f.endTime, at, 'endTime');
  if (endTime !== -1 && endTime < startTime) {
    c.fail(`${at}.endTime`, `${endTime} is before startTime ${startTime} (use -1 for "no end")`);
  }
  return { vehicle, route: route as string[], interval, startTime, endTime };
}

/** Flows routed against a roadnet (validateScenario). */
export interface RoutedFlows {
  /**
   * The flows in file order, each route the whole road sequence CityFlow drives;
   * a flow CityFlow drops has an empty route (kept, so later flows keep their
   * index, and their vehicles CityFlow's ids flow_{index}_{n}).
   */
  flows: FlowJson[];
  /** one line per dropped flow: its index, its roads and why */
  warnings: string[];
}

/**
 * Cross-file checks and routing, as CityFlow's Router does it. Every route road
 * must exist (else a ScenarioError). A route lists anchor roads: between two
 * consecutive ones CityFlow drives the shortest path (the sum of each next
 * road's average lane length, Router::dijkstra with RouterType::LENGTH) through
 * roads joined by laneLinks, so a gap is filled in and a road already joined
 * to the next stays as it is. A flow whose route cannot be driven (no path
 * between two anchors, or a single road) CityFlow drops, running the rest: so
 * do we, with a warning.
 */
export function validateScenario(roadnet: RoadnetJson, flows: FlowJson[], source: string): RoutedFlows {
  const graph = new CityflowRouter(roadnet);
  const warnings: string[] = [];
  // Short loops, not one that also routes: that one was compiled (OSR) as one big function at every load.
  // 1. every flow's anchors known, then each distinct list of them numbered in order of first use
  const n = flows.length;
  for (let i = 0; i < n; i++) {
    const anchors = flows[i].route;
    for (let k = 0; k < anchors.length; k++) {
      if (!graph.index.has(anchors[k])) throw new ScenarioError(source, `flows[${i}].route[${k}]`, `unknown road ${show(anchors[k])} (not in the roadnet)`);
    }
  }
  const { routeOf: keyOf, routeFlow: keyFlow } = distinctRoutes(flows);
  // 2. each one routed: road ids, or why the flow is dropped
  const routes: (string[] | string)[] = new Array(keyFlow.length);
  for (let r = 0; r < keyFlow.length; r++) routes[r] = graph.route(flows[keyFlow[r]].route);
  // 3. the flows with their routes
  const out: FlowJson[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const anchors = flows[i].route;
    const routed = routes[keyOf[i]];
    if (typeof routed === 'string') {
      warnings.push(`${source}: flows[${i}] (route ${anchors.map((r) => show(r)).join(', ')}): dropped, as CityFlow drops it: ${routed}`);
      out[i] = { ...flows[i], route: [] };
    } else out[i] = sameRoads(routed, anchors) ? flows[i] : { ...flows[i], route: routed };
  }
  return { flows: out, warnings };
}

/** The roads as CityFlow's Router sees them: which road follows which, and at what cost. */
class CityflowRouter {
  readonly index = new Map<string, number>();
  private readonly ids: string[];
  /** per road, the roads it leads to by laneLinks, in its end intersection's `roads` order (Dijkstra's order) */
  private readonly next: number[][];
  /**
   * per road, its average lane length (Road::averageLength, the cost of entering it); worked out on the
   * first route with a gap to fill (costs()): routes that list every road they drive (HZ1's, JN's, the
   * grid generator's) need none, and laying out every road's lanes was most of reading a 36 x 36 grid's flows
   */
  private cost: Float64Array | null = null;
  /** why a direct step is not drivable, for the warnings */
  private readonly unusable = new Map<string, string>();
  private readonly roads: RoadJson[];
  private readonly inters = new Map<string, IntersectionJson>();
  private readonly virtual = new Set<string>();

  constructor(roadnet: RoadnetJson) {
    const roads = (this.roads = roadnet.roads);
    this.ids = roads.map((r) => r.id);
    roads.forEach((r, i) => this.index.set(r.id, i));
    const inters = this.inters;
    for (const it of roadnet.intersections) {
      inters.set(it.id, it);
      if (it.virtual) this.virtual.add(it.id);
    }
    // Road::connectedToRoad: some lane of the road has a laneLink into the other; pairs of road numbers
    // (from * roads + to), not of ids: a string per roadLink and per pair asked was a third of reading a 36 x 36 grid's flows
    const nRoads = roads.length;
    const linked = new Set<number>();
    for (const it of roadnet.intersections) {
      for (const l of it.roadLinks) {
        const from = this.index.get(l.startRoad), to = this.index.get(l.endRoad);
        if (from === undefined || to === undefined) continue; // not a road of this network: joins none of them
        if (l.laneLinks.length > 0) linked.add(from * nRoads + to);
        else if (!linked.has(from * nRoads + to)) this.unusable.set(`${l.startRoad}\u0000${l.endRoad}`, `its roadLink at ${it.id} has no laneLinks`);
      }
    }
    this.next = roads.map((r, from) => {
      const out: number[] = [];
      for (const id of inters.get(r.endIntersection)!.roads) {
        const to = this.index.get(id);
        if (to !== undefined && linked.has(from * nRoads + to)) out.push(to);
      }
      return out;
    });
  }

  /** The road ids CityFlow drives for these anchor roads (Router::updateShortestPath), or why it drops them. */
  route(anchors: string[]): string[] | string {
    const route = [this.index.get(anchors[0])!];
    for (let k = 1; k < anchors.length; k++) {
      const from = this.index.get(anchors[k - 1])!;
      const to = this.index.get(anchors[k])!;
      if (from === to) continue;
      // a road joined to the next directly: the shortest path (any other passes more roads, each of positive length)
      if (this.next[from].includes(to)) route.push(to);
      else if (!this.shortestPath(from, to, route)) return `road ${show(anchors[k])} is not reachable from ${show(anchors[k - 1])} (${this.whyNot(from, to)})`;
    }
    if (route.length < 2) return `its route is one road, ${show(anchors[0])} (CityFlow routes have at least two)`;
    return route.map((r) => this.ids[r]);
  }

  private costs(): Float64Array {
    if (this.cost) return this.cost;
    const trim = (id: string) => {
      const it = this.inters.get(id)!;
      return it.virtual ? 0 : it.width;
    };
    return (this.cost = Float64Array.from(this.roads, (r) => {
      const lanes = lanePolylines(r.points, r.lanes.map((l) => l.width), trim(r.startIntersection), trim(r.endIntersection));
      let sum = 0;
      for (const pts of lanes) sum += cityflowLength(pts);
      return sum / lanes.length;
    }));
  }

  private whyNot(from: number, to: number): string {
    const a = this.roads[from];
    const b = this.roads[to];
    if (a.endIntersection !== b.startIntersection) return `no path of roadLinks leads from "${a.id}" to "${b.id}"`;
    if (this.virtual.has(a.endIntersection)) return `${a.endIntersection} is virtual, a network boundary: CityFlow drives no roadLink there`;
    return this.unusable.get(`${a.id}\u0000${b.id}`) ?? `no roadLink at ${a.endIntersection} joins them, nor does a path through other roads`;
  }

  /**
   * Router::dijkstra from `start` to `end`, appending the roads after `start` to
   * `out`; false if `end` cannot be reached. Ties between equally long paths
   * fall as in CityFlow: the queue is a binary heap kept as libstdc++'s
   * std::priority_queue keeps it, and neighbours come in the intersection's order.
   */
  private shortestPath(start: number, end: number, out: number[]): boolean {
    const cost = this.costs();
    const dis = new Map<number, number>([[start, 0]]);
    const from = new Map<number, number>();
    const visited = new Set<number>();
    const heap = new StdHeap();
    heap.push(start, 0);
    let found = false;
    while (heap.size > 0) {
      const cur = heap.topRoad();
      if (cur === end) {
        found = true;
        break;
      }
      heap.pop();
      if (visited.has(cur)) continue;
      visited.add(cur);
      const curDis = dis.get(cur)!;
      for (const adj of this.next[cur]) {
        const d = curDis + cost[adj];
        const old = dis.get(adj);
        if (old === undefined || d < old) {
          from.set(adj, cur);
          dis.set(adj, d);
          heap.push(adj, d);
        }
      }
    }
    if (!found) return false;
    const path = [end];
    for (let r = from.get(end); r !== undefined && r !== start; r = from.get(r)) path.push(r);
    for (let k = path.length - 1; k >= 0; k--) out.push(path[k]);
    return true;
  }
}

/**
 * std::priority_queue<pair<Road*, double>> ordered by the smaller distance, with
 * libstdc++'s push_heap and pop_heap moves, so that equal distances leave in CityFlow's order.
 */
class StdHeap {
  private road: number[] = [];
  private dist: number[] = [];

  get size(): number {
    return this.road.length;
  }

  topRoad(): number {
    return this.road[0];
  }

  push(road: number, dist: number): void {
    this.road.push(road);
    this.dist.push(dist);
    this.siftUp(this.road.length - 1, 0, road, dist);
  }

  pop(): void {
    const n = this.road.length;
    if (n > 1) {
      // __pop_heap: the last element is re-inserted from the root's hole (__adjust_heap)
      const road = this.road[n - 1];
      const dist = this.dist[n - 1];
      this.road[n - 1] = this.road[0];
      this.dist[n - 1] = this.dist[0];
      const len = n - 1;
      let hole = 0;
      let child = 0;
      while (child < ((len - 1) >> 1)) {
        child = 2 * (child + 1);
        if (this.dist[child] > this.dist[child - 1]) child--;
        this.move(child, hole);
        hole = child;
      }
      if ((len & 1) === 0 && child === (len - 2) >> 1) {
        child = 2 * (child + 1);
        this.move(child - 1, hole);
        hole = child - 1;
      }
      this.siftUp(hole, 0, road, dist);
    }
    this.road.pop();
    this.dist.pop();
  }

  /** __push_heap: moves the hole up while its parent is farther than `dist` */
  private siftUp(hole: number, top: number, road: number, dist: number): void {
    let parent = (hole - 1) >> 1;
    while (hole > top && this.dist[parent] > dist) {
      this.move(parent, hole);
      hole = parent;
      parent = (hole - 1) >> 1;
    }
    this.road[hole] = road;
    this.dist[hole] = dist;
  }

  private move(from: number, to: number): void {
    this.road[to] = this.road[from];
    this.dist[to] = this.dist[from];
  }
}

/** A polyline's length as CityFlow sums it (sqrt(dx² + dy²) per segment; Math.hypot can round differently). */
function cityflowLength(points: readonly XY[]): number {
  let len = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const dx = points[i + 1].x - points[i].x;
    const dy = points[i + 1].y - points[i].y;
    len += Math.sqrt(dx * dx + dy * dy);
  }
  return len;
}

// ---------------------------------------------------------------- roadnet parts

function intersection(c: Check, o: Obj, at: Path, roads: Map<string, RoadJson>): IntersectionJson {
  const id = o.id as string; // checked in the id pass
  const virtual = c.bool(o.virtual, at, 'virtual');
  const point = c.point(o.point, at, 'point');
  const roadIds = c.arr(o.roads, at, 'roads');
  const ra = new Path(at, 'roads');
  for (let k = 0; k < roadIds.length; k++) c.ref(roadIds[k], ra, k, roads, 'road');
  // A virtual intersection is a network boundary: CityFlow reads nothing of it past its roads
  // (no width, roadLinks or trafficLight), so whatever else it holds is ignored, not refused.
  if (virtual) {
    const width = typeof o.width === 'number' && o.width >= 0 && o.width < Infinity ? o.width : 0; // kept for display only
    return { id, point, width, roads: roadIds as string[], roadLinks: [], trafficLight: { lightphases: [] }, virtual };
  }
  const width = c.nonNegative(o.width, at, 'width');
  const linksAt = new Path(at, 'roadLinks');
  const roadLinks = c.arr(o.roadLinks, at, 'roadLinks').map((v, k) => roadLink(c, c.obj(v, linksAt, k), new Path(linksAt, k), id, roads));

  if (o.trafficLight === undefined) {
    c.fail(`${at}.trafficLight`, 'missing: a non-virtual (signalised) intersection needs a trafficLight with lightphases ' +
      '(set "virtual": true for a network boundary)');
  }
  const t = c.obj(o.trafficLight, at, 'trafficLight');
  const ta = new Path(at, 'trafficLight');
  const pa = new Path(ta, 'lightphases');
  const n = roadLinks.length;
  const lightphases = c.arr(t.lightphases, ta, 'lightphases', 1).map((v, p): LightPhaseJson => {
    const ph = c.obj(v, pa, p);
    const pp = new Path(pa, p);
    return {
      time: c.nonNegative(ph.time, pp, 'time'),
      availableRoadLinks: c.indices(ph.availableRoadLinks, pp, 'availableRoadLinks', n, 'intersection', id, 'roadLink'),
    };
  });
  // The built-in plan steps through the phases by their times: a signal's cycle of (almost) no time never ends.
  if (lightphases.length >= 2) {
    let cycle = 0;
    for (const ph of lightphases) cycle += ph.time;
    if (!(cycle >= MIN_CYCLE)) {
      c.fail(pa, `the phases' times add up to ${cycle} s; a signal plan needs a cycle of at least ${MIN_CYCLE} s`);
    }
  }
  const trafficLight: TrafficLightJson = { lightphases };
  if (t.roadLinkIndices !== undefined) {
    trafficLight.roadLinkIndices = c.indices(t.roadLinkIndices, ta, 'roadLinkIndices', n, 'intersection', id, 'roadLink');
  }
  return { id, point, width, roads: roadIds as string[], roadLinks, trafficLight, virtual };
}

function roadLink(c: Check, o: Obj, at: Path, inter: string, roads: Map<string, RoadJson>): RoadLinkJson {
  const type = c.str(o.type, at, 'type');
  if (!LINK_TYPES.has(type)) c.fail(`${at}.type`, `expected "go_straight", "turn_left" or "turn_right", got ${show(type)}`);
  const startRoad = c.ref(o.startRoad, at, 'startRoad', roads, 'road');
  const endRoad = c.ref(o.endRoad, at, 'endRoad', roads, 'road');
  const from = roads.get(startRoad)!;
  const to = roads.get(endRoad)!;
  // A link turns from a road entering this intersection into one leaving it.
  if (from.endIntersection !== inter) {
    c.fail(`${at}.startRoad`, `road "${startRoad}" ends at ${from.endIntersection}, not at this intersection (${inter})`);
  }
  if (to.startIntersection !== inter) {
    c.fail(`${at}.endRoad`, `road "${endRoad}" starts at ${to.startIntersection}, not at this intersection (${inter})`);
  }
  const lla = new Path(at, 'laneLinks');
  const rawLinks = c.arr(o.laneLinks, at, 'laneLinks');
  const laneLinks: LaneLinkJson[] = new Array(rawLinks.length);
  for (let m = 0; m < rawLinks.length; m++) laneLinks[m] = laneLink(c, rawLinks[m], new Path(lla, m), from, to);
  const link: RoadLinkJson = { type: type as RoadLinkType, startRoad, endRoad, laneLinks };
  if (o.direction !== undefined) link.direction = c.num(o.direction, at, 'direction');
  return link;
}

function laneLink(c: Check, v: unknown, at: Path, from: RoadJson, to: RoadJson): LaneLinkJson {
  const l = c.obj(v, at.parent, at.key);
  return {
    startLaneIndex: c.index(l.startLaneIndex, at, 'startLaneIndex', from.lanes.length, 'road', from.id, 'lane'),
    endLaneIndex: c.index(l.endLaneIndex, at, 'endLaneIndex', to.lanes.length, 'road', to.id, 'lane'),
    points: l.points === undefined ? [] : c.points(l.points, at, 'points', 0),
  };
}

// ---------------------------------------------------------------- checks

/**
 * Field checkers. Each takes the value plus its parent path and key, and tests the value in one expression:
 * a value that passes is returned; any other goes to a method of its own (not*) that says what is wrong and
 * joins the path into its text. Kept this small, a check is inlined where it is used (the loops over flows,
 * lanes and laneLinks) and compiled quickly, and the Paths it is given need not even be built.
 */
class Check {
  constructor(readonly source: string) {}

  fail(path: At, problem: string): never {
    throw new ScenarioError(this.source, String(path), problem);
  }

  bad(v: unknown, expected: string, at: At, key: Key): never {
    return this.fail(join(at, key), v === undefined ? `missing (expected ${expected})` : `expected ${expected}, got ${show(v)}`);
  }

  obj(v: unknown, at: At, key: Key): Obj {
    return isObj(v) ? v : this.bad(v, 'an object', at, key);
  }

  arr(v: unknown, at: At, key: Key, min = 0): unknown[] {
    return Array.isArray(v) && v.length >= min ? v : this.notArr(v, at, key, min);
  }

  private notArr(v: unknown, at: At, key: Key, min: number): never {
    if (!Array.isArray(v)) return this.bad(v, 'an array', at, key);
    return this.fail(join(at, key), `expected at least ${min} item${min === 1 ? '' : 's'}, got ${v.length}`);
  }

  str(v: unknown, at: At, key: Key): string {
    return typeof v === 'string' ? v : this.bad(v, 'a string', at, key);
  }

  bool(v: unknown, at: At, key: Key): boolean {
    return typeof v === 'boolean' ? v : this.bad(v, 'true or false', at, key);
  }

  num(v: unknown, at: At, key: Key): number {
    return typeof v === 'number' && Number.isFinite(v) ? v : this.bad(v, 'a number', at, key);
  }

  // (NaN fails every comparison, so a number's tests need no isFinite but against Infinity)

  /** a number in (0, max] */
  positive(v: unknown, at: At, key: Key, max = Infinity, unit = ''): number {
    return typeof v === 'number' && v > 0 && v <= max && v < Infinity ? v : this.notPositive(v, at, key, max, unit);
  }

  private notPositive(v: unknown, at: At, key: Key, max: number, unit: string): never {
    const n = this.num(v, at, key);
    return this.fail(join(at, key), `must be > 0${max < Infinity ? ` and <= ${max}${unit}` : ''}, got ${n}`);
  }

  nonNegative(v: unknown, at: At, key: Key): number {
    return typeof v === 'number' && v >= 0 && v < Infinity ? v : this.notNonNegative(v, at, key);
  }

  private notNonNegative(v: unknown, at: At, key: Key): never {
    const n = this.num(v, at, key);
    return this.fail(join(at, key), `must be >= 0, got ${n}`);
  }

  /** a number in (0, MAX_SPEED] */
  speed(v: unknown, at: At, key: Key, what: string): number {
    return typeof v === 'number' && v > 0 && v <= MAX_SPEED ? v : this.notSpeed(v, at, key, what);
  }

  private notSpeed(v: unknown, at: At, key: Key, what: string): never {
    const n = this.positive(v, at, key);
    return this.fail(join(at, key), `${n} m/s is implausible for ${what}; CityFlow speeds are metres per second (did you give km/h?)`);
  }

  /** an integer index into the n `unit`s of `owner` `id` (`road "r1"`, written only on failure) */
  index(v: unknown, at: At, key: Key, n: number, owner: string, id: string, unit: string): number {
    return Number.isInteger(v) && (v as number) >= 0 && (v as number) < n ? v as number : this.notIndex(v, at, key, n, owner, id, unit);
  }

  private notIndex(v: unknown, at: At, key: Key, n: number, owner: string, id: string, unit: string): never {
    if (!Number.isInteger(v)) return this.bad(v, `an integer ${unit} index`, at, key);
    return this.fail(join(at, key), `${unit} index ${v as number} is out of range: ${owner} "${id}" has ${n} ${unit}${n === 1 ? '' : 's'}` +
      (n > 0 ? ` (0..${n - 1})` : ''));
  }

  /** an array of indexes, checked in place and returned as is */
  indices(v: unknown, at: At, key: Key, n: number, owner: string, id: string, unit: string): number[] {
    const a = this.arr(v, at, key);
    const ia = new Path(at, key);
    for (let k = 0; k < a.length; k++) this.index(a[k], ia, k, n, owner, id, unit);
    return a as number[];
  }

  /** a {x, y} point, returned as is (not copied) */
  point(v: unknown, at: At, key: Key): Point {
    return isPoint(v) ? v : this.notPoint(v, at, key);
  }

  private notPoint(v: unknown, at: At, key: Key): never {
    const p = this.obj(v, at, key);
    const pa = new Path(at, key);
    this.num(p.x, pa, 'x');
    return this.bad(p.y, 'a number', pa, 'y');
  }

  /** an array of points, checked in place and returned as is */
  points(v: unknown, at: At, key: Key, min: number): Point[] {
    const a = this.arr(v, at, key, min);
    for (let k = 0; k < a.length; k++) if (!isPoint(a[k])) this.notPoint(a[k], new Path(at, key), k);
    return a as Point[];
  }

  ref(v: unknown, at: At, key: Key, ids: { has(id: string): boolean }, what: string): string {
    return typeof v === 'string' && ids.has(v) ? v : this.notRef(v, at, key, what);
  }

  private notRef(v: unknown, at: At, key: Key, what: string): never {
    const id = this.str(v, at, key);
    return this.fail(join(at, key), `unknown ${what} ${show(id)}`);
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPoint(v: unknown): v is Point {
  return isObj(v) && Number.isFinite(v.x) && Number.isFinite(v.y);
}

function join(at: At, key: Key): string {
  return typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${key}` : key;
}

/** the offending value as brief JSON */
function show(v: unknown): string {
  let s: string;
  if (typeof v === 'number') s = String(v); // JSON.stringify(NaN) would say "null"
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = kind(v); // cyclic or BigInt, only reachable from validate*() callers
    }
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

// ---------------------------------------------------------------- JSON text

function parseJson(text: string, source: string): unknown {
  // A UTF-8 byte order mark (Windows editors) is not JSON whitespace.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!/\S/.test(text)) throw new ScenarioError(source, '', 'the file is empty; expected CityFlow JSON');
  try {
    // every number as CityFlow's RapidJSON reads it (rapidjson-number.ts)
    return rapidjsonNumbers(JSON.parse(text) as unknown);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const reason = message
      .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '') // Node 20 quotes the text around the error
      .replace(/ at position \d+.*$/s, ''); // the location goes into the path
    const hint = /^\s*</.test(text) ? ' (this looks like XML, e.g. a SUMO file, not CityFlow JSON)' : '';
    throw new ScenarioError(source, jsonErrorLocation(message, text), `invalid JSON: ${reason}${hint}`);
  }
}

/** "line L, column C" (1-based) of a JSON.parse error, from V8's message or, failing that, a rescan. */
function jsonErrorLocation(message: string, text: string): string {
  const lc = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lc) return `line ${lc[1]}, column ${lc[2]}`;
  const pos = /at position (\d+)/.exec(message);
  let offset = pos ? Number(pos[1]) : /end of JSON input/.test(message) ? text.length : findSyntaxError(text);
  if (offset < 0) return '';
  // Running out of input is best shown just after the last token, not past trailing newlines.
  offset = Math.min(offset, text.trimEnd().length);
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

/**
 * Offset of the first syntax error, or -1. Only runs after JSON.parse failed with a
 * message that has no position (Node 20's "Unexpected token 'x', ..." form).
 */
function findSyntaxError(s: string): number {
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  let i = 0;
  const ws = (): void => {
    while (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t') i++;
  };
  const string = (): void => {
    for (i++; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch === 34) return void i++; // closing quote
      if (ch === 92) i++; // skip the escaped character
      else if (ch < 32) throw i;
    }
    throw i;
  };
  const value = (): void => {
    ws();
    const open = s[i];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      i++;
      ws();
      if (s[i] === close) return void i++;
      for (;;) {
        if (open === '{') {
          ws();
          if (s[i] !== '"') throw i;
          string();
          ws();
          if (s[i] !== ':') throw i;
          i++;
        }
        value();
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === close) return void i++;
        else throw i;
      }
    }
    if (open === '"') return string();
    NUMBER.lastIndex = i;
    if (NUMBER.test(s)) return void (i = NUMBER.lastIndex);
    for (const word of ['true', 'false', 'null']) if (s.startsWith(word, i)) return void (i += word.length);
    throw i;
  };
  try {
    value();
    ws();
    return i < s.length ? i : -1;
  } catch (e) {
    return typeof e === 'number' ? e : -1; // a RangeError from absurd nesting: no location
  }
}

/** Whether the router drove the anchors as given: as many roads is not enough ([A, A, C] routes as [A, B, C]). */
function sameRoads(routed: string[], anchors: string[]): boolean {
  if (routed.length !== anchors.length) return false;
  for (let k = 0; k < routed.length; k++) if (routed[k] !== anchors[k]) return false;
  return true;
}
