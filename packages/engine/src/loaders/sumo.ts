/**
 * SUMO loader: a SUMO network (`.net.xml`) and routes file (`.rou.xml`) as a
 * CityFlow scenario. Pure: takes XML text plus a source label for errors.
 *
 * Geometry: CityFlow draws lane k of a road at (sum of inner lane widths +
 * own width / 2) to the right of the road polyline and trims the polyline by
 * the end intersections' `width`. So the road polyline is the leftmost lane's
 * SUMO shape shifted left by half its width, and intersection width is 0: the
 * offset lanes then land on SUMO's lane shapes and internal (`via`) lane shapes
 * join them exactly.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ScenarioError } from '../errors.js';
import { RoadGraph } from '../routing.js';
import { MIN_CYCLE, MIN_FLOW_INTERVAL } from './bounds.js';
import type { LoadedScenario } from './cityflow.js';
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
  SimulationRules,
  VehicleJson,
} from '../format/cityflow.js';

// ---------------------------------------------------------------- XML access

type El = Record<string, unknown>;

const REPEATED = new Set([
  'edge', 'lane', 'junction', 'connection', 'tlLogic', 'phase',
  'vType', 'vehicle', 'trip', 'flow', 'route', 'routeDistribution', 'vTypeDistribution',
]);
const PREFIX = '@_';

/** Elements nested deeper than this are refused (SUMO files nest four deep: net, edge, lane, param). */
const MAX_DEPTH = 100;

/**
 * A DOCTYPE that declares entities is refused: an entity could expand from
 * outside the file (`SYSTEM "file:///..."`) or grow a small file into a huge
 * one, and SUMO's own files never declare any. Only XML's five built-in
 * entities (`&amp;` ...) and character references are read.
 */
const ENTITY_DECL = /<!ENTITY\s+(%\s*)?([^\s>]*)/g;

function parseXml(xml: string, source: string): El {
  // Any declaration after the DOCTYPE's start counts: where the DOCTYPE ends depends on its quoting, and in the
  // document proper "<!ENTITY" can only stand in a comment, so a false alarm costs a clear refusal at worst.
  const doctype = xml.indexOf('<!DOCTYPE');
  if (doctype >= 0) {
    ENTITY_DECL.lastIndex = doctype;
    const entity = ENTITY_DECL.exec(xml);
    if (entity) {
      throw new ScenarioError(source, lineAt(xml, entity.index),
        `the DOCTYPE declares ${entity[1] ? 'parameter ' : ''}entity "${entity[2].slice(0, 60)}": entities are not supported (SUMO files use none)`);
    }
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new ScenarioError(source, col === undefined ? `line ${line}` : `line ${line}, column ${col}`, `malformed XML: ${msg}`);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: PREFIX,
    parseAttributeValue: false,
    parseTagValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: MAX_DEPTH,
    isArray: (name: string, _jPath: unknown, _leaf: boolean, isAttribute: boolean) =>
      !isAttribute && REPEATED.has(name),
  });
  try {
    return parser.parse(xml) as El;
  } catch (e) {
    // The validator passed, so this is one of the parser's own limits (nesting depth, a reserved name such as
    // __proto__): bad input, reported like any other. The parser gives no position: parserErrorPlace looks for it.
    const msg = (e instanceof Error ? e.message : String(e)).replace(/^\[SECURITY\] /, '');
    const nested = /nested tags/i.test(msg);
    throw new ScenarioError(source, parserErrorPlace(xml, msg), `cannot read the XML: ${nested ? `elements nested more than ${MAX_DEPTH} deep` : msg}`);
  }
}

/** "line N" of offset `at` (1-based). */
function lineAt(xml: string, at: number): string {
  let line = 1;
  for (let i = xml.indexOf('\n'); i !== -1 && i < at; i = xml.indexOf('\n', i + 1)) line++;
  return `line ${line}`;
}

/** Markup of a well-formed document, one piece per match: comments, CDATA, PIs and DOCTYPEs, then end, empty and start tags. */
const MARKUP = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!(?:"[^"]*"|'[^']*'|\[[\s\S]*?\]|[^"'[>])*>|<\/[^>]*>|<(?:"[^"]*"|'[^']*'|[^"'>])*>/g;

/**
 * Where the parser's own error lies, which it does not say: the element past the depth limit, the reserved name,
 * the second DOCTYPE, the unclosed processing instruction; '' when it cannot be told.
 */
function parserErrorPlace(xml: string, msg: string): string {
  let at = -1;
  if (/nested tags/i.test(msg)) {
    let depth = 0;
    for (const m of xml.matchAll(MARKUP)) {
      const t = m[0];
      if (t[1] === '/') depth--;
      else if (t[1] !== '!' && t[1] !== '?' && !t.endsWith('/>') && ++depth > MAX_DEPTH) {
        at = m.index;
        break;
      }
    }
  } else if (/DOCTYPE/.test(msg)) {
    at = xml.indexOf('<!DOCTYPE', xml.indexOf('<!DOCTYPE') + 1);
  } else if (/Pi Tag/i.test(msg)) {
    at = xml.indexOf('<?');
  } else {
    const name = /name: "([^"]*)"/.exec(msg)?.[1];
    if (name) at = new RegExp(`[<\\s]${name.replace(/[^\w]/g, '\\$&')}[\\s=/>]`).exec(xml)?.index ?? -1;
  }
  return at < 0 ? '' : lineAt(xml, at);
}

/** Child elements with a tag (always an array; `<x/>` parses as '' so normalise to {}). */
function children(el: El, tag: string): El[] {
  const v = el[tag];
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((c) => (typeof c === 'object' && c !== null ? (c as El) : {}));
}

function attr(el: El, name: string): string | undefined {
  const v = el[PREFIX + name];
  return v === undefined ? undefined : String(v);
}

/** `<edge id="e1">`: an element as the user wrote it, for error paths. */
function tagDesc(tag: string, el: El, key = 'id'): string {
  const v = attr(el, key);
  return v === undefined ? `<${tag}>` : `<${tag} ${key}="${v}">`;
}

/** Reads attributes of one element, raising ScenarioError that names it. */
class Reader {
  constructor(readonly source: string, readonly path: string, readonly el: El) {}

