/**
 * Robustness (issue #16): every registered controller on every generated
 * stress scenario (engine STRESS_PRESETS: unbalanced demand, heavy turning,
 * short blocks that spill back, a pulse that oversaturates then clears, a
 * 1 x 6 arterial). None may gridlock: the supervisor reports no gridlock,
 * deadlock or controller error, every vehicle enters, and the network clears
 * after the demand stops; the default controller is never worse than
 * max-pressure. The starvation guard's reports (a green that let none of its
 * standing vehicles through, ended by the supervisor: core/starvation.ts)
 * are the supervisor at work, not a failure: printed, not failed on.
 * The registry is iterated, so a controller added to it is held to this too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateStress, Simulation, STRESS_PRESETS } from '@citybrain/engine';
import { controllers, DEFAULT_CONTROLLER, isAdvisory, runControlled, type ControllerFault } from '@citybrain/control';

/**
 * 'predictive' searches candidate plans in parallel on a worker pool in
 * production; in process it is the same search as 'predictive-sequential'
 * but several times slower, so it is left to the benchmarks
 * (citybrain bench control).
 */
const SKIP = new Set(['predictive']);

/**
 * Fixed time is the baseline, not adaptive: demand past its plan's capacity
 * (the unbalanced and arterial scenarios load one approach beyond a 30 s
 * green in a 140 s cycle) is not cleared in the time given, by design. It is
 * still held to no gridlock and no fault.
 */
const NOT_ADAPTIVE = new Set(['fixed']);

/** Vehicles still in the network at the end, as a share of those that entered, an adaptive controller may leave (stragglers on their way out). */
const LEFT_SHARE = 0.02;

/** The default controller's ATT may exceed max-pressure's by this share at most on any stress scenario. */
const DEFAULT_TOLERANCE = 0.05;

interface Row { att: number; entered: number; inNetwork: number; waiting: number; faults: ControllerFault[] }

const results = new Map<string, Map<string, Row>>();
const names = Object.keys(controllers).filter((n) => !SKIP.has(n));

for (const preset of STRESS_PRESETS) {
  const scenario = generateStress(preset.options);
  const rows = new Map<string, Row>();
  results.set(preset.name, rows);
  for (const name of names) {
    test(`stress ${preset.name} (${preset.what}): ${name} does not gridlock`, async (t) => {
      const sim = new Simulation(scenario, { seed: 0 });
      const faults: ControllerFault[] = [];
      const { metrics } = await runControlled(sim, controllers[name](), preset.seconds, { onFault: (f) => faults.push(f) });
      const row = { att: metrics.averageTravelTime, entered: metrics.enteredVehicles, inNetwork: metrics.vehiclesInNetwork, waiting: metrics.waitingToEnter, faults };
      rows.set(name, row);
      const starved = faults.filter((f) => f.kind === 'starvation');
      if (starved.length > 0) t.diagnostic(`${starved.length} greens ended by the starvation guard: ${starved.map((f) => `${f.intersection} at ${f.time} s`).join(', ')}`);
      assert.deepEqual(faults.filter((f) => !isAdvisory(f)).map((f) => `${f.kind} at ${f.intersection}, ${f.time} s: ${f.error}`), [], 'no error, no gridlock');
      assert.ok(metrics.enteredVehicles > 0, 'the scenario has demand');
      if (NOT_ADAPTIVE.has(name)) return;
      assert.equal(metrics.waitingToEnter, 0, 'every vehicle entered');
      assert.ok(metrics.vehiclesInNetwork <= LEFT_SHARE * metrics.enteredVehicles,
        `the network clears: ${metrics.vehiclesInNetwork} of ${metrics.enteredVehicles} vehicles still in it after ${preset.seconds} s`);
    });
  }
  test(`stress ${preset.name}: the default controller (${DEFAULT_CONTROLLER}) is not worse than max-pressure`, (t) => {
    const def = rows.get(DEFAULT_CONTROLLER);
    const mp = rows.get('max-pressure');
    assert.ok(def && mp, 'both ran');
    t.diagnostic(`${preset.name}: ATT ${[...rows].map(([n, r]) => `${n} ${r.att.toFixed(1)}`).join(', ')}`);
    assert.ok(def.att <= mp.att * (1 + DEFAULT_TOLERANCE), `${DEFAULT_CONTROLLER} ${def.att.toFixed(1)} s against max-pressure ${mp.att.toFixed(1)} s`);
  });
}
