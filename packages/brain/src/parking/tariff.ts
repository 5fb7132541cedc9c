import type { Tariff } from './model.js';

const DAY_MS = 86_400_000;

/**
 * What a stay from `from` to `to` (epoch ms) costs under `tariff`, in minor
 * units: nothing when it lasts no longer than the free minutes; otherwise
 * every started increment past the free minutes (counted once, at the
 * start) at the hourly rate, each 24 h from arrival at most the daily cap.
 */
export function priceStay(tariff: Tariff, from: number, to: number): number {
  if (!(to >= from)) throw new RangeError(`stay: end ${to} is before start ${from}`);
  const stay = to - from;
  const freeMs = tariff.freeMinutes * 60_000;
  if (stay <= freeMs) return 0;
  const incMs = tariff.incrementMinutes * 60_000;
  const perIncrement = (tariff.perHour * tariff.incrementMinutes) / 60;
  let total = 0;
  // the free minutes come off the first day only
  for (let dayStart = 0, billedFrom = freeMs; dayStart < stay; dayStart += DAY_MS, billedFrom = dayStart) {
    const dayEnd = Math.min(stay, dayStart + DAY_MS);
    const billed = Math.max(0, dayEnd - Math.max(billedFrom, dayStart));
    const day = Math.round(Math.ceil(billed / incMs) * perIncrement);
    total += tariff.dailyCap === null ? day : Math.min(day, tariff.dailyCap);
  }
  return total;
}
