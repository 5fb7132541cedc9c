import type { ControlEnv } from './controller.js';

/** Index of intersection number -> position in `env.intersections`, -1 elsewhere. */
export function intersectionSlots(env: ControlEnv): Int32Array<ArrayBuffer> {
  const slot = new Int32Array(env.net.interIds.length).fill(-1);
  env.intersections.forEach((ix, k) => (slot[ix.intersection] = k));
  return slot;
}
