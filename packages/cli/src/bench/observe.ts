import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { createController, runControlled } from '@citybrain/control';
import { CityRuntime } from '@citybrain/server';
import { isTwinVehicle } from '@citybrain/brain';
import { gridOption, intOption, UsageError } from '../usage.js';
import { progress } from '../progress.js';
import { table } from '../table.js';
import { round } from '../round.js';
import { readReference } from './data.js';
import { HOUR, REFERENCE_SCENARIOS } from './reference.js';

export const benchObserveHelp = `citybrain bench observe [--data DIR] [options]

The brain seeing only what devices tell it, measured against the street's
ground truth. For each scenario and sensing, the closed loop runs with street
and brain apart: the virtual street's devices report with the sensing's
noise, gaps and delays, the brain keeps its own twin from those reports, its
controllers decide on that twin, and its signed plans go to the street's
signal controllers. Ground truth only scores it:
  (a) queueMae: the brain's queue per detected lane (its twin, what the
      controllers read) against the street's, mean absolute error, vehicles,
      sampled every 10 s after the first 300 s;
  (b) kpiTravelTimeErrorPercent: the travel-time KPI (trips matched between
      entry and exit cameras, last 10 min) against the true mean time of the
      trips that ended in the same 10 min, mean absolute error in per cent;
  (c) each controller's ATT (CityFlow's definition, on the street) with the
      brain on devices, beside the same controller seeing ground truth.
Targets: ATT on devices within 3% of ground truth for max-pressure and the
best controller under the default sensing; KPI travel time within 5%; with
loop detectors only, better than fixed-time everywhere. Each is judged and
printed at the end.
Sensings: default (video with range, noise and misses, tracking the vehicles
it sees; plates with misses and OCR confusions; checkpoint cameras; jitter,
loss, late and duplicate reports), counts (the same, video counting without
tracking), loop (stop-line loops only, 20% of reports lost), perfect (exact
devices) and state (no device: the twin is handed every vehicle's place and
speed each second, not where it goes nor what demand comes; what a
controller loses there against ground truth it owed to knowing the future,
which a fork of the street does and no device can); README, "Sensing",
gives every figure. Incident detection under the default sensing:
citybrain bench incidents --sensing default.

  --data DIR          the shared real-data folder (HZ1, JN1); without it, the generated grid only
  --scenarios LIST    comma-separated, of HZ1, JN1, grid; default all available
  --grid RxC          the generated grid; default 4x4 (demand 0.06 veh/s per route)
  --controllers LIST  default fixed,max-pressure,schedule (fixed-time: the reference loops-only
                      control must beat; schedule: serve's default, the best of bench control)
  --sensing LIST      of default, counts, loop, perfect, state; default default,counts,loop,state
  --seconds S         simulated seconds per run; default 3600
  --json              machine-readable output`;

/**
 * The device presets, and 'state': no device but the benchmark itself, which
 * hands the brain's twin every vehicle on the street (position, speed) after
 * every step, and nothing of where each goes next or what demand comes: the
 * most any set of devices could tell. What a controller loses there against
 * ground truth is what it took from knowing the future (a fork of the street
 * knows every vehicle's route and every arrival to come), which no device
 * reports; the gap to 'state' is what the devices cost.
 */
const SENSINGS = ['perfect', 'default', 'counts', 'loop', 'state'] as const;
type ObserveSensing = (typeof SENSINGS)[number];
/** The issue's targets. */
const ATT_TOLERANCE = 0.03;
const KPI_TOLERANCE = 0.05;
const EPOCH = 1_767_225_600_000;

interface ControllerFigures {
  attDevices: number;
  attGroundTruth: number;
  /** attDevices / attGroundTruth - 1, per cent */
  differencePercent: number;
}

export interface ObserveEntry {
  scenario: string;
  sensing: ObserveSensing;
  queueMae: number;
  kpiTravelTimeErrorPercent: number | null;
  /** matched trips over exit reads */
  plateMatchRate: number;
  controllers: Record<string, ControllerFigures>;
  wallSeconds: number;
}

