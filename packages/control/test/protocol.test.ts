/**
 * The signal-control protocol of the CityFlow benchmarks (shared/reference/baselines.md),
 * as SignalSupervisor + fixedTime()/maxPressure() implement it, and the supervisor's
 * fault handling. Expected schedules and pressures are computed here from the
 * protocol text and the roadnet JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import {
  bestPhase, fixedTime, intersectionPhases, maxPressure, runControlled, SignalSupervisor,
  type Controller, type ControllerFault,
} from '@citybrain/control';

/** Fixed-time protocol: start in phase 1; every 35 s the next phase (1→2→3→4→1) after 5 s of yellow (phase 0). */
function fixedProtocol(t: number): number {
  return t % 35 < 30 ? 1 + Math.floor((t % 140) / 35) : 0;
}

test('fixedTime() under the supervisor reproduces the baseline fixed-time schedule exactly', () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 1, demand: 0.3 }));
  const sup = new SignalSupervisor(sim, fixedTime());
  const [i] = sim.net.signalised;
  const trace: number[] = [];
  for (let t = 0; t < 3 * 140 + 10; t++) {
    sup.tick();
    trace.push(sim.phase(i));
    assert.equal(sim.phase(i), fixedProtocol(t), `phase at t=${t}`);
    assert.equal(sim.isExternallyControlled(i), true);
    sim.step();
  }
  // spelled out for the first cycle, as the protocol states it
  assert.ok(trace.slice(0, 30).every((p) => p === 1), 'phase 1 for t = 0..29');
  assert.deepEqual(trace.slice(30, 35), [0, 0, 0, 0, 0], 'yellow for t = 30..34');
  assert.equal(trace[35], 2);
  assert.deepEqual([trace[70], trace[105], trace[140]], [3, 4, 1], 'cycle of 140 s');
  assert.deepEqual(sup.faults, []);
});

test('runControlled drives every intersection of a grid on the same fixed schedule', async () => {
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2, demand: 0.3 }));
  let checked = 0;
  await runControlled(sim, fixedTime(), 300, {
    onStep: (s, k) => {
      // onStep runs after step k, which showed the phase decided at time k
      for (const i of s.net.signalised) assert.equal(s.phase(i), fixedProtocol(k), `intersection ${i} at t=${k}`);
      checked++;
    },
  });
  assert.equal(checked, 300);
});

/**
 * Max-pressure's choice computed from the protocol's definition and the roadnet JSON:
 * pressure of a phase = sum over its roadLinks of (mean waiting vehicles, speed < 0.1,
 * over the link's distinct incoming lanes − the same over its distinct outgoing lanes).
 */
function protocolChoice(sim: Simulation, s: Scenario, interId: string): number {
  const waiting = new Map<string, number>();
  for (const h of sim.runningVehicles()) {
    const d = sim.vehicleDrivable(h);
    if (d < sim.net.nLanes && sim.vehicleSpeed(h) < 0.1) waiting.set(sim.net.laneId(d), (waiting.get(sim.net.laneId(d)) ?? 0) + 1);
  }
  const mean = (lanes: Set<string>) => [...lanes].reduce((a, l) => a + (waiting.get(l) ?? 0), 0) / lanes.size;
  const inter = s.roadnet.intersections.find((x) => x.id === interId)!;
  let best = 1, bestP = -Infinity;
  for (let p = 1; p <= 4; p++) {
    let pressure = 0;
    for (const k of inter.trafficLight.lightphases[p].availableRoadLinks) {
      const rl = inter.roadLinks[k];
      pressure += mean(new Set(rl.laneLinks.map((ll) => `${rl.startRoad}_${ll.startLaneIndex}`)))
        - mean(new Set(rl.laneLinks.map((ll) => `${rl.endRoad}_${ll.endLaneIndex}`)));
    }
    if (pressure > bestP) { // strictly greater: ties keep the lowest phase
      bestP = pressure;
      best = p;
    }
  }
  return best;
}

