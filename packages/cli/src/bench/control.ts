import { basename, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { controllers, intersectionPhases, predictive, runControlled, type Controller } from '@citybrain/control';
import { workerPool, type RolloutWorkerPool } from '@citybrain/workers';
import { round } from '../round.js';
import { table } from '../table.js';
import { readScenario } from '../scenario-files.js';
import { rulesText } from '../rules.js';
import { intOption, UsageError } from '../usage.js';
import { ApproachTime } from './approach-time.js';
import { attDistanceBound, attFloor } from './att-bounds.js';
import { readReference } from './data.js';
import { HOUR, REFERENCE_CONTROLLERS, REFERENCE_SCENARIOS, type ScenarioRef } from './reference.js';

export const benchControlHelp = `citybrain bench control [--data DIR] [--roadnet R --flow F [--name N]]... [options]

Every registered controller under the benchmark protocol (SignalSupervisor: 5 s yellow between
greens, 5 s minimum green; ../shared/reference/baselines.md), on the five real scenarios or on
your own city, with:
  ATT                  average travel time over every vehicle that entered (CityFlow's)
  summaryTravelTime    the literature's metric: time on the signalised intersections' approach
                       lanes, summed per vehicle (published results use it; well below ATT)
  avoidable delay removed   (M - ATT) / (M - F): M = max-pressure's ATT in the same run,
                       F = the ATT floor (green everywhere, each boundary lane's vehicles alone)
and the wall time of one decision for all 1,296 intersections of a 36 x 36 grid.

  --data DIR           the real-data folder with the five scenarios (default ../shared/data)
  --roadnet R --flow F a scenario of your own instead (CityFlow JSON or SUMO .net.xml + .rou.xml);
                       repeat the pair for several; --name N (repeated in the same order) names them
  --controllers A,B    only these controllers (max-pressure always runs: it is M); default all
  --seconds S          simulated seconds per run, from t = 0; default 3600 (the stored CityFlow
                       figures are for 3600 s and are shown only then)
  --no-grid            skip the 36 x 36 grid decision timing (skipped by default with --roadnet)
  --json               {"conditions","scenarios":[{"scenario","maxPressureAtt","floorAtt",
                       "controllers":{name:{"att","summaryTravelTime","avoidableDelayRemovedPercent",...}},
                       "best":{...}}],"grid36"}`;

/** The issue's target for the best controller's share of avoidable delay removed, and its aim, in percent. */
const TARGET_REMOVED = 60;
const AIM_REMOVED = 75;
/** wall seconds the best controller may take for a one-hour run of a real scenario */
const HOUR_WALL_TARGET = 60;
/** the city-scale decision: a generated grid this size, warmed up under its built-in plans */
const GRID = 36;
const GRID_WARMUP = 300;
/**
 * Controllers meant for a pilot area, not a city, with why the grid decision
 * is not timed: predictive-sequential rolls the whole network forward once per
 * candidate and intersection, 2 x 1,296 + 1 rollouts of 40 s on this grid.
 */
const AREA_CONTROLLERS: Record<string, string> = {
  'predictive-sequential': 'a pilot-area controller: one rollout of the whole network per candidate and intersection, 2,593 per decision on this grid',
};
/** the reference every share of avoidable delay is measured from */
const M_CONTROLLER = 'max-pressure';

interface ControllerRun {
  att: number;
  /** the literature's metric (ApproachTime) */
  summaryTravelTime: number;
  /** (M - ATT) / (M - F) in percent; null when M is at the floor (nothing to remove) */
  avoidableDelayRemovedPercent: number | null;
  entered: number;
  finished: number;
  /** controller faults the supervisor reported (each sends an intersection to the fixed-time fallback) */
  faults: number;
  /** vehicles moved on by jam teleport (SUMO's rule; scenarios from SUMO files): never hidden, a sign of gridlock */
  teleported: number;
  /** wall seconds of the whole run */
  wallSeconds: number;
  /**
   * wall ms of a step in which the controller decided for at least one
   * intersection (the supervisor asked it): mean, 95th percentile, worst.
   * Periodic controllers do their real work in a fraction of those steps,
   * which the percentile shows.
   */
  msPerDecisionStep: number;
  p95DecisionStepMs: number;
  maxDecisionStepMs: number;
  decisionSteps: number;
  /** share of the signalised intersections' time spent showing the yellow, in which only right turns move */
  yellowSharePercent: number;
  /** vehicle-seconds stopped (< 0.1 m/s) on the signalised intersections' incoming lanes, per vehicle entered */
  stoppedSecondsPerVehicle: number;
  /** the part of those spent while their intersection showed the yellow */
  stoppedAtYellowSecondsPerVehicle: number;
}

/** CityFlow's figures from ../shared/reference/baselines.md: measured on another machine, never in this run */
interface StoredFigures {
  note: string;
  cityflowFixed: number;
  cityflowMaxPressure: number;
  cityflowAdvancedMp: number;
  cityflowEfficientMp: number;
  /** Advanced-CoLight as published, in the literature's metric */
  advancedColightSummary: number | null;
}

interface ScenarioResult {
  scenario: string;
  /** the files, for a scenario of the user's own; absent for the five reference scenarios */
  files?: { roadnet: string; flow: string };
  seconds: number;
  /** vehicles that entered under max-pressure */
  vehicles: number;
  signalisedIntersections: number;
  /** the rules of the road beyond CityFlow's in force (Scenario.rules): "CityFlow's", or SUMO's as set */
  rules: string;
  /** ATT with green everywhere and only the vehicles of each boundary lane together (counted like ATT): no controller can go below */
  floorAtt: number;
  /**
   * ATT if every vehicle drove its route's shortest lanes and lane links at
   * its top speed from the moment it was generated: no acceleration, no
   * signal, no other vehicle. It depends only on the roadnet's geometry and
   * the flows, not on any simulator's dynamics, so no controller in any
   * simulator of this format goes below it.
   */
  distanceBoundAtt: number;
  /** M: max-pressure's ATT in this run */
  maxPressureAtt: number;
  stored?: StoredFigures;
  controllers: Record<string, ControllerRun>;
  skipped: Record<string, string>;
  best: {
    controller: string;
    att: number;
    summaryTravelTime: number;
    avoidableDelayRemovedPercent: number | null;
    /** the issue's target (TARGET_REMOVED) and aim (AIM_REMOVED) */
    meetsTarget: boolean;
    meetsAim: boolean;
    reductionVsMaxPressurePercent: number;
  } | null;
}

interface GridDecision {
  /** wall ms of the decision step of a controller in operation */
  ms: number;
  /** the same for the controller's very first decision (cold) */
  firstMs?: number;
  /** intersections the controller was asked for in that step */
  decided: number;
  faults: number;
}

interface GridResult {
  intersections: number;
  simulatedSeconds: number;
  vehiclesInNetwork: number;
  controllers: Record<string, GridDecision>;
  skipped: Record<string, string>;
}

interface BenchScenario {
  name: string;
  load: () => Scenario | Promise<Scenario>;
  ref?: ScenarioRef;
  files?: { roadnet: string; flow: string };
}

interface Conditions {
  cores: number;
  loadAverageBefore: number;
  loadAverageAfter?: number;
}

export async function benchControl(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '../shared/data' }, roadnet: { type: 'string', multiple: true }, flow: { type: 'string', multiple: true },
      name: { type: 'string', multiple: true }, controllers: { type: 'string' }, seconds: { type: 'string' },
      'no-grid': { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchControlHelp);
  const seconds = intOption(values.seconds, 'seconds', HOUR, 60, 86_400);
  const names = chosenControllers(values.controllers);
  const roadnets = values.roadnet ?? [], flows = values.flow ?? [], labels = values.name ?? [];
  if (roadnets.length !== flows.length) throw new UsageError(`--roadnet and --flow go in pairs: got ${roadnets.length} --roadnet and ${flows.length} --flow`);
  if (labels.length && labels.length !== roadnets.length) throw new UsageError(`--name names each --roadnet/--flow pair in order: got ${labels.length} names for ${roadnets.length} scenarios`);
  const data = resolve(values.data!);
  const scenarios: BenchScenario[] = roadnets.length
    ? roadnets.map((roadnet, k) => ({ name: labels[k] ?? basename(flows[k]).replace(/\.(json|rou\.xml|xml)$/i, ''), files: { roadnet, flow: flows[k] }, load: () => readScenario(roadnet, flows[k]) }))
    : REFERENCE_SCENARIOS.map((ref) => ({ name: ref.key, ref, load: () => readReference(data, ref) }));
  // read every file first: a bad one is reported before an hour of runs, not after
  const loaded = [];
  for (const b of scenarios) loaded.push({ ...b, scenario: await b.load() });
  const grid = !values['no-grid'] && roadnets.length === 0;
  await runBench(loaded, names, seconds, grid, values.json!);
}

