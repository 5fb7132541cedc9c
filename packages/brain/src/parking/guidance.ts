import { polylineLength, RoadGraph, type RoadnetJson } from '@citybrain/engine';

export interface XY {
  x: number;
  y: number;
}

/**
 * Drive times over the road network from one point to many: Dijkstra over
 * roads, each road costing its length over a speed (free-flow: its fastest
 * lane's limit; or the speed the caller says vehicles make on it now). A
 * point is taken to the road nearest it; reaching a road's middle counts.
 */
export class DriveTimes {
  private readonly graph: RoadGraph;
  private readonly lengths = new Map<string, number>();
  private readonly freeSpeed = new Map<string, number>();
  private readonly nearest = new Map<string, string | undefined>();

  constructor(private readonly roadnet: RoadnetJson) {
    this.graph = new RoadGraph(roadnet);
    for (const r of roadnet.roads) {
      this.lengths.set(r.id, polylineLength(r.points));
      this.freeSpeed.set(r.id, Math.max(1, ...r.lanes.map((l) => l.maxSpeed)));
    }
  }

  /** The road nearest a point (cached by the point, for sites asked about again and again). */
  roadAt(p: XY): string | undefined {
    const key = `${p.x},${p.y}`;
    if (!this.nearest.has(key)) this.nearest.set(key, RoadGraph.nearestRoad(this.roadnet, p)?.road);
    return this.nearest.get(key);
  }

  /**
   * Seconds from `from` to each target (undefined: no route), `speed(road)`
   * the speed on a road now in m/s (undefined: free-flow).
   */
  fromPoint(from: XY, targets: readonly XY[], speed?: (road: string) => number | undefined): (number | undefined)[] {
    const origin = this.roadAt(from);
    if (origin === undefined) return targets.map(() => undefined);
    const cost = (road: string) => {
      const v = speed?.(road);
      return this.lengths.get(road)! / (v !== undefined && v > 0.5 ? Math.min(v, this.freeSpeed.get(road)!) : this.freeSpeed.get(road)!);
    };
    // seconds to reach each road's middle: half the origin road, then whole roads, then half the last
    const dist = new Map<string, number>([[origin, 0]]);
    const heap: [number, string][] = [[0, origin]];
    while (heap.length > 0) {
      let m = 0;
      for (let i = 1; i < heap.length; i++) if (heap[i][0] < heap[m][0]) m = i;
      const [d, u] = heap[m];
      heap[m] = heap[heap.length - 1];
      heap.pop();
      if (d > (dist.get(u) ?? Infinity)) continue;
      for (const v of this.graph.next.get(u) ?? []) {
        const nd = d + (cost(u) + cost(v)) / 2;
        if (nd < (dist.get(v) ?? Infinity)) {
          dist.set(v, nd);
          heap.push([nd, v]);
        }
      }
    }
    return targets.map((t) => {
      const road = this.roadAt(t);
      return road === undefined ? undefined : dist.get(road);
    });
  }
}

/** A site as guidance weighs it. */
export interface GuidanceSite extends XY {
  id: string;
  /** bays free now (sensored, unoccupied, not held by a reservation) */
  free: number;
  open: boolean;
}

export interface GuidanceAnswer {
  site: string;
  free: number;
  /** straight-line metres */
  distance: number;
  /** seconds by road; null when no route */
  driveSeconds: number | null;
}

/**
 * The open sites with a free bay, nearest by drive time first (those without
 * a route last, by distance), at most `limit`.
 */
export function rankSites(sites: readonly GuidanceSite[], driveSeconds: readonly (number | undefined)[], from: XY, limit: number): GuidanceAnswer[] {
  const out: GuidanceAnswer[] = [];
  sites.forEach((s, k) => {
    if (!s.open || s.free <= 0) return;
    const d = driveSeconds[k];
    out.push({ site: s.id, free: s.free, distance: Math.hypot(s.x - from.x, s.y - from.y), driveSeconds: d === undefined ? null : Math.round(d) });
  });
  out.sort((a, b) => (a.driveSeconds ?? Infinity) - (b.driveSeconds ?? Infinity) || a.distance - b.distance || (a.site < b.site ? -1 : 1));
  return out.slice(0, limit);
}
