/**
 * The perimeter gate (core/gate.ts) in the supervisor, on a hand-made case: a 4 x 4 grid with no traffic in its twin
 * and detectors reporting what the test says. Its four centre intersections have no road to or from the boundary; the
 * twelve round them do. With the internal lanes' vehicles below the critical accumulation nothing happens; past it,
 * the twelve go to the plan in step (the centre keeps its controller) until GATE_HOLD_SECONDS after the last check
 * that found it so. Where the perimeter is nearly all the network (3 x 3, an arterial) the gate stays off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import {
  GATE_CHECK_SECONDS, GATE_CRITICAL_SHARE, GATE_HOLD_SECONDS, GATE_REGION_RISE, GATE_REGION_SHARE, GATE_REGION_SPAN, JAM_SPACING, gateRegionCount, isAdvisory,
  SignalSupervisor, type Controller, type Observed,
} from '@citybrain/control';

function synthetic() {
  const sim = new Simulation({ ...generateGrid({ rows: 4, cols: 4 }), flows: [] });
  const net = sim.net;
  const n = net.nLanes;
  const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(net.interIds.length).fill(-1) };
  // the controller keeps its first green for ever: whatever else is shown is the gate's plan
  const hold: Controller = { name: 'hold', decide: (ix) => ix.greens[0] };
  const sup = new SignalSupervisor(sim, hold, { observed: observed satisfies Observed, gridlock: false, starvation: false, ring: false });
  const real = (i: number) => i >= 0 && !net.interVirtual[i];
  const internal: number[] = [];
  let capacity = 0;
  for (let l = 0; l < n; l++) {
    const r = net.laneRoad[l];
    if (real(net.roadStartInter[r]) && real(net.roadEndInter[r])) {
      internal.push(l);
      capacity += Math.floor(net.length[l] / JAM_SPACING);
    }
  }
  /** spreads `total` vehicles over the internal lanes */
  const load = (total: number) => {
    observed.vehicles.fill(0);
    for (let k = 0; k < total; k++) observed.vehicles[internal[k % internal.length]]++;
  };
  const run = (seconds: number) => {
    for (let k = 0; k < seconds; k++) {
      observed.reportedAt.fill(1_767_225_600_000 + sim.time * 1000);
      sup.tick();
      sim.step();
    }
  };
  const held = () => sup.env.intersections.filter((ix) => sup.gate!.holds(ix.intersection, sim.time)).map((ix) => ix.id).sort();
  return { sim, sup, capacity, load, run, held };
}

