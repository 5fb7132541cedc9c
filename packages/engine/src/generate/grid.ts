/**
 * Grid scenario generator, reproducing CityFlow's own
 * `tools/generate_grid_scenario.py` + `generate_json_from_grid.py` (gridToRoadnet)
 * with `--turn`, and its signal phases either the default ones or, with
 * `tlPlan`, those of its `--tlPlan`:
 *
 * - a (rows+2) x (cols+2) lattice of intersections `intersection_{x}_{y}`; the
 *   outer ring (corners dropped) is virtual, the inner rows x cols are signalised;
 *   intersection_1_1 sits at (0, 0), x grows east, y grows north;
 * - roads `road_{x}_{y}_{dir}` leaving intersection (x, y) towards dir
 *   (0 east, 1 north, 2 west, 3 south), only those touching a signalised one;
 * - lanes left to right: `left` turn lanes, then `straight`, then `right`;
 * - at each signalised intersection one roadLink per (incoming, outgoing) road
 *   pair except U-turns, ordered by incoming then outgoing direction; each
 *   serving lane links to every lane of the outgoing road, along a Hermite
 *   curve of 11 points as CityFlow computes it;
 * - 9 light phases: 0 = right turns only (5 s), 1 = WT+ET, 2 = NT+ST, 3 = WL+EL,
 *   4 = NL+SL, 5..8 = one whole approach each (from W, E, S, N), all 30 s and all
 *   with the right turns, exactly as in CityFlow's output and the
 *   Hangzhou/Jinan benchmark roadnets. (CityFlow writes each set in Python set
 *   order; we write them ascending, the same sets.)
 * - with `tlPlan` (CityFlow's `--tlPlan`), 8 phases instead, a cycle of greens
 *   each followed by a 5 s right-turns-only phase: WT+ET 30 s, 5 s, WL+EL 30 s,
 *   5 s, NT+ST 30 s, 5 s, NL+SL 30 s, 5 s (without left lanes the two left-turn
 *   greens and their 5 s are left out, as CityFlow does). The roads, links and
 *   flows are the same as without it.
 *
 * Flows: one per straight boundary-to-boundary route (each row both ways, each
 * column both ways) plus CityFlow's 8 staircase turning routes, so 2 rows +
 * 2 cols + 8 flows; 152 for 36 x 36.
 */
import type {
  FlowJson,
  IntersectionJson,
  LaneLinkJson,
  LightPhaseJson,
  Point,
  RoadJson,
  RoadLinkJson,
  RoadLinkType,
  Scenario,
  VehicleJson,
} from '../format/cityflow.js';

export interface GridOptions {
  /** signalised intersections per column (north-south), 1..200 */
  rows: number;
  /** signalised intersections per row (east-west), 1..200 */
  cols: number;
  /** m between neighbouring intersections, default 300 (CityFlow --rowDistance/--columnDistance) */
  blockLength?: number;
  /** m, default 4 (gridToRoadnet's laneWidth; the scenario script does not override it) */
  laneWidth?: number;
  /** lanes per approach, default 1/1/1 (CityFlow --numLeftLanes/--numStraightLanes/--numRightLanes) */
  lanesPerMovement?: { left: number; straight: number; right: number };
  /** m/s, default 16.67 (CityFlow --laneMaxSpeed) */
  speedLimit?: number;
  /** m from the centre where lanes stop, default 30 (CityFlow --intersectionWidth) */
  intersectionWidth?: number;
  /** vehicles per second per route, default 1 (interval 1 s) */
  demand?: number;
  /** default true: add CityFlow's 8 turning routes (its --turn) */
  turnRoutes?: boolean;
  /** overrides of CityFlow's default vehicle (GRID_VEHICLE) */
  vehicle?: Partial<VehicleJson>;
  /**
   * default false: CityFlow's `--tlPlan` phases (a cycle of greens each followed by 5 s of
   * right turns only, phase 0 a green) instead of its 9 default ones
   */
  tlPlan?: boolean;
  /** flow window in s, default 0 / -1 (no end) */
  startTime?: number;
  endTime?: number;
}

/** CityFlow generator's default vehicle (--vehLen ... --vehHeadwayTime). */
export const GRID_VEHICLE: Readonly<VehicleJson> = Object.freeze({
  length: 5,
  width: 2,
  maxPosAcc: 2,
  maxNegAcc: 4.5,
  usualPosAcc: 2,
  usualNegAcc: 4.5,
  minGap: 2.5,
  maxSpeed: 16.67,
  headwayTime: 1.5,
});

/** direction d moves by (DX[d], DY[d]) */
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];
/** CityFlow's laneLink curve: midPoints = 10, so 11 points */
const MID_POINTS = 10;
const YELLOW_TIME = 5;
const GREEN_TIME = 30;

