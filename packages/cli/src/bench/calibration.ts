import { calibrateDemandByRuns, generateGrid, geh, LaneEntries, Simulation, type CalibrationRun, type CountPosition, type CountRow, type Scenario } from '@citybrain/engine';
import { controllers, runControlled } from '@citybrain/control';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { simulate } from '../commands/simulate.js';
import { UsageError } from '../usage.js';
import { round } from '../round.js';
import { table } from '../table.js';
import { readReference } from './data.js';
import { HOUR, REFERENCE_SCENARIOS } from './reference.js';

/** One scenario of the calibration benchmark (issue #15's JSON entry, plus timings). */
export interface CalibrationEntry {
  scenario: string;
  /** % of the original's counts the fitted demand's simulated counts meet with GEH < 5 */
  gehBelow5Percent: number;
  /** the same, of the fit's own model values (what `citybrain calibrate` reports) */
  gehBelow5PercentFit: number;
  /** the same at the stop lines, which the fit did not see: the fitted demand's stop-line counts against the original's */
  gehBelow5PercentStopLine: number;
  attFixedOriginal: number;
  attFixedFitted: number;
  attMaxPressureOriginal: number;
  attMaxPressureFitted: number;
  vehiclesOriginal: number;
  vehiclesFitted: number;
  counts: number;
  fitSeconds: number;
  /** how the fit shared counts among routes that explain them alike: the one whose simulated counts met the counts better (calibrateDemandByRuns) */
  routeSharing: string;
}

/** Counts are taken every 300 s, on every lane: the usual 5-minute detector interval. */
export const COUNT_INTERVAL = 300;

/** Seconds the detectors go on counting after the demand's hour: the vehicles still queued at its end are counted too. */
export const DRAIN = 1800;
/** Simulation runs that measure the times from departure to each detector (calibrateDemandByRuns). */
export const RUNS = 5;

/** The fitted demand run as the counts were taken: fixed-time. */
function fixedRun(steps: number): CalibrationRun {
  return async (scenario, observe) => {
    const sim = new Simulation(scenario);
    await runControlled(sim, controllers.fixed(), steps, { onStep: (s) => observe(s) });
  };
}

/**
 * Where the benchmark's detectors count on every lane: at the lane's upstream
 * end, where an entry lane's count is the demand itself (a stop line passes a
 * saturated approach's capacity whatever arrived; docs/benchmarks.md, "Calibration").
 */
export const COUNT_POSITIONS_BENCH: readonly CountPosition[] = ['entry'];

/**
 * Counts per lane and interval of a scenario run under the fixed-time
 * controller, at each of `positions` (stop line: loop detectors at the stop
 * line; entry: at the lane's upstream end), in that order within an interval.
 */
export async function countsOf(scenario: Scenario, seconds: number, every = COUNT_INTERVAL, positions: readonly CountPosition[] = COUNT_POSITIONS_BENCH): Promise<CountRow[]> {
  const sim = new Simulation(scenario);
  const lanes = sim.net.nLanes;
  const stop = new Int32Array(lanes), entered = new Int32Array(lanes);
  const entries = new LaneEntries(sim);
  const rows: CountRow[] = [];
  const flush = (begin: number, end: number) => {
    for (const position of positions) {
      for (let l = 0; l < lanes; l++) {
        const c = position === 'entry' ? entered[l] : sim.laneCrossings(l) - stop[l];
        rows.push({ begin, end, at: { lane: sim.net.laneId(l) }, count: c, position, line: rows.length + 2 });
      }
    }
    for (let l = 0; l < lanes; l++) stop[l] = sim.laneCrossings(l);
    entered.fill(0);
  };
  await runControlled(sim, controllers.fixed(), seconds, {
    onStep: (_s, k) => {
      entries.forEach((_v, lane) => entered[lane]++);
      const t = k + 1;
      if (t % every === 0) flush(t - every, t);
    },
  });
  return rows;
}

/** An extra generated scenario for the benchmark: a rows x cols grid at `demand` vehicles/s per route (generateGrid). */
export interface GridScenario {
  rows: number;
  cols: number;
  demand: number;
}

/** The default scenarios' keys: HZ1, JN1 and the 4 x 4 grid at 1/20. */
export const DEFAULT_CALIBRATION_SCENARIOS = ['HZ1', 'JN1', 'grid4x4'] as const;

