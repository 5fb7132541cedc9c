import { parseArgs } from 'node:util';
import { basename } from 'node:path';
import { calibrateDemandByRuns, loadSumoScenario, parseCounts, parseRoadnet, parseTurnCounts, ROUTE_SHARINGS, Simulation, type CalibrationRun, type RoadnetJson, type RouteSharing } from '@citybrain/engine';
import { controllers, runControlled } from '@citybrain/control';
import { readText, writeOutput } from '../scenario-files.js';
import { intOption, numOption, UsageError } from '../usage.js';
import { round } from '../round.js';

export const calibrateHelp = `citybrain calibrate --roadnet FILE --counts counts.csv [--turns turns.csv] --out flow.json [options]

Fits route flows to detector counts (as SUMO's routeSampler does) and writes them
as CityFlow flows, which citybrain simulate --roadnet FILE --flow flow.json runs.
Prints the GEH of each count (hourly flows: sqrt(2 (M - C)^2 / (M + C)), M the
fitted demand's, C the count) and the share below 5.

counts.csv: a header, then one count per line:
  begin,end,lane,count        begin,end,road,count        begin,end,lane,count,position
  0,300,road_0_1_0_1,42       0,300,road_0_1_0,97         0,300,road_0_1_0_1,45,entry
  begin/end in seconds, the interval [begin, end); lane ids <road id>_<lane index>
  (0 the innermost lane); position (optional column): stop-line (default), the
  vehicles that crossed the lane's stop line, or entry, those that entered the
  lane at its upstream end (not capped by the signal); a road count is the sum
  over its lanes. A detector's intervals must not overlap.
turns.csv (optional): begin,end,from,to,count: vehicles that went from road from into road to.

  --roadnet FILE        roadnet (CityFlow JSON) or network (SUMO .net.xml)
  --counts FILE         the counts (above)
  --turns FILE          turning counts (above)
  --out FILE            the flows to write (CityFlow flow JSON)
  --routes K            candidate routes per entry/exit road pair (k shortest by length); default 3
  --route-file FILE     fit only these candidate routes (as routeSampler takes a route file): a JSON
                        array whose items are routes (arrays of road ids, entry road first) or
                        CityFlow flows (their route), so a flow file serves; --routes and --likely
                        are then not used
  --likely K            also the K likeliest routes per pair by the turning shares the counts
                        show (a lane count goes to the roads its lane leads to); default 3, 0 none
  --sparsity X          how strongly few routes are preferred to many that explain the counts
                        alike (reweighted L1 over each route's total); default 3, 0 not at all
  --detour-cost X       what a vehicle costs the fit per unit of relative detour (a route
                        r m long, the shortest candidate of its entry/exit pair m: X (r / m - 1));
                        default 1, 0 not at all
  --until S             no departure at or after S seconds (counts may go on while the network
                        drains); default the end of the last count
  --runs N              times the fitted demand is simulated to measure how long its vehicles
                        take to each detector, then fitted again; default 5 (0: free-flow time
                        plus --delay per stop line)
  --controller NAME     the signal control the counts were taken under, for those runs:
                        plan (the network's own signal programs; default) | ${Object.keys(controllers).join(' | ')}
  --delay S             seconds assumed lost at each stop line passed, before any run; default 40
  --sharing even|few|best  how a count is shared among routes that explain it exactly alike
                        (vehicles from different roads meeting on a lane and parting after the
                        next junction; counts cannot say): even (a small ridge: vehicles turn
                        independently at each junction), few (the --sparsity prior decides: few
                        routes carry each lane's vehicles on), or best (default: both fitted, each
                        simulated once more, the one whose simulated counts meet more counts
                        with GEH < 5 kept; with --runs 0 too)
  --json                print one JSON object (every count with its model value and GEH)`;

/** Seconds the measuring runs go on after the last count. */
const DRAIN = 1800;