test('maxPressure() decides every 15 s by the protocol\'s pressure, with 5 s of yellow before a change', () => {
  const s = generateGrid({ rows: 2, cols: 2, demand: 0.25, blockLength: 200 });
  const sim = new Simulation(s, { seed: 2 });
  const mp = maxPressure();
  const decisions: { t: number; inter: string; want: number; current: number }[] = [];
  const spy: Controller = {
    name: mp.name,
    init: (env) => mp.init?.(env),
    decide(ix, st, env) {
      const want = mp.decide(ix, st, env);
      decisions.push({ t: env.twin.time, inter: ix.id, want, current: st.green });
      if (env.twin.time % 15 === 0) assert.equal(want, protocolChoice(sim, s, ix.id), `${ix.id} at t=${env.twin.time}`);
      return want;
    },
  };
  const sup = new SignalSupervisor(sim, spy);
  const traces = new Map<number, number[]>([...sim.net.signalised].map((i) => [i, []]));
  for (let t = 0; t < 900; t++) {
    sup.tick();
    for (const [i, tr] of traces) tr.push(sim.phase(i));
    sim.step();
  }
  const changes = decisions.filter((d) => d.want !== d.current);
  assert.ok(changes.length >= 8, `the run exercised phase changes (${changes.length})`);
  for (const d of changes) assert.equal(d.t % 15, 0, `${d.inter} changed its mind at t=${d.t}`);
  for (const [i, tr] of traces) {
    assert.equal(tr[0], 1, 'starts in phase 1');
    for (let t = 1; t < tr.length; t++) {
      if (tr[t] === tr[t - 1]) continue;
      if (tr[t] === 0) {
        // a change starts at a decision time and shows exactly 5 s of yellow, then the new green
        assert.equal(t % 15, 0, `yellow starts at t=${t}`);
        const after = tr.slice(t, t + 6);
        if (after.length === 6) {
          assert.deepEqual(after.slice(0, 5), [0, 0, 0, 0, 0], `intersection ${i}: 5 s of yellow from t=${t}`);
          assert.notEqual(after[5], 0);
          assert.notEqual(after[5], tr[t - 1], 'the yellow leads to a different green');
        }
      } else assert.equal(tr[t - 1], 0, `intersection ${i} changed green without yellow at t=${t}`);
    }
  }
});

test('maxPressure() ties keep the lowest phase index, not the current one', () => {
  // no traffic before t = 1000: every pressure is 0 at the first decision (t = 15)
  const sim = new Simulation(generateGrid({ rows: 1, cols: 1, startTime: 1000 }));
  const sup = new SignalSupervisor(sim, maxPressure(), { initialGreen: 3 });
  const [i] = sim.net.signalised;
  const trace: number[] = [];
  for (let t = 0; t < 40; t++) {
    sup.tick();
    trace.push(sim.phase(i));
    sim.step();
  }
  assert.deepEqual(trace.slice(0, 15), Array(15).fill(3));
  assert.deepEqual(trace.slice(15, 20), [0, 0, 0, 0, 0]);
  assert.deepEqual(trace.slice(20), Array(20).fill(1));

  // bestPhase itself: equal loads on the north and south approaches make NT+ST (2) and NL+SL (4) tie
  const s = generateGrid({ rows: 1, cols: 1 });
  const sim2 = new Simulation(s);
  const [ix] = intersectionPhases(sim2);
  const env = new SignalSupervisor(sim2, fixedTime()).env;
  const loaded = new Set<number>();
  for (const road of ['road_1_2_3', 'road_1_0_1']) { // into intersection_1_1 from the north and the south
    const r = sim2.net.roadIndex.get(road)!;
    for (let k = 0; k < sim2.net.roadLaneCount[r]; k++) loaded.add(sim2.net.roadFirstLane[r] + k);
  }
  assert.equal(bestPhase(ix, env, (lane) => (loaded.has(lane) ? 1 : 0)), 2);
});

