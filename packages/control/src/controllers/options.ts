/** Option checks the controllers share: a bad option fails at construction, naming itself. */

/** Throws a RangeError naming the option unless `v` is a finite number within [lo, hi]. */
export function checkOption(controller: string, name: string, v: number, lo: number, hi = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${controller}: option ${name} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

/**
 * The spill guard's `spillWarn` (SpillBack's warnShare), checked one way for every controller that takes it: a share of
 * a lane's capacity in [0.001, 1] (above 0, so that an empty lane never calls its phase).
 */
export function spillWarnOption(controller: string, v: number): number {
  return checkOption(controller, 'spillWarn', v, 1e-3, 1);
}
