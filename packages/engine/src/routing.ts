import type { Point, RoadnetJson } from './format/cityflow.js';
import { polylineLength } from './sim/geometry.js';

/**
 * Roads and the roadLinks between them as a graph: shortest routes (SUMO
 * from/to trips, emergency dispatch) and the road nearest a point.
 *
 * `metric` is what a road costs to enter: its length (default), or its
 * travel time at the speed limit (length / fastest lane's maxSpeed), which is
 * duarouter's default for trips.
 */
export class RoadGraph {
  readonly next = new Map<string, Set<string>>();
  /** the cost of entering each road (metres or seconds, by `metric`) */
  readonly length = new Map<string, number>();
  constructor(roadnet: RoadnetJson, opts?: { metric?: 'length' | 'time' }) {
    const byTime = opts?.metric === 'time';
    for (const road of roadnet.roads) {
      const len = polylineLength(road.points);
      this.length.set(road.id, byTime ? len / Math.max(...road.lanes.map((l) => l.maxSpeed)) : len);
      this.next.set(road.id, new Set());
    }
    for (const it of roadnet.intersections) {
      for (const rl of it.roadLinks) this.next.get(rl.startRoad)?.add(rl.endRoad);
    }
  }

  /** Dijkstra over roads; cost = the metric of the roads entered. */
  shortest(from: string, to: string): string[] | undefined {
    if (from === to) return [from];
    const dist = new Map<string, number>([[from, 0]]);
    const prev = new Map<string, string>();
    const heap: [number, string][] = [[0, from]];
    const push = (item: [number, string]) => {
      heap.push(item);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (heap[p][0] <= heap[i][0]) break;
        [heap[p], heap[i]] = [heap[i], heap[p]];
        i = p;
      }
    };
    const pop = (): [number, string] => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
          if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i], heap[m]];
          i = m;
        }
      }
      return top;
    };
    while (heap.length > 0) {
      const [d, u] = pop();
      if (d > (dist.get(u) ?? Infinity)) continue;
      if (u === to) break;
      for (const v of this.next.get(u) ?? []) {
        const nd = d + (this.length.get(v) ?? 0);
        if (nd < (dist.get(v) ?? Infinity)) {
          dist.set(v, nd);
          prev.set(v, u);
          push([nd, v]);
        }
      }
    }
    if (!prev.has(to)) return undefined;
    const path = [to];
    for (let v = to; v !== from; ) path.push((v = prev.get(v)!));
    return path.reverse();
  }

  /** The road whose lane centre lines pass nearest to `p`, with the distance in metres. */
  static nearestRoad(roadnet: RoadnetJson, p: Point): { road: string; distance: number } | undefined {
    let best: { road: string; distance: number } | undefined;
    for (const road of roadnet.roads) {
      const pts = road.points;
      for (let i = 0; i + 1 < pts.length; i++) {
        const d = segmentDistance(p, pts[i], pts[i + 1]);
        if (!best || d < best.distance) best = { road: road.id, distance: d };
      }
    }
    return best;
  }
}

function segmentDistance(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x, dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}
