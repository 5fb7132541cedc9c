import type { ControlEnv, IntersectionPhases, Observed, SignalStatus } from './controller.js';
import { fullThresholds, JAM_SPACING } from '../measures/spill-back.js';
import { linkExits } from '../measures/lane-exits.js';
import { positiveOption } from './guard-options.js';
import { intersectionSlots } from './slots.js';

/**
 * Gridlock and spill-back detection from what the devices report
 * (`env.observed`: each lane's standing queue, its stop-line count, when it
 * last reported), never from the twin's vehicles: a city sees only that.
 *
 * A lane stalls while it shows green, is full of vehicles standing (its
 * queue reaches back to its upstream end: it blocks the junction behind it;
 * full as measures/spill-back.ts says: 80% of its length over 7.5 m a vehicle)
 * and its detector counts none crossing its stop line. Its stall is the
 * green time so summed; any vehicle crossing, the queue shortening below
 * full, or the lane's reports going stale resets it. An intersection with a lane stalled for `stallSeconds` is
 * in gridlock. What holds the lane is named: its exit lanes full (spill-back
 * from downstream) or not. The gridlock is a deadlock when a ring of full,
 * standing lanes, each feeding the next, runs through one of those full exits:
 * then every vehicle in the ring waits for room ahead that only the ring could
 * make, and no phase choice anywhere clears it. Any other gridlock is one a
 * controller made (it held a green into full exits, or starved the lanes
 * downstream until they spilled back), and a phase choice can clear it.
 * A lane's exits shorter than a vehicle are looked through (fullBeyond), and
 * where the gridlock's intersection has one green (no choice to make) the
 * signals whose red holds its full exits are named, to be handed over too
 * (holdersOf).
 */

/**
 * Seconds between checks. Stalls grow by whole checks, so detection is
 * late by at most this; checking every step would only add cost (the counts
 * are read from every lane).
 */
export const CHECK_EVERY_SECONDS = 5;

/**
 * Seconds of green with a lane full and none crossing before its
 * intersection is declared in gridlock. A queue released by a green starts
 * within a few seconds (start-up lost time about 2 s, then a vehicle per 2 s
 * a lane), so that much green with nothing crossing is no slow start: the
 * lane is blocked. Over twice the longest such stall in normal operation (35 s,
 * fixed-time on Jinan JN1, where exits spill back late in the hour and clear;
 * under max-pressure none on the five public scenarios), and three 30 s
 * greens of the benchmark plans.
 */
export const STALL_SECONDS = 90;

/**
 * Seconds without a new report after which a lane's figures are stale: its
 * stall is forgotten (a silent detector is not evidence of a standstill).
 */
export const STALE_SECONDS = 60;

/** Lanes in a ring searched at most: a longer ring is reported as a gridlock, not a deadlock. */
const MAX_RING = 64;

/** Lanes followed at most past a stalled lane for the full ones holding it (the engine's keep-clear look-ahead: ROOM_LOOKAHEAD). */
const MAX_BEYOND = 12;

export interface GridlockOptions {
  /** see STALL_SECONDS */
  stallSeconds?: number;
  /** see CHECK_EVERY_SECONDS */
  checkEvery?: number;
}

/** One intersection found in gridlock. */
export interface Gridlock {
  /** position in env.intersections */
  slot: number;
  intersection: number;
  /** 'deadlock': no phase choice clears it (a ring of full lanes); 'gridlock': a controller made it, a phase choice clears it */
  kind: 'gridlock' | 'deadlock';
  /** the stalled lanes: full and standing on green with nothing crossing for at least the stall time */
  lanes: number[];
  /** vehicles standing on each of `lanes` */
  standing: number[];
  /** the longest stall, seconds of green */
  seconds: number;
  /** exits of the stalled lanes that are full: the spill-back holding them */
  fullExits: number[];
  /** for a deadlock, the ring of full lanes (lane numbers, each feeding the next, the last feeding the first) */
  ring: number[];
  /**
   * where this intersection has one green (no phase choice: a pedestrian crossing's signal), the intersections
   * whose phase choice holds the spill-back instead (see holdersOf): their slots in env.intersections, and their
   * full incoming lanes that hold it; handed over with this one. [] where this one has a choice.
   */
  holders: { slot: number; lanes: number[] }[];
  /** one line: what was seen, for the fault report */
  message: string;
}

