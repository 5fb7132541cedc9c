import type { ControlEnv, IntersectionPhases, Observed, SignalStatus } from './controller.js';
import { alwaysGreen } from '../measures/pressure.js';
import { fullThresholds } from '../measures/spill-back.js';

/**
 * The starvation guard: a green that holds standing vehicles and lets none
 * of them through, while vehicles stand on red lanes that have room ahead,
 * is ended in favour of those. From what the devices report only
 * (`env.observed`: each lane's standing queue and its stop-line count),
 * never from the twin's vehicles.
 *
 * Why: some controllers hold a green that cannot discharge. Max-pressure
 * weighs a movement's queue against its exit's in vehicles, not in room, so a
 * long queue into a short exit that is full (one or two vehicles, as OSM
 * imports have by the dozen) outweighs every other phase, and the green is
 * held while nothing moves; sotl and pressure-plus count the same stopped
 * vehicles. The red approaches behind it spill back into the junctions
 * upstream and the network locks (the Osnabrück import, bench import, locked
 * under all three at 1,800-3,000 trips/h). The supervisor's gridlock check
 * waits for whole lanes to stand for 90 s and then hands the intersection to
 * max-pressure, which is what locked it.
 *
 * What is cut, and what is not, is a matter of who can move:
 * - the green must hold vehicles standing on the lanes it serves and none of
 *   them may have crossed its stop line for `patience` seconds: it is blocked
 *   (an empty green the controller keeps, for a platoon on its way, is its
 *   choice and is left alone);
 * - the exits of its movements with vehicles standing must have counted no
 *   crossing of their own for `patience` either: a green held by an exit that
 *   drains is waiting for room that is coming, not starving anyone. Cutting
 *   it gives its room, when it comes, to no one, and a plan-based controller
 *   comes back to it only a cycle later: on the 120 m blocks of the stress
 *   scenarios, where exits fill and drain in turn, cuts without this rule
 *   turned webster's flowing grid (308 s) into a gridlocked one (357 s);
 * - some other green must have vehicles standing on a movement none of whose
 *   exit lanes is full (measures/spill-back.ts's fullness): there is someone
 *   a cut lets through. A lane the current green serves into a full exit does
 *   not count there: its first vehicle is held by that exit and no phase
 *   moves it. Without such a green the guard does nothing: cutting a green
 *   into a full exit for another into a full exit only adds a yellow;
 * - plans (fixed-time, and webster, re-timed from counts: their greens end
 *   on a timetable, so none is held for long) and
 *   intersections held for an emergency vehicle are exempt
 *   (Controller.fixedPlan, Controller.holdsAt). Guarded, webster gridlocked
 *   the Osnabrück import at 3,000 trips/h, seed 7 (417 s against 65.2 s):
 *   a plan comes back to a cut green only a cycle later.
 * The guard answers only where the controller keeps its green; where the
 * controller changes phase, it is obeyed. It cuts on evidence only: every
 * lane the green serves must have reported after the patience ran out with
 * no crossing counted; a detector late or silent tells nothing of who crossed.
 *
 * The patience is no tuned figure: it is the start-up time of a released
 * queue (a vehicle crosses within about 3 s of its green) plus the two
 * yellows a cut costs (away and back again). Waiting on a blocked green for as
 * long as switching would cost, then switching, is the rent-or-buy rule: it
 * never loses more than twice what knowing the future would (the ski-rental
 * bound), whatever the scenario.
 */

/** Seconds a released queue needs before its first vehicle crosses the stop line. */
export const STARTUP_SECONDS = 3;

/**
 * A starved intersection is reported again at most this often: the first cut
 * is reported, later ones after this many seconds, with the number of greens
 * cut since (a fault per cut would bury the operators' list).
 */
export const REPORT_EVERY_SECONDS = 300;

export interface StarvationOptions {
  /** seconds a green may hold standing vehicles with none crossing before it is cut; default STARTUP_SECONDS + 2 x yellow */
  patience?: number;
}

/** One green the guard ends. */
export interface StarvationCut {
  /** the green to change to */
  to: number;
  /** seconds the green held standing vehicles with none crossing */
  seconds: number;
  /** the green's standing vehicles, and the lanes that hold them */
  standing: number;
  lanes: number[];
  /** of those lanes, the ones whose exit is full (spill-back holds them) */
  fullExits: number[];
  /** vehicles standing on the lanes `to` serves with room ahead, and those lanes */
  waiting: number;
  waitingLanes: number[];
}

