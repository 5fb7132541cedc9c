import type { ControlEnv, Observed } from './controller.js';
import { fullThresholds, JAM_SPACING } from '../measures/spill-back.js';
import { LaneRings, linkExits, type LaneExits } from '../measures/lane-exits.js';
import { nonNegativeOption, positiveOption } from './guard-options.js';
import { intersectionSlots } from './slots.js';

/** the guard's name in its option errors */
const GUARD = 'loop guard';

/**
 * The loop guard: spill-back from a signal's red into a loop of streets that no signal controls, seen in what the
 * devices report (`env.observed`: each lane's standing queue), and the signals round that loop handed to the safe
 * controller (max-pressure, the gridlock relief) before it locks.
 *
 * A loop no signal controls is a ring of lanes, each leading on to the next through junctions without a phase
 * choice (no signal, or a signal with one green: a pedestrian crossing), back to the first: the strongly connected
 * sets of two lanes or more in the lane graph left when the laneLinks through signals with a choice are taken out.
 * Nothing meters what enters such a loop, and it drains only through its exits. Where an exit is an approach to a
 * signal with a choice, that signal's red holds the loop: its queue reaches back through the junctions without
 * choice onto the loop's lanes, and the vehicles going round the loop stand behind those waiting for the red. A full
 * lane blocks the junction behind it, and in a loop the spill-back travels round to itself: once every lane of it
 * stands full it is a deadlock no phase choice clears (core/gridlock.ts). The signals that can act are those round
 * the loop (its boundary): the ones whose greens feed it through junctions without a choice, the ones whose reds
 * hold its exits so (its holders), and the ones whose reds hold the holders' own exits so (a holder discharges the
 * loop only as fast as its exits take). A plan there (greens on a timetable: fixed time, webster, the fallback, a
 * guard's plan in step) does not respond to the queue; max-pressure weighs each movement's queue against its
 * exit's, so it serves the exits while they are queued and gives no green into full lanes.
 *
 * So, every LOOP_CHECK_SECONDS: a lane of such a loop (one a vehicle can stand on) spills when it stands full
 * (measures/spill-back.ts) and its queue is held at a signal with a choice that runs a plan now: its exits, looked
 * through while full or shorter than a vehicle (as gridlock.ts's fullBeyond), reach a full lane into that signal.
 * The first spill (LOOP_PERSIST_SECONDS) hands the loop's boundary to the relief, as a gridlock hands its
 * intersection (until an operator reinstates it: SignalSupervisor.reinstate); nothing has locked, so the fault is
 * advisory ('loop'). A controller that holds an intersection on purpose (an emergency vehicle's corridor,
 * Controller.holdsAt) keeps it. Networks without such a loop (CityFlow's grids and the five public scenarios, every
 * intersection a signal with a choice; the Hangzhou SUMO files) are left untouched, as are adaptive controllers.
 *
 * Why (issue #16): the Osnabrück extract imported at 4,000 trips/h (randomTrips seeds 42 and 7) locked under fixed
 * time alone (1,154.4 / 1,085.5 s ATT, 13 faults, 840 / 811 teleported). Its 13 signals leave a loop of 37 lanes
 * with no choice on it (221065661#6 -> 221065662#0 through two pedestrian crossings, a 0.2 m lane into a priority
 * junction, 7763600 round to -7763531#5 and back, and the 171895303 streets), whose exit -104708393 (7.6 m, one car)
 * is an approach to the one three-phase signal (cluster_433935137_56328208). The plan's equal split gives that
 * approach a third of the cycle; from 270 s 221065662#0_0 (152 m) stood full behind it, from about 465 s every lane
 * of the ring 7763600 -> 221065662 stood, the first gridlock was reported at 545 s and the relief came too late. The
 * boundary is the cluster (its red holds the exit; its greens feed 104708393 into the loop), 56360724 (its greens
 * feed the loop through 570518215) and 56369074 (its red holds the cluster's exit -40149625#0). Handed to
 * max-pressure at second T, those three carry the hour on both seeds at T = 270-360 s, as every intersection does,
 * and lock at T = 400 s, when the perimeter gate already holds 56360724 and 56369074 on its plan; the cluster and
 * 56360724 alone locked at T = 280 s (seed 42). Hence no persistence: the first spill stood 15 s from 270 s (seed
 * 42) and broke up at 315 s to come back at 420 s (seed 7); handed over after 15 or 30 s of spill seed 7 still
 * locked, after 60 s both.
 * A hold of 300 s renewed while a lane spilled (as the ring guard's) gave the plan back and locked again at 1,400 s
 * (seed 42) or 3,120 s (seed 7). Over seeds 1-9 and 42 (guard off -> on) fixed time locked 10 -> 1 runs at
 * 3,500/h and 10 -> 4 at 4,000/h, none newly. Not carried: fixed time at 4,000/h seeds 1, 2, 3, 9 and at 4,500/h;
 * webster (a plan too) at 4,500/h seeds 2 and 6 carried the hour without the guard and locks with it (76.3 -> 266.1,
 * 82.8 -> 590.6 s: its plan spilled into the loop late, at 1,090 and 1,225 s, and max-pressure took a loaded state
 * over), while seed 5 is carried now (83.2 -> 68.4). Measured figures: docs/benchmarks.md, "Heavier demand".
 */

