import { join } from 'node:path';
import { levelOfService, meanCi, reportHtml, toCsv, toJsonLines, type ApproachRecord, type IntersectionRecord, type MeanCi, type Scenario } from '@citybrain/engine';
import type { SimulateResult, Study } from '../commands/simulate.js';
import { writeOutput } from '../scenario-files.js';
import { handedOver } from '../handed-over.js';

export interface StudyInput {
  scenario: Scenario;
  roadnetPath: string;
  flowPath: string;
  runs: SimulateResult[];
  studies: Study[];
  window: number;
}

interface Kpi {
  key: string;
  name: string;
  unit: string;
  definition: string;
  digits?: number;
  of: (r: SimulateResult, s: Study) => number;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
/** vehicle-weighted control delay over every approach */
const controlDelay = (aps: readonly ApproachRecord[]) => {
  const served = sum(aps.map((a) => a.vehicles));
  return served ? sum(aps.map((a) => a.delayPerVehicle * a.vehicles)) / served : 0;
};

/** The KPIs of a run, each with the definition the report prints beside it. */
const KPIS: Kpi[] = [
  { key: 'averageTravelTime', name: 'Average travel time (ATT)', unit: 's', digits: 2, of: (r) => r.averageTravelTime,
    definition: 'Mean time from generation to the end of the trip over every vehicle generated, a vehicle still travelling or waiting to enter counted to the end of the run (CityFlow\'s get_average_travel_time).' },
  { key: 'timeLossPerTrip', name: 'Time loss per trip', unit: 's', of: (_r, s) => (s.trips.length ? sum(s.trips.map((t) => t.timeLoss)) / s.trips.length : 0),
    definition: 'Seconds each trip lost against its free speed (its own top speed or the lane\'s limit, whichever is lower), over the trips in trips.csv (SUMO\'s timeLoss).' },
  { key: 'stopsPerTrip', name: 'Stops per trip', unit: '', digits: 2, of: (_r, s) => (s.trips.length ? sum(s.trips.map((t) => t.stops)) / s.trips.length : 0),
    definition: 'Times a vehicle slowed below 0.1 m/s after moving, per trip.' },
  { key: 'controlDelay', name: 'Control delay', unit: 's/veh', of: (_r, s) => controlDelay(s.approaches),
    definition: 'Time lost on the signalised approaches\' lanes per vehicle that crossed a stop line, weighted by vehicles (the HCM\'s control delay, less what is lost accelerating past the stop line).' },
  { key: 'tripsFinished', name: 'Trips finished', unit: '', digits: 0, of: (r) => r.finishedVehicles, definition: 'Vehicles that reached the end of their route within the run.' },
  { key: 'throughputPerHour', name: 'Throughput', unit: 'trips/h', digits: 0, of: (r) => (r.finishedVehicles * 3600) / r.simulatedSeconds,
    definition: 'Trips finished per hour over the whole run.' },
  { key: 'inNetworkAtEnd', name: 'On the network at the end', unit: 'vehicles', digits: 0, of: (r) => r.vehiclesInNetwork, definition: 'Vehicles still driving when the run ended.' },
  { key: 'waitingToEnterAtEnd', name: 'Waiting to enter at the end', unit: 'vehicles', digits: 0, of: (r) => r.waitingToEnter,
    definition: 'Vehicles generated that had found no room on their first lane when the run ended (counted in ATT, not listed in trips.csv).' },
];

/**
 * Writes the study's files into `dir` (which exists): every run's trips,
 * approaches, intersections and time series (a seed column tells the runs
 * apart), summary.json and report.html. Returns the file names and the KPIs.
 */
export function writeStudy(dir: string, s: StudyInput): { files: string[]; kpis: Record<string, MeanCi & { perSeed: number[] }> } {
  const files: string[] = [];
  const put = (name: string, text: string) => {
    writeOutput(join(dir, name), text, '--out');
    files.push(name);
  };
  const seeded = <T extends object>(pick: (st: Study) => readonly T[]) => s.studies.flatMap((st) => pick(st).map((r) => ({ seed: st.seed, ...r })));
  const trips = seeded((st) => st.trips);
  put('trips.csv', toCsv(trips, ['seed', 'id', 'from', 'to', 'depart', 'departDelay', 'arrival', 'duration', 'routeLength', 'timeLoss', 'waitingTime', 'stops']));
  put('trips.jsonl', toJsonLines(trips));
  put('approaches.csv', toCsv(seeded((st) => st.approaches), ['seed', 'intersection', 'from', 'road', 'roadName', 'lanes', 'vehicles', 'delayPerVehicle', 'stopsPerVehicle', 'queueP50', 'queueP95', 'queueMax', 'los']));
  put('intersections.csv', toCsv(seeded((st) => st.intersections), ['seed', 'intersection', 'vehicles', 'delayPerVehicle', 'stopsPerVehicle', 'los', 'x', 'y']));
  put('timeseries.csv', toCsv(seeded((st) => st.series), ['seed', 'time', 'inNetwork', 'waitingToEnter', 'throughputPerHour', 'windowTravelTime', 'meanSpeed']));
  const kpis: Record<string, MeanCi & { perSeed: number[] }> = {};
  for (const k of KPIS) {
    const perSeed = s.runs.map((r, i) => k.of(r, s.studies[i]));
    kpis[k.key] = { ...meanCi(perSeed), perSeed };
  }
  const r0 = s.runs[0];
  const summary = {
    roadnet: s.roadnetPath, flow: s.flowPath, controller: r0.controller, simulatedSeconds: r0.simulatedSeconds,
    seeds: s.runs.map((r) => r.seed), windowSeconds: s.window, kpis,
    definitions: Object.fromEntries(KPIS.map((k) => [k.key, `${k.definition}${k.unit ? ` Unit: ${k.unit}.` : ''}`])),
    faults: s.runs.map((r) => ({ seed: r.seed, intersections: new Set(r.faults.map((f) => f.intersection)).size, of: r.signalised })),
  };
  put('summary.json', JSON.stringify(summary, null, 2) + '\n');
  // the seed that lost the most
  const worst = s.runs.reduce((a, b) => (new Set(b.faults.map((f) => f.intersection)).size > new Set(a.faults.map((f) => f.intersection)).size ? b : a));
  const handed = handedOver(worst.faults, r0.signalised, s.runs.length > 1 ? 'up to ' : '');
  put('report.html', reportHtml({
    title: `CityBrain run report: ${r0.controller} on ${basename(s.roadnetPath)}`,
    facts: [
      ['roadnet', s.roadnetPath], ['flow', s.flowPath],
      ['controller', `${r0.controller}${handed}${handed ? ': their figures are partly those controllers\'' : ''}`],
      ['simulated', `${r0.simulatedSeconds} s per run, ${s.runs.length} seed${s.runs.length > 1 ? 's' : ''} (${s.runs.map((r) => r.seed).join(', ')})`],
      ['signalised intersections', String(r0.signalised)],
    ],
    kpis: KPIS.map((k) => ({ name: k.name, unit: k.unit, value: kpis[k.key], definition: k.definition, digits: k.digits })),
    series: s.studies.map((st) => st.series),
    intersections: meanOverSeeds(s.studies.map((st) => st.intersections), (i) => i.intersection),
    approaches: meanOverSeeds(s.studies.map((st) => st.approaches), (a) => `${a.intersection} ${a.road}`),
    roadnet: s.scenario.roadnet,
    generatedAt: new Date().toISOString(),
  }));
  return { files, kpis };
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/** Per key, the numeric fields averaged over seeds, the level of service re-read from the mean delay. */
function meanOverSeeds<T extends IntersectionRecord | ApproachRecord>(bySeed: readonly (readonly T[])[], key: (x: T) => string): T[] {
  if (bySeed.length === 1) return [...bySeed[0]];
  const groups = new Map<string, T[]>();
  for (const list of bySeed) for (const x of list) groups.set(key(x), [...(groups.get(key(x)) ?? []), x]);
  return [...groups.values()].map((xs) => {
    const out = { ...xs[0] } as Record<string, unknown>;
    for (const [k, v] of Object.entries(xs[0])) if (typeof v === 'number') out[k] = sum(xs.map((x) => (x as unknown as Record<string, number>)[k])) / xs.length;
    out.los = levelOfService(out.delayPerVehicle as number);
    return out as T;
  });
}
