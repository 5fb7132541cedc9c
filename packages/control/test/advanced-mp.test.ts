import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation, type Scenario } from '@citybrain/engine';
import {
  advancedMaxPressure,
  efficientMaxPressure,
  efficientPressure,
  fixedTime,
  phasePressure,
  runControlled,
  runningDemand,
  RunningLoad,
  SignalSupervisor,
  type Controller,
  type ControlEnv,
  type SignalStatus,
} from '@citybrain/control';

// intersection_1_1 of a 1 x 1 grid (CityFlow's generator): lane 0 of a road turns left, 1 goes straight, 2 turns right;
// roads road_{x}_{y}_{dir}, dir 0 east 1 north 2 west 3 south; lanes stop 30 m (the junction's width) short of its centre
const PHASE_WE = 1; // WT + ET
const PHASE_NS = 2; // NT + ST
const PHASE_WE_LEFT = 3; // WL + EL
const WEST_IN = 'road_0_1_0';
const EAST_OUT = 'road_1_1_0';
const SOUTH_IN = 'road_1_0_1';
const NORTH_OUT = 'road_1_1_1';
const STRAIGHT = 1;
const RIGHT = 2;

function lane(sim: Simulation, road: string, k: number): number {
  return sim.net.roadFirstLane[sim.net.roadIndex.get(road)!] + k;
}

/** An empty 1 x 1 grid under a supervisor that holds phase 1 (WT + ET) green. */
function crossing(scenario: Scenario = generateGrid({ rows: 1, cols: 1 })): { sim: Simulation; env: ControlEnv } {
  const sim = new Simulation({ ...scenario, flows: [] });
  const env = new SignalSupervisor(sim, { name: 'hold', decide: (_ix, s) => s.green }).env;
  assert.equal(sim.phase(env.intersections[0].intersection), PHASE_WE);
  return { sim, env };
}

/** Places vehicles on `road`'s lane k (driving on to `to`), their fronts `back` metres before the stop line. */
function place(sim: Simulation, road: string, k: number, to: string, backs: number[], speed: number): void {
  const l = lane(sim, road, k);
  const route = [sim.net.roadIndex.get(road)!, sim.net.roadIndex.get(to)!];
  for (const back of backs) sim.placeVehicle({ lane: l, distance: sim.net.length[l] - back, speed, route });
}

/** The green `c` wants at the crossing showing WE, asked now (t = 0: a decision step). */
function decision(c: Controller, env: ControlEnv): number {
  c.init?.(env);
  const s: SignalStatus = { green: PHASE_WE, greenSince: 0, yellowLeft: 0 };
  return c.decide(env.intersections[0], s, env);
}

test('efficient pressure: entry queue − mean queue over every lane of the exit road; right turns count for no phase', () => {
  const scenario = generateGrid({ rows: 1, cols: 1 });
  // the west through movement reaches only the middle lane of its exit road: max-pressure's mean is over that lane alone
  const inter = scenario.roadnet.intersections.find((i) => i.id === 'intersection_1_1')!;
  const wt = inter.roadLinks.find((rl) => rl.startRoad === WEST_IN && rl.type === 'go_straight')!;
  wt.laneLinks = wt.laneLinks.filter((ll) => ll.endLaneIndex === 1);
  const { sim, env } = crossing(scenario);
  const [ix] = env.intersections;
  const queue = new Float64Array(sim.net.nLanes);
  queue[lane(sim, WEST_IN, STRAIGHT)] = 6;
  queue[lane(sim, EAST_OUT, 0)] = 3; // exit road lanes 3, 0, 0: mean 1
  queue[lane(sim, SOUTH_IN, STRAIGHT)] = 2;
  queue[lane(sim, WEST_IN, RIGHT)] = 10; // right turn, green in every phase
  assert.equal(efficientPressure(ix, sim.net, PHASE_WE, queue), 6 - 1);
  assert.equal(efficientPressure(ix, sim.net, PHASE_NS, queue), 2);
  assert.equal(efficientPressure(ix, sim.net, PHASE_WE_LEFT, queue), 0);
  assert.equal(efficientPressure(ix, sim.net, ix.yellow, queue), 0, 'the yellow carries only right turns');
  // max-pressure's pressure counts the right turns in every phase (the west one's queue, and the south one's
  // exit: the east road, mean 1) and the WT exit over its one linked lane (0)
  assert.equal(phasePressure(ix, PHASE_WE, queue), 6 + 10 - 1);
  assert.equal(phasePressure(ix, PHASE_NS, queue), 2 + 10 - 1);

  const running = new Float64Array(sim.net.nLanes);
  running[lane(sim, WEST_IN, STRAIGHT)] = 4;
  running[lane(sim, WEST_IN, RIGHT)] = 9;
  running[lane(sim, EAST_OUT, 0)] = 5; // downstream: no demand of this intersection
  assert.equal(runningDemand(ix, sim.net, PHASE_WE, running), 4);
  assert.equal(runningDemand(ix, sim.net, PHASE_NS, running), 0);
});