export async function calibrateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      roadnet: { type: 'string' }, counts: { type: 'string' }, turns: { type: 'string' }, out: { type: 'string' },
      routes: { type: 'string' }, 'route-file': { type: 'string' }, likely: { type: 'string' }, sparsity: { type: 'string' }, 'detour-cost': { type: 'string' }, delay: { type: 'string' }, until: { type: 'string' }, runs: { type: 'string' }, controller: { type: 'string', default: 'plan' }, sharing: { type: 'string', default: 'best' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(calibrateHelp);
  if (!values.roadnet || !values.counts || !values.out) throw new UsageError('calibrate needs --roadnet FILE, --counts FILE and --out FILE (see citybrain calibrate --help)');
  const routesPerPair = intOption(values.routes, 'routes', 3, 1, 50);
  const likelyRoutesPerPair = intOption(values.likely, 'likely', 3, 0, 50);
  const sparsity = numOption(values.sparsity, 'sparsity', 3, 0, 1000);
  const detourCost = numOption(values['detour-cost'], 'detour-cost', 1, 0, 1000);
  const delayPerSignal = numOption(values.delay, 'delay', 40, 0, 3600);
  const runs = intOption(values.runs, 'runs', 5, 0, 20);
  const departUntil = values.until === undefined ? undefined : numOption(values.until, 'until', 0, 1);
  const controller = values.controller!;
  const sharing = values.sharing!;
  if (sharing !== 'best' && !(ROUTE_SHARINGS as readonly string[]).includes(sharing)) throw new UsageError(`--sharing must be even, few or best, got "${sharing}"`);
  const routeSharing = sharing === 'best' ? undefined : (sharing as RouteSharing);
  if (controller !== 'plan' && !controllers[controller]) throw new UsageError(`unknown controller "${controller}"; choose plan, ${Object.keys(controllers).join(', ')}`);
  const roadnet = readRoadnet(values.roadnet);
  const candidates = values['route-file'] ? readRouteFile(values['route-file']) : undefined;
  const counts = parseCounts(readText(values.counts, '--counts'), roadnet, basename(values.counts));
  const turns = values.turns ? parseTurnCounts(readText(values.turns, '--turns'), roadnet, basename(values.turns)) : [];
  const t0 = performance.now();
  // the runs go on for DRAIN s after the last count, so late departures' times are measured too
  const steps = Math.ceil(Math.max(...counts.map((c) => c.end), ...turns.map((c) => c.end))) + DRAIN;
  const run: CalibrationRun = async (scenario, observe) => {
    const sim = new Simulation(scenario);
    await runControlled(sim, controller === 'plan' ? 'plan' : controllers[controller](), steps, { onStep: (s) => observe(s) });
  };
  const fit = await calibrateDemandByRuns(roadnet, counts, turns, { routesPerPair, likelyRoutesPerPair, sparsity, detourCost, delayPerSignal, departUntil, runs, routeSharing, candidates, candidatesSource: values['route-file'] && basename(values['route-file']) }, run);
  const seconds = (performance.now() - t0) / 1000;
  writeOutput(values.out, JSON.stringify(fit.flows), '--out');
  const vehicles = fit.flows.reduce((n, f) => n + Math.floor((f.endTime - f.startTime) / f.interval + 1e-9) + 1, 0);
  const lines = fit.counts.map((c) => {
    const at = 'from' in c.row ? `${c.row.from}->${c.row.to}` : `${'lane' in c.row.at ? c.row.at.lane : c.row.at.road}${c.row.position === 'entry' ? ' (entry)' : ''}`;
    return { line: c.row.line, begin: c.row.begin, end: c.row.end, at, count: c.row.count, model: round(c.model, 2), geh: round(c.geh, 2) };
  });
  const summary = { counts: lines.length, gehBelow5Percent: round(fit.gehBelow5Percent, 1), flows: fit.flows.length, vehicles, candidateRoutes: fit.candidateRoutes, fitSeconds: round(seconds, 3),
    routeSharing: fit.routeSharing, simulated: fit.simulated?.map((x) => ({ routeSharing: x.routeSharing, gehBelow5Percent: round(x.gehBelow5Percent, 1), meanGeh: round(x.meanGeh, 3) })) };
  if (values.json) return void console.log(JSON.stringify({ ...summary, perCount: lines }));
  console.log(['begin', 'end', 'detector', 'count', 'model', 'GEH'].join('\t'));
  for (const l of lines) console.log([l.begin, l.end, l.at, l.count, l.model.toFixed(1), l.geh.toFixed(2)].join('\t'));
  console.log(`\n${summary.gehBelow5Percent}% of ${summary.counts} counts with GEH < 5; ${summary.vehicles} vehicles in ${summary.flows} flows over ` +
    `${summary.candidateRoutes} candidate routes, fitted in ${summary.fitSeconds} s (${fit.runs} measuring runs); wrote ${values.out}`);
  const sims = summary.simulated?.map((x) => `${x.routeSharing} ${x.gehBelow5Percent}% (mean GEH ${x.meanGeh})`).join(', ');
  console.log(`routes shared ${fit.routeSharing}${sims ? `: simulated, counts with GEH < 5 ${sims}` : ''}`);
}

function readRoadnet(path: string): RoadnetJson {
  const text = readText(path, '--roadnet');
  if (path.toLowerCase().endsWith('.xml')) return loadSumoScenario({ net: text, routes: '<routes/>', netSource: basename(path), routesSource: '(none)' }).scenario.roadnet;
  return parseRoadnet(text, basename(path));
}

/** --route-file: routes as arrays of road ids, or CityFlow flows (their route); each item checked, named by its place. */
function readRouteFile(path: string): string[][] {
  const text = readText(path, '--route-file');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--route-file ${basename(path)}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(doc) || doc.length === 0) throw new UsageError(`--route-file ${basename(path)}: expected a non-empty JSON array of routes (arrays of road ids) or CityFlow flows`);
  return doc.map((item: unknown, k) => {
    const route = Array.isArray(item) ? item : (item as { route?: unknown } | null)?.route;
    if (!Array.isArray(route) || route.length === 0 || !route.every((r) => typeof r === 'string')) {
      throw new UsageError(`--route-file ${basename(path)}: [${k}] is not a route (a non-empty array of road ids, or a flow with one)`);
    }
    return route as string[];
  });
}
