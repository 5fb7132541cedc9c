import type { Controller } from './controller.js';
import { approaching, checkOption, intersectionSlots, phaseLaneSets } from './phase-lanes.js';

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
 * and a `maxGreen` cap on top.
 */
export function sotl(opts: SotlOptions = {}): Controller {
  const name = 'sotl';
  const theta = checkOption(name, 'threshold', opts.threshold ?? 40, 0);
  const range = checkOption(name, 'range', opts.range ?? 100, 0);
  const mu = checkOption(name, 'platoonSize', opts.platoonSize ?? 6, 0);
  const r = checkOption(name, 'platoonRange', opts.platoonRange ?? 25, 0);
  const maxGreen = checkOption(name, 'maxGreen', opts.maxGreen ?? 90, 0);

  let slot = new Int32Array(0);
  let served: Int32Array[][] = [];
  /** kappa per intersection and green slot, flattened with `base` */
  let kappa = new Float64Array(0);
  let base = new Int32Array(0);
  let shown = new Int32Array(0);

  return {
    name,
    init(env) {
      slot = intersectionSlots(env);
      served = env.intersections.map((ix) => phaseLaneSets(ix).served);
      base = new Int32Array(served.length + 1);
      for (let k = 0; k < served.length; k++) base[k + 1] = base[k] + served[k].length;
      kappa = new Float64Array(base[served.length]);
      shown = new Int32Array(served.length).fill(-1);
    },
    beginStep(env) {
      const { sim, intersections } = env;
      const dt = sim.interval;
      for (let k = 0; k < intersections.length; k++) {
        const ix = intersections[k];
        const p = sim.phase(ix.intersection);
        const cur = ix.greens.indexOf(p);
        if (p !== shown[k]) {
          shown[k] = p;
          if (cur >= 0) kappa[base[k] + cur] = 0;
        }
        // during a yellow every green slot is red
        const lanes = served[k];
        for (let g = 0; g < lanes.length; g++) if (g !== cur) kappa[base[k] + g] += approaching(sim, lanes[g], range) * dt;
      }
    },
    decide(ix, s, env) {
      const k = slot[ix.intersection];
      const sim = env.sim;
      const cur = ix.greens.indexOf(s.green);
      let best = -1;
      let bestKappa = 0;
      for (let g = 0; g < ix.greens.length; g++) {
        const kg = kappa[base[k] + g];
        if (g !== cur && kg > bestKappa) {
          bestKappa = kg;
          best = g;
        }
      }
      if (best < 0) return s.green; // no demand on red
      if (sim.time - s.greenSince >= maxGreen) return ix.greens[best];
      const lanes = served[k][cur];
      if (approaching(sim, lanes, range) === 0) return ix.greens[best]; // rule 4
      if (bestKappa < theta) return s.green;
      const near = approaching(sim, lanes, r);
      if (near > 0 && near <= mu) return s.green; // rule 3
      return ix.greens[best];
    },
  };
}
