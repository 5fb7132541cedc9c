import { RoadGraph, type Network, type RoadnetJson } from '@citybrain/engine';

/** A map point farther than this from every road is not snapped to one: it is in another unit or another city. */
export const MAX_SNAP_METRES = 1000;

export interface Point {
  x: number;
  y: number;
}

/** What a dispatch asks for: given roads, or two map points (metres) to route between. */
export interface RouteRequest {
  route?: string[];
  from?: Point;
  to?: Point;
}

/**
 * An emergency vehicle's route through the city: the given road ids once
 * each is known, or the shortest route between the roads nearest two map
 * points (each within MAX_SNAP_METRES). Plans or says why not, naming the
 * field: the API answers that as a 400.
 */
export class EmergencyRoutePlanner {
  private readonly graph: RoadGraph;

  constructor(private readonly roadnet: RoadnetJson, private readonly net: Network) {
    this.graph = new RoadGraph(roadnet);
  }

  plan(r: RouteRequest): { route: string[] } | { error: string } {
    if (r.route) {
      const unknown = r.route.find((road) => !this.net.roadIndex.has(road));
      return unknown !== undefined ? { error: `route: unknown road "${unknown}"` } : { route: r.route };
    }
    if (!r.from || !r.to) return { error: 'give either route (road ids) or both from and to ({x, y} in metres)' };
    const o = RoadGraph.nearestRoad(this.roadnet, r.from);
    const d = RoadGraph.nearestRoad(this.roadnet, r.to);
    if (!o || !d) return { error: 'the network has no roads' };
    for (const [field, p, near] of [['from', r.from, o], ['to', r.to, d]] as const) {
      if (near.distance > MAX_SNAP_METRES) {
        return { error: `${field}: (${p.x}, ${p.y}) is ${Math.round(near.distance)} m from the nearest road; give a point on the map, in metres` };
      }
    }
    const route = this.graph.shortest(o.road, d.road);
    return route ? { route } : { error: `no route from road "${o.road}" to road "${d.road}"` };
  }
}
