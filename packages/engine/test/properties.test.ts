/**
 * Property tests: generated grids (1..3 x 1..3, random demand, block length,
 * lanes and vehicle) under random signal control (the roadnet's plan,
 * fixed-time, max-pressure), checking invariants after every step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateGrid, Simulation, type GridOptions, type VehicleJson } from '@citybrain/engine';
import { fixedTime, maxPressure, SignalSupervisor } from '@citybrain/control';
import { stateDifference, vehicleRows, vehiclesByDrivable } from './twin-helpers.js';

type ControllerName = 'plan' | 'fixed' | 'max-pressure';

interface Case {
  grid: GridOptions;
  vehicle: VehicleJson;
  controller: ControllerName;
  seed: number;
  interval: number;
  steps: number;
}

/**
 * Vehicles either CityFlow-like (maxNegAcc = usualNegAcc, as in every CityFlow
 * flow file and the grid generator) or able to brake harder than they usually
 * do (maxNegAcc > usualNegAcc), which weakens the spacing guarantee (see below).
 */
const vehicleArb = fc
  .record({
    length: fc.double({ min: 3, max: 8, noNaN: true }),
    maxPosAcc: fc.double({ min: 1, max: 3, noNaN: true }),
    usualPosAcc: fc.double({ min: 1, max: 3, noNaN: true }),
    usualNegAcc: fc.double({ min: 2, max: 6, noNaN: true }),
    extraNegAcc: fc.oneof(fc.constant(0), fc.double({ min: 0.5, max: 4, noNaN: true })),
    minGap: fc.double({ min: 0, max: 4, noNaN: true }),
    maxSpeed: fc.double({ min: 8, max: 25, noNaN: true }),
    headwayTime: fc.double({ min: 0, max: 3, noNaN: true }),
  })
  .map(({ extraNegAcc, ...v }): VehicleJson => ({ ...v, width: 2, maxNegAcc: v.usualNegAcc + extraNegAcc }));

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    rows: fc.integer({ min: 1, max: 3 }),
    cols: fc.integer({ min: 1, max: 3 }),
    demand: fc.double({ min: 0.05, max: 1, noNaN: true }),
    blockLength: fc.integer({ min: 80, max: 300 }),
    straight: fc.integer({ min: 1, max: 3 }),
    vehicle: vehicleArb,
    controller: fc.constantFrom<ControllerName>('plan', 'fixed', 'max-pressure'),
    seed: fc.nat(),
    interval: fc.constantFrom(1, 1, 0.5),
  })
  .map((r) => ({
    grid: {
      rows: r.rows, cols: r.cols, demand: r.demand, blockLength: r.blockLength, vehicle: r.vehicle,
      // One left and one right lane: with two, turning vehicles from parallel lanes merge into
      // the same exit lane, which the spacing invariant below does not cover. Straight lanes
      // never merge in generated grids (a straight route keeps its lane index).
      lanesPerMovement: { left: 1, straight: r.straight, right: 1 },
    },
    vehicle: r.vehicle,
    controller: r.controller,
    seed: r.seed,
    interval: r.interval,
    steps: Math.round(180 / r.interval),
  }));

function start(c: Case): { sim: Simulation; tick: () => void } {
  const sim = new Simulation(generateGrid(c.grid), { seed: c.seed, interval: c.interval });
  if (c.controller === 'plan') return { sim, tick: () => {} };
  const sup = new SignalSupervisor(sim, c.controller === 'fixed' ? fixedTime() : maxPressure());
  return { sim, tick: () => void sup.tick() };
}

/** Runs per property; raise it for a deeper local search, e.g. PROPERTY_RUNS=500. */
const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 40);

