import { parseArgs } from 'node:util';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
// the lean entries: a run loads neither the SUMO loader nor the study's reports unless it needs them
import { meanCi, Simulation, type RandomKind, type Scenario, type SimulationRules } from '@citybrain/engine/core';
import type { ApproachRecord, IntersectionRecord, TimeSample, TripRecord } from '@citybrain/engine';
import { controllers, runControlled, type Controller, type ControllerFault } from '@citybrain/control';
import { chooseController } from '../plugins.js';
import { makeOutputDir, openOutput, readScenario, writeOutput } from '../scenario-files.js';
import { intOption, numOption, randomOption, UsageError } from '../usage.js';
import { progress } from '../progress.js';
import { rulesText } from '../rules.js';
import { handedOver } from '../handed-over.js';
import { round } from '../round.js';

export const simulateHelp = `citybrain simulate --roadnet FILE --flow FILE [options]

Runs a scenario (CityFlow .json or SUMO .net.xml/.rou.xml) and prints its results.

  --roadnet FILE        roadnet (CityFlow JSON) or network (SUMO .net.xml)
  --flow FILE           flows (CityFlow JSON) or routes (SUMO .rou.xml)
  --controller NAME     ${Object.keys(controllers).join(' | ')} | plan (the network's own signal programs); default fixed
  --steps N             simulated steps; default 3600
  --interval S          seconds per step; default 1
  --seed N              random seed; default 0
  --random R            xoshiro (default) | cityflow: CityFlow's std::mt19937 stream, drawn as CityFlow
                        draws it, so a run with CityFlow's seed takes the lanes CityFlow's takes
  --keep-clear on|off   SUMO's junction blocking avoidance: a vehicle enters an intersection only when it
                        can stop clear of it beyond; default on for SUMO files, off for CityFlow's
  --time-to-teleport S  SUMO's jam teleport: a vehicle standing S seconds at the front of its lane moves
                        on along its route (counted); 0: never; default 300 for SUMO files, 0 for CityFlow's
  --plugin FILE         load a third-party controller module (repeatable; see examples/longest-queue.mjs)
  --replay DIR          write replay_roadnet.json and replay.txt (CityFlow's replay format) into DIR
  --out DIR             write the study's results into DIR: trips.csv and trips.jsonl (one record per
                        trip), approaches.csv and intersections.csv (delay, stops, queue percentiles,
                        HCM level of service), timeseries.csv, summary.json and report.html (a
                        self-contained report with plots, viewable offline)
  --seeds N             run N seeds (--seed, --seed + 1, ...) and report each KPI's mean with its
                        95% confidence interval; default 1
  --window S            seconds per time-series window in --out; default 300
  --json                print one JSON object instead of a summary`;

export interface SimulateResult {
  scenario: string;
  controller: string;
  averageTravelTime: number;
  enteredVehicles: number;
  finishedVehicles: number;
  vehiclesInNetwork: number;
  waitingToEnter: number;
  /** vehicles moved on by jam teleport (SUMO's rule, on for SUMO files; among the finished when no room was left on their route) */
  teleported: number;
  /** the rules of the road beyond CityFlow's in force */
  rules: string;
  totalDelay: number;
  simulatedSeconds: number;
  wallSeconds: number;
  loadSeconds: number;
  vehicleUpdates: number;
  vehicleUpdatesPerSecond: number;
  realTimeFactor: number;
  peakRssMB: number;
  /** intersections the controller lost (to the fixed-time plan on an error, to max-pressure in a gridlock), and why */
  faults: ControllerFault[];
  /** signalised intersections of the scenario */
  signalised: number;
  /** lanes of the network (the benchmark's memory per lane) */
  lanes: number;
  seed: number;
  /** with --out: what the run recorded */
  study?: Study;
}