export class GridlockDetector {
  private readonly env: ControlEnv;
  private readonly observed: Observed;
  private readonly stallSeconds: number;
  private readonly checkEvery: number;
  /** per lane: green seconds stalled, the count and report time at the last check, the simulated second its reports last changed */
  private readonly stall: Float64Array;
  private readonly lastCount: Float64Array;
  private readonly lastAt: Float64Array;
  private readonly freshAt: Float64Array;
  /** per lane: vehicles standing that make it full */
  private readonly fullAt: Float64Array;
  /** CSR: exit lanes of lane l are exits[exitStart[l]..exitStart[l + 1]) */
  private readonly exitStart: Int32Array;
  private readonly exits: Int32Array;
  /** per intersection slot and phase: the incoming lanes that phase gives green (ix.inLanes order) */
  private readonly greenLanes: Int32Array[][];
  /** scratch: 1 for the lanes green at their intersection at the check being made */
  private readonly isGreen: Uint8Array;
  /** per intersection (network index): its slot in env.intersections, -1 when not signalised */
  private readonly slotOf: Int32Array;
  /**
   * every guarded intersection's incoming lanes, each once (a lane leads into one intersection), ascending: the check
   * brings them up to date in one pass in memory order, then looks at the intersections only when a lane has stalled
   * long enough (the intersection by intersection pass over scattered lanes was most of the check's cost)
   */
  private readonly inLanes: Int32Array;
  private lastCheck: number;

  constructor(env: ControlEnv, opts: GridlockOptions = {}) {
    this.env = env;
    this.observed = env.observed;
    this.stallSeconds = positiveOption('gridlock detection', 'stallSeconds', opts.stallSeconds ?? STALL_SECONDS, SECONDS);
    this.checkEvery = positiveOption('gridlock detection', 'checkEvery', opts.checkEvery ?? CHECK_EVERY_SECONDS, SECONDS);
    const net = env.net;
    const n = net.nLanes;
    this.stall = new Float64Array(n);
    this.lastCount = new Float64Array(n);
    this.lastAt = new Float64Array(n);
    this.freshAt = new Float64Array(n).fill(env.twin.time);
    this.fullAt = fullThresholds(net);
    ({ start: this.exitStart, lanes: this.exits } = linkExits(net));
    this.greenLanes = env.intersections.map((ix) => ix.movements.map((ms) => {
      const on = new Set<number>();
      for (const m of ms) for (const l of m.inLanes) on.add(l);
      return Int32Array.from(ix.inLanes.filter((l) => on.has(l)));
    }));
    this.isGreen = new Uint8Array(n);
    this.slotOf = intersectionSlots(env);
    const all: number[] = [];
    for (const ix of env.intersections) for (const l of ix.inLanes) all.push(l);
    this.inLanes = Int32Array.from(new Set(all)).sort();
    this.lastCheck = env.twin.time;
    const { counted, reportedAt } = this.observed;
    for (let l = 0; l < n; l++) {
      this.lastCount[l] = counted[l];
      this.lastAt[l] = reportedAt[l];
    }
  }