  err(problem: string): ScenarioError {
    return new ScenarioError(this.source, this.path, problem);
  }
  opt(name: string): string | undefined {
    return attr(this.el, name);
  }
  str(name: string): string {
    const v = attr(this.el, name);
    if (v === undefined) throw this.err(`missing attribute "${name}"`);
    return v;
  }
  num(name: string, fallback?: number): number {
    const v = attr(this.el, name);
    if (v === undefined) {
      if (fallback === undefined) throw this.err(`missing attribute "${name}"`);
      return fallback;
    }
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n)) throw this.err(`attribute "${name}" expected a number, got "${v}"`);
    return n;
  }
  /** a number > 0 */
  positive(name: string, fallback?: number): number {
    const n = this.num(name, fallback);
    if (!(n > 0)) throw this.err(`attribute "${name}" must be > 0, got ${n}`);
    return n;
  }
  /** a number >= 0 */
  nonNegative(name: string, fallback?: number): number {
    const n = this.num(name, fallback);
    if (n < 0) throw this.err(`attribute "${name}" must be >= 0, got ${n}`);
    return n;
  }
  int(name: string, fallback?: number): number {
    const n = this.num(name, fallback);
    if (!Number.isInteger(n)) throw this.err(`attribute "${name}" expected an integer, got "${attr(this.el, name)}"`);
    return n;
  }
  shape(name: string): Point[] {
    const v = this.str(name);
    const pts: Point[] = [];
    for (const tok of v.trim().split(/\s+/)) {
      const [x, y] = tok.split(',').map(Number);
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw this.err(`attribute "${name}" expected "x,y x,y ...", got "${v}"`);
      pts.push({ x, y });
    }
    if (pts.length < 2) throw this.err(`attribute "${name}" needs at least two points, got "${v}"`);
    return pts;
  }
}

// ---------------------------------------------------------------- geometry

function dedupe(points: Point[]): Point[] {
  const out: Point[] = [];
  for (const p of points) {
    const q = out[out.length - 1];
    if (!q || Math.hypot(p.x - q.x, p.y - q.y) > 1e-6) out.push(p);
  }
  return out;
}

function unit(dx: number, dy: number): Point {
  const l = Math.hypot(dx, dy);
  return l > 0 ? { x: dx / l, y: dy / l } : { x: 0, y: 0 };
}

/** Shift a polyline to its left by d, using CityFlow's per-vertex direction (mean of adjacent segments) so its right-offset inverts this. */
function shiftLeft(pts: Point[], d: number): Point[] {
  const n = pts.length;
  return pts.map((p, j) => {
    let u: Point;
    if (j === 0) u = unit(pts[1].x - p.x, pts[1].y - p.y);
    else if (j === n - 1) u = unit(p.x - pts[j - 1].x, p.y - pts[j - 1].y);
    else {
      const a = unit(pts[j + 1].x - p.x, pts[j + 1].y - p.y);
      const b = unit(p.x - pts[j - 1].x, p.y - pts[j - 1].y);
      u = unit(a.x + b.x, a.y + b.y);
      if (u.x === 0 && u.y === 0) u = a; // hairpin
    }
    // left normal of (ux, uy) is (-uy, ux)
    return { x: p.x - u.y * d, y: p.y + u.x * d };
  });
}

// ---------------------------------------------------------------- network

const DEFAULT_LANE_WIDTH = 3.2;
/** phase time for junctions without a tlLogic: one phase, every link always green */
const UNSIGNALISED_PHASE_TIME = 30;
const SKIPPED_FUNCTIONS = new Set(['internal', 'crossing', 'walkingarea']);
const AVAILABLE_STATES = new Set(['G', 'g', 'O', 'o']);

function roadLinkType(dir: string | undefined): RoadLinkType {
  switch (dir) {
    case 'l': case 'L': case 't': return 'turn_left';
    case 'r': case 'R': return 'turn_right';
    default: return 'go_straight';
  }
}

/**
 * Whether a SUMO lane with these `allow`/`disallow` attributes admits
 * passenger cars, as SUMO reads them: no attribute, every class; `allow`
 * lists the classes (or "all"), else `disallow` lists those refused. Shared
 * with what counts netconvert's car lanes (citybrain import osm).
 */
export function sumoLaneAllowsCars(allow: string | undefined, disallow: string | undefined): boolean {
  const has = (list: string | undefined) => list !== undefined && list.trim().split(/\s+/).some((c) => c === 'all' || c === 'passenger');
  if (allow !== undefined) return has(allow);
  return !has(disallow);
}

/** Whether a lane carries cars: pedestrian, bicycle or rail lanes are not CityFlow lanes. */
function carsAllowed(lane: El): boolean {
  return sumoLaneAllowsCars(attr(lane, 'allow'), attr(lane, 'disallow'));
}

interface NetEdge {
  id: string;
  from: string;
  to: string;
  /** SUMO lane index → CityFlow lane index (kept lanes only, reversed) */
  laneMap: Map<number, number>;
  /** every SUMO lane index of the edge, kept or not */
  laneIndexes: Set<number>;
  road: RoadJson;
}

interface Conn {
  reader: Reader;
  from: NetEdge;
  to: NetEdge;
  fromLane: number;
  toLane: number;
  dir: string | undefined;
  tl: string | undefined;
  linkIndex: number;
  points: Point[];
}

/**
 * Parse a SUMO `.net.xml` into a CityFlow roadnet.
 *
 * - roads: edges except internal/crossing/walkingarea; lanes that allow
 *   passenger cars, reversed (SUMO lane 0 is rightmost, CityFlow's innermost).
 * - intersections: non-internal junctions touching a road. Virtual when no
 *   connection other than a turnaround (`dir="t"`) passes through: SUMO's
 *   boundary nodes often carry only a U-turn. loadSumoScenario makes such a
 *   junction an unsignalised intersection again when a route turns there
 *   (OSM dead ends: duarouter's routes do).
 * - roadLinks: connections grouped by (from edge, to edge, signal state in
 *   every phase); laneLink points = the chained `via` internal lane shapes.
 * - trafficLight: one lightphase per `<phase>` of the connections' tlLogic
 *   (indexed by linkIndex, so a tlLogic may drive several junctions); G/g/O/o
 *   are green. Without a tlLogic: one phase with every roadLink.
 */
export function parseSumoNet(xml: string, source = 'net.xml'): RoadnetJson {
  return readSumoNet(xml, source).roadnet;
}

/** A boundary junction's turnaround links: kept aside, a route may use them (see loadSumoScenario). */
type Turnarounds = Map<string, Pick<IntersectionJson, 'roadLinks' | 'trafficLight'>>;

