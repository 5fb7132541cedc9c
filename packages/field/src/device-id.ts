import type { Network } from '@citybrain/engine';
import { DEVICE_ID } from '@citybrain/brain';

/**
 * The id a field device of intersection `i` reports as: `det-<intersection id>`
 * (and `sig-`, `cam-`, `park-`), or `det:<index>` when that is no valid device
 * id (an imported network's junction ids may hold other characters).
 */
export function deviceId(kind: 'det' | 'sig' | 'cam' | 'park', net: Network, i: number): string {
  const id = `${kind}-${net.interIds[i]}`;
  return DEVICE_ID.test(id) ? id : `${kind}:${i}`;
}
