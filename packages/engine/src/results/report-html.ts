import { LOS_THRESHOLDS, type ApproachRecord, type IntersectionRecord, type LevelOfService, type TimeSample } from './run-recorder.js';
import type { RoadnetJson } from '../format/cityflow.js';
import type { MeanCi } from './stats.js';

/**
 * The run report: one self-contained HTML file (inline CSS and SVG, no
 * script, no font or file fetched), viewable offline and printable. Pure
 * string building: `citybrain simulate --out` writes it, the server and the
 * dashboard's sandbox answer a comparison's (`comparisonReportHtml`).
 */
export interface ReportInput {
  title: string;
  /** what was run: scenario files, controller, seconds, seeds */
  facts: [string, string][];
  /** KPI name, unit, value over seeds, and its definition */
  kpis: { name: string; unit: string; value: MeanCi; definition: string; digits?: number }[];
  /** one time series per seed, same windows */
  series: readonly (readonly TimeSample[])[];
  /** seed 0's, or the mean over seeds */
  intersections: readonly IntersectionRecord[];
  approaches: readonly ApproachRecord[];
  roadnet: RoadnetJson;
  generatedAt: string;
}

const STYLE = `<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1a202c}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #cbd5e0}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{padding:.25rem .5rem;border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}.muted{color:#4a5568;font-size:.9rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1rem}svg text{font:12px system-ui,sans-serif;fill:#2d3748}
.los{display:inline-block;width:1.4em;text-align:center;border-radius:3px;font-weight:600}
</style>`;

const LOS_COLOURS: Record<LevelOfService, string> = { A: '#1a9850', B: '#91cf60', C: '#d9ef8b', D: '#fee08b', E: '#fc8d59', F: '#d73027' };

