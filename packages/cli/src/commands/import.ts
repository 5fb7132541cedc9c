import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSumoScenario, Network, sumoLaneAllowsCars, type LoadedScenario, type Scenario } from '@citybrain/engine';
import { round } from '../round.js';
import { intOption, numOption, UsageError } from '../usage.js';
import { makeOutputDir, writeOutput } from '../scenario-files.js';

export const importHelp = `citybrain import osm FILE.osm|FILE.osm.xml|FILE.osm.pbf --out DIR [options]

Turns an OpenStreetMap extract into a network and demand CityBrain runs, with
SUMO's netconvert (Debian package sumo) and randomTrips.py + duarouter
(sumo-tools, python3); a .osm.pbf is first converted with osmium (osmium-tool).
Writes DIR/net.net.xml, DIR/routes.rou.xml (DIR/trips.trips.xml: the trips
before routing) and DIR/README.txt (the commands run, the OSM attribution),
then prints the network's signals, junctions and lane-km as loaded beside
netconvert's own, of what cars may use and of everything. Run it with:
citybrain simulate --roadnet DIR/net.net.xml --flow DIR/routes.rou.xml

  --out DIR               output folder (created if missing)
  --demand VEH_PER_HOUR   random trips inserted per hour; default ${600}
  --seconds S             demand from 0 to S seconds; default 3600
  --seed N                randomTrips' seed; default 42
  --json                  the figures as one JSON line`;

/** The default demand: on the Osnabrück extract no controller gridlocks at twice this, fixed-time does at 2,000 (bench import). */
export const DEFAULT_DEMAND_PER_HOUR = 600;
/** SUMO's folder as Debian installs it: used as SUMO_HOME when that is unset. */
const DEBIAN_SUMO_HOME = '/usr/share/sumo';

/**
 * netconvert's options: SUMO's recommended OpenStreetMap import
 * (sumo.dlr.de/docs/Networks/Import/OpenStreetMap.html) less --tls.join.
 * --tls.join gives several nearby junctions one program that greens one
 * approach at a time (on the Osnabrück extract one 272 s cycle over 8
 * junctions), which gridlocked every controller; each junction keeps its own.
 * --tls.default-type static: the programs as written are what the plan runs,
 * in SUMO and here alike (actuated's minDur/maxDur would be read as fixed
 * durations); adapting to traffic is the controllers' job.
 * --output.street-names: edges keep OSM's street names, which the dashboard
 * names approaches and incidents by.
 */
export const NETCONVERT_OPTIONS = [
  '--geometry.remove', '--ramps.guess', '--junctions.join',
  '--tls.guess-signals', '--tls.discard-simple', '--tls.default-type', 'static', '--output.street-names',
] as const;

/** A network's size as counted from net.net.xml directly, or from the network as loaded. */
export interface NetworkFigures {
  /**
   * netconvert: tlLogic elements (cars: the tlLogics with two phases or more that a connection between
   * car lanes names); loaded: intersections with at least two phases
   */
  signals: number;
  /** netconvert: junctions except internal ones (cars: those an edge with a car lane joins); loaded: intersections (boundaries included) */
  junctions: number;
  /**
   * lane length summed, km: netconvert's lanes' `length` over every non-internal lane (cars: those whose
   * allow/disallow admit passenger cars); loaded, the engine's lanes' centre lines
   */
  laneKm: number;
}

export interface OsmImport {
  dir: string;
  net: string;
  routes: string;
  loaded: LoadedScenario;
  /** netconvert's network, all of it: footways and cycleways included */
  netconvert: NetworkFigures;
  /** netconvert's network restricted to what passenger cars may use: what the loader keeps */
  netconvertCars: NetworkFigures;
  ours: NetworkFigures;
  /** the commands run, as written into README.txt */
  commands: string[];
}

/** The figures netconvert's network states: counted from net.net.xml's text (junctions, tlLogics, lanes). */
export function netconvertFigures(netXml: string): NetworkFigures {
  let junctions = 0;
  for (const m of netXml.matchAll(/<junction\s[^>]*>/g)) if (!/\btype="internal"/.test(m[0])) junctions++;
  const signals = [...netXml.matchAll(/<tlLogic\s/g)].length;
  let metres = 0;
  // an edge's lanes up to its closing tag; internal, crossing and walkingarea edges carry a "function"
  for (const e of netXml.matchAll(/<edge\s([^>]*?)(\/?)>([\s\S]*?)(?:<\/edge>|(?=<edge\s))/g)) {
    if (/\bfunction="(internal|crossing|walkingarea)"/.test(e[1]) || e[2] === '/') continue;
    for (const l of e[3].matchAll(/<lane\s[^>]*\blength="([^"]+)"/g)) metres += Number(l[1]);
  }
  return { signals, junctions, laneKm: round(metres / 1000, 2) };
}