export async function benchObserve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' }, scenarios: { type: 'string' }, grid: { type: 'string' }, controllers: { type: 'string' }, sensing: { type: 'string' },
      seconds: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchObserveHelp);
  const json = values.json!;
  const seconds = intOption(values.seconds, 'seconds', HOUR, 600, 24 * HOUR);
  const { rows, cols } = gridOption(values.grid, '4x4');
  const list = (v: string | undefined, def: string) => (v ?? def).split(',').map((x) => x.trim()).filter((x) => x !== '');
  const controllerNames = list(values.controllers, 'fixed,max-pressure,schedule');
  for (const c of controllerNames) createController(c);
  const sensings = list(values.sensing, 'default,counts,loop,state').map((s) => {
    if (!(SENSINGS as readonly string[]).includes(s)) throw new UsageError(`--sensing: unknown sensing "${s}"; choose from ${SENSINGS.join(', ')}`);
    return s as ObserveSensing;
  });
  const wanted = list(values.scenarios, values.data ? 'HZ1,JN1,grid' : 'grid');
  const scenarios: { key: string; scenario: Scenario }[] = [];
  for (const key of wanted) {
    if (key === 'grid') {
      scenarios.push({ key: `grid ${rows}x${cols}`, scenario: generateGrid({ rows, cols, demand: 0.06, endTime: seconds }) });
      continue;
    }
    const ref = REFERENCE_SCENARIOS.find((r) => r.key === key);
    if (!ref) throw new UsageError(`--scenarios: unknown scenario "${key}"; choose from ${REFERENCE_SCENARIOS.map((r) => r.key).join(', ')}, grid`);
    if (!values.data) throw new UsageError(`--scenarios ${key} needs --data DIR (the shared real-data folder)`);
    scenarios.push({ key, scenario: readReference(values.data, ref) });
  }

  const conditions = { cores: cpus().length, load1: round(loadavg()[0], 2) };
  const entries: ObserveEntry[] = [];
  for (const { key, scenario } of scenarios) {
    const truth: Record<string, number> = {};
    for (const c of controllerNames) {
      const bar = progress(seconds, `${key} ${c}, ground truth`, !json);
      const r = await runControlled(new Simulation(scenario, { seed: 0 }), createController(c), seconds, { onStep: (_s, k) => bar.update(k + 1) });
      bar.stop();
      truth[c] = r.metrics.averageTravelTime;
    }
    for (const sensing of sensings) {
      const t0 = performance.now();
      const entry: ObserveEntry = { scenario: key, sensing, queueMae: 0, kpiTravelTimeErrorPercent: null, plateMatchRate: 0, controllers: {}, wallSeconds: 0 };
      for (const [n, c] of controllerNames.entries()) {
        const run = await closedLoop(scenario, c, sensing, seconds, !json && `${key} ${c}, ${sensing} sensing`);
        entry.controllers[c] = { attDevices: round(run.att, 1), attGroundTruth: round(truth[c], 1), differencePercent: round((run.att / truth[c] - 1) * 100, 2) };
        // the estimate and KPI figures of the first controller's run (they depend little on who controls)
        if (n === 0) Object.assign(entry, { queueMae: round(run.queueMae, 3), kpiTravelTimeErrorPercent: run.kpiErrorPercent === null ? null : round(run.kpiErrorPercent, 2), plateMatchRate: round(run.matchRate, 3) });
      }
      entry.wallSeconds = round((performance.now() - t0) / 1000, 1);
      entries.push(entry);
    }
  }
  const after = { cores: conditions.cores, load1: round(loadavg()[0], 2) };
  if (json) return void console.log(JSON.stringify({ seconds, conditions: { before: conditions, after }, scenarios: entries, targets: targetLines(entries).map((l) => l.trim()) }, null, 2));
  console.log(`\nThe brain on devices against ground truth (${seconds} s per run; ${conditions.cores} cores, load ${conditions.load1} before, ${after.load1} after)\n`);
  console.log(table(
    ['scenario', 'sensing', 'queue MAE (veh)', 'KPI travel time error', 'plate match', ...controllerNames.map((c) => `${c} ATT devices / truth`), 'wall s'],
    entries.map((e) => [
      e.scenario, e.sensing, e.queueMae, e.kpiTravelTimeErrorPercent === null ? 'no trips' : `${e.kpiTravelTimeErrorPercent}%`, e.plateMatchRate,
      ...controllerNames.map((c) => `${e.controllers[c].attDevices} / ${e.controllers[c].attGroundTruth} (${e.controllers[c].differencePercent >= 0 ? '+' : ''}${e.controllers[c].differencePercent}%)`),
      e.wallSeconds,
    ]),
  ));
  for (const line of targetLines(entries)) console.log(line);
}

/**
 * The issue's targets, judged on the entries: under the default sensing, ATT
 * on devices within 3% of ground truth for every controller run (max-pressure
 * and the best) and the KPI travel time within 5%; with loops only, every
 * adaptive controller still better than fixed-time (when it was run).
 */