/** parseSumoNet, plus the turnarounds of the junctions it made virtual. */
function readSumoNet(xml: string, source: string): { roadnet: RoadnetJson; turnarounds: Turnarounds } {
  const doc = parseXml(xml, source);
  const net = doc.net as El | undefined;
  if (typeof net !== 'object' || net === null) throw new ScenarioError(source, '', 'expected a <net> root element');

  // Lanes by "edge#index" (normal and internal), edges we keep as roads.
  const internalShape = new Map<string, Point[]>();
  const edges = new Map<string, NetEdge>();
  const edgeIds = new Set<string>();
  for (const e of children(net, 'edge')) {
    const er = new Reader(source, tagDesc('edge', e), e);
    const id = er.str('id');
    if (edgeIds.has(id)) throw er.err(`duplicate edge id "${id}"`);
    edgeIds.add(id);
    const fn = er.opt('function') ?? 'normal';
    const seenLanes = new Set<number>();
    const lanes = children(e, 'lane').map((l) => {
      const lr = new Reader(source, `${er.path} ${tagDesc('lane', l, 'index')}`, l);
      const index = lr.int('index');
      if (seenLanes.has(index)) throw lr.err(`duplicate lane index ${index}`);
      seenLanes.add(index);
      return { el: l, r: lr, index };
    });
    if (fn === 'internal') {
      for (const l of lanes) internalShape.set(`${id}#${l.index}`, l.r.shape('shape'));
      continue;
    }
    if (SKIPPED_FUNCTIONS.has(fn)) continue;
    // Highest SUMO index is leftmost: CityFlow index 0.
    const kept = lanes.filter((l) => carsAllowed(l.el)).sort((a, b) => b.index - a.index);
    if (kept.length === 0) continue;
    const laneJson: LaneJson[] = kept.map((l) => ({
      width: l.r.positive('width', DEFAULT_LANE_WIDTH),
      maxSpeed: l.r.positive('speed'),
    }));
    const leftShape = dedupe(kept[0].r.shape('shape'));
    if (leftShape.length < 2) throw kept[0].r.err('attribute "shape" has zero length');
    const from = er.str('from');
    const to = er.str('to');
    const name = er.opt('name')?.trim();
    edges.set(id, {
      id,
      from,
      to,
      laneMap: new Map(kept.map((l, i) => [l.index, i])),
      laneIndexes: new Set(lanes.map((l) => l.index)),
      road: {
        id,
        ...(name ? { name } : {}),
        points: shiftLeft(leftShape, laneJson[0].width / 2),
        lanes: laneJson,
        startIntersection: from,
        endIntersection: to,
      },
    });
  }

  // Traffic-light programs; with several programs per id SUMO runs the last loaded.
  const tlLogics = new Map<string, { time: number; state: string }[]>();
  for (const t of children(net, 'tlLogic')) {
    const tr = new Reader(source, tagDesc('tlLogic', t), t);
    const phases = children(t, 'phase').map((p, i) => {
      const pr = new Reader(source, `${tr.path} <phase> #${i}`, p);
      return { time: pr.nonNegative('duration'), state: pr.str('state') };
    });
    if (phases.length === 0) throw tr.err('has no <phase>: a traffic light program needs at least one');
    // The built-in plan steps through the phases by their durations: a cycle of (almost) no time never ends.
    const cycle = phases.reduce((s, p) => s + p.time, 0);
    if (phases.length >= 2 && !(cycle >= MIN_CYCLE)) {
      throw tr.err(`the phases' durations add up to ${cycle} s; a signal program needs a cycle of at least ${MIN_CYCLE} s`);
    }
    tlLogics.set(tr.str('id'), phases);
  }

  // Connections: internal → internal chains give the via path; normal → normal are links.
  const conns: Conn[] = [];
  const nextVia = new Map<string, string>();
  const viaKey = (via: string, r: Reader): string => {
    const m = /^(.*)_(\d+)$/.exec(via);
    if (!m) throw r.err(`attribute "via" expected a lane id, got "${via}"`);
    return `${m[1]}#${m[2]}`;
  };
  const pending: { r: Reader; from: NetEdge; to: NetEdge; via: string | undefined }[] = [];
  for (const c of children(net, 'connection')) {
    const r = new Reader(
      source,
      `<connection from="${attr(c, 'from')}" to="${attr(c, 'to')}" fromLane="${attr(c, 'fromLane')}" toLane="${attr(c, 'toLane')}">`,
      c,
    );
    const fromId = r.str('from');
    const via = r.opt('via');
    if (fromId.startsWith(':')) {
      if (via !== undefined) nextVia.set(`${fromId}#${r.int('fromLane')}`, viaKey(via, r));
      continue;
    }
    const toId = r.str('to');
    for (const id of [fromId, toId]) if (!edgeIds.has(id)) throw r.err(`unknown edge "${id}"`);
    const from = edges.get(fromId);
    const to = edges.get(toId);
    if (!from || !to) continue; // internal target or a skipped (non-car) edge
    pending.push({ r, from, to, via });
  }
  for (const { r, from, to, via } of pending) {
    const fromLane = r.int('fromLane');
    const toLane = r.int('toLane');
    if (!from.laneIndexes.has(fromLane)) throw r.err(`edge "${from.id}" has no lane ${fromLane}`);
    if (!to.laneIndexes.has(toLane)) throw r.err(`edge "${to.id}" has no lane ${toLane}`);
    const fl = from.laneMap.get(fromLane);
    const tl = to.laneMap.get(toLane);
    if (fl === undefined || tl === undefined) continue; // non-car lane
    let points: Point[] = [];
    if (via !== undefined) {
      const seen = new Set<string>();
      for (let k: string | undefined = viaKey(via, r); k !== undefined && !seen.has(k); k = nextVia.get(k)) {
        seen.add(k);
        const shape = internalShape.get(k);
        if (!shape) throw r.err(`unknown internal lane "${via}"`);
        points = points.concat(shape);
      }
      points = dedupe(points);
    }
    const tlId = r.opt('tl');
    conns.push({
      reader: r, from, to, fromLane: fl, toLane: tl, dir: r.opt('dir'),
      tl: tlId, linkIndex: tlId === undefined ? -1 : r.int('linkIndex'), points,
    });
  }

  // Junctions.
  const roadsAt = new Map<string, { in: string[]; out: string[] }>();
  for (const e of edges.values()) {
    for (const [j, side] of [[e.to, 'in'], [e.from, 'out']] as const) {
      let s = roadsAt.get(j);
      if (!s) roadsAt.set(j, (s = { in: [], out: [] }));
      s[side].push(e.id);
    }
  }
  const connsAt = new Map<string, Conn[]>();
  for (const c of conns) {
    const list = connsAt.get(c.from.to) ?? [];
    list.push(c);
    connsAt.set(c.from.to, list);
  }

  const intersections: IntersectionJson[] = [];
  const turnarounds: Turnarounds = new Map();
  const junctionIds = new Set<string>();
  const allJunctionIds = new Set<string>();
  for (const j of children(net, 'junction')) {
    const jr = new Reader(source, tagDesc('junction', j), j);
    const id = jr.str('id');
    if (allJunctionIds.has(id)) throw jr.err(`duplicate junction id "${id}"`);
    allJunctionIds.add(id);
    if (jr.opt('type') === 'internal') continue;
    junctionIds.add(id);
    const roads = roadsAt.get(id);
    if (!roads) continue; // touches no car road
    const jc = connsAt.get(id) ?? [];
    // Boundary nodes often carry only a turnaround: still a network boundary.
    const virtual = !jc.some((c) => c.dir !== 't');
    if (virtual && jc.length > 0) turnarounds.set(id, signalised(jc, tlLogics));
    intersections.push({
      id,
      point: { x: jr.num('x'), y: jr.num('y') },
      width: 0,
      roads: [...roads.in, ...roads.out],
      virtual,
      ...(virtual ? { roadLinks: [], trafficLight: { roadLinkIndices: [], lightphases: [] } } : signalised(jc, tlLogics)),
    });
  }
  for (const e of edges.values()) {
    for (const j of [e.from, e.to]) {
      if (!junctionIds.has(j)) throw new ScenarioError(source, `<edge id="${e.id}">`, `unknown junction "${j}"`);
    }
  }
  return { roadnet: { intersections, roads: [...edges.values()].map((e) => e.road) }, turnarounds };
}

