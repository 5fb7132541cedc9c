import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { generateGrid } from '@citybrain/engine/core';
import type { SimulateResult } from '../commands/simulate.js';
import { round } from '../round.js';
import { table } from '../table.js';
import { intOption, UsageError } from '../usage.js';
import { referenceFiles, requireData } from './data.js';
import { REFERENCE_SCENARIOS, SIDE_BY_SIDE, STORED_GRID36_TLPLAN, SUMO_CFG, SUMO_DIR, SUMO_NET, SUMO_ROUTES, type StoredFigures } from './reference.js';

export const benchSpeedHelp = `citybrain bench speed [--data DIR] [--cases LIST] [--big] [--reps N] [--cpu K] [--json]

Times the simulator, each run in its own process, several runs per case (min and median),
with the conditions beside every timing: cores, node version, load average before and after
each case, the CPU the runs were pinned to. Compares only what it measures in the same run:
SUMO (Debian's sumo, when installed) on the Hangzhou SUMO files; CityFlow's figures are the
stored ones (../shared/reference/baselines.md), labelled with where and when they were
measured, never divided into a figure measured here.

  --cases LIST   comma-separated, of: hz1 (HZ1, fixed-time, 3600 s), sumo (the Hangzhou SUMO
                 files, their static programs, 3600 s, here and in SUMO), gridN (CityFlow's N x N
                 grid, its default phases, 900 s, built-in plans) and gridN-tl (the same with
                 CityFlow's --tlPlan phases, the scenario of CityFlow's stored 36 x 36 figure);
                 default hz1,sumo,grid36,grid36-tl,grid72
  --big          add grid100 (10,000 signals; a few minutes)
  --reps N       runs per case, 1..20; default 3
  --cpu K        pin every run (ours and SUMO's) to CPU K with taskset
  --data DIR     the real-data folder (default ../shared/data)
  --json         machine-readable output`;

/** min and median of a few timings */
export interface Spread {
  min: number;
  median: number;
}

export function spread(xs: number[], digits = 3): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: round(s[0], digits), median: round(median, digits) };
}

/** What the machine was doing: printed beside every timing. */
export interface SpeedConditions {
  cores: number;
  cpuModel: string;
  node: string;
  /** the CPU every run was pinned to (taskset -c), or null */
  taskset: number | null;
  reps: number;
  /** peak RSS of an empty node process (node -e ''), MB: what Node itself takes */
  nodeBaselineRssMB: number;
}

/** One case's figures over its runs. */
export interface SpeedCase {
  case: string;
  runs: number;
  /** the simulation loop alone (loading excluded) */
  loopSeconds: Spread;
  /** reading, validating and compiling the scenario */
  loadSeconds: Spread;
  /** the whole `node main.js simulate` process, start-up included, as the parent timed it */
  processSeconds: Spread;
  vehicleUpdatesPerSecond: Spread;
  peakRssMB: Spread;
  /** median peak RSS minus the empty node process's */
  aboveNodeMB: number;
  enteredVehicles: number;
  vehiclesInNetwork: number;
  lanes: number;
  /** aboveNodeMB over the vehicles that entered, and over the lanes: each an upper bound (all memory charged to one) */
  kBPerVehicle: number;
  kBPerLane: number;
  loadAverage: { before: number; after: number };
  /** a peer measured in this same run on the same input */
  sumo?: { processSeconds: Spread; peakRssMB: Spread | null; version: string; ratioMedian: number } | { skipped: string };
  /** the peer's stored figures, never divided into ours */
  stored?: StoredFigures[];
  /** what the stored figures say the scenario has, against ours (the --tlPlan grid's vehicles at 900 s) */
  check?: string;
}

const MAIN = () => fileURLToPath(new URL('../main.js', import.meta.url));

/** argv prefixed with taskset when pinning */
function pinned(cpu: number | null, cmd: string, args: string[]): [string, string[]] {
  return cpu === null ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
}

