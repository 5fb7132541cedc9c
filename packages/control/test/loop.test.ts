/**
 * The loop guard (core/loop.ts): a loop of lanes no signal controls is found
 * when the supervisor starts, and when a lane of it stands full with its queue
 * held at the red of a signal running a plan, the signals round it go to
 * max-pressure. What the devices report (env.observed) decides.
 *
 * The network: CityFlow's generator's 2 x 3 grid with every intersection but
 * intersection_1_1 given one green (all its links: a crossing with no phase
 * choice). The eastern block's four corners then make a ring no signal
 * controls; its lanes west into intersection_1_1 are its exits held there, and
 * intersection_1_1's greens east feed it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { controllers, fullThresholds, isAdvisory, LOOP_CHECK_SECONDS, SignalSupervisor, type Controller, type ControllerFault, type Observed } from '@citybrain/control';

const CHOICE = 'intersection_1_1';

function oneChoiceGrid(): Scenario {
  const g = generateGrid({ rows: 2, cols: 3 });
  for (const ix of g.roadnet.intersections) {
    if (ix.virtual || ix.id === CHOICE) continue;
    const all = ix.roadLinks.map((_, k) => k);
    ix.trafficLight = { roadLinkIndices: all, lightphases: [{ time: 5, availableRoadLinks: [] }, { time: 30, availableRoadLinks: all }] };
  }
  return { ...g, flows: [] };
}

/** A supervisor over `scenario` with no traffic in its twin and detectors reporting what the test writes; only the loop guard on. */
function supervised(scenario: Scenario, controller: Controller) {
  const sim = new Simulation(scenario);
  const n = sim.net.nLanes;
  const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(sim.net.interIds.length).fill(-1) };
  const faults: ControllerFault[] = [];
  const sup = new SignalSupervisor(sim, controller, { observed: observed satisfies Observed, onFault: (f) => faults.push(f), gridlock: false, starvation: false, ring: false, gate: false });
  return { sim, sup, observed, faults };
}

/** Every lane stands full in what the detectors report, for `steps` seconds. */
function standFull(s: ReturnType<typeof supervised>, steps: number) {
  const full = fullThresholds(s.sim.net);
  for (let k = 0; k < steps; k++) {
    for (let l = 0; l < full.length; l++) s.observed.queue[l] = s.observed.vehicles[l] = full[l];
    s.sup.tick();
    s.sim.step();
  }
}

test('no loop on a network whose every junction is a signal with a phase choice (CityFlow grids)', () => {
  for (const g of [generateGrid({ rows: 4, cols: 4 }), generateGrid({ rows: 1, cols: 6 }), generateGrid({ rows: 3, cols: 3, tlPlan: true })]) {
    const { sup } = supervised({ ...g, flows: [] }, controllers.fixed());
    assert.deepEqual(sup.loop!.loops, []);
  }
});

test('the ring round a block of one-green crossings is a loop, with the signal holding its exits and feeding it as its boundary', () => {
  const { sim, sup } = supervised(oneChoiceGrid(), controllers.fixed());
  const loops = sup.loop!.loops;
  // the eastern block's ring between intersection_2_1, 3_1, 3_2 and 2_2, once each way round (no U-turns join them):
  // left turns one way, right turns the other, four lanes each
  assert.equal(loops.length, 2, JSON.stringify(loops));
  const roads = loops.map((loop) => loop.lanes.map((l) => sim.net.roadIds[sim.net.laneRoad[l]]).sort());
  assert.deepEqual(roads.sort(), [['road_2_1_0', 'road_2_2_3', 'road_3_1_1', 'road_3_2_2'], ['road_2_1_1', 'road_2_2_0', 'road_3_1_2', 'road_3_2_3']]);
  // both held and fed by intersection_1_1, the one signal with a choice
  for (const loop of loops) assert.deepEqual(loop.boundary.map((k) => sup.env.intersections[k].id), [CHOICE]);
});

test(`a plan's red holding a full lane of the loop hands the loop's boundary to max-pressure at the next check (${LOOP_CHECK_SECONDS} s), reported once as advisory`, () => {
  const s = supervised(oneChoiceGrid(), controllers.fixed());
  standFull(s, 3 * LOOP_CHECK_SECONDS);
  assert.equal(s.faults.length, 1, s.faults.map((f) => f.error).join('; '));
  const f = s.faults[0];
  assert.equal(f.kind, 'loop');
  assert.ok(isAdvisory(f));
  assert.equal(f.intersection, CHOICE);
  assert.ok(f.time <= LOOP_CHECK_SECONDS + 1, `reported at ${f.time} s`);
  assert.match(f.error, /^loop: lane road_\w+ stood full, its queue held at intersection_1_1 \(road_\d_\d_\d_\d full\), in a loop of 8 lanes no signal controls .*handed to max-pressure$/);
  const k = s.sup.env.intersections.findIndex((x) => x.id === CHOICE);
  assert.ok(s.sup.loop!.holds(k));
  // until an operator gives it back; then the loop is watched again and, still full, handed over again
  s.sup.reinstate(s.sup.env.intersections[k].intersection);
  assert.ok(!s.sup.loop!.holds(k));
  standFull(s, 2 * LOOP_CHECK_SECONDS);
  assert.equal(s.faults.filter((x) => x.kind === 'loop').length, 2);
});

test('no hand-over where the signal holding the loop is adaptive, nor while no lane of the loop stands full', () => {
  const adaptive = supervised(oneChoiceGrid(), controllers['max-pressure']());
  standFull(adaptive, 3 * LOOP_CHECK_SECONDS);
  assert.deepEqual(adaptive.faults, []);
  const empty = supervised(oneChoiceGrid(), controllers.fixed());
  for (let k = 0; k < 3 * LOOP_CHECK_SECONDS; k++) {
    empty.sup.tick();
    empty.sim.step();
  }
  assert.deepEqual(empty.faults, []);
});

test('the loop guard rejects a negative persistence by name', () => {
  const sim = new Simulation(oneChoiceGrid());
  assert.throws(() => new SignalSupervisor(sim, controllers.fixed(), { loop: { persistSeconds: -1 } }), /loop guard.*persistSeconds/);
});
