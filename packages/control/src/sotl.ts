import type { Controller } from './controller.js';

// being written by a helper; replaced wholesale
export function sotl(): Controller {
  throw new Error('sotl is not written yet');
}
