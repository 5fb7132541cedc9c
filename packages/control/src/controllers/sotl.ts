import type { Network } from '@citybrain/engine';
import type { Controller, IntersectionPhases, SimReader } from '../core/controller.js';
import { checkOption, spillWarnOption } from './options.js';
import { intersectionSlots } from '../core/slots.js';
import { approaching, phaseLaneSets } from '../measures/phase-lanes.js';
import { SpillBack, SPILL_WARN_SHARE } from '../measures/spill-back.js';
import { SpillGuard } from '../measures/spill-guard.js';

export interface SotlOptions {
  /** theta: vehicle-seconds of demand a red phase accumulates before it may take the green; default 40 */
  threshold?: number;
  /** d: metres from the stop line within which vehicles count as demand (approaching or queued); default 100 */
  range?: number;
  /** mu: a platoon of at most this many vehicles about to cross on green holds the switch; default 6 (better than Gershenson's 3 on all five public HZ/JN scenarios; a 25 m zone holds about three vehicles a lane, so larger changes nothing) */
  platoonSize?: number;
  /** r: metres from the stop line in which that platoon is looked for; default 25 */
  platoonRange?: number;
  /** seconds after which a green ends whatever the platoon rule says (Gershenson has none; it prevents starving a phase behind a steady trickle); default 90 */
  maxGreen?: number;
  /**
   * tau: seconds over which kappa forgets, kappa <- kappa * exp(-dt / tau) + demand * dt each step, so that it
   * measures the red phase's recent demand rather than all it met since its last green; 0 (the default, Gershenson's
   * counter): it never forgets
   */
  fade?: number;
  /** share of a lane's capacity standing at which the queue-spillback protection calls its phase (SpillBack's warnShare); default SPILL_WARN_SHARE (0.6) */
  spillWarn?: number;
}

/** SotlOptions resolved and checked: plain data, so it can be posted to a worker. */
export type SotlParams = Required<SotlOptions>;

export function sotlParams(opts: SotlOptions = {}): SotlParams {
  const name = 'sotl';
  return {
    threshold: checkOption(name, 'threshold', opts.threshold ?? 40, 0),
    range: checkOption(name, 'range', opts.range ?? 100, 0),
    platoonSize: checkOption(name, 'platoonSize', opts.platoonSize ?? 6, 0),
    platoonRange: checkOption(name, 'platoonRange', opts.platoonRange ?? 25, 0),
    maxGreen: checkOption(name, 'maxGreen', opts.maxGreen ?? 90, 0),
    fade: checkOption(name, 'fade', opts.fade ?? 0, 0),
    spillWarn: spillWarnOption(name, opts.spillWarn ?? SPILL_WARN_SHARE),
  };
}

/** SOTL's whole memory: copied into rollouts, posted to workers. */
export interface SotlState {
  /** kappa per intersection and green slot, flattened */
  kappa: Float64Array;
  /** phase each intersection showed at the last accumulation, -1 before the first */
  shown: Int32Array;
}

/**
 * Self-organising traffic lights, Gershenson's "sotl-platoon" rules (2005;
 * Cools, Gershenson & D'Hooghe 2008) for several phases:
 * 1. every step, each red phase's counter kappa grows by the vehicles within
 *    `range` of its stop lines (so kappa is vehicle-seconds of demand);
 *    the green's counter is reset when it starts;
 * 2. after minGreen, once the largest red counter reaches `threshold`, switch
 *    to that phase ...
 * 3. ... unless 1..mu vehicles are within `platoonRange` of the green's stop
 *    lines: let that short platoon tail cross first;
 * 4. when no vehicle approaches the green within `range` and some red phase
 *    has demand, switch to it at once;
 * and a `maxGreen` cap on top. A phase whose waiting vehicles all face full
 * exits (SpillBack) has no demand: it gains no kappa, and as the green it
 * ends as if nothing approached (its vehicles would only stop in the
 * junction, and the counter of a queue that cannot move would otherwise
 * keep winning the green).
 *
 * The rules over plain typed-array state, indexed like the intersection list
 * the policy was built for: the sotl controller runs them, and so do the
 * predictive controller's rollouts when SOTL is their base.
 */
export class SotlPolicy {
  private readonly served: Int32Array[][];
  /** kappa of intersection k, green slot g is at kappa[offset[k] + g] */
  private readonly offset: Int32Array;
  private readonly state: SotlState;
  private readonly spill: SpillBack;
  /** vehicles standing on each lane, as of the last accumulate */
  private readonly waiting: Int32Array;

  constructor(
    private readonly ixs: readonly IntersectionPhases[],
    readonly params: SotlParams,
    net: Network,
  ) {
    this.spill = new SpillBack(net, ixs);
    this.waiting = new Int32Array(net.nLanes);
    this.served = ixs.map((ix) => phaseLaneSets(ix).served);
    this.offset = new Int32Array(ixs.length + 1);
    for (let k = 0; k < ixs.length; k++) this.offset[k + 1] = this.offset[k] + this.served[k].length;
    this.state = { kappa: new Float64Array(this.offset[ixs.length]), shown: new Int32Array(ixs.length).fill(-1) };
  }

