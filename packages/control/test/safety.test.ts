/**
 * Safety properties of every controller in the registry, checked at every
 * step of random grid scenarios (1..3 x 1..3 intersections, random per-route
 * demand, yellow and minimum green), with the state observed right after the
 * supervisor's tick, i.e. the signals the step is simulated with:
 *
 * (a) at each signalised intersection the set of green laneLinks is a subset
 *     of one of the roadnet's own phases, and no two crossing green laneLinks
 *     (a conflict point of the network) come from different incoming roads
 *     unless one of them is a right turn (priority 1). Every phase of the
 *     generated grids and of the Hangzhou/Jinan roadnets satisfies the latter,
 *     so it is implied by the former on these networks; it is asserted anyway
 *     so that a phase that does not satisfy it shows up here;
 * (b) while the supervisor controls an intersection, a change between two
 *     different green phases always shows the yellow phase, for exactly
 *     yellowTime seconds, in between; a yellow always leads to a different green;
 * (c) no green under the supervisor's control ends before minGreen seconds;
 * (d) an intersection whose controller fails has exactly one fault recorded
 *     (controller name, intersection id, time) and from then on runs the
 *     supervisor's fixed-time fallback under the same rules (a), (b), (c):
 *     nothing changes abruptly on the street; controllers that throw, answer
 *     a phase that is not theirs, overrun the time budget, or whose
 *     beginStep or init throws or does not finish in time all end that way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import { controllers, isAdvisory, SignalSupervisor, type Controller, type SupervisorOptions } from '@citybrain/control';

interface Spec {
  rows: number;
  cols: number;
  turnRoutes: boolean;
  demand: number;
  /** per-flow demand multipliers; below 0.1 the flow is dropped */
  scale: number[];
  seed: number;
  yellowTime: number;
  minGreen: number;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  rows: fc.integer({ min: 1, max: 3 }),
  cols: fc.integer({ min: 1, max: 3 }),
  turnRoutes: fc.boolean(),
  demand: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
  scale: fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 20, maxLength: 20 }),
  seed: fc.integer({ min: 0, max: 1 << 20 }),
  yellowTime: fc.integer({ min: 1, max: 6 }),
  minGreen: fc.integer({ min: 1, max: 15 }),
});

/** Long enough for webster and green-wave to re-plan from measured flows (warm-up 300 s). */
const STEPS = 330;

function scenario(s: Spec): Scenario {
  const sc = generateGrid({ rows: s.rows, cols: s.cols, turnRoutes: s.turnRoutes, demand: 1 });
  sc.flows = sc.flows.flatMap((f, k) => (s.scale[k] < 0.1 ? [] : [{ ...f, interval: 1 / (s.demand * s.scale[k]) }]));
  return sc;
}

/** Checks (a)-(d) after every tick. */
class SafetyMonitor {
  private readonly prev: number[];
  private readonly since: number[];
  private readonly lastGreen: number[];
  private seenFaults = 0;
  switches = 0;

  constructor(
    private readonly sim: Simulation,
    private readonly sup: SignalSupervisor,
    private readonly c: Controller,
  ) {
    const n = sup.env.intersections.length;
    this.prev = new Array<number>(n).fill(-1);
    this.since = new Array<number>(n).fill(0);
    this.lastGreen = new Array<number>(n).fill(-1);
  }

