/** The supervisor's guards' option checks: a bad option fails at construction, naming the guard and the option. */

/** `v` unless it is not a finite number above 0; `what` says what it must be (e.g. "a positive number of seconds"). */
export function positiveOption(guard: string, name: string, v: number, what = 'a positive number'): number {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${guard}: ${name} must be ${what}, got ${String(v)}`);
  return v;
}

/** `v` unless it is not a finite number >= 0. */
export function nonNegativeOption(guard: string, name: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${guard}: ${name} must be a number >= 0, got ${String(v)}`);
  return v;
}

/** `v` unless it is not a share of a lane's capacity in (0, 1]. */
export function shareOption(guard: string, name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0 && v <= 1)) throw new RangeError(`${guard}: ${name} must be a share of capacity in (0, 1], got ${String(v)}`);
  return v;
}
