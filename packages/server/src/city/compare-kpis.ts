// What a comparison measures and who wins it: one rule, pure (types only), so
// the server's API, its exports and the dashboard (`@citybrain/server/compare`)
// all name the same winner with the same margin.
import type { ComparisonPoint, ComparisonRecord } from '../store/store.js';

export type { ComparisonPoint, ComparisonStatus } from '../store/store.js';

/** trips finished per hour are counted over this many simulated seconds before each sample */
export const THROUGHPUT_WINDOW = 300;

export type CompareKpi = 'att' | 'delay' | 'stops' | 'queue' | 'throughput';

export interface CompareKpiDefinition {
  key: CompareKpi;
  /** the sample's field */
  field: 'averageTravelTime' | 'delay' | 'stops' | 'queued' | 'throughput';
  name: string;
  unit: string;
  /** which way is better */
  better: 'lower' | 'higher';
  /** decimals shown */
  digits: number;
  /** a count: no fractional axis ticks */
  integer: boolean;
  /** what a sample holds */
  sample: string;
  /** what the run's figure is, which the winner is named by */
  figure: string;
}

/** The KPIs, in the order shown; the first (ATT) names the overall winner. */
export const COMPARE_KPIS: readonly CompareKpiDefinition[] = [
  { key: 'att', field: 'averageTravelTime', name: 'Average travel time (ATT)', unit: 's', better: 'lower', digits: 1, integer: false,
    sample: 'CityFlow\'s ATT: mean time from generation to the end of the trip over every vehicle generated so far, one still travelling or waiting to enter counted to now.',
    figure: 'ATT at the end of the run.' },
  { key: 'delay', field: 'delay', name: 'Delay per trip', unit: 's', better: 'lower', digits: 1, integer: false,
    sample: 'Mean time loss of the trips finished so far: seconds lost against the free speed (the vehicle\'s top speed or the lane\'s limit, whichever is lower), SUMO\'s timeLoss.',
    figure: 'Over every trip finished in the run.' },
  { key: 'stops', field: 'stops', name: 'Stops per trip', unit: 'stops', better: 'lower', digits: 2, integer: false,
    sample: 'Mean stops of the trips finished so far: times a vehicle slowed below 0.1 m/s after moving.',
    figure: 'Over every trip finished in the run.' },
  { key: 'queue', field: 'queued', name: 'Queued vehicles', unit: 'vehicles', better: 'lower', digits: 1, integer: true,
    sample: 'Vehicles stopped (below 0.1 m/s) on the network\'s lanes at the instant.',
    figure: 'Mean over the run\'s samples.' },
  { key: 'throughput', field: 'throughput', name: 'Throughput', unit: 'trips/h', better: 'higher', digits: 0, integer: true,
    sample: `Trips finished per hour over the last ${THROUGHPUT_WINDOW} s (since the start, before ${THROUGHPUT_WINDOW} s).`,
    figure: 'Trips finished per hour over the whole run.' },
];

export function compareKpi(key: CompareKpi): CompareKpiDefinition {
  return COMPARE_KPIS.find((k) => k.key === key)!;
}

/** One controller's figure of one KPI over its run so far; null when not measured (no sample, or a record from before the KPI was). */
export function runFigure(series: readonly ComparisonPoint[], key: CompareKpi): number | null {
  const last = series.at(-1);
  if (!last) return null;
  switch (key) {
    case 'queue': {
      const xs = series.map((p) => p.queued).filter((v): v is number => v !== null);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
    }
    case 'throughput':
      return last.throughput === null || last.t <= 0 ? null : (last.finishedVehicles * 3600) / last.t;
    default:
      return last[compareKpi(key).field];
  }
}

/** The winner of one KPI and its margin against each other controller. */
export interface KpiVerdict {
  kpi: CompareKpi;
  /** per controller, in the comparison's order */
  values: (number | null)[];
  /** the best, or null when fewer than two were measured or the best two are level (to the digits shown) */
  winner: string | null;
  /** the measured controllers other than the winner, best first: value, and the winner's margin (absolute, and % of their value) */
  against: { controller: string; value: number; margin: number; marginPct: number | null }[];
}

/** The overall winner, as a listing says it: the best ATT, against the runner-up. */
export interface ComparisonWinner {
  controller: string;
  kpi: CompareKpi;
  value: number;
  runnerUp: string;
  runnerUpValue: number;
  margin: number;
  marginPct: number | null;
}

export interface ComparisonVerdict {
  kpis: KpiVerdict[];
  winner: ComparisonWinner | null;
}

export function kpiVerdict(controllers: readonly string[], series: Readonly<Record<string, readonly ComparisonPoint[]>>, key: CompareKpi): KpiVerdict {
  const def = compareKpi(key);
  // figures and margins to the digits shown: the API, the exports and the dashboard say the same numbers
  const round = (v: number) => Math.round(v * 10 ** def.digits) / 10 ** def.digits;
  const values = controllers.map((c) => {
    const v = runFigure(series[c] ?? [], key);
    return v === null || !Number.isFinite(v) ? v : round(v);
  });
  const ranked = controllers
    .map((controller, k) => ({ controller, value: values[k] }))
    .filter((x): x is { controller: string; value: number } => x.value !== null && Number.isFinite(x.value))
    .sort((a, b) => (def.better === 'lower' ? a.value - b.value : b.value - a.value));
  if (ranked.length < 2 || ranked[0].value === ranked[1].value) return { kpi: key, values, winner: null, against: [] };
  const best = ranked[0];
  return {
    kpi: key, values, winner: best.controller,
    against: ranked.slice(1).map((o) => {
      const margin = round(Math.abs(o.value - best.value));
      return { controller: o.controller, value: o.value, margin, marginPct: o.value === 0 ? null : Math.round((margin / Math.abs(o.value)) * 1000) / 10 };
    }),
  };
}

/** Every KPI's verdict, and the overall winner: the lowest ATT. */
export function comparisonVerdict(controllers: readonly string[], series: Readonly<Record<string, readonly ComparisonPoint[]>>): ComparisonVerdict {
  const kpis = COMPARE_KPIS.map((k) => kpiVerdict(controllers, series, k.key));
  const att = kpis[0];
  const values = att.values;
  const winner: ComparisonWinner | null = att.winner === null ? null : {
    controller: att.winner, kpi: att.kpi, value: values[controllers.indexOf(att.winner)]!,
    runnerUp: att.against[0].controller, runnerUpValue: att.against[0].value, margin: att.against[0].margin, marginPct: att.against[0].marginPct,
  };
  return { kpis, winner };
}

/** A record as stored before the KPIs beyond ATT were measured: those read as null, intersections as none. Returns the same object, upgraded. */
export function upgradeComparison(r: ComparisonRecord): ComparisonRecord {
  for (const points of Object.values(r.series)) {
    for (const p of points) {
      p.delay ??= null;
      p.stops ??= null;
      p.queued ??= null;
      p.throughput ??= null;
    }
  }
  r.intersections ??= {};
  return r;
}