/** The controllers to run, in the registry's order, max-pressure first (M); a usage error naming an unknown one. */
function chosenControllers(list: string | undefined): string[] {
  const all = Object.keys(controllers);
  let wanted = all;
  if (list !== undefined) {
    wanted = list.split(',').map((x) => x.trim()).filter(Boolean);
    const unknown = wanted.filter((n) => !all.includes(n));
    if (unknown.length) throw new UsageError(`--controllers: unknown ${unknown.map((n) => `"${n}"`).join(', ')}; choose from ${all.join(', ')}`);
  }
  return [M_CONTROLLER, ...all.filter((n) => n !== M_CONTROLLER && wanted.includes(n))];
}

async function runBench(scenarios: (BenchScenario & { scenario: Scenario })[], names: string[], seconds: number, withGrid: boolean, json: boolean): Promise<void> {
  const say = (s: string) => {
    if (!json) process.stderr.write(s);
  };
  const conditions: Conditions = { cores: cpus().length, loadAverageBefore: round(loadavg()[0], 2) };
  const results: ScenarioResult[] = [];
  for (const b of scenarios) {
    say(`${b.name}: ATT floor ... `);
    const floorAtt = round(attFloor(b.scenario, seconds), 1);
    const distanceBoundAtt = round(attDistanceBound(b.scenario, seconds), 1);
    say(`${floorAtt} s (distance bound ${distanceBoundAtt} s)\n`);
    const res: ScenarioResult = {
      scenario: b.name, ...(b.files ? { files: b.files } : {}), seconds, vehicles: 0,
      signalisedIntersections: intersectionPhases(new Simulation(b.scenario)).length, rules: rulesText(new Simulation(b.scenario)),
      floorAtt, distanceBoundAtt, maxPressureAtt: 0, controllers: {}, skipped: {}, best: null,
    };
    if (b.ref && seconds === HOUR) res.stored = storedFigures(b.ref);
    for (const name of names) {
      const made = await make(name, b.scenario);
      if ('skip' in made) {
        res.skipped[name] = made.skip;
        continue;
      }
      say(`${b.name}: ${name} ... `);
      try {
        res.controllers[name] = await runOne(new Simulation(b.scenario), made.controller, seconds, !REFERENCE_CONTROLLERS.includes(name));
      } finally {
        await made.close();
      }
      say(`${res.controllers[name].att} s (${res.controllers[name].wallSeconds} s wall)\n`);
    }
    const m = res.controllers[M_CONTROLLER];
    res.maxPressureAtt = m.att;
    res.vehicles = m.entered;
    for (const c of Object.values(res.controllers)) c.avoidableDelayRemovedPercent = removedShare(m.att, floorAtt, c.att);
    res.best = bestOf(res);
    results.push(res);
  }
  const grid = withGrid ? await gridDecision(say) : null;
  conditions.loadAverageAfter = round(loadavg()[0], 2);
  if (json) return void console.log(JSON.stringify({ conditions, scenarios: results, grid36: grid }));
  print(results, grid, conditions);
}

