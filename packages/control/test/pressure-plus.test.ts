import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { bestPhase, LaneLoad, pressurePlus, SignalSupervisor, sotlParams, type Controller, type ControlEnv, type SignalStatus } from '@citybrain/control';

// One signalised intersection (intersection_1_1); roads named road_{x}_{y}_{dir}, dir 0 east 1 north 2 west 3 south.
const WEST_TO_EAST = ['road_0_1_0', 'road_1_1_0'];
const SOUTH_TO_NORTH = ['road_1_0_1', 'road_1_1_1'];
const PHASE_WE = 1; // WT+ET
const PHASE_NS = 2; // NT+ST

function emptyCrossing(): Simulation {
  return new Simulation({ roadnet: generateGrid({ rows: 1, cols: 1 }).roadnet, flows: [] });
}

/** Steps until `ok` holds (at most `max` steps); fails the test otherwise. */
function stepUntil(sim: Simulation, ok: () => boolean, max = 200): void {
  for (let k = 0; k < max && !ok(); k++) sim.step();
  assert.ok(ok(), `condition not reached within ${max} steps`);
}

/**
 * W-E green: one vehicle waits at the red on the south approach while a
 * platoon is driving towards the green from the west, nothing of it queued.
 */
function platoonAgainstQueue(withPlatoon: boolean): { sim: Simulation; env: ControlEnv; waiting: Int32Array } {
  const sim = emptyCrossing();
  const sup = new SignalSupervisor(sim, { name: 'hold', decide: (_ix, s) => s.green });
  assert.equal(sim.phase(sup.env.intersections[0].intersection), PHASE_WE);
  sim.addVehicle({ id: 'sn', route: SOUTH_TO_NORTH });
  sim.step(12);
  if (withPlatoon) {
    for (let k = 0; k < 3; k++) {
      sim.addVehicle({ id: `we${k}`, route: WEST_TO_EAST });
      sim.step(2);
    }
  }
  const waiting = new Int32Array(sim.net.nLanes);
  stepUntil(sim, () => sim.laneWaitingCounts(waiting).some((n) => n > 0) && sim.stepCount % 5 === 0);
  return { sim, env: sup.env, waiting };
}

test('pressure-plus keeps a green that a platoon is approaching, where max-pressure switches to a queue of one', () => {
  const { sim, env, waiting } = platoonAgainstQueue(true);
  const ix = env.intersections[0];
  const approaching = ix.movements[PHASE_WE].flatMap((m) => m.inLanes).reduce((n, l) => n + sim.laneApproachingCount(l, 160) - waiting[l], 0);
  assert.ok(approaching >= 2, `platoon moving towards the stop line (${approaching} vehicles)`);
  assert.equal(ix.movements[PHASE_WE].flatMap((m) => m.inLanes).reduce((n, l) => n + waiting[l], 0), 0, 'nothing queued on the green');

  // max-pressure sees only the queue
  assert.equal(bestPhase(ix, env, (l) => waiting[l]), PHASE_NS);
  const status: SignalStatus = { green: PHASE_WE, greenSince: 0, yellowLeft: 0 };
  const pp = pressurePlus();
  pp.init?.(env);
  assert.equal(pp.decide(ix, status, env), PHASE_WE);
});

test('pressure-plus switches to the queue once nothing is coming on the green', () => {
  const { env } = platoonAgainstQueue(false);
  const pp = pressurePlus();
  pp.init?.(env);
  assert.equal(pp.decide(env.intersections[0], { green: PHASE_WE, greenSince: 0, yellowLeft: 0 }, env), PHASE_NS);
});

test('LaneLoad counts moving vehicles within range of the stop line apart from queued ones', () => {
  const { sim, env } = platoonAgainstQueue(true);
  const load = new LaneLoad();
  load.init(env, 1000, 5);
  load.refresh(sim, false);
  const ix = env.intersections[0];
  const weLanes = ix.movements[PHASE_WE].flatMap((m) => m.inLanes);
  const nsLanes = ix.movements[PHASE_NS].flatMap((m) => m.inLanes);
  assert.equal(weLanes.reduce((n, l) => n + load.moving[l], 0), 3);
  assert.equal(weLanes.reduce((n, l) => n + load.queue[l], 0), 0);
  assert.equal(nsLanes.reduce((n, l) => n + load.queue[l], 0), 1);
  assert.equal(nsLanes.reduce((n, l) => n + load.moving[l], 0), 0);
  // a range of 0 sees no approaching vehicle
  load.init(env, 0, 5);
  load.refresh(sim, false);
  assert.equal(weLanes.reduce((n, l) => n + load.moving[l], 0), 0);
});

test('pressure-plus decides only every period and otherwise keeps the green (gap-out off)', () => {
  const { sim, env } = platoonAgainstQueue(false);
  const pp = pressurePlus({ period: 10, gapOut: 0 });
  pp.init?.(env);
  const s: SignalStatus = { green: PHASE_WE, greenSince: 0, yellowLeft: 0 };
  if (sim.stepCount % 10 === 0) sim.step(5);
  assert.equal(pp.decide(env.intersections[0], s, env), PHASE_WE);
  sim.step(5);
  assert.equal(pp.decide(env.intersections[0], s, env), PHASE_NS);
});

test('pressure-plus gaps out between decisions: an unused green goes to the queue at once', () => {
  const s: SignalStatus = { green: PHASE_WE, greenSince: 0, yellowLeft: 0 };
  const idle = platoonAgainstQueue(false);
  if (idle.sim.stepCount % 10 === 0) idle.sim.step(5);
  assert.equal(started(pressurePlus({ period: 10 }), idle.env).decide(idle.env.intersections[0], s, idle.env), PHASE_NS);
  // once the platoon is within 50 m of the stop line the green is not gapped out
  const busy = platoonAgainstQueue(true);
  const we = busy.env.intersections[0].movements[PHASE_WE].flatMap((m) => m.inLanes);
  stepUntil(busy.sim, () => we.some((l) => busy.sim.laneApproachingCount(l, 50) > 0) && busy.sim.stepCount % 10 !== 0);
  assert.equal(started(pressurePlus({ period: 10 }), busy.env).decide(busy.env.intersections[0], s, busy.env), PHASE_WE);
});

function started(c: Controller, env: ControlEnv): Controller {
  c.init?.(env);
  return c;
}

test('pressure-plus rejects a bad period or range', () => {
  assert.throws(() => pressurePlus({ period: 0 }), /pressure-plus: option period must be a number in \[0.001, Infinity\], got 0/);
  assert.throws(() => pressurePlus({ range: -1 }), /pressure-plus: option range must be a number in \[0, Infinity\], got -1/);
  assert.throws(() => pressurePlus({ gapOut: -1 }), /pressure-plus: option gapOut must be a number in \[0, Infinity\], got -1/);
});

test('pressure-plus and sotl check spillWarn one way', () => {
  for (const make of [(w: number) => pressurePlus({ spillWarn: w }), (w: number) => sotlParams({ spillWarn: w })]) {
    assert.throws(() => make(0), /option spillWarn must be a number in \[0.001, 1\], got 0/);
    assert.throws(() => make(1.5), /option spillWarn must be a number in \[0.001, 1\], got 1.5/);
    assert.throws(() => make(Number.NaN), /option spillWarn must be a number in \[0.001, 1\], got NaN/);
    make(0.5);
  }
});
