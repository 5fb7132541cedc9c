/**
 * The citybrain command end to end: spawns the compiled CLI as a user would
 * and checks its files, its JSON and its handling of bad input (exit code 2,
 * one line naming the problem, no stack trace).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { generateGrid, generateStress, STRESS_PRESETS, loadSumoScenario, parseFlows, parseRoadnet, ScenarioError, Simulation } from '@citybrain/engine';
import { fixedTime, runControlled, type ControllerFault } from '@citybrain/control';
import fc from 'fast-check';
import { fuzzTargets, mutants } from '../../engine/dist-test/loader-fuzz.js';
import { cliRunner, MAIN } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'citybrain-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const citybrain = cliRunner(60_000);

// a small grid for the simulate tests, written in-process so they do not depend on `generate`
const roadnetPath = join(tmp, 'roadnet.json');
const flowPath = join(tmp, 'flow.json');
before(() => {
  const s = generateGrid({ rows: 2, cols: 2 });
  writeFileSync(roadnetPath, JSON.stringify(s.roadnet));
  writeFileSync(flowPath, JSON.stringify(s.flows));
});

test('generate grid writes a roadnet and flows that the loaders accept, equal to generateGrid()', () => {
  const out = join(tmp, 'generated');
  const r = citybrain('generate', 'grid', '--rows', '2', '--cols', '2', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /4 signalised intersections/);
  const roadnet = parseRoadnet(readFileSync(join(out, 'roadnet.json'), 'utf8'), 'roadnet.json');
  const flows = parseFlows(readFileSync(join(out, 'flow.json'), 'utf8'), 'flow.json', roadnet);
  assert.equal(roadnet.intersections.filter((i) => !i.virtual).length, 4);
  assert.equal(flows.length, 2 * (2 + 2) + 8);
  const expected = generateGrid({ rows: 2, cols: 2 });
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'roadnet.json'), 'utf8')), JSON.parse(JSON.stringify(expected.roadnet)));
  assert.deepEqual(flows, expected.flows);
});

test('generate stress writes a stress preset that simulates as generateStress() does', () => {
  const out = join(tmp, 'stress');
  const r = citybrain('generate', 'stress', '--preset', 'short-blocks', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /short-blocks: 120 m blocks.*--steps 1800/);
  const preset = STRESS_PRESETS.find((p) => p.name === 'short-blocks')!;
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'flow.json'), 'utf8')), generateStress(preset.options).flows);
  const bad = citybrain('generate', 'stress', '--preset', 'rush-hour', '--out', out);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown stress preset "rush-hour"; choose one of: unbalanced, turning, short-blocks, pulse, arterial/);
});

test('generate grid streams its output: a grid whose scenario outgrows the heap is written in full', () => {
  // a 60 x 60 grid's laneLinks take some 300 MB as objects; streamed, the command needs a fraction of that
  const out = join(tmp, 'grid60');
  const r = spawnSync(process.execPath, ['--max-old-space-size=64', MAIN, 'generate', 'grid', '--rows', '60', '--cols', '60', '--out', out],
    { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr.slice(0, 2000));
  assert.match(r.stdout, /^wrote .*roadnet\.json \(3600 signalised intersections, 14640 roads\) and .*flow\.json \(248 routes\)\n$/);
  assert.deepEqual(readdirSync(out).sort(), ['flow.json', 'roadnet.json']);
  // the streamed text is JSON.stringify's: check its frame, one intersection and its length (parsing 60 MB here would be slow)
  const text = readFileSync(join(out, 'roadnet.json'), 'utf8');
  assert.ok(text.startsWith('{"intersections":[{"id":"intersection_1_0",'));
  assert.ok(text.endsWith('"startIntersection":"intersection_60_61","endIntersection":"intersection_60_60"}]}'));
  const expected = generateGrid({ rows: 60, cols: 60 });
  assert.ok(text.includes(`,${JSON.stringify(expected.roadnet.intersections.find((i) => i.id === 'intersection_30_30'))},`));
  assert.equal(text.length, JSON.stringify(expected.roadnet).length);
});

test('generate grid: a failure to write leaves no half-written folder and prints one line', () => {
  // the shell's file-size limit makes the writes fail part-way (EFBIG; node ignores SIGXFSZ)
  const limited = (out: string) => spawnSync('/bin/sh', ['-c', 'ulimit -f 1024; exec "$0" "$@"', process.execPath, MAIN,
    'generate', 'grid', '--rows', '20', '--cols', '20', '--out', out], { encoding: 'utf8', timeout: 60_000 });
  const fresh = join(tmp, 'fsize', 'fresh');
  let r = limited(fresh);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^citybrain: --out: cannot write .*roadnet\.json: the file is larger than the system allows\n$/);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(join(tmp, 'fsize')), false, 'the folders it created are gone');
  // an existing folder keeps its files as they were, and gains no temporary ones
  const kept = join(tmp, 'kept');
  mkdirSync(kept);
  writeFileSync(join(kept, 'roadnet.json'), 'old roadnet');
  writeFileSync(join(kept, 'notes.txt'), 'mine');
  r = limited(kept);
  assert.equal(r.status, 2, r.stderr);
  assert.deepEqual(readdirSync(kept).sort(), ['notes.txt', 'roadnet.json']);
  assert.equal(readFileSync(join(kept, 'roadnet.json'), 'utf8'), 'old roadnet');
});

test('generate grid: Ctrl-C while writing removes the partial output and ends as interrupted', async () => {
  const out = join(tmp, 'interrupted', 'grid');
  const child = spawn(process.execPath, [MAIN, 'generate', 'grid', '--rows', '120', '--cols', '120', '--out', out], { stdio: 'ignore' });
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  // interrupt once the first temporary file is being written
  const deadline = Date.now() + 30_000;
  while (!(existsSync(out) && readdirSync(out).some((f) => f.endsWith('.partial')))) {
    assert.ok(Date.now() < deadline, 'the roadnet is being written');
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGINT');
  assert.equal(await ended, 'SIGINT');
  assert.equal(existsSync(join(tmp, 'interrupted')), false, 'the folders it created are gone');
});

interface SimulateJson {
  controller: string;
  averageTravelTime: number;
  enteredVehicles: number;
  finishedVehicles: number;
  vehiclesInNetwork: number;
  waitingToEnter: number;
  teleported: number;
  rules: string;
  simulatedSeconds: number;
  wallSeconds: number;
  vehicleUpdatesPerSecond: number;
  peakRssMB: number;
}

function parseOneJsonLine(stdout: string): SimulateJson {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line of output, got:\n${stdout}`);
  return JSON.parse(lines[0]) as SimulateJson;
}

function assertSane(o: SimulateJson, steps: number): void {
  for (const k of ['averageTravelTime', 'enteredVehicles', 'finishedVehicles', 'vehiclesInNetwork', 'simulatedSeconds', 'wallSeconds', 'vehicleUpdatesPerSecond', 'peakRssMB'] as const) {
    assert.equal(typeof o[k], 'number', k);
    assert.ok(Number.isFinite(o[k]), `${k} = ${o[k]}`);
  }
  assert.equal(o.simulatedSeconds, steps);
  assert.equal(o.enteredVehicles, o.finishedVehicles + o.vehiclesInNetwork + o.waitingToEnter);
  assert.ok(o.enteredVehicles > 0 && o.finishedVehicles > 0);
  assert.ok(o.averageTravelTime > 0 && o.averageTravelTime <= steps, `ATT ${o.averageTravelTime}`);
  assert.ok(o.wallSeconds > 0 && o.wallSeconds < 60, `wall ${o.wallSeconds}`);
  assert.ok(o.vehicleUpdatesPerSecond > 1000, `${o.vehicleUpdatesPerSecond} updates/s`);
  assert.ok(o.peakRssMB > 10 && o.peakRssMB < 4096, `${o.peakRssMB} MB`);
}

test('simulate --json prints one JSON object whose figures match the library run', async () => {
  const r = citybrain('simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '300', '--json');
  assert.equal(r.code, 0, r.stderr);
  const o = parseOneJsonLine(r.stdout);
  assertSane(o, 300);
  // the default controller is fixed-time: the same run in-process gives the same figures
  const scenario = generateGrid({ rows: 2, cols: 2 });
  const { metrics } = await runControlled(new Simulation(scenario), fixedTime(), 300);
  assert.deepEqual(
    [o.enteredVehicles, o.finishedVehicles, o.vehiclesInNetwork, o.waitingToEnter, o.averageTravelTime],
    [metrics.enteredVehicles, metrics.finishedVehicles, metrics.vehiclesInNetwork, metrics.waitingToEnter, Math.round(metrics.averageTravelTime * 100) / 100],
  );
});

test('simulate warns of each flow CityFlow drops and runs the rest; --random cityflow runs CityFlow\'s stream', async () => {
  const scenario = generateGrid({ rows: 2, cols: 2 });
  const flows = [{ ...scenario.flows[0], route: [scenario.flows[0].route[0]] }, ...scenario.flows];
  const dropPath = join(tmp, 'flow-drop.json');
  writeFileSync(dropPath, JSON.stringify(flows));
  const r = citybrain('simulate', '--roadnet', roadnetPath, '--flow', dropPath, '--steps', '300', '--random', 'cityflow', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `citybrain: warning: flow-drop.json: flows[0] (route "${flows[0].route[0]}"): dropped, as CityFlow drops it: its route is one road, "${flows[0].route[0]}" (CityFlow routes have at least two)\n`);
  const o = parseOneJsonLine(r.stdout);
  const { metrics } = await runControlled(new Simulation({ roadnet: scenario.roadnet, flows: [{ ...flows[0], route: [] }, ...scenario.flows] }, { random: 'cityflow' }), fixedTime(), 300);
  assert.deepEqual([o.enteredVehicles, o.averageTravelTime], [metrics.enteredVehicles, Math.round(metrics.averageTravelTime * 100) / 100]);
  const bad = citybrain('simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--random', 'mt');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--random must be xoshiro or cityflow/);
});

test('simulate --replay DIR writes the roadnet log and one frame per step', () => {
  const dir = join(tmp, 'replay');
  const r = citybrain('simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '50', '--controller', 'max-pressure', '--replay', dir, '--json');
  assert.equal(r.code, 0, r.stderr);
  parseOneJsonLine(r.stdout);
  const log = JSON.parse(readFileSync(join(dir, 'replay_roadnet.json'), 'utf8')) as { static: { nodes: unknown[]; edges: unknown[] } };
  const roadnet = parseRoadnet(readFileSync(roadnetPath, 'utf8'));
  assert.equal(log.static.nodes.length, roadnet.intersections.length);
  assert.equal(log.static.edges.length, roadnet.roads.length);
  const frames = readFileSync(join(dir, 'replay.txt'), 'utf8').split('\n').filter((l) => l !== '');
  assert.equal(frames.length, 50);
  for (const f of frames) assert.equal(f.split(';').length, 2);
  assert.ok(frames.at(-1)!.split(';')[0].includes('flow_'), 'vehicles appear in the last frame');
});

/** Runs a command that must fail as a user error: exit code 2, one line on stderr, no stack. */
function assertUserError(args: string[], mention: RegExp): string {
  const r = citybrain(...args);
  const msg = r.stderr.trim();
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.code}\n${r.stderr}`);
  assert.equal(msg.split('\n').length, 1, `one line: ${msg}`);
  assert.doesNotMatch(msg, /\bat .*\.js:\d+|Error:/, 'no stack trace');
  assert.match(msg, /^citybrain: /);
  assert.match(msg, mention);
  assert.equal(r.stdout, '');
  return msg;
}

test('bad input exits with code 2 and one line naming the problem', () => {
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, '{\n  "intersections": [],\n  "roads": [,]\n}\n');
  const net = join(tmp, 'city.net.xml');
  writeFileSync(net, '<net></net>\n');
  const sim = ['simulate', '--roadnet', roadnetPath, '--flow', flowPath];

  assertUserError(['simulate', '--roadnet', join(tmp, 'missing.json'), '--flow', flowPath], /missing\.json: no such file/);
  assertUserError(['simulate', '--roadnet', bad, '--flow', flowPath], /bad\.json: line 3, column \d+: invalid JSON/);
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', bad], /bad\.json: line 3, column \d+/);
  assertUserError([...sim, '--steps', 'abc'], /--steps .*"abc"/);
  // Number('') is 0: an empty value (an unset shell variable) is not a number
  assertUserError([...sim, '--seed', ''], /--seed expects a whole number from 0 to \d+, got ""/);
  assertUserError(['generate', 'grid', '--rows', '1', '--cols', '1', '--out', join(tmp, 'end'), '--end-time', ' '], /--end-time expects a number .*got " "/);
  assertUserError([...sim, '--bogus'], /--bogus/);
  // node's parseArgs explains this one over three lines
  assertUserError([...sim, '--steps', '-5'], /--steps' argument is ambiguous\. .*'--steps=-XYZ'/);
  assertUserError(['simulate', '--roadnet', net, '--flow', flowPath], /both be CityFlow JSON or both SUMO XML/);
  assertUserError(['simulate', '--roadnet', roadnetPath], /needs --roadnet FILE and --flow FILE/);
  assertUserError(['teleport'], /unknown command "teleport"/);
  // demo takes no options: one meant for simulate is not silently ignored
  assertUserError(['demo', '--controller', 'sotl'], /Unknown option '--controller'/);
  // a flow file given as the roadnet is recognised as such
  assertUserError(['simulate', '--roadnet', flowPath, '--flow', flowPath], /is this a flow file\?/);
});

test('an output folder that cannot be made is a user error naming the option', () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'not a folder\n');
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '5', '--replay', file], /--replay .*a-file: /);
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '5', '--replay', join(file, 'sub')], /--replay .*a-file\/sub: /);
  assertUserError(['generate', 'grid', '--rows', '1', '--cols', '1', '--out', file], /--out .*a-file: /);
  assertUserError(['generate', 'grid', '--rows', '1', '--cols', '1', '--out', join(file, 'sub')], /--out .*a-file\/sub: /);
  // a folder where replay.txt should go
  const dir = join(tmp, 'replay-clash');
  mkdirSync(join(dir, 'replay.txt'), { recursive: true });
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '5', '--replay', dir], /replay\.txt: /);
});

test('serve: a store, broker or address it cannot use is a user error naming the option', () => {
  const file = join(tmp, 'not-a-folder');
  writeFileSync(file, 'x\n');
  const serve = ['serve', '--paused', '--grid', '1x1', '--port', '0'];
  assertUserError([...serve, '--db', 'nope:thing'], /--db: unknown store URL "nope:thing"/);
  assertUserError([...serve, '--db', `sqlite:${join(file, 'city.db')}`], /--db sqlite:.*not-a-folder\/city\.db: /);
  assertUserError([...serve, '--db', 'postgres://127.0.0.1:1/none'], /--db: cannot open PostgreSQL store/);
  // these fail once the store is open and the first operator token printed: the error is the last line
  const lastLine = (args: string[], mention: RegExp) => {
    const r = citybrain(...args);
    assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.code}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
    assert.match(r.stderr.trim().split('\n').at(-1)!, mention);
  };
  lastLine([...serve, '--db', `sqlite:${join(tmp, 'mqtt.db')}`, '--mqtt', 'mqtt://127.0.0.1:1'], /^citybrain: --mqtt: cannot start MQTT ingestion/);
  lastLine([...serve, '--db', `sqlite:${join(tmp, 'host.db')}`, '--host', '999.1.1.1'], /^citybrain: --host 999\.1\.1\.1 --port 0: cannot listen: /);
});

test('serve: prints where the data lives, how big it is and how long events are kept, and stops on SIGTERM', async () => {
  const db = join(tmp, 'data-line.db');
  const child = spawn(process.execPath, [MAIN, 'serve', '--paused', '--grid', '1x1', '--port', '0', '--db', `sqlite:${db}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const end = Date.now() + 30_000;
  while (!/^Data: /m.test(err) && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  assert.match(err, new RegExp(`^Data: ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, \\d+\\.\\d MB; events kept 1d \\(the default; see --retention\\)$`, 'm'));
});

