import type { Network } from '@citybrain/engine';
import type { IntersectionPhases, Observed } from '../core/controller.js';
import { SpillBack, SPILL_WARN_SHARE } from './spill-back.js';
import { phaseLaneSets } from './phase-lanes.js';

/**
 * Seconds a green given for a spill-back may go without a stop-line crossing
 * on its lanes before it gaps out: start-up (about 2 s) and a couple of
 * seconds' headway, as an actuated controller's passage gap.
 */
export const SPILL_GAP = 5;

/**
 * Seconds a green held for a spill-back may run while it discharges before
 * it yields to the next green (roadnet order) whose lanes spill back too: an
 * actuated controller's maximum green. Unbounded, a busy through phase that
 * kept trickling held its green for 85 s while a left-turn lane stood full
 * at 32 vehicles until the junction upstream locked (green-wave, 3 x 16 grid
 * at 0.1 veh/s a route, gridlock at intersection_16_2). 45 s did as well;
 * the 5 reference scenarios' ATT moved by 0.1 s at most with either.
 */
export const SPILL_MAX = 60;

export interface SpillGuardOptions {
  /**
   * When several greens spill, those with a spilling lane fed by a junction go before those whose spilling lanes
   * are all entry lanes (SpillBack.fed): an entry lane's spill-back blocks no junction (its vehicles wait outside), a
   * fed lane's stops the junction upstream, and, there, the turns that feed it green always. In the roadnet's cyclic
   * order alone, on a 3 x 3 grid with two through lanes at 0.15 veh/s a route (schedule), the busy entry approaches
   * spilled on every green, and a left-turn lane fed by right turns stood full (32 of 32) for 150 s with its exit
   * empty until the ring round it locked.
   */
  fedFirst?: boolean;
  /** SpillBack's strictExits: a movement with an incoming lane held by a full exit lane (SpillBack.exitsHeld) is neither called nor held. */
  strictExits?: boolean;
  /**
   * When several greens spill (within fedFirst's pass), the one of most weight is called, not the next in the
   * roadnet's order: twice the vehicles standing on its spilling lanes (SpillBack.spilling) plus its max-pressure
   * weight (SpillBack.pressure: standing on its incoming lanes less the mean standing beyond): under overload, when
   * most approaches spill, the cyclic order serves them whatever their size and whatever stands beyond (schedule on
   * test/spill-ring.test.ts's 3 x 3 grid with two through lanes: measured in controllers/schedule.ts).
   */
  weighed?: boolean;
}

/**
 * Queue-spillback protection, the one rule every adaptive built-in
 * controller applies before its own choice (schedule, pressure-plus, SOTL,
 * webster, green-wave): a lane about to spill back (SpillBack.spilling,
 * SPILL_WARN_SHARE) calls its phase, the green if it serves one, else the
 * next in the roadnet's order (cyclic, as actuated control: when several
 * spill, each is served within a cycle; SpillGuardOptions order them
 * otherwise for schedule); the green so given is held while it
 * discharges (ended at the mark, it would come back a few vehicles later,
 * each time for a yellow), for SPILL_MAX seconds at most when another green
 * spills too. A controller ordering greens by what they
 * discharge per second (schedule's least total wait, a pressure sum) would
 * otherwise postpone a one-lane left turn behind busier phases for ever,
 * while the right turns feeding it (green always) fill it until they stop in
 * the junction upstream and lock it (test/spill-ring.test.ts). With a
 * gap-out on the stop-line detectors: `SpillBack.spilling` and `discharges` see room beyond a
 * lane when any of its movement's exit lanes has it (which lane each
 * vehicle takes is not seen); when the head vehicle is bound for the full
 * one, the green is held with nothing crossing until the supervisor calls
 * it a gridlock (90 s), while every other approach fills: on an overloaded
 * 4 x 4 grid (test/spill-ring.test.ts) that closed the ring round the
 * centre. So a spill call whose lanes saw no crossing for SPILL_GAP seconds
 * is dropped, and that green is not called again for a spill-back until
 * another green has been shown.
 */
