import type { Network } from '@citybrain/engine';

/** A region of the city: signalised intersections (network indices) that lie together. */
export interface Region {
  id: string;
  intersections: number[];
}

const COMPASS = ['south-west', 'south-east', 'north-west', 'north-east'];

/**
 * The city's regions: its signalised intersections cut into `count` compact
 * pieces of near-equal size by alternate median cuts across the longer side
 * (a k-d split), so a region keeps its neighbours together (coordinated
 * controllers and a cluster's partitions stay whole). Four regions, the
 * default, are the quadrants named by compass; any other count names them
 * `r0`, `r1`, ... in the order of the cuts. Fewer signalised intersections
 * than regions: one region per intersection. One region: `city`.
 */
export function cityRegions(net: Network, count = 4): Region[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`regions: count must be a whole number >= 1, got ${count}`);
  const sig = [...net.signalised];
  if (count === 1 || sig.length < 2) return [{ id: 'city', intersections: sig }];
  if (count === 4 && sig.length >= 4) return quadrants(net, sig);
  const groups: number[][] = [];
  const cut = (items: number[], n: number): void => {
    if (n <= 1 || items.length <= 1) {
      groups.push(items);
      return;
    }
    const xs = items.map((i) => net.interX[i]), ys = items.map((i) => net.interY[i]);
    const wide = Math.max(...xs) - Math.min(...xs) >= Math.max(...ys) - Math.min(...ys);
    const key = wide ? net.interX : net.interY;
    const sorted = items.slice().sort((a, b) => key[a] - key[b] || a - b);
    const left = Math.floor(n / 2);
    const at = Math.round((sorted.length * left) / n);
    cut(sorted.slice(0, at), left);
    cut(sorted.slice(at), n - left);
  };
  cut(sig, Math.min(count, sig.length));
  return groups.filter((g) => g.length > 0).map((g, k) => ({ id: `r${k}`, intersections: g.sort((a, b) => a - b) }));
}

/** The four quadrants around the median point, named by compass (the dashboard's default regions). */
function quadrants(net: Network, sig: number[]): Region[] {
  const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mx = med(sig.map((i) => net.interX[i]));
  const my = med(sig.map((i) => net.interY[i]));
  const groups: number[][] = [[], [], [], []];
  for (const i of sig) groups[(net.interX[i] >= mx ? 1 : 0) + (net.interY[i] >= my ? 2 : 0)].push(i);
  return groups.map((g, k) => ({ id: COMPASS[k], intersections: g })).filter((r) => r.intersections.length > 0);
}

/**
 * The region of every intersection (network index → region id): a signalised
 * one its own region's; any other (an unsignalised junction, a boundary node)
 * the region of the nearest signalised intersection, so every event that names
 * an intersection has a partition.
 */
export function regionOfIntersections(net: Network, regions: readonly Region[]): string[] {
  const out: string[] = new Array(net.interX.length);
  const owned: { i: number; id: string }[] = [];
  for (const r of regions) for (const i of r.intersections) {
    out[i] = r.id;
    owned.push({ i, id: r.id });
  }
  for (let j = 0; j < out.length; j++) {
    if (out[j] !== undefined) continue;
    let best = regions[0]?.id ?? 'city', bestD = Infinity;
    for (const o of owned) {
      const d = (net.interX[o.i] - net.interX[j]) ** 2 + (net.interY[o.i] - net.interY[j]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = o.id;
      }
    }
    out[j] = best;
  }
  return out;
}
