/**
 * citybrain import osm: the shared Osnabrück extract through SUMO's netconvert
 * and randomTrips.py into a network that loads and runs; missing tools and bad
 * input files as one-line errors with exit code 2.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGrid, loadSumoScenario, parseSumoNet, Simulation } from '@citybrain/engine';
import { runControlled } from '@citybrain/control';
import { figuresTable, netconvertCarFigures, netconvertFigures, scenarioFigures } from '../dist/commands/import.js';
import { GridlockWatch } from '../dist/bench/import.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'citybrain-import-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function citybrain(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// the shared data sits beside the repository (../shared), wherever it is cloned; CITYBRAIN_DATA names
// it elsewhere (a git worktree, whose ../shared is not there)
const DATA = process.env.CITYBRAIN_DATA ?? fileURLToPath(new URL('../../../../shared/data', import.meta.url));
const OSM = join(DATA, 'osnabrueck_osm/martini.osm.xml');
const onPath = (tool: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, tool)));
const noNetconvert = !onPath('netconvert') && 'netconvert absent (Debian package sumo)';
const skipImport = !existsSync(OSM) ? `shared data (${OSM}) not present; CITYBRAIN_DATA=DIR names the folder`
  : noNetconvert || (!existsSync('/usr/share/sumo/tools/randomTrips.py') && !process.env.SUMO_HOME ? 'randomTrips.py absent (Debian package sumo-tools)' : false);
if (skipImport) console.log(`# import osm on the Osnabrück extract skipped: ${skipImport}`);

test('import osm: the Osnabrück extract loads with its signals and runs 300 s with vehicles finishing', { skip: skipImport }, async () => {
  const out = join(tmp, 'osnabrueck');
  const r = citybrain(['import', 'osm', OSM, '--out', out, '--seconds', '300', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  for (const f of ['net.net.xml', 'routes.rou.xml', 'README.txt']) assert.ok(existsSync(join(out, f)), f);
  const readme = readFileSync(join(out, 'README.txt'), 'utf8');
  assert.match(readme, /OpenStreetMap contributors.*Open Database License \(ODbL\)/);
  assert.match(readme, /netconvert --osm-files .* --tls\.guess-signals .*--output-file /, 'the exact command');
  assert.match(readme, /randomTrips\.py --net-file /);

  const netXml = readFileSync(join(out, 'net.net.xml'), 'utf8');
  const { scenario } = loadSumoScenario({ net: netXml, routes: readFileSync(join(out, 'routes.rou.xml'), 'utf8') });
  const ours = scenarioFigures(scenario);
  const nc = netconvertFigures(netXml);
  assert.deepEqual([printed.ours, printed.netconvert, printed.netconvertCars], [ours, nc, netconvertCarFigures(netXml)], 'the figures printed are those of the files written');
  // counted alike, the loader and netconvert's file agree (lane-km to 10 m: see docs/benchmarks.md, "Import")
  assert.deepEqual(printed.netconvertCars, ours);
  assert.ok(ours.signals > 0, 'the extract has signals');
  assert.equal(ours.signals, nc.signals, 'one signalised intersection per netconvert tlLogic (no --tls.join)');
  assert.ok(ours.laneKm > 0 && ours.laneKm <= nc.laneKm, 'car lanes are part of all lanes');
  // OSM's street names come through netconvert (--output.street-names) onto the roads
  const named = scenario.roadnet.roads.filter((r) => r.name);
  assert.ok(named.length > scenario.roadnet.roads.length / 2, `${named.length} of ${scenario.roadnet.roads.length} roads named`);
  assert.ok(named.some((r) => r.name === 'Martinistraße'), `names: ${[...new Set(named.map((r) => r.name))].slice(0, 10).join(', ')}`);

  const sim = new Simulation(scenario, { seed: 0 });
  const watch = new GridlockWatch();
  const { metrics } = await runControlled(sim, 'plan', 300, { onStep: (s) => watch.observe(s) });
  assert.ok(metrics.enteredVehicles > 20, `entered ${metrics.enteredVehicles}`);
  assert.ok(metrics.finishedVehicles > metrics.enteredVehicles / 3, `finished ${metrics.finishedVehicles} of ${metrics.enteredVehicles}`);
  assert.equal(watch.verdict(sim).stuck, 0, 'no vehicle stood still for 300 s');
});

/*
 * A car road a -> b -> c (a's lane 0 a sidewalk), a footway b -> f and back (allow / disallow="all"), a
 * walkingarea and an internal lane; junction F is reached by footways only. Signal B drives the car link,
 * signal Q only a footway link.
 */
