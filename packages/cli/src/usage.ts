import type { RandomKind } from '@citybrain/engine';

/** A mistake in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A number typed on the command line; NaN for an empty field, which Number('') would read as 0. */
export function cliNumber(v: string): number {
  return v.trim() === '' ? NaN : Number(v);
}

export function intOption(v: string | undefined, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = cliNumber(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} expects a whole number from ${min} to ${max}, got "${v}"`);
  return n;
}

export function numOption(v: string | undefined, name: string, def: number, min = 0, max = Number.MAX_VALUE): number {
  if (v === undefined) return def;
  const n = cliNumber(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} expects a number from ${min} to ${max}, got "${v}"`);
  return n;
}

/** A generated city's --grid, typed RxC: rows and columns of 1 to 60 each; `def` when not given. */
export function gridOption(v: string | undefined, def: string): { rows: number; cols: number } {
  const m = /^(\d+)x(\d+)$/.exec(v ?? def);
  if (!m) throw new UsageError(`--grid expects RxC, e.g. ${def}, got "${v}"`);
  return { rows: intOption(m[1], 'grid rows', 0, 1, 60), cols: intOption(m[2], 'grid cols', 0, 1, 60) };
}

/** --random: which random stream the simulation draws (SimulationOptions.random) */
export function randomOption(v: string | undefined): RandomKind {
  if (v === undefined || v === 'xoshiro' || v === 'cityflow') return v ?? 'xoshiro';
  throw new UsageError(`--random must be xoshiro or cityflow (CityFlow's std::mt19937 stream), got "${v}"`);
}