export async function simulateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      roadnet: { type: 'string' },
      flow: { type: 'string' },
      controller: { type: 'string', default: 'fixed' },
      steps: { type: 'string' },
      interval: { type: 'string' },
      seed: { type: 'string' },
      random: { type: 'string' },
      'keep-clear': { type: 'string' },
      'time-to-teleport': { type: 'string' },
      replay: { type: 'string' },
      out: { type: 'string' },
      seeds: { type: 'string' },
      window: { type: 'string' },
      plugin: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(simulateHelp);
  if (!values.roadnet || !values.flow) throw new UsageError('simulate needs --roadnet FILE and --flow FILE (see citybrain simulate --help)');
  const steps = intOption(values.steps, 'steps', 3600, 1, 10_000_000);
  const interval = numOption(values.interval, 'interval', 1, 0.1, 10);
  const seed = intOption(values.seed, 'seed', 0, 0, 2 ** 32 - 1);
  const random = randomOption(values.random);
  const { available } = await chooseController(values.plugin ?? [], values.controller!, ['plan']);

  // SUMO's rules as given, over the scenario's own (SUMO files: on)
  const rules: SimulationRules = {};
  if (values['keep-clear'] !== undefined) {
    if (values['keep-clear'] !== 'on' && values['keep-clear'] !== 'off') throw new UsageError(`--keep-clear must be on or off, got "${values['keep-clear']}"`);
    rules.keepJunctionsClear = values['keep-clear'] === 'on';
  }
  if (values['time-to-teleport'] !== undefined) rules.timeToTeleport = numOption(values['time-to-teleport'], 'time-to-teleport', 0, 0, 86_400);
  const seeds = intOption(values.seeds, 'seeds', 1, 1, 100);
  const window = intOption(values.window, 'window', 300, 1, 86_400);
  if (seeds > 1 && values.replay) throw new UsageError('--replay records one run: give it without --seeds');
  if (values.out) makeOutputDir(values.out, '--out');

  const t0 = performance.now();
  const read = await readScenario(values.roadnet, values.flow);
  const scenario = { ...read, rules: { ...read.rules, ...rules } };
  const readSeconds = (performance.now() - t0) / 1000;
  const runs: SimulateResult[] = [];
  const studies: Study[] = [];
  for (let k = 0; k < seeds; k++) {
    const result = await simulate(scenario, {
      controller: values.controller!, steps, interval, seed: seed + k, random, replayDir: values.replay, showProgress: !values.json, label: values.roadnet, available,
      record: values.out ? { window } : undefined,
    });
    // loading = reading and validating the files + compiling the network
    result.loadSeconds = round(result.loadSeconds + readSeconds, 3);
    runs.push(result);
    if (result.study) studies.push(result.study);
  }
  const written = values.out ? (await import('../report/study.js')).writeStudy(values.out, { scenario, roadnetPath: values.roadnet, flowPath: values.flow, runs, studies, window }) : null;
  const forJson = runs.map(({ study: _omit, ...r }) => r);
  if (values.json) {
    console.log(JSON.stringify(seeds === 1 ? { ...forJson[0], ...(written ? { out: written } : {}) } : { runs: forJson, ...(written ? { out: written } : {}) }));
    return;
  }
  if (seeds === 1) printSummary(runs[0]);
  else printSeeds(runs);
  if (written) console.log(`results             ${written.files.join(', ')} in ${values.out}`);
}

/** What --out records of one run. */
export interface Study {
  seed: number;
  trips: TripRecord[];
  approaches: ApproachRecord[];
  intersections: IntersectionRecord[];
  series: readonly TimeSample[];
}

export async function simulate(
  scenario: Scenario,
  o: {
    controller: string; steps: number; interval?: number; seed?: number; random?: RandomKind; replayDir?: string; showProgress?: boolean; label?: string;
    /** controllers by name; default the built-in registry */
    available?: Record<string, () => Controller>;
    /** record the study's results (trips, approaches, time series) */
    record?: { window: number };
  },
): Promise<SimulateResult> {
  const t0 = performance.now();
  const sim = new Simulation(scenario, { interval: o.interval ?? 1, seed: o.seed ?? 0, random: o.random });
  const loadSeconds = (performance.now() - t0) / 1000;
  let onStep: ((s: Simulation, k: number) => void) | undefined;
  let closeReplay = () => {};
  const bar = progress(o.steps, 'simulating', o.showProgress ?? false);
  if (o.replayDir) {
    const { ReplayRecorder, replayRoadnet } = await import('@citybrain/engine');
    makeOutputDir(o.replayDir, '--replay');
    writeOutput(join(o.replayDir, 'replay_roadnet.json'), JSON.stringify(replayRoadnet(sim)), '--replay');
    const replayPath = join(o.replayDir, 'replay.txt');
    const out = createWriteStream(replayPath, { fd: openOutput(replayPath, '--replay') });
    const rec = new ReplayRecorder(sim);
    onStep = (_s, k) => {
      out.write(rec.frame() + '\n');
      bar.update(k + 1);
    };
    closeReplay = () => out.end();
  } else onStep = (_s, k) => bar.update(k + 1);
  const recorder = o.record ? new (await import('@citybrain/engine')).RunRecorder(sim, { window: o.record.window }) : null;
  if (recorder) {
    const inner = onStep;
    onStep = (s, k) => {
      recorder.sample();
      inner(s, k);
    };
  }
  const t1 = performance.now();
  const make = (o.available ?? controllers)[o.controller];
  if (o.controller !== 'plan' && !make) throw new UsageError(`unknown controller "${o.controller}"`);
  const run = await runControlled(sim, o.controller === 'plan' ? 'plan' : make(), o.steps, { onStep });
  const wall = (performance.now() - t1) / 1000;
  bar.stop();
  closeReplay();
  const m = run.metrics;
  return {
    scenario: o.label ?? '',
    controller: o.controller,
    averageTravelTime: round(m.averageTravelTime, 2),
    enteredVehicles: m.enteredVehicles,
    finishedVehicles: m.finishedVehicles,
    vehiclesInNetwork: m.vehiclesInNetwork,
    waitingToEnter: m.waitingToEnter,
    teleported: m.teleported,
    rules: rulesText(sim),
    totalDelay: round(m.totalDelay, 1),
    simulatedSeconds: m.time,
    wallSeconds: round(wall, 3),
    loadSeconds: round(loadSeconds, 3),
    vehicleUpdates: run.vehicleUpdates,
    vehicleUpdatesPerSecond: Math.round(run.vehicleUpdates / wall),
    realTimeFactor: round(m.time / wall, 1),
    peakRssMB: round(process.resourceUsage().maxRSS / 1024, 1),
    faults: run.supervisor?.faults ?? [],
    signalised: sim.net.signalised.length,
    lanes: sim.net.nLanes,
    seed: o.seed ?? 0,
    ...(recorder ? {
      study: {
        seed: o.seed ?? 0, trips: recorder.tripRecords(), approaches: recorder.approachRecords(), intersections: recorder.intersectionRecords(), series: recorder.timeSeries(),
      },
    } : {}),
  };
}

