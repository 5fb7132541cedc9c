// Map geometry and colour scales derived from the network's own data (no tiles).
import { compassOf } from '@citybrain/engine';
import type { NetworkView } from '../types.js';

export type RGBA = [number, number, number, number];
export type Path = [number, number][];

export interface LaneShape {
  /** position in the live frames' lane arrays */
  index: number;
  id: string;
  path: Path;
  width: number;
  maxSpeed: number;
}

/** A lane's last metres, where its signal is drawn; `index` is the lane's. */
export interface StopBar {
  index: number;
  path: Path;
  width: number;
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** Per-lane signal state: 0 none (unsignalised), 1 green, 2 red, 3 yellow. */
export const SIGNAL_NONE = 0, SIGNAL_GREEN = 1, SIGNAL_RED = 2, SIGNAL_YELLOW = 3;

export function laneShapes(view: NetworkView): LaneShape[] {
  const byId = new Map<string, Omit<LaneShape, 'index'>>();
  for (const road of view.roads) {
    for (const l of road.lanes) byId.set(l.id, { id: l.id, path: l.points, width: l.width, maxSpeed: l.maxSpeed });
  }
  return view.laneOrder.map((id, index) => {
    const l = byId.get(id);
    if (!l) throw new Error(`network laneOrder names lane "${id}" that no road has`);
    return { ...l, index };
  });
}

/** The last `metres` of a polyline (or its last third when shorter). */
export function tail(path: Path, metres: number): Path {
  let total = 0;
  for (let i = 1; i < path.length; i++) total += Math.hypot(path[i][0] - path[i - 1][0], path[i][1] - path[i - 1][1]);
  let left = Math.min(metres, total / 3);
  const out: Path = [path[path.length - 1]];
  for (let i = path.length - 1; i > 0 && left > 0; i--) {
    const [x1, y1] = path[i], [x0, y0] = path[i - 1];
    const d = Math.hypot(x1 - x0, y1 - y0);
    if (d >= left) {
      const f = left / d;
      out.unshift([x1 + (x0 - x1) * f, y1 + (y0 - y1) * f]);
      break;
    }
    out.unshift([x0, y0]);
    left -= d;
  }
  return out;
}

/**
 * Signal colours per lane from the intersections' phases. The network gives
 * movements per road, not per lane, so a lane shows green when its road has a
 * green movement other than a right turn (right turns go in most phases).
 */
export class SignalMap {
  readonly stopBars: StopBar[] = [];
  /** per intersection (network order) and phase: the roads with green */
  private readonly greenRoads: Map<number, Set<string>>[];
  private readonly barInter: number[] = [];
  private readonly barRoad: string[] = [];

  constructor(private readonly view: NetworkView, lanes: LaneShape[]) {
    const interIndex = new Map(view.intersections.map((ix, i) => [ix.id, i]));
    this.greenRoads = view.intersections.map((ix) => {
      const m = new Map<number, Set<string>>();
      for (const p of ix.phases) m.set(p.index, new Set(p.movements.filter((mv) => mv.type !== 'turn_right').map((mv) => mv.from)));
      return m;
    });
    const laneRoad = new Map<string, NetworkView['roads'][number]>();
    for (const r of view.roads) for (const l of r.lanes) laneRoad.set(l.id, r);
    for (const lane of lanes) {
      const road = laneRoad.get(lane.id)!;
      const i = interIndex.get(road.to);
      if (i === undefined || !view.intersections[i].signalised) continue;
      this.stopBars.push({ index: lane.index, path: tail(lane.path, 6), width: lane.width });
      this.barInter.push(i);
      this.barRoad.push(road.id);
    }
  }