/** Seconds between checks, as the gridlock check's. */
export const LOOP_CHECK_SECONDS = 5;

/** Seconds a lane of a loop must have spilled without a break before its boundary is handed over. */
export const LOOP_PERSIST_SECONDS = 0;

/** Lanes followed at most from a spilled lane to the full approach of the signal holding it. */
const MAX_HELD = 64;

export interface LoopOptions {
  /** see LOOP_PERSIST_SECONDS */
  persistSeconds?: number;
  /** see LOOP_CHECK_SECONDS */
  checkEvery?: number;
}

/** One hand-over to the relief: when, which intersections, the loop's lanes. */
export interface LoopHold {
  time: number;
  /** intersections (network indices) newly handed over */
  intersections: number[];
  /** the lanes of the loops whose boundary was handed over */
  lanes: number[];
  /** what was found and done, for the operators (the supervisor's 'loop' fault) */
  message: string;
}

/** One loop no signal controls. */
export interface Loop {
  /** its lanes, ascending */
  lanes: number[];
  /**
   * slots (env.intersections) of the signals with a choice whose greens feed it or whose reds hold its exits, and of
   * those whose reds hold the holders' own exits
   */
  boundary: number[];
}

export class LoopGuard {
  /** every hand-over so far, in time order */
  readonly handOvers: LoopHold[] = [];
  /** the loops found at construction (none on a network whose every junction is a signal with a choice) */
  readonly loops: readonly Readonly<Loop>[];
  private readonly env: ControlEnv;
  private readonly observed: Observed;
  private readonly checkEvery: number;
  private readonly persist: number;
  private readonly fullAt: Float64Array;
  private readonly exits: LaneExits;
  /** per lane: 1 where its road ends at a signal with a choice */
  private readonly intoChoice: Uint8Array;
  /** per intersection (network index): its slot in env.intersections, -1 when not signalised */
  private readonly slotOf: Int32Array;
  /** the loops' lanes a vehicle can stand on, and each one's loop */
  private readonly watched: Int32Array;
  private readonly loopOf: Int32Array;
  /** per watched lane (same order): the simulated second since which it has spilled; -1 when it does not */
  private readonly since: Float64Array;
  /** per intersection slot: 1 while handed to the relief */
  private readonly held: Uint8Array;
  /** per loop: 1 once its boundary was handed over (its lanes are not read again) */
  private readonly done: Uint8Array;
  private lastCheck: number;

  constructor(env: ControlEnv, opts: LoopOptions = {}) {
    this.env = env;
    this.observed = env.observed;
    this.persist = nonNegativeOption(GUARD, 'persistSeconds', opts.persistSeconds ?? LOOP_PERSIST_SECONDS);
    this.checkEvery = positiveOption(GUARD, 'checkEvery', opts.checkEvery ?? LOOP_CHECK_SECONDS, SECONDS);
    const net = env.net;
    const n = net.nLanes;
    this.fullAt = fullThresholds(net);
    this.exits = linkExits(net);
    const slotOf = (this.slotOf = intersectionSlots(env));
    const choice = (i: number) => i >= 0 && slotOf[i] >= 0 && env.intersections[slotOf[i]].greens.length > 1;
    this.intoChoice = new Uint8Array(n);
    for (let l = 0; l < n; l++) if (choice(net.roadEndInter[net.laneRoad[l]])) this.intoChoice[l] = 1;
    this.loops = findLoops(net, this.exits, this.intoChoice, slotOf);
    const watched: number[] = [], loopOf: number[] = [];
    this.loops.forEach((loop, k) => {
      if (loop.boundary.length === 0) return;
      for (const l of loop.lanes) {
        if (net.length[l] < JAM_SPACING) continue;
        watched.push(l);
        loopOf.push(k);
      }
    });
    this.watched = Int32Array.from(watched);
    this.loopOf = Int32Array.from(loopOf);
    this.since = new Float64Array(watched.length).fill(-1);
    this.held = new Uint8Array(env.intersections.length);
    this.done = new Uint8Array(this.loops.length);
    this.lastCheck = env.twin.time;
  }

  /** Whether the intersection at slot k (env.intersections) is with the relief. */
  holds(k: number): boolean {
    return this.held[k] !== 0;
  }

