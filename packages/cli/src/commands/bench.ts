import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGrid } from '@citybrain/engine';
import { readScenario } from '../scenario-files.js';
import { simulate, round, type SimulateResult } from './simulate.js';
import { CITYFLOW_GRID36, REFERENCE_SCENARIOS, SUMO_CFG, SUMO_DIR, SUMO_HANGZHOU, SUMO_NET, SUMO_ROUTES } from './reference.js';
import { intOption, UsageError } from '../usage.js';
import { table } from '../table.js';

export const benchHelp = `citybrain bench fidelity|speed|control|emergency|ingest|incidents [--data DIR] [--json]

  fidelity   our average travel time beside CityFlow's on HZ1, HZ2, JN1, JN2, JN3
             under the fixed-time and max-pressure protocols; exits 1 if any
             deviates by more than 5%
  speed      wall time, vehicle updates per second and peak memory for HZ1
             (3600 s, fixed-time) and a generated 36 x 36 grid (900 s, built-in
             plans); with Debian's sumo installed, SUMO on the Hangzhou SUMO files
  control    every controller's average travel time on the five real scenarios,
             against CityFlow's max-pressure and the learned state of the art
  emergency  emergency vehicles' travel time with and without signal priority
  ingest     the operations server's durable ingestion: sustained events/s and
             acknowledgement latency at 10,000 events/s, SQLite and PostgreSQL
             (citybrain bench ingest --help for its options)
  incidents  automatic incident detection against breakdowns the virtual city
             causes: detection rate, precision, time to detect, false alarms
             (citybrain bench incidents --help for its options)

  --data DIR    the real-data folder (default ../shared/data)
  --grid N      grid size for the speed benchmark (default 36)
  --json        machine-readable output`;

