import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Simulation } from '@citybrain/engine';
import { controllers, runControlled } from '@citybrain/control';
import { DEFAULT_DEMAND_PER_HOUR, figuresTable, importOsm, type NetworkFigures } from '../commands/import.js';
import { round } from '../round.js';
import { table } from '../table.js';
import { benchCalibration, printCalibration } from './calibration.js';
import { intOption, numOption } from '../usage.js';
import { requireData } from './data.js';
import { make } from './control.js';
import { HOUR } from './reference.js';

export const benchImportHelp = `citybrain bench import [--data DIR] [--seconds S] [--demand VEH_PER_HOUR] [--seed N] [--json]

Imports the OpenStreetMap extract of Osnabrück (DIR/osnabrueck_osm/martini.osm.xml)
with citybrain import osm into a temporary folder, simulates it with the generated
demand under every controller and reports each one's average travel time and
whether it gridlocked, with the network's signals, junctions and lane-km beside
netconvert's own; then demand calibrated to counts (citybrain bench calibrate:
HZ1, JN1 and a 4x4 grid, their lane counts fitted, the fitted demand's GEH and
ATT against the original's).

Gridlock: at the end, a vehicle in the network that has not moved for ${300} s, or
none finished in the last ${600} s while vehicles were in the network or waiting to enter.

  --data DIR              the real-data folder (default ../shared/data)
  --seconds S             simulated seconds per controller, and the demand's span; default 3600
  --demand VEH_PER_HOUR   generated trips per hour; default ${DEFAULT_DEMAND_PER_HOUR}
  --seed N                the demand's seed (randomTrips'); default 42
  --json                  {"osm":{"signals","junctions","laneKm","controllers":{name:{"att","gridlock"}}},
                          "calibration":[{"scenario","gehBelow5Percent","attFixedOriginal",...}]} and the rest`;

const OSM_FILE = 'osnabrueck_osm/martini.osm.xml';
/** a vehicle that has not moved this long is stuck */
export const STUCK_SECONDS = 300;
/** no vehicle finishing in this long, with vehicles present, is a standstill */
export const NO_THROUGHPUT_SECONDS = 600;
/** how often positions are sampled for the stuck test */
const SAMPLE_EVERY = 10;

interface ControllerResult {
  att: number;
  gridlock: boolean;
  entered: number;
  finished: number;
  /** vehicles in the network at the end that had not moved for STUCK_SECONDS */
  stuck: number;
  /** vehicles finished in the last NO_THROUGHPUT_SECONDS */
  finishedAtEnd: number;
  /** in the network or waiting to enter, at the end */
  present: number;
  faults: number;
  /** vehicles moved on by jam teleport (SUMO's rule, on for the import): each a lock the engine undid, shown beside the gridlock verdict */
  teleported: number;
  wallSeconds: number;
}

/**
 * Watches a run for gridlock: every SAMPLE_EVERY steps, each running vehicle's
 * place (drivable and distance along it); the time it last changed is when the vehicle last moved.
 */
export class GridlockWatch {
  private readonly lastMoved = new Map<string, { drivable: number; distance: number; t: number }>();
  private readonly finishedAt: { t: number; finished: number }[] = [];

  observe(sim: Simulation): void {
    if (sim.stepCount % SAMPLE_EVERY !== 0) return;
    const t = sim.time;
    const seen = new Map<string, { drivable: number; distance: number; t: number }>();
    for (const h of sim.runningVehicles()) {
      const id = sim.vehicleId(h);
      const drivable = sim.vehicleDrivable(h);
      const distance = sim.vehicleDistance(h);
      const was = this.lastMoved.get(id);
      const moved = !was || was.drivable !== drivable || Math.abs(was.distance - distance) > 0.5;
      seen.set(id, moved ? { drivable, distance, t } : was);
    }
    // vehicles that left are forgotten: the map holds the running ones only
    this.lastMoved.clear();
    for (const [k, v] of seen) this.lastMoved.set(k, v);
    this.finishedAt.push({ t, finished: sim.metrics().finishedVehicles });
  }

  verdict(sim: Simulation): { gridlock: boolean; stuck: number; finishedAtEnd: number; present: number } {
    const m = sim.metrics();
    const t = sim.time;
    const stuck = [...this.lastMoved.values()].filter((v) => t - v.t >= STUCK_SECONDS).length;
    const before = this.finishedAt.find((s) => s.t >= t - NO_THROUGHPUT_SECONDS) ?? { finished: 0 };
    const finishedAtEnd = m.finishedVehicles - before.finished;
    const present = m.vehiclesInNetwork + m.waitingToEnter;
    // a run shorter than the window cannot show a standstill by throughput
    const standstill = t >= NO_THROUGHPUT_SECONDS && finishedAtEnd === 0 && present > 0;
    return { gridlock: stuck > 0 || standstill, stuck, finishedAtEnd, present };
  }
}

