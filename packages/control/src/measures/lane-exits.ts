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
 * Per lane, 1 when it lies on a ring of lanes (a strongly connected set of two
 * lanes or more by `exits`): only there can queues close a deadlock, each lane
 * waiting on the next. Iterative Tarjan, once at construction.
 */
export function lanesOnRings(n: number, exits: LaneExits): Uint8Array {
  const { start, lanes } = exits;
  const out = new Uint8Array(n);
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  const frameLane = new Int32Array(n);
  const frameEdge = new Int32Array(n);
  let next = 0, sp = 0;
  for (let s = 0; s < n; s++) {
    if (index[s] >= 0) continue;
    let depth = 0;
    frameLane[0] = s;
    frameEdge[0] = start[s];
    index[s] = low[s] = next++;
    stack[sp++] = s;
    onStack[s] = 1;
    while (depth >= 0) {
      const v = frameLane[depth];
      const e = frameEdge[depth];
      if (e < start[v + 1]) {
        frameEdge[depth] = e + 1;
        const w = lanes[e];
        if (index[w] < 0) {
          index[w] = low[w] = next++;
          stack[sp++] = w;
          onStack[w] = 1;
          depth++;
          frameLane[depth] = w;
          frameEdge[depth] = start[w];
        } else if (onStack[w] && index[w] < low[v]) low[v] = index[w];
        continue;
      }
      if (low[v] === index[v]) {
        let k = sp;
        do k--; while (stack[k] !== v);
        for (let j = k; j < sp; j++) {
          onStack[stack[j]] = 0;
          if (sp - k >= 2) out[stack[j]] = 1;
        }
        sp = k;
      }
      depth--;
      if (depth >= 0) {
        const u = frameLane[depth];
        if (low[v] < low[u]) low[u] = low[v];
      }
    }
  }
  return out;
}
