/**
 * Stress scenarios: a CityFlow-style grid (generateGrid's roadnet, its phases)
 * with demand made to find where signal controllers break: unbalanced
 * directions, heavy turning, blocks short enough to spill back, a pulse that
 * oversaturates and then clears, long arterials (1 x N).
 *
 * Routes: from every boundary road into the grid, vehicles drive straight
 * across, or turn left or right once, at one of the intersections on their
 * way (spread evenly over them), and drive straight on to the boundary. Every
 * movement of every intersection is loaded, turns as much as `turnShare`
 * says. Each route is a flow with its own rate; flows start staggered so
 * that entries do not all fire in the same second.
 */
import type { FlowJson, Scenario } from '../format/cityflow.js';
import { generateGrid, GRID_VEHICLE, type GridOptions } from './grid.js';

export interface StressOptions {
  /** signalised intersections per column and per row (1..50) */
  rows: number;
  cols: number;
  /** m between intersections; default 300 (short blocks, e.g. 120, spill back: 60 m lanes hold 8 vehicles) */
  blockLength?: number;
  /** vehicles per hour entering on each boundary road, by the direction they enter heading: east, north, west, south */
  entryPerHour: readonly [number, number, number, number];
  /** share of vehicles that turn once (half left, half right); default 0.2 */
  turnShare?: number;
  /** last second vehicles enter; default 900 (the run then shows whether the network clears) */
  endTime?: number;
  /** a surge: between `from` and `to` seconds, demand multiplied by `factor` */
  pulse?: { from: number; to: number; factor: number };
}

/** direction d moves by (DX[d], DY[d]): 0 east, 1 north, 2 west, 3 south (as the grid generator's road ids) */
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];

const bad = (name: string, value: unknown, what: string): never => {
  throw new RangeError(`stress option ${name} must be ${what}, got ${JSON.stringify(value)}`);
};
const check = (name: string, v: unknown, ok: (x: number) => boolean, what: string): number =>
  typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : bad(name, v, what);

export function generateStress(opts: StressOptions): Scenario {
  if (opts === null || typeof opts !== 'object') bad('options', opts, 'an object');
  const rows = check('rows', opts.rows, (x) => Number.isInteger(x) && x >= 1 && x <= 50, 'an integer in 1..50');
  const cols = check('cols', opts.cols, (x) => Number.isInteger(x) && x >= 1 && x <= 50, 'an integer in 1..50');
  const turnShare = check('turnShare', opts.turnShare ?? 0.2, (x) => x >= 0 && x <= 1, 'a share in 0..1');
  const endTime = check('endTime', opts.endTime ?? 900, (x) => x > 0, 'a positive number of seconds');
  if (!Array.isArray(opts.entryPerHour) || opts.entryPerHour.length !== 4) bad('entryPerHour', opts.entryPerHour, 'four numbers (east, north, west, south)');
  const rate = opts.entryPerHour.map((v, d) => check(`entryPerHour[${d}]`, v, (x) => x >= 0, 'a number >= 0'));
  const pulse = opts.pulse;
  if (pulse !== undefined) {
    if (pulse === null || typeof pulse !== 'object') bad('pulse', pulse, 'an object { from, to, factor }');
    check('pulse.from', pulse.from, (x) => x >= 0, 'a number >= 0');
    check('pulse.to', pulse.to, (x) => x > pulse.from && x <= endTime, `a number in (pulse.from, endTime = ${endTime}]`);
    check('pulse.factor', pulse.factor, (x) => x >= 1, 'a number >= 1');
  }
  const grid: GridOptions = { rows, cols, blockLength: opts.blockLength, turnRoutes: false };
  const roadnet = generateGrid(grid).roadnet;

  // entries: boundary (x, y) heading d into the grid
  const entries: { x: number; y: number; d: number }[] = [];
  for (let y = 1; y <= rows; y++) entries.push({ x: 0, y, d: 0 }, { x: cols + 1, y, d: 2 });
  for (let x = 1; x <= cols; x++) entries.push({ x, y: 0, d: 1 }, { x, y: rows + 1, d: 3 });

  const flows: FlowJson[] = [];
  const emit = (route: string[], perHour: number, from: number, to: number) => {
    if (!(perHour > 0)) return;
    const interval = 3600 / perHour;
    // staggered by the golden ratio: entries do not all fire together
    const start = from + ((flows.length * 0.618034) % 1) * Math.min(interval, to - from);
    if (start > to) return;
    flows.push({ vehicle: { ...GRID_VEHICLE }, route, interval, startTime: Math.round(start * 10) / 10, endTime: to });
  };
  for (const e of entries) {
    const straight = walk(e.x, e.y, e.d, -1, 0);
    // intersections on the way: the route's roads but the first end at one
    const stops = straight.length - 1;
    const routes: { route: string[]; share: number }[] = [{ route: straight, share: 1 - turnShare }];
    if (turnShare > 0) {
      for (let k = 1; k <= stops; k++) {
        for (const turn of [1, 3]) routes.push({ route: walk(e.x, e.y, e.d, k, (e.d + turn) % 4), share: turnShare / (2 * stops) });
      }
    }
    for (const { route, share } of routes) {
      const perHour = rate[e.d] * share;
      emit(route, perHour, 0, endTime);
      if (pulse) emit(route, perHour * (pulse.factor - 1), pulse.from, pulse.to);
    }
  }
  return { roadnet, flows };

  /** Roads from boundary (x, y) heading d, turning to `then` after `turnAt` intersections (-1: never), to the boundary. */
  function walk(x: number, y: number, d: number, turnAt: number, then: number): string[] {
    const route: string[] = [];
    for (let k = 0; ; k++) {
      if (k === turnAt) d = then;
      route.push(`road_${x}_${y}_${d}`);
      x += DX[d];
      y += DY[d];
      if (x <= 0 || y <= 0 || x > cols || y > rows) return route;
    }
  }
}

