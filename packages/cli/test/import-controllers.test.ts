/**
 * Robustness on imported networks (issue #16): every registered controller
 * runs the hour on the Osnabrück OSM extract (citybrain import osm, generated
 * demand loading it hard) and on the Hangzhou 4x4 SUMO files, under the
 * supervisor and the scenario's SUMO rules (junctions kept clear, jam teleport
 * after 300 s). None may gridlock: no gridlock, deadlock or controller error
 * from the supervisor, no vehicle teleported out of a jam (each teleport is a
 * lock the engine undid), every generated vehicle entered; and the default
 * controller is not worse than max-pressure. The starvation guard's reports
 * are the supervisor at work (as in control's stress.test.ts): printed, not
 * failed on. stress.test.ts holds the controllers to the generated stress
 * family; this file to the imports.
 *
 * Run time: 2 min 32 s to 2 min 49 s on 2 shared cores at load 3-6, every
 * controller the whole hour; about half of it is predictive-sequential on
 * Hangzhou (74-91 s wall; 'predictive', the same search on its worker pool,
 * 16-17 s), kept as the registry holds it. With b0a0fbb's engine change undone, fixed on the extract fails
 * here: 7 gridlocks and a deadlock reported, 32 vehicles teleported, 69 never entered.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSumoScenario, Simulation, type Scenario } from '@citybrain/engine';
import { controllers, DEFAULT_CONTROLLER, greenWave, isAdvisory, runControlled, SignalSupervisor, type ControllerFault } from '@citybrain/control';
import { importOsm } from '../dist/commands/import.js';
import { make } from '../dist/bench/control.js';

const HOUR = 3600;
/** trips per hour generated on the extract and randomTrips' seed: a hard load (a ring of waits through queues locked it here under fixed before b0a0fbb) */
const OSM_DEMAND = 3000;
const OSM_SEED = 42;

/**
 * The default controller's ATT may exceed max-pressure's by this share at
 * most: none, stricter than stress.test.ts's 5%, as it holds with a margin
 * here (schedule 4.0% below max-pressure on the extract, 6.5% on Hangzhou).
 */
const DEFAULT_TOLERANCE = 0;

// the shared data sits beside the repository (../shared), wherever it is cloned; CITYBRAIN_DATA names it elsewhere
const DATA = process.env.CITYBRAIN_DATA ?? fileURLToPath(new URL('../../../../shared/data', import.meta.url));
const OSM = join(DATA, 'osnabrueck_osm/martini.osm.xml');
const HZ = join(DATA, 'hangzhou_4x4/sumo/hangzhou_4x4_gudang_18041610_1h');
const onPath = (tool: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, tool)));
const missingTool = ['netconvert', 'duarouter', 'python3'].find((tool) => !onPath(tool));
const skipOsm = !existsSync(OSM) ? `shared data (${OSM}) not present; CITYBRAIN_DATA=DIR names the folder`
  : missingTool ? `${missingTool} absent (Debian package ${missingTool === 'python3' ? 'python3' : 'sumo'})`
  : !existsSync('/usr/share/sumo/tools/randomTrips.py') && !process.env.SUMO_HOME ? 'randomTrips.py absent (Debian package sumo-tools)' : false;
const skipHz = !existsSync(`${HZ}.net.xml`) ? `shared data (${HZ}.net.xml) not present; CITYBRAIN_DATA=DIR names the folder` : false;
for (const [what, why] of [['Osnabrück import', skipOsm], ['Hangzhou SUMO files', skipHz]]) if (why) console.log(`# controllers on the ${what} skipped: ${why}`);