test(`the internal lanes past ${GATE_CRITICAL_SHARE * 100}% of their capacity put the perimeter on the plan in step, the centre keeps its controller`, () => {
  const { sim, sup, capacity, load, run, held } = synthetic();
  const critical = Math.ceil(GATE_CRITICAL_SHARE * capacity);
  assert.ok(Math.abs(sup.gate!.critical - GATE_CRITICAL_SHARE * capacity) < 1e-9, `critical ${sup.gate!.critical} of ${capacity}`);
  load(critical - 1);
  run(10 * GATE_CHECK_SECONDS);
  assert.deepEqual(held(), [], 'below the critical accumulation: no gate');
  assert.equal(sup.gate!.vehicles, critical - 1, 'the accumulation as the detectors report it');
  load(critical);
  run(2 * GATE_CHECK_SECONDS);
  assert.equal(sup.gate!.handOvers.length, 1);
  const CENTRE = new Set(['intersection_2_2', 'intersection_2_3', 'intersection_3_2', 'intersection_3_3']);
  const perimeter = sup.env.intersections.filter((ix) => !CENTRE.has(ix.id)).map((ix) => ix.id).sort();
  assert.equal(perimeter.length, 12);
  assert.deepEqual(held(), perimeter, 'the twelve on the boundary, not the centre');
  const faults = sup.faults.filter((f) => f.kind === 'gate');
  assert.deepEqual(faults.map((f) => f.intersection).sort(), perimeter, 'reported once per perimeter intersection');
  for (const f of faults) {
    assert.ok(isAdvisory(f));
    assert.equal(f.controller, 'hold');
    assert.match(f.error, /critical accumulation/);
  }
  assert.equal(sup.fallen.size, 0, 'not fallen back: the controller has them again when the load falls');
  // the perimeter on the common clock, all in step, not stuck on the controller's first green; the centre on it
  const centre = sup.env.intersections.filter((ix) => CENTRE.has(ix.id));
  assert.equal(centre.length, 4);
  const shown = new Set<number>();
  for (let k = 0; k < 120; k++) {
    run(1);
    const phases = sup.env.intersections.filter((ix) => !CENTRE.has(ix.id)).map((ix) => sim.phase(ix.intersection));
    assert.equal(new Set(phases).size, 1, `in step at ${sim.time} s: ${phases.join(', ')}`);
    shown.add(phases[0]);
    for (const ix of centre) assert.equal(sim.phase(ix.intersection), ix.greens[0], 'the centre keeps its controller');
  }
  assert.ok(shown.size > 2, `the plan cycles: ${[...shown].join(', ')}`);
  // renewed while the load stands, released GATE_HOLD_SECONDS after it fell
  run(GATE_HOLD_SECONDS);
  assert.deepEqual(held(), perimeter, 'renewed while the load stands');
  const fell = sim.time;
  load(critical - 1);
  run(GATE_HOLD_SECONDS - 2 * GATE_CHECK_SECONDS);
  assert.deepEqual(held(), perimeter, `held ${sim.time - fell} s after the load fell`);
  run(3 * GATE_CHECK_SECONDS);
  assert.deepEqual(held(), [], 'released');
  assert.equal(sup.gate!.handOvers.length, 1, 'one hand-over');
});

test('no interior to protect, no gate: an arterial and a 3 x 3 grid (8 of its 9 intersections on the perimeter)', () => {
  for (const [rows, cols] of [[1, 4], [2, 5], [3, 3]]) {
    const sim = new Simulation({ ...generateGrid({ rows, cols }), flows: [] });
    const n = sim.net.nLanes;
    // every lane reported full: past any critical accumulation
    const full = new Int32Array(n).fill(1000);
    const observed = { counted: new Float64Array(n), vehicles: full, queue: full, reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(sim.net.interIds.length).fill(-1) };
    const sup = new SignalSupervisor(sim, { name: 'hold', decide: (ix) => ix.greens[0] }, { observed, gridlock: false, starvation: false, ring: false });
    for (let k = 0; k < 5 * GATE_CHECK_SECONDS; k++) {
      sup.tick();
      sim.step();
    }
    assert.equal(sup.gate!.handOvers.length, 0, `${rows} x ${cols}`);
    assert.ok(sup.env.intersections.every((ix) => !sup.gate!.holds(ix.intersection, sim.time)));
  }
});

test('the perimeter gate can be turned off, and refuses nonsense options', () => {
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2 }));
  const hold: Controller = { name: 'hold', decide: (ix) => ix.greens[0] };
  assert.equal(new SignalSupervisor(sim, hold, { gate: false }).gate, undefined);
  assert.throws(() => new SignalSupervisor(sim, hold, { gate: { criticalShare: 0 } }), RangeError);
  assert.throws(() => new SignalSupervisor(sim, hold, { gate: { holdSeconds: -1 } }), RangeError);
});

/**
 * A region filling (an interior intersection and its neighbours) fires the gate while the network as a whole stands
 * below its critical accumulation, but only a region large enough that the rise is more than one movement's queue:
 * on a 4 x 4 grid of a lane per movement (54 lanes a region) it does; on the same grid with through lanes only (18 a
 * region, as small as the Osnabrück import's, where one green's queue swung a region 15-43%) there is no region and
 * the same load does nothing. A region filling puts the interior on the plan too (core/gate.ts, "The whole network").
 */
