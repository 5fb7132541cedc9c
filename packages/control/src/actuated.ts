import type { Controller } from './controller.js';

// being written by a helper; replaced wholesale
export function actuated(): Controller {
  throw new Error('actuated is not written yet');
}
