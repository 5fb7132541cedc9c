// What the Cluster panel and the map show of a cluster (GET /api/v1/cluster): pure, so it is tested without a browser.
import type { ClusterView, ClusterWorkerView } from './types.js';

export type RGBA = [number, number, number, number];

/** One colour per worker, in the order the server lists them (by id), so a worker keeps its colour while it is listed. */
export const WORKER_COLOURS: readonly RGBA[] = [
  [59, 130, 246, 255], [245, 158, 11, 255], [16, 185, 129, 255], [168, 85, 247, 255],
  [236, 72, 153, 255], [20, 184, 166, 255], [234, 179, 8, 255], [99, 102, 241, 255],
];
/** a region no live worker holds: being taken over */
export const TAKING_OVER_COLOUR: RGBA = [239, 68, 68, 255];

export interface ClusterRegionRow {
  id: string;
  intersections: string[];
  /** the live worker that holds it; null while it is being taken over */
  owner: string | null;
  /** the worker it is being taken from, when one is named (its key not yet expired, or the last one seen holding it) */
  from: string | null;
}

export interface ClusterBoard {
  workers: (ClusterWorkerView & { colour: RGBA })[];
  regions: ClusterRegionRow[];
  /** intersection id -> its owner's colour, or the taking-over colour */
  colours: Map<string, RGBA>;
}

/**
 * A cluster as the panel shows it: a region is owned when its owner is a
 * live worker; a region with no owner, or whose owner stopped reporting (its
 * key outlives it until the TTL), is being taken over until a live worker
 * holds it, naming the worker it is taken from where known.
 */
export function clusterBoard(view: ClusterView): ClusterBoard {
  const workers = view.workers.map((w, k) => ({ ...w, colour: WORKER_COLOURS[k % WORKER_COLOURS.length] }));
  const byId = new Map(workers.map((w) => [w.id, w]));
  const regions = view.regions.map((r): ClusterRegionRow => {
    const w = r.owner === null ? undefined : byId.get(r.owner);
    if (w?.alive) return { id: r.id, intersections: r.intersections, owner: w.id, from: null };
    // the dead worker that last reported holding it, when the bucket names none
    const from = r.owner ?? workers.find((x) => !x.alive && x.regions.includes(r.id))?.id ?? null;
    return { id: r.id, intersections: r.intersections, owner: null, from };
  });
  const colours = new Map<string, RGBA>();
  for (const r of regions) {
    const c = r.owner === null ? TAKING_OVER_COLOUR : byId.get(r.owner)!.colour;
    for (const i of r.intersections) colours.set(i, c);
  }
  return { workers, regions, colours };
}

/** `rgb(...)` of a colour, for the page. */
export const cssColour = (c: RGBA): string => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
