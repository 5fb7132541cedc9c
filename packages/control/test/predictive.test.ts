import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import {
  inProcessExecutor,
  intersectionPhases,
  predictive,
  SignalSupervisor,
  type Plan,
  type RolloutParams,
  type SignalSnapshot,
} from '@citybrain/control';

const SOUTH_TO_NORTH = ['road_1_0_1', 'road_1_1_1'];
const PHASE_WE = 1;
const PHASE_NS = 2;

/** One crossing showing W-E green with `n` vehicles queued at the red on the south approach; nothing else anywhere. */
function queueAtRed(n: number): Simulation {
  const sim = new Simulation({ roadnet: generateGrid({ rows: 1, cols: 1 }).roadnet, flows: [] });
  const i = intersectionPhases(sim)[0].intersection;
  sim.setPhase(i, PHASE_WE);
  for (let k = 0; k < n; k++) {
    sim.addVehicle({ id: `sn${k}`, route: SOUTH_TO_NORTH });
    sim.step(3);
  }
  sim.step(40);
  return sim;
}

const params: RolloutParams = {
  horizon: 40,
  base: { period: 5, periodSteps: 5, range: null, keepWeight: 2, entryQueue: false, gapOut: null },
  rules: { yellowSteps: 5, minGreen: 5 },
  yellowTime: 5,
};

test('a rollout scores serving the queue better than keeping the empty green', async () => {
  const sim = queueAtRed(6);
  const ixs = intersectionPhases(sim);
  const signals: SignalSnapshot = { green: Int32Array.of(PHASE_WE), greenSince: Float64Array.of(0), yellowLeft: Int32Array.of(0) };
  const plan = (phase: number): Plan => ({ phase: Int32Array.of(phase), hold: Int32Array.of(params.horizon) });
  const exec = inProcessExecutor();
  const before = sim.metrics();
  const [keep, serve] = await exec.evaluate(sim, ixs, { signals, plans: [plan(PHASE_WE), plan(PHASE_NS)], params });
  await exec.close();
  // the queue waits the whole horizon under "keep"
  assert.equal(keep[0], 6 * params.horizon);
  assert.ok(serve[0] < keep[0] / 2, `serve ${serve[0]} vs keep ${keep[0]}`);
  assert.equal(keep[1], keep[0], 'the total is the sum over intersections');
  // the twin itself is untouched
  assert.deepEqual(sim.metrics(), before);
  assert.equal(sim.phase(ixs[0].intersection), PHASE_WE);
});

test('predictive switches to the queued approach at its first decision', async () => {
  const sim = queueAtRed(6);
  const c = predictive();
  const sup = new SignalSupervisor(sim, c, { initialGreen: PHASE_WE });
  const i = sup.env.intersections[0].intersection;
  const shown: number[] = [];
  for (let k = 0; k < 20; k++) {
    await sup.tick();
    shown.push(sim.phase(i));
    sim.step();
  }
  await c.close();
  assert.equal(sup.faults.length, 0);
  const firstYellow = shown.indexOf(0);
  assert.ok(firstYellow >= 0 && firstYellow <= 10, `yellow shown at step ${firstYellow}: ${shown.join(',')}`);
  assert.equal(shown[firstYellow + 5], PHASE_NS);
});

test("predictive tracks the supervisor's signal state exactly", async () => {
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2, demand: 0.25 }));
  const c = predictive({ horizon: 20 });
  const sup = new SignalSupervisor(sim, c);
  let switches = 0;
  for (let k = 0; k < 240; k++) {
    await sup.tick();
    const mine = c.signalState();
    sup.status.forEach((s, j) => {
      assert.equal(mine.green[j], s.green, `green of ${j} at step ${k}`);
      assert.equal(mine.greenSince[j], s.greenSince, `greenSince of ${j} at step ${k}`);
      assert.equal(mine.yellowLeft[j], s.yellowLeft, `yellowLeft of ${j} at step ${k}`);
      if (s.yellowLeft === 5) switches++;
    });
    sim.step();
  }
  await c.close();
  assert.equal(sup.faults.length, 0);
  assert.ok(switches > 0, 'the run changed phases at least once');
});

test('predictive rejects bad options', () => {
  assert.throws(() => predictive({ period: 0 }), /period must be > 0/);
  assert.throws(() => predictive({ horizon: -5 }), /horizon must be > 0/);
  assert.throws(() => predictive({ alternatives: 0 }), /alternatives must be an integer >= 1/);
});