export function printSummary(r: SimulateResult): void {
  const lines = [
    `scenario            ${r.scenario}`,
    `controller          ${r.controller}${handedOver(r.faults, r.signalised)}`,
    `simulated           ${r.simulatedSeconds} s in ${r.wallSeconds} s wall (${r.realTimeFactor}x real time), load ${r.loadSeconds} s`,
    `average travel time ${r.averageTravelTime} s`,
    `vehicles            ${r.enteredVehicles} entered, ${r.finishedVehicles} finished, ${r.vehiclesInNetwork} in network, ${r.waitingToEnter} waiting to enter`,
    `rules               ${r.rules}${r.rules.includes('teleport') ? `; ${r.teleported} vehicles teleported out of jams` : ''}`,
    `total delay         ${r.totalDelay} vehicle-seconds`,
    `trips finished/h    ${round((r.finishedVehicles * 3600) / r.simulatedSeconds, 0)}`,
    `simulator speed     ${r.vehicleUpdatesPerSecond.toLocaleString('en-US')} vehicle updates/s, peak memory ${r.peakRssMB} MB`,
  ];
  // the figures above are then partly the fallback's, not the controller's
  const f = r.faults[0];
  const errors = r.faults.filter((x) => x.kind === 'error').length;
  const jammed = r.faults.length - errors;
  const taken = [errors > 0 ? `${errors} fell back to the fixed-time plan` : '', jammed > 0 ? `${jammed} in gridlock went to max-pressure` : ''].filter(Boolean).join(', ');
  if (f) lines.push(`faults              ${r.faults.length} of ${r.signalised} intersections: ${taken}; first: ${f.intersection} at ${f.time} s: ${f.error}`);
  console.log(lines.join('\n'));
}

/** Several seeds: each KPI's mean and 95% confidence interval. */
function printSeeds(runs: SimulateResult[]): void {
  const kpi = (name: string, unit: string, pick: (r: SimulateResult) => number, digits = 1) => {
    const m = meanCi(runs.map(pick));
    return `${name.padEnd(20)}${m.mean.toFixed(digits)}${m.ci95 === null ? '' : ` ± ${m.ci95.toFixed(digits)}`} ${unit}`;
  };
  const r = runs[0];
  // the seed that lost the most
  const worst = runs.reduce((a, b) => (new Set(b.faults.map((f) => f.intersection)).size > new Set(a.faults.map((f) => f.intersection)).size ? b : a));
  console.log([
    `scenario            ${r.scenario}`,
    `controller          ${r.controller}${handedOver(worst.faults, r.signalised, runs.length > 1 ? 'up to ' : '')}`,
    `seeds               ${runs.length} (${runs.map((x) => x.seed).join(', ')}), ${r.simulatedSeconds} s each; mean ± 95% confidence interval`,
    kpi('average travel time', 's', (x) => x.averageTravelTime, 2),
    kpi('trips finished', '', (x) => x.finishedVehicles, 0),
    kpi('trips finished/h', '', (x) => (x.finishedVehicles * 3600) / x.simulatedSeconds, 0),
    kpi('total delay', 'vehicle-seconds', (x) => x.totalDelay, 0),
    kpi('in network at end', '', (x) => x.vehiclesInNetwork, 0),
  ].join('\n'));
}