/** roadLinks and trafficLight of a non-virtual junction. */
function signalised(
  conns: Conn[],
  tlLogics: Map<string, { time: number; state: string }[]>,
): Pick<IntersectionJson, 'roadLinks' | 'trafficLight'> {
  const tlIds = new Set(conns.flatMap((c) => (c.tl === undefined ? [] : [c.tl])));
  if (tlIds.size > 1) throw conns[0].reader.err(`junction is controlled by several tlLogics: ${[...tlIds].join(', ')}`);
  const tlId = [...tlIds][0];
  const phases = tlId === undefined ? undefined : tlLogics.get(tlId);
  if (tlId !== undefined && !phases) throw conns.find((c) => c.tl === tlId)!.reader.err(`unknown tlLogic "${tlId}"`);

  // One roadLink per (from, to, signal states over all phases); '' = not signal-controlled.
  const roadLinks: RoadLinkJson[] = [];
  const signatures: string[] = [];
  const byKey = new Map<string, RoadLinkJson>();
  for (const c of conns) {
    let sig = '';
    if (phases && c.tl !== undefined) {
      sig = phases.map((p) => p.state[c.linkIndex] ?? '').join('');
      if (sig.length !== phases.length) throw c.reader.err(`linkIndex ${c.linkIndex} is outside tlLogic "${c.tl}" states`);
    }
    const key = `${c.from.id}\u0000${c.to.id}\u0000${sig}`;
    let rl = byKey.get(key);
    if (!rl) {
      rl = { type: roadLinkType(c.dir), startRoad: c.from.id, endRoad: c.to.id, laneLinks: [] };
      byKey.set(key, rl);
      roadLinks.push(rl);
      signatures.push(sig);
    }
    if (!rl.laneLinks.some((l) => l.startLaneIndex === c.fromLane && l.endLaneIndex === c.toLane)) {
      const ll: LaneLinkJson = { startLaneIndex: c.fromLane, endLaneIndex: c.toLane, points: c.points };
      rl.laneLinks.push(ll);
    }
  }
  const all = roadLinks.map((_, i) => i);
  const lightphases: LightPhaseJson[] = phases
    ? phases.map((p, k) => ({
        time: p.time,
        availableRoadLinks: all.filter((i) => signatures[i] === '' || AVAILABLE_STATES.has(signatures[i][k])),
      }))
    : [{ time: UNSIGNALISED_PHASE_TIME, availableRoadLinks: all }];
  return { roadLinks, trafficLight: { roadLinkIndices: all, lightphases } };
}

// ---------------------------------------------------------------- routes

/** SUMO's defaults for the passenger class (DEFAULT_VEHTYPE). */
const SUMO_VTYPE_DEFAULTS = {
  accel: 2.6, decel: 4.5, emergencyDecel: 9, length: 5, minGap: 2.5, maxSpeed: 55.56, tau: 1, width: 1.8,
};
const MAX_SPEED = 55.56;
/** SUMO's default flow end when neither end nor number is given (24 h). */
const SUMO_DEFAULT_FLOW_END = 86400;
/**
 * SUMO's flow `end` is exclusive, CityFlow's `endTime` inclusive: stop just
 * before `end` so a vehicle due exactly at `end` is not emitted.
 */
const END_EPSILON = 1e-3;

/**
 * maxNegAcc = decel, not emergencyDecel: CityFlow uses maxNegAcc as the
 * braking bound of its collision-free speed, and the CityFlow data this
 * project calibrates against has maxNegAcc = usualNegAcc (both 4.5).
 */
function vehicleJson(r: Reader): VehicleJson {
  const d = SUMO_VTYPE_DEFAULTS;
  const accel = r.positive('accel', d.accel);
  const decel = r.positive('decel', d.decel);
  r.num('emergencyDecel', d.emergencyDecel); // validated, unused (see above)
  return {
    length: r.positive('length', d.length),
    width: r.positive('width', d.width),
    maxPosAcc: accel,
    maxNegAcc: decel,
    usualPosAcc: accel,
    usualNegAcc: decel,
    minGap: r.nonNegative('minGap', d.minGap),
    maxSpeed: Math.min(r.positive('maxSpeed', d.maxSpeed), MAX_SPEED),
    headwayTime: r.nonNegative('tau', d.tau),
  };
}

/** SUMO time: seconds or [[[d:]h:]m:]s. */
function time(r: Reader, name: string, fallback?: number): number {
  const v = r.opt(name);
  if (v !== undefined && v.includes(':')) {
    // Number('') is 0: an empty field ("1::") is a typo, not zero
    const parts = v.split(':').map((p) => (p.trim() === '' ? NaN : Number(p)));
    if (parts.length > 4 || parts.some((p) => !Number.isFinite(p))) throw r.err(`attribute "${name}" expected a time, got "${v}"`);
    const mult = [86400, 3600, 60, 1].slice(-parts.length);
    return parts.reduce((s, p, i) => s + p * mult[i], 0);
  }
  return r.num(name, fallback);
}

