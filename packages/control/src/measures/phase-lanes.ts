import type { IntersectionPhases, SimReader } from '../core/controller.js';

/**
 * Which lanes a phase serves, and how many vehicles approach them: what the
 * classic controllers (webster, actuated, sotl, green-wave) measure demand
 * on. Internal to the package, but for phaseLaneSets, which the server's
 * incident detection reads too.
 */

/** Per green phase slot (index into `ix.greens`), the incoming lanes it serves. */
export interface PhaseLaneSets {
  /**
   * served[g]: incoming lanes of the movements green in `ix.greens[g]` that are
   * not green in every green phase. A movement green everywhere (right turns
   * in CityFlow's phases) never waits for a phase, so it says nothing about
   * which phase is needed.
   */
  served: Int32Array[];
}

export function phaseLaneSets(ix: IntersectionPhases): PhaseLaneSets {
  const inAll = new Map<number, number>();
  for (const p of ix.greens) for (const m of ix.movements[p]) inAll.set(m.roadLink, (inAll.get(m.roadLink) ?? 0) + 1);
  const served = ix.greens.map((p) => {
    const lanes = new Set<number>();
    for (const m of ix.movements[p]) if (inAll.get(m.roadLink)! < ix.greens.length) for (const l of m.inLanes) lanes.add(l);
    return Int32Array.from([...lanes].sort((a, b) => a - b));
  });
  return { served };
}

/** Vehicles on `lanes` within `range` metres of their stop lines. */
export function approaching(sim: SimReader, lanes: Int32Array, range: number): number {
  let n = 0;
  for (let k = 0; k < lanes.length; k++) n += sim.laneApproachingCount(lanes[k], range);
  return n;
}