export class SpillGuard {
  readonly spill: SpillBack;
  /** per intersection slot and green slot: the incoming lanes the green serves */
  private readonly lanes: Int32Array[][];
  /** per intersection slot: the green slot given for a spill-back (held while it discharges), -1 none */
  private readonly held: Int32Array;
  /** per intersection slot: the green slot gapped out, not called until another green shows; -1 none */
  private readonly muted: Int32Array;
  /** per intersection slot: the green slot last seen, the crossings counted on its lanes then, and the last second they grew */
  private readonly seen: Int32Array;
  private readonly crossed: Float64Array;
  private readonly lastCross: Float64Array;
  /** per intersection slot: the second the green last seen began to be seen */
  private readonly since: Float64Array;

  private readonly fedFirst: boolean;
  private readonly weighed: boolean;

  /** `warnShare`: the share of a lane's capacity standing that calls its phase (SpillBack's). */
  constructor(net: Network, ixs: readonly IntersectionPhases[], warnShare = SPILL_WARN_SHARE, opts: SpillGuardOptions = {}) {
    this.spill = new SpillBack(net, ixs, warnShare, opts.strictExits ?? false);
    this.fedFirst = opts.fedFirst ?? false;
    this.weighed = opts.weighed ?? false;
    this.lanes = ixs.map((ix) => phaseLaneSets(ix).served);
    this.held = new Int32Array(ixs.length).fill(-1);
    this.muted = new Int32Array(ixs.length).fill(-1);
    this.seen = new Int32Array(ixs.length).fill(-1);
    this.crossed = new Float64Array(ixs.length);
    this.lastCross = new Float64Array(ixs.length);
    this.since = new Float64Array(ixs.length);
  }

  /**
   * The green slot intersection k must show, `cur` (slot of its green, -1 in none) shown; -1: the controller's own
   * choice. `overdue`: a plan's green past its planned end; held for a spill-back it yields to the next green that
   * spills too (in the roadnet's order), so that when every approach spills the plan runs as timed.
   */
  choose(k: number, nGreens: number, cur: number, observed: Observed, t: number, overdue = false): number {
    const { queue, counted } = observed;
    let n = 0;
    if (cur >= 0) for (const l of this.lanes[k][cur]) n += counted[l];
    if (cur !== this.seen[k]) {
      if (cur >= 0 && cur !== this.muted[k]) this.muted[k] = -1;
      this.seen[k] = cur;
      this.crossed[k] = n;
      this.lastCross[k] = t;
      this.since[k] = t;
    } else if (n > this.crossed[k]) {
      this.crossed[k] = n;
      this.lastCross[k] = t;
    }
    const held = cur >= 0 && this.held[k] === cur;
    if (held && t - this.lastCross[k] >= SPILL_GAP) {
      this.muted[k] = cur;
      this.held[k] = -1;
      return -1;
    }
    let pick = -1;
    // a plan's green past its end, or a spill-back's held past SPILL_MAX, yields to the next green that spills
    if (cur >= 0 && (overdue || (held && t - this.since[k] >= SPILL_MAX))) {
      for (let pass = this.fedFirst ? 0 : 1; pass < 2 && pick < 0; pass++) {
        for (let j = 1; j < nGreens && pick < 0; j++) {
          const g = (cur + j) % nGreens;
          if (g !== this.muted[k] && this.spill.spilling(k, g, queue, pass === 0) > 0) pick = g;
        }
      }
      if (pick >= 0) return (this.held[k] = pick);
    }
    if (held && this.spill.discharges(k, cur, queue)) return cur;
    // pass 0 (fedFirst): greens with a spilling lane a junction feeds; pass 1: any spilling green. In the cyclic
    // order from the green, the first; weighed, the heaviest (the first of equals)
    for (let pass = this.fedFirst ? 0 : 1; pass < 2 && pick < 0; pass++) {
      let most = -Infinity;
      for (let j = 0; j <= nGreens && (this.weighed || pick < 0); j++) {
        const g = (cur + j + nGreens) % nGreens;
        if (g === this.muted[k] || (j === 0 && cur < 0)) continue;
        const standing = this.spill.spilling(k, g, queue, pass === 0);
        if (standing <= 0) continue;
        const w = this.weighed ? 2 * standing + this.spill.pressure(k, g, queue) : 0;
        if (pick < 0 || w > most) {
          most = w;
          pick = g;
        }
      }
    }
    this.held[k] = pick;
    return pick;
  }
}
