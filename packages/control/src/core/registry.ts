import type { Controller } from './controller.js';
import { fixedTime } from '../controllers/fixed-time.js';
import { maxPressure } from '../controllers/max-pressure.js';
import { webster } from '../controllers/webster.js';
import { actuated } from '../controllers/actuated.js';
import { fadingSotl, sotl } from '../controllers/sotl.js';
import { greenWave } from '../controllers/green-wave.js';
import { pressurePlus } from '../controllers/pressure-plus.js';
import { advancedMaxPressure, efficientMaxPressure } from '../controllers/advanced-mp.js';
import { predictive } from '../controllers/predictive/index.js';
import { schedule } from '../controllers/schedule.js';

/** Controllers by name, as the CLI, the benchmarks and the server offer them. */
export const controllers: Record<string, () => Controller> = {
  fixed: () => fixedTime(),
  'max-pressure': () => maxPressure(),
  webster: () => webster(),
  actuated: () => actuated(),
  sotl: () => sotl(),
  'sotl-fading': () => fadingSotl(),
  schedule: () => schedule(),
  'green-wave': () => greenWave(),
  'pressure-plus': () => pressurePlus(),
  'advanced-mp': () => advancedMaxPressure(),
  'efficient-mp': () => efficientMaxPressure(),
  predictive: () => predictive(),
  'predictive-sequential': () => predictive({ search: 'sequential' }),
};

/**
 * The controller the operations server runs when none is named (citybrain
 * serve --controller, startServer, CityRuntime). The stress tests hold it to
 * max-pressure's ATT on every stress scenario: changing it is changing what
 * every city runs.
 *
 * schedule: the best on the five public scenarios (ATT 301.5 / 386.1 / 272.1
 * / 262.4 / 258.0 s against max-pressure's 330.1 / 428.1 / 316.1 / 288.9 /
 * 286.6), on every generated grid and arterial tried and on the Hangzhou SUMO
 * net, within 1.2-2.7% of itself seeing ground truth on HZ1 and JN1 through
 * the default devices, and deciding 1,296 intersections in about 10 ms. Where
 * detectors do not see the approaches (loops only) max-pressure decides instead
 * (ControllerAssignment). Not yet robust everywhere: on one Osnabrück import
 * (2,400 trips/h) two vehicles turning round at a dead end lock each other
 * under it, as they do under max-pressure at 3,000/h (docs/benchmarks.md, "Signal control").
 */
export const DEFAULT_CONTROLLER = 'schedule';

export function createController(name: string): Controller {
  const make = controllers[name];
  if (!make) throw new RangeError(`unknown controller "${name}"; choose one of: ${Object.keys(controllers).join(', ')}`);
  return make();
}