  /**
   * Brings every lane's stall up to now (simulated second `now`) from the
   * signals shown (`status`, in env.intersections order) and the newest
   * reports, every checkEvery seconds; returns the intersections in
   * gridlock, skipping those `skip` says (their gridlock was reported
   * already). A lane reported is reset: it must stall a whole stallSeconds
   * again to be reported again. Allocates only when it finds one.
   */
  check(now: number, status: readonly Readonly<SignalStatus>[], skip: (intersection: number) => boolean): Gridlock[] {
    const dt = now - this.lastCheck;
    if (dt < this.checkEvery) return NONE;
    this.lastCheck = now;
    const { counted, reportedAt, queue } = this.observed;
    const ixs = this.env.intersections;
    const { isGreen, lastAt, freshAt, lastCount, fullAt, stall: stalls } = this;
    // each lane's stall depends only on its own figures and whether its own intersection shows it green, so every
    // intersection's greens are marked first and the lanes taken in one pass
    for (let k = 0; k < ixs.length; k++) {
      const s = status[k];
      const green = this.greenLanes[k][s.yellowLeft > 0 ? ixs[k].yellow : s.green] ?? EMPTY;
      for (let j = 0; j < green.length; j++) isGreen[green[j]] = 1;
    }
    const lanes = this.inLanes;
    let worst = 0;
    for (let j = 0; j < lanes.length; j++) {
      const l = lanes[j];
      if (reportedAt[l] !== lastAt[l]) {
        lastAt[l] = reportedAt[l];
        freshAt[l] = now;
      }
      const crossed = counted[l] > lastCount[l];
      lastCount[l] = counted[l];
      // every test made and the stall written for every lane, the results only chosen: a test first met in
      // optimised code (the first lane full, then the first stalling on green: HZ2 ~2,950 and 3,500 steps in,
      // JN1 ~550) threw it away for want of type feedback
      const short = queue[l] < fullAt[l];
      const stale = now - freshAt[l] > STALE_SECONDS;
      const green = isGreen[l] !== 0;
      const stall = stalls[l];
      const longer = stall + dt;
      const next = crossed || short || stale ? 0 : green ? longer : stall;
      stalls[l] = next;
      isGreen[l] = 0;
      if (next > worst) worst = next;
    }
    // no lane stalled for long enough anywhere (the common case): no intersection to look at
    if (worst < this.stallSeconds) return NONE;
    let found: Gridlock[] = NONE;
    for (let k = 0; k < ixs.length; k++) {
      const ix = ixs[k];
      let most = 0;
      for (const l of ix.inLanes) if (stalls[l] > most) most = stalls[l];
      if (most < this.stallSeconds || skip(ix.intersection)) continue;
      if (found === NONE) found = [];
      found.push(this.describe(k, ix));
    }
    return found;
  }

  /** The gridlock at slot k: its stalled lanes (reset), their full exits, a ring of full lanes if there is one. */
  private describe(k: number, ix: IntersectionPhases): Gridlock {
    const { queue } = this.observed;
    const net = this.env.net;
    const lanes = ix.inLanes.filter((l) => this.stall[l] >= this.stallSeconds);
    const seconds = Math.max(...lanes.map((l) => this.stall[l]));
    for (const l of lanes) this.stall[l] = 0;
    const fullExits = [...new Set(lanes.flatMap((l) => this.fullBeyond(l)))];
    let ring: number[] = [];
    for (const m of fullExits) {
      ring = this.ringThrough(m);
      if (ring.length > 0) break;
    }
    const kind = ring.length > 0 ? 'deadlock' : 'gridlock';
    // where the phase choice is here, it is handed over here (the controller made the gridlock); with one green there
    // is none, and max-pressure here changes nothing: the choice is the holders'
    const holders = ix.greens.length > 1 ? [] : this.holdersOf(k, fullExits);
    const name = (l: number) => net.laneId(l);
    const standing = lanes.map((l) => queue[l]);
    const what = lanes.map((l, j) => `${name(l)} (${standing[j]} standing)`).join(', ');
    const why = kind === 'deadlock'
      ? `a ring of full lanes ${[...ring, ring[0]].map(name).join(' -> ')}: each waits for the next, no phase choice clears it`
      : fullExits.length > 0
        ? `exits ${fullExits.map(name).join(', ')} full (spill-back from downstream): a phase choice here or there clears it`
        : 'no exit full (held at the junction itself): a phase choice clears it';
    const message = `${kind}: lanes ${what} full and standing on green for ${Math.round(seconds)} s with none crossing; ${why}`;
    return { slot: k, intersection: ix.intersection, kind, lanes, standing, seconds, fullExits, ring, holders, message };
  }

