import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type GridOptions, type Scenario } from '@citybrain/engine';
import {
  actuated,
  ControllerAssignment,
  findArterials,
  fullThresholds,
  greenWave,
  intersectionPhases,
  isAdvisory,
  perfectObservations,
  sotl,
  SignalSupervisor,
  webster,
  type Controller,
  type Observed,
  type SupervisorOptions,
} from '@citybrain/control';

/** A grid keeping only the flows whose first road heads in one of `dirs` (0 east, 1 north, 2 west, 3 south). */
function grid(o: GridOptions, dirs?: number[]): Scenario {
  const s = generateGrid(o);
  if (dirs) s.flows = s.flows.filter((f) => dirs.includes(Number(f.route[0].slice(-1))));
  return s;
}

/** Runs `steps` steps under the supervisor, calling `each` after every tick (the state the step will use). */
async function drive(
  sim: Simulation,
  c: Controller,
  steps: number,
  opts: SupervisorOptions = {},
  each?: (k: number, sup: SignalSupervisor) => void,
): Promise<SignalSupervisor> {
  const sup = new SignalSupervisor(sim, c, opts);
  for (let k = 0; k < steps; k++) {
    const pending = sup.tick();
    if (pending) await pending;
    each?.(k, sup);
    sim.step();
  }
  return sup;
}

interface Run {
  phase: number;
  start: number;
  length: number;
}

/** Maximal runs of one phase in a per-step phase history. */
function runs(history: number[]): Run[] {
  const out: Run[] = [];
  for (let k = 0; k < history.length; k++) {
    if (k === 0 || history[k] !== history[k - 1]) out.push({ phase: history[k], start: k, length: 0 });
    out[out.length - 1].length++;
  }
  return out;
}

/** Incoming lanes of the straight movements green in `phase` at the first intersection. */
function straightLanes(sim: Simulation, phase: number): number[] {
  const ix = intersectionPhases(sim)[0];
  return ix.movements[phase].filter((m) => sim.net.roadLinkType[m.roadLink] === 3).flatMap((m) => m.inLanes);
}

const near = (sim: Simulation, lanes: number[], range: number) => lanes.reduce((n, l) => n + sim.laneApproachingCount(l, range), 0);

test('actuated: an empty green gaps out as soon as another phase is detected, and phases without demand are skipped', async () => {
  // north-south straight traffic only; the signal starts green for the empty east-west phase 1
  const sim = new Simulation(grid({ rows: 1, cols: 1, demand: 0.1, turnRoutes: false }, [1, 3]));
  const ns = straightLanes(sim, 2);
  let detected = -1;
  const history: number[] = [];
  await drive(sim, actuated(), 300, { minGreen: 5, yellowTime: 5 }, (k) => {
    if (detected < 0 && near(sim, ns, 30) > 0) detected = k;
    history.push(sim.phase(sim.net.signalised[0]));
  });
  const r = runs(history);
  assert.ok(detected > 5, `north-south traffic reaches the detectors after minGreen (at ${detected} s)`);
  assert.deepEqual(r.slice(0, 3).map((x) => x.phase), [1, 0, 2]);
  assert.equal(r[0].length, detected, 'phase 1 ends the step its rival is first detected, long before max-out');
  assert.ok(history.every((p) => p === 0 || p === 1 || p === 2), 'the left-turn phases 3 and 4 never had demand');
  assert.ok(history.slice(r[2].start).every((p) => p === 2), 'with demand only on phase 2 the green rests there');
});

test('actuated: continuous demand holds the green to max-out', async () => {
  // over-saturated straight traffic on every approach, east-west first: the detectors never see a gap
  const s = grid({ rows: 1, cols: 1, demand: 1, turnRoutes: false }, [0, 2]);
  s.flows.push(...grid({ rows: 1, cols: 1, demand: 1, turnRoutes: false, startTime: 15 }, [1, 3]).flows);
  const sim = new Simulation(s);
  const history: number[] = [];
  await drive(sim, actuated({ maxGreen: 40 }), 200, { minGreen: 5, yellowTime: 5 }, () => history.push(sim.phase(sim.net.signalised[0])));
  const greens = runs(history).filter((x) => x.phase !== 0);
  assert.ok(greens.length >= 3);
  for (const g of greens.slice(0, -1)) assert.equal(g.length, 40, `phase ${g.phase} green from ${g.start} s lasts maxGreen`);
  assert.deepEqual(greens.slice(0, 3).map((g) => g.phase), [1, 2, 1], 'alternates between the two through phases, skipping empty left turns');
});

