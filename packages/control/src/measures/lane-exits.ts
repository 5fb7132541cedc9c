import type { Network } from '@citybrain/engine';
import type { IntersectionPhases } from '../core/controller.js';

/**
 * Which lanes a lane's vehicles go on to, as compressed rows: lane l's exit
 * lanes are lanes[start[l]], ..., lanes[start[l + 1] - 1], each once, in the
 * order first met. Built once at construction by the gridlock detection, the
 * ring guard, spill-back protection and schedule, which follow lane to exit
 * lane at every check.
 */
export interface LaneExits {
  readonly start: Int32Array;
  readonly lanes: Int32Array;
}

/** Every lane's exit lanes by the roadnet's laneLinks: all the lanes a junction lets it reach. */
export function linkExits(net: Network): LaneExits {
  const n = net.nLanes;
  return rows(n, (l, add) => {
    for (let k = net.laneOutStart[l]; k < net.laneOutStart[l + 1]; k++) add(net.linkEndLane[net.laneOutList[k] - n]);
  });
}

/**
 * Each incoming lane's exit lanes by the movements the intersections' green
 * phases serve (a lane the phases never serve, or of another intersection:
 * none).
 */
export function movementExits(net: Network, ixs: readonly IntersectionPhases[]): LaneExits {
  const outs = new Map<number, Set<number>>();
  for (const ix of ixs) {
    for (const p of ix.greens) {
      for (const m of ix.movements[p]) {
        for (const l of m.inLanes) {
          let set = outs.get(l);
          if (!set) outs.set(l, (set = new Set()));
          for (const o of m.outLanes) set.add(o);
        }
      }
    }
  }
  return rows(net.nLanes, (l, add) => {
    for (const o of outs.get(l) ?? []) add(o);
  });
}

/** Compressed rows over lanes 0..n-1 from each lane's `each`, duplicates within a row dropped. */
function rows(n: number, each: (l: number, add: (o: number) => void) => void): LaneExits {
  const start = new Int32Array(n + 1);
  const list: number[] = [];
  for (let l = 0; l < n; l++) {
    const seen = new Set<number>();
    each(l, (o) => seen.add(o));
    for (const o of seen) list.push(o);
    start[l + 1] = list.length;
  }
  return { start, lanes: Int32Array.from(list) };
}

/**
 * Rings of lanes: the strongly connected sets of two lanes or more (lane to
 * exit lane) among the lanes a check names. Only on such a ring can queues
 * close a deadlock, each lane waiting on the next. Iterative Tarjan over
 * scratch allocated once, so the ring guard can look every few seconds
 * without allocating.
 */
export class LaneRings {
  private readonly index: Int32Array;
  private readonly low: Int32Array;
  private readonly onStack: Uint8Array;
  private readonly stack: Int32Array;
  private readonly frameLane: Int32Array;
  private readonly frameEdge: Int32Array;

  constructor(private readonly exits: LaneExits) {
    const n = exits.start.length - 1;
    this.index = new Int32Array(n);
    this.low = new Int32Array(n);
    this.onStack = new Uint8Array(n);
    this.stack = new Int32Array(n);
    this.frameLane = new Int32Array(n);
    this.frameEdge = new Int32Array(n);
  }

  /**
   * Writes the lanes on rings among those with member[l] = 1 into `out`, a
   * ring's lanes together, and returns how many; an exit lane that is not a
   * member breaks the ring there. `members`, when known, is how many lanes
   * are members: under two, none is on a ring.
   */
  find(member: Uint8Array, out: Int32Array, members = 2): number {
    if (members < 2) return 0;
    const { start, lanes } = this.exits;
    const { index, low, onStack, stack, frameLane, frameEdge } = this;
    const n = start.length - 1;
    index.fill(-1);
    let next = 0, sp = 0, found = 0;
    for (let s = 0; s < n; s++) {
      if (!member[s] || index[s] >= 0) continue;
      // one place pushes a lane, the root and each member reached from it, and every exit lane's values are read
      // whether it is a member or not: the ring guard asks every few seconds, and a path first met in optimised code (the
      // first two members in a chain, an hour into HZ2) threw it away for want of type feedback
      let depth = -1;
      let push = s;
      for (;;) {
        if (push >= 0) {
          index[push] = low[push] = next++;
          stack[sp++] = push;
          onStack[push] = 1;
          depth++;
          frameLane[depth] = push;
          frameEdge[depth] = start[push];
          push = -1;
        }
        const v = frameLane[depth];
        const e = frameEdge[depth];
        if (e < start[v + 1]) {
          frameEdge[depth] = e + 1;
          const w = lanes[e];
          const iw = index[w];
          const unvisited = iw < 0, lower = iw < low[v], onTheStack = onStack[w] !== 0;
          if (!member[w]) continue;
          if (unvisited) push = w;
          else if (onTheStack && lower) low[v] = iw;
          continue;
        }
        if (low[v] === index[v]) {
          // v roots a strongly connected set: the stack down to v
          let k = sp;
          do k--; while (stack[k] !== v);
          const ring = sp - k >= 2;
          for (let j = k; j < sp; j++) {
            onStack[stack[j]] = 0;
            if (ring) out[found++] = stack[j];
          }
          sp = k;
        }
        depth--;
        // the parent's values read for a root too (its own: the same reason)
        const u = frameLane[depth < 0 ? 0 : depth];
        const lowV = low[v], lowerThanParent = lowV < low[u];
        if (depth < 0) break;
        if (lowerThanParent) low[u] = lowV;
      }
    }
    return found;
  }
}

/** Per lane, 1 when it lies on a ring of lanes by `exits` (LaneRings over every lane). */
export function lanesOnRings(exits: LaneExits): Uint8Array {
  const n = exits.start.length - 1;
  const found = new Int32Array(n);
  const k = new LaneRings(exits).find(new Uint8Array(n).fill(1), found);
  const out = new Uint8Array(n);
  for (let j = 0; j < k; j++) out[found[j]] = 1;
  return out;
}

/**
 * Per lane: how many lanes its movement has, the lanes of its road whose laneLinks lead to the same roads (a lane
 * without laneLinks: its road's other such lanes). A movement's lanes fill and discharge together, so a measure
 * summed over lanes counts a three-lane through movement three times against a one-lane turn (schedule's cluster
 * weights, the perimeter gate's regional load divide by it).
 */
export function movementWidths(net: Network): Float64Array {
  const groups = new Map<string, number[]>();
  for (let l = 0; l < net.nLanes; l++) {
    const to = new Set<number>();
    for (let k = net.laneOutStart[l]; k < net.laneOutStart[l + 1]; k++) to.add(net.laneRoad[net.linkEndLane[net.laneOutList[k] - net.nLanes]]);
    const key = `${net.laneRoad[l]}:${[...to].sort((a, b) => a - b).join(',')}`;
    const g = groups.get(key);
    if (g) g.push(l);
    else groups.set(key, [l]);
  }
  const width = new Float64Array(net.nLanes);
  for (const lanes of groups.values()) for (const l of lanes) width[l] = lanes.length;
  return width;
}