test('a roadLink without lane links adds no efficient pressure, though its exit road is queued', () => {
  const scenario = generateGrid({ rows: 1, cols: 1 });
  const inter = scenario.roadnet.intersections.find((i) => i.id === 'intersection_1_1')!;
  inter.roadLinks.find((rl) => rl.startRoad === WEST_IN && rl.type === 'go_straight')!.laneLinks = [];
  const { sim, env } = crossing(scenario);
  const queue = new Float64Array(sim.net.nLanes);
  for (let k = 0; k < 3; k++) queue[lane(sim, EAST_OUT, k)] = 4;
  queue[lane(sim, SOUTH_IN, STRAIGHT)] = 1;
  assert.equal(efficientPressure(env.intersections[0], sim.net, PHASE_WE, queue), 0);
  assert.equal(efficientPressure(env.intersections[0], sim.net, PHASE_NS, queue), 1);
});

test('running demand: vehicles faster than 0.1 m/s within the road\'s last 167 m, centre to centre, as the reference counts them', () => {
  // lanes stop each junction's width (30 m) short of its centre; the boundary's virtual junctions have none
  const g = generateGrid({ rows: 1, cols: 2 });
  const { sim, env } = crossing(g);
  const load = new RunningLoad();
  load.init(env, 167);
  assert.equal(load.reachOf(lane(sim, WEST_IN, STRAIGHT)), 167 - 30);
  assert.equal(load.reachOf(lane(sim, EAST_OUT, STRAIGHT)), 167 - 30 - 30, 'between two signalised junctions');

  // front first on the west through lane: two moving within 137 m, one stopped beyond them, one moving beyond
  place(sim, WEST_IN, STRAIGHT, EAST_OUT, [40, 100], 10);
  place(sim, WEST_IN, STRAIGHT, EAST_OUT, [150], 0);
  place(sim, WEST_IN, STRAIGHT, EAST_OUT, [200], 10);
  load.refresh(sim);
  assert.equal(load.running[lane(sim, WEST_IN, STRAIGHT)], 2);
  assert.equal(load.queue[lane(sim, WEST_IN, STRAIGHT)], 1);
  // without a range only queues are counted
  const queues = new RunningLoad();
  queues.init(env, null);
  queues.refresh(sim);
  assert.equal(queues.queue[lane(sim, WEST_IN, STRAIGHT)], 1);
  assert.equal(queues.running[lane(sim, WEST_IN, STRAIGHT)], 0);
});

/** The crossing showing WE with `moving` vehicles driving towards its west stop line and `queued` stopped at the south one. */
function platoonAgainstQueue(moving: number[], queued: number): ControlEnv {
  const { sim, env } = crossing();
  place(sim, WEST_IN, STRAIGHT, EAST_OUT, moving, 10);
  place(sim, SOUTH_IN, STRAIGHT, NORTH_OUT, Array.from({ length: queued }, (_, k) => 10 * k), 0);
  return env;
}

