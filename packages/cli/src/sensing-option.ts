// apart from usage.ts, which every command loads: the field package is only for the commands with a street
import { SENSING_PRESETS, type SensingPreset } from '@citybrain/field';
import { UsageError } from './usage.js';

/** --sensing: a preset of the virtual city's devices (README, "Sensing"); `default` when not given. */
export function sensingOption(v: string | undefined): SensingPreset {
  const name = v ?? 'default';
  if (!Object.hasOwn(SENSING_PRESETS, name)) throw new UsageError(`--sensing: must be one of ${Object.keys(SENSING_PRESETS).join(', ')}, got "${name}"`);
  return name as SensingPreset;
}