/** An XML start tag's attribute (netconvert writes them double-quoted), or undefined. */
function attrOf(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

/**
 * netconvertFigures over what passenger cars may use: the lanes whose allow/disallow admit them (the SUMO
 * loader's own rule, sumoLaneAllowsCars), the non-internal junctions the edges with such lanes join, and the
 * tlLogics (two phases or more, the last program of an id as SUMO runs it) that a connection between two
 * such lanes names. The same things the loader keeps, counted from the file.
 */
export function netconvertCarFigures(netXml: string): NetworkFigures {
  const carLanes = new Set<string>(); // "edge\u0000index"
  const junctions = new Set<string>();
  let metres = 0;
  for (const e of netXml.matchAll(/<edge\s([^>]*?)(\/?)>([\s\S]*?)(?:<\/edge>|(?=<edge\s))/g)) {
    if (/\bfunction="(internal|crossing|walkingarea)"/.test(e[1]) || e[2] === '/') continue;
    const id = attrOf(` ${e[1]}`, 'id');
    let cars = false;
    for (const l of e[3].matchAll(/<lane\s[^>]*>/g)) {
      if (!sumoLaneAllowsCars(attrOf(l[0], 'allow'), attrOf(l[0], 'disallow'))) continue;
      cars = true;
      metres += Number(attrOf(l[0], 'length'));
      carLanes.add(`${id}\u0000${attrOf(l[0], 'index')}`);
    }
    if (!cars) continue;
    for (const end of ['from', 'to']) {
      const j = attrOf(` ${e[1]}`, end);
      if (j !== undefined) junctions.add(j);
    }
  }
  const phases = new Map<string, number>();
  for (const t of netXml.matchAll(/<tlLogic\s([^>]*?)(\/?)>([\s\S]*?)(?:<\/tlLogic>|(?=<tlLogic\s))/g)) {
    phases.set(attrOf(` ${t[1]}`, 'id') ?? '', t[2] === '/' ? 0 : [...t[3].matchAll(/<phase\s/g)].length);
  }
  const signals = new Set<string>();
  for (const c of netXml.matchAll(/<connection\s[^>]*>/g)) {
    const tl = attrOf(c[0], 'tl');
    if (tl === undefined || (phases.get(tl) ?? 0) < 2) continue;
    const lane = (edge: string, index: string) => carLanes.has(`${attrOf(c[0], edge)}\u0000${attrOf(c[0], index)}`);
    if (lane('from', 'fromLane') && lane('to', 'toLane')) signals.add(tl);
  }
  return { signals: signals.size, junctions: junctions.size, laneKm: round(metres / 1000, 2) };
}

/**
 * The same figures for the network as the SUMO loader made it; lane-km along the lanes as the engine
 * builds them (each road's lanes offset from its polyline), which is what its vehicles drive.
 */
export function scenarioFigures(s: Scenario): NetworkFigures {
  const signals = s.roadnet.intersections.filter((i) => !i.virtual && i.trafficLight.lightphases.length >= 2).length;
  const net = new Network(s.roadnet);
  let metres = 0;
  for (let lane = 0; lane < net.nLanes; lane++) metres += net.length[lane];
  return { signals, junctions: s.roadnet.intersections.length, laneKm: round(metres / 1000, 2) };
}

/** An executable on PATH, or undefined. */
function onPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The tool's path; a missing one is exit 2 naming the Debian package that has it. */
function need(tool: string, pkg: string, why: string): string {
  const p = onPath(tool);
  if (!p) throw new UsageError(`${tool} not found on PATH (${why}): install Debian's package ${pkg} (apt-get install ${pkg})`);
  return p;
}

/** Shell-quoted, for README.txt: the commands as one could paste them. */
function shellLine(cmd: string[], env?: Record<string, string>): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [...Object.entries(env ?? {}).map(([k, v]) => `${k}=${q(v)}`), ...cmd.map(q)].join(' ');
}

