/**
 * Datasets that feed the brain's twin: planned roadworks (lanes closed in a
 * window), planned events (extra demand at the entries nearest their venue)
 * and weather (the driving parameters of the twin's vehicles). Pure: rows in
 * (as the hub stores them), what the twin is to do at a time out
 * (`TwinConditions`, applied by `BrainTwin.setConditions`).
 *
 * The schemas (a dataset marked as a feed must have these columns, of these
 * types; it may have more, which are ignored):
 *
 * - roadworks: `start` and `end` (timestamp: the window, end exclusive), and
 *   either `lane` (string: a lane id, e.g. `road_1_0_1_0`) or `road` (string:
 *   a road id) with `lanes_closed` (integer >= 1: that many of the road's
 *   lanes, from the kerbside one, i.e. the highest lane index; more than the
 *   road has closes the whole road). Columns: lane?, road?, lanes_closed?, start, end.
 * - events: `venue` (string: an intersection id), `start`, `end` (timestamp),
 *   `extra_vehicles_per_hour` (double >= 0): that demand arrives, spread evenly,
 *   on the entry lanes of the EVENT_ENTRY_ROADS entry roads nearest the venue.
 * - weather: `time` (timestamp: from then until the next row's time),
 *   `condition` (string: one of WEATHER_CONDITIONS), `visibility_m` (double,
 *   optional), `precipitation_mm_h` (double, optional). See `weatherFactors`
 *   for what each does and the bounds.
 */
import type { Network } from '@citybrain/engine';
import { HubError, type Column, type ColumnType } from '../hub/model.js';

export const FEED_KINDS = ['roadworks', 'events', 'weather'] as const;
export type FeedKind = (typeof FEED_KINDS)[number];

/** The columns a feed of each kind reads: name, the types it accepts, whether every dataset of the kind must have it. */
export const FEED_COLUMNS: Record<FeedKind, { name: string; types: ColumnType[]; required: boolean }[]> = {
  roadworks: [
    { name: 'lane', types: ['string'], required: false },
    { name: 'road', types: ['string'], required: false },
    { name: 'lanes_closed', types: ['integer'], required: false },
    { name: 'start', types: ['timestamp'], required: true },
    { name: 'end', types: ['timestamp'], required: true },
  ],
  events: [
    { name: 'venue', types: ['string'], required: true },
    { name: 'start', types: ['timestamp'], required: true },
    { name: 'end', types: ['timestamp'], required: true },
    { name: 'extra_vehicles_per_hour', types: ['double', 'integer'], required: true },
  ],
  weather: [
    { name: 'time', types: ['timestamp'], required: true },
    { name: 'condition', types: ['string'], required: true },
    { name: 'visibility_m', types: ['double', 'integer'], required: false },
    { name: 'precipitation_mm_h', types: ['double', 'integer'], required: false },
  ],
};

/** Entry roads an event's extra demand is spread over (the nearest to its venue). */
export const EVENT_ENTRY_ROADS = 2;

export const WEATHER_CONDITIONS = ['clear', 'cloudy', 'rain', 'heavy_rain', 'snow', 'fog', 'ice'] as const;
export type WeatherCondition = (typeof WEATHER_CONDITIONS)[number];

/** The bounds weather keeps the twin's driving parameters in: speed factor (x maxSpeed) and headway factor (x headwayTime). */
export const WEATHER_BOUNDS = { speedFactor: [0.5, 1], headwayFactor: [1, 2] } as const;

/** Each condition's factors before visibility and precipitation (from the usual reductions of free-flow speed and rises of headway in the literature: light rain a few per cent, snow and ice a quarter or more). */
const CONDITION_FACTORS: Record<WeatherCondition, { speed: number; headway: number }> = {
  clear: { speed: 1, headway: 1 },
  cloudy: { speed: 1, headway: 1 },
  rain: { speed: 0.92, headway: 1.15 },
  heavy_rain: { speed: 0.82, headway: 1.35 },
  snow: { speed: 0.72, headway: 1.5 },
  fog: { speed: 0.88, headway: 1.3 },
  ice: { speed: 0.6, headway: 1.8 },
};

/**
 * A weather row's driving factors: the condition's, then visibility below
 * 300 m caps the speed factor at 0.5 + visibility / 600 (and raises the
 * headway factor to at least 2 - visibility / 300), precipitation lowers the
 * speed factor by 1 % per mm/h; clamped to WEATHER_BOUNDS.
 */
