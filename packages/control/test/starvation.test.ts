/**
 * The starvation guard (core/starvation.ts) in the supervisor: from what the
 * devices report (env.observed) only, a green holding standing vehicles that
 * lets none through for its patience is ended for a green whose standing
 * vehicles have room ahead, and reported; not when its vehicles cross, when
 * the other green's exits are full, when its own exit discharges (room is
 * coming), under a fixed plan, or while an emergency vehicle holds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { fixedTime, fullThresholds, SignalSupervisor, STARTUP_SECONDS, type Controller, type ControllerFault, type IntersectionPhases, type Observed } from '@citybrain/control';

interface Case {
  /** the green's lane counts a crossing every other second */
  crossing?: boolean;
  /** the other green's exits are full */
  otherExitsFull?: boolean;
  /** the green's exit counts a crossing every other second (it drains: room is coming) */
  exitDraining?: boolean;
  /** the controller: one that holds its first green (default), or another */
  controller?: (hold: Controller) => Controller;
  steps: number;
}

/** The non-always-green movements of green g. */
function served(ix: IntersectionPhases, g: number) {
  return ix.movements[g].filter((m) => !ix.movements[ix.yellow].some((y) => y.roadLink === m.roadLink) && !ix.greens.every((o) => ix.movements[o].some((x) => x.roadLink === m.roadLink)));
}

/**
 * A 1x1 grid with no traffic in its twin, its detectors reporting what the
 * case says: the first green's lanes hold 4 vehicles standing each, the
 * second green's lanes 3 (lanes of both left out of the second), every report
 * fresh each second.
 */
function synthetic(c: Case) {
  const sim = new Simulation({ ...generateGrid({ rows: 1, cols: 1 }), flows: [] });
  const n = sim.net.nLanes;
  const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(sim.net.interIds.length).fill(-1) };
  const hold: Controller = { name: 'hold', decide: (ix, s) => (s.green === ix.greens[0] ? ix.greens[0] : s.green) };
  const faults: ControllerFault[] = [];
  const sup = new SignalSupervisor(sim, c.controller ? c.controller(hold) : hold, { observed: observed satisfies Observed, onFault: (f) => faults.push(f) });
  const ix = sup.env.intersections[0];
  const [g1, g2] = ix.greens;
  const mine = served(ix, g1);
  const lanes1 = [...new Set(mine.flatMap((m) => m.inLanes))];
  const exits1 = [...new Set(mine.flatMap((m) => m.outLanes))];
  const lanes2 = [...new Set(served(ix, g2).flatMap((m) => m.inLanes))].filter((l) => !lanes1.includes(l));
  const exits2 = [...new Set(served(ix, g2).flatMap((m) => m.outLanes))];
  const full = fullThresholds(sim.net);
  const shown: number[] = [];
  for (let k = 0; k < c.steps; k++) {
    for (const l of lanes1) observed.queue[l] = observed.vehicles[l] = 4;
    for (const l of lanes2) observed.queue[l] = observed.vehicles[l] = 3;
    if (c.otherExitsFull) for (const l of exits2) observed.queue[l] = observed.vehicles[l] = full[l];
    if (c.crossing && k % 2 === 0) for (const l of lanes1) observed.counted[l]++;
    if (c.exitDraining && k % 2 === 0) for (const l of exits1) observed.counted[l]++;
    observed.reportedAt.fill(1_767_225_600_000 + k * 1000);
    sup.tick();
    sim.step();
    shown.push(sim.phase(ix.intersection));
  }
  return { sup, faults, ix, g1, g2, shown };
}

const patience = STARTUP_SECONDS + 2 * 5;

test(`a green holding standing vehicles with none crossing for ${patience} s is ended for one whose standing vehicles have room ahead, and reported`, () => {
  const { faults, ix, g1, g2, shown } = synthetic({ steps: 60 });
  const starved = faults.filter((f) => f.kind === 'starvation');
  assert.equal(starved.length, 1, faults.map((f) => f.error).join('; '));
  const f = starved[0];
  assert.equal(f.intersection, ix.id);
  assert.equal(f.controller, 'hold');
  assert.match(f.error, new RegExp(`green ${g1} let none of \\d+ vehicles standing on .* through for ${patience} s.*ended for green ${g2} at ${ix.id}`));
  assert.equal(f.time, patience, 'after the patience, counted from the green\'s start');
  // the supervisor's rules still hold: the yellow, then the other green, which the controller keeps
  assert.equal(shown[patience], ix.yellow);
  assert.equal(shown.at(-1), g2);
  assert.equal(faults.length, 1, 'nothing else reported: the controller keeps the intersection');
});

test('a green whose vehicles cross is not ended', () => {
  const { faults, g1, shown } = synthetic({ crossing: true, steps: 60 });
  assert.deepEqual(faults, []);
  assert.ok(shown.every((p) => p === g1));
});

test('a green is not ended for one whose exits are full: that would only add a yellow', () => {
  const { faults, g1, shown } = synthetic({ otherExitsFull: true, steps: 60 });
  assert.deepEqual(faults, []);
  assert.ok(shown.every((p) => p === g1));
});

test('a green whose exit discharges is waiting for room that is coming, and is not ended', () => {
  const { faults, g1, shown } = synthetic({ exitDraining: true, steps: 60 });
  assert.deepEqual(faults, []);
  assert.ok(shown.every((p) => p === g1));
});

test('a fixed plan is left as planned', () => {
  const { faults } = synthetic({ controller: () => fixedTime({ green: 50 }), steps: 45 });
  assert.deepEqual(faults, []);
});

test('an intersection an emergency vehicle holds is not cut', () => {
  const { faults, g1, shown } = synthetic({ controller: (hold) => ({ ...hold, holdsAt: () => true }), steps: 60 });
  assert.deepEqual(faults, []);
  assert.ok(shown.every((p) => p === g1));
});

test('the guard can be turned off (starvation: false); a patience that is not a positive number is refused', () => {
  const sim = new Simulation({ ...generateGrid({ rows: 1, cols: 1 }), flows: [] });
  assert.doesNotThrow(() => new SignalSupervisor(sim, fixedTime(), { starvation: false }));
  assert.throws(() => new SignalSupervisor(sim, fixedTime(), { starvation: { patience: 0 } }), /patience must be a positive number of seconds, got 0/);
});