const MIXED_NET = `<net version="1.9">
  <edge id=":B_0" function="internal"><lane id=":B_0_0" index="0" speed="10" length="3" shape="100,-1.6 103,-1.6"/></edge>
  <edge id=":B_w0" function="walkingarea"><lane id=":B_w0_0" index="0" allow="pedestrian" speed="1" length="5" shape="100,-6 100,-1"/></edge>
  <edge id="ab" from="A" to="B">
    <lane id="ab_0" index="0" allow="pedestrian" speed="3" length="100" shape="0,-4.8 100,-4.8"/>
    <lane id="ab_1" index="1" speed="10" length="100" shape="0,-1.6 100,-1.6"/>
  </edge>
  <edge id="bc" from="B" to="C"><lane id="bc_0" index="0" disallow="pedestrian bicycle" speed="10" length="100" shape="100,-1.6 200,-1.6"/></edge>
  <edge id="bf" from="B" to="F"><lane id="bf_0" index="0" allow="pedestrian bicycle" speed="5" length="60" shape="101.6,0 101.6,60"/></edge>
  <edge id="fb" from="F" to="B"><lane id="fb_0" index="0" disallow="all" speed="5" length="60" shape="98.4,60 98.4,0"/></edge>
  <tlLogic id="B" type="static" programID="0" offset="0"><phase duration="30" state="Gr"/><phase duration="30" state="rG"/></tlLogic>
  <tlLogic id="Q" type="static" programID="0" offset="0"><phase duration="30" state="G"/><phase duration="30" state="r"/></tlLogic>
  <junction id="A" type="dead_end" x="0" y="0"/><junction id="B" type="traffic_light" x="100" y="0"/>
  <junction id="C" type="dead_end" x="200" y="0"/><junction id="F" type="dead_end" x="100" y="60"/>
  <junction id=":B_0_0" type="internal" x="100" y="-1.6"/>
  <connection from="ab" to="bc" fromLane="1" toLane="0" via=":B_0_0" tl="B" linkIndex="0" dir="s" state="O"/>
  <connection from="ab" to="bf" fromLane="0" toLane="0" tl="B" linkIndex="1" dir="l" state="o"/>
  <connection from="fb" to="bf" fromLane="0" toLane="0" tl="Q" linkIndex="0" dir="t" state="o"/>
  <connection from=":B_0" to="bc" fromLane="0" toLane="0" dir="s" state="M"/>
</net>`;

test('import figures: netconvert\'s count of what cars may use is the loaded network\'s; the whole count keeps footways', () => {
  const ours = scenarioFigures({ roadnet: parseSumoNet(MIXED_NET), flows: [] });
  const all = netconvertFigures(MIXED_NET);
  const cars = netconvertCarFigures(MIXED_NET);
  assert.deepEqual(all, { signals: 2, junctions: 4, laneKm: 0.42 }, 'every non-internal junction and lane, walkingareas aside');
  assert.deepEqual(cars, { signals: 1, junctions: 3, laneKm: 0.2 }, 'ab_1 and bc_0; A, B, C; signal B');
  assert.deepEqual(ours, cars);
  const table = figuresTable(ours, all, cars);
  assert.match(table, /\n\s+loaded\s+cars\s+all\n/);
  assert.match(table, /\njunctions\s+3\s+3\s+4\n/);
  assert.match(table, /\nlane-km\s+0\.2\s+0\.2\s+0\.42\n/);
});

test('import osm: a .osm.pbf goes through osmium to the same network', { skip: skipImport || (!onPath('osmium') && 'osmium absent (Debian package osmium-tool)') }, () => {
  const pbf = join(tmp, 'martini.osm.pbf');
  assert.equal(spawnSync('osmium', ['cat', OSM, '-o', pbf, '--overwrite']).status, 0);
  const fromXml = citybrain(['import', 'osm', OSM, '--out', join(tmp, 'xml'), '--seconds', '60', '--json']);
  const fromPbf = citybrain(['import', 'osm', pbf, '--out', join(tmp, 'pbf'), '--seconds', '60', '--json']);
  assert.equal(fromPbf.code, 0, fromPbf.stderr);
  const figures = (r: { stdout: string }) => { const o = JSON.parse(r.stdout); return [o.ours, o.netconvert, o.vehicles]; };
  assert.deepEqual(figures(fromPbf), figures(fromXml));
  assert.match(readFileSync(join(tmp, 'pbf', 'README.txt'), 'utf8'), /osmium cat .*martini\.osm\.pbf -o /);
});