  /** Gives the intersection at slot k back to its controller (the supervisor's reinstate); its loop is watched again. */
  release(k: number): void {
    if (!this.held[k]) return;
    this.held[k] = 0;
    this.loops.forEach((loop, j) => {
      if (loop.boundary.includes(k)) this.done[j] = 0;
    });
  }

  /**
   * Brings the spills up to simulated second `now`, every checkEvery seconds; returns the hand-over made now, if
   * any. A lane counts only where the signal holding it runs a plan now (`onPlan`, by slot: greens on a timetable,
   * which no queue changes). On a network without a loop no signal controls it reads nothing.
   */
  check(now: number, onPlan: (slot: number) => boolean): LoopHold | undefined {
    if (this.watched.length === 0 || now - this.lastCheck < this.checkEvery) return undefined;
    this.lastCheck = now;
    const queue = this.observed.queue;
    const { watched, loopOf, since, fullAt, done } = this;
    let firing: Set<number> | undefined, first = -1, heldBy = -1, stood = 0;
    for (let j = 0; j < watched.length; j++) {
      const l = watched[j];
      const by = done[loopOf[j]] === 0 && queue[l] >= fullAt[l] ? this.heldAt(l, queue) : -1;
      const h = by >= 0 && onPlan(this.slotOf[this.env.net.roadEndInter[this.env.net.laneRoad[by]]]) ? by : -1;
      if (h < 0) {
        since[j] = -1;
        continue;
      }
      if (since[j] < 0) since[j] = now;
      if (now - since[j] >= this.persist) {
        (firing ??= new Set()).add(loopOf[j]);
        if (first < 0) (first = l), (heldBy = h), (stood = now - since[j]);
      }
    }
    if (!firing) return undefined;
    const fresh: number[] = [], lanes: number[] = [], boundary = new Set<number>();
    for (const k of firing) {
      done[k] = 1;
      lanes.push(...this.loops[k].lanes);
      for (const s of this.loops[k].boundary) {
        boundary.add(s);
        if (!this.held[s]) fresh.push(s);
        this.held[s] = 1;
      }
    }
    if (fresh.length === 0) return undefined;
    const net = this.env.net;
    const ixs = this.env.intersections;
    const message =
      `loop: lane ${net.laneId(first)} stood full${stood > 0 ? ` for ${Math.round(stood)} s` : ''}, its queue held at ` +
      `${ixs[this.slotOf[net.roadEndInter[net.laneRoad[heldBy]]]].id} (${net.laneId(heldBy)} full), in a loop of ` +
      `${lanes.length} lanes no signal controls (each leads round to the next through junctions without a phase ` +
      `choice: a deadlock once its lanes all stand); the signals feeding it, holding its exits or holding theirs ` +
      `(${[...boundary].map((s) => ixs[s].id).join(', ')}) handed to max-pressure`;
    const hold = { time: now, intersections: fresh.map((s) => ixs[s].intersection).sort((a, b) => a - b), lanes, message };
    this.handOvers.push(hold);
    return hold;
  }

  /**
   * The full lane into a signal with a choice that holds lane l's queue: l's exits followed while full or shorter
   * than a vehicle (none can stand on it: a junction kept clear counts its room with the lanes after it), up to
   * MAX_HELD lanes; -1 when none (the queue is held by room ahead somewhere, or by nothing).
   */
  private heldAt(l: number, queue: ArrayLike<number>): number {
    const { start, lanes } = this.exits;
    const net = this.env.net;
    const seen = new Set<number>([l]);
    const todo = [l];
    while (todo.length > 0 && seen.size <= MAX_HELD) {
      const a = todo.pop()!;
      for (let e = start[a]; e < start[a + 1]; e++) {
        const m = lanes[e];
        if (seen.has(m)) continue;
        seen.add(m);
        const full = queue[m] >= this.fullAt[m];
        if (full && this.intoChoice[m]) return m;
        if (full || net.length[m] < JAM_SPACING) todo.push(m);
      }
    }
    return -1;
  }
}

/**
 * The loops no signal controls (see LoopGuard): the strongly connected sets of two lanes or more among the laneLinks
 * not through a signal with a choice (`intoChoice`: per lane, 1 where it leads into one), each with its boundary, as
 * slots (`slots`: per intersection, its position in env.intersections): the signals with a choice reached from the
 * loop through junctions without one (its holders: their reds hold its exits), those reached so from the holders'
 * outgoing lanes (their reds hold the holders' exits), and those from which the loop is reached so (their greens
 * feed it).
 */