test('actuated: a short gap between vehicles ends the green (gap-out) before max-out', async () => {
  // sparse traffic everywhere: vehicles 20 s apart per route leave gaps longer than 3 s
  const sim = new Simulation(grid({ rows: 1, cols: 1, demand: 0.05, turnRoutes: false }));
  const history: number[] = [];
  await drive(sim, actuated({ maxGreen: 60 }), 600, { minGreen: 5, yellowTime: 5 }, () => history.push(sim.phase(sim.net.signalised[0])));
  const greens = runs(history).filter((x) => x.phase !== 0).slice(0, -1);
  assert.ok(greens.length >= 4, 'the green alternates');
  assert.ok(greens.every((g) => g.length >= 5 && g.length < 60), `greens ${greens.map((g) => g.length).join(', ')} end by gap-out`);
});

test('sotl: switches when the red phase has accumulated threshold vehicle-seconds, later for a higher threshold', async () => {
  const switchAt = async (threshold: number) => {
    // heavy east-west traffic keeps its green busy; light north-south traffic, from 30 s, waits on red
    const s = grid({ rows: 1, cols: 1, demand: 1, turnRoutes: false }, [0, 2]);
    s.flows.push(...grid({ rows: 1, cols: 1, demand: 0.1, turnRoutes: false, startTime: 30 }, [1, 3]).flows);
    const sim = new Simulation(s);
    const ns = straightLanes(sim, 2);
    const range = 100;
    let kappa = 0;
    let predicted = -1;
    let switched = -1;
    // platoonSize 0 disables the platoon rule, so the threshold alone decides
    const c = sotl({ threshold, range, platoonSize: 0, maxGreen: 1e9 });
    await drive(sim, c, 300, { minGreen: 5, yellowTime: 5 }, (k) => {
      if (switched < 0 && sim.phase(sim.net.signalised[0]) !== 1) switched = k;
    });
    // replay the same run to accumulate kappa the way Gershenson defines it
    const sim2 = new Simulation(s);
    for (let k = 0; k < 300 && predicted < 0; k++) {
      kappa += near(sim2, ns, range);
      if (kappa >= threshold && k >= 5) predicted = k;
      sim2.setPhase(sim2.net.signalised[0], 1);
      sim2.step();
    }
    return { switched, predicted };
  };
  const low = await switchAt(40);
  const high = await switchAt(120);
  assert.ok(low.predicted > 0 && high.predicted > low.predicted);
  assert.equal(low.switched, low.predicted, 'switches the step kappa reaches 40');
  assert.equal(high.switched, high.predicted, 'switches the step kappa reaches 120');
});

test('sotl: an empty green yields at once to a red approach with vehicles in range', async () => {
  const sim = new Simulation(grid({ rows: 1, cols: 1, demand: 0.1, turnRoutes: false }, [1, 3]));
  const ns = straightLanes(sim, 2);
  let seen = -1;
  const history: number[] = [];
  await drive(sim, sotl(), 120, { minGreen: 5, yellowTime: 5 }, (k) => {
    if (seen < 0 && near(sim, ns, 100) > 0) seen = k;
    history.push(sim.phase(sim.net.signalised[0]));
  });
  assert.ok(seen > 5);
  assert.equal(runs(history)[0].length, seen, 'phase 1 ends when the first north-south vehicle comes within range');
});

