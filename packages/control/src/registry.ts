import type { Controller } from './controller.js';
import { fixedTime } from './fixed-time.js';
import { maxPressure } from './max-pressure.js';
import { webster } from './webster.js';
import { actuated } from './actuated.js';
import { sotl } from './sotl.js';
import { greenWave } from './green-wave.js';
import { pressurePlus } from './pressure-plus.js';
import { predictive } from './predictive.js';

/** Controllers by name, as the CLI, the benchmarks and the server offer them. */
export const controllers: Record<string, () => Controller> = {
  fixed: () => fixedTime(),
  'max-pressure': () => maxPressure(),
  webster: () => webster(),
  actuated: () => actuated(),
  sotl: () => sotl(),
  'green-wave': () => greenWave(),
  'pressure-plus': () => pressurePlus(),
  predictive: () => predictive(),
  'predictive-sequential': () => predictive({ search: 'sequential' }),
};

export function createController(name: string): Controller {
  const make = controllers[name];
  if (!make) throw new RangeError(`unknown controller "${name}"; choose one of: ${Object.keys(controllers).join(', ')}`);
  return make();
}