interface Movement {
  roadLink: number;
  inLanes: Int32Array;
  outLanes: Int32Array;
}

export class StarvationGuard {
  readonly patience: number;
  private readonly observed: Observed;
  private readonly fullAt: Float64Array;
  /** per slot and phase: the movements a green serves beyond the always-green ones */
  private readonly moves: Movement[][][];
  /** per slot and phase: the distinct incoming lanes of `moves` */
  private readonly served: Int32Array[][];
  /** per lane: the stop-line count at the last look, the simulated second it last grew, the simulated second its reports last changed */
  private readonly lastCount: Float64Array;
  private readonly crossedAt: Float64Array;
  private readonly lastAt: Float64Array;
  private readonly freshAt: Float64Array;
  /** the incoming lanes of every guarded intersection, each once */
  private readonly watched: Int32Array;
  /** scratch, per lane: 1 for lanes not to count as waiting for another green */
  private readonly held: Uint8Array;
  private lastLook = -Infinity;

  constructor(private readonly env: ControlEnv, opts: StarvationOptions = {}) {
    this.patience = opts.patience ?? STARTUP_SECONDS + 2 * env.yellowTime;
    if (!(Number.isFinite(this.patience) && this.patience > 0)) {
      throw new RangeError(`starvation guard: patience must be a positive number of seconds, got ${String(opts.patience)}`);
    }
    this.observed = env.observed;
    const n = env.net.nLanes;
    this.fullAt = fullThresholds(env.net);
    this.moves = env.intersections.map((ix) => {
      const always = alwaysGreen(ix);
      return ix.movements.map((ms) => ms
        .filter((m) => !always.has(m.roadLink) && m.inLanes.length > 0)
        .map((m) => ({ roadLink: m.roadLink, inLanes: Int32Array.from(m.inLanes), outLanes: Int32Array.from(m.outLanes) })));
    });
    this.served = this.moves.map((phases) => phases.map((ms) => Int32Array.from(new Set(ms.flatMap((m) => [...m.inLanes])))));
    this.lastCount = new Float64Array(n);
    this.crossedAt = new Float64Array(n).fill(env.twin.time);
    this.lastAt = new Float64Array(n);
    this.freshAt = new Float64Array(n).fill(-Infinity);
    this.held = new Uint8Array(n);
    // the exits too: whether they discharge says whether a green held by them waits for room that is coming
    this.watched = Int32Array.from(new Set(this.moves.flat(2).flatMap((m) => [...m.inLanes, ...m.outLanes])));
    const { counted, reportedAt } = this.observed;
    for (const l of this.watched) {
      this.lastCount[l] = counted[l];
      this.lastAt[l] = reportedAt[l];
    }
  }

  /**
   * Brings each watched lane's last crossing and last report up to simulated
   * second `now` from the newest reports; once per simulated second at most
   * (a crossing is known to the second). Allocates nothing.
   */
  observe(now: number): void {
    if (now - this.lastLook < 1) return;
    this.lastLook = now;
    const { counted, reportedAt } = this.observed;
    const w = this.watched;
    // every lane's times are written, the tests only choose the value: a store first met in optimised code
    // (the hour's first crossing, some 50 s in) threw observe away (issue #18)
    const { lastAt, freshAt, lastCount, crossedAt } = this;
    for (let j = 0; j < w.length; j++) {
      const l = w[j];
      const at = reportedAt[l];
      freshAt[l] = at !== lastAt[l] ? now : freshAt[l];
      lastAt[l] = at;
      const c = counted[l];
      crossedAt[l] = c > lastCount[l] ? now : crossedAt[l];
      lastCount[l] = c;
    }
  }

