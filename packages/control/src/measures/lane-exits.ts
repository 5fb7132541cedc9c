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
