import type { Controller } from './controller.js';

// being written by a helper; replaced wholesale
export function predictive(): Controller {
  throw new Error('predictive is not written yet');
}