test('webster: measured flow ratios match the demand; the cycle grows with demand within its bounds', async () => {
  const plans = [];
  // demands the initial 80 s plan can store and serve over the warm-up, so arrivals are the demand
  for (const demand of [0.02, 0.06, 0.1, 0.15]) {
    const sim = new Simulation(grid({ rows: 1, cols: 1, demand, turnRoutes: false }));
    const w = webster({ warmup: 300 });
    await drive(sim, w, 302);
    const p = w.plans()[0];
    // straight routes only: every through lane receives `demand` veh/s; saturation 0.5 veh/s
    assert.ok(Math.abs(p.flowRatios[0] - demand / 0.5) < 0.1 * (demand / 0.5) + 0.01, `y = ${p.flowRatios[0]} for demand ${demand}`);
    assert.ok(p.flowRatios[2] === 0 && p.flowRatios[3] === 0, 'no left-turn flow');
    plans.push(p);
  }
  for (let k = 1; k < plans.length; k++) assert.ok(plans[k].cycle >= plans[k - 1].cycle, 'cycle non-decreasing in demand');
  assert.ok(plans[plans.length - 1].cycle > plans[0].cycle + 20, 'and grows');
  for (const p of plans) {
    assert.ok(p.cycle >= 40 && p.cycle <= 180, `cycle ${p.cycle} within [40, 180]`);
    const Y = p.flowRatios.reduce((a, b) => a + b, 0);
    const c0 = Math.min(180, Math.max(40, (1.5 * 20 + 5) / (1 - Math.min(Y, 0.9))));
    assert.ok(p.cycle >= c0 - 1e-9, 'at least the clamped Webster cycle');
    assert.ok(Math.abs(p.greens.reduce((a, b) => a + b, 0) + 20 - p.cycle) < 1e-9, 'greens plus yellows fill the cycle');
    assert.ok(p.greens.every((g) => g >= 5));
    // the two through phases above minGreen share green in proportion to their flow ratios
    if (p.greens[0] > 5 && p.greens[1] > 5) assert.ok(Math.abs(p.greens[0] / p.greens[1] - p.flowRatios[0] / p.flowRatios[1]) < 1e-9);
  }
});

test('webster and green-wave read flows from the detectors (env.observed: counts, the growth of the vehicles reported, the queue of a full lane), not from the twin\'s vehicles', async () => {
  // a twin with no vehicles at all, and detectors reporting every 5 s: 0.2 veh/s crossing each incoming lane's stop line, its queue growing by 0.1 veh/s
  const scenario = { ...grid({ rows: 1, cols: 1 }), flows: [] };
  const epochMs = 1_767_225_600_000;
  const run = async (c: Controller) => {
    const sim = new Simulation(scenario);
    const n = sim.net.nLanes;
    const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(sim.net.interIds.length).fill(-1) };
    const lanes = sim.net.incomingLanes(sim.net.signalised[0]);
    const report = (k: number) => {
      if (k % 5 !== 0) return;
      for (const l of lanes) {
        observed.counted[l] = 0.2 * k;
        observed.vehicles[l] = observed.queue[l] = Math.round(0.1 * k);
        observed.reportedAt[l] = epochMs + k * 1000;
      }
    };
    report(0);
    await drive(sim, c, 302, { observed: observed satisfies Observed }, (k) => report(k + 1));
    assert.equal(sim.runningCount, 0);
  };
  const w = webster({ warmup: 300 });
  await run(w);
  // every phase serves some of those lanes: y = (0.2 + 0.1 + 30 standing at the end / 300 s) / 0.5, the 30 filling
  // the 240 m lane (full from 26): a spill-back whose queue is demand still to serve
  for (const y of w.plans()[0].flowRatios) assert.ok(Math.abs(y - 0.8) < 1e-9, `y = ${y}`);
  const gw = greenWave({ warmup: 300 });
  await run(gw);
  // Y over 0.9 asks for the longest cycle (180 s; an empty twin would give the shortest, 40 s), but at 0.4 veh/s a lane
  // red for 3/4 of it (each phase y/Y = 1/4) would hold more than it stores: the cycle is the one whose red it stores
  const full = fullThresholds(new Simulation(scenario).net);
  const sim = new Simulation(scenario);
  const store = Math.min(...intersectionPhases(sim).flatMap((ix) => [...new Set(ix.greens.flatMap((p) => ix.movements[p].flatMap((m) => m.inLanes)))]).map((l) => full[l] / (0.4 * 0.75)));
  assert.ok(store < 180);
  assert.ok(Math.abs(gw.plans()[0].cycle - store) < 1e-9, `cycle ${gw.plans()[0].cycle}, storage bound ${store}`);
});