function targetLines(entries: readonly ObserveEntry[]): string[] {
  const lines: string[] = [];
  const def = entries.filter((e) => e.sensing === 'default');
  if (def.length > 0) {
    // beside each miss, the same controller with every vehicle's place handed over ('state'), where it was run: what no device could close
    const floor = (scenario: string, n: string) => entries.find((x) => x.scenario === scenario && x.sensing === 'state')?.controllers[n]?.differencePercent;
    const off = def.flatMap((e) => Object.entries(e.controllers).filter(([, c]) => Math.abs(c.differencePercent) > ATT_TOLERANCE * 100).map(([n, c]) => {
      const f = floor(e.scenario, n);
      return `${e.scenario} ${n} ${c.differencePercent}%${f === undefined ? '' : `; state ${f}%`}`;
    }));
    const kpiOff = def.filter((e) => e.kpiTravelTimeErrorPercent === null || e.kpiTravelTimeErrorPercent > KPI_TOLERANCE * 100).map((e) => e.scenario);
    lines.push(`\nUnder the default sensing: ATT on devices within ${ATT_TOLERANCE * 100}% of ground truth: ${off.length === 0 ? 'met' : `NOT met (${off.join('; ')})`}`);
    lines.push(`Under the default sensing: KPI travel time within ${KPI_TOLERANCE * 100}% of the truth: ${kpiOff.length === 0 ? 'met' : `NOT met (${kpiOff.join(', ')})`}`);
  }
  const loop = entries.filter((e) => e.sensing === 'loop' && e.controllers.fixed);
  if (loop.length > 0) {
    const worse = loop.flatMap((e) => Object.entries(e.controllers).filter(([n, c]) => n !== 'fixed' && c.attDevices >= e.controllers.fixed.attDevices).map(([n, c]) => `${e.scenario} ${n} ${c.attDevices} s vs fixed ${e.controllers.fixed.attDevices} s`));
    lines.push(`With loop detectors only (20% of reports lost): every controller better than fixed-time: ${worse.length === 0 ? 'met' : `NOT met (${worse.join('; ')})`}`);
  }
  return lines;
}

interface LoopResult {
  att: number;
  queueMae: number;
  kpiErrorPercent: number | null;
  matchRate: number;
}

/**
 * One closed loop: the brain (CityRuntime, in this thread) and its virtual
 * street with `sensing`, for `seconds`. The street's ground truth is read
 * only here, to score: queues on the detected lanes, and each trip's time
 * from entering to leaving the network (what entry and exit cameras time).
 */
async function closedLoop(scenario: Scenario, controller: string, sensing: ObserveSensing, seconds: number, label: string | false): Promise<LoopResult> {
  const rt = new CityRuntime(scenario, { controller, sensing: sensing === 'state' ? 'perfect' : sensing, seed: 0, epochMs: EPOCH, hostedControllers: [] });
  const street = rt.street!.sim;
  const net = street.net;
  const handOver = sensing === 'state' ? stateCopier(street, rt.sim) : undefined;
  const detected = [...net.signalised].flatMap((i) => net.incomingLanes(i));
  const window = 600;
  // trips of the truth: handle -> entry time, and the end times and durations of finished trips in the window
  const entered = new Map<number, number>();
  const ended: { t: number; d: number }[] = [];
  let queueErr = 0, queueN = 0, kpiErr = 0, kpiN = 0;
  const bar = label ? progress(seconds, label, true) : undefined;
  for (let k = 1; k <= seconds; k++) {
    await rt.stepOnce();
    handOver?.();
    const t = street.time;
    street.forEachEntry((v) => void entered.set(v, t));
    street.forEachExit((v) => {
      const t0 = entered.get(v);
      entered.delete(v);
      if (t0 !== undefined) ended.push({ t, d: t - t0 });
    });
    while (ended.length > 0 && ended[0].t <= t - window) ended.shift();
    if (k > 300 && k % 10 === 0) {
      for (const l of detected) {
        queueErr += Math.abs(rt.sim.laneWaitingCount(l) - street.laneWaitingCount(l));
        queueN++;
      }
      const kpi = rt.kpis.at(-1);
      if (kpi && kpi.averageTravelTime > 0 && ended.length >= 20 && k > window) {
        const truth = ended.reduce((s, x) => s + x.d, 0) / ended.length;
        kpiErr += Math.abs(kpi.averageTravelTime / truth - 1);
        kpiN++;
      }
    }
    bar?.update(k);
  }
  bar?.stop();
  await rt.close();
  return {
    att: street.metrics().averageTravelTime, queueMae: queueN ? queueErr / queueN : 0,
    kpiErrorPercent: kpiN ? (kpiErr / kpiN) * 100 : null, matchRate: rt.observed.matchRate,
  };
}

/**
 * The 'state' sensing: a function that puts every vehicle of `street` on the
 * same lane of `twin`, at the same place and speed, in place of the twin's
 * own (its routes drawn by the twin: where a vehicle goes is not handed
 * over). Vehicles the twin did not make itself (an emergency vehicle) stay.
 */
function stateCopier(street: Simulation, twin: Simulation): () => void {
  const net = street.net;
  let buf = new Int32Array(256);
  return () => {
    for (let l = 0; l < net.nLanes; l++) {
      const n = Math.max(street.laneVehicleCount(l), twin.laneVehicleCount(l));
      if (buf.length < n) buf = new Int32Array(2 * n);
      const m = twin.laneVehicles(l, buf);
      for (let j = 0; j < m; j++) if (isTwinVehicle(twin.vehicleId(buf[j]))) twin.removeVehicle(buf[j]);
      const k = street.laneVehicles(l, buf);
      // back to front: each placed behind nothing yet, so only the street's own spacing decides
      for (let j = k - 1; j >= 0; j--) {
        const v = buf[j];
        try {
          twin.placeVehicle({ lane: l, distance: street.vehicleDistance(v), speed: street.vehicleSpeed(v) });
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
        }
      }
    }
  };
}
