import type { Controller } from './controller.js';

// being written by a helper; replaced wholesale
export function webster(): Controller {
  throw new Error('webster is not written yet');
}