test(`a region past ${GATE_REGION_SHARE * 100}% and rising fires the gate; a region too small for its share to mean anything does not`, () => {
  for (const throughOnly of [false, true]) {
    const grid = generateGrid({ rows: 4, cols: 4, ...(throughOnly ? { lanesPerMovement: { left: 0, straight: 1, right: 0 }, turnRoutes: false } : {}) });
    const sim = new Simulation({ ...grid, flows: [] });
    const net = sim.net;
    const n = net.nLanes;
    const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(net.interIds.length).fill(-1) };
    const sup = new SignalSupervisor(sim, { name: 'hold', decide: (ix) => ix.greens[0] }, { observed, gridlock: false, starvation: false, ring: false });
    const real = (i: number) => i >= 0 && !net.interVirtual[i];
    const boundary = new Set<number>();
    for (let r = 0; r < net.roadIds.length; r++) {
      const a = net.roadStartInter[r], b = net.roadEndInter[r];
      if (!real(a) && real(b)) boundary.add(b);
      if (real(a) && !real(b)) boundary.add(a);
    }
    const centre = net.interIds.findIndex((_, i) => real(i) && !boundary.has(i));
    const members = new Set([centre]);
    for (let r = 0; r < net.roadIds.length; r++) if (net.roadStartInter[r] === centre && real(net.roadEndInter[r])) members.add(net.roadEndInter[r]);
    const lanes: number[] = [];
    for (let l = 0; l < n; l++) {
      const r = net.laneRoad[l];
      if (real(net.roadStartInter[r]) && members.has(net.roadEndInter[r])) lanes.push(l);
    }
    assert.equal(lanes.length, throughOnly ? 18 : 54);
    const run = (seconds: number) => {
      for (let k = 0; k < seconds; k++) {
        observed.reportedAt.fill(1_767_225_600_000 + sim.time * 1000);
        sup.tick();
        sim.step();
      }
    };
    run(GATE_REGION_SPAN);
    // the region's lanes at twice the region share, far more than the rise over the span
    const share = 2 * GATE_REGION_SHARE;
    assert.ok(share >= GATE_REGION_SHARE + GATE_REGION_RISE);
    for (const l of lanes) observed.vehicles[l] = Math.floor(share * Math.floor(net.length[l] / JAM_SPACING));
    run(GATE_REGION_SPAN);
    assert.ok(sup.gate!.vehicles < sup.gate!.critical, `the network below critical: ${sup.gate!.vehicles} of ${sup.gate!.critical}`);
    if (throughOnly) {
      assert.equal(sup.gate!.regions, 0, 'no region large enough');
      assert.equal(gateRegionCount(sup.env), 0, 'counted without a guard (what green-wave asks), the same');
      assert.equal(sup.gate!.handOvers.length, 0, 'the small region does not fire the gate');
    } else {
      assert.equal(sup.gate!.regions, 4, 'each of the four interior intersections makes a region');
      assert.equal(gateRegionCount(sup.env), 4, 'counted without a guard (what green-wave asks), the same');
      assert.equal(sup.gate!.handOvers.length, 1, 'the filling region fires the gate');
      assert.match(sup.gate!.handOvers[0].message, /region/);
      assert.ok(sup.gate!.handOvers[0].time <= 2 * GATE_REGION_SPAN, `at ${sup.gate!.handOvers[0].time} s`);
      // a filling region puts the interior on the plan with the perimeter: every intersection in step
      const held = sup.env.intersections.filter((ix) => sup.gate!.holds(ix.intersection, sim.time));
      assert.equal(held.length, 16, 'the twelve on the perimeter and the four inside');
      assert.equal(sup.gate!.handOvers[0].intersections.length, 16, 'each reported');
      assert.ok(sup.gate!.holds(centre, sim.time), 'the centre on the plan');
    }
  }
});
