import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createHmac, randomBytes } from 'node:crypto';
import { generateGrid } from '@citybrain/engine';
import { Confusions, correctRead, PlateWatchlist, type PlateEvent, type PlateRead, type TaxiOptions, type WatchlistAlert } from '@citybrain/brain';
import { plateOf, VirtualCity } from '@citybrain/field';
import { gridOption, intOption, numOption } from '../usage.js';
import { progress } from '../progress.js';
import { table } from '../table.js';
import { round } from '../round.js';

export const benchWatchlistHelp = `citybrain bench watchlist [options]

The plate watchlist against the truth the virtual city knows: a generated
grid whose vehicles include a known share of unregistered plates, cloned
plates (two vehicles of different routes, setting off together, one plate)
and unlicensed taxis (private cars taking fares from pick-up points, many
short trips with stops between), read by the stop-line cameras with the
default sensing's OCR errors (2% of confusable characters misread, 5% of
reads missed). The register is the city's (every registered plate its flows
set off); the matcher sees only the reads.

Per kind: precision (alerts that are right) and recall (of the plates that
could be flagged: unregistered plates read, cloned plates read on both
vehicles, taxis that made enough trips). Then the matcher's throughput:
the run's reads replayed through a fresh matcher (HMAC-SHA256 keys, every rule).

  --grid RxC            default 6x6
  --demand VPS          vehicles per second per route; default 0.05
  --hours H             simulated hours; default 3
  --seed N              default 0
  --unregistered S      share of vehicles unregistered; default 0.01
  --cloned S            share of vehicles on a cloned plate; default 0.01
  --taxis N             unlicensed taxis; default 6
  --min-trips N         the taxi rule's qualifying trips; default 8
  --max-confusions N    OCR confusions tolerated; default 2
  --json                machine-readable output`;

/** The targets. */
export const WATCHLIST_TARGETS = { unregisteredPrecision: 0.95, unregisteredRecall: 0.92, readsPerSecond: 9000 };

export interface KindScore {
  precision: number;
  recall: number;
}

export interface WatchlistBenchResult {
  unregistered: KindScore;
  cloned: KindScore;
  illegalTaxi: KindScore;
  readsPerSecond: number;
}

export interface WatchlistBenchOptions {
  rows?: number;
  cols?: number;
  demand?: number;
  hours?: number;
  seed?: number;
  unregisteredShare?: number;
  clonedShare?: number;
  illegalTaxis?: number;
  minTrips?: number;
  maxConfusions?: number;
  /** print the table (default true) */
  print?: boolean;
}

interface Counts {
  alerts: number;
  right: number;
  truth: number;
  found: number;
}

