import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGrid } from '@citybrain/engine';
import type { SimulateResult } from '../commands/simulate.js';
import { round } from '../round.js';
import { table } from '../table.js';
import { referenceFiles } from './data.js';
import { CITYFLOW_GRID36, REFERENCE_SCENARIOS, SUMO_CFG, SUMO_DIR, SUMO_HANGZHOU, SUMO_NET, SUMO_ROUTES } from './reference.js';

/** Each case runs in its own process so its wall time and peak memory are its own. */
function runChild(args: string[]): SimulateResult {
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  const r = spawnSync(process.execPath, [main, 'simulate', ...args, '--json'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`simulate ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SimulateResult;
}

/**
 * Wall time, vehicle updates per second and peak memory for HZ1 (3600 s,
 * fixed-time) and a generated `gridN` x `gridN` grid (900 s, built-in plans),
 * beside CityFlow's; with Debian's sumo installed, SUMO on the Hangzhou SUMO files.
 */
export function benchSpeed(data: string, json: boolean, gridN: number): void {
  const hz = REFERENCE_SCENARIOS[0];
  const results: Record<string, unknown>[] = [];
  const hzFiles = referenceFiles(data, hz);
  const hz1 = runChild(['--roadnet', hzFiles.roadnet, '--flow', hzFiles.flow, '--controller', 'fixed', '--steps', '3600']);
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