function departTime(r: Reader): number {
  const v = r.str('depart');
  if (v === 'now' || v === 'begin') return 0;
  if (v === 'triggered' || v === 'containerTriggered' || v === 'split') {
    throw r.err(`depart="${v}" is not supported: vehicles must depart at a time`);
  }
  const t = time(r, 'depart');
  // a flow starting before 0 would silently never emit the vehicle
  if (t < 0) throw r.err(`attribute "depart" must be >= 0, got ${v}`);
  return Math.floor(t);
}

/**
 * What a routes file says that the model does not take, counted so it is named
 * once in a warning rather than dropped in silence.
 */
class Ignored {
  private readonly items = new Map<string, { n: number; noun: string; values: Set<string> }>();

  add(what: string, noun: string, value?: string): void {
    let it = this.items.get(what);
    if (!it) this.items.set(what, (it = { n: 0, noun, values: new Set() }));
    it.n++;
    if (value !== undefined && it.values.size < 4) it.values.add(value);
  }

  /** Attributes of `r`'s element outside `known`, and child elements outside `kids`. */
  check(r: Reader, tag: string, noun: string, known: ReadonlySet<string>, kids: ReadonlySet<string> = NO_KIDS): void {
    for (const key of Object.keys(r.el)) {
      if (key.startsWith(PREFIX)) {
        const name = key.slice(PREFIX.length);
        if (!known.has(name)) this.add(`<${tag}> ${name}`, noun, String(r.el[key]));
      } else if (key !== '#text' && !kids.has(key)) this.add(`<${tag}> child <${key}>`, noun);
    }
  }

  /** One line: "<vType> sigma (0.5) on 3 vTypes; <vehicle> departPos (random) on 12 vehicles", or undefined. */
  line(): string | undefined {
    if (this.items.size === 0) return undefined;
    return [...this.items].map(([what, { n, noun, values }]) => {
      const shown = values.size === 0 ? '' : ` (${[...values].slice(0, 3).join(', ')}${values.size > 3 ? ', ...' : ''})`;
      return `${what}${shown} on ${n} ${noun}`;
    }).join('; ');
  }
}

const NO_KIDS: ReadonlySet<string> = new Set();
/** vType attributes the vehicle model takes (vehicleJson); vClass only as "passenger", checked apart. */
const VTYPE_ATTRS = new Set(['id', 'vClass', 'length', 'width', 'accel', 'decel', 'minGap', 'maxSpeed', 'tau', 'probability']);
/** vTypeDistribution attributes that are read ("deterministic" is not: the loader's draw is always deterministic). */
const VTYPE_DIST_ATTRS = new Set(['id', 'vTypes', 'probabilities']);
const VTYPE_DIST_KIDS = new Set(['vType']);
/** Attributes of a vehicle, trip or flow that are read; departLane/departSpeed/departPos only for some values, checked apart. */
const VEHICLE_ATTRS = new Set([
  'id', 'type', 'depart', 'route', 'from', 'to', 'via',
  'departLane', 'departSpeed', 'departPos', 'arrivalLane', 'arrivalPos', 'arrivalSpeed',
]);
const FLOW_ATTRS = new Set([...VEHICLE_ATTRS, 'begin', 'end', 'period', 'vehsPerHour', 'probability', 'number']);
const ROUTE_KIDS = new Set(['route', 'routeDistribution']);
/** Top-level elements of a routes file that are read. */
const ROUTE_FILE_ELEMENTS = new Set(['vType', 'vTypeDistribution', 'route', 'routeDistribution', 'vehicle', 'trip', 'flow']);
/**
 * departLane values that the engine's admission honours: it queues each
 * vehicle on a lane of its first road drawn by the simulation's seeded RNG
 * among those from which its route can be driven (SUMO's "random" within "best").
 */
const DEPART_LANES = new Set(['random', 'best', 'allowed', 'free']);

/** departLane, departSpeed, departPos, arrival*: what the engine does with them, or counted as ignored. */
function checkDepart(r: Reader, tag: string, noun: string, ignored: Ignored): void {
  const lane = r.opt('departLane');
  if (lane !== undefined && !DEPART_LANES.has(lane)) ignored.add(`<${tag}> departLane`, noun, lane);
  // vehicles enter at rest at the start of their first lane
  const speed = r.opt('departSpeed');
  if (speed !== undefined && speed !== '0' && Number(speed) !== 0) ignored.add(`<${tag}> departSpeed`, noun, speed);
  const pos = r.opt('departPos');
  if (pos !== undefined && pos !== 'base' && Number(pos) !== 0) ignored.add(`<${tag}> departPos`, noun, pos);
  for (const name of ['arrivalLane', 'arrivalPos', 'arrivalSpeed']) {
    const v = r.opt(name);
    // vehicles leave at the end of their last road, at whatever speed and lane
    if (v !== undefined && !(name === 'arrivalPos' && v === 'max') && v !== 'current') ignored.add(`<${tag}> ${name}`, noun, v);
  }
}

interface RouteOption {
  edges: string[];
  prob: number;
}

interface TypeOption {
  vehicle: VehicleJson;
  prob: number;
}

/**
 * Which option of a distribution (a route, a vType) the next vehicle takes:
 * the one furthest behind its share (largest prob * (n + 1) - taken), first
 * on ties. A deterministic rule: after n vehicles each option has had its
 * share to within one vehicle, and the first vehicle takes the most probable.
 */
class ShareDraw {
  private readonly taken = new Map<readonly { prob: number }[], number[]>();
  next<T extends { prob: number }>(dist: readonly T[]): T {
    let taken = this.taken.get(dist);
    if (!taken) this.taken.set(dist, (taken = dist.map(() => 0)));
    const n = taken.reduce((a, b) => a + b, 0);
    let best = 0;
    let bestDeficit = -Infinity;
    dist.forEach((o, k) => {
      const deficit = o.prob * (n + 1) - taken[k];
      if (deficit > bestDeficit + 1e-12) {
        bestDeficit = deficit;
        best = k;
      }
    });
    taken[best]++;
    return dist[best];
  }
}

