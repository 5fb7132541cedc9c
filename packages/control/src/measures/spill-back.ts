import type { Network } from '@citybrain/engine';
import type { IntersectionPhases } from '../core/controller.js';

/**
 * Spill-back: which greens would only send vehicles into full exits.
 *
 * A vehicle given green into a full exit lane drives into the junction and
 * stops there, across the paths of the next phase's movements: the queue
 * that spilled back from downstream now blocks this junction too, and the
 * one behind it (the way a grid gridlocks). A phase every one of whose
 * waiting movements leads into a full exit discharges nothing and does that
 * harm, so the plan-based and actuated controllers end or skip it
 * (max-pressure and pressure-plus weigh exit queues in their pressure
 * already). The supervisor's gridlock detection (core/gridlock.ts) judges
 * fullness the same way.
 */

/**
 * Metres of lane per standing vehicle: CityFlow's default vehicle (5 m)
 * plus its minimum gap (2.5 m), SUMO's passenger car likewise. A lane's
 * capacity is its length over this.
 */
export const JAM_SPACING = 7.5;

/**
 * Share of a lane's capacity standing that makes it full: vehicles in a
 * queue do not stand bumper to bumper to the metre (longer vehicles, larger
 * gaps), so 80% rather than all.
 */
export const FULL_SHARE = 0.8;

/**
 * Vehicles standing that make a lane full at the least (or its capacity, if
 * less): on a short lane one left-turner waiting for a gap is a turn that
 * waits, not a spill-back.
 */
export const MIN_FULL = 3;

/** Per lane: the standing vehicles that make it full. */
export function fullThresholds(net: Network): Float64Array {
  const out = new Float64Array(net.nLanes);
  for (let l = 0; l < net.nLanes; l++) {
    const capacity = Math.max(1, Math.floor(net.length[l] / JAM_SPACING));
    out[l] = Math.max(Math.ceil(FULL_SHARE * capacity), Math.min(MIN_FULL, capacity));
  }
  return out;
}

/**
 * Per intersection and green slot (index into ix.greens), the movements the
 * slot serves (those not green in every green), each with its incoming and
 * exit lanes, flattened.
 */
export class SpillBack {
  readonly fullAt: Float64Array;
  /** movements of intersection k, slot g: mov[k][g] lists, per movement, [inCount, outCount, ...inLanes, ...outLanes] */
  private readonly mov: Int32Array[][];

  constructor(net: Network, ixs: readonly IntersectionPhases[]) {
    this.fullAt = fullThresholds(net);
    this.mov = ixs.map((ix) => {
      const inAll = new Map<number, number>();
      for (const p of ix.greens) for (const m of ix.movements[p]) inAll.set(m.roadLink, (inAll.get(m.roadLink) ?? 0) + 1);
      return ix.greens.map((p) => {
        const flat: number[] = [];
        for (const m of ix.movements[p]) {
          if (inAll.get(m.roadLink)! >= ix.greens.length || m.inLanes.length === 0 || m.outLanes.length === 0) continue;
          flat.push(m.inLanes.length, m.outLanes.length, ...m.inLanes, ...m.outLanes);
        }
        return Int32Array.from(flat);
      });
    });
  }

  /**
   * Whether green slot g at intersection slot k would only feed full exits:
   * it has a movement with vehicles standing on an incoming lane, and each
   * such movement has an exit lane full (`queue`: vehicles standing per
   * lane). Any full exit lane counts: the vehicles bound for it stop in the
   * junction and block the rest. A slot with nothing waiting is not blocked.
   */
  blocked(k: number, g: number, queue: ArrayLike<number>): boolean {
    const f = this.mov[k][g];
    let waiting = false;
    for (let i = 0; i < f.length; ) {
      const nIn = f[i], nOut = f[i + 1];
      const ins = i + 2, outs = ins + nIn;
      i = outs + nOut;
      let queued = false;
      for (let j = ins; j < outs; j++) if (queue[f[j]] > 0) queued = true;
      if (!queued) continue;
      waiting = true;
      let full = false;
      for (let j = outs; j < outs + nOut; j++) if (queue[f[j]] >= this.fullAt[f[j]]) full = true;
      if (!full) return false;
    }
    return waiting;
  }
}