const tmp = mkdtempSync(join(tmpdir(), 'citybrain-import-controllers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Imported {
  name: string;
  skip: string | false;
  /** loaded on first use, once for all controllers */
  load: () => Scenario;
  /**
   * Whether fixed time (the baseline, not adaptive) is held to every vehicle
   * entering: not on Hangzhou, whose real demand is past its plan's capacity
   * by design (CityFlow's own fixed-time run: ATT 580.9 s, baselines.md), so
   * vehicles still queue at the boundary at the hour's end; it is still held
   * to no gridlock and no teleport there.
   */
  fixedEnters: boolean;
  /**
   * Whether the perimeter gate must stay off: on the extract at this load the network stands at 6-11% of its
   * capacity and its regions are too small for their share to mean anything (core/gate.ts, "A region large enough");
   * a regional trigger without that floor fired at 310-330 s under every controller and locked fixed time
   */
  gateOff: boolean;
}

function once<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

const SCENARIOS: Imported[] = [
  {
    name: `osnabrueck-osm ${OSM_DEMAND}/h seed ${OSM_SEED}`, skip: skipOsm, fixedEnters: true, gateOff: true,
    load: once(() => importOsm(OSM, join(tmp, 'osnabrueck'), { demandPerHour: OSM_DEMAND, seconds: HOUR, seed: OSM_SEED }).loaded.scenario),
  },
  {
    name: 'hangzhou-4x4 sumo', skip: skipHz, fixedEnters: false, gateOff: false,
    load: once(() => loadSumoScenario({
      net: readFileSync(`${HZ}.net.xml`, 'utf8'), routes: readFileSync(`${HZ}.rou.xml`, 'utf8'), netSource: 'net.xml', routesSource: 'rou.xml',
    }).scenario),
  },
];

interface Row { att: number; wall: number }

for (const sc of SCENARIOS) {
  const rows = new Map<string, Row>();
  for (const name of Object.keys(controllers)) {
    test(`import ${sc.name}: ${name} does not gridlock in the hour`, { skip: sc.skip }, async (t) => {
      const scenario = sc.load();
      assert.ok(scenario.rules?.keepJunctionsClear && scenario.rules.timeToTeleport, `SUMO's rules: ${JSON.stringify(scenario.rules)}`);
      // predictive searches on a worker pool, as in production and bench control
      const made = await make(name, scenario);
      if ('skip' in made) return void t.skip(made.skip);
      const started = performance.now();
      const sim = new Simulation(scenario, { seed: 0 });
      const faults: ControllerFault[] = [];
      // the decision watchdog counts wall time: on 2 cores shared with the rest of the suite predictive-sequential's
      // rollouts can pass its 1 s and hand the city to the fallback, which is not what this test is about (the
      // watchdog has its own tests, control/test/safety.test.ts); what it asks of the controllers is a generous 30 s
      const { metrics } = await runControlled(sim, made.controller, Math.round(HOUR / sim.interval), { onFault: (f) => faults.push(f), budgetMs: 30_000 })
        .finally(() => made.close());
      const wall = (performance.now() - started) / 1000;
      rows.set(name, { att: metrics.averageTravelTime, wall });
      const starved = faults.filter((f) => f.kind === 'starvation');
      t.diagnostic(`${sc.name} ${name}: ATT ${metrics.averageTravelTime.toFixed(1)} s, entered ${metrics.enteredVehicles}, waiting to enter ${metrics.waitingToEnter}, ` +
        `in the network ${metrics.vehiclesInNetwork}, teleported ${metrics.teleported}, ${starved.length} greens ended by the starvation guard; ${wall.toFixed(1)} s wall`);
      assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), [], 'no error, no gridlock, no deadlock');
      assert.equal(metrics.teleported, 0, 'no vehicle teleported out of a jam');
      if (sc.gateOff) assert.deepEqual(faults.filter((f) => f.kind === 'gate').map((f) => `${f.time} s: ${f.error}`).slice(0, 1), [], 'the perimeter gate stays off');
      // both files give one trip per vehicle: the vehicles departing in the hour are the trips starting in it
      assert.ok(scenario.flows.every((f) => f.startTime === f.endTime), 'one vehicle per flow');
      assert.equal(metrics.enteredVehicles, scenario.flows.filter((f) => (f.startTime ?? 0) < HOUR).length, 'every vehicle of the hour generated');
      if (name === 'fixed' && !sc.fixedEnters) return;
      assert.equal(metrics.waitingToEnter, 0, 'every generated vehicle entered');
    });
  }
  test(`import ${sc.name}: the default controller (${DEFAULT_CONTROLLER}) is not worse than max-pressure`, { skip: sc.skip }, (t) => {
    const def = rows.get(DEFAULT_CONTROLLER);
    const mp = rows.get('max-pressure');
    assert.ok(def && mp, 'both ran');
    t.diagnostic(`${sc.name}: ATT ${[...rows].map(([n, r]) => `${n} ${r.att.toFixed(1)}`).join(', ')}`);
    assert.ok(def.att <= mp.att * (1 + DEFAULT_TOLERANCE), `${DEFAULT_CONTROLLER} ${def.att.toFixed(1)} s against max-pressure ${mp.att.toFixed(1)} s`);
  });
}