test('generate grid --lanes with an empty field is a user error, not 0 lanes', () => {
  const out = join(tmp, 'lanes');
  assertUserError(['generate', 'grid', '--rows', '1', '--cols', '1', '--out', out, '--lanes', '1,1,', '--no-turns'], /--lanes expects three whole numbers 0\.\.5 as L,S,R, got "1,1,"/);
  assertUserError(['generate', 'grid', '--rows', '1', '--cols', '1', '--out', out, '--lanes', ',1,1'], /--lanes .*got ",1,1"/);
  assert.equal(existsSync(out), false);
});

test('a gzip-compressed scenario file (SUMO writes .net.xml.gz) is named as such', () => {
  const gz = join(tmp, 'city.net.xml.gz');
  writeFileSync(gz, gzipSync('<net></net>\n'));
  const rou = join(tmp, 'city.rou.xml.gz');
  writeFileSync(rou, gzipSync('<routes></routes>\n'));
  assertUserError(['simulate', '--roadnet', gz, '--flow', rou], /--roadnet .*city\.net\.xml\.gz: the file is gzip-compressed; decompress it first/);
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', rou], /--flow .*city\.rou\.xml\.gz: the file is gzip-compressed/);
});

test('hostile or oversized scenario files: exit 2 and one line, from simulate and from serve', () => {
  const rou = join(tmp, 'ok.rou.xml');
  writeFileSync(rou, '<routes/>\n');
  const xxe = join(tmp, 'xxe.net.xml');
  writeFileSync(xxe, '<?xml version="1.0"?>\n<!DOCTYPE net [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n<net><edge id="&secret;"/></net>\n');
  const deep = join(tmp, 'deep.net.xml');
  writeFileSync(deep, `<net>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</net>\n`);
  // sparse: 600 MB on paper, nothing on disk
  const huge = join(tmp, 'huge.json');
  const fd = openSync(huge, 'w');
  ftruncateSync(fd, 600 * 2 ** 20);
  closeSync(fd);
  const serve = ['serve', '--paused', '--port', '0', '--db', `sqlite:${join(tmp, 'hostile.db')}`];
  for (const cmd of [['simulate', '--steps', '1'], serve]) {
    assertUserError([...cmd, '--roadnet', xxe, '--flow', rou], /^citybrain: xxe\.net\.xml: line 2: the DOCTYPE declares entity "secret": entities are not supported/);
    assertUserError([...cmd, '--roadnet', deep, '--flow', rou], /^citybrain: deep\.net\.xml: line 1: cannot read the XML: elements nested more than 100 deep$/);
    assertUserError([...cmd, '--roadnet', huge, '--flow', flowPath], /--roadnet .*huge\.json: the file is too large \(600 MB\); the loaders read files of at most 512 MB$/);
    assertUserError([...cmd, '--roadnet', roadnetPath, '--flow', huge], /--flow .*huge\.json: the file is too large/);
  }
});