test('perfect observations count every stop-line crossing of the street (ground truth for the count-based controllers)', async () => {
  const sim = new Simulation(grid({ rows: 2, cols: 2, demand: 0.2 }));
  const observed = perfectObservations(sim);
  await drive(sim, webster(), 300);
  let total = 0;
  for (let l = 0; l < sim.net.nLanes; l++) {
    assert.equal(observed.counted[l], sim.laneCrossings(l), `lane ${sim.net.laneId(l)}`);
    total += observed.counted[l];
  }
  assert.ok(total > 100, `${total} crossings`);
  assert.equal(observed.reportedAt[0], sim.time * 1000);
});

test('webster: an over-saturated intersection gets the maximum cycle, and the plan is what the signal shows', async () => {
  const sim = new Simulation(grid({ rows: 1, cols: 1, demand: 1 }));
  const w = webster({ warmup: 200, maxCycle: 150, period: 900 });
  const history: number[] = [];
  await drive(sim, w, 700, {}, () => history.push(sim.phase(sim.net.signalised[0])));
  const p = w.plans()[0];
  assert.ok(Math.abs(p.cycle - 150) < 1e-9, `cycle ${p.cycle}`);
  // after the first full cycle under the new plan, greens last their planned seconds (rounded up to steps)
  const after = runs(history).filter((r) => r.start > 200 + p.cycle && r.phase !== 0).slice(0, -1);
  assert.ok(after.length >= 3);
  for (const r of after) assert.equal(r.length, Math.ceil(p.greens[r.phase - 1] - 1e-9), `phase ${r.phase}`);
});

test('green-wave: arterials are a grid rows (the longer lines), one direction each', () => {
  const sim = new Simulation(generateGrid({ rows: 2, cols: 3 }));
  const all = findArterials(sim.net, sim.net.signalised);
  // each row both ways (3 intersections) and each column both ways (2)
  assert.equal(all.length, 2 * 2 + 3 * 2);
  const gw = greenWave();
  new SignalSupervisor(sim, gw);
  const rows = gw.arterials().map((a) => a.intersections.map((i) => sim.net.interIds[i]));
  assert.equal(rows.length, 2);
  for (const r of rows) {
    assert.equal(r.length, 3);
    assert.equal(new Set(r.map((id) => id.split('_')[2])).size, 1, `${r.join(' ')} lies on one row`);
  }
});

test('green-wave: offsets along a row equal distance / speed modulo the cycle, and the signals keep them', async () => {
  const cycle = 60;
  const sim = new Simulation(generateGrid({ rows: 1, cols: 4, demand: 0.05 }));
  const gw = greenWave({ cycle });
  const history: number[][] = [];
  const sup = await drive(sim, gw, 600, {}, () => history.push([...sim.net.signalised].map((i) => sim.phase(i))));
  assert.equal(sup.faults.length, 0);
  const [art] = gw.arterials();
  assert.equal(art.intersections.length, 4);
  // stop line to stop line is the 300 m block (the curve through the junction adds ~0.1 m) at 0.8 x 16.67 m/s
  const travel = 300 / (16.67 * 0.8);
  const plans = gw.plans();
  const slotOf = (i: number) => [...sim.net.signalised].indexOf(i);
  art.intersections.forEach((i, k) => {
    const p = plans[slotOf(i)];
    assert.equal(p.cycle, cycle);
    assert.ok(Math.abs(p.offset - ((k * travel) % cycle)) < 0.05, `offset ${p.offset} at position ${k}`);
    assert.equal(p.phases[0], 1, 'the east-west through phase leads');
    assert.ok(Math.abs(p.greens.reduce((a, b) => a + b, 0) + 4 * 5 - cycle) < 1e-9, 'greens and yellows fill the cycle');
  });
  // the offsets hold: in every cycle, the through phase shows green from its offset (within the step), whether it
  // turned green there or returned early from phases that gapped out; it may gap out itself only `gap` (3 s) after it
  art.intersections.forEach((i, k) => {
    const o = plans[slotOf(i)].offset;
    let checked = 0;
    for (let c = 2; (c + 1) * cycle + o + 4 < history.length; c++) {
      for (let tau = 1; tau < 3; tau++) {
        const at = Math.ceil(c * cycle + o + tau);
        assert.equal(history[at][slotOf(i)], 1, `intersection ${k}: through phase green at ${at} s (offset ${o.toFixed(1)} + ${tau} s)`);
      }
      checked++;
    }
    assert.ok(checked >= 5);
  });
});