// the extract at 4,000 trips/h seed 7, where the controllers below locked (all carry it at 3,000/h, tested above):
// - green-wave's congestion plan (every intersection on the plan in step) meters a grid's staircase routes; on the
//   extract, whose streets make no region large enough for the gate's regional trigger, it locked what green-wave alone
//   carries (935.1 s, 13 faults, 733 teleported): there green-wave runs none;
// - actuated let a lane green in two phases call and hold the other phase every cycle (657.4 s, 13 faults, 571 teleported);
// - advanced-mp's keep rule never yielded to approaches whose queue stood behind a 3 m stub lane (633.1 s, 13 faults).
const osm4000 = once(() => importOsm(OSM, join(tmp, 'osnabrueck-4000-7'), { demandPerHour: 4000, seconds: HOUR, seed: 7 }).loaded.scenario);
for (const name of ['green-wave', 'actuated', 'advanced-mp']) {
  test(`import osnabrueck-osm 4000/h seed 7: ${name} carries the hour`, { skip: skipOsm }, async (t) => {
    const gw = name === 'green-wave' ? greenWave() : undefined;
    const faults: ControllerFault[] = [];
    const { metrics } = await runControlled(new Simulation(osm4000(), { seed: 0 }), gw ?? controllers[name](), HOUR, { onFault: (f) => faults.push(f), budgetMs: 30_000 });
    t.diagnostic(`${name}: ATT ${metrics.averageTravelTime.toFixed(1)} s, teleported ${metrics.teleported}, waiting to enter ${metrics.waitingToEnter}`);
    if (gw) assert.deepEqual(gw.congested(), [], 'no congestion plan');
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s`), [], 'no gridlock, no deadlock');
    assert.equal(metrics.teleported, 0, 'no vehicle teleported out of a jam');
    assert.ok(metrics.averageTravelTime < 100, `ATT ${metrics.averageTravelTime.toFixed(1)} s`);
  });
}

const osm4000s42 = once(() => importOsm(OSM, join(tmp, 'osnabrueck-4000-42'), { demandPerHour: 4000, seconds: HOUR, seed: 42 }).loaded.scenario);

// Fixed time on the extract at 4,000 trips/h (seeds 42 and 7), the one controller that locked it (1,154.4 / 1,085.5 s,
// 13 faults, 840 / 811 teleported): its equal split at the one three-phase signal (cluster_433935137_56328208) let the
// queue on that signal's red reach back onto a loop of 37 lanes no signal controls (two pedestrian crossings and
// priority junctions on it), which stood full round from about 465 s; the gridlock relief came at 545 s, too late.
// The loop guard (core/loop.ts) hands the signals round the loop to max-pressure at the first check that finds one of
// its lanes full with its queue held at a signal's red (270 / 315 s); the operator's plan keeps every other
// intersection. About 4 s a seed.
for (const seed of [42, 7]) {
  test(`import osnabrueck-osm 4000/h seed ${seed}: fixed time carries the hour, the loop's signals handed over before anything locks`, { skip: skipOsm }, async (t) => {
    const scenario = seed === 42 ? osm4000s42() : osm4000();
    const faults: ControllerFault[] = [];
    const { metrics } = await runControlled(new Simulation(scenario, { seed: 0 }), controllers.fixed(), HOUR, { onFault: (f) => faults.push(f), budgetMs: 30_000 });
    const looped = faults.filter((f) => f.kind === 'loop');
    t.diagnostic(`fixed: ATT ${metrics.averageTravelTime.toFixed(1)} s, teleported ${metrics.teleported}, waiting to enter ${metrics.waitingToEnter}; ` +
      `${looped.map((f) => `${f.intersection} at ${f.time} s`).join(', ')} handed over`);
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), [], 'no gridlock, no deadlock');
    assert.equal(metrics.teleported, 0, 'no vehicle teleported out of a jam');
    assert.ok(metrics.averageTravelTime < 100, `ATT ${metrics.averageTravelTime.toFixed(1)} s`);
    assert.ok(looped.some((f) => f.intersection === 'cluster_433935137_56328208'), 'the signal whose red held the loop handed over');
    assert.match(looped[0].error, /^loop: lane \S+ stood full.*, its queue held at cluster_433935137_56328208 \(\S+ full\), in a loop of \d+ lanes no signal controls/);
  });
}