/** (M - ATT) / (M - F) in percent, one decimal; null when M is at or below the floor. */
export function removedShare(m: number, floor: number, att: number): number | null {
  return m - floor > 0 ? round(((m - att) / (m - floor)) * 100, 1) : null;
}

function storedFigures(ref: ScenarioRef): StoredFigures {
  return {
    note: 'CityFlow on another machine (../shared/reference/baselines.md), stored, not measured in this run',
    cityflowFixed: ref.fixed, cityflowMaxPressure: ref.maxPressure, cityflowAdvancedMp: ref.advancedMp, cityflowEfficientMp: ref.efficientMp,
    advancedColightSummary: ref.advancedColightSummary ?? null,
  };
}

export type Made = { controller: Controller; close: () => Promise<void> } | { skip: string };

/**
 * A fresh controller by registry name; predictive runs on a worker pool for
 * `scenario` (`shared`, left open, or its own, closed with it), and is skipped
 * with the reason when worker threads cannot start here.
 */
export async function make(name: string, scenario: Scenario, shared?: RolloutWorkerPool): Promise<Made> {
  const controller: Controller = controllers[name]();
  if (name !== 'predictive') return { controller, close: async () => {} };
  let pool = shared ?? null;
  try {
    pool ??= workerPool(scenario);
    await pool.ready();
  } catch (e) {
    if (!shared) await pool?.close();
    return { skip: `worker pool: ${e instanceof Error ? e.message : String(e)}` };
  }
  const p = predictive({ executor: pool });
  return { controller: p, close: shared ? async () => {} : () => p.close() };
}