  /**
   * Whether the green shown at slot k (status `s`, a green showing) is to be
   * ended at simulated second `now`, and for which green: null when it lets
   * vehicles through, holds none, has been silent (a stale report is no
   * evidence of a standstill), or no other green has anyone who could go.
   * Allocates only when it cuts.
   */
  cut(k: number, s: Readonly<SignalStatus>, now: number): StarvationCut | null {
    const served = this.served[k][s.green];
    if (!served || served.length === 0) return null;
    const { queue } = this.observed;
    let since = s.greenSince;
    let standing = 0;
    for (let j = 0; j < served.length; j++) {
      const l = served[j];
      if (this.crossedAt[l] > since) since = this.crossedAt[l];
      standing += queue[l];
    }
    if (standing <= 0 || now - since < this.patience) return null;
    // evidence, not silence: every lane has reported after the patience ran out without a crossing (a report late or lost
    // says nothing of who crossed; its queue may be as old)
    for (let j = 0; j < served.length; j++) if (this.freshAt[served[j]] < since + this.patience) return null;
    // held by exits that discharge: room is coming, the green is waiting for it, not starving anyone
    if (this.exitsMoving(k, s.green, now)) return null;
    // lanes the green serves into a full exit: their first vehicle waits for that exit, whichever phase shows
    const own = this.moves[k][s.green];
    const fullExits: number[] = [];
    for (const m of own) {
      if (!this.anyFull(m.outLanes)) continue;
      for (const l of m.inLanes) {
        if (queue[l] > 0 && !this.held[l]) fullExits.push(l);
        this.held[l] = 1;
      }
    }
    const ix = this.env.intersections[k];
    let best = -1, bestWaiting = 0;
    for (const g of ix.greens) {
      if (g === s.green) continue;
      const w = this.waiting(k, g, s.green, queue);
      if (w > bestWaiting) {
        best = g;
        bestWaiting = w;
      }
    }
    let out: StarvationCut | null = null;
    if (best >= 0) {
      out = {
        to: best, seconds: now - since, standing, lanes: Array.from(served).filter((l) => queue[l] > 0), fullExits,
        waiting: bestWaiting, waitingLanes: this.waitingLanes(k, best, s.green, queue),
      };
    }
    for (const m of own) for (const l of m.inLanes) this.held[l] = 0;
    return out;
  }

  /** Vehicles standing on lanes green g would let go: its movements (not green now) with no exit full, lanes held by a full exit of the current green left out, each lane once. */
  private waiting(k: number, g: number, current: number, queue: ArrayLike<number>): number {
    let sum = 0;
    for (const l of this.waitingLanes(k, g, current, queue)) sum += queue[l];
    return sum;
  }

  private waitingLanes(k: number, g: number, current: number, queue: ArrayLike<number>): number[] {
    const now = this.moves[k][current];
    const lanes: number[] = [];
    for (const m of this.moves[k][g]) {
      if (now.some((c) => c.roadLink === m.roadLink) || this.anyFull(m.outLanes)) continue;
      for (const l of m.inLanes) if (queue[l] > 0 && !this.held[l] && !lanes.includes(l)) lanes.push(l);
    }
    return lanes;
  }

  /** Whether an exit of a movement green g serves from a lane with vehicles standing counted a crossing within the patience. */
  private exitsMoving(k: number, g: number, now: number): boolean {
    const q = this.observed.queue;
    for (const m of this.moves[k][g]) {
      let standing = false;
      for (let j = 0; j < m.inLanes.length; j++) if (q[m.inLanes[j]] > 0) standing = true;
      if (!standing) continue;
      for (let j = 0; j < m.outLanes.length; j++) if (now - this.crossedAt[m.outLanes[j]] < this.patience) return true;
    }
    return false;
  }

  private anyFull(lanes: Int32Array): boolean {
    const q = this.observed.queue;
    for (let j = 0; j < lanes.length; j++) if (q[lanes[j]] >= this.fullAt[lanes[j]]) return true;
    return false;
  }
}

/** One line for a fault report: what the guard saw and did at intersection `ix`. */
export function describeCut(ix: IntersectionPhases, from: number, c: StarvationCut, laneId: (l: number) => string, since?: { cuts: number; seconds: number }): string {
  const held = c.fullExits.length > 0
    ? `; ${c.fullExits.map(laneId).join(', ')} held by a full exit`
    : '; no exit full (held at the junction itself)';
  const again = since ? `; ${since.cuts} greens cut here in the last ${Math.round(since.seconds)} s` : '';
  return `starvation: green ${from} let none of ${c.standing} vehicles standing on ${c.lanes.map(laneId).join(', ')} through for ${Math.round(c.seconds)} s${held}, ` +
    `while ${c.waiting} stood on red lanes with room ahead (${c.waitingLanes.map(laneId).join(', ')}); ended for green ${c.to} at ${ix.id}${again}`;
}