test('a controller that throws hands its intersections to the fixed-time fallback and records faults', () => {
  const s = generateGrid({ rows: 2, cols: 2, demand: 0.2 });
  const sim = new Simulation(s);
  const seen: ControllerFault[] = [];
  const broken: Controller = { name: 'broken', decide: () => { throw new Error('boom'); } };
  const sup = new SignalSupervisor(sim, broken, { onFault: (f) => seen.push(f) });
  sim.step(5);
  sup.tick(); // the first decision (minGreen = 5 s) throws everywhere
  const ids = [...sim.net.signalised].map((i) => sim.net.interIds[i]);
  assert.deepEqual(sup.faults.map((f) => [f.controller, f.intersection, f.time, f.error]), ids.map((id) => ['broken', id, 5, 'boom']));
  assert.deepEqual(seen, sup.faults);
  // the fixed-time fallback takes over from what is shown (phase 1 since t=0): the protocol's own schedule
  for (let t = 5; t < 400; t++) {
    if (t > 5) sup.tick(); // t = 5 was decided by the faulting tick above
    for (const i of sim.net.signalised) {
      assert.equal(sim.isExternallyControlled(i), true, 'the supervisor keeps the signal');
      assert.equal(sim.phase(i), fixedProtocol(t), `intersection ${i} at t=${t}`);
    }
    sim.step();
  }
  assert.equal(sup.faults.length, ids.length, 'a fallen intersection is not asked again');
});

test('a fault at one intersection leaves the others under control', () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const [a, b] = sim.net.signalised;
  const badId = sim.net.interIds[a];
  const fixed = fixedTime();
  const picky: Controller = {
    name: 'picky',
    decide(ix, st, env) {
      if (ix.id === badId && env.twin.time >= 40) throw new Error('sensor offline');
      return fixed.decide(ix, st, env);
    },
  };
  const sup = new SignalSupervisor(sim, picky);
  for (let t = 0; t < 200; t++) {
    sup.tick();
    assert.equal(sim.phase(b), fixedProtocol(t), `healthy intersection at t=${t}`);
    sim.step();
  }
  assert.deepEqual(sup.faults.map((f) => [f.intersection, f.time, f.error]), [[badId, 40, 'sensor offline']]);
  assert.deepEqual([...sup.fallen], [a]);
  // the fallback continues the same fixed cycle at the faulty intersection
  for (let t = 200; t < 400; t++) {
    sup.tick();
    assert.equal(sim.phase(a), fixedProtocol(t), `fallen intersection at t=${t}`);
    sim.step();
  }
});

test('an answer outside the green phases is a fault', () => {
  for (const answer of [0, 5, 99, -1, 1.5, Number.NaN]) {
    const sim = new Simulation(generateGrid({ rows: 1, cols: 1 }));
    const sup = new SignalSupervisor(sim, { name: 'wild', decide: () => answer });
    const [i] = sim.net.signalised;
    sim.step(5);
    sup.tick();
    assert.equal(sup.faults.length, 1, `answer ${answer}`);
    assert.match(sup.faults[0].error, /answered phase .*not one of 1, 2, 3, 4/);
    assert.ok(sup.fallen.has(i));
    assert.equal(sim.phase(i), 1, 'the fallback keeps what is shown: no abrupt change');
  }
});

test('a failing or too slow beginStep fails every intersection', async () => {
  const sim = new Simulation(generateGrid({ rows: 1, cols: 2 }));
  const sup = new SignalSupervisor(sim, { name: 'crash', beginStep: () => { throw new Error('worker died'); }, decide: (_ix, st) => st.green });
  sup.tick();
  assert.deepEqual(sup.faults.map((f) => f.error), ['worker died', 'worker died']);

  const sim2 = new Simulation(generateGrid({ rows: 1, cols: 1 }));
  const slow: Controller = {
    name: 'slow',
    beginStep: () => new Promise<void>((res) => setTimeout(res, 300)),
    decide: (_ix, st) => st.green,
  };
  const sup2 = new SignalSupervisor(sim2, slow, { budgetMs: 20 });
  await sup2.tick();
  assert.equal(sup2.faults.length, 1);
  assert.match(sup2.faults[0].error, /no decision within 20 ms/);
  assert.ok(sup2.fallen.has(sim2.net.signalised[0]));
});