test('green-wave: a phase nobody calls is skipped and its time goes to the coordinated phase; a called one ends at a gap, before its force-off', async () => {
  // a 1 x 3 arterial, east-west through traffic only: the cross street and the turns never call
  const sim = new Simulation(grid({ rows: 1, cols: 3, demand: 0.1, turnRoutes: false }, [0, 2]));
  const gw = greenWave({ warmup: 300 });
  const history: number[] = [];
  const sup = await drive(sim, gw, 900, {}, () => history.push(sim.phase(sim.net.signalised[1])));
  assert.equal(sup.faults.length, 0);
  const p = gw.plans()[1];
  assert.equal(p.phases[0], 1);
  assert.ok(p.greens[0] < p.cycle - 20, `the plan gives the through phase ${p.greens[0].toFixed(1)} s of ${p.cycle.toFixed(1)} s`);
  // after the first cycles, the through phase is green the whole time: no yellow, no other phase
  const after = history.slice(200);
  assert.ok(after.every((ph) => ph === 1), `phases shown: ${[...new Set(after)].join(', ')}`);

  // now light north-south traffic too: the cross street is served when a vehicle stands there, and only as long as
  // vehicles cross (3 s gap), far shorter than the split its force-off allows
  const light = grid({ rows: 1, cols: 3, demand: 0.1, turnRoutes: false });
  // the cross street: one vehicle every 2 minutes each way
  for (const f of light.flows) if (/_[13]$/.test(f.route[0])) f.interval = 120;
  const sim2 = new Simulation(light);
  const gw2 = greenWave({ warmup: 300 });
  const h2: number[] = [];
  const sup2 = await drive(sim2, gw2, 1500, {}, () => h2.push(sim2.phase(sim2.net.signalised[1])));
  assert.equal(sup2.faults.length, 0);
  const plan = gw2.plans()[1];
  const ns = runs(h2).filter((r) => r.phase === 2 && r.start > 600).slice(0, -1);
  assert.ok(ns.length >= 5, `${ns.length} north-south greens`);
  const cycles = (h2.length - 600) / plan.cycle;
  assert.ok(ns.length < cycles - 2, `${ns.length} north-south greens in ${cycles.toFixed(1)} cycles: skipped when nobody stands there`);
  // its force-off would allow more: its window reaches from the through phase's yield point to its planned end
  const window = plan.greens[0] + plan.greens[1] + 5;
  for (const r of ns) assert.ok(r.length <= 5 + 3 + 2 && r.length < window, `a north-south green of ${r.length} s: minimum green, then the 3 s gap`);
  const ew = runs(h2).filter((r) => r.phase === 1 && r.start > 600).slice(0, -1);
  const ewMean = ew.reduce((a, r) => a + r.length, 0) / ew.length;
  assert.ok(ewMean > plan.greens[0], `east-west greens last ${ewMean.toFixed(1)} s on average, more than their split ${plan.greens[0].toFixed(1)} s`);
});

test('green-wave: once flows are measured, the wave goes to the streets carrying more vehicles, not the longer ones', async () => {
  // 4 rows x 2 columns: the columns are the longer lines, but only the rows carry traffic
  const scenario = grid({ rows: 4, cols: 2, demand: 0.1, turnRoutes: false }, [0, 2]);
  const sim = new Simulation(scenario);
  const gw = greenWave({ warmup: 300 });
  const name = (a: { intersections: number[] }) => a.intersections.map((i) => sim.net.interIds[i]);
  const family = () => gw.arterials().map((a) => new Set(name(a).map((id) => id.split('_')[2])).size === 1 ? 'row' : 'column');
  const sup = await drive(sim, gw, 302, {}, (k) => {
    if (k === 0) assert.deepEqual(family(), ['column', 'column'], 'before any count: the longer lines');
  });
  assert.equal(sup.faults.length, 0);
  assert.deepEqual(family(), ['row', 'row', 'row', 'row'], 'measured: the rows');
  for (const a of gw.arterials()) {
    // and the progression runs in the busier direction: here both carry the same, so either
    assert.equal(a.intersections.length, 2);
  }
});

