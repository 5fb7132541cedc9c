import type { Controller } from './controller.js';

// being written by a helper; replaced wholesale
export function pressurePlus(): Controller {
  throw new Error('pressure-plus is not written yet');
}