const bad = (name: string, value: unknown, what: string): never => {
  throw new RangeError(`grid option ${name} must be ${what}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
};
const num = (name: string, v: unknown, ok: (x: number) => boolean, what: string): number =>
  typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : bad(name, v, what);
const positive = (name: string, v: unknown) => num(name, v, (x) => x > 0, 'a positive finite number');
const intIn = (name: string, v: unknown, lo: number, hi: number) =>
  num(name, v, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer in ${lo}..${hi}`);

function resolve(o: GridOptions) {
  if (o === null || typeof o !== 'object') bad('options', o, 'an object');
  const rows = intIn('rows', o.rows, 1, 200);
  const cols = intIn('cols', o.cols, 1, 200);
  const blockLength = positive('blockLength', o.blockLength ?? 300);
  const laneWidth = positive('laneWidth', o.laneWidth ?? 4);
  const speedLimit = positive('speedLimit', o.speedLimit ?? 16.67);
  // Lanes stop intersectionWidth short of both ends, so a block must be longer than two of them.
  const intersectionWidth = num('intersectionWidth', o.intersectionWidth ?? 30, (x) => x > 0 && 2 * x < blockLength,
    `a positive number below blockLength / 2 (${blockLength / 2})`);
  const demand = positive('demand', o.demand ?? 1);
  const turnRoutes = o.turnRoutes ?? true;
  if (typeof turnRoutes !== 'boolean') bad('turnRoutes', turnRoutes, 'a boolean');
  const tlPlan = o.tlPlan ?? false;
  if (typeof tlPlan !== 'boolean') bad('tlPlan', tlPlan, 'a boolean');
  const m = o.lanesPerMovement ?? { left: 1, straight: 1, right: 1 };
  if (m === null || typeof m !== 'object') bad('lanesPerMovement', m, 'an object { left, straight, right }');
  const left = intIn('lanesPerMovement.left', m.left, 0, 8);
  const straight = intIn('lanesPerMovement.straight', m.straight, 1, 8); // straight routes need one
  const right = intIn('lanesPerMovement.right', m.right, 0, 8);
  // Turning routes take both left and right turns; without such lanes they would be unroutable.
  if (turnRoutes && left === 0) bad('lanesPerMovement.left', left, 'at least 1 when turnRoutes is true');
  if (turnRoutes && right === 0) bad('lanesPerMovement.right', right, 'at least 1 when turnRoutes is true');
  const startTime = num('startTime', o.startTime ?? 0, (x) => x >= 0, 'a finite number >= 0');
  const endTime = num('endTime', o.endTime ?? -1, (x) => x === -1 || x >= startTime, `-1 or a number >= startTime (${startTime})`);
  const vehicle: VehicleJson = { ...GRID_VEHICLE };
  if (o.vehicle !== undefined) {
    if (o.vehicle === null || typeof o.vehicle !== 'object') bad('vehicle', o.vehicle, 'an object');
    for (const [k, v] of Object.entries(o.vehicle)) {
      if (v === undefined) continue;
      if (!Object.hasOwn(GRID_VEHICLE, k)) bad(`vehicle.${k}`, v, 'absent (unknown vehicle field)');
      const key = k as keyof VehicleJson;
      vehicle[key] = key === 'minGap' || key === 'headwayTime'
        ? num(`vehicle.${k}`, v, (x) => x >= 0, 'a finite number >= 0')
        : positive(`vehicle.${k}`, v);
    }
  }
  return { rows, cols, blockLength, laneWidth, speedLimit, intersectionWidth, demand, turnRoutes, tlPlan,
    left, straight, right, startTime, endTime, vehicle };
}

/**
 * A grid scenario whose intersections are made on demand, one at a time: a
 * 200 x 200 grid's laneLink points take gigabytes as objects and more than the
 * longest JavaScript string as JSON, so a writer streams them out instead
 * (generateGrid collects them).
 */
export interface GridParts {
  roads: RoadJson[];
  /** the intersections in roadnet order, made anew on each call */
  intersections(): IterableIterator<IntersectionJson>;
  /** how many intersections() yields, and how many of them are signalised */
  intersectionCount: number;
  signalisedCount: number;
  flows: FlowJson[];
}

export function generateGrid(opts: GridOptions): Scenario {
  const parts = generateGridParts(opts);
  return { roadnet: { intersections: [...parts.intersections()], roads: parts.roads }, flows: parts.flows };
}

export function generateGridParts(opts: GridOptions): GridParts {
  const o = resolve(opts);
  const { rows, cols, blockLength: L, laneWidth, intersectionWidth } = o;
  const W = cols + 2; // lattice width (x = 0..cols+1)
  const H = rows + 2; // lattice height (y = 0..rows+1)
  const nLanes = o.left + o.straight + o.right;
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < W && y < H;
  const signalised = (x: number, y: number) => x > 0 && y > 0 && x < W - 1 && y < H - 1;
  // CityFlow keeps only roads with a signalised end (shouldDraw).
  const hasRoad = (x: number, y: number, d: number) =>
    inside(x + DX[d], y + DY[d]) && (signalised(x, y) || signalised(x + DX[d], y + DY[d]));
  const roadId = (x: number, y: number, d: number) => `road_${x}_${y}_${d}`;
  const interId = (x: number, y: number) => `intersection_${x}_${y}`;
  const pos = (x: number, y: number): Point => ({ x: (x - 1) * L, y: (y - 1) * L });

  // Lateral offset of each lane centre from the road axis, summed as CityFlow's getLaneShift does.
  const shift: number[] = [];
  for (let c = 0; c < nLanes; c++) {
    let s = 0;
    for (let i = 0; i < c; i++) s += laneWidth;
    shift.push(s + laneWidth * 0.5);
  }
  // Hermite basis at t = i / MID_POINTS (CityFlow's findPath).
  const basis = Array.from({ length: MID_POINTS + 1 }, (_, i) => {
    const t = i / MID_POINTS, t3 = t * t * t, t2 = t * t;
    return [2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t, -2 * t3 + 3 * t2, t3 - t2] as const;
  });

  const roads: RoadJson[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let d = 0; d < 4; d++) {
        if (!hasRoad(x, y, d)) continue;
        const nx = x + DX[d], ny = y + DY[d];
        roads.push({
          id: roadId(x, y, d),
          points: [pos(x, y), pos(nx, ny)],
          lanes: Array.from({ length: nLanes }, () => ({ width: laneWidth, maxSpeed: o.speedLimit })),
          startIntersection: interId(x, y),
          endIntersection: interId(nx, ny),
        });
      }
    }
  }

  // Lane indexes serving each movement: left lanes innermost, then straight, then right.
  const span = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  const lanesOf: Record<RoadLinkType, number[]> = {
    turn_left: span(0, o.left),
    go_straight: span(o.left, o.straight),
    turn_right: span(o.left + o.straight, o.right),
  };

  function* intersections(): IterableIterator<IntersectionJson> {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if ((x === 0 || x === W - 1) && (y === 0 || y === H - 1)) continue; // corners are dropped
        const p = pos(x, y);
        const isSig = signalised(x, y);
        const width = isSig ? intersectionWidth : 0;
        // Incoming road of direction d comes from (x - DX[d], y - DY[d]).
        const inDirs = [0, 1, 2, 3].filter((d) => inside(x - DX[d], y - DY[d]) && hasRoad(x - DX[d], y - DY[d], d));
        const outDirs = [0, 1, 2, 3].filter((d) => hasRoad(x, y, d));
        const roadLinks: RoadLinkJson[] = [];
        for (const da of inDirs) {
          for (const db of outDirs) {
            const type: RoadLinkType | undefined =
              (da + 1) % 4 === db ? 'turn_left' : (db + 1) % 4 === da ? 'turn_right' : da === db ? 'go_straight' : undefined;
            if (!type) continue; // U-turn
            const laneLinks: LaneLinkJson[] = [];
            for (const c of lanesOf[type]) {
              // Exit of lane c of the incoming road, `width` before the centre, offset to its right.
              const pxa = p.x - DX[da] * width + DY[da] * shift[c], pya = p.y - DY[da] * width - DX[da] * shift[c];
              const tax = DX[da] * width, tay = DY[da] * width;
              const tbx = DX[db] * width, tby = DY[db] * width;
              for (let e = 0; e < nLanes; e++) {
                const pxb = p.x + DX[db] * width + DY[db] * shift[e], pyb = p.y + DY[db] * width - DX[db] * shift[e];
                laneLinks.push({
                  startLaneIndex: c,
                  endLaneIndex: e,
                  points: basis.map(([k1, k2, k3, k4]) => ({
                    x: k1 * pxa + k2 * tax + k3 * pxb + k4 * tbx,
                    y: k1 * pya + k2 * tay + k3 * pyb + k4 * tby,
                  })),
                });
              }
            }
            if (laneLinks.length === 0) continue; // movement without lanes (e.g. left: 0)
            roadLinks.push({
              type, startRoad: roadId(x - DX[da], y - DY[da], da), endRoad: roadId(x, y, db), direction: da, laneLinks,
            });
          }
        }
        yield {
          id: interId(x, y),
          point: p,
          width,
          roads: [...inDirs.map((d) => roadId(x - DX[d], y - DY[d], d)), ...outDirs.map((d) => roadId(x, y, d))],
          roadLinks,
          trafficLight: { roadLinkIndices: roadLinks.map((_, i) => i), lightphases: o.tlPlan ? tlPlanPhases(roadLinks, o.left > 0) : phases(roadLinks) },
          virtual: !isSig,
        };
      }
    }
  }

  const flows: FlowJson[] = routes(rows, cols, o.turnRoutes).map((route) => ({
    vehicle: { ...o.vehicle },
    route,
    interval: 1 / o.demand,
    startTime: o.startTime,
    endTime: o.endTime,
  }));
  return { roads, intersections, intersectionCount: W * H - 4, signalisedCount: rows * cols, flows };
}

