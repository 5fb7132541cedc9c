import type { Simulation } from '@citybrain/engine';

/** The rules of the road a simulation runs under, in a few words: SUMO's (a SUMO file's, SimulationRules) or CityFlow's. */
export function rulesText(sim: Simulation): string {
  const parts = [sim.keepJunctionsClear ? 'junctions kept clear' : '', sim.timeToTeleport > 0 ? `jam teleport after ${sim.timeToTeleport} s` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : "CityFlow's";
}