/** `c` with its decide calls counted into `n.asked`. */
function counting(c: Controller, n: { asked: number }): Controller {
  return {
    name: c.name,
    init: c.init?.bind(c),
    beginStep: c.beginStep?.bind(c),
    decide(ix, s, env) {
      n.asked++;
      return c.decide(ix, s, env);
    },
  };
}

/** `seconds` under the protocol, timing each step's decisions. */
async function runOne(sim: Simulation, controller: Controller, seconds: number, guarded: boolean): Promise<ControllerRun> {
  const n = { asked: 0 };
  const stepMs: number[] = [];
  // the signalised intersections the supervisor runs, with their yellow phase and incoming lanes
  const ixs = intersectionPhases(sim);
  const approach = new ApproachTime(sim, ixs.map((ix) => roadLanes(sim, ix.intersection)));
  let yellowSeconds = 0, stopped = 0, stoppedAtYellow = 0;
  const t0 = performance.now();
  const { metrics: m, supervisor: sup } = await runControlled(sim, counting(controller, n), Math.round(seconds / sim.interval), {
    // the reference controllers run as the protocol has them (REFERENCE_CONTROLLERS): M is the published
    // max-pressure, not one the supervisor's guards rescue (the ring guard and the perimeter gate never fire on the
    // five, but may on a user's city, and would then move every other controller's share of avoidable delay removed)
    ...(guarded ? {} : { starvation: false as const, ring: false as const, gate: false as const }),
    onTick(ms) {
      if (n.asked > 0) stepMs.push(ms);
      n.asked = 0;
    },
    // where the time goes: the yellows every change costs, and the stops at the lights
    onStep() {
      approach.sample();
      for (const ix of ixs) {
        const inYellow = sim.phase(ix.intersection) === ix.yellow;
        if (inYellow) yellowSeconds += sim.interval;
        for (const lane of ix.inLanes) {
          const w = sim.laneWaitingCount(lane) * sim.interval;
          stopped += w;
          if (inYellow) stoppedAtYellow += w;
        }
      }
    },
  });
  const perVehicle = (x: number) => round(m.enteredVehicles ? x / m.enteredVehicles : 0, 1);
  stepMs.sort((a, b) => a - b);
  const decisionSteps = stepMs.length;
  return {
    att: round(m.averageTravelTime, 1),
    summaryTravelTime: round(approach.value, 1),
    avoidableDelayRemovedPercent: null,
    entered: m.enteredVehicles,
    finished: m.finishedVehicles,
    faults: sup!.faults.length,
    teleported: m.teleported,
    wallSeconds: round((performance.now() - t0) / 1000, 1),
    msPerDecisionStep: round(decisionSteps ? stepMs.reduce((a, b) => a + b, 0) / decisionSteps : 0, 2),
    p95DecisionStepMs: round(decisionSteps ? stepMs[Math.floor(0.95 * (decisionSteps - 1))] : 0, 2),
    maxDecisionStepMs: round(decisionSteps ? stepMs[decisionSteps - 1] : 0, 1),
    decisionSteps,
    yellowSharePercent: round(ixs.length ? (yellowSeconds / (ixs.length * seconds)) * 100 : 0, 1),
    stoppedSecondsPerVehicle: perVehicle(stopped),
    stoppedAtYellowSecondsPerVehicle: perVehicle(stoppedAtYellow),
  };
}