test('fuzzed scenario files the loaders refuse: simulate exits 2 with the loader\'s one line', () => {
  // the loaders' fuzz mutants (fixed seed): the first three of each file that the loader refuses in-process
  for (const t of fuzzTargets()) {
    const refused = fc.sample(mutants(t.seed, t.syntax), { seed: 7, numRuns: 60 }).flatMap((text) => {
      try {
        t.load(text);
        return [];
      } catch (e) {
        return e instanceof ScenarioError ? [{ text, message: e.message }] : [];
      }
    }).slice(0, 3);
    assert.equal(refused.length, 3, t.name);
    for (const [k, m] of refused.entries()) {
      const dir = join(tmp, 'fuzz', `${t.syntax}-${t.role}-${k}`);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, t.sources[0]);
      const partner = join(dir, t.partner.source);
      writeFileSync(file, m.text);
      writeFileSync(partner, t.partner.text);
      const [roadnet, flow] = t.role === 'roadnet' ? [file, partner] : [partner, file];
      const msg = assertUserError(['simulate', '--roadnet', roadnet, '--flow', flow, '--steps', '1'], /./);
      assert.equal(msg, `citybrain: ${m.message}`);
    }
  }
});

test('an unknown controller is a user error naming the choices', () => {
  const msg = assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--controller', 'magic'], /unknown controller "magic"/);
  assert.match(msg, /fixed/);
  assert.match(msg, /max-pressure/);
  // the same rule in serve, where the network's own plans are no choice
  const served = assertUserError(['serve', '--paused', '--port', '0', '--controller', 'magic'], /unknown controller "magic"; choose one of: fixed, /);
  assert.match(msg, /choose one of: plan, fixed, /);
  assert.doesNotMatch(served, /\bplan\b/);
});