/**
 * Counts taken from HZ1, JN1 and a generated 4 x 4 grid (every lane at
 * COUNT_POSITIONS_BENCH, 5-minute intervals, fixed-time), demand fitted from those counts alone, and the
 * fitted demand run beside the original under fixed-time and max-pressure;
 * then each of `grids` (generated, keyed `grid<rows>x<cols>@<demand>`); without
 * `defaults` only those.
 */
export async function benchCalibration(data: string, seconds: number = HOUR, grids: readonly GridScenario[] = [], defaults = true): Promise<CalibrationEntry[]> {
  const scenarios: [string, () => Scenario][] = [];
  if (defaults) {
    for (const key of ['HZ1', 'JN1']) scenarios.push([key, () => readReference(data, REFERENCE_SCENARIOS.find((r) => r.key === key)!)]);
    scenarios.push(['grid4x4', () => generateGrid({ rows: 4, cols: 4, demand: 1 / 20, endTime: seconds - 1 })]);
  }
  for (const g of grids) scenarios.push([`grid${g.rows}x${g.cols}@${round(g.demand, 4)}`, () => generateGrid({ rows: g.rows, cols: g.cols, demand: g.demand, endTime: seconds - 1 })]);
  const out: CalibrationEntry[] = [];
  for (const [key, make] of scenarios) out.push(await calibrationEntry(key, make(), seconds));
  return out;
}

/** One scenario of the benchmark: its counts, the demand fitted to them, both run under fixed-time and max-pressure. */
export async function calibrationEntry(key: string, original: Scenario, seconds: number = HOUR): Promise<CalibrationEntry> {
  // the detectors count on while the network drains; the demand to fit is the hour's
  const counts = await countsOf(original, seconds + DRAIN);
  const stopLine = await countsOf(original, seconds + DRAIN, COUNT_INTERVAL, ['stop-line']);
  const t0 = performance.now();
  const fit = await calibrateDemandByRuns(original.roadnet, counts, [], { vehicle: original.flows[0]?.vehicle, departUntil: seconds, runs: RUNS }, fixedRun(seconds + DRAIN));
  const fitSeconds = (performance.now() - t0) / 1000;
  const fitted: Scenario = { roadnet: original.roadnet, flows: fit.flows };
  const recount = await countsOf(fitted, seconds + DRAIN);
  const below = counts.filter((c, i) => geh(recount[i].count, c.count, c.end - c.begin) < 5).length;
  const restop = await countsOf(fitted, seconds + DRAIN, COUNT_INTERVAL, ['stop-line']);
  const belowStop = stopLine.filter((c, i) => geh(restop[i].count, c.count, c.end - c.begin) < 5).length;
  const run = (s: Scenario, controller: string) => simulate(s, { controller, steps: seconds });
  const [fo, ff, mo, mf] = [await run(original, 'fixed'), await run(fitted, 'fixed'), await run(original, 'max-pressure'), await run(fitted, 'max-pressure')];
  return {
    scenario: key,
    gehBelow5Percent: round((100 * below) / counts.length, 1),
    gehBelow5PercentFit: round(fit.gehBelow5Percent, 1),
    gehBelow5PercentStopLine: round((100 * belowStop) / stopLine.length, 1),
    attFixedOriginal: fo.averageTravelTime, attFixedFitted: ff.averageTravelTime,
    attMaxPressureOriginal: mo.averageTravelTime, attMaxPressureFitted: mf.averageTravelTime,
    vehiclesOriginal: fo.enteredVehicles, vehiclesFitted: ff.enteredVehicles,
    counts: counts.length, fitSeconds: round(fitSeconds, 2), routeSharing: fit.routeSharing,
  };
}

/**
 * `--grid` values (`ROWSxCOLS`, repeatable or comma-separated) paired with
 * `--demand` values (vehicles/s per route, a number or a fraction `1/15`):
 * one demand for all grids, or one per grid in order; default 1/20.
 */