/** Every lane of the roads into intersection i (entering) and out of it (exiting), as the literature's environments list them. */
function roadLanes(sim: Simulation, i: number): { entering: number[]; exiting: number[] } {
  const net = sim.net;
  const entering: number[] = [], exiting: number[] = [];
  for (let r = 0; r < net.roadIds.length; r++) {
    const into = net.roadEndInter[r] === i, outOf = net.roadStartInter[r] === i;
    for (let k = 0; k < net.roadLaneCount[r]; k++) {
      if (into) entering.push(net.roadFirstLane[r] + k);
      if (outOf) exiting.push(net.roadFirstLane[r] + k);
    }
  }
  return { entering, exiting };
}

/** The controller with the lowest ATT; ties keep the registry's order. */
function bestOf(res: ScenarioResult): ScenarioResult['best'] {
  let best: string | null = null;
  for (const [name, r] of Object.entries(res.controllers)) if (best === null || r.att < res.controllers[best].att) best = name;
  if (best === null) return null;
  const c = res.controllers[best];
  const removed = c.avoidableDelayRemovedPercent;
  return {
    controller: best, att: c.att, summaryTravelTime: c.summaryTravelTime, avoidableDelayRemovedPercent: removed,
    meetsTarget: removed !== null && removed >= TARGET_REMOVED, meetsAim: removed !== null && removed >= AIM_REMOVED,
    reductionVsMaxPressurePercent: round((1 - c.att / res.maxPressureAtt) * 100, 1),
  };
}

/**
 * One decision step for every intersection of the generated 36 x 36 grid:
 * the grid runs its built-in plans for GRID_WARMUP s to fill up, then a fresh
 * controller takes over under the supervisor; after the minimum green (when
 * every intersection may change) the step at t = GRID_WARMUP is timed. Done
 * twice from the same state: the first is the controller's very first decision
 * (cold: code not yet optimised, buffers not yet allocated), the second one
 * of a controller in operation. The supervisor's time budget is lifted so
 * that a slow decision is measured rather than cut off.
 */
