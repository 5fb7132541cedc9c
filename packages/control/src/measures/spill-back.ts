import type { Network } from '@citybrain/engine';
import type { IntersectionPhases } from '../core/controller.js';
import { movementExits, type LaneExits } from './lane-exits.js';

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

/**
 * Share of a lane's capacity standing at which its queue is about to spill
 * back: queue-spillback protection serves it then (a queue detector well
 * upstream of the stop line calls its phase, as adaptive systems have it),
 * and it clears before it reaches the junction upstream. Left until full,
 * the vehicles that keep joining it (right turns, green always) stop inside
 * that junction, and the movements crossing or merging with them stop behind
 * them. On the 4 x 4 grid that locked (test/spill-ring.test.ts) 0.5 and 0.7
 * work as well as 0.6.
 */
export const SPILL_WARN_SHARE = 0.6;

/** Per lane: the standing vehicles that make it full. */
export function fullThresholds(net: Network): Float64Array {
  return shareThresholds(net, FULL_SHARE);
}

/** The vehicles lane `l` holds standing, JAM_SPACING apart: one at least. */
export function laneCapacity(net: Network, l: number): number {
  return Math.max(1, Math.floor(net.length[l] / JAM_SPACING));
}

/** Per lane: the standing vehicles that are `share` of its capacity (laneCapacity), MIN_FULL at least (or its capacity, if less). */
export function shareThresholds(net: Network, share: number): Float64Array {
  const out = new Float64Array(net.nLanes);
  for (let l = 0; l < net.nLanes; l++) {
    const capacity = laneCapacity(net, l);
    out[l] = Math.max(Math.ceil(share * capacity), Math.min(MIN_FULL, capacity));
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
  /** per lane: the standing vehicles at which it is about to spill back (SPILL_WARN_SHARE of its capacity, MIN_FULL at least) */
  readonly warnAt: Float64Array;
  /** per lane: 1 when a junction feeds it (laneLinks end in it), 0 for an entry lane (its vehicles come from outside) */
  readonly fed: Uint8Array;
  /** movements of intersection k, slot g: mov[k][g] lists, per movement, [inCount, outCount, ...inLanes, ...outLanes] */
  private readonly mov: Int32Array[][];
  /** per lane: the exit lanes of its movements in the intersections given (schedule reads them too) */
  readonly exits: LaneExits;
  // scratch of heldBack's search: a lane's mark (the search's stamp once visited), the lanes left to visit
  private readonly mark: Int32Array;
  private readonly stack: Int32Array;
  private stamp = 0;

  /**
   * `warnShare`: the share of a lane's capacity standing at which it is about to spill back (SPILL_WARN_SHARE by
   * default). `strictExits`: in `spilling` and `discharges`, a movement one of whose incoming lanes is held by a full
   * exit lane (`exitsHeld`) cannot go, where by default one exit lane with room lets it go.
   */
  constructor(net: Network, ixs: readonly IntersectionPhases[], warnShare = SPILL_WARN_SHARE, readonly strictExits = false) {
    this.fullAt = fullThresholds(net);
    this.warnAt = shareThresholds(net, warnShare);
    this.fed = new Uint8Array(net.nLanes);
    for (let l = 0; l < net.nLanes; l++) this.fed[l] = net.laneInStart[l + 1] > net.laneInStart[l] ? 1 : 0;
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
    this.exits = movementExits(net, ixs);
    this.mark = new Int32Array(net.nLanes);
    this.stack = new Int32Array(net.nLanes);
  }

  /**
   * Whether lane l's vehicles are held by a full exit lane (`queue`: vehicles standing per lane): an exit lane of
   * its movements stands full (fullAt), and does not wait on l itself (heldBack). Which exit lane each vehicle takes
   * is not seen: those bound for the full one, given green, stop in the junction across the next greens' paths. On a
   * 3 x 3 grid with two through lanes at 0.15 veh/s a route, schedule's spill-back call gave the busy south entry's
   * through green while one of its four exit lanes stood at 31 of 32, and the junction locked
   * (test/spill-ring.test.ts). But a full exit lane held, through full lanes each an exit of the one before, by l
   * again (a ring of full left-turn lanes round a block, each waiting for the next: 6 x 6 at 0.1, schedule without
   * the weighed spill calls, locked at 3,260 s) waits for l as l waits for it: it does not hold l, or nothing in the
   * ring would ever go.
   */
  exitsHeld(l: number, queue: ArrayLike<number>): boolean {
    const { start, lanes } = this.exits;
    for (let i = start[l]; i < start[l + 1]; i++) {
      const o = lanes[i];
      if (queue[o] >= this.fullAt[o] && !this.heldBack(o, l, queue)) return true;
    }
    return false;
  }

  /** Whether the full lane o waits on lane l: l is an exit lane of o, or of a full exit lane of o, and so on. */
  private heldBack(o: number, l: number, queue: ArrayLike<number>): boolean {
    const { mark, stack, fullAt } = this;
    const { start: exitStart, lanes: exitLanes } = this.exits;
    const stamp = ++this.stamp;
    let top = 0;
    stack[top++] = o;
    mark[o] = stamp;
    while (top > 0) {
      const x = stack[--top];
      for (let i = exitStart[x]; i < exitStart[x + 1]; i++) {
        const y = exitLanes[i];
        if (y === l) return true;
        if (mark[y] === stamp || queue[y] < fullAt[y]) continue;
        mark[y] = stamp;
        stack[top++] = y;
      }
    }
    return false;
  }

  /** Whether the movement record f[ins, outs) -> f[outs, end) can go: an exit lane with room, and with strictExits none of its incoming lanes held (exitsHeld). */
  private movable(f: Int32Array, ins: number, outs: number, end: number, queue: ArrayLike<number>): boolean {
    if (!anyRoom(f, outs, end, queue, this.fullAt)) return false;
    if (this.strictExits) for (let j = ins; j < outs; j++) if (this.exitsHeld(f[j], queue)) return false;
    return true;
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
      if (!anyStanding(f, ins, outs, queue)) continue;
      waiting = true;
      if (!anyFull(f, outs, outs + nOut, queue, this.fullAt)) return false;
    }
    return waiting;
  }

  /**
   * Vehicles standing on the lanes of green slot g that are about to spill
   * back (warnAt) and could leave (an exit lane of their movement not full:
   * which exit lane each vehicle takes is not seen, and one full lane of
   * three does not hold those bound for the others; with strictExits, no
   * incoming lane held by a full exit lane, exitsHeld): 0 when none. A controller that orders greens by what they discharge per second
   * (a schedule's shortest-job-first, a pressure sum over several lanes)
   * postpones a one-lane movement (a left turn) behind busier phases for
   * ever, while arrivals it does not control (right turns, green always)
   * fill that lane until it blocks the junction upstream. `fedOnly`: count only
   * lanes a junction feeds (SpillBack.fed), whose spill-back would block it.
   */
  spilling(k: number, g: number, queue: ArrayLike<number>, fedOnly = false): number {
    const f = this.mov[k][g];
    let n = 0;
    for (let i = 0; i < f.length; ) {
      const nIn = f[i], nOut = f[i + 1];
      const ins = i + 2, outs = ins + nIn;
      i = outs + nOut;
      if (!this.movable(f, ins, outs, outs + nOut, queue)) continue;
      for (let j = ins; j < outs; j++) if (queue[f[j]] >= this.warnAt[f[j]] && (!fedOnly || this.fed[f[j]])) n += queue[f[j]];
    }
    return n;
  }

  /** Whether green slot g has a movement with vehicles standing on an incoming lane and an exit lane not full (with strictExits, none held: exitsHeld): its green discharges. */
  discharges(k: number, g: number, queue: ArrayLike<number>): boolean {
    const f = this.mov[k][g];
    for (let i = 0; i < f.length; ) {
      const nIn = f[i], nOut = f[i + 1];
      const ins = i + 2, outs = ins + nIn;
      i = outs + nOut;
      if (anyStanding(f, ins, outs, queue) && this.movable(f, ins, outs, outs + nOut, queue)) return true;
    }
    return false;
  }

  /** Max-pressure's weight of green slot g: over its movements, the vehicles standing on the incoming lanes less the mean standing on the exit lanes. */
  pressure(k: number, g: number, queue: ArrayLike<number>): number {
    const f = this.mov[k][g];
    let w = 0;
    for (let i = 0; i < f.length; ) {
      const nIn = f[i], nOut = f[i + 1];
      const ins = i + 2, outs = ins + nIn;
      i = outs + nOut;
      let standing = 0, beyond = 0;
      for (let j = ins; j < outs; j++) standing += queue[f[j]];
      for (let j = outs; j < outs + nOut; j++) beyond += queue[f[j]];
      w += standing - beyond / nOut;
    }
    return w;
  }
}

// over the lanes f[a], ..., f[b - 1] of a movement record (SpillBack's mov): vehicles standing per lane in `queue`
function anyStanding(f: Int32Array, a: number, b: number, queue: ArrayLike<number>): boolean {
  for (let j = a; j < b; j++) if (queue[f[j]] > 0) return true;
  return false;
}

function anyFull(f: Int32Array, a: number, b: number, queue: ArrayLike<number>, fullAt: Float64Array): boolean {
  for (let j = a; j < b; j++) if (queue[f[j]] >= fullAt[f[j]]) return true;
  return false;
}

function anyRoom(f: Int32Array, a: number, b: number, queue: ArrayLike<number>, fullAt: Float64Array): boolean {
  for (let j = a; j < b; j++) if (queue[f[j]] < fullAt[f[j]]) return true;
  return false;
}
