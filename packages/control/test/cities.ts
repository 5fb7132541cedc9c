import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { createController, runControlled } from '@citybrain/control';

/** Generated cities the controllers were not tuned on, small enough for tests. */

/** Heading of a flow's first road (0 east, 1 north, 2 west, 3 south). */
const heading = (route: string[]) => Number(route[0].slice(-1));

/** A 3 x 3 grid whose eastbound entries carry three times the demand of the others. */
export function unbalancedGrid(): Scenario {
  const s = generateGrid({ rows: 3, cols: 3, demand: 0.03 });
  s.flows = s.flows.map((f) => ({ ...f, interval: f.interval / (heading(f.route) === 0 ? 3 : 1) }));
  return s;
}

/** A 1 x 4 arterial: the main street four times the side streets, its demand doubling after 400 s, none after 800 s. */
export function pulsedArterial(): Scenario {
  const s = generateGrid({ rows: 1, cols: 4, demand: 0.05 });
  s.flows = s.flows.flatMap((f) => {
    const main = heading(f.route) % 2 === 0 ? 4 : 1;
    return [
      { ...f, interval: f.interval / main, startTime: 0, endTime: 400 },
      { ...f, interval: f.interval / main / 2, startTime: 400, endTime: 800 },
    ];
  });
  return s;
}

/** ATT of `seconds` under the registered controller `controller`, under the protocol's supervisor. */
export async function att(s: Scenario, controller: string, seconds: number): Promise<number> {
  return (await runControlled(new Simulation(s), createController(controller), seconds)).metrics.averageTravelTime;
}