// the shared data sits beside the repository (../shared), wherever it is cloned
const sumoDir = fileURLToPath(new URL('../../../../shared/data/hangzhou_4x4/sumo', import.meta.url));
const sumoNet = join(sumoDir, 'hangzhou_4x4_gudang_18041610_1h.net.xml');
const sumoRoutes = join(sumoDir, 'hangzhou_4x4_gudang_18041610_1h.rou.xml');

test('simulate runs the Hangzhou SUMO files under their own signal programs', { skip: !existsSync(sumoNet) && 'shared data not present' }, async () => {
  const r = citybrain('simulate', '--roadnet', sumoNet, '--flow', sumoRoutes, '--controller', 'plan', '--steps', '600', '--json');
  assert.equal(r.code, 0, r.stderr);
  const o = parseOneJsonLine(r.stdout);
  assertSane(o, 600);
  const { scenario } = loadSumoScenario({
    net: readFileSync(sumoNet, 'utf8'), routes: readFileSync(sumoRoutes, 'utf8'),
    netSource: 'net.xml', routesSource: 'rou.xml',
  });
  const { metrics } = await runControlled(new Simulation(scenario), 'plan', 600);
  assert.deepEqual([o.enteredVehicles, o.finishedVehicles], [metrics.enteredVehicles, metrics.finishedVehicles]);
});