test('green-wave: traffic along the progression direction travels faster than with simultaneous greens', async () => {
  const att = async (speedFactor: number) => {
    const s = generateGrid({ rows: 1, cols: 5, demand: 0.08, turnRoutes: false });
    const sim = new Simulation(s);
    const gw = greenWave({ cycle: 60, speedFactor });
    new SignalSupervisor(sim, gw);
    // keep the flows travelling in the arterial's progression direction, and the cross streets (their calls make the signals cycle)
    const dir = sim.net.roadIds[gw.arterials()[0].roads[1]].slice(-1);
    s.flows = s.flows.filter((f) => (f.route.length > 3 && f.route[0].endsWith(`_${dir}`)) || /_[13]$/.test(f.route[0]));
    const run = new Simulation(s);
    await drive(run, greenWave({ cycle: 60, speedFactor }), 1200);
    return run.metrics().averageTravelTime;
  };
  const wave = await att(0.8);
  const simultaneous = await att(1000); // offsets ~ 0
  // actuation alone lets much of a platoon through (the through phase returns early and rests green), so the wave's
  // gain is smaller than under fixed time: 66.4 s against 69.7 s when written
  assert.ok(wave < 0.98 * simultaneous, `green wave ${wave.toFixed(1)} s vs simultaneous ${simultaneous.toFixed(1)} s`);
});

test('the four controllers run a mixed grid without errors or gridlock and answer quickly', async () => {
  for (const make of [() => webster({ warmup: 120, period: 120 }), () => actuated(), () => sotl(), () => greenWave({ warmup: 120, period: 120 })]) {
    const sim = new Simulation(generateGrid({ rows: 3, cols: 2, demand: 0.15 }));
    const c = make();
    const t0 = performance.now();
    const sup = await drive(sim, c, 600, { budgetMs: 200 });
    const ms = performance.now() - t0;
    // a green the starvation guard ended (this grid is oversaturated) is the supervisor at work, not the controller failing
    assert.deepEqual(sup.faults.filter((f) => !isAdvisory(f)), [], c.name);
    assert.ok(ms < 2000, `${c.name}: 600 steps in ${ms.toFixed(0)} ms`);
    assert.ok(sim.metrics().finishedVehicles > 0);
  }
});

test('bad options are rejected with the option named', () => {
  assert.throws(() => webster({ minCycle: 100, maxCycle: 50 }), /webster: option maxCycle/);
  assert.throws(() => actuated({ gap: -1 }), /actuated: option gap/);
  assert.throws(() => sotl({ threshold: Number.NaN }), /sotl: option threshold/);
  assert.throws(() => greenWave({ speedFactor: 0 }), /green-wave: option speedFactor/);
  assert.throws(() => greenWave({ congestionShare: 0 }), /green-wave: option congestionShare/);
});

test('green-wave: once the internal lanes hold its congestion share, every intersection runs the plan in step (the same green at the same second), the inside as well as the perimeter', async () => {
  // 4 x 4 at 0.12 veh/s a route: past 10% of the internal lanes' capacity by about 350 s (test/spill-ring.test.ts)
  const sim = new Simulation(grid({ rows: 4, cols: 4, demand: 0.12 }), { seed: 0 });
  const gw = greenWave();
  let inStep = 0;
  await drive(sim, gw, 900, {}, (_k, sup) => {
    assert.deepEqual(sup.faults.filter((f) => !isAdvisory(f)), []);
    const since = gw.congested()[0]?.time;
    // the greens shown when it began keep their minimum and a yellow first
    if (!gw.congestedAt(sim.time) || !(sim.time >= since + 30)) return;
    const shown = new Set(sup.env.intersections.map((ix) => sim.phase(ix.intersection)));
    assert.equal(shown.size, 1, `at ${sim.time} s the intersections show phases ${[...shown].join(', ')}`);
    inStep++;
  });
  assert.equal(gw.congested().length, 1);
  assert.ok(inStep > 300, `${inStep} steps in step`);
  assert.equal(gw.fixedPlanAt!(0), true, 'a fixed plan while it runs: the starvation guard leaves its greens');
});