export function findLoops(net: ControlEnv['net'], exits: LaneExits, intoChoice: Uint8Array, slots: Int32Array): Loop[] {
  const n = exits.start.length - 1;
  const slotOf = (l: number) => slots[net.roadEndInter[net.laneRoad[l]]];
  const ixOf = (k: number) => slots.indexOf(k);
  // the holders of lanes `from` on: through junctions without a choice to the lanes into a signal with one
  const holdersFrom = (from: number[], add: (slot: number) => void) => {
    const seen = new Set<number>(from);
    const todo = [...from];
    while (todo.length > 0) {
      const l = todo.pop()!;
      if (intoChoice[l]) {
        add(slotOf(l));
        continue;
      }
      for (let e = exits.start[l]; e < exits.start[l + 1]; e++) {
        const m = exits.lanes[e];
        if (!seen.has(m)) seen.add(m), todo.push(m);
      }
    }
  };
  // every lane leaving each intersection
  const leaving = new Map<number, number[]>();
  for (let l = 0; l < n; l++) {
    const i = net.roadStartInter[net.laneRoad[l]];
    const list = leaving.get(i);
    if (list) list.push(l);
    else leaving.set(i, [l]);
  }
  // the laneLinks through junctions without a choice, and every laneLink reversed
  const freeStart = new Int32Array(n + 1), free: number[] = [];
  const predCount = new Int32Array(n + 1);
  for (let l = 0; l < n; l++) {
    for (let e = exits.start[l]; e < exits.start[l + 1]; e++) {
      if (!intoChoice[l]) free.push(exits.lanes[e]);
      predCount[exits.lanes[e] + 1]++;
    }
    freeStart[l + 1] = free.length;
  }
  for (let l = 0; l < n; l++) predCount[l + 1] += predCount[l];
  const preds = new Int32Array(predCount[n]);
  const fill = predCount.slice(0, n);
  for (let l = 0; l < n; l++) for (let e = exits.start[l]; e < exits.start[l + 1]; e++) preds[fill[exits.lanes[e]]++] = l;
  const freeExits: LaneExits = { start: freeStart, lanes: Int32Array.from(free) };
  const found = new Int32Array(n);
  const k = new LaneRings(freeExits).find(new Uint8Array(n).fill(1), found, n);
  const onLoop = new Int32Array(n).fill(-1);
  for (let j = 0; j < k; j++) onLoop[found[j]] = 0;
  // each loop: the lanes on rings reached from one of them and reaching it, by the free laneLinks
  const walk = (from: number, next: (l: number, visit: (m: number) => void) => void, keep: (m: number) => boolean) => {
    const seen = new Set<number>([from]);
    const todo = [from];
    while (todo.length > 0) next(todo.pop()!, (m) => {
      if (!seen.has(m) && keep(m)) seen.add(m), todo.push(m);
    });
    return seen;
  };
  const forward = (l: number, visit: (m: number) => void) => {
    for (let e = freeStart[l]; e < freeStart[l + 1]; e++) visit(free[e]);
  };
  const backward = (l: number, visit: (m: number) => void) => {
    for (let e = predCount[l]; e < predCount[l + 1]; e++) if (!intoChoice[preds[e]]) visit(preds[e]);
  };
  const loops: Loop[] = [];
  for (let j = 0; j < k; j++) {
    const s = found[j];
    if (onLoop[s] > 0) continue;
    const ahead = walk(s, forward, (m) => onLoop[m] === 0);
    const behind = walk(s, backward, (m) => onLoop[m] === 0);
    const lanes = [...ahead].filter((m) => behind.has(m)).sort((a, b) => a - b);
    if (lanes.length < 2) continue;
    for (const m of lanes) onLoop[m] = loops.length + 1;
    const boundary = new Set<number>();
    // holders: from the loop's exits on, through junctions without a choice, to the lanes into a signal with one; and
    // the holders of what those signals send on (a holder discharges the loop only as fast as its own exits take)
    const holders = new Set<number>();
    holdersFrom(lanes, (h) => holders.add(h));
    for (const h of holders) {
      boundary.add(h);
      holdersFrom(leaving.get(ixOf(h)) ?? [], (b) => boundary.add(b));
    }
    // feeders: back from the loop's lanes, through junctions without a choice, to the lanes into a signal with one
    const back = new Set<number>(lanes);
    const todo = [...lanes];
    while (todo.length > 0) {
      const l = todo.pop()!;
      for (let e = predCount[l]; e < predCount[l + 1]; e++) {
        const p = preds[e];
        if (back.has(p)) continue;
        back.add(p);
        if (intoChoice[p]) boundary.add(slotOf(p));
        else todo.push(p);
      }
    }
    loops.push({ lanes, boundary: [...boundary].sort((a, b) => a - b) });
  }
  return loops;
}

/** what the guard's timing options must be */
const SECONDS = 'a positive number of seconds';