/** W -- B -- E both ways, E a dead end whose only link is a turnaround (as OSM nets have); a trip from wb to bw turns there. */
function writeDeadEnd(): { net: string; routes: string } {
  const net = join(tmp, 'dead-end.net.xml');
  writeFileSync(net, `<net version="1.9">
    <edge id=":E_0" function="internal"><lane id=":E_0_0" index="0" speed="5" length="5" shape="200,-1.6 200,1.6"/></edge>
    <edge id="wb" from="W" to="B"><lane id="wb_0" index="0" speed="13.89" length="100" shape="0,-1.6 100,-1.6"/></edge>
    <edge id="be" from="B" to="E"><lane id="be_0" index="0" speed="13.89" length="100" shape="100,-1.6 200,-1.6"/></edge>
    <edge id="eb" from="E" to="B"><lane id="eb_0" index="0" speed="13.89" length="100" shape="200,1.6 100,1.6"/></edge>
    <edge id="bw" from="B" to="W"><lane id="bw_0" index="0" speed="13.89" length="100" shape="100,1.6 0,1.6"/></edge>
    <junction id="W" type="dead_end" x="0" y="0"/><junction id="B" type="priority" x="100" y="0"/><junction id="E" type="priority" x="200" y="0"/>
    <connection from="wb" to="be" fromLane="0" toLane="0" dir="s" state="M"/>
    <connection from="eb" to="bw" fromLane="0" toLane="0" dir="s" state="M"/>
    <connection from="be" to="eb" fromLane="0" toLane="0" via=":E_0_0" dir="t" state="M"/>
  </net>`);
  const routes = join(tmp, 'dead-end.rou.xml');
  writeFileSync(routes, `<routes>
    <vType id="t" sigma="0.5"/>
    <trip id="a" type="t" depart="0" departSpeed="max" from="wb" to="bw"/>
  </routes>`);
  return { net, routes };
}