/** The indexes of the links `f` takes, and of every right turn (green in every phase of CityFlow's). */
const pickWithRights = (links: RoadLinkJson[], f: (l: RoadLinkJson) => boolean) =>
  links.flatMap((l, i) => (l.type === 'turn_right' || f(l) ? [i] : []));
const ew = (l: RoadLinkJson) => l.direction === 0 || l.direction === 2;
const ns = (l: RoadLinkJson) => l.direction === 1 || l.direction === 3;

/** CityFlow's 9 default phases; virtual intersections get them too, empty. */
function phases(links: RoadLinkJson[]): LightPhaseJson[] {
  const pick = (f: (l: RoadLinkJson) => boolean) => pickWithRights(links, f);
  const sets = [
    pick(() => false), // yellow / all-red: right turns only
    pick((l) => ew(l) && l.type === 'go_straight'), // WT+ET
    pick((l) => ns(l) && l.type === 'go_straight'), // NT+ST
    pick((l) => ew(l) && l.type === 'turn_left'), // WL+EL
    pick((l) => ns(l) && l.type === 'turn_left'), // NL+SL
    pick((l) => l.direction === 0), // whole approach from the west
    pick((l) => l.direction === 2), // from the east
    pick((l) => l.direction === 1), // from the south
    pick((l) => l.direction === 3), // from the north
  ];
  return sets.map((availableRoadLinks, i) => ({ time: i === 0 ? YELLOW_TIME : GREEN_TIME, availableRoadLinks }));
}

