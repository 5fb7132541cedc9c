import type { ParkingSite } from '@citybrain/brain';
import type { Simulation } from '@citybrain/engine';

/**
 * The mean speed of the vehicles on a road in the brain's twin now (m/s), or
 * undefined when none is on it (guidance then takes the free-flow speed).
 */
export function twinRoadSpeed(sim: Simulation): (road: string) => number | undefined {
  const buf = new Int32Array(256);
  return (road) => {
    const r = sim.net.roadIndex.get(road);
    if (r === undefined) return undefined;
    let sum = 0;
    let n = 0;
    for (let l = sim.net.roadFirstLane[r], end = l + sim.net.roadLaneCount[r]; l < end; l++) {
      const k = sim.laneVehicles(l, buf);
      for (let i = 0; i < k; i++) sum += sim.vehicleSpeed(buf[i]);
      n += k;
    }
    return n === 0 ? undefined : sum / n;
  };
}

/**
 * The virtual city's parking register, as a city hands one over: an
 * on-street site per intersection with its sensored kerbside bays, a tariff
 * as Hangzhou's (6 yuan an hour, first 15 minutes free, 50 a day), always
 * open. Registered at the first start of a server running the virtual city.
 */
export function virtualCityRegister(bays: readonly { id: string; intersection: string; x: number; y: number }[]): ParkingSite[] {
  // positions to the centimetre: the street's trigonometry leaves 1e-15 m where a bay is on an axis
  const cm = (v: number) => Math.round(v * 100) / 100 || 0;
  const by = new Map<string, { id: string; x: number; y: number }[]>();
  for (const b of bays) {
    const list = by.get(b.intersection) ?? [];
    list.push({ id: b.id, x: cm(b.x), y: cm(b.y) });
    by.set(b.intersection, list);
  }
  return [...by].map(([inter, list]) => ({
    id: `street-${inter}`, name: `Kerbside at ${inter}`, kind: 'onStreet' as const,
    x: cm(list.reduce((a, b) => a + b.x, 0) / list.length), y: cm(list.reduce((a, b) => a + b.y, 0) / list.length),
    lon: null, lat: null, capacity: list.length,
    tariff: { currency: 'CNY', perHour: 600, freeMinutes: 15, incrementMinutes: 15, dailyCap: 5000 }, openingHours: null, bays: list,
  }));
}