async function gridDecision(say: (s: string) => void): Promise<GridResult> {
  say(`${GRID}x${GRID} grid: generating and warming up ${GRID_WARMUP} s ... `);
  const scenario = generateGrid({ rows: GRID, cols: GRID });
  const warm = new Simulation(scenario);
  const minGreen = 5;
  warm.step(GRID_WARMUP - minGreen);
  const out: GridResult = { intersections: 0, simulatedSeconds: GRID_WARMUP, vehiclesInNetwork: 0, controllers: {}, skipped: {} };
  say(`${warm.runningCount} vehicles in the network\n`);
  let pool: RolloutWorkerPool | undefined;
  try {
    for (const name of Object.keys(controllers)) {
      if (name in AREA_CONTROLLERS) {
        out.skipped[name] = AREA_CONTROLLERS[name];
        continue;
      }
      if (name === 'predictive' && !pool) pool = workerPool(scenario);
      const times: GridDecision[] = [];
      for (let pass = 0; pass < 2; pass++) {
        const made = await make(name, scenario, pool);
        if ('skip' in made) {
          out.skipped[name] = made.skip;
          break;
        }
        try {
          const sim = warm.fork();
          const n = { asked: 0 };
          const sup = (await runControlled(sim, counting(made.controller, n), minGreen, { minGreen, budgetMs: 60_000 })).supervisor!;
          out.intersections = sup.env.intersections.length;
          out.vehiclesInNetwork = sim.runningCount;
          n.asked = 0;
          const t0 = performance.now();
          const p = sup.tick();
          if (p) await p;
          times.push({ ms: round(performance.now() - t0, 1), decided: n.asked, faults: sup.faults.length });
        } finally {
          await made.close();
        }
      }
      if (times.length === 2) {
        out.controllers[name] = { ...times[1], firstMs: times[0].ms };
        say(`${GRID}x${GRID} grid: ${name} one decision ${times[1].ms} ms (first ever ${times[0].ms} ms)\n`);
      }
    }
  } finally {
    await pool?.close();
  }
  return out;
}