/**
 * Parse a SUMO routes file into CityFlow flows over `roadnet` (the result of
 * parseSumoNet). `opts.end` is the end of flows that give neither `end` nor
 * `number` (SUMO's default: 24 h).
 *
 * - `<vehicle>`/`<trip>`: one flow with startTime = endTime = floor(depart).
 * - `<flow>`: interval = period | 3600/vehsPerHour | 1/probability (the
 *   random per-second insertion approximated by its mean headway) |
 *   (end-begin)/number; `period="exp(r)"` likewise by 1/r.
 * - a route distribution: a flow is split into one flow per route (interval
 *   scaled by the route's share); the vehicles referencing it take its routes
 *   in their shares, by a deterministic rule (ShareDraw).
 * - a vTypeDistribution (child vTypes, and/or `vTypes` with `probabilities`
 *   or the vTypes' own `probability`): likewise, one flow per vType, and a
 *   flow naming both distributions one flow per (vType, route) pair, its
 *   interval scaled by the product of their shares.
 * - `from`/`to` (and `via`): the fastest route at the speed limits (travel
 *   time = length / the road's fastest lane's speed; duarouter's default).
 * - vehicles without `type` use DEFAULT_VEHTYPE (SUMO's defaults unless the
 *   file redefines it), as SUMO does.
 * - vType: length, width, accel, decel, minGap, maxSpeed, tau are applied;
 *   departLane random/best/allowed/free, departSpeed 0 and departPos base are
 *   what the engine does. Any other attribute or element is counted in the
 *   warning loadSumoScenario returns (this function drops them: use that one).
 */
export function parseSumoRoutes(
  xml: string,
  roadnet: RoadnetJson,
  source = 'rou.xml',
  opts?: { end?: number },
): FlowJson[] {
  return readSumoRoutes(xml, roadnet, new Map(), source, opts).flows;
}

/**
 * parseSumoRoutes over a net whose boundary turnarounds a route may use, with
 * the junctions whose turnaround a route takes and the warnings.
 */
