import type { Controller } from './controller.js';

// being written by a helper; replaced wholesale
export function greenWave(): Controller {
  throw new Error('green-wave is not written yet');
}