/** Runs the watchlist benchmark; returns precision and recall per kind (fractions 0..1) and the reads/s the matcher sustains. */
export async function runWatchlistBench(o: WatchlistBenchOptions = {}): Promise<WatchlistBenchResult> {
  const rows = o.rows ?? 6, cols = o.cols ?? 6, demand = o.demand ?? 0.05, hours = o.hours ?? 3, seed = o.seed ?? 0;
  const minTrips = o.minTrips ?? 8, maxConfusions = o.maxConfusions ?? 2, print = o.print ?? true;
  const seconds = Math.round(hours * 3600);
  const epochMs = 1_767_225_600_000;
  const city = new VirtualCity(generateGrid({ rows, cols, demand }), {
    seed, epochMs, unregisteredShare: o.unregisteredShare ?? 0.01, clonedShare: o.clonedShare ?? 0.01, illegalTaxis: o.illegalTaxis ?? 6,
  });
  const net = city.sim.net;
  const key = randomBytes(32);
  const keyer = (t: string) => createHmac('sha256', key).update(t).digest('base64');
  const locate = (id: string) => {
    const i = net.interIndex.get(id);
    return i === undefined ? undefined : { x: net.interX[i], y: net.interY[i] };
  };
  const taxi: TaxiOptions = { minTrips, pickUpPoints: city.pickUpPoints };
  const register = [...city.registerPlates(seconds)];
  const make = () => {
    const w = new PlateWatchlist({ keyer, locate, maxConfusions, taxi });
    for (const p of register) {
      const k = w.keysOf(p);
      w.register.add(k.key, k.canonicalKey, 'private');
    }
    return w;
  };

  const w = make();
  const reads: PlateRead[] = [];
  const alerts: WatchlistAlert[] = [];
  const bar = progress(seconds, `watchlist, ${rows}x${cols}`, print);
  for (let s = 1; s <= seconds; s++) {
    for (const e of city.step()) {
      if (e.kind !== 'plate') continue;
      const r = readOf(e);
      reads.push(r);
      alerts.push(...w.read(r).alerts);
    }
    if (s % 60 === 0) alerts.push(...w.flush(city.ts));
    bar.update(s);
  }
  bar.stop();
  alerts.push(...w.flush(city.ts + 3_600_000));

  // the truth, by canonical form (what one plate's reads share)
  const c = new Confusions();
  const canon = (p: string) => c.canonical(correctRead(p));
  const seenCanon = new Set(reads.map((r) => canon(r.plate)));
  const registered = new Set(register);
  const unregistered = new Set<string>();
  for (const id of city.flowVehicles(seconds)) {
    const p = plateOf(id);
    if (!registered.has(p)) unregistered.add(canon(p));
  }
  const cloned = new Set([...city.plateTruth.cloned].filter(([, v]) => v.size >= 2).map(([p]) => canon(p)));
  const clonedAny = new Set([...city.plateTruth.cloned.keys()].map(canon));
  const taxis = new Set([...city.plateTruth.taxis].filter(([, trips]) => trips.length >= minTrips).map(([p]) => canon(p)));
  const taxisAny = new Set([...city.plateTruth.taxis.keys()].map(canon));
  const score = (kind: WatchlistAlert['kind'], truth: Set<string>, rightIf: Set<string>): Counts => {
    const mine = alerts.filter((a) => a.kind === kind);
    const flagged = new Set(mine.map((a) => canon(a.plate)));
    const seen = [...truth].filter((p) => seenCanon.has(p));
    return { alerts: mine.length, right: mine.filter((a) => rightIf.has(canon(a.plate))).length, truth: seen.length, found: seen.filter((p) => flagged.has(p)).length };
  };
  const counts = {
    unregistered: score('unregistered', new Set([...unregistered].filter((p) => seenCanon.has(p))), unregistered),
    cloned: score('cloned', cloned, clonedAny),
    illegalTaxi: score('illegal-taxi', taxis, taxisAny),
  };

  // throughput: the reads again through a fresh matcher, timed
  const replay = make();
  const rounds = Math.max(1, Math.ceil(200_000 / Math.max(1, reads.length)));
  const t0 = performance.now();
  for (let k = 0; k < rounds; k++) {
    const shift = k * (seconds + 86_400) * 1000;
    for (const r of reads) replay.read(shift === 0 ? r : { ...r, ts: r.ts + shift });
  }
  const readsPerSecond = Math.round((rounds * reads.length) / ((performance.now() - t0) / 1000));

  const fraction = (n: number, d: number) => (d === 0 ? 1 : round(n / d, 4));
  const kinds = (k: Counts): KindScore => ({ precision: fraction(k.right, k.alerts), recall: fraction(k.found, k.truth) });
  const result: WatchlistBenchResult = { unregistered: kinds(counts.unregistered), cloned: kinds(counts.cloned), illegalTaxi: kinds(counts.illegalTaxi), readsPerSecond };
  if (print) {
    console.log(`Plate watchlist: ${rows}x${cols} grid, demand ${demand} veh/s per route, ${hours} h, seed ${seed}; ${reads.length} reads, register of ${register.length}, ${city.pickUpPoints.length} pick-up points\n`);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(table(['kind', 'alerts', 'right', 'precision', 'plates to flag', 'flagged', 'recall'], (['unregistered', 'cloned', 'illegalTaxi'] as const).map((k) => [
      k, counts[k].alerts, counts[k].right, pct(result[k].precision), counts[k].truth, counts[k].found, pct(result[k].recall),
    ])));
    console.log(`\nmatcher throughput: ${readsPerSecond.toLocaleString('en')} reads/s (target ${WATCHLIST_TARGETS.readsPerSecond.toLocaleString('en')}: 4,500 cameras x 2 reads/s; one thread, ${cpus().length} cores, load average ${loadavg()[0].toFixed(2)})`);
    const pass = result.unregistered.precision >= WATCHLIST_TARGETS.unregisteredPrecision && result.unregistered.recall >= WATCHLIST_TARGETS.unregisteredRecall && readsPerSecond >= WATCHLIST_TARGETS.readsPerSecond;
    console.log(`targets: unregistered precision >= 95% and recall >= 92%, throughput >= 9,000 reads/s: ${pass ? 'PASS' : 'FAIL'}`);
  }
  return result;
}

function readOf(e: PlateEvent): PlateRead {
  return { plate: e.plate, camera: e.camera, intersection: e.intersection, ts: e.ts, confidence: e.confidence };
}

export async function benchWatchlist(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      grid: { type: 'string' }, demand: { type: 'string' }, hours: { type: 'string' }, seed: { type: 'string' }, unregistered: { type: 'string' }, cloned: { type: 'string' },
      taxis: { type: 'string' }, 'min-trips': { type: 'string' }, 'max-confusions': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchWatchlistHelp);
  const { rows, cols } = gridOption(values.grid, '6x6');
  const result = await runWatchlistBench({
    rows, cols, demand: numOption(values.demand, 'demand', 0.05, 0.001, 5), hours: numOption(values.hours, 'hours', 3, 0.25, 48), seed: intOption(values.seed, 'seed', 0),
    unregisteredShare: numOption(values.unregistered, 'unregistered', 0.01, 0, 1), clonedShare: numOption(values.cloned, 'cloned', 0.01, 0, 1),
    illegalTaxis: intOption(values.taxis, 'taxis', 6, 0, 1000), minTrips: intOption(values['min-trips'], 'min-trips', 8, 2, 1000),
    maxConfusions: intOption(values['max-confusions'], 'max-confusions', 2, 0, 4), print: !values.json,
  });
  if (values.json) console.log(JSON.stringify(result));
}