  check(k: number): void {
    const { sim, sup } = this;
    const net = sim.net;
    const { yellowTime, minGreen } = sup.env;
    // (d) every new fault belongs to an intersection handed to the fallback this step
    for (const f of sup.faults.slice(this.seenFaults)) {
      assert.equal(f.time, sim.time, `fault recorded at the step it happened: ${f.error}`);
      const i = net.interIndex.get(f.intersection);
      if (f.kind === 'starvation') {
        // the starvation guard ends a green and hands nothing over: whoever decides there keeps the intersection
        assert.ok(i !== undefined && (!sup.fallen.has(i) || sup.relieved.has(i)), `a green ended at ${f.intersection}, which no fixed plan runs`);
        assert.equal(f.controller, sup.relieved.has(i) ? 'max-pressure' : this.c.name);
        continue;
      }
      if (f.kind === 'ring') {
        // the ring guard hands the intersection to the plan in step for a while, not to the fallback
        assert.ok(i !== undefined && sup.ring!.holds(i, sim.time) && !sup.fallen.has(i), `a ring at ${f.intersection}: the plan in step runs it`);
        assert.equal(f.controller, this.c.name);
        continue;
      }
      if (f.kind === 'gate') {
        // the perimeter gate hands a perimeter intersection to the plan in step for a while, not to the fallback
        assert.ok(i !== undefined && sup.gate!.holds(i, sim.time) && !sup.fallen.has(i), `the gate at ${f.intersection}: the plan in step runs it`);
        assert.equal(f.controller, this.c.name);
        continue;
      }
      assert.equal(f.controller, this.c.name);
      assert.ok(i !== undefined && sup.fallen.has(i), `fault at ${f.intersection} hands it to the fallback`);
    }
    this.seenFaults = sup.faults.length;
    assert.equal(sup.faults.filter((f) => !isAdvisory(f)).length, sup.fallen.size, 'one fault per intersection handed back');

    sup.env.intersections.forEach((ix, x) => {
      const i = ix.intersection;
      this.checkLinks(i);
      const p = sim.phase(i);
      const where = `${ix.id} at ${sim.time} s`;
      // a fallen intersection runs the fixed-time fallback under the same rules: no special case
      assert.ok(p === ix.yellow || ix.greens.includes(p), `${where}: shows phase ${p}, neither yellow nor a green`);
      const prev = this.prev[x];
      if (prev < 0 || p === prev) {
        if (prev < 0) this.since[x] = k;
        this.prev[x] = p;
        return;
      }
      const lasted = (k - this.since[x]) * sim.interval;
      if (prev !== ix.yellow) {
        // (b) a green only ever gives way to the yellow; (c) after minGreen
        assert.equal(p, ix.yellow, `${where}: green ${prev} -> ${p} without yellow`);
        assert.ok(lasted >= minGreen - 1e-9, `${where}: green ${prev} lasted ${lasted} s < minGreen ${minGreen}`);
        this.lastGreen[x] = prev;
      } else {
        // (b) the yellow lasts exactly yellowTime and leads to another green
        assert.ok(Math.abs(lasted - yellowTime) < 1e-9, `${where}: yellow lasted ${lasted} s, not ${yellowTime}`);
        if (this.lastGreen[x] >= 0) assert.notEqual(p, this.lastGreen[x], `${where}: yellow between the same green`);
        this.switches++;
      }
      this.prev[x] = p;
      this.since[x] = k;
    });
  }

  /** (a) green laneLinks within one roadnet phase, and no crossing pair from different roads without a right turn. */
  private checkLinks(i: number): void {
    const { sim } = this;
    const net = sim.net;
    const d0 = net.interLinkStart[i], d1 = net.interLinkStart[i + 1];
    const green: number[] = [];
    for (let d = d0; d < d1; d++) if (sim.linkGreen(d)) green.push(d);
    const rl0 = net.interRoadLinkStart[i];
    let within = false;
    for (let p = 0; p < sim.phaseCount(i) && !within; p++) {
      const a = net.phaseAvailStart[net.interPhaseStart[i] + p];
      within = green.every((d) => net.phaseAvail[a + net.linkRoadLink[d - net.nLanes] - rl0] === 1);
    }
    assert.ok(within, `${net.interIds[i]} at ${sim.time} s: green links are no roadnet phase's`);
    for (const d of green) {
      const k = d - net.nLanes;
      for (let x = net.linkCrossStart[k]; x < net.linkCrossStart[k + 1]; x++) {
        const c = net.linkCrossList[x];
        const other = net.crossLink[2 * c + 1 - net.linkCrossSide[x]];
        if (!sim.linkGreen(other)) continue;
        const ko = other - net.nLanes;
        if (net.roadLinkStartRoad[net.linkRoadLink[k]] === net.roadLinkStartRoad[net.linkRoadLink[ko]]) continue;
        assert.ok(
          net.linkPriority[k] === 1 || net.linkPriority[ko] === 1,
          `${net.interIds[i]} at ${sim.time} s: crossing green ${net.drivableId(d)} and ${net.drivableId(other)}`,
        );
      }
    }
  }
}

async function runChecked(s: Spec, c: Controller, opts: SupervisorOptions = {}, steps = STEPS) {
  const sim = new Simulation(scenario(s), { seed: s.seed });
  const sup = new SignalSupervisor(sim, c, { yellowTime: s.yellowTime, minGreen: s.minGreen, ...opts });
  const mon = new SafetyMonitor(sim, sup, c);
  for (let k = 0; k < steps; k++) {
    const pending = sup.tick();
    if (pending) await pending;
    mon.check(k);
    sim.step();
  }
  return { sim, sup, mon };
}

const names = Object.keys(controllers);
assert.ok(names.length >= 2, 'the registry lists controllers');

for (const name of names) {
  test(`safety: ${name}`, async () => {
    let switches = 0;
    await fc.assert(
      fc.asyncProperty(specArb, async (s) => {
        const { sup, mon } = await runChecked(s, controllers[name]());
        switches += mon.switches;
        // a built-in controller never needs its fallback on a healthy city (the heaviest random demands, 0.5 veh/s a
        // route, oversaturate a grid into gridlock: reporting that is the gridlock detection's part, held by stress.test.ts)
        assert.deepEqual(sup.faults.filter((f) => f.kind === 'error'), []);
      }),
      { numRuns: 6 },
    );
    // six random cities may all be too quiet for a controller to change (actuated, on light demand, once did): one busy city as well
    const busy: Spec = { rows: 2, cols: 2, turnRoutes: true, demand: 0.3, scale: Array(20).fill(1), seed: 1, yellowTime: 3, minGreen: 5 };
    const { sup, mon } = await runChecked(busy, controllers[name]());
    assert.deepEqual(sup.faults.filter((f) => f.kind === 'error'), []);
    switches += mon.switches;
    assert.ok(switches > 0, 'the runs exercised phase changes');
  });
}