function run(cmd: string[], env: NodeJS.ProcessEnv, what: string): void {
  const r = spawnSync(cmd[0], cmd.slice(1), { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new UsageError(`${what}: cannot run ${cmd[0]}: ${r.error.message}`);
  if (r.status !== 0) {
    // the tools' own error lines say what is wrong with the input: the first few, one line
    const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter((l) => /error|exception|quitting/i.test(l) && !/^Quitting/.test(l));
    const why = (lines.length ? lines : `${r.stderr}`.trim().split('\n').slice(-3)).slice(0, 3).join('; ');
    throw new UsageError(`${what} failed (${basename(cmd[0])} exit ${r.status ?? r.signal}): ${why || 'no message'}`);
  }
}

/**
 * Imports an OpenStreetMap file into `outDir`: netconvert's network, randomTrips' demand
 * (`demandPerHour` vehicles per hour from 0 to `seconds`), README.txt; then loads them.
 */
export function importOsm(input: string, outDir: string, opts: { demandPerHour?: number; seconds?: number; seed?: number } = {}): OsmImport {
  const demand = opts.demandPerHour ?? DEFAULT_DEMAND_PER_HOUR;
  const seconds = opts.seconds ?? 3600;
  const seed = opts.seed ?? 42;
  const lower = input.toLowerCase();
  const pbf = lower.endsWith('.osm.pbf') || lower.endsWith('.pbf');
  if (!pbf && !lower.endsWith('.osm') && !lower.endsWith('.osm.xml')) {
    throw new UsageError(`import osm ${input}: expected an OpenStreetMap file named .osm, .osm.xml or .osm.pbf`);
  }
  const st = statSync(input, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`import osm ${input}: no such file`);
  if (!st.isFile()) throw new UsageError(`import osm ${input}: not a file`);
  if (!pbf) {
    // a clearer message than netconvert's for a file that is not OSM XML at all
    const head = readFileSync(input, { encoding: 'utf8' }).slice(0, 4096);
    if (!/<osm[\s>]/.test(head)) throw new UsageError(`import osm ${input}: not OpenStreetMap XML (no <osm> element at its start)`);
  }

  const netconvert = need('netconvert', 'sumo', 'it builds the network');
  const duarouter = need('duarouter', 'sumo', 'randomTrips.py routes the trips with it');
  const python = need('python3', 'python3', 'randomTrips.py is a Python script');
  const osmium = pbf ? need('osmium', 'osmium-tool', 'it converts .osm.pbf to OSM XML') : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  const sumoEnv: Record<string, string> = {};
  if (!env.SUMO_HOME) {
    // netconvert finds its type maps and randomTrips.py its sumolib under SUMO_HOME
    if (!existsSync(DEBIAN_SUMO_HOME)) throw new UsageError(`SUMO_HOME is not set and ${DEBIAN_SUMO_HOME} is absent: set SUMO_HOME to SUMO's folder`);
    env.SUMO_HOME = sumoEnv.SUMO_HOME = DEBIAN_SUMO_HOME;
  }
  const typemap = join(env.SUMO_HOME!, 'data/typemap/osmNetconvert.typ.xml');
  const randomTrips = join(env.SUMO_HOME!, 'tools/randomTrips.py');
  if (!existsSync(typemap)) throw new UsageError(`${typemap} not found: install Debian's package sumo-tools (apt-get install sumo-tools)`);
  if (!existsSync(randomTrips)) throw new UsageError(`${randomTrips} not found: install Debian's package sumo-tools (apt-get install sumo-tools)`);
  void duarouter; // randomTrips.py finds it itself (SUMO_HOME/bin, else PATH)

  makeOutputDir(outDir, '--out');
  const dir = resolve(outDir);
  const net = join(dir, 'net.net.xml');
  const trips = join(dir, 'trips.trips.xml');
  const routes = join(dir, 'routes.rou.xml');
  const commands: string[] = [];
  let osmXml = resolve(input);
  let scratch: string | undefined;
  try {
    if (osmium) {
      scratch = mkdtempSync(join(tmpdir(), 'citybrain-osm-'));
      const out = join(scratch, 'extract.osm'); // osmium writes the format its output's extension names
      const cmd = [osmium, 'cat', osmXml, '-o', out];
      commands.push(`${shellLine(cmd)}    # a temporary file, removed after the import`);
      run(cmd, env, `osmium reading ${input}`);
      osmXml = out;
    }
    const nc = [netconvert, '--osm-files', osmXml, '--type-files', typemap, ...NETCONVERT_OPTIONS, '--output-file', net];
    commands.push(shellLine(nc, sumoEnv));
    run(nc, env, `netconvert reading ${input}`);
    const rt = [python, randomTrips, '--net-file', net, '--output-trip-file', trips, '--route-file', routes,
      '--begin', '0', '--end', String(seconds), '--insertion-rate', String(demand), '--seed', String(seed), '--validate'];
    commands.push(shellLine(rt, sumoEnv));
    run(rt, env, 'randomTrips.py (demand)');
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }

  const netXml = readFileSync(net, 'utf8');
  const loaded = loadSumoScenario({ net: netXml, routes: readFileSync(routes, 'utf8'), netSource: 'net.net.xml', routesSource: 'routes.rou.xml' });
  if (loaded.scenario.roadnet.roads.length === 0) throw new UsageError(`import osm ${input}: the extract has no roads cars may use`);
  writeOutput(join(dir, 'README.txt'), readme(input, commands, demand, seconds), '--out');
  const [all, cars] = [netconvertFigures(netXml), netconvertCarFigures(netXml)];
  return { dir, net, routes, loaded, netconvert: all, netconvertCars: cars, ours: scenarioFigures(loaded.scenario), commands };
}

function readme(input: string, commands: string[], demand: number, seconds: number): string {
  return `Imported by citybrain import osm from ${basename(input)}.

Map data (c) OpenStreetMap contributors, available under the Open Database License (ODbL): https://www.openstreetmap.org/copyright

net.net.xml     the network (SUMO's netconvert, its OpenStreetMap type map and recommended options but --tls.join)
trips.trips.xml random trips: ${demand} vehicles per hour from 0 to ${seconds} s (randomTrips.py)
routes.rou.xml  those trips routed by duarouter (called by randomTrips.py)

Commands run:
${commands.join('\n')}

Run: citybrain simulate --roadnet net.net.xml --flow routes.rou.xml
`;
}

export async function importCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind === undefined || kind === '--help' || kind === '-h') return void console.log(importHelp);
  if (kind !== 'osm') throw new UsageError(`unknown import "${kind}"; only "osm" exists (see citybrain import --help)`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      demand: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(importHelp);
  if (positionals.length !== 1 || !values.out) throw new UsageError('import osm needs one FILE and --out DIR (see citybrain import --help)');
  const r = importOsm(positionals[0], values.out, {
    demandPerHour: numOption(values.demand, 'demand', DEFAULT_DEMAND_PER_HOUR, 1, 100_000),
    seconds: intOption(values.seconds, 'seconds', 3600, 1, 7 * 86_400),
    seed: intOption(values.seed, 'seed', 42),
  });
  for (const w of r.loaded.warnings) console.error(`citybrain: warning: ${w}`);
  const vehicles = r.loaded.scenario.flows.length;
  if (values.json) {
    return void console.log(JSON.stringify({ dir: r.dir, vehicles, ours: r.ours, netconvert: r.netconvert, netconvertCars: r.netconvertCars }));
  }
  console.log(`Imported into ${r.dir}: net.net.xml, routes.rou.xml (${vehicles} vehicles), README.txt\n`);
  console.log(figuresTable(r.ours, r.netconvert, r.netconvertCars));
}

/** Three columns: the network as loaded, netconvert's count of what cars may use, and of all of it. */
export function figuresTable(ours: NetworkFigures, nc: NetworkFigures, ncCars: NetworkFigures): string {
  const rows: [string, number, number, number][] = [
    ['signals', ours.signals, ncCars.signals, nc.signals],
    ['junctions', ours.junctions, ncCars.junctions, nc.junctions],
    ['lane-km', ours.laneKm, ncCars.laneKm, nc.laneKm],
  ];
  const line = (cells: (string | number)[]) => `${String(cells[0]).padEnd(10)} ${cells.slice(1).map((c) => String(c).padStart(8)).join(' ')}`;
  return [`${''.padEnd(19)} ${'netconvert'.padStart(17)}`, line(['', 'loaded', 'cars', 'all']), ...rows.map(line)].join('\n') +
    '\n(netconvert cars: the lanes whose allow/disallow admit passenger cars, the junctions their edges join, the signals' +
    '\n their connections use: what the loader keeps; all: footways and cycleways too. lane-km: netconvert sums the' +
    '\n lanes\' "length", the same for every lane of an edge; loaded, the engine\'s lanes, drawn on the lanes\' shapes' +
    '\n parallel to each road\'s leftmost lane: they part by metres where an edge\'s lanes curve or end unevenly, more' +
    '\n where netconvert cut a lane\'s shape short of its "length")';
}