function readSumoRoutes(
  xml: string,
  roadnet: RoadnetJson,
  turnarounds: Turnarounds,
  source: string,
  opts?: { end?: number },
): { flows: FlowJson[]; turned: Set<string>; warnings: string[] } {
  const doc = parseXml(xml, source);
  const root = (doc.routes ?? doc.additional) as El | undefined;
  if (typeof root !== 'object' || root === null) throw new ScenarioError(source, '', 'expected a <routes> root element');
  const ignored = new Ignored();
  for (const key of Object.keys(root)) {
    if (!key.startsWith(PREFIX) && key !== '#text' && !ROUTE_FILE_ELEMENTS.has(key)) {
      for (let k = children(root, key).length; k > 0; k--) ignored.add(`element <${key}>`, 'elements');
    }
  }
  // the graph routes and checks over: the net's links plus the boundary turnarounds
  const graph = new RoadGraph({
    roads: roadnet.roads,
    intersections: [...roadnet.intersections, ...[...turnarounds].map(([id, t]) => ({ ...t, id, point: { x: 0, y: 0 }, width: 0, roads: [], virtual: false }))],
  }, { metric: 'time' });

  const vTypes = new Map<string, VehicleJson>([['DEFAULT_VEHTYPE', vehicleJson(new Reader(source, '', {}))]]);
  const vTypeProb = new Map<string, number>(); // each vType's own "probability" (default 1), used by distributions
  const vTypeIds = new Set<string>(); // the file may redefine DEFAULT_VEHTYPE, once
  const readVType = (t: El, path: string): string => {
    const r = new Reader(source, path, t);
    const id = r.str('id');
    // SUMO: vTypes and vTypeDistributions share one namespace
    if (vTypeIds.has(id)) throw r.err(`duplicate vType or vTypeDistribution id "${id}"`);
    vTypeIds.add(id);
    vTypes.set(id, vehicleJson(r));
    vTypeProb.set(id, r.nonNegative('probability', 1));
    ignored.check(r, 'vType', 'vTypes', VTYPE_ATTRS);
    const vClass = r.opt('vClass');
    if (vClass !== undefined && vClass !== 'passenger') ignored.add('<vType> vClass', 'vTypes', vClass);
    return id;
  };
  for (const t of children(root, 'vType')) readVType(t, tagDesc('vType', t));
  // a distribution's own vTypes are usable by their id anywhere in the file, as SUMO has them
  const distEls = children(root, 'vTypeDistribution').map((d) => {
    const path = tagDesc('vTypeDistribution', d);
    return { d, path, kids: children(d, 'vType').map((t) => readVType(t, `${path} ${tagDesc('vType', t)}`)) };
  });
  const vTypeDists = new Map<string, TypeOption[]>();
  for (const { d, path, kids } of distEls) {
    const r = new Reader(source, path, d);
    const id = r.str('id');
    if (vTypeIds.has(id)) throw r.err(`duplicate vType or vTypeDistribution id "${id}"`);
    vTypeIds.add(id);
    ignored.check(r, 'vTypeDistribution', 'vTypeDistributions', VTYPE_DIST_ATTRS, VTYPE_DIST_KIDS);
    const refs = r.opt('vTypes')?.trim().split(/\s+/).filter((s) => s !== '') ?? [];
    const probText = r.opt('probabilities');
    const probs = probText?.trim().split(/\s+/).filter((s) => s !== '').map((p) => {
      const n = Number(p);
      if (!Number.isFinite(n)) throw r.err(`attribute "probabilities" expected numbers, got "${p}"`);
      return n;
    });
    if (probs !== undefined && probs.length !== refs.length) {
      throw r.err(`attribute "probabilities" has ${probs.length} values for ${refs.length} vTypes in "vTypes"`);
    }
    const opts: TypeOption[] = [];
    refs.forEach((ref, k) => {
      const nested = vTypeDists.get(ref);
      if (nested) {
        // SUMO takes a distribution named here as its vTypes, in their shares of this entry's probability
        const p = probs?.[k] ?? 1;
        for (const o of nested) opts.push({ vehicle: o.vehicle, prob: p * o.prob });
        return;
      }
      const vehicle = vTypes.get(ref);
      if (!vehicle) {
        const later = distEls.some((e) => attr(e.d, 'id') === ref);
        throw r.err(later
          ? `vTypeDistribution "${ref}" in "vTypes" must be defined before this one (SUMO reads them in order)`
          : `unknown vType "${ref}" in "vTypes"`);
      }
      opts.push({ vehicle, prob: probs?.[k] ?? vTypeProb.get(ref) ?? 1 });
    });
    for (const kid of kids) opts.push({ vehicle: vTypes.get(kid)!, prob: vTypeProb.get(kid)! });
    const neg = opts.find((o) => o.prob < 0);
    if (neg) throw r.err(`a probability in the distribution is negative (${neg.prob})`);
    const total = opts.reduce((s, o) => s + o.prob, 0);
    if (!(total > 0)) throw r.err('vType distribution has no vTypes with positive probability');
    vTypeDists.set(id, opts.map((o) => ({ vehicle: o.vehicle, prob: o.prob / total })));
  }
  const typeOptions = (r: Reader): TypeOption[] => {
    const id = r.opt('type') ?? 'DEFAULT_VEHTYPE';
    const dist = vTypeDists.get(id);
    if (dist) return dist;
    const v = vTypes.get(id);
    if (v) return [{ vehicle: v, prob: 1 }];
    throw r.err(`unknown vType "${id}"`);
  };

  const checkEdges = (r: Reader, edges: string[]): string[] => {
    if (edges.length === 0) throw r.err('route has no edges');
    edges.forEach((e, i) => {
      if (!graph.next.has(e)) throw r.err(`unknown edge "${e}"`);
      if (i > 0 && !graph.next.get(edges[i - 1])!.has(e)) throw r.err(`edges "${edges[i - 1]}" and "${e}" are not connected`);
    });
    return edges;
  };
  const routeEdges = (r: Reader): string[] =>
    checkEdges(r, r.str('edges').trim().split(/\s+/).filter((s) => s !== ''));

  const routes = new Map<string, string[]>();
  for (const rt of children(root, 'route')) {
    const r = new Reader(source, tagDesc('route', rt), rt);
    const id = r.str('id');
    if (routes.has(id)) throw r.err(`duplicate route id "${id}"`);
    routes.set(id, routeEdges(r));
  }
  const parseDist = (d: El, path: string): RouteOption[] => {
    const opts = children(d, 'route').map((rt, i): RouteOption => {
      const r = new Reader(source, `${path} <route> #${i}`, rt);
      const ref = r.opt('refId');
      let edges: string[] | undefined;
      if (ref !== undefined) {
        edges = routes.get(ref);
        if (!edges) throw r.err(`unknown route "${ref}"`);
      } else edges = routeEdges(r);
      const prob = r.num('probability', 1);
      if (prob < 0) throw r.err(`attribute "probability" must be >= 0, got ${prob}`);
      return { edges, prob };
    });
    const total = opts.reduce((s, o) => s + o.prob, 0);
    if (opts.length === 0 || total <= 0) throw new ScenarioError(source, path, 'route distribution has no routes with positive probability');
    return opts.map((o) => ({ edges: o.edges, prob: o.prob / total }));
  };
  const dists = new Map<string, RouteOption[]>();
  for (const d of children(root, 'routeDistribution')) {
    const path = tagDesc('routeDistribution', d);
    const r = new Reader(source, path, d);
    const id = r.str('id');
    // SUMO: "Another route (or distribution) with the id ... exists."
    if (routes.has(id) || dists.has(id)) throw r.err(`duplicate route or routeDistribution id "${id}"`);
    const opts = parseDist(d, path);
    dists.set(id, opts);
  }

  const routeOptions = (r: Reader): RouteOption[] => {
    const ref = r.opt('route');
    if (ref !== undefined) {
      const edges = routes.get(ref);
      if (edges) return [{ edges, prob: 1 }];
      const dist = dists.get(ref);
      if (dist) return dist;
      throw r.err(`unknown route "${ref}"`);
    }
    const inline = children(r.el, 'route');
    if (inline.length > 0) return [{ edges: routeEdges(new Reader(source, `${r.path} <route>`, inline[0])), prob: 1 }];
    const dist = children(r.el, 'routeDistribution');
    if (dist.length > 0) return parseDist(dist[0], `${r.path} <routeDistribution>`);
    const from = r.opt('from');
    const to = r.opt('to');
    if (from === undefined || to === undefined) {
      throw r.err('needs a route: attribute "route", a <route> child, or attributes "from" and "to"');
    }
    const stops = [from, ...(r.opt('via')?.trim().split(/\s+/).filter((s) => s !== '') ?? []), to];
    for (const e of stops) if (!graph.next.has(e)) throw r.err(`unknown edge "${e}"`);
    const edges = [from];
    for (let i = 1; i < stops.length; i++) {
      const leg = graph.shortest(stops[i - 1], stops[i]);
      if (!leg) throw r.err(`no path from edge "${stops[i - 1]}" to edge "${stops[i]}"`);
      edges.push(...leg.slice(1));
    }
    return [{ edges, prob: 1 }];
  };

  const flows: FlowJson[] = [];
  const draw = new ShareDraw(); // one tally per distribution: routes and vTypes are drawn apart
  // SUMO refuses a second vehicle (or trip) with an id, and a second flow with an id: both name the vehicles it reports on
  const vehicleIds = new Set<string>();
  for (const tag of ['vehicle', 'trip'] as const) {
    for (const v of children(root, tag)) {
      const r = new Reader(source, tagDesc(tag, v), v);
      const id = r.str('id');
      if (vehicleIds.has(id)) throw r.err(`duplicate vehicle id "${id}" (vehicles and trips share their ids)`);
      vehicleIds.add(id);
      const types = typeOptions(r);
      const t = departTime(r);
      ignored.check(r, tag, `${tag}s`, VEHICLE_ATTRS, ROUTE_KIDS);
      checkDepart(r, tag, `${tag}s`, ignored);
      const opts = routeOptions(r);
      const route = opts.length === 1 ? opts[0] : draw.next(opts);
      const { vehicle } = types.length === 1 ? types[0] : draw.next(types);
      flows.push({ vehicle, route: route.edges, interval: 1, startTime: t, endTime: t });
    }
  }
  const flowIds = new Set<string>();
  for (const f of children(root, 'flow')) {
    const r = new Reader(source, tagDesc('flow', f), f);
    const id = r.str('id');
    if (flowIds.has(id)) throw r.err(`duplicate flow id "${id}"`);
    flowIds.add(id);
    const types = typeOptions(r);
    ignored.check(r, 'flow', 'flows', FLOW_ATTRS, ROUTE_KIDS);
    checkDepart(r, 'flow', 'flows', ignored);
    const begin = time(r, 'begin', 0);
    let end = r.opt('end') === undefined ? undefined : time(r, 'end');
    const number = r.opt('number') === undefined ? undefined : r.int('number');
    if (number !== undefined && number < 0) throw r.err(`attribute "number" must be >= 0, got ${number}`);
    let interval: number;
    let by: string; // the attribute the interval comes from
    const period = r.opt('period');
    const positive = (name: string, v: number) => {
      if (!(v > 0)) throw r.err(`attribute "${name}" must be positive, got "${r.opt(name)}"`);
      return v;
    };
    if (period !== undefined) {
      const exp = /^exp\((.*)\)$/.exec(period.trim());
      const rate = exp ? Number(exp[1]) : NaN;
      if (exp && !(rate > 0)) throw r.err(`attribute "period" expected a number or exp(rate), got "${period}"`);
      interval = exp ? 1 / rate : positive('period', r.num('period'));
      by = 'period';
    } else if (r.opt('vehsPerHour') !== undefined) {
      interval = 3600 / positive('vehsPerHour', r.num('vehsPerHour'));
      by = 'vehsPerHour';
    } else if (r.opt('probability') !== undefined) {
      const p = r.num('probability');
      if (!(p > 0 && p <= 1)) throw r.err(`attribute "probability" must be in (0, 1], got "${r.opt('probability')}"`);
      interval = 1 / p;
      by = 'probability';
    } else if (number !== undefined) {
      if (end === undefined) throw r.err('a flow with only "number" needs attribute "end"');
      interval = (end - begin) / Math.max(number, 1);
      by = 'number';
    } else {
      throw r.err('needs one of attributes "period", "vehsPerHour", "probability" or "number"');
    }
    if (number !== undefined) end = Math.min(end ?? Infinity, begin + number * interval);
    end ??= opts?.end ?? SUMO_DEFAULT_FLOW_END;
    if (end < begin) throw r.err(`end (${end}) is before begin (${begin})`);
    if (end === begin) continue; // no vehicle
    // every vehicle is created: a flow much denser than any road only fills memory
    if (interval < MIN_FLOW_INTERVAL) {
      throw r.err(`attribute "${by}" gives ${interval} s between two vehicles: implausible (more than ${1 / MIN_FLOW_INTERVAL} vehicles per second from one flow)`);
    }
    const routes = routeOptions(r);
    for (const t of types) {
      for (const o of routes) {
        if (t.prob === 0 || o.prob === 0) continue; // a share of none: no vehicle
        flows.push({ vehicle: t.vehicle, route: o.edges, interval: interval / (t.prob * o.prob), startTime: begin, endTime: end - END_EPSILON });
      }
    }
  }
  // SUMO inserts by time; keep file order among equal times (stable sort).
  flows.sort((a, b) => a.startTime - b.startTime);

  // the boundary junctions whose turnaround some route takes
  const plain = new Set(roadnet.intersections.flatMap((i) => i.roadLinks.map((l) => `${l.startRoad}\u0000${l.endRoad}`)));
  const endOf = new Map(roadnet.roads.map((r) => [r.id, r.endIntersection]));
  const turned = new Set<string>();
  const seenRoutes = new Set<string[]>();
  for (const f of flows) {
    if (seenRoutes.has(f.route)) continue;
    seenRoutes.add(f.route);
    for (let k = 1; k < f.route.length; k++) {
      if (!plain.has(`${f.route[k - 1]}\u0000${f.route[k]}`)) turned.add(endOf.get(f.route[k - 1])!);
    }
  }
  const line = ignored.line();
  return { flows, turned, warnings: line === undefined ? [] : [`${source}: ignored (not modelled): ${line}`] };
}

