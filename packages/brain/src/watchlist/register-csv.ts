import { VEHICLE_USES, type VehicleUse } from './matcher.js';
import { parsePlate } from './plates.js';

/** A row of the vehicle register (the city's data bureau's export). */
export interface RegisterRow {
  plate: string;
  use: VehicleUse;
}

/** The largest register one import takes (a city's fleet; import several files for more). */
export const MAX_REGISTER_ROWS = 5_000_000;

/**
 * The vehicle register as CSV: a header `plate,use` (columns in any order,
 * others ignored), then one vehicle per line; `use` one of VEHICLE_USES
 * (empty: private). Blank lines are skipped. Throws a RangeError naming the
 * line of the first fault.
 */
export function parseRegisterCsv(text: string): RegisterRow[] {
  const lines = text.split(/\r?\n/);
  const head = (lines[0] ?? '').replace(/^\uFEFF/, '').split(',').map((h) => h.trim().toLowerCase());
  const pi = head.indexOf('plate');
  const ui = head.indexOf('use');
  if (pi < 0) throw new RangeError(`register CSV line 1: the header needs a "plate" column (and optionally "use"), got "${lines[0] ?? ''}"`);
  const rows: RegisterRow[] = [];
  const seen = new Map<string, number>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n];
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (cells.length !== head.length) throw new RangeError(`register CSV line ${n + 1}: ${cells.length} columns, the header has ${head.length}`);
    const p = parsePlate(cells[pi].trim());
    if ('error' in p) throw new RangeError(`register CSV line ${n + 1}: ${p.error}`);
    const use = (ui < 0 ? '' : cells[ui].trim().toLowerCase()) || 'private';
    if (!(VEHICLE_USES as readonly string[]).includes(use)) throw new RangeError(`register CSV line ${n + 1}: use "${use}" is not one of ${VEHICLE_USES.join(', ')}`);
    const before = seen.get(p.plate);
    if (before !== undefined) throw new RangeError(`register CSV line ${n + 1}: plate ${p.plate} is also on line ${before}`);
    seen.set(p.plate, n + 1);
    rows.push({ plate: p.plate, use: use as VehicleUse });
    if (rows.length > MAX_REGISTER_ROWS) throw new RangeError(`register CSV line ${n + 1}: more than ${MAX_REGISTER_ROWS} vehicles; split the file`);
  }
  return rows;
}