test('advanced-mp keeps the green while its running demand is at least the best pressure, and switches to the best otherwise', () => {
  const three = [20, 50, 80];
  // running 3 against pressure 3: kept (where Efficient-MP, which sees only queues, switches)
  assert.equal(decision(advancedMaxPressure(), platoonAgainstQueue(three, 3)), PHASE_WE);
  assert.equal(decision(efficientMaxPressure(), platoonAgainstQueue(three, 3)), PHASE_NS);
  // running 3 against pressure 4: switched
  assert.equal(decision(advancedMaxPressure(), platoonAgainstQueue(three, 4)), PHASE_NS);
  // the same platoon further back than 137 m from the stop line is no demand yet
  assert.equal(decision(advancedMaxPressure(), platoonAgainstQueue([140, 170, 200], 1)), PHASE_NS);
  assert.equal(decision(advancedMaxPressure({ range: 250 }), platoonAgainstQueue([140, 170, 200], 1)), PHASE_WE);
  // nothing anywhere: pressure 0, demand 0, kept
  assert.equal(decision(advancedMaxPressure(), platoonAgainstQueue([], 0)), PHASE_WE);
});

test('both decide only every period (15 s by default) and keep the green in between', () => {
  for (const make of [advancedMaxPressure, efficientMaxPressure]) {
    const { sim, env } = crossing();
    place(sim, SOUTH_IN, STRAIGHT, NORTH_OUT, [0, 10], 0);
    const ix = env.intersections[0];
    const s: SignalStatus = { green: PHASE_WE, greenSince: 0, yellowLeft: 0 };
    const every15 = make();
    const every10 = make({ period: 10 });
    every15.init?.(env);
    every10.init?.(env);
    sim.step(10);
    assert.equal(every15.decide(ix, s, env), PHASE_WE, `${every15.name} at 10 s`);
    assert.equal(every10.decide(ix, s, env), PHASE_NS, `${every10.name} every 10 s, at 10 s`);
    sim.step(5);
    assert.equal(every15.decide(ix, s, env), PHASE_NS, `${every15.name} at 15 s`);
    assert.equal(every10.decide(ix, s, env), PHASE_WE, `${every10.name} every 10 s, at 15 s`);
  }
});

test('bad options are rejected with the option named', () => {
  assert.throws(() => advancedMaxPressure({ period: 0 }), /advanced-mp: option period/);
  assert.throws(() => efficientMaxPressure({ period: Number.NaN }), /efficient-mp: option period/);
  assert.throws(() => advancedMaxPressure({ range: -1 }), /advanced-mp: option range/);
});

test('both run an hour of a 3 x 3 grid without faults or gridlock, well below fixed-time', async () => {
  const hour = async (c: Controller) => {
    const sim = new Simulation(generateGrid({ rows: 3, cols: 3, demand: 0.05 }));
    let at3000 = { entered: 0, finished: 0 };
    const { metrics: m, supervisor } = await runControlled(sim, c, 3600, {
      onStep: (s, k) => {
        if (k === 2999) {
          const x = s.metrics();
          at3000 = { entered: x.enteredVehicles, finished: x.finishedVehicles };
        }
      },
    });
    // no gridlock: in the last ten minutes about as many vehicles leave as come in
    const left = m.finishedVehicles - at3000.finished;
    const came = m.enteredVehicles - at3000.entered;
    return { att: m.averageTravelTime, faults: supervisor?.faults.length ?? 0, left, came };
  };
  const fixed = await hour(fixedTime());
  for (const c of [advancedMaxPressure(), efficientMaxPressure()]) {
    const r = await hour(c);
    assert.equal(r.faults, 0, c.name);
    assert.ok(r.left >= 0.9 * r.came, `${c.name}: ${r.left} vehicles left in the last 600 s, ${r.came} came in`);
    assert.ok(r.att < 0.8 * fixed.att, `${c.name}: ATT ${r.att.toFixed(1)} s against fixed-time's ${fixed.att.toFixed(1)} s`);
  }
});
