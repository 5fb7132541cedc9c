/**
 * fork(), snapshot() and restore(): a copy evolves exactly like its original,
 * bit for bit, and nothing done to one reaches the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { stateDifference, vehicleRows } from './twin-helpers.js';

const grid: Scenario = generateGrid({ rows: 2, cols: 2, demand: 0.5, blockLength: 200 });

/** Asserts two simulations are in the same state: metrics, vehicles through the API, and every state byte. */
function assertSame(a: Simulation, b: Simulation, what: string): void {
  assert.deepEqual(a.metrics(), b.metrics(), `${what}: metrics`);
  assert.deepEqual(vehicleRows(a), vehicleRows(b), `${what}: vehicles`);
  assert.equal(stateDifference(a.snapshot(), b.snapshot()), null, `${what}: state`);
}

/** Drives every signalised intersection through its green phases on a schedule of its own (not the plan). */
function drive(sim: Simulation, steps: number): void {
  for (let k = 0; k < steps; k++) {
    if (sim.stepCount % 20 === 0) {
      for (const i of sim.net.signalised) sim.setPhase(i, 1 + ((sim.stepCount / 20 + i) % 4));
    }
    sim.step();
  }
}

test('a fork evolves exactly like its original, under the plan and under external control', () => {
  const sim = new Simulation(grid, { seed: 3 });
  sim.step(150);
  sim.addVehicle({ id: 'probe', route: ['road_0_1_0', 'road_1_1_0', 'road_2_1_0'] });
  const fork = sim.fork();
  assertSame(sim, fork, 'at the fork');
  for (let round = 0; round < 4; round++) {
    sim.step(50);
    fork.step(50);
    assertSame(sim, fork, `plan, round ${round}`);
  }
  drive(sim, 150);
  drive(fork, 150);
  assertSame(sim, fork, 'external control');
  assert.equal(sim.vehicleStatus('probe').state, fork.vehicleStatus('probe').state);
  assert.ok(sim.metrics().finishedVehicles > 0 && sim.runningCount > 0, 'the run exercised traffic');
});

test('a fork made after the vehicle tables grew still matches its original', () => {
  // > 1024 vehicles at once: the state's vehicle arrays have been reallocated before the fork
  const sim = new Simulation(generateGrid({ rows: 3, cols: 3, demand: 1 }), { seed: 1 });
  sim.step(200);
  const m = sim.metrics();
  assert.ok(m.vehiclesInNetwork + m.waitingToEnter > 1024, `${m.vehiclesInNetwork + m.waitingToEnter} vehicles held`);
  const fork = sim.fork();
  sim.step(60);
  fork.step(60);
  assertSame(sim, fork, 'after growth');
});

test('mutating a fork (setPhase, addVehicle, stepping) leaves the original untouched', () => {
  const sim = new Simulation(grid, { seed: 7 });
  const twin = new Simulation(grid, { seed: 7 }); // the same history, built independently
  sim.step(120);
  twin.step(120);
  const fork = sim.fork();
  for (const i of sim.net.signalised) fork.setPhase(i, 2);
  fork.addVehicle({ id: 'ambulance', route: ['road_1_0_1', 'road_1_1_1', 'road_1_2_1'] });
  fork.step(100);
  for (const i of sim.net.signalised) {
    assert.equal(sim.isExternallyControlled(i), false, 'the original keeps its plan');
    assert.equal(fork.phase(i), 2);
  }
  assert.deepEqual(sim.vehicleStatus('ambulance'), { state: 'unknown' });
  assert.notEqual(fork.vehicleStatus('ambulance').state, 'unknown');
  assertSame(sim, twin, 'original after the fork was mutated');
  sim.step(100);
  twin.step(100);
  assertSame(sim, twin, 'original stepped after the fork was mutated');
  assert.notDeepEqual(fork.metrics(), sim.metrics(), 'the fork did diverge');

  // and the other way round: changing the original does not reach a fork
  const fork2 = sim.fork();
  const twin2 = twin.fork();
  sim.addVehicle({ id: 'x', route: ['road_0_1_0', 'road_1_1_0'] });
  for (const i of sim.net.signalised) sim.setPhase(i, 0);
  sim.step(30);
  fork2.step(30);
  twin2.step(30);
  assertSame(fork2, twin2, 'fork after the original was mutated');
});

test('snapshot/restore returns to the same state and replays the same future', () => {
  const sim = new Simulation(grid, { seed: 11 });
  sim.step(100);
  sim.addVehicle({ id: 'probe', route: ['road_0_1_0', 'road_1_1_0', 'road_2_1_0'] });
  const snap = sim.snapshot();
  const at = sim.metrics();
  drive(sim, 80);
  const future = sim.fork();
  assert.notDeepEqual(sim.metrics(), at);

  sim.restore(snap);
  assert.deepEqual(sim.metrics(), at, 'back at the snapshot');
  assert.equal(stateDifference(sim.snapshot(), snap), null);
  drive(sim, 80);
  assertSame(sim, future, 'the replayed future');

  // the snapshot itself was not consumed or changed by the run after restore
  const other = new Simulation(grid, { seed: 99 });
  other.restore(snap);
  drive(other, 80);
  assertSame(other, future, 'restored into another simulation of the same scenario');
  assert.equal(other.vehicleStatus('probe').state, future.vehicleStatus('probe').state);
});

test('forkInto reuses a spent fork\'s memory (grown past the original\'s) and gives the same copy as fork, even after the original grows', () => {
  const sim = new Simulation(generateGrid({ rows: 3, cols: 3, demand: 1 }), { seed: 2 });
  sim.step(30);
  const scratch = sim.fork();
  drive(scratch, 40); // spent: stepped on its own, out of date
  const speeds = (s: Simulation) => (s as unknown as { st: { vSpeed: Float64Array } }).st.vSpeed;
  const buffer = speeds(scratch);
  assert.ok(buffer.length > speeds(sim).length, 'the spent fork grew its tables past the original\'s');
  sim.step(5);
  assert.equal(sim.forkInto(scratch), scratch);
  assert.equal(speeds(scratch).buffer, buffer.buffer, 'the same memory, overwritten');
  assertSame(sim, scratch, 'right after forkInto');
  const fresh = sim.fork();
  drive(scratch, 60);
  drive(fresh, 60);
  assertSame(scratch, fresh, 'forkInto and fork evolve alike');

  // the original grows its tables past the scratch's: the copy still matches
  sim.step(200);
  const m = sim.metrics();
  assert.ok(m.vehiclesInNetwork + m.waitingToEnter > 1024, 'the vehicle tables grew');
  sim.forkInto(scratch);
  const fresh2 = sim.fork();
  sim.step(40);
  scratch.step(40);
  fresh2.step(40);
  assertSame(sim, scratch, 'after growth: original and forkInto');
  assertSame(fresh2, scratch, 'after growth: fork and forkInto');

  // and the scratch's stepping never reached the original
  const twin = new Simulation(generateGrid({ rows: 3, cols: 3, demand: 1 }), { seed: 2 });
  twin.step(275);
  assertSame(sim, twin, 'the original, untouched by its forks');
  assert.throws(() => sim.forkInto(new Simulation(grid)), /not a fork of the same simulation/);
});