/** A run's faults and teleports, beside its ATT: " (3 faults, 12 teleported)", or nothing. */
function troubles(c: ControllerRun): string {
  const parts = [c.faults ? `${c.faults} faults` : '', c.teleported ? `${c.teleported} teleported` : ''].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function print(results: ScenarioResult[], grid: GridResult | null, cond: Conditions): void {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.controllers)))];
  const keys = results.map((r) => r.scenario);
  const seconds = results[0]?.seconds ?? HOUR;
  const pct = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}%`);
  const rows = (f: (r: ScenarioResult, c: ControllerRun, n: string) => string) =>
    names.map((n) => [n, ...results.map((r) => (r.controllers[n] ? f(r, r.controllers[n], n) : '-'))]);
  const storedRow = (label: string, f: (s: StoredFigures) => number | null) =>
    results.some((r) => r.stored) ? [[label, ...results.map((r) => { const v = r.stored ? f(r.stored) : null; return v === null ? '-' : v.toFixed(1); })]] : [];
  console.log(`Control: ${seconds} s from t = 0, seed 0, 5 s yellow between greens, 5 s minimum green (SignalSupervisor); ${cond.cores} cores, load average ${cond.loadAverageBefore} before, ${cond.loadAverageAfter} after\n`);
  console.log(table(['scenario', 'signalised intersections', 'vehicles entered (max-pressure)', 'rules', 'files'], results.map((r) => [
    r.scenario, r.signalisedIntersections, r.vehicles, r.rules, r.files ? `${r.files.roadnet} + ${r.files.flow}` : 'reference (--data)',
  ])));
  console.log('\nAverage travel time, ATT (s): every vehicle that entered, finished or not (CityFlow\'s)\n');
  console.log(table(['controller', ...keys], [
    ...rows((r, c, n) => `${c.att.toFixed(1)}${r.best?.controller === n ? '*' : ''}${troubles(c)}`),
    ...storedRow('CityFlow fixed-time (stored)', (s) => s.cityflowFixed),
    ...storedRow('CityFlow max-pressure (stored)', (s) => s.cityflowMaxPressure),
    ...storedRow('CityFlow Advanced-MP (stored)', (s) => s.cityflowAdvancedMp),
    ...storedRow('CityFlow Efficient-MP (stored)', (s) => s.cityflowEfficientMp),
    ['ATT floor F', ...results.map((r) => r.floorAtt.toFixed(1))],
    ['distance bound', ...results.map((r) => r.distanceBoundAtt.toFixed(1))],
  ]));
  console.log('\n* best on the scenario. ATT floor F: green everywhere, each vehicle with only those entering by its boundary lane (which admits one vehicle at a time), counted like ATT; no controller can go below it.');
  console.log('Distance bound: each vehicle over its route\'s shortest lanes and lane links at top speed from the second it is generated, counted like ATT: no controller in any simulator of this format can go below it.');
  if (results.some((r) => r.stored)) console.log('(stored): CityFlow\'s figures from ../shared/reference/baselines.md, measured on another machine, not in this run.');
  console.log(`\nShare of avoidable delay removed, (M - ATT) / (M - F): M = max-pressure's ATT in this run, F = the ATT floor. Target for the best controller >= ${TARGET_REMOVED}%, aim ${AIM_REMOVED}%\n`);
  console.log(table(['controller', ...keys], rows((_r, c) => pct(c.avoidableDelayRemovedPercent))));
  console.log('\nThe literature\'s metric, summaryTravelTime (s): time on the signalised intersections\' approach lanes, summed per vehicle, averaged over vehicles; leaves out the last road, junctions and the wait to enter. Published results are in this metric.\n');
  console.log(table(['controller', ...keys], [
    ...rows((_r, c) => c.summaryTravelTime.toFixed(1)),
    ...storedRow('Advanced-CoLight (published, learned)', (s) => s.advancedColightSummary),
  ]));
  console.log('\n' + table(['scenario', 'best', 'ATT', 'summaryTravelTime', 'vs max-pressure', 'avoidable delay removed', `target >= ${TARGET_REMOVED}%`, `aim >= ${AIM_REMOVED}%`, 'wall s'], results.map((r) => {
    const b = r.best;
    if (!b) return [r.scenario, '-', '-', '-', '-', '-', '-', '-', '-'];
    return [r.scenario, b.controller, b.att.toFixed(1), b.summaryTravelTime.toFixed(1), `${(-b.reductionVsMaxPressurePercent).toFixed(1)}%`, pct(b.avoidableDelayRemovedPercent),
      b.meetsTarget ? 'met' : 'not met', b.meetsAim ? 'met' : 'not met', r.controllers[b.controller].wallSeconds.toFixed(1)];
  })));
  console.log('\nWhere the time goes: share of time the intersections show the yellow (only right turns move) / seconds each vehicle stands (< 0.1 m/s) at the lights / of which in front of a yellow\n');
  console.log(table(['controller', ...keys], rows((_r, c) => `${c.yellowSharePercent.toFixed(1)}% / ${c.stoppedSecondsPerVehicle.toFixed(1)} / ${c.stoppedAtYellowSecondsPerVehicle.toFixed(1)}`)));
  console.log(`\nWall time of a run, s (target for the best controller on a one-hour real scenario: under ${HOUR_WALL_TARGET} s) | decision steps: wall ms per step in which the supervisor asked the controller, mean / 95th percentile / worst; ${cond.cores} cores, load average ${cond.loadAverageBefore} before, ${cond.loadAverageAfter} after\n`);
  console.log(table(['controller', ...keys], rows((_r, c) => `${c.wallSeconds.toFixed(1)} | ${c.msPerDecisionStep.toFixed(2)} / ${c.p95DecisionStepMs.toFixed(2)} / ${c.maxDecisionStepMs.toFixed(1)}`)));
  if (grid) {
    console.log(`\n${GRID}x${GRID} grid (${grid.intersections} intersections, ${grid.vehiclesInNetwork} vehicles in the network at t = ${grid.simulatedSeconds} s): one decision step for every intersection\n`);
    console.log(table(['controller', 'wall ms', 'under 1 s', 'first decision ms', 'intersections decided', 'faults'], Object.entries(grid.controllers).map(([n, g]) => [
      n, g.ms.toFixed(1), g.ms < 1000 ? 'yes' : 'no', g.firstMs?.toFixed(1) ?? '-', g.decided, g.faults,
    ])));
  }
  const skipped = new Map<string, string>();
  for (const r of results) for (const [n, why] of Object.entries(r.skipped)) skipped.set(n, why);
  for (const [n, why] of skipped) console.log(`\n${n}: skipped (${why})`);
  if (grid) for (const [n, why] of Object.entries(grid.skipped)) if (!skipped.has(n)) console.log(`\n${n}: not timed on the ${GRID}x${GRID} grid (${why})`);
}