// Gridlock hand-over on the Osnabrück OSM extract (issue #16): 10 of its 13 signals have one green (pedestrian
// crossings), and OSM splits roads into lanes shorter than a car between junctions netconvert did not join. Fixed
// time at 4,000 trips/h (seed 42) locks it: the first gridlock is found at 545 s at crossings, whose lanes stand full
// on their only green, held through 0.2 m lanes and a priority junction by the red of a three-phase cluster 8 m on.
// Handing a crossing to max-pressure changes nothing (it has no phase choice): the supervisor must hand over the
// signal whose red holds the spill-back (core/gridlock.ts, holdersOf), in the same check. Before that, the cluster
// went to max-pressure only at 835 s, by a gridlock of its own, and the crossing's fault read "no exit full (held at
// the junction itself)". That hand-over does not yet clear the lock (see the report of branch osm): this test holds
// the diagnosis and the hand-over, not the outcome; the loop guard (core/loop.ts), which now hands the cluster over
// at 270 s before anything locks (the test below), is off here so that the gridlock it prevents still forms. About 3 s.
test('a gridlock found at a signal with one green hands over, in the same check, the signal whose red holds it', { skip: skipOsm }, () => {
  const sim = new Simulation(osm4000s42(), { seed: 0 });
  const faults: ControllerFault[] = [];
  const sup = new SignalSupervisor(sim, controllers.fixed(), { onFault: (f) => faults.push(f), budgetMs: 30_000, loop: false });
  for (let k = 0; k < 600; k++) {
    sup.tick();
    sim.step();
  }
  const greens = new Map(sup.env.intersections.map((ix) => [ix.id, ix.greens.length]));
  const locks = faults.filter((f) => f.kind === 'gridlock' || f.kind === 'deadlock');
  const list = locks.map((f) => `${f.time} s ${f.intersection} (${greens.get(f.intersection)} greens): ${f.error}`).join('\n');
  const first = locks.find((f) => greens.get(f.intersection) === 1);
  assert.ok(first, `a gridlock at a signal with one green within 600 s:\n${list}`);
  const holder = locks.find((f) => f.time === first.time && greens.get(f.intersection)! > 1);
  assert.ok(holder, `with the first gridlock at a signal with one green (${first.time} s), one with a phase choice handed over:\n${list}`);
  assert.match(holder.error, /stand full at red and hold the spill-back into \S+ \(gridlock: .*\); handed to max-pressure$/);
  assert.ok(sup.relieved.has(sim.net.interIndex.get(holder.intersection)!), 'the holder runs max-pressure');
  for (const f of locks.filter((x) => greens.get(x.intersection) === 1)) {
    assert.doesNotMatch(f.error, /no exit full/, `${f.intersection}: a lane on its only green is held by something beyond it`);
  }
});

