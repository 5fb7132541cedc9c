// A comparison's downloads: its samples as CSV and its report as one
// self-contained HTML page (the same builder as `citybrain simulate --out`'s).
// Pure, so the dashboard's sandbox offers the same files.
import { isAdvisory } from '@citybrain/control';
import { comparisonReportHtml, toCsv, type RoadnetJson } from '@citybrain/engine';
import type { ComparisonRecord } from '../store/store.js';
import { COMPARE_KPIS, comparisonVerdict, THROUGHPUT_WINDOW, type ComparisonVerdict } from './compare-kpis.js';

/** What the exports read of a comparison. */
export type ComparisonExportInput = Pick<ComparisonRecord, 'id' | 'controllers' | 'duration' | 'sampleEvery' | 'status' | 'time' | 'createdAt' | 'series' | 'faults' | 'intersections'>;

/** The CSV's columns: each name carries its unit. */
const CSV_COLUMNS = ['controller', 't_s', 'att_s', 'delay_s_per_trip', 'stops_per_trip', 'queued_vehicles', 'throughput_trips_per_h', 'in_network_vehicles', 'finished_trips'] as const;

/** One row per controller per sample, every KPI; empty where not measured. */
export function comparisonCsv(c: ComparisonExportInput): string {
  const rows = c.controllers.flatMap((controller) => (c.series[controller] ?? []).map((p) => ({
    controller, t_s: p.t, att_s: p.averageTravelTime, delay_s_per_trip: p.delay, stops_per_trip: p.stops, queued_vehicles: p.queued,
    throughput_trips_per_h: p.throughput, in_network_vehicles: p.vehiclesInNetwork, finished_trips: p.finishedVehicles,
  })));
  return toCsv(rows, CSV_COLUMNS);
}

/** The winner sentence in the report's English (the dashboard says it in its language). */
export function verdictSentence(v: ComparisonVerdict): string {
  const w = v.winner;
  if (!w) return 'No winner: fewer than two controllers have an ATT yet, or the best two are level.';
  const pct = w.marginPct === null ? '' : `, ${w.marginPct.toFixed(1)}% below`;
  return `${w.controller} wins: ATT ${w.value.toFixed(1)} s${pct} ${w.runnerUp}'s ${w.runnerUpValue.toFixed(1)} s (${w.margin.toFixed(1)} s less).`;
}

export function comparisonReport(c: ComparisonExportInput, roadnet: RoadnetJson, generatedAt = new Date().toISOString()): string {
  const verdict = comparisonVerdict(c.controllers, c.series);
  // an error or a gridlock hands an intersection over; the guards' advisory faults (a green ended, a ring metered) do not
  const lost = (n: string) => (c.faults[n] ?? []).filter((f) => !isAdvisory(f));
  const fallen = c.controllers.filter((n) => lost(n).length > 0).map((n) => `${n}: ${new Set(lost(n).map((f) => f.intersection)).size}`);
  return comparisonReportHtml({
    title: `CityBrain comparison ${c.id}: ${c.controllers.join(' vs ')}`,
    facts: [
      ['controllers', c.controllers.join(', ')],
      ['simulated', `${Math.round(c.time)} s of ${c.duration} s (${c.status}), sampled every ${c.sampleEvery} s`],
      ['started', new Date(c.createdAt).toISOString()],
      ['fixed-time fallback', fallen.length ? `intersections handed to the fixed plan (their figures are the fallback's): ${fallen.join(', ')}` : 'none'],
    ],
    controllers: c.controllers,
    kpis: COMPARE_KPIS.map((k, i) => {
      const kv = verdict.kpis[i];
      return { name: k.name, unit: k.unit, digits: k.digits, definition: `${k.figure} ${k.sample}`, values: kv.values, best: kv.winner === null ? null : c.controllers.indexOf(kv.winner) };
    }),
    verdict: verdictSentence(verdict),
    charts: COMPARE_KPIS.map((k) => ({
      title: k.key === 'throughput' ? `Throughput over the last ${THROUGHPUT_WINDOW} s` : k.name, unit: k.unit, integer: k.integer,
      series: c.controllers.map((n) => (c.series[n] ?? []).flatMap((p) => (p[k.field] === null ? [] : [[p.t, p[k.field] as number] as [number, number]]))),
    })),
    intersections: c.controllers.map((n) => c.intersections[n] ?? null),
    roadnet,
    generatedAt,
  });
}