test('simulate prints the SUMO loader\'s warnings on stderr, one line each, and still runs', () => {
  const { net, routes } = writeDeadEnd();
  const r = citybrain('simulate', '--roadnet', net, '--flow', routes, '--steps', '120', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), 'citybrain: warning: dead-end.rou.xml: ignored (not modelled): <vType> sigma (0.5) on 1 vTypes; <trip> departSpeed (max) on 1 trips');
  const o = parseOneJsonLine(r.stdout);
  assert.deepEqual([o.enteredVehicles, o.finishedVehicles], [1, 1], 'the trip turned at the dead end and left');
});

test('simulate runs SUMO files under SUMO\'s rules, says so with the teleports counted, and takes --keep-clear and --time-to-teleport', () => {
  const { net, routes } = writeDeadEnd();
  const sumo = citybrain('simulate', '--roadnet', net, '--flow', routes, '--steps', '120');
  assert.equal(sumo.code, 0, sumo.stderr);
  assert.match(sumo.stdout, /^rules {15}junctions kept clear, jam teleport after 300 s; 0 vehicles teleported out of jams$/m);
  const off = citybrain('simulate', '--roadnet', net, '--flow', routes, '--steps', '120', '--keep-clear', 'off', '--time-to-teleport', '0', '--json');
  assert.equal(off.code, 0, off.stderr);
  const o = parseOneJsonLine(off.stdout);
  assert.equal(o.rules, "CityFlow's");
  assert.equal(o.teleported, 0);
  const cityflow = parseOneJsonLine(citybrain('simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '60', '--json').stdout);
  assert.equal(cityflow.rules, "CityFlow's");
  assertUserError(['simulate', '--roadnet', net, '--flow', routes, '--keep-clear', 'maybe'], /--keep-clear must be on or off, got "maybe"/);
  assertUserError(['simulate', '--roadnet', net, '--flow', routes, '--time-to-teleport', 'soon'], /--time-to-teleport expects a number from 0 to 86400, got "soon"/);
});

const EXAMPLE_PLUGIN = fileURLToPath(new URL('../../../examples/longest-queue.mjs', import.meta.url));

test('a third-party controller plugs in with --plugin and runs under the supervisor', () => {
  const r = citybrain('simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '300', '--plugin', EXAMPLE_PLUGIN, '--controller', 'longest-queue', '--json');
  assert.equal(r.code, 0, r.stderr);
  const o = parseOneJsonLine(r.stdout);
  assert.equal(o.controller, 'longest-queue');
  assertSane(o, 300);
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--plugin', join(tmp, 'missing.mjs')], /--plugin .*missing\.mjs: cannot load it/);
  const notController = join(tmp, 'not-a-controller.mjs');
  writeFileSync(notController, 'export default () => ({ hello: 1 });\n');
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--plugin', notController], /must return an object with a string "name" and a "decide" function/);
  const throwing = join(tmp, 'throwing.mjs');
  writeFileSync(throwing, 'export default () => { throw new Error("no licence key"); };\n');
  assertUserError(['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--plugin', throwing], /--plugin .*throwing\.mjs: its factory failed: no licence key/);
});

test('simulate reports the faults of a plugin that fell back to the fixed plan, in the summary and in --json', () => {
  const broken = join(tmp, 'broken-init.mjs');
  writeFileSync(broken, 'export default () => ({ name: "broken-init", init() { throw new Error("no licence key"); }, decide: (ix, s) => s.green });\n');
  const sim = ['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '60', '--plugin', broken, '--controller', 'broken-init'];
  const j = citybrain(...sim, '--json');
  assert.equal(j.code, 0, j.stderr);
  const o = parseOneJsonLine(j.stdout) as SimulateJson & { faults: { controller: string; intersection: string; time: number; error: string }[] };
  assert.equal(o.faults.length, 4);
  assert.deepEqual(o.faults[0], { controller: 'broken-init', intersection: 'intersection_1_1', time: 0, error: 'no licence key', kind: 'error' });
  const r = citybrain(...sim);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /faults +4 of 4 intersections: 4 fell back to the fixed-time plan; first: intersection_1_1 at 0 s: no licence key/);
  // a healthy run says nothing of faults in its summary, and has none in its JSON
  const ok = citybrain('simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '60', '--plugin', EXAMPLE_PLUGIN, '--controller', 'longest-queue');
  assert.doesNotMatch(ok.stdout, /faults/);
  assert.deepEqual((parseOneJsonLine(citybrain('simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '60', '--json').stdout) as unknown as { faults: unknown[] }).faults, []);
});

test('a plugin cannot take the name of a built-in controller, of plan, or of another plugin, nor an empty one', () => {
  const plugin = (file: string, name: string) => {
    const path = join(tmp, file);
    writeFileSync(path, `export default () => ({ name: ${JSON.stringify(name)}, decide: (ix, s) => s.green });\n`);
    return path;
  };
  const sim = ['simulate', '--roadnet', roadnetPath, '--flow', flowPath, '--steps', '60'];
  assertUserError([...sim, '--plugin', plugin('my-fixed.mjs', 'fixed'), '--controller', 'fixed'], /--plugin .*my-fixed\.mjs: .*"fixed".*built-in/);
  assertUserError([...sim, '--plugin', plugin('my-plan.mjs', 'plan'), '--controller', 'plan'], /--plugin .*my-plan\.mjs: .*"plan"/);
  assertUserError([...sim, '--plugin', plugin('a.mjs', 'mine'), '--plugin', plugin('b.mjs', 'mine'), '--controller', 'mine'], /--plugin .*b\.mjs: .*"mine".*a\.mjs/);
  assertUserError([...sim, '--plugin', plugin('unnamed.mjs', ''), '--controller', ''], /--plugin .*unnamed\.mjs: .*name is empty/);
  assertUserError(['serve', '--port', '0', '--paused', '--db', `sqlite:${join(tmp, 'serve.db')}`, '--plugin', join(tmp, 'my-fixed.mjs')], /--plugin .*my-fixed\.mjs: .*"fixed".*built-in/);
});

test('--grid is RxC with 1 to 60 rows and columns, in serve and bench incidents alike', () => {
  for (const [cmd, example] of [[['serve', '--paused', '--port', '0'], '4x4'], [['bench', 'incidents'], '8x8']] as const) {
    assertUserError([...cmd, '--grid', '4'], new RegExp(`--grid expects RxC, e\\.g\\. ${example}, got "4"`));
    assertUserError([...cmd, '--grid', '0x3'], /--grid rows expects a whole number from 1 to 60, got "0"/);
    assertUserError([...cmd, '--grid', '3x61'], /--grid cols expects a whole number from 1 to 60, got "61"/);
  }
});

test('the benchmarks on the real data name the file a wrong --data folder lacks', () => {
  const nowhere = join(tmp, 'no-data');
  for (const kind of ['fidelity', 'speed', 'control', 'emergency']) {
    const msg = assertUserError(['bench', kind, '--data', nowhere], /not found: point --data at the shared real-data folder$/);
    assert.ok(msg.includes(join(nowhere, 'hangzhou_4x4', 'roadnet_4_4.json')), `${kind}: ${msg}`);
  }
});

test('bench emergency --json: the share of the emergency vehicles\' delay removed and the targets, per controller; bad options named', () => {
  const r = citybrain('bench', 'emergency', '--scenarios', 'grid', '--grid', '1x5', '--controllers', 'max-pressure', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    scenario: string;
    results: {
      controller: string; evDelayWithout: number; evDelayWith: number; delayRemovedPercent: number; othersChangePercent: number;
      targets: { delayRemoved: number; aim: number; othersBelow: number; delayRemovedMet: boolean; aimMet: boolean; othersMet: boolean; met: boolean };
      delayCausesWith: Record<string, number>; perVehicle: unknown[];
    }[];
  };
  assert.equal(out.scenario, 'grid 1x5');
  const [res] = out.results;
  assert.equal(res.controller, 'max-pressure');
  assert.equal(res.perVehicle.length, 10);
  assert.ok(Math.abs(res.delayRemovedPercent - (1 - res.evDelayWith / res.evDelayWithout) * 100) < 0.2);
  assert.deepEqual([res.targets.delayRemoved, res.targets.aim, res.targets.othersBelow], [75, 90, 3]);
  assert.equal(res.targets.delayRemovedMet, res.delayRemovedPercent >= 75);
  assert.equal(res.targets.met, res.targets.delayRemovedMet && res.targets.othersMet);
  // sirens on by default: nothing is lost behind a vehicle at its lane's limit, so signals could remove all of the delay
  assert.equal((out as unknown as { protocol: { siren: boolean } }).protocol.siren, true);
  assert.equal((res as unknown as { signalCeilingPercent: number }).signalCeilingPercent, 100);
  // the causes add up to the delay left
  const sum = Object.values(res.delayCausesWith).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - res.evDelayWith) < 0.5, `causes ${sum} s, delay ${res.evDelayWith} s`);
  assertUserError(['bench', 'emergency', '--scenarios', 'XX9'], /--scenarios: unknown scenario "XX9"/);
  assertUserError(['bench', 'emergency', '--grid', '3'], /--grid expects RxC/);
  assertUserError(['bench', 'emergency', '--controllers', 'nope'], /--controllers: unknown controller "nope"/);
  assertUserError(['bench', 'emergency', '--siren', '--no-siren'], /--siren and --no-siren: give one of them/);
});

test('bench incidents --json: breakdowns caused, detected and scored against the truth; bad options named', () => {
  const r = citybrain('bench', 'incidents', '--grid', '3x3', '--hours', '1', '--breakdowns', '6', '--seeds', '1', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { breakdowns: number; detected: number; alarms: number; rightAlarms: number; detectionRatePercent: number; runs: { seed: number; cleanAlarms: number }[] };
  assert.ok(out.breakdowns > 0, 'the city broke some vehicles down');
  assert.ok(out.detected <= out.breakdowns && out.rightAlarms <= out.alarms);
  assert.equal(out.detectionRatePercent, Math.round((1000 * out.detected) / out.breakdowns) / 10);
  assert.deepEqual(out.runs.map((x) => x.seed), [0]);
  // it says which devices the brain saw: the default ones unless told
  assert.equal((out as unknown as { sensing: string }).sensing, 'default');
  assert.match(citybrain('bench', 'incidents', '--grid', '2x2', '--hours', '0.25', '--seeds', '1', '--sensing', 'perfect').stdout, /2x2 grid, perfect sensing/);
  assertUserError(['bench', 'incidents', '--sensing', 'fuzzy'], /--sensing: must be one of perfect, default, counts, loop, got "fuzzy"/);
  assertUserError(['serve', '--sensing', 'fuzzy'], /--sensing: must be one of perfect, default, counts, loop, got "fuzzy"/);
  assertUserError(['bench', 'incidents', '--grid', '3'], /--grid expects RxC/);
  assertUserError(['bench', 'incidents', '--breakdowns', '0'], /--breakdowns expects a number from 0.1/);
  assertUserError(['serve', '--breakdowns=-1'], /--breakdowns expects a number from 0 to 3600, got "-1"/);
});

test('simulate says where the intersections a controller lost went: to max-pressure after a gridlock, to the fixed-time plan on an error, to the plan in step while a ring stood or the network past its critical load', async () => {
  const { handedOver } = await import('../dist/handed-over.js');
  const f = (intersection: string, kind: ControllerFault['kind']) => ({ controller: 'x', intersection, time: 1, error: 'e', kind });
  assert.equal(handedOver([], 9), '');
  assert.equal(handedOver([f('a', 'gridlock'), f('a', 'gridlock'), f('b', 'deadlock')], 9), ' (handed over at 2 of 9 intersections: 2 to max-pressure after a gridlock)');
  assert.equal(handedOver([f('a', 'error'), f('b', 'gridlock')], 4, 'up to '), ' (handed over at up to 2 of 4 intersections: 1 to the fixed-time plan, 1 to max-pressure after a gridlock)');
  // a green the starvation guard ended hands nothing over
  assert.equal(handedOver([f('a', 'starvation')], 9), '');
  assert.equal(handedOver([f('a', 'starvation'), f('b', 'gridlock')], 9), ' (handed over at 1 of 9 intersections: 1 to max-pressure after a gridlock)');
  // the ring guard's hand-over, to the plan in step for as long as the ring stands
  assert.equal(handedOver([f('a', 'ring'), f('b', 'ring'), f('b', 'gridlock')], 9), ' (handed over at 2 of 9 intersections: 1 to max-pressure after a gridlock, 2 to the plan in step while a ring of loaded lanes stood)');
  // the perimeter gate's, to the plan in step while the network stands past its critical accumulation
  assert.equal(handedOver([f('a', 'gate'), f('b', 'gate'), f('c', 'ring')], 16), ' (handed over at 3 of 16 intersections: 1 to the plan in step while a ring of loaded lanes stood, 2 on the perimeter to the plan in step while the network stood past its critical load)');
});
