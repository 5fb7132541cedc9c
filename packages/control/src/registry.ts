import type { Controller } from './controller.js';
import { fixedTime } from './fixed-time.js';
import { maxPressure } from './max-pressure.js';

/** Controllers by name, as the CLI and the server offer them. */
export const controllers: Record<string, () => Controller> = {
  fixed: () => fixedTime(),
  'max-pressure': () => maxPressure(),
};

export function createController(name: string): Controller {
  const make = controllers[name];
  if (!make) throw new RangeError(`unknown controller "${name}"; choose one of: ${Object.keys(controllers).join(', ')}`);
  return make();
}