  /** Lane signal states (indexed like the lanes) for the intersections' current phases (-1: unsignalised). */
  states(phases: readonly number[], out = new Uint8Array(this.view.laneOrder.length)): Uint8Array {
    out.fill(SIGNAL_NONE);
    this.stopBars.forEach((bar, k) => {
      const i = this.barInter[k];
      const phase = phases[i];
      if (phase === undefined || phase < 0) return;
      const ix = this.view.intersections[i];
      if (phase === ix.yellow) out[bar.index] = SIGNAL_YELLOW;
      else out[bar.index] = this.greenRoads[i].get(phase)?.has(this.barRoad[k]) ? SIGNAL_GREEN : SIGNAL_RED;
    });
    return out;
  }
}

export const SIGNAL_COLOURS: Record<number, RGBA> = {
  [SIGNAL_NONE]: [0, 0, 0, 0],
  [SIGNAL_GREEN]: [34, 197, 94, 255],
  [SIGNAL_RED]: [239, 68, 68, 255],
  [SIGNAL_YELLOW]: [250, 204, 21, 255],
};

export const EMPTY_LANE: RGBA = [71, 85, 105, 200];

/** Incident markers and the lanes they block. */
export const INCIDENT_COLOUR: RGBA = [220, 38, 38, 255];

/** 0 (stopped) red → 0.5 amber → 1 (free flow) green. */
export function speedColour(ratio: number): RGBA {
  const r = Math.max(0, Math.min(1, ratio));
  const stops: [number, RGBA][] = [[0, [220, 38, 38, 255]], [0.5, [245, 158, 11, 255]], [1, [34, 197, 94, 255]]];
  for (let i = 1; i < stops.length; i++) {
    if (r <= stops[i][0]) {
      const [a0, c0] = stops[i - 1], [a1, c1] = stops[i];
      const f = (r - a0) / (a1 - a0);
      return [0, 1, 2, 3].map((k) => Math.round(c0[k] + (c1[k] - c0[k]) * f)) as RGBA;
    }
  }
  return stops[stops.length - 1][1];
}

/** Queue length in vehicles: 0 green → QUEUE_FULL and more red. */
export const QUEUE_FULL = 12;
export function queueColour(q: number): RGBA {
  return speedColour(1 - q / QUEUE_FULL);
}

/**
 * Which way an intersection gives green: its phase's movements (not those
 * green in every phase, nor right turns) all come from the north or south,
 * all from the east or west, from both or a diagonal ('mixed'), or none
 * ('none': an all-red or right-turn-only phase). A colour per axis reads at a
 * glance where a phase number would need a key per intersection.
 */
export type GreenAxis = 'ns' | 'ew' | 'mixed' | 'none';
export const GREEN_AXES: GreenAxis[] = ['ns', 'ew', 'mixed', 'none'];

/** Per intersection (network order), per phase index: the axis it gives green. */
export function greenAxes(view: NetworkView): Map<number, GreenAxis>[] {
  const at = new Map(view.intersections.map((i) => [i.id, i]));
  const roads = new Map(view.roads.map((r) => [r.id, r]));
  return view.intersections.map((ix) => {
    const always = new Set((ix.yellow !== null ? ix.phases.find((p) => p.index === ix.yellow)?.movements ?? [] : []).map((m) => `${m.from}>${m.to}`));
    const out = new Map<number, GreenAxis>();
    for (const p of ix.phases) {
      let ns = false, ew = false, other = false;
      for (const m of p.movements) {
        if (m.type === 'turn_right' || always.has(`${m.from}>${m.to}`)) continue;
        const r = roads.get(m.from);
        const a = r && at.get(r.from), b = r && at.get(r.to);
        if (!a || !b || (a.x === b.x && a.y === b.y)) continue;
        const c = compassOf(a.x - b.x, a.y - b.y);
        if (c === 'N' || c === 'S') ns = true;
        else if (c === 'E' || c === 'W') ew = true;
        else other = true;
      }
      out.set(p.index, other || (ns && ew) ? 'mixed' : ns ? 'ns' : ew ? 'ew' : 'none');
    }
    return out;
  });
}

// no yellows, oranges, reds or greens here: those mean signal states on this map; no cyan: the corridor's
export const AXIS_COLOURS: Record<GreenAxis, RGBA> = {
  ns: [96, 165, 250, 255],
  ew: [244, 114, 182, 255],
  mixed: [241, 245, 249, 255],
  none: [71, 85, 105, 255],
};
export const YELLOW_PHASE: RGBA = [250, 204, 21, 255];
/** an intersection whose phase is not known yet */
export const NO_PHASE: RGBA = [100, 116, 139, 160];

/** Phase colours where phases are told apart one by one (the intersection panel's timeline); yellow is its own colour. */
// no yellows, oranges, reds or greens here: those mean signal states
const PHASE_PALETTE: RGBA[] = [
  [148, 163, 184, 255], [167, 139, 250, 255], [45, 212, 191, 255], [244, 114, 182, 255],
  [96, 165, 250, 255], [232, 121, 249, 255], [129, 140, 248, 255], [103, 232, 249, 255],
];

export function phaseColour(phase: number, yellow: number | null): RGBA {
  if (phase < 0) return [100, 116, 139, 255];
  if (phase === yellow) return YELLOW_PHASE;
  return PHASE_PALETTE[phase % PHASE_PALETTE.length];
}

/** An intersection's colour on the map: the axis its current phase gives green, or yellow. */
export function intersectionColour(phase: number, yellow: number | null, axes: Map<number, GreenAxis> | undefined): RGBA {
  if (phase < 0) return NO_PHASE;
  if (phase === yellow) return YELLOW_PHASE;
  return AXIS_COLOURS[axes?.get(phase) ?? 'mixed'];
}

/** The ring round the intersections of a region in gridlock (the alarm's regions). */
export const GRIDLOCK_COLOUR: RGBA = [239, 68, 68, 255];

/** The green corridor: bright cyan over a white outline, so it stands out over lanes of any colour. */
export const CORRIDOR_COLOUR: RGBA = [34, 211, 238, 255];
export const CORRIDOR_OUTLINE: RGBA = [255, 255, 255, 230];

export function css(c: RGBA): string {
  return `rgba(${c[0]},${c[1]},${c[2]},${(c[3] / 255).toFixed(2)})`;
}

/** The virtual street's ground truth (the demo's overlay): rings of a colour no vehicle, signal or lane has. */
export const TRUTH_COLOUR: RGBA = [217, 70, 239, 255];

/** `n` vehicles all of `colour`, for the binary vehicle layer (reuses `out` when it is large enough). */
export function solidColours(n: number, colour: RGBA, out?: Uint8Array): Uint8Array {
  if (out && out.length >= 4 * n) return out;
  const c = new Uint8Array(4 * Math.max(n, 64));
  for (let v = 0; v < c.length; v += 4) c.set(colour, v);
  return c;
}

/** m/s a vehicle is drawn at full green (50 km/h) */
export const VEHICLE_FULL_SPEED = 13.9;

/** Vehicle colours by speed, for the binary vehicle layer (speed NaN = unknown). */
export function vehicleColours(data: Float32Array, offset: number, n: number, fullSpeed = VEHICLE_FULL_SPEED, out?: Uint8Array): Uint8Array {
  const c = out && out.length >= 4 * n ? out : new Uint8Array(4 * n);
  for (let v = 0; v < n; v++) {
    const s = data[offset + 4 * v + 3];
    const col: RGBA = Number.isNaN(s) ? [125, 211, 252, 255] : speedColour(s / fullSpeed);
    c[4 * v] = col[0];
    c[4 * v + 1] = col[1];
    c[4 * v + 2] = col[2];
    c[4 * v + 3] = 255;
  }
  return c;
}

/** Zoom of an OrthographicView (log2 pixels per metre) that fits `b` into width × height. */
export function fitZoom(b: Bounds, width: number, height: number, margin = 0.92): number {
  const w = Math.max(1, b.maxX - b.minX), h = Math.max(1, b.maxY - b.minY);
  return Math.log2(Math.min((width * margin) / w, (height * margin) / h));
}

export function boundsOf(paths: Iterable<Path>): Bounds {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const p of paths) {
    for (const [x, y] of p) {
      if (x < minX) minX = x;
      if (y < minY) minY = y;
      if (x > maxX) maxX = x;
      if (y > maxY) maxY = y;
    }
  }
  if (minX > maxX) return { minX: 0, minY: 0, maxX: 1, maxY: 1 };
  return { minX, minY, maxX, maxY };
}