export function reportHtml(r: ReportInput): string {
  const seeds = r.series.length;
  const mean = (pick: (s: TimeSample) => number | null) => meanSeries(r.series, pick);
  const charts = [
    lineChart('Vehicles on the network and waiting to enter', 'vehicles', true, [
      { name: 'on the network', colour: '#2b6cb0', points: mean((s) => s.inNetwork) },
      { name: 'waiting to enter', colour: '#c05621', points: mean((s) => s.waitingToEnter) },
    ]),
    lineChart('Throughput: trips finished per hour, per window', 'vehicles / h', true, [{ name: 'throughput', colour: '#2f855a', points: mean((s) => s.throughputPerHour) }]),
    lineChart('Travel time of the trips finished in each window', 's', false, [{ name: 'mean travel time', colour: '#6b46c1', points: mean((s) => s.windowTravelTime) }]),
    lineChart('Mean speed on the network', 'm/s', false, [{ name: 'mean speed', colour: '#2c7a7b', points: mean((s) => s.meanSpeed) }]),
  ];
  const window = r.series[0]?.[1] && r.series[0]?.[0] ? r.series[0][1].time - r.series[0][0].time : r.series[0]?.[0]?.time ?? 0;
  const kpiRows = r.kpis.map((k) => {
    const d = k.digits ?? 1;
    const v = Number.isFinite(k.value.mean) ? k.value.mean.toFixed(d) : '–';
    const ci = k.value.ci95 === null ? '' : ` ± ${k.value.ci95.toFixed(d)}`;
    return `<tr><th>${esc(k.name)}</th><td class="num">${v}${ci} ${esc(k.unit)}</td><td>${esc(k.definition)}</td></tr>`;
  }).join('');
  const ixSorted = [...r.intersections].sort((a, b) => b.delayPerVehicle - a.delayPerVehicle);
  const apSorted = [...r.approaches].sort((a, b) => b.delayPerVehicle - a.delayPerVehicle);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
${STYLE}</head><body>
<h1>${esc(r.title)}</h1>
<p class="muted">Generated ${esc(r.generatedAt)} by citybrain simulate. ${seeds > 1 ? `Figures are means over ${seeds} seeds with 95% confidence intervals (Student's t).` : 'One seed: no confidence interval (run with --seeds N for one).'}</p>
<table>${r.facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<h2>Results</h2>
<table><tr><th>KPI</th><th>value</th><th>definition</th></tr>${kpiRows}</table>
<h2>Over time</h2>
<p class="muted">Each point is a ${window} s window${seeds > 1 ? ', averaged over the seeds' : ''}.</p>
<div class="charts">${charts.join('')}</div>
<h2>Delay by intersection</h2>
<p class="muted">Control delay per vehicle (time lost on the approach lanes per vehicle that crossed the stop line) and the Highway Capacity Manual's level of service: ${LOS_THRESHOLDS.map((t) => `${los(t.los)} ${Number.isFinite(t.upTo) ? `≤ ${t.upTo} s` : `> 80 s`}`).join(', ')}.</p>
${networkMap(r.roadnet, r.intersections)}
<table><tr><th>intersection</th><th>vehicles</th><th>delay s/veh</th><th>stops/veh</th><th>LOS</th></tr>
${ixSorted.map((i) => `<tr><td>${esc(i.intersection)}</td><td class="num">${Math.round(i.vehicles)}</td><td class="num">${i.delayPerVehicle.toFixed(1)}</td><td class="num">${i.stopsPerVehicle.toFixed(2)}</td><td>${los(i.los)}</td></tr>`).join('\n')}</table>
<h2>Approaches</h2>
<p class="muted">Queue: vehicles below 0.1 m/s on the approach's lanes, sampled every step: median, 95th percentile and longest.</p>
<table><tr><th>intersection</th><th>from</th><th>road</th><th>lanes</th><th>vehicles</th><th>delay s/veh</th><th>stops/veh</th><th>queue p50 / p95 / max</th><th>LOS</th></tr>
${apSorted.map((a) => `<tr><td>${esc(a.intersection)}</td><td>${a.from}</td><td>${esc(a.road)}${a.roadName !== null ? ` (${esc(a.roadName)})` : ''}</td><td class="num">${a.lanes}</td><td class="num">${Math.round(a.vehicles)}</td><td class="num">${a.delayPerVehicle.toFixed(1)}</td><td class="num">${a.stopsPerVehicle.toFixed(2)}</td><td class="num">${fmt(a.queueP50)} / ${fmt(a.queueP95)} / ${fmt(a.queueMax)}</td><td>${los(a.los)}</td></tr>`).join('\n')}</table>
</body></html>
`;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function los(l: LevelOfService): string {
  return `<span class="los" style="background:${LOS_COLOURS[l]}">${l}</span>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Per window, the mean over seeds of `pick` (windows where it is null in every seed are left out). */
function meanSeries(series: readonly (readonly TimeSample[])[], pick: (s: TimeSample) => number | null): [number, number][] {
  const out: [number, number][] = [];
  const len = Math.min(...series.map((s) => s.length));
  for (let k = 0; k < len; k++) {
    const vals = series.map((s) => pick(s[k])).filter((v): v is number => v !== null);
    if (vals.length) out.push([series[0][k].time, vals.reduce((a, b) => a + b, 0) / vals.length]);
  }
  return out;
}

/** Round tick values covering [0, max]: about five, at 1, 2 or 5 times a power of ten (whole numbers when `integer`). */
function ticks(max: number, integer: boolean): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  if (integer) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(v);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

function lineChart(title: string, unit: string, integer: boolean, series: { name: string; colour: string; points: [number, number][] }[]): string {
  const W = 520, H = 250, L = 56, R = 12, T = 40, B = 40;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<figure><svg viewBox="0 0 ${W} ${H}" role="img"><text x="${L}" y="18">${esc(title)}: no data</text></svg></figure>`;
  const xMax = Math.max(...all.map((p) => p[0]));
  const yt = ticks(Math.max(...all.map((p) => p[1])), integer);
  const xt = ticks(xMax / 60, true).map((m) => m * 60);
  const yTop = yt[yt.length - 1], xTop = Math.max(xt[xt.length - 1], 1);
  const x = (v: number) => L + ((W - L - R) * v) / xTop;
  const y = (v: number) => H - B - ((H - T - B) * v) / yTop;
  const grid = yt.map((v) => `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#e2e8f0"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${integer ? Math.round(v) : +v.toFixed(2)}</text>`).join('');
  const xs = xt.map((v) => `<text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${v / 60}</text>`).join('');
  const lines = series.map((s) => `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`).join('');
  // four controllers share the width
  const gap = Math.min(150, (W - L) / series.length);
  // the swatch's colour as a style: the sheet's `svg text` fill would beat a fill attribute
  const legend = series.length > 1 ? series.map((s, k) => `<text x="${L + k * gap}" y="32"><tspan style="fill:${s.colour}">■</tspan> ${esc(s.name)}</text>`).join('') : '';
  return `<figure style="margin:0"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><text x="${L}" y="16" font-weight="600">${esc(title)}</text>${grid}${xs}${lines}${legend}<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">minutes</text><text x="12" y="${(T + H - B) / 2}" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle">${esc(unit)}</text></svg></figure>`;
}

/** The network drawn to scale (roads as lines), each signalised intersection a disc coloured by its level of service. */
function networkMap(roadnet: RoadnetJson, ixs: readonly IntersectionRecord[]): string {
  const pts = roadnet.roads.flatMap((r) => r.points);
  if (pts.length === 0) return '';
  const minX = Math.min(...pts.map((p) => p.x)), maxX = Math.max(...pts.map((p) => p.x));
  const minY = Math.min(...pts.map((p) => p.y)), maxY = Math.max(...pts.map((p) => p.y));
  const W = 1000, pad = 24;
  const scale = (W - 2 * pad) / Math.max(maxX - minX, maxY - minY, 1);
  const H = Math.max(200, Math.round((maxY - minY) * scale + 2 * pad));
  const X = (v: number) => (pad + (v - minX) * scale).toFixed(1);
  // y grows to the north in the roadnet and downwards on screen
  const Y = (v: number) => (H - pad - (v - minY) * scale).toFixed(1);
  const roads = roadnet.roads.map((r) => `<polyline fill="none" stroke="#a0aec0" stroke-width="2" points="${r.points.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ')}"/>`).join('');
  const radius = Math.max(5, Math.min(16, 8 * Math.sqrt(20 / Math.max(1, ixs.length))));
  const discs = ixs.map((i) => `<circle cx="${X(i.x)}" cy="${Y(i.y)}" r="${radius.toFixed(1)}" fill="${LOS_COLOURS[i.los]}" stroke="#1a202c"><title>${esc(i.intersection)}: ${i.delayPerVehicle.toFixed(1)} s/veh, LOS ${i.los}</title></circle>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="network map of delay by intersection" style="width:100%;max-height:80vh;border:1px solid #e2e8f0">${roads}${discs}</svg>`;
}

/** A comparison's report: controllers side by side on the same demand, each a column and a line. */
export interface ComparisonReportInput {
  title: string;
  /** what was run: network, controllers, seconds, status */
  facts: [string, string][];
  /** the columns, in order */
  controllers: readonly string[];
  /** per KPI: its value per controller (null: not measured) and the column of the best (null: none) */
  kpis: { name: string; unit: string; definition: string; digits?: number; values: readonly (number | null)[]; best: number | null }[];
  /** the winner and its margin, one sentence */
  verdict: string;
  /** charts over time, one series per controller (same order), points [t s, value] */
  charts: { title: string; unit: string; integer: boolean; series: readonly (readonly [number, number][])[] }[];
  /** per controller, its intersections' control delay and level of service; null where none was recorded */
  intersections: readonly (readonly IntersectionRecord[] | null)[];
  roadnet: RoadnetJson;
  generatedAt: string;
}

/** Colours of up to four controllers, readable on white. */
const RUN_COLOURS = ['#c05621', '#2b6cb0', '#6b46c1', '#2f855a'];

export function comparisonReportHtml(r: ComparisonReportInput): string {
  const names = r.controllers;
  const head = names.map((n, k) => `<th class="num" style="color:${RUN_COLOURS[k % 4]}">${esc(n)}</th>`).join('');
  const kpiRows = r.kpis.map((k) => {
    const cells = k.values.map((v, c) => {
      const text = v === null || !Number.isFinite(v) ? '–' : `${v.toFixed(k.digits ?? 1)}${k.unit ? ` ${esc(k.unit)}` : ''}`;
      return `<td class="num">${c === k.best ? `<strong>${text}</strong>` : text}</td>`;
    }).join('');
    return `<tr><th>${esc(k.name)}</th>${cells}<td class="muted">${esc(k.definition)}</td></tr>`;
  }).join('\n');
  const charts = r.charts.map((c) => lineChart(c.title, c.unit, c.integer, names.map((n, k) => ({ name: n, colour: RUN_COLOURS[k % 4], points: [...(c.series[k] ?? [])] as [number, number][] }))));
  // every intersection any run recorded, worst first by the worst of the runs
  const ids = new Map<string, number>();
  r.intersections.forEach((list) => list?.forEach((i) => ids.set(i.intersection, Math.max(ids.get(i.intersection) ?? 0, i.delayPerVehicle))));
  const byId = r.intersections.map((list) => new Map((list ?? []).map((i) => [i.intersection, i])));
  const ixRows = [...ids].sort((a, b) => b[1] - a[1]).map(([id]) => `<tr><td>${esc(id)}</td>${byId.map((m) => {
    const i = m.get(id);
    return i ? `<td class="num">${i.delayPerVehicle.toFixed(1)} s · ${i.stopsPerVehicle.toFixed(2)} · ${Math.round(i.vehicles)} ${los(i.los)}</td>` : '<td class="num">–</td>';
  }).join('')}</tr>`).join('\n');
  const maps = names.map((n, k) => {
    const list = r.intersections[k];
    return `<figure style="margin:0"><figcaption style="color:${RUN_COLOURS[k % 4]};font-weight:600">${esc(n)}</figcaption>${list ? networkMap(r.roadnet, list) : '<p class="muted">not recorded</p>'}</figure>`;
  }).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
${STYLE}</head><body>
<h1>${esc(r.title)}</h1>
<p class="muted">Generated ${esc(r.generatedAt)} by CityBrain. The controllers ran side by side in copies of the city's twin on the same demand, from an empty network; the figures are that simulation's.</p>
<table>${r.facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<h2>Results</h2>
<p class="verdict"><strong>${esc(r.verdict)}</strong></p>
<table><tr><th>KPI</th>${head}<th>definition</th></tr>
${kpiRows}</table>
<p class="muted">The best of each KPI in bold.</p>
<h2>Over time</h2>
<div class="charts">${charts.join('')}</div>
<h2>Delay by intersection</h2>
<p class="muted">Control delay per vehicle (time lost on the approach lanes per vehicle that crossed the stop line), stops per vehicle, vehicles, and the Highway Capacity Manual's level of service: ${LOS_THRESHOLDS.map((t) => `${los(t.los)} ${Number.isFinite(t.upTo) ? `≤ ${t.upTo} s` : `> 80 s`}`).join(', ')}.</p>
<div class="charts">${maps}</div>
<table><tr><th>intersection</th>${head}</tr>
${ixRows}</table>
</body></html>
`;
}
