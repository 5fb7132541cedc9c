import type { Controller } from '../core/controller.js';
import { checkOption } from './options.js';
import { intersectionSlots } from '../core/slots.js';
import { approaching, phaseLaneSets } from '../measures/phase-lanes.js';
import { SpillBack } from '../measures/spill-back.js';

export interface ActuatedOptions {
  /** metres upstream of the stop line a lane's presence detector covers; default 30 */
  detectorLength?: number;
  /** seconds without a detection on the green's lanes that end the green (gap-out); default 3 */
  gap?: number;
  /** seconds after which a green ends when another phase has demand (max-out); default 60 */
  maxGreen?: number;
}

/**
 * Fully actuated control with stop-line presence detectors on every
 * incoming lane. After minGreen, the green is extended while its lanes keep
 * detecting vehicles, and ends once no vehicle has been detected for `gap`
 * seconds (gap-out) or it has lasted `maxGreen` (max-out). It then goes to
 * the next phase, in the roadnet's order, whose detectors hold a vehicle
 * (phases without demand are skipped); with no demand anywhere else the
 * green rests where it is. A phase whose waiting vehicles all face full exits
 * (SpillBack) has no demand: presence detectors over a queue that cannot
 * move would otherwise hold its green for ever (maxGreen only if another
 * phase calls), sending vehicles into the junction to stop there.
 */
export function actuated(opts: ActuatedOptions = {}): Controller {
  const name = 'actuated';
  const zone = checkOption(name, 'detectorLength', opts.detectorLength ?? 30, 0);
  const gap = checkOption(name, 'gap', opts.gap ?? 3, 0);
  const maxGreen = checkOption(name, 'maxGreen', opts.maxGreen ?? 60, 0);

  let slot = new Int32Array(0);
  let served: Int32Array[][] = [];
  /** phase shown at each intersection at the previous step, to see greens start */
  let shown = new Int32Array(0);
  /** simulated second of the last detection on the green's lanes (or the green's start) */
  let lastSeen = new Float64Array(0);
  let spill: SpillBack;

  return {
    name,
    // gaps in the vehicles approaching
    needs: 'approach',
    init(env) {
      slot = intersectionSlots(env);
      served = env.intersections.map((ix) => phaseLaneSets(ix).served);
      shown = new Int32Array(served.length).fill(-1);
      lastSeen = new Float64Array(served.length);
      spill = new SpillBack(env.net, env.intersections);
    },
    beginStep(env) {
      // detectors are read every step, also during minGreen, so the gap is known when decisions start
      const { twin: sim, intersections } = env;
      const t = sim.time;
      for (let k = 0; k < intersections.length; k++) {
        const ix = intersections[k];
        const p = sim.phase(ix.intersection);
        if (p !== shown[k]) {
          shown[k] = p;
          lastSeen[k] = t;
        }
        const g = ix.greens.indexOf(p);
        if (g >= 0 && approaching(sim, served[k][g], zone) > 0 && !spill.blocked(k, g, env.observed.queue)) lastSeen[k] = t;
      }
    },
    decide(ix, s, env) {
      const k = slot[ix.intersection];
      const t = env.twin.time;
      if (t - lastSeen[k] < gap && t - s.greenSince < maxGreen) return s.green;
      const n = ix.greens.length;
      const g = ix.greens.indexOf(s.green);
      for (let j = 1; j < n; j++) {
        const h = (g + j) % n;
        if (approaching(env.twin, served[k][h], zone) > 0 && !spill.blocked(k, h, env.observed.queue)) return ix.greens[h];
      }
      return s.green;
    },
  };
}
