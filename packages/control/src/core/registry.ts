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
 * serve --controller). The stress tests hold it to max-pressure's ATT on
 * every stress scenario: changing it is changing what every city runs.
 */
export const DEFAULT_CONTROLLER = 'max-pressure';

export function createController(name: string): Controller {
  const make = controllers[name];
  if (!make) throw new RangeError(`unknown controller "${name}"; choose one of: ${Object.keys(controllers).join(', ')}`);
  return make();
}