  /** Rule 1: once per step, before that step's decisions. */
  accumulate(sim: SimReader): void {
    const { kappa, shown } = this.state;
    const dt = sim.interval;
    const range = this.params.range;
    sim.laneWaitingCounts(this.waiting);
    const keep = this.params.fade > 0 ? Math.exp(-dt / this.params.fade) : 1;
    for (let k = 0; k < this.ixs.length; k++) {
      const ix = this.ixs[k];
      const p = sim.phase(ix.intersection);
      const cur = ix.greens.indexOf(p);
      const o = this.offset[k];
      if (p !== shown[k]) {
        shown[k] = p;
        if (cur >= 0) kappa[o + cur] = 0;
      }
      // during a yellow every green slot is red
      const lanes = this.served[k];
      // a green whose exits are full gains nothing (SpillBack); with a fade, every red green's count forgets
      for (let g = 0; g < lanes.length; g++) {
        if (g !== cur) kappa[o + g] = kappa[o + g] * keep + (this.spill.blocked(k, g, this.waiting) ? 0 : approaching(sim, lanes[g], range) * dt);
      }
    }
  }

  /** Rules 2-4 and maxGreen: the green wanted at intersection k, which shows `green` since `greenSince`. */
  choose(k: number, green: number, greenSince: number, sim: SimReader): number {
    const { threshold, range, platoonSize, platoonRange, maxGreen } = this.params;
    const ix = this.ixs[k];
    const kappa = this.state.kappa;
    const o = this.offset[k];
    const cur = ix.greens.indexOf(green);
    let best = -1;
    let bestKappa = 0;
    for (let g = 0; g < ix.greens.length; g++) {
      const kg = kappa[o + g];
      if (g !== cur && kg > bestKappa && !this.spill.blocked(k, g, this.waiting)) {
        bestKappa = kg;
        best = g;
      }
    }
    if (best < 0) return green; // no demand on red
    if (sim.time - greenSince >= maxGreen) return ix.greens[best];
    const lanes = this.served[k][cur];
    if (approaching(sim, lanes, range) === 0 || this.spill.blocked(k, cur, this.waiting)) return ix.greens[best]; // rule 4
    if (bestKappa < threshold) return green;
    const near = approaching(sim, lanes, platoonRange);
    if (near > 0 && near <= platoonSize) return green; // rule 3
    return ix.greens[best];
  }

  copyState(): SotlState {
    return { kappa: this.state.kappa.slice(), shown: this.state.shown.slice() };
  }

  /** Continues from `s` (copied), e.g. the state of another policy on the same intersections. */
  setState(s: SotlState): void {
    if (s.kappa.length !== this.state.kappa.length || s.shown.length !== this.state.shown.length) {
      throw new RangeError(`sotl: a state for ${s.shown.length} intersections (${s.kappa.length} counters), this policy has ${this.state.shown.length} (${this.state.kappa.length})`);
    }
    this.state.kappa.set(s.kappa);
    this.state.shown.set(s.shown);
  }
}

/** The SOTL controller: SotlPolicy on the supervisor's intersections. */
export function sotl(opts: SotlOptions = {}): Controller {
  return sotlController('sotl', sotlParams(opts));
}

/**
 * Fading SOTL: the SOTL rules with kappa forgetting over `fade` = 20 s, so a red
 * phase's claim is the demand it has seen lately (about 20 s x the vehicles in
 * range), not everything since its last green: a phase whose queue was served
 * elsewhere or whose platoon passed stops outbidding one that is loaded now.
 * With that the threshold is lower (20: one vehicle waiting in range for about
 * 20 s) and the platoon rule looks further (up to 10 vehicles within 40 m,
 * about three seconds of discharge on two lanes). Chosen once on the public
 * HZ/JN scenarios and checked unchanged on generated grids, arterials and the
 * SUMO Hangzhou net (docs/benchmarks.md, "Signal control"); every option can be overridden.
 * Its spill guard calls a phase at half a lane's capacity, not 0.6: a fading
 * claim lets a one-lane left turn wait longer, and at 0.6 the centre ring of
 * a 4 x 4 grid at 0.1 veh/s a route locked (ATT 442.8 s; 298.5 s, no lock, at
 * 0.5; 6 x 6 355.7 -> 346.7 s, 3 x 16 220.5 -> 215.9 s; 16 x 3, 1 x 8 0.5-1.6%
 * longer, 2 x 10 and 5 x 5 2-4% longer; the five public scenarios within 0.3 s).
 */
export function fadingSotl(opts: SotlOptions = {}): Controller {
  return sotlController('sotl-fading', sotlParams({ fade: 20, threshold: 20, platoonRange: 40, platoonSize: 10, spillWarn: 0.5, ...opts }));
}

function sotlController(name: string, params: SotlParams): Controller {
  let slot = new Int32Array(0);
  let policy: SotlPolicy | null = null;
  let protection: SpillGuard;
  return {
    name,
    // approaching vehicles
    needs: 'approach',
    init(env) {
      slot = intersectionSlots(env);
      policy = new SotlPolicy(env.intersections, params, env.net);
      protection = new SpillGuard(env.net, env.intersections, params.spillWarn);
    },
    beginStep(env) {
      policy!.accumulate(env.twin);
    },
    decide(ix, s, env) {
      const k = slot[ix.intersection];
      // queue-spillback protection (measures/spill-guard.ts) before the SOTL rules: a platoon held green (rule 3)
      // or maxGreen lets a one-lane left turn fed by right turns (green always) fill and block the junction upstream
      const spilled = protection.choose(k, ix.greens.length, ix.greens.indexOf(s.green), env.observed, env.twin.time);
      if (spilled >= 0) return ix.greens[spilled];
      return policy!.choose(k, s.green, s.greenSince, env.twin);
    },
  };
}
