/**
 * xorshift32: the next state of the field's own generator (never 0 for a
 * state that is not). The street's devices and events draw from it, apart
 * from the simulation's generator, so the street unfolds the same whatever
 * its devices do. A value in [0, 1) is `state / 2 ** 32`.
 */
export function xorshift32(state: number): number {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}