type ChaosKind = 'throw' | 'invalid' | 'slow' | 'beginThrow' | 'beginTimeout';

/**
 * Wraps `base` to fail once, at the first chance at or after step `at` (at
 * intersection slot `target` for decide faults). `clock` is the supervisor's:
 * it stands still but for the overrun a 'slow' fault makes, so a loaded
 * machine's pauses cannot add faults of their own.
 */
function chaotic(base: Controller, kind: ChaosKind, at: number, target: number, budgetMs: number) {
  const fired = { step: -1, slot: -1 };
  let ms = 0;
  const clock = () => ms;
  const wrapped: Controller = {
    name: base.name,
    init: (env) => base.init?.(env),
    beginStep(env) {
      if (fired.step < 0 && env.twin.stepCount >= at && (kind === 'beginThrow' || kind === 'beginTimeout')) {
        fired.step = env.twin.stepCount;
        if (kind === 'beginThrow') throw new Error('chaos in beginStep');
        return new Promise<void>((res) => setTimeout(res, 3 * budgetMs));
      }
      return base.beginStep?.(env);
    },
    decide(ix, s, env) {
      const slot = env.intersections.indexOf(ix);
      if (fired.step < 0 && env.twin.stepCount >= at && slot === target % env.intersections.length) {
        if (kind === 'throw' || kind === 'invalid' || kind === 'slow') {
          fired.step = env.twin.stepCount;
          fired.slot = slot;
          if (kind === 'throw') throw new Error('chaos in decide');
          if (kind === 'invalid') return -7;
          ms += budgetMs + 20; // overrun the decision budget
        }
      }
      return base.decide(ix, s, env);
    },
  };
  return { wrapped, fired, clock };
}

test('safety: failing controllers fall back to fixed time with the fault recorded', async () => {
  const bases = ['fixed', 'max-pressure', 'webster', 'actuated', 'sotl', 'green-wave'];
  const budgetMs = 100;
  await fc.assert(
    fc.asyncProperty(
      specArb,
      fc.constantFrom(...bases),
      fc.constantFrom<ChaosKind>('throw', 'invalid', 'slow', 'beginThrow', 'beginTimeout'),
      fc.integer({ min: 0, max: 200 }),
      fc.nat(8),
      async (s, baseName, kind, at, target) => {
        const { wrapped, fired, clock } = chaotic(controllers[baseName](), kind, at, target, budgetMs);
        // errors only: on the heaviest random demands a gridlock report (gridlock.test.ts) would join the injected fault, and
        // the starvation guard's report of a green it ended (starvation.test.ts) may too (sotl, 2 x 2, seed 1718450171)
        const { sim, sup } = await runChecked(s, wrapped, { budgetMs, clock, gridlock: false, starvation: false }, 260);
        const ixs = sup.env.intersections;
        assert.ok(fired.step >= 0, 'the fault was injected');
        const t = fired.step * sim.interval;
        assert.ok(sup.faults.length > 0 && sup.faults.every((f) => f.time === t), 'faults recorded when they happened');
        const fallen = ixs.filter((ix) => sup.fallen.has(ix.intersection)).map((ix) => ixs.indexOf(ix));
        if (kind === 'throw' || kind === 'invalid') {
          assert.deepEqual(fallen, [fired.slot], 'only the failing intersection is handed back');
          assert.match(sup.faults[0].error, kind === 'throw' ? /chaos in decide/ : /answered phase -7/);
        } else if (kind === 'slow') {
          // the overrunning intersection and any decided after it in the same step
          assert.ok(fallen[0] === fired.slot && fallen.every((x) => x >= fired.slot));
          assert.ok(sup.faults.every((f) => /ms/.test(f.error)));
        } else {
          assert.equal(fallen.length, ixs.length, 'a failed beginStep hands every intersection back');
        }
        // the supervisor keeps every signal: the fallback is its own fixed-time plan
        for (const ix of ixs) assert.equal(sim.isExternallyControlled(ix.intersection), true);
      },
    ),
    { numRuns: 12 },
  );
});

test('safety: a controller whose init throws falls back to fixed time', () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const c: Controller = {
    name: 'bad-init',
    init() {
      throw new Error('init failed');
    },
    decide: (_ix, s) => s.green,
  };
  const sup = new SignalSupervisor(sim, c);
  assert.equal(sup.fallen.size, 2);
  assert.deepEqual(sup.faults.map((f) => f.error), ['init failed', 'init failed']);
});