export function weatherFactors(w: { condition: WeatherCondition; visibility_m?: number | null; precipitation_mm_h?: number | null }): { speedFactor: number; headwayFactor: number } {
  let { speed, headway } = CONDITION_FACTORS[w.condition];
  const vis = w.visibility_m;
  if (vis != null && vis < 300) {
    speed = Math.min(speed, 0.5 + Math.max(0, vis) / 600);
    headway = Math.max(headway, 2 - Math.max(0, vis) / 300);
  }
  if (w.precipitation_mm_h != null && w.precipitation_mm_h > 0) speed *= 1 - 0.01 * w.precipitation_mm_h;
  const clamp = (x: number, [lo, hi]: readonly [number, number]) => Math.min(hi, Math.max(lo, x));
  return { speedFactor: clamp(speed, WEATHER_BOUNDS.speedFactor), headwayFactor: clamp(headway, WEATHER_BOUNDS.headwayFactor) };
}

/** Checks a dataset's columns fit a feed kind: a HubError naming the missing or mistyped column. */
export function checkFeedColumns(kind: FeedKind, columns: readonly Column[]): void {
  const byName = new Map(columns.map((c) => [c.name, c]));
  for (const want of FEED_COLUMNS[kind]) {
    const c = byName.get(want.name);
    if (!c) {
      if (want.required) throw new HubError(`a ${kind} feed needs a column "${want.name}" (${want.types.join(' or ')}); the dataset has ${columns.map((x) => x.name).join(', ')}`);
      continue;
    }
    if (!want.types.includes(c.type)) throw new HubError(`a ${kind} feed's column "${want.name}" must be ${want.types.join(' or ')}, it is ${c.type}`);
  }
  if (kind === 'roadworks' && !byName.has('lane') && !byName.has('road')) throw new HubError('a roadworks feed needs a column "lane" or a column "road" (with "lanes_closed")');
}

/** One feed's rows as the hub reads them: timestamps as epoch ms. */
export type FeedRow = Record<string, string | number | boolean | null>;

/** What a feed's rows say, resolved on the network; rows that name what the network lacks are in `problems`, by row. */
export interface CompiledFeed {
  kind: FeedKind;
  closures: { lanes: number[]; start: number; end: number; row: number }[];
  events: { lanes: number[]; start: number; end: number; perLaneRate: number; row: number }[];
  weather: { time: number; speedFactor: number; headwayFactor: number; condition: string; row: number }[];
  problems: string[];
}

const num = (x: unknown): number | null => (x === null || x === undefined || x === '' ? null : Number(x));

/** Resolves a feed's rows on the network (lane and road ids, venues, conditions); a row it cannot use is named in `problems` and left out. */
export function compileFeed(kind: FeedKind, rows: readonly FeedRow[], net: Network, entryLane: Uint8Array): CompiledFeed {
  const out: CompiledFeed = { kind, closures: [], events: [], weather: [], problems: [] };
  const window = (r: FeedRow, i: number): [number, number] | undefined => {
    const s = num(r.start), e = num(r.end);
    if (s === null || e === null || !Number.isFinite(s) || !Number.isFinite(e)) return void out.problems.push(`row ${i}: start and end are needed`);
    if (e <= s) return void out.problems.push(`row ${i}: end must be after start`);
    return [s, e];
  };
  rows.forEach((r, i) => {
    if (kind === 'roadworks') {
      const w = window(r, i);
      if (!w) return;
      const lanes: number[] = [];
      if (typeof r.lane === 'string' && r.lane !== '') {
        const l = net.laneIndex.get(r.lane);
        if (l === undefined) return void out.problems.push(`row ${i}: lane "${r.lane}" is not a lane of this network`);
        lanes.push(l);
      } else if (typeof r.road === 'string' && r.road !== '') {
        const road = net.roadIndex.get(r.road);
        if (road === undefined) return void out.problems.push(`row ${i}: road "${r.road}" is not a road of this network`);
        const n = num(r.lanes_closed) ?? net.roadLaneCount[road];
        if (!(Number.isInteger(n) && n >= 1)) return void out.problems.push(`row ${i}: lanes_closed must be a whole number >= 1, got ${r.lanes_closed}`);
        const first = net.roadFirstLane[road], count = net.roadLaneCount[road];
        for (let k = Math.max(0, count - n); k < count; k++) lanes.push(first + k);
      } else return void out.problems.push(`row ${i}: a roadworks row names a lane or a road`);
      out.closures.push({ lanes, start: w[0], end: w[1], row: i });
    } else if (kind === 'events') {
      const w = window(r, i);
      if (!w) return;
      const inter = typeof r.venue === 'string' ? net.interIndex.get(r.venue) : undefined;
      if (inter === undefined) return void out.problems.push(`row ${i}: venue "${r.venue}" is not an intersection of this network`);
      const rate = num(r.extra_vehicles_per_hour);
      if (rate === null || !(rate >= 0 && rate < Infinity)) return void out.problems.push(`row ${i}: extra_vehicles_per_hour must be a number >= 0`);
      const lanes = nearestEntryLanes(net, entryLane, inter);
      if (lanes.length === 0) return void out.problems.push(`row ${i}: the network has no entry lanes`);
      out.events.push({ lanes, start: w[0], end: w[1], perLaneRate: rate / 3600 / lanes.length, row: i });
    } else {
      const t = num(r.time);
      if (t === null || !Number.isFinite(t)) return void out.problems.push(`row ${i}: time is needed`);
      if (!(WEATHER_CONDITIONS as readonly string[]).includes(String(r.condition))) return void out.problems.push(`row ${i}: condition must be one of ${WEATHER_CONDITIONS.join(', ')}, got ${JSON.stringify(r.condition)}`);
      const f = weatherFactors({ condition: r.condition as WeatherCondition, visibility_m: num(r.visibility_m), precipitation_mm_h: num(r.precipitation_mm_h) });
      out.weather.push({ time: t, ...f, condition: String(r.condition), row: i });
    }
  });
  out.weather.sort((a, b) => a.time - b.time);
  return out;
}