/**
 * The distance between neighbouring intersections, in metres, for zoom
 * limits: the lower quartile of the roads' lengths (a few very short links,
 * as SUMO's split junctions have, do not set it), at least 10 m.
 */
export function networkSpacing(paths: Iterable<Path>): number {
  const lengths: number[] = [];
  for (const p of paths) {
    let len = 0;
    for (let i = 1; i < p.length; i++) len += Math.hypot(p[i][0] - p[i - 1][0], p[i][1] - p[i - 1][1]);
    if (len > 0) lengths.push(len);
  }
  if (lengths.length === 0) return 100;
  lengths.sort((a, b) => a - b);
  return Math.max(10, lengths[Math.floor(lengths.length / 4)]);
}

export interface ZoomLimits {
  fit: number;
  min: number;
  max: number;
}

/**
 * The zooms the map allows in a width x height box: out to one step below the
 * fit (the whole network with room around it), in until the box's shorter
 * side still spans 1.5 intersection spacings (an intersection never fills the
 * screen; its neighbours stay in view), and always at least 1.5 steps in.
 */
export function zoomLimits(b: Bounds, spacing: number, width: number, height: number): ZoomLimits {
  const fit = fitZoom(b, width, height);
  const max = Math.max(fit + 1.5, Math.log2(Math.max(1, Math.min(width, height)) / (1.5 * spacing)));
  return { fit, min: fit - 1, max };
}

/** Below this zoom (0.25 px per metre) vehicles are hidden: they would be sub-pixel noise. */
export const VEHICLE_MIN_ZOOM = -2;

/** A polyline widened into a polygon ring (half-width each side), for one non-instanced fill. */
export function ribbon(path: Path, half: number): Path {
  const left: Path = [], right: Path = [];
  for (let i = 0; i < path.length; i++) {
    const a = path[Math.max(0, i - 1)], b = path[Math.min(path.length - 1, i + 1)];
    const dx = b[0] - a[0], dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    const nx = (-dy / len) * half, ny = (dx / len) * half;
    left.push([path[i][0] + nx, path[i][1] + ny]);
    right.push([path[i][0] - nx, path[i][1] - ny]);
  }
  return left.concat(right.reverse());
}

/** Half the width, in metres, that shows `pixels` on screen at `zoom`. */
export function minHalfWidth(zoom: number, pixels = 1.2): number {
  return pixels / 2 / 2 ** zoom;
}