// the extract at 4,000 trips/h seed 3: cars on Arndtplatz's 2-3 m stubs, each making a U-turn at one end of the pair,
// stood each with its tail in the other's way, for ever (a ring of leaders, engine/src/sim/driver.ts leaderRing); the
// jam spread over the extract under every controller (schedule 1045.8 s, max-pressure 1042.5 s, 13 faults each)
test(`import osnabrueck-osm 4000/h seed 3: the default controller (${DEFAULT_CONTROLLER}) and max-pressure carry the hour, the default not worse`, { skip: skipOsm }, async (t) => {
  const scenario = importOsm(OSM, join(tmp, 'osnabrueck-4000-3'), { demandPerHour: 4000, seconds: HOUR, seed: 3 }).loaded.scenario;
  const att: Record<string, number> = {};
  for (const name of [DEFAULT_CONTROLLER, 'max-pressure']) {
    const faults: ControllerFault[] = [];
    const { metrics } = await runControlled(new Simulation(scenario, { seed: 0 }), controllers[name](), HOUR, { onFault: (f) => faults.push(f), budgetMs: 30_000 });
    t.diagnostic(`${name}: ATT ${metrics.averageTravelTime.toFixed(1)} s, teleported ${metrics.teleported}, waiting to enter ${metrics.waitingToEnter}`);
    assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s`), [], `${name}: no gridlock, no deadlock`);
    assert.equal(metrics.teleported, 0, `${name}: no vehicle teleported out of a jam`);
    att[name] = metrics.averageTravelTime;
  }
  const def = att[DEFAULT_CONTROLLER], mp = att['max-pressure'];
  assert.ok(def <= mp, `${DEFAULT_CONTROLLER} ${def.toFixed(1)} s against max-pressure ${mp.toFixed(1)} s`);
});

// the extract at 4,000 trips/h seed 9: a U-turn on Neuer Graben's 6 m stub -503983514 yielded at the conflict point
// with the stream from 503968146 (64 vehicle-steps to 2,300 s, 87 s on end) to the head of that stream, though it was
// stopping for want of room on 503983514 beyond (kept clear) and would not pass; the queue behind the U-turn spread
// (max-pressure 184.5 s, 11 faults, 151 teleported). SUMO's junction model ignores such a foe (MSLink::blockedByFoe: it
// has not asked to pass, willPass); so does the engine's under SUMO's rules (engine/src/sim/junction.ts, nearLink and
// noteLink: vHeld). About 5 s.
test('import osnabrueck-osm 4000/h seed 9: max-pressure carries the hour', { skip: skipOsm }, async (t) => {
  const scenario = importOsm(OSM, join(tmp, 'osnabrueck-4000-9'), { demandPerHour: 4000, seconds: HOUR, seed: 9 }).loaded.scenario;
  const faults: ControllerFault[] = [];
  const { metrics } = await runControlled(new Simulation(scenario, { seed: 0 }), controllers['max-pressure'](), HOUR, { onFault: (f) => faults.push(f), budgetMs: 30_000 });
  t.diagnostic(`max-pressure: ATT ${metrics.averageTravelTime.toFixed(1)} s, teleported ${metrics.teleported}, waiting to enter ${metrics.waitingToEnter}`);
  assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s`), [], 'no gridlock, no deadlock');
  assert.equal(metrics.teleported, 0, 'no vehicle teleported out of a jam');
  assert.ok(metrics.averageTravelTime < 100, `ATT ${metrics.averageTravelTime.toFixed(1)} s`);
});
