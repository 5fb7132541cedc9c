/**
 * Gridlock and spill-back detection (core/gridlock.ts) in the supervisor:
 * what the devices report (env.observed) decides; a lane full and standing
 * on green with none crossing for STALL_SECONDS is a fault, and its
 * intersection goes to max-pressure; a ring of full lanes is a deadlock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { controllers, fullThresholds, maxPressure, SignalSupervisor, STALL_SECONDS, CHECK_EVERY_SECONDS, type Controller, type ControllerFault, type Observed } from '@citybrain/control';

/**
 * A 1x1 grid with no traffic in its twin, and detectors reporting what the
 * test says: `lane` full and standing, its count moving only if `crossing`,
 * its reports fresh only if `reporting`. The controller holds the first
 * green, which serves `lane`.
 */
function synthetic(opts: { crossing: boolean; reporting: boolean; steps: number }) {
  const sim = new Simulation({ ...generateGrid({ rows: 1, cols: 1 }), flows: [] });
  const n = sim.net.nLanes;
  const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(sim.net.interIds.length).fill(-1) };
  const hold: Controller = { name: 'hold', decide: (ix) => ix.greens[0] };
  const faults: ControllerFault[] = [];
  const sup = new SignalSupervisor(sim, hold, { observed: observed satisfies Observed, onFault: (f) => faults.push(f) });
  const ix = sup.env.intersections[0];
  const lane = ix.movements[ix.greens[0]].find((m) => !ix.movements[ix.yellow].some((y) => y.roadLink === m.roadLink))!.inLanes[0];
  const full = fullThresholds(sim.net)[lane];
  for (let k = 0; k < opts.steps; k++) {
    observed.queue[lane] = observed.vehicles[lane] = full;
    if (opts.crossing) observed.counted[lane] += 0.5;
    if (opts.reporting || k === 0) observed.reportedAt[lane] = 1_767_225_600_000 + k * 1000;
    sup.tick();
    sim.step();
  }
  return { sim, sup, faults, lane };
}

test(`a lane full and standing on green with none crossing is a gridlock after ${STALL_SECONDS} s of green, and its intersection goes to max-pressure`, () => {
  const { sim, sup, faults, lane } = synthetic({ crossing: false, reporting: true, steps: STALL_SECONDS + 2 * CHECK_EVERY_SECONDS + 1 });
  assert.equal(faults.length, 1, faults.map((f) => f.error).join('; '));
  const f = faults[0];
  assert.equal(f.kind, 'gridlock');
  assert.equal(f.controller, 'hold');
  assert.ok(f.time >= STALL_SECONDS && f.time <= STALL_SECONDS + CHECK_EVERY_SECONDS, `reported at ${f.time} s`);
  assert.match(f.error, new RegExp(`^gridlock: lanes ${sim.net.laneId(lane)} \\(\\d+ standing\\) full and standing on green for \\d+ s with none crossing; no exit full`));
  assert.match(f.error, /handed to max-pressure$/);
  const i = sup.env.intersections[0].intersection;
  assert.ok(sup.relieved.has(i) && sup.fallen.has(i));
  // reported once: the intersection stays with max-pressure until reinstated
  sup.reinstate(i);
  assert.ok(!sup.relieved.has(i) && !sup.fallen.has(i));
});

test('no gridlock while the lane discharges, nor while its detector is silent', () => {
  const steps = 3 * STALL_SECONDS;
  assert.deepEqual(synthetic({ crossing: true, reporting: true, steps }).faults, [], 'vehicles crossing the stop line');
  assert.deepEqual(synthetic({ crossing: false, reporting: false, steps }).faults, [], 'a detector that stopped reporting is no evidence of a standstill');
});

test('a controller that holds a green into a spilled-back exit makes a gridlock; max-pressure then clears the intersection', async () => {
  // 1 x 2 grid, eastbound only: the west intersection holds east-west green, the east one never gives it, so the
  // link between them fills and the west approach stands on green with its exit full
  const sc = generateGrid({ rows: 1, cols: 2, demand: 0.4, turnRoutes: false });
  sc.flows = sc.flows.filter((f) => f.route[0].endsWith('_0'));
  const sim = new Simulation(sc, { seed: 0 });
  const WT_ET = 1, NT_ST = 2;
  const stubborn: Controller = { name: 'stubborn', decide: (ix) => (ix.id === 'intersection_1_1' ? WT_ET : NT_ST) };
  const faults: ControllerFault[] = [];
  const sup = new SignalSupervisor(sim, stubborn, { onFault: (f) => faults.push(f) });
  for (let k = 0; k < 600; k++) {
    sup.tick();
    sim.step();
  }
  const west = faults.filter((f) => f.intersection === 'intersection_1_1');
  assert.equal(west.length, 1, faults.map((f) => `${f.intersection}: ${f.error}`).join('; '));
  assert.equal(west[0].kind, 'gridlock');
  assert.match(west[0].error, /lanes road_0_1_0_1 .*exits road_1_1_0_1 full \(spill-back from downstream\)/);
  // the east intersection's eastbound lanes never see green: not its gridlock to report (it stands on red)
  assert.deepEqual(faults.filter((f) => f.intersection === 'intersection_2_1'), []);
  assert.ok(sup.relieved.has(sim.net.interIndex.get('intersection_1_1')!));
});

test('a ring of full lanes is a deadlock, reported as one no phase choice clears', () => {
  // a 2 x 2 grid flooded from every side: the right-turn lanes (green in every phase) and the inner roads fill into a
  // ring. Without the ring guard (core/ring.ts), which hands the grid to the plan in step once its ring has stood
  // loaded for a while: here it is the deadlock's report that is tested.
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2, demand: 0.5 }), { seed: 0 });
  const faults: ControllerFault[] = [];
  const sup = new SignalSupervisor(sim, maxPressure(), { onFault: (f) => faults.push(f), ring: false });
  for (let k = 0; k < 600; k++) {
    sup.tick();
    sim.step();
  }
  const dead = faults.filter((f) => f.kind === 'deadlock');
  assert.ok(dead.length > 0, faults.map((f) => f.error).join('; '));
  for (const f of dead) assert.match(f.error, /a ring of full lanes (\S+ -> )+\S+: each waits for the next, no phase choice clears it/);
});

test('no gridlock in normal operation: fixed time and max-pressure on a moderately loaded grid', () => {
  for (const name of ['fixed', 'max-pressure']) {
    const sim = new Simulation(generateGrid({ rows: 3, cols: 3, demand: 0.08 }), { seed: 0 });
    const sup = new SignalSupervisor(sim, controllers[name]());
    for (let k = 0; k < 1800; k++) {
      sup.tick();
      sim.step();
    }
    assert.deepEqual(sup.faults, [], name);
  }
});

test('gridlock options are checked', () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 1 }));
  assert.throws(() => new SignalSupervisor(sim, maxPressure(), { gridlock: { stallSeconds: 0 } }), /stallSeconds must be a positive number of seconds, got 0/);
  assert.throws(() => new SignalSupervisor(sim, maxPressure(), { gridlock: { checkEvery: Number.NaN } }), /checkEvery must be a positive number of seconds, got NaN/);
});