export function parseGridScenarios(grids: readonly string[], demands: readonly string[]): GridScenario[] {
  const split = (v: readonly string[]) => v.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const g = split(grids), d = split(demands);
  if (d.length > 1 && d.length !== g.length) throw new UsageError(`--demand: give one value, or one per --grid (${g.length}), got ${d.length}`);
  if (d.length > 0 && g.length === 0) throw new UsageError('--demand: needs --grid');
  const demand = (s: string): number => {
    const m = /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(s);
    const v = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
    if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`--demand: expected vehicles/s per route (0.1 or 1/10), got "${s}"`);
    return v;
  };
  return g.map((s, i) => {
    const m = /^(\d+)x(\d+)$/.exec(s);
    const rows = m ? Number(m[1]) : NaN, cols = m ? Number(m[2]) : NaN;
    if (!m || rows < 1 || cols < 1 || rows > 200 || cols > 200) throw new UsageError(`--grid: expected ROWSxCOLS (1x6), 1 to 200 each, got "${s}"`);
    return { rows, cols, demand: d.length === 0 ? 1 / 20 : demand(d.length === 1 ? d[0] : d[i]) };
  });
}

/** Whether an entry meets issue #15's target: GEH < 5 on >= 85% of counts, both ATTs within 5%. */
export function calibrationPasses(e: CalibrationEntry): boolean {
  const near = (a: number, b: number) => Math.abs(a - b) <= 0.05 * b;
  return e.gehBelow5Percent >= 85 && near(e.attFixedFitted, e.attFixedOriginal) && near(e.attMaxPressureFitted, e.attMaxPressureOriginal);
}

export const benchCalibrateHelp = `citybrain bench calibrate [--data DIR] [--grid RxC ...] [--demand D ...] [--only-grids] [--json]

Counts (every lane at its upstream end, 300 s, fixed-time, through a 30-minute
drain) taken from HZ1, JN1 and a 4 x 4 grid at 1/20 vehicles/s per route;
demand fitted from those counts alone; the fitted demand's counts and its
fixed-time and max-pressure ATT beside the original's. Exits 1 unless every
scenario has GEH < 5 on >= 85% of counts and both ATTs within 5%.

  --data DIR     the real-data folder (default ../shared/data)
  --grid RxC     also a generated grid of R rows and C columns (repeatable or
                 comma-separated: --grid 1x6,3x5)
  --demand D     its demand, vehicles/s per route (0.1 or 1/10): one for every
                 --grid or one per --grid in order; default 1/20
  --only-grids   only the --grid scenarios, not HZ1, JN1 and the 4 x 4 grid
  --json         {"calibration":[{"scenario":..,"gehBelow5Percent":..,...}],"pass":bool}`;

/** `citybrain bench calibrate`: the table (or JSON); exit code 1 when a scenario misses the target. */
export async function benchCalibrate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '../shared/data' }, json: { type: 'boolean', default: false },
      grid: { type: 'string', multiple: true, default: [] }, demand: { type: 'string', multiple: true, default: [] },
      'only-grids': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchCalibrateHelp);
  const grids = parseGridScenarios(values.grid!, values.demand!);
  if (values['only-grids'] && grids.length === 0) throw new UsageError('--only-grids: needs --grid');
  const entries = await benchCalibration(resolve(values.data!), HOUR, grids, !values['only-grids']);
  const pass = entries.every(calibrationPasses);
  if (values.json) console.log(JSON.stringify({ calibration: entries, pass }));
  else printCalibration(entries);
  if (!pass) process.exitCode = 1;
}

/** The calibration table, each scenario judged against the target. */
export function printCalibration(entries: readonly CalibrationEntry[]): void {
  {
    console.log(`Calibration: demand fitted to fixed-time counts at ${COUNT_POSITIONS_BENCH.join(' and ')} (every lane, ${COUNT_INTERVAL} s), ${HOUR} s; ` +
      `GEH<5 stop line: the fitted demand's stop-line counts, which the fit did not see\n`);
    console.log(table(
      ['scenario', 'counts', 'GEH<5 sim', 'GEH<5 fit', 'GEH<5 stop line', 'vehicles orig/fit', 'fixed ATT orig/fit', 'max-pressure ATT orig/fit', 'routes shared', 'fit s', 'target'],
      entries.map((e) => [e.scenario, e.counts, `${e.gehBelow5Percent}%`, `${e.gehBelow5PercentFit}%`, `${e.gehBelow5PercentStopLine}%`, `${e.vehiclesOriginal}/${e.vehiclesFitted}`,
        `${e.attFixedOriginal.toFixed(1)}/${e.attFixedFitted.toFixed(1)}`, `${e.attMaxPressureOriginal.toFixed(1)}/${e.attMaxPressureFitted.toFixed(1)}`, e.routeSharing, e.fitSeconds, calibrationPasses(e) ? 'PASS' : 'FAIL']),
    ));
  }
}