export async function benchImport(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '../shared/data' },
      seconds: { type: 'string' },
      demand: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchImportHelp);
  const json = values.json!;
  const seconds = intOption(values.seconds, 'seconds', 3600, 1, 86_400);
  const demand = numOption(values.demand, 'demand', DEFAULT_DEMAND_PER_HOUR, 1, 100_000);
  const seed = intOption(values.seed, 'seed', 42);
  const osm = requireData(resolve(values.data!), OSM_FILE);
  const say = (s: string) => void (json || process.stdout.write(s));

  const before = { cores: cpus().length, load1: round(loadavg()[0], 2) };
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-bench-import-'));
  let result;
  try {
    say(`importing ${osm} ... `);
    const imp = importOsm(osm, dir, { demandPerHour: demand, seconds, seed });
    const importSeconds = round((performance.now() - t0) / 1000, 1);
    say(`${importSeconds} s\n`);
    const scenario = imp.loaded.scenario;
    const runs: Record<string, ControllerResult> = {};
    const skipped: Record<string, string> = {};
    for (const name of Object.keys(controllers)) {
      say(`  ${name} ... `);
      const made = await make(name, scenario);
      if ('skip' in made) {
        skipped[name] = made.skip;
        say(`skipped (${made.skip})\n`);
        continue;
      }
      const started = performance.now();
      const sim = new Simulation(scenario, { seed: 0 });
      const watch = new GridlockWatch();
      try {
        const { metrics, supervisor } = await runControlled(sim, made.controller, seconds, { onStep: (s) => watch.observe(s) });
        const v = watch.verdict(sim);
        runs[name] = {
          att: round(metrics.averageTravelTime, 1), gridlock: v.gridlock, entered: metrics.enteredVehicles, finished: metrics.finishedVehicles,
          stuck: v.stuck, finishedAtEnd: v.finishedAtEnd, present: v.present,
          faults: supervisor?.faults.length ?? 0, teleported: metrics.teleported, wallSeconds: round((performance.now() - started) / 1000, 1),
        };
      } finally {
        await made.close();
      }
      say(`ATT ${runs[name].att} s${runs[name].gridlock ? ', GRIDLOCK' : ''}${runs[name].teleported ? `, ${runs[name].teleported} teleported` : ''} (${runs[name].wallSeconds} s wall)\n`);
    }
    result = { imp, importSeconds, runs, skipped };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { imp, importSeconds, runs, skipped } = result;
  // the issue's second half: demand fitted to counts (bench calibrate alone runs just this)
  say('calibration (HZ1, JN1, a 4x4 grid) ...\n');
  const calibration = await benchCalibration(resolve(values.data!), HOUR);
  const after = { cores: before.cores, load1: round(loadavg()[0], 2) };
  const totalSeconds = round((performance.now() - t0) / 1000, 1);
  const o: NetworkFigures = imp.ours;
  if (json) {
    const ctl = Object.fromEntries(Object.entries(runs).map(([n, r]) => [n, { att: r.att, gridlock: r.gridlock, teleported: r.teleported }]));
    return void console.log(JSON.stringify({
      osm: {
        signals: o.signals, junctions: o.junctions, laneKm: o.laneKm, controllers: ctl,
        netconvert: imp.netconvert, netconvertCars: imp.netconvertCars, vehicles: imp.loaded.scenario.flows.length, demandPerHour: demand, seed, seconds,
        details: runs, skipped, warnings: imp.loaded.warnings, importSeconds, totalSeconds,
      },
      calibration,
      conditions: { before, after },
    }));
  }
  console.log(`\nOsnabrück extract imported (${importSeconds} s), ${imp.loaded.scenario.flows.length} vehicles at ${demand} per hour (seed ${seed}), ` +
    `${seconds} s per controller; ${before.cores} cores, load ${before.load1} before, ${after.load1} after; ${totalSeconds} s in all\n`);
  console.log(figuresTable(o, imp.netconvert, imp.netconvertCars));
  console.log('');
  console.log(table(['controller', 'ATT s', 'gridlock', 'teleported', 'entered', 'finished', `stuck ${STUCK_SECONDS} s`, `finished last ${NO_THROUGHPUT_SECONDS} s`, 'faults', 'wall s'],
    Object.entries(runs).map(([n, r]) => [n, r.att, r.gridlock ? 'YES' : 'no', r.teleported, r.entered, r.finished, r.stuck, r.finishedAtEnd, r.faults, r.wallSeconds])));
  for (const [n, why] of Object.entries(skipped)) console.log(`\n${n}: skipped (${why})`);
  for (const w of imp.loaded.warnings) console.log(`\nloader warning: ${w}`);
  console.log('');
  printCalibration(calibration);
}