test('after every step: vehicle accounting, speed bounds, braking bound and spacing hold', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const { sim, tick } = start(c);
      const v = c.vehicle;
      const cityflowLike = v.maxNegAcc === v.usualNegAcc;
      const lastSpeed = new Map<string, number>();
      for (let k = 0; k < c.steps; k++) {
        tick();
        sim.step();
        const m = sim.metrics();
        assert.equal(m.enteredVehicles, m.finishedVehicles + m.vehiclesInNetwork + m.waitingToEnter, `accounting at t=${m.time}`);
        assert.equal(m.vehiclesInNetwork, sim.runningCount);

        for (const [d, list] of vehiclesByDrivable(sim)) {
          for (let i = 0; i < list.length; i++) {
            const r = list[i];
            assert.ok(r.speed >= 0 && r.speed <= v.maxSpeed + 1e-9, `${r.id} speed ${r.speed}`);
            assert.ok(r.distance >= 0 && r.distance <= sim.net.length[d] + 1e-9, `${r.id} on its drivable`);
            const before = lastSpeed.get(r.id);
            if (before !== undefined) assert.ok(before - r.speed <= v.maxNegAcc * c.interval + 1e-9, `${r.id} braked ${before - r.speed}`);
            if (i === 0) continue;
            // Spacing to the vehicle ahead on the same lane or laneLink. CityFlow's car following
            // (Vehicle::getCarFollowSpeed) takes the least of three speeds: (1) no collision if the
            // leader brakes at its maxNegAcc, with target gap 0; (2) the same with both at usualNegAcc
            // and target gap minGap; (3) a headway term. No vehicle ever brakes harder than maxNegAcc
            // (the speed floor), and a vehicle only enters a lane with more than minGap of room. So
            // for CityFlow-like vehicles (maxNegAcc = usualNegAcc) (2)'s assumption is exact and, by
            // induction, every follower stays at least minGap behind, moving or queued. When
            // maxNegAcc > usualNegAcc a leader may brake harder than (2) assumes: only (1) holds, so
            // no overlap, but queued followers can end up inside minGap (observed: 0.5 m short).
            // Not covered: two parallel lanes of one approach whose vehicles merge into the same exit
            // lane (grids with 2+ left or right lanes: turning vehicles on both pick the lane their
            // next turn needs). The laneLinks meet only at their common end point, neither vehicle
            // sees the other as a leader, and CityFlow's Cross::canPass lets a vehicle go whenever it
            // is already within yieldDistance of the conflict point, so both go and overlap by up to
            // a car length. That is CityFlow's model, reproduced; the generator above avoids it.
            const gap = list[i - 1].distance - v.length - r.distance;
            const floor = cityflowLike ? v.minGap - 1e-6 : -1e-6;
            assert.ok(gap >= floor, `${r.id} is ${gap} m behind ${list[i - 1].id} (floor ${floor}) at t=${m.time}`);
          }
        }
        lastSpeed.clear();
        for (const r of vehicleRows(sim)) lastSpeed.set(r.id, r.speed);
      }
    }),
    { numRuns: NUM_RUNS },
  );
});

test('the same seed gives identical metrics and vehicle states', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const a = start(c);
      const b = start(c);
      for (let k = 0; k < c.steps; k++) {
        a.tick();
        a.sim.step();
        b.tick();
        b.sim.step();
        if (k % 20 === 0) assert.deepEqual(a.sim.metrics(), b.sim.metrics());
      }
      assert.deepEqual(a.sim.metrics(), b.sim.metrics());
      assert.deepEqual(vehicleRows(a.sim), vehicleRows(b.sim));
      assert.equal(stateDifference(a.sim.snapshot(), b.sim.snapshot()), null);
    }),
    { numRuns: Math.max(1, Math.round(NUM_RUNS / 3)) },
  );
});

test('different seeds choose different first lanes on multi-lane entries', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 3 }),
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 2 }),
      fc.nat(),
      fc.integer({ min: 1, max: 1000 }),
      (straight, rows, cols, seed, delta) => {
        // straight routes can start on any of the `straight` lanes: the seed picks one per vehicle
        const scenario = generateGrid({ rows, cols, demand: 0.5, turnRoutes: false, lanesPerMovement: { left: 1, straight, right: 1 } });
        const firstLanes = (s: number) => {
          const sim = new Simulation(scenario, { seed: s });
          const lanes = new Map<string, number>();
          for (let k = 0; k < 60; k++) {
            sim.step();
            for (const r of vehicleRows(sim)) if (!lanes.has(r.id)) lanes.set(r.id, r.drivable);
          }
          return lanes;
        };
        const a = firstLanes(seed);
        const b = firstLanes(seed + delta);
        // every vehicle starts on a straight lane of its first road, whatever the seed
        for (const lanes of [a, b]) {
          for (const lane of lanes.values()) {
            const idx = laneIndexInRoad(scenario, lane);
            assert.ok(idx >= 1 && idx <= straight, `lane index ${idx} serves straight traffic`);
          }
          // no seed is degenerate: every straight lane of every entry road gets used
          assert.equal(new Set(lanes.values()).size, 2 * (rows + cols) * straight);
        }
        const common = [...a.keys()].filter((id) => b.has(id));
        const differ = common.filter((id) => a.get(id) !== b.get(id)).length;
        // over a hundred vehicles each with >= 2 choices: an identical draw has odds below 1e-30
        assert.ok(common.length >= 100, `${common.length} vehicles entered under both seeds`);
        assert.ok(differ > 0, `seeds ${seed} and ${seed + delta} chose identical lanes for all ${common.length} vehicles`);
      },
    ),
    { numRuns: Math.max(1, Math.round(NUM_RUNS / 2)) },
  );
});

/** Index within its road of a lane given as a global lane id (lanes are numbered road by road). */
function laneIndexInRoad(scenario: ReturnType<typeof generateGrid>, lane: number): number {
  let first = 0;
  for (const r of scenario.roadnet.roads) {
    if (lane < first + r.lanes.length) return lane - first;
    first += r.lanes.length;
  }
  return -1;
}