/**
 * A SUMO network plus routes as a scenario, with warnings: one line per file
 * naming what it says that the model does not take (never dropped in silence).
 *
 * A boundary junction (virtual: only turnarounds pass through it) whose
 * turnaround some route takes becomes an unsignalised intersection with those
 * links, as in SUMO; the others stay network boundaries, as CityFlow has them.
 * The scenario comes with SUMO's own rules (SUMO_RULES: junctions kept clear,
 * jam teleport after 300 s), which users of SUMO networks expect.
 */
export function loadSumoScenario(files: {
  net: string;
  routes: string;
  netSource?: string;
  routesSource?: string;
}): LoadedScenario {
  const { roadnet, turnarounds } = readSumoNet(files.net, files.netSource ?? 'net.xml');
  const { flows, turned, warnings } = readSumoRoutes(files.routes, roadnet, turnarounds, files.routesSource ?? 'rou.xml');
  const intersections = roadnet.intersections.map((i) =>
    turned.has(i.id) ? { ...i, ...turnarounds.get(i.id)!, virtual: false } : i);
  const net: RoadnetJson = { intersections, roads: roadnet.roads };
  // vehicles change lanes along a road where their route needs it, so a route is driven to its end when a lane
  // link joins each road to the next (the routes' own check; this one says so should a link be missing in the model)
  const stuck = undrivable(net, flows);
  if (stuck.flows > 0) {
    warnings.push(`${files.routesSource ?? 'rou.xml'}: ${stuck.flows} of ${flows.length} routes (vehicles or flows) cannot be driven ` +
      `to their end: no lane link joins one road to the next, and their vehicles leave the network there ` +
      `(first: edge "${stuck.first![0]}" to "${stuck.first![1]}")`);
  }
  return { scenario: { roadnet: net, flows, rules: { ...SUMO_RULES } }, warnings };
}

/**
 * SUMO's defaults for what CityFlow lacks: junction blocking avoidance (SUMO
 * always applies it at junctions marked keepClear, netconvert's default) and
 * --time-to-teleport 300 s. Scenarios loaded from SUMO files carry them.
 */
export const SUMO_RULES: Readonly<Required<SimulationRules>> = { keepJunctionsClear: true, timeToTeleport: 300 };

/** The flows whose route has two roads in a row that no lane link joins (any lane of a road is reached by lane changes). */
function undrivable(roadnet: RoadnetJson, flows: FlowJson[]): { flows: number; first?: [string, string] } {
  const joined = new Set<string>();
  for (const i of roadnet.intersections) {
    if (i.virtual) continue;
    for (const rl of i.roadLinks) if (rl.laneLinks.length > 0) joined.add(`${rl.startRoad}\u0000${rl.endRoad}`);
  }
  let n = 0;
  let first: [string, string] | undefined;
  for (const f of flows) {
    const r = f.route;
    for (let k = 0; k + 1 < r.length; k++) {
      if (joined.has(`${r[k]}\u0000${r[k + 1]}`)) continue;
      n++;
      first ??= [r[k], r[k + 1]];
      break;
    }
  }
  return { flows: n, first };
}