  /**
   * The intersections (slots) whose phase choice holds the full lanes `full` (the spill-back holding slot k): each
   * full lane's own intersection where it has a choice (more than one green), else (a signal with one green, always
   * green but for its yellow: a pedestrian crossing; or a junction without signal) the full lanes beyond it in turn,
   * MAX_RING lanes at most. On the Osnabrück extract 10 of the 13 signals have one green: a gridlock found at one
   * and handed to max-pressure there changed nothing.
   */
  private holdersOf(k: number, full: number[]): { slot: number; lanes: number[] }[] {
    const net = this.env.net;
    const out = new Map<number, number[]>();
    const seen = new Set<number>(full);
    const todo = [...full];
    while (todo.length > 0 && seen.size <= MAX_RING) {
      const m = todo.pop()!;
      const j = this.slotOf[net.roadEndInter[net.laneRoad[m]]];
      if (j === k) continue;
      if (j >= 0 && this.env.intersections[j].greens.length > 1) {
        const lanes = out.get(j);
        if (lanes) lanes.push(m);
        else out.set(j, [m]);
        continue;
      }
      for (const b of this.fullBeyond(m)) if (!seen.has(b)) seen.add(b), todo.push(b);
    }
    return [...out].map(([slot, lanes]) => ({ slot, lanes }));
  }

  /**
   * The full lanes that hold lane l: its exits that are full, and past an exit shorter than a vehicle (JAM_SPACING:
   * none can stand on it, so a junction kept clear counts its room with the lanes after it, as the engine's
   * keep-clear rule does) those lanes' in turn, up to MAX_BEYOND lanes on. OpenStreetMap imports chain such lanes
   * between junctions netconvert did not join: on the Osnabrück extract a 152 m lane stood full on a crossing's
   * only green, its exit a 0.2 m lane into a priority junction, 8 m before a signal whose red held it.
   */
  private fullBeyond(l: number): number[] {
    const net = this.env.net;
    const out: number[] = [];
    const seen = new Set<number>([l]);
    let frontier = this.exitsOf(l);
    for (let d = 0; d < MAX_BEYOND && frontier.length > 0; d++) {
      const next: number[] = [];
      for (const m of frontier) {
        if (seen.has(m)) continue;
        seen.add(m);
        if (this.full(m)) out.push(m);
        else if (net.length[m] < JAM_SPACING) next.push(...this.exitsOf(m));
      }
      frontier = next;
    }
    return out;
  }

  private exitsOf(l: number): number[] {
    return Array.from(this.exits.subarray(this.exitStart[l], this.exitStart[l + 1]));
  }

  private full(l: number): boolean {
    return this.observed.queue[l] >= this.fullAt[l];
  }

  /**
   * A ring of full lanes through lane `start`, each an exit of the one
   * before and the last feeding `start`: a depth-first search over full
   * exits, at most MAX_RING deep; [] when there is none.
   */
  private ringThrough(start: number): number[] {
    const path = [start];
    const onPath = new Set(path);
    const dead = new Set<number>();
    const iters = [this.exitsOf(start)];
    while (path.length > 0) {
      const next = iters[iters.length - 1].pop();
      if (next === undefined) {
        const l = path.pop()!;
        onPath.delete(l);
        dead.add(l);
        iters.pop();
        continue;
      }
      if (next === start) return path;
      if (onPath.has(next) || dead.has(next) || !this.full(next) || path.length >= MAX_RING) continue;
      path.push(next);
      onPath.add(next);
      iters.push(this.exitsOf(next));
    }
    return [];
  }
}

const NONE: Gridlock[] = [];
const EMPTY = new Int32Array(0);

/** what the detection's timing options must be */
const SECONDS = 'a positive number of seconds';