test('green-wave: on an oversaturated 1 x 8 arterial the coordinated window goes to the through phase when it spills back too, and nothing locks', async () => {
  // 0.12 veh/s a route: every approach of the end junctions spills; the spill guard used to hand the coordinated window to
  // the cross phases in turn, showing intersection_8_1's through phase 199 s of the second half hour, until the queue
  // stood back through three junctions (gridlock at intersection_6_1, 3,335 s)
  const sim = new Simulation(generateGrid({ rows: 1, cols: 8, demand: 0.12 }), { seed: 0 });
  const gw = greenWave();
  const end = sim.net.interIds.indexOf('intersection_8_1');
  let through = 0;
  const sup = await drive(sim, gw, 3600, {}, () => {
    const p = gw.plans().find((q) => q.intersection === 'intersection_8_1')!;
    if (sim.time >= 1800 && sim.phase(end) === p.phases[0]) through++;
  });
  assert.deepEqual(sup.faults.filter((f) => !isAdvisory(f)), []);
  assert.ok(through >= 0.15 * 1800, `the through phase shown ${through} s of 1,800`);
});

test('where an intersection\'s detectors do not see its approaches (loops), a controller that needs them is not asked there: max-pressure decides on the stop-line queues until they do', async () => {
  const scenario = grid({ rows: 1, cols: 2, demand: 0.3 });
  const sim = new Simulation(scenario);
  const [a, b] = [...sim.net.signalised];
  // intersection b's approaches watched by stop-line loops only; a's by video seeing them whole
  const seen = Float64Array.from(sim.net.length.subarray(0, sim.net.nLanes));
  for (const l of sim.net.incomingLanes(b)) seen[l] = 0;
  /** exact observations of `s`, but seeing only `seen` of each lane */
  const seeing = (s: Simulation): Observed => {
    const exact = perfectObservations(s);
    return {
      get vehicles() { return exact.vehicles; }, get queue() { return exact.queue; }, get reportedAt() { return exact.reportedAt; },
      get counted() { return exact.counted; }, get confirmedPhase() { return exact.confirmedPhase; }, seen,
    };
  };
  const asked = new Set<number>();
  const counting = (): Controller => {
    const inner = sotl();
    return { name: 'sotl', needs: 'approach', init: (env) => inner.init?.(env), beginStep: (env) => inner.beginStep?.(env), decide: (ix, s, env) => (asked.add(ix.intersection), inner.decide(ix, s, env)) };
  };
  const city = new ControllerAssignment({ sotl: counting, webster: () => webster({ warmup: 60 }) }, 'sotl');
  const sup = await drive(sim, city, 120, { observed: seeing(sim) });
  assert.deepEqual([...city.blind], [b]);
  assert.equal(city.nameAt(b), 'max-pressure');
  assert.ok(asked.has(a) && !asked.has(b), `asked at ${[...asked]}`);
  assert.ok(sup.faults.length === 0 && !sup.fallen.has(b), 'degraded, not faulted');
  // its video comes back: the controller is asked there again from the next step
  seen.set(sim.net.length.subarray(0, sim.net.nLanes));
  asked.clear();
  for (let k = 0; k < 30; k++) {
    const p = sup.tick();
    if (p) await p;
    sim.step();
  }
  assert.equal(city.blind.size, 0);
  assert.ok(asked.has(b));
  // a controller that needs only the stop line is never degraded
  for (const l of sim.net.incomingLanes(b)) seen[l] = 0;
  city.assign([a, b], 'webster');
  const p = sup.tick();
  if (p) await p;
  assert.equal(city.blind.size, 0);
});
