// Replays for the time slider: CityFlow replay files read in the browser, or
// a comparison run's recorded frames from the server. Pure (no DOM).
import { SignalMap, boundsOf, laneShapes, tail, type Bounds, type Path, type StopBar } from '../map/geometry.js';
import type { NetworkView, ReplayFramesResponse } from '../types.js';

export interface ReplayFrame {
  t: number;
  /** vehicles as [x, y, heading, speed] records; speed NaN when the source has none */
  vehicles: Float32Array;
  n: number;
  /** per lane: 0 none, 1 green, 2 red, 3 yellow */
  signals: Uint8Array;
}

export interface ReplaySource {
  name: string;
  lanes: { index: number; path: Path; width: number }[];
  stopBars: StopBar[];
  bounds: Bounds;
  length: number;
  frame(i: number): ReplayFrame;
}

interface RoadnetEdge {
  id: string;
  points: [number, number][];
  nLane: number;
  laneWidths: number[];
}

const fail = (path: string, what: string): never => {
  throw new Error(`replay_roadnet.json: ${path} ${what}`);
};

function readEdges(json: unknown): RoadnetEdge[] {
  const edges = (json as { static?: { edges?: unknown } } | null)?.static?.edges;
  if (!Array.isArray(edges)) fail('static.edges', 'is missing (is this a CityFlow replay roadnet?)');
  return (edges as unknown[]).map((e, i) => {
    const o = e as Partial<RoadnetEdge>;
    const at = `static.edges[${i}]`;
    if (typeof o.id !== 'string') fail(`${at}.id`, 'must be a string');
    if (!Array.isArray(o.points) || o.points.length < 2 || !o.points.every((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]))) {
      fail(`${at}.points`, 'must hold at least two [x, y] points');
    }
    if (!Number.isInteger(o.nLane) || o.nLane! < 1) fail(`${at}.nLane`, 'must be a positive integer');
    if (!Array.isArray(o.laneWidths) || o.laneWidths.length !== o.nLane || !o.laneWidths.every((w) => Number.isFinite(w) && w > 0)) {
      fail(`${at}.laneWidths`, `must hold ${o.nLane} positive widths`);
    }
    return o as RoadnetEdge;
  });
}

/** Lane centre lines: CityFlow's road axis is the left edge of lane 0; lanes lie to its right. */
function edgeLanes(e: RoadnetEdge): Path[] {
  const out: Path[] = [];
  let offset = 0;
  for (let k = 0; k < e.nLane; k++) {
    const off = offset + e.laneWidths[k] / 2;
    offset += e.laneWidths[k];
    out.push(e.points.map((p, i) => {
      const a = e.points[Math.max(0, i - 1)], b = e.points[Math.min(e.points.length - 1, i + 1)];
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const len = Math.hypot(dx, dy) || 1;
      return [p[0] + (dy / len) * off, p[1] - (dx / len) * off];
    }));
  }
  return out;
}

/** CityFlow's replay: replay_roadnet.json text and replay.txt bytes (one line per step; parsed on demand). */
export function cityflowReplay(roadnetText: string, replay: Uint8Array, name: string): ReplaySource {
  let json: unknown;
  try {
    json = JSON.parse(roadnetText);
  } catch (e) {
    throw new Error(`replay_roadnet.json is not JSON: ${(e as Error).message}`);
  }
  const edges = readEdges(json);
  const lanes: ReplaySource['lanes'] = [];
  const firstLane = new Map<string, number>();
  const stopBars: StopBar[] = [];
  for (const e of edges) {
    firstLane.set(e.id, lanes.length);
    edgeLanes(e).forEach((path, k) => {
      const index = lanes.length;
      lanes.push({ index, path, width: e.laneWidths[k] });
      stopBars.push({ index, path: tail(path, 6), width: e.laneWidths[k] });
    });
  }
  // line starts, found once; a line is decoded only when its step is shown
  const starts: number[] = [0];
  for (let i = 0; i < replay.length; i++) if (replay[i] === 10 && i + 1 < replay.length) starts.push(i + 1);
  if (replay.length === 0) throw new Error('replay.txt is empty');
  const decoder = new TextDecoder();
  return {
    name,
    lanes,
    stopBars,
    bounds: boundsOf(lanes.map((l) => l.path)),
    length: starts.length,
    frame(i: number): ReplayFrame {
      const end = i + 1 < starts.length ? starts[i + 1] - 1 : replay.length;
      const line = decoder.decode(replay.subarray(starts[i], end)).trim();
      const [cars = '', roads = ''] = line.split(';');
      const records = cars.split(',').filter((s) => s.trim() !== '');
      const vehicles = new Float32Array(4 * records.length);
      records.forEach((r, k) => {
        const f = r.trim().split(' ');
        const x = Number(f[0]), y = Number(f[1]), h = Number(f[2]);
        if (!Number.isFinite(x) || !Number.isFinite(y)) throw new Error(`replay.txt line ${i + 1}: vehicle ${k + 1} has no x y ("${r.slice(0, 40)}")`);
        vehicles.set([x, y, h, NaN], 4 * k);
      });
      const signals = new Uint8Array(lanes.length);
      for (const rs of roads.split(',')) {
        const f = rs.trim().split(' ');
        if (!f[0]) continue;
        const first = firstLane.get(f[0]);
        if (first === undefined) throw new Error(`replay.txt line ${i + 1}: road "${f[0]}" is not in replay_roadnet.json`);
        for (let k = 1; k < f.length; k++) signals[first + k - 1] = f[k] === 'g' ? 1 : f[k] === 'r' ? 2 : 0;
      }
      return { t: i, vehicles, n: records.length, signals };
    },
  };
}

/** A comparison run's recorded frames over the live network's geometry. */
export function framesReplay(view: NetworkView, frames: ReplayFramesResponse['frames'], name: string): ReplaySource {
  const lanes = laneShapes(view);
  const signalMap = new SignalMap(view, lanes);
  if (frames.length === 0) throw new Error('the run recorded no frames');
  return {
    name,
    lanes,
    stopBars: signalMap.stopBars,
    bounds: view.bounds,
    length: frames.length,
    frame(i: number): ReplayFrame {
      const f = frames[i];
      if (f.vehicles.length % 4 !== 0) throw new Error(`frame at t=${f.t} has ${f.vehicles.length} vehicle numbers, not a multiple of 4`);
      return { t: f.t, vehicles: Float32Array.from(f.vehicles), n: f.vehicles.length / 4, signals: signalMap.states(f.phases) };
    },
  };
}