/** A named stress scenario: what it stresses, and the options that make it. */
export interface StressPreset {
  name: string;
  what: string;
  options: StressOptions;
  /** seconds to simulate: the demand's span and the time it takes to clear */
  seconds: number;
}

/**
 * The stress family the controllers are tested on: small networks (a 3 x 3
 * grid, a 1 x 6 arterial), demand for 900 s, then 900 s to clear. Each is
 * near or past what a poor plan carries (fixed time does not clear the
 * unbalanced and arterial ones in that time), within what a good one does.
 */
export const STRESS_PRESETS: readonly StressPreset[] = Object.freeze([
  {
    name: 'unbalanced',
    what: 'east-west four times north-south, eastbound heaviest',
    options: { rows: 3, cols: 3, entryPerHour: [720, 180, 480, 180], turnShare: 0.2 },
    seconds: 1800,
  },
  {
    name: 'turning',
    what: 'half the vehicles turn, left as often as right',
    options: { rows: 3, cols: 3, entryPerHour: [360, 360, 360, 360], turnShare: 0.5 },
    seconds: 1800,
  },
  {
    name: 'short-blocks',
    what: '120 m blocks (60 m lanes, 8 vehicles): queues spill back into the junction upstream',
    options: { rows: 3, cols: 3, blockLength: 120, entryPerHour: [600, 600, 600, 600], turnShare: 0.3 },
    seconds: 1800,
  },
  {
    name: 'pulse',
    what: 'demand tripled from 120 to 420 s (oversaturated), then back: the queues must clear',
    options: { rows: 3, cols: 3, entryPerHour: [300, 300, 300, 300], turnShare: 0.2, pulse: { from: 120, to: 420, factor: 3 } },
    seconds: 1800,
  },
  {
    name: 'arterial',
    what: 'a 1 x 6 arterial: heavy through traffic, light cross streets',
    options: { rows: 1, cols: 6, entryPerHour: [800, 150, 700, 150], turnShare: 0.15 },
    seconds: 1800,
  },
]);