/** A PATH of symlinks to the tools but `without`, so a missing tool can be played without uninstalling it. */
function pathWithout(without: string[]): string {
  const bin = join(tmp, `bin-without-${without.join('-')}`);
  mkdirSync(bin, { recursive: true });
  for (const tool of ['netconvert', 'duarouter', 'python3', 'osmium']) {
    if (without.includes(tool)) continue;
    const dir = (process.env.PATH ?? '').split(':').find((d) => d && existsSync(join(d, tool)));
    if (dir) symlinkSync(join(dir, tool), join(bin, tool));
  }
  return bin;
}

test('import osm: a missing tool exits 2 naming the Debian package that has it', () => {
  const osm = join(tmp, 'tiny.osm');
  writeFileSync(osm, '<?xml version="1.0"?>\n<osm version="0.6"></osm>\n');
  const cases: [string[], string, RegExp][] = [
    [['netconvert'], osm, /netconvert not found on PATH .*install Debian's package sumo \(apt-get install sumo\)/],
    [['python3'], osm, /python3 not found on PATH .*install Debian's package python3/],
    [['osmium'], join(tmp, 'tiny.osm.pbf'), /osmium not found on PATH .*install Debian's package osmium-tool/],
  ];
  writeFileSync(join(tmp, 'tiny.osm.pbf'), 'not really pbf');
  // naming the second or third tool needs the first ones here
  const haveAll = ['netconvert', 'duarouter', 'python3'].every(onPath);
  for (const [without, file, message] of haveAll ? cases : []) {
    // node itself is run by path: only the tools' PATH changes
    const r = citybrain(['import', 'osm', file, '--out', join(tmp, 'never')], { ...process.env, PATH: pathWithout(without) });
    assert.equal(r.code, 2, `${without}: ${r.stderr}`);
    assert.match(r.stderr.trim(), message);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  // netconvert is looked for first: with an empty PATH it is the one named
  const empty = join(tmp, 'empty-bin');
  mkdirSync(empty, { recursive: true });
  const none = citybrain(['import', 'osm', osm, '--out', join(tmp, 'never')], { ...process.env, PATH: empty });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /netconvert not found .*package sumo/);
});

test('import osm: bad input files are one-line errors naming the file', () => {
  const notOsm = join(tmp, 'roads.osm');
  writeFileSync(notOsm, '{"this": "is json"}');
  const broken = join(tmp, 'broken.osm.xml');
  writeFileSync(broken, '<?xml version="1.0"?>\n<osm version="0.6"><node id="1" lat="52.0" lon="8.0"><way id="2"></osm>\n');
  const cases: [string, RegExp][] = [
    [join(tmp, 'missing.osm'), /missing\.osm: no such file/],
    [join(tmp, 'map.json'), /map\.json: expected an OpenStreetMap file named \.osm, \.osm\.xml or \.osm\.pbf/],
    [notOsm, /roads\.osm: not OpenStreetMap XML/],
  ];
  // a file that passes our checks but netconvert refuses: netconvert's own message
  if (!noNetconvert) cases.push([broken, /netconvert reading .*broken\.osm\.xml failed \(netconvert exit 1\): .*[Ee]rror/]);
  for (const [file, message] of cases) {
    const r = citybrain(['import', 'osm', file, '--out', join(tmp, 'bad-out')]);
    assert.equal(r.code, 2, `${file}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test('bench import\'s gridlock: vehicles held at a red for over 300 s are stuck; under the plans nothing is', async () => {
  const scenario = generateGrid({ rows: 1, cols: 1, demand: 0.05 });
  const run = async (hold: boolean) => {
    const sim = new Simulation(scenario, { seed: 0 });
    const watch = new GridlockWatch();
    // phase 0 held for ever: the approaches it does not serve queue and never move
    if (hold) for (const i of sim.net.signalised) sim.setPhase(i, 0);
    await runControlled(sim, 'plan', 900, { onStep: (s) => watch.observe(s) });
    return watch.verdict(sim);
  };
  const held = await run(true);
  assert.ok(held.stuck > 0 && held.gridlock, JSON.stringify(held));
  const planned = await run(false);
  assert.deepEqual([planned.stuck, planned.gridlock], [0, false], JSON.stringify(planned));
});