export async function benchCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind === undefined || kind === '--help' || kind === '-h') return void console.log(benchHelp);
  if (kind === 'ingest') return (await import('./bench-ingest.js')).benchIngest(rest);
  if (kind === 'incidents') return (await import('./bench-incidents.js')).benchIncidents(rest);
  const { values } = parseArgs({
    args: rest,
    options: { data: { type: 'string', default: '../shared/data' }, json: { type: 'boolean', default: false }, grid: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void console.log(benchHelp);
  const data = resolve(values.data!);
  if (kind === 'fidelity') return benchFidelity(data, values.json!);
  if (kind === 'control') return (await import('./bench-control.js')).benchControl(data, values.json!);
  if (kind === 'emergency') return (await import('./bench-emergency.js')).benchEmergency(data, values.json!);
  if (kind === 'speed') return benchSpeed(data, values.json!, intOption(values.grid, 'grid', 36, 1, 100));
  throw new UsageError(`unknown benchmark "${kind}"; choose fidelity, speed, control, emergency, ingest or incidents`);
}

function requireData(data: string, rel: string): string {
  const p = join(data, rel);
  if (!existsSync(p)) throw new UsageError(`${p} not found: point --data at the shared real-data folder`);
  return p;
}

async function benchFidelity(data: string, json: boolean): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  let worst = 0;
  for (const ref of REFERENCE_SCENARIOS) {
    const scenario = readScenario(requireData(data, join(ref.dir, ref.roadnet)), requireData(data, join(ref.dir, ref.flow)));
    for (const [controller, refAtt] of [['fixed', ref.fixed], ['max-pressure', ref.maxPressure]] as const) {
      const r = await simulate(scenario, { controller, steps: 3600 });
      const dev = (r.averageTravelTime - refAtt) / refAtt;
      worst = Math.max(worst, Math.abs(dev));
      rows.push({
        scenario: ref.key, controller, vehicles: r.enteredVehicles, attCityBrain: r.averageTravelTime, attCityFlow: refAtt,
        deviationPercent: round(dev * 100, 2), wallSeconds: r.wallSeconds,
      });
    }
  }
  const pass = worst <= 0.05;
  if (json) console.log(JSON.stringify({ rows, worstDeviationPercent: round(worst * 100, 2), withinFivePercent: pass }));
  else {
    console.log('Fidelity: average travel time (s), 3600 s, seed 0, CityFlow reference from baselines.md\n');
    console.log(table(
      ['scenario', 'controller', 'vehicles', 'CityBrain ATT', 'CityFlow ATT', 'deviation', 'wall s'],
      rows.map((r) => [r.scenario, r.controller, r.vehicles, fmt(r.attCityBrain as number), fmt(r.attCityFlow as number), `${(r.deviationPercent as number) >= 0 ? '+' : ''}${(r.deviationPercent as number).toFixed(2)}%`, (r.wallSeconds as number).toFixed(2)]),
    ));
    console.log(`\nworst deviation ${round(worst * 100, 2)}% (target ±5%): ${pass ? 'PASS' : 'FAIL'}`);
  }
  if (!pass) process.exitCode = 1;
}

/** Each case runs in its own process so its wall time and peak memory are its own. */
function runChild(args: string[]): SimulateResult {
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  const r = spawnSync(process.execPath, [main, 'simulate', ...args, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`simulate ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SimulateResult;
}

function benchSpeed(data: string, json: boolean, gridN: number): void {
  const hz = REFERENCE_SCENARIOS[0];
  const results: Record<string, unknown>[] = [];
  const hz1 = runChild(['--roadnet', requireData(data, join(hz.dir, hz.roadnet)), '--flow', requireData(data, join(hz.dir, hz.flow)), '--controller', 'fixed', '--steps', '3600']);
  results.push({ case: 'HZ1 fixed-time, 3600 s', ...pick(hz1), cityflowWallSeconds: hz.cityflowWallFixed, speedupVsCityFlow: round(hz.cityflowWallFixed / hz1.wallSeconds, 2) });

  const dir = join(tmpdir(), `citybrain-bench-grid${gridN}`);
  mkdirSync(dir, { recursive: true });
  const g = generateGrid({ rows: gridN, cols: gridN });
  writeFileSync(join(dir, 'roadnet.json'), JSON.stringify(g.roadnet));
  writeFileSync(join(dir, 'flow.json'), JSON.stringify(g.flows));
  const grid = runChild(['--roadnet', join(dir, 'roadnet.json'), '--flow', join(dir, 'flow.json'), '--controller', 'plan', '--steps', '900']);
  results.push({
    case: `${gridN}x${gridN} grid, built-in plans, 900 s`, ...pick(grid),
    ...(gridN === 36 ? { cityflowWallSeconds: CITYFLOW_GRID36.wallSeconds, speedupVsCityFlow: round(CITYFLOW_GRID36.wallSeconds / grid.wallSeconds, 2), cityflowPeakMemoryMB: CITYFLOW_GRID36.peakMemoryMB } : {}),
  });

  const sumoNet = join(data, SUMO_DIR, SUMO_NET);
  if (existsSync(sumoNet)) {
    const ours = runChild(['--roadnet', sumoNet, '--flow', join(data, SUMO_DIR, SUMO_ROUTES), '--controller', 'plan', '--steps', '3600']);
    const row: Record<string, unknown> = { case: 'Hangzhou SUMO files, static programs, 3600 s (CityBrain)', ...pick(ours) };
    const sumo = runSumo(join(data, SUMO_DIR, SUMO_CFG));
    if (sumo) {
      row.sumoWallSeconds = sumo.wallSeconds;
      row.speedupVsSumo = round(sumo.wallSeconds / ours.wallSeconds, 2);
      row.hz1SpeedupVsSumo = round(sumo.wallSeconds / hz1.wallSeconds, 2);
    } else row.sumo = `not installed (reference: ${SUMO_HANGZHOU.wallSeconds} s)`;
    results.push(row);
  }
  if (json) return void console.log(JSON.stringify({ results }));
  console.log('Speed: one thread, wall time of the simulation loop (loading excluded), each case in its own process\n');
  console.log(table(
    ['case', 'wall s', 'load s', 'veh updates/s', 'peak MB', 'vehicles in net', 'reference'],
    results.map((r) => [
      r.case, r.wallSeconds, r.loadSeconds, Number(r.vehicleUpdatesPerSecond).toLocaleString('en-US'), r.peakRssMB, r.vehiclesInNetwork,
      r.cityflowWallSeconds !== undefined ? `CityFlow ${r.cityflowWallSeconds} s (${r.speedupVsCityFlow}x)` :
        r.sumoWallSeconds !== undefined ? `SUMO ${r.sumoWallSeconds} s this run (${r.speedupVsSumo}x; HZ1 ${r.hz1SpeedupVsSumo}x)` : String(r.sumo ?? ''),
    ]),
  ));
}

function pick(r: SimulateResult) {
  return {
    wallSeconds: r.wallSeconds, loadSeconds: r.loadSeconds, vehicleUpdatesPerSecond: r.vehicleUpdatesPerSecond, peakRssMB: r.peakRssMB,
    vehiclesInNetwork: r.vehiclesInNetwork, averageTravelTime: r.averageTravelTime, realTimeFactor: r.realTimeFactor,
  };
}

/** Times Debian's sumo on a config, or undefined when sumo is not installed. */
function runSumo(cfg: string): { wallSeconds: number } | undefined {
  const which = spawnSync('sh', ['-c', 'command -v sumo'], { encoding: 'utf8' });
  if (which.status !== 0) return undefined;
  const t0 = performance.now();
  const r = spawnSync('sumo', ['-c', cfg, '--xml-validation', 'never', '--no-step-log', 'true', '--no-warnings', 'true'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sumo failed: ${r.stderr}`);
  return { wallSeconds: round((performance.now() - t0) / 1000, 2) };
}

function fmt(x: number): string {
  return x.toFixed(1);
}