/** One `simulate --json` in its own process, so its wall time and peak memory are its own. */
function runChild(cpu: number | null, args: string[]): { r: SimulateResult; processSeconds: number } {
  const [cmd, argv] = pinned(cpu, process.execPath, [MAIN(), 'simulate', ...args, '--json']);
  const t0 = performance.now();
  const c = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const processSeconds = (performance.now() - t0) / 1000;
  if (c.status !== 0) throw new Error(`simulate ${args.join(' ')} failed:\n${c.stderr}`);
  return { r: JSON.parse(c.stdout.trim().split('\n').pop()!) as SimulateResult, processSeconds };
}

/** Peak RSS of an empty node process, MB (median of three). */
export function nodeBaselineRssMB(cpu: number | null): number {
  const xs = [0, 1, 2].map(() => {
    const [cmd, argv] = pinned(cpu, process.execPath, ['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS))']);
    const c = spawnSync(cmd, argv, { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`an empty node process failed: ${c.stderr}`);
    return Number(c.stdout) / 1024;
  });
  return spread(xs, 1).median;
}

function timeCase(name: string, cpu: number | null, reps: number, args: string[]): SpeedCase {
  const before = loadavg()[0];
  const runs = Array.from({ length: reps }, () => runChild(cpu, args));
  const after = loadavg()[0];
  const last = runs[runs.length - 1].r;
  const peak = spread(runs.map((x) => x.r.peakRssMB), 1);
  return {
    case: name,
    runs: reps,
    loopSeconds: spread(runs.map((x) => x.r.wallSeconds)),
    loadSeconds: spread(runs.map((x) => x.r.loadSeconds)),
    processSeconds: spread(runs.map((x) => x.processSeconds)),
    vehicleUpdatesPerSecond: spread(runs.map((x) => x.r.vehicleUpdatesPerSecond), 0),
    peakRssMB: peak,
    aboveNodeMB: 0, // set once the baseline is known
    enteredVehicles: last.enteredVehicles,
    vehiclesInNetwork: last.vehiclesInNetwork,
    lanes: last.lanes,
    kBPerVehicle: 0,
    kBPerLane: 0,
    loadAverage: { before: round(before, 2), after: round(after, 2) },
  };
}

/** Debian's sumo on a config, timed as a whole process like ours; undefined when sumo is not installed. */
function timeSumo(cpu: number | null, reps: number, cfg: string): SpeedCase['sumo'] {
  const which = spawnSync('sh', ['-c', 'command -v sumo'], { encoding: 'utf8' });
  if (which.status !== 0) return { skipped: 'sumo is not installed (apt-get install sumo)' };
  const version = /Eclipse SUMO sumo (?:Version )?v?(\S+)/i.exec(spawnSync('sumo', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 'unknown';
  // GNU time gives the peak RSS of a child; without it, the memory column stays empty
  const gnuTime = existsSync('/usr/bin/time');
  const secs: number[] = [], mem: number[] = [];
  for (let k = 0; k < reps; k++) {
    const sumoArgs = ['-c', cfg, '--xml-validation', 'never', '--no-step-log', 'true', '--no-warnings', 'true', '--duration-log.disable', 'true'];
    const [cmd, argv] = pinned(cpu, 'sumo', sumoArgs);
    const [c2, a2] = gnuTime ? ['/usr/bin/time', ['-f', 'CITYBRAIN_MAXRSS_KB %M', cmd, ...argv]] : [cmd, argv];
    const t0 = performance.now();
    const r = spawnSync(c2, a2, { encoding: 'utf8', maxBuffer: 1 << 24 });
    secs.push((performance.now() - t0) / 1000);
    if (r.status !== 0) throw new Error(`sumo failed: ${r.stderr}`);
    const kb = /CITYBRAIN_MAXRSS_KB (\d+)/.exec(r.stderr)?.[1];
    if (kb) mem.push(Number(kb) / 1024);
  }
  return { processSeconds: spread(secs), peakRssMB: mem.length ? spread(mem, 1) : null, version, ratioMedian: 0 };
}

/** The grid of CityFlow's generator (with --tlPlan's phases or not), written for simulate. */
function gridFiles(n: number, tlPlan: boolean): { roadnet: string; flow: string } {
  const dir = join(tmpdir(), `citybrain-bench-grid${n}${tlPlan ? '-tl' : ''}`);
  mkdirSync(dir, { recursive: true });
  const g = generateGrid({ rows: n, cols: n, tlPlan });
  const files = { roadnet: join(dir, 'roadnet.json'), flow: join(dir, 'flow.json') };
  writeFileSync(files.roadnet, JSON.stringify(g.roadnet));
  writeFileSync(files.flow, JSON.stringify(g.flows));
  return files;
}

type CaseName = { kind: 'hz1' } | { kind: 'sumo' } | { kind: 'grid'; n: number; tlPlan: boolean };

function parseCases(list: string, big: boolean): { name: string; c: CaseName }[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (big && !names.includes('grid100')) names.push('grid100');
  if (names.length === 0) throw new UsageError('--cases: give at least one case (hz1, sumo, gridN, gridN-tl)');
  return names.map((name) => {
    if (name === 'hz1' || name === 'sumo') return { name, c: { kind: name } };
    const m = /^grid(\d+)(-tl)?$/.exec(name);
    if (!m) throw new UsageError(`--cases: unknown case "${name}"; choose from hz1, sumo, gridN, gridN-tl (N 1..100)`);
    const n = intOption(m[1], `cases ${name}: grid size`, 0, 1, 100);
    return { name, c: { kind: 'grid', n, tlPlan: m[2] !== undefined } };
  });
}

export async function benchSpeed(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '../shared/data' }, cases: { type: 'string', default: 'hz1,sumo,grid36,grid36-tl,grid72' },
      big: { type: 'boolean', default: false }, reps: { type: 'string' }, cpu: { type: 'string' },
      json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchSpeedHelp);
  const data = resolve(values.data!);
  const cases = parseCases(values.cases!, values.big!);
  const reps = intOption(values.reps, 'reps', 3, 1, 20);
  const cpu = values.cpu === undefined ? null : intOption(values.cpu, 'cpu', 0, 0, cpus().length - 1);
  if (cpu !== null && spawnSync('sh', ['-c', 'command -v taskset']).status !== 0) throw new UsageError('--cpu needs taskset (util-linux), which is not installed');
  // the data a case needs is checked before any run: a wrong --data is reported at once
  const hz = REFERENCE_SCENARIOS[0];
  const hzFiles = cases.some((x) => x.c.kind === 'hz1') ? referenceFiles(data, hz) : null;
  const sumoFiles = cases.some((x) => x.c.kind === 'sumo')
    ? { net: requireData(data, join(SUMO_DIR, SUMO_NET)), routes: requireData(data, join(SUMO_DIR, SUMO_ROUTES)), cfg: requireData(data, join(SUMO_DIR, SUMO_CFG)) }
    : null;

  const conditions: SpeedConditions = {
    cores: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, taskset: cpu, reps, nodeBaselineRssMB: nodeBaselineRssMB(cpu),
  };
  const results: SpeedCase[] = [];
  for (const { c } of cases) {
    let row: SpeedCase;
    if (c.kind === 'hz1') {
      row = timeCase('HZ1 fixed-time, 3600 s', cpu, reps, ['--roadnet', hzFiles!.roadnet, '--flow', hzFiles!.flow, '--controller', 'fixed', '--steps', '3600']);
      row.stored = [SIDE_BY_SIDE.hz1, SIDE_BY_SIDE.hz1Load, SIDE_BY_SIDE.hz1Process];
    } else if (c.kind === 'sumo') {
      row = timeCase('Hangzhou SUMO files, static programs, 3600 s', cpu, reps, ['--roadnet', sumoFiles!.net, '--flow', sumoFiles!.routes, '--controller', 'plan', '--steps', '3600']);
      const sumo = timeSumo(cpu, reps, sumoFiles!.cfg);
      if (sumo && 'processSeconds' in sumo) sumo.ratioMedian = round(sumo.processSeconds.median / row.processSeconds.median, 2);
      row.sumo = sumo;
      row.loadAverage.after = round(loadavg()[0], 2);
    } else {
      const files = gridFiles(c.n, c.tlPlan);
      row = timeCase(`${c.n}x${c.n} grid${c.tlPlan ? ' --tl-plan' : ''}, built-in plans, 900 s`, cpu, reps, ['--roadnet', files.roadnet, '--flow', files.flow, '--controller', 'plan', '--steps', '900']);
      if (c.n === 36 && c.tlPlan) {
        row.stored = [STORED_GRID36_TLPLAN];
        row.check = `${row.vehiclesInNetwork.toLocaleString('en-US')} vehicles in the network at 900 s; CityFlow's stored run had about ${STORED_GRID36_TLPLAN.vehiclesAt900!.toLocaleString('en-US')}`;
      } else if (!c.tlPlan && (c.n === 36 || c.n === 72)) row.stored = [c.n === 36 ? SIDE_BY_SIDE.grid36 : SIDE_BY_SIDE.grid72];
    }
    row.aboveNodeMB = round(row.peakRssMB.median - conditions.nodeBaselineRssMB, 1);
    row.kBPerVehicle = round((row.aboveNodeMB * 1024) / Math.max(1, row.enteredVehicles), 2);
    row.kBPerLane = round((row.aboveNodeMB * 1024) / Math.max(1, row.lanes), 1);
    results.push(row);
  }
  if (values.json) return void console.log(JSON.stringify({ conditions, results }));
  printSpeed(conditions, results);
}

const mm = (s: Spread, unit = '') => `${s.min}${unit} / ${s.median}${unit}`;

function printSpeed(k: SpeedConditions, results: SpeedCase[]): void {
  console.log(`Speed, measured now: ${k.cores} cores (${k.cpuModel}), node ${k.node}, ${k.taskset === null ? 'not pinned' : `taskset -c ${k.taskset}`}, ` +
    `${k.reps} runs per case, each in its own process; figures are min / median over the runs.`);
  console.log(`Memory: peak RSS (the process's maxRSS); an empty node process peaks at ${k.nodeBaselineRssMB} MB, and "above Node" is the median peak minus that. ` +
    'Per vehicle = above Node / vehicles that entered; per lane = above Node / lanes: each charges all of it to one, an upper bound.\n');
  console.log(table(
    ['case', 'loop s', 'load s', 'process s', 'veh updates/s', 'peak MB', 'above Node MB', 'KB/vehicle', 'KB/lane', 'load avg before/after'],
    results.map((r) => [
      r.case, mm(r.loopSeconds), mm(r.loadSeconds), mm(r.processSeconds),
      `${r.vehicleUpdatesPerSecond.min.toLocaleString('en-US')} / ${r.vehicleUpdatesPerSecond.median.toLocaleString('en-US')}`,
      mm(r.peakRssMB), r.aboveNodeMB, r.kBPerVehicle, r.kBPerLane, `${r.loadAverage.before} / ${r.loadAverage.after}`,
    ]),
  ));
  const lines: string[] = [];
  for (const r of results) {
    if (r.check) lines.push(`${r.case}: ${r.check}`);
    if (r.sumo && 'skipped' in r.sumo) lines.push(`${r.case}: SUMO not run: ${r.sumo.skipped}`);
    else if (r.sumo) {
      lines.push(`${r.case}: SUMO ${r.sumo.version} in this run, same files, whole process: ${mm(r.sumo.processSeconds, ' s')}` +
        `${r.sumo.peakRssMB ? `, peak ${mm(r.sumo.peakRssMB, ' MB')}` : ''}; ours ${mm(r.processSeconds, ' s')}: SUMO/ours ${r.sumo.ratioMedian}x (medians)`);
    }
    for (const s of r.stored ?? []) lines.push(`${r.case}: ${storedLine(s)}`);
  }
  if (lines.length) console.log('\n' + lines.join('\n'));
}

/** A stored figure, said as stored: where and when, and ours measured beside it then. */
export function storedLine(s: StoredFigures): string {
  const fig = (x: Spread | number, unit: string) => (typeof x === 'number' ? `${x}${unit}` : mm(x, unit));
  const parts = [`${s.peer} ${fig(s.peerSeconds, ' s')} (${s.what})`];
  if (s.peerPeakMB !== undefined) parts.push(`peak ${s.peerPeakMB} MB`);
  if (s.oursThenSeconds) parts.push(`CityBrain beside it then ${fig(s.oursThenSeconds, ' s')}${s.oursThenPeakMB ? `, peak ${s.oursThenPeakMB} MB` : ''}`);
  return `${parts.join('; ')} (stored, ${s.measured})`;
}