/**
 * CityFlow's `--tlPlan` phases: each green followed by 5 s of right turns only; the left-turn
 * greens only with left lanes. Virtual intersections get them too, empty, as in CityFlow.
 */
function tlPlanPhases(links: RoadLinkJson[], leftLanes: boolean): LightPhaseJson[] {
  const greens = [
    (l: RoadLinkJson) => ew(l) && l.type === 'go_straight', // WT+ET
    ...(leftLanes ? [(l: RoadLinkJson) => ew(l) && l.type === 'turn_left'] : []), // WL+EL
    (l: RoadLinkJson) => ns(l) && l.type === 'go_straight', // NT+ST
    ...(leftLanes ? [(l: RoadLinkJson) => ns(l) && l.type === 'turn_left'] : []), // NL+SL
  ];
  const rights = pickWithRights(links, () => false);
  return greens.flatMap((f) => [
    { time: GREEN_TIME, availableRoadLinks: pickWithRights(links, f) },
    { time: YELLOW_TIME, availableRoadLinks: [...rights] },
  ]);
}

/** CityFlow's generate_route: straight routes, then (with turn) 8 staircase routes. */
function routes(rows: number, cols: number, turn: boolean): string[][] {
  const walk = (x: number, y: number, dirs: readonly number[], steps: number): string[] => {
    const route: string[] = [];
    for (let i = 0; i < steps; i++) {
      const d = dirs[i % dirs.length];
      route.push(`road_${x}_${y}_${d}`);
      x += DX[d];
      y += DY[d];
    }
    return route;
  };
  const out: string[][] = [];
  for (let i = 1; i <= rows; i++) out.push(walk(0, i, [0], cols + 1), walk(cols + 1, i, [2], cols + 1));
  for (let i = 1; i <= cols; i++) out.push(walk(i, 0, [1], rows + 1), walk(i, rows + 1, [3], rows + 1));
  if (turn) {
    // Alternate two directions from a boundary until the opposite or adjacent boundary is reached.
    const stair = (x: number, y: number, a: number, b: number) =>
      walk(x, y, [a, b], a % 2 === 0 ? Math.min(rows * 2, cols * 2 + 1) : Math.min(cols * 2, rows * 2 + 1));
    out.push(
      stair(1, 0, 1, 0),
      stair(0, 1, 0, 1),
      stair(cols + 1, rows, 2, 3),
      stair(cols, rows + 1, 3, 2),
      stair(0, rows, 0, 3),
      stair(1, rows + 1, 3, 0),
      stair(cols + 1, 1, 2, 1),
      stair(cols, 0, 1, 2),
    );
  }
  return out;
}