/** The entry lanes of the EVENT_ENTRY_ROADS entry roads whose far end is nearest the intersection. */
function nearestEntryLanes(net: Network, entryLane: Uint8Array, inter: number): number[] {
  const roads = new Map<number, number>();
  for (let l = 0; l < net.nLanes; l++) {
    if (!entryLane[l]) continue;
    const road = net.laneRoad[l];
    if (roads.has(road)) continue;
    const end = net.roadEndInter[road];
    roads.set(road, Math.hypot(net.interX[end] - net.interX[inter], net.interY[end] - net.interY[inter]));
  }
  const near = [...roads].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, EVENT_ENTRY_ROADS).map(([r]) => r);
  const lanes: number[] = [];
  for (const r of near) for (let k = 0; k < net.roadLaneCount[r]; k++) lanes.push(net.roadFirstLane[r] + k);
  return lanes;
}

/** What the twin is to do now (BrainTwin.setConditions). */
export interface TwinConditions {
  /** lanes closed (lane indices, ascending) */
  closedLanes: number[];
  /** extra arrivals per second on entry lanes (lane index → vehicles/s) */
  extraEntry: Map<number, number>;
  /** x the top speed of the twin's drawn and placed vehicles (the free speed its detectors report: twin/free-speed.ts), within WEATHER_BOUNDS */
  speedFactor: number;
  /** x their default headwayTime, within WEATHER_BOUNDS */
  headwayFactor: number;
  /** which rows of which feeds are in force (for the API and the audit) */
  active: { feed: string; kind: FeedKind; row: number }[];
}

/** The conditions at `nowMs` from every feed (by dataset id): closures and events in their window, the latest weather row at or before now (several weather feeds: the most restrictive). */
export function conditionsAt(feeds: ReadonlyMap<string, CompiledFeed>, nowMs: number): TwinConditions {
  const closed = new Set<number>();
  const extraEntry = new Map<number, number>();
  let speedFactor = 1, headwayFactor = 1;
  const active: TwinConditions['active'] = [];
  for (const [feed, f] of feeds) {
    for (const c of f.closures) {
      if (nowMs < c.start || nowMs >= c.end) continue;
      for (const l of c.lanes) closed.add(l);
      active.push({ feed, kind: f.kind, row: c.row });
    }
    for (const e of f.events) {
      if (nowMs < e.start || nowMs >= e.end) continue;
      for (const l of e.lanes) extraEntry.set(l, (extraEntry.get(l) ?? 0) + e.perLaneRate);
      active.push({ feed, kind: f.kind, row: e.row });
    }
    let w: CompiledFeed['weather'][number] | undefined;
    for (const x of f.weather) if (x.time <= nowMs) w = x;
    if (w) {
      speedFactor = Math.min(speedFactor, w.speedFactor);
      headwayFactor = Math.max(headwayFactor, w.headwayFactor);
      active.push({ feed, kind: f.kind, row: w.row });
    }
  }
  return { closedLanes: [...closed].sort((a, b) => a - b), extraEntry, speedFactor, headwayFactor, active };
}
