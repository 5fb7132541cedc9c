/**
 * The ring guard (core/ring.ts) in the supervisor, on a hand-made case: a 2 x 2 grid with no traffic in its twin and
 * detectors reporting what the test says. The four left-turn lanes round its block feed each other (each one's left
 * turn leads into the next road, whose lanes include the next left-turn lane): loaded without a break for
 * RING_PERSIST_SECONDS they are a ring, and the four intersections go to the plan in step; three of them are a chain,
 * not a ring; a lane that drains restarts the count; the hold lasts while a ring past the release share is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import {
  JAM_SPACING, RING_CHECK_SECONDS, RING_GREEN, RING_HOLD_SECONDS, RING_PERSIST_SECONDS, RING_RELEASE_SHARE, RING_SHARE,
  isAdvisory, SignalSupervisor, type Controller, type Observed,
} from '@citybrain/control';

/** counter-clockwise round the block: each a left-turn lane (index 0) whose left turn leads into the next road */
const RING = ['road_1_1_0_0', 'road_2_1_1_0', 'road_2_2_2_0', 'road_1_2_3_0'];

function synthetic() {
  const sim = new Simulation({ ...generateGrid({ rows: 2, cols: 2 }), flows: [] });
  const net = sim.net;
  const n = net.nLanes;
  const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(net.interIds.length).fill(-1) };
  // the controller keeps its first green for ever: whatever else is shown is the guard's plan
  const hold: Controller = { name: 'hold', decide: (ix) => ix.greens[0] };
  const sup = new SignalSupervisor(sim, hold, { observed: observed satisfies Observed, gridlock: false, starvation: false });
  const lanes = RING.map((id) => {
    const l = Array.from({ length: n }, (_, k) => k).find((k) => net.laneId(k) === id);
    assert.ok(l !== undefined, `${id} in the grid`);
    return l;
  });
  /** vehicles standing at `share` of lane l's capacity */
  const at = (l: number, share: number) => Math.ceil(share * Math.floor(net.length[l] / JAM_SPACING));
  /** runs `seconds` steps with each lane's queue from `queues` (lane -> standing) */
  const run = (seconds: number, queues: (t: number) => Map<number, number>) => {
    for (let k = 0; k < seconds; k++) {
      const q = queues(sim.time);
      for (const l of lanes) observed.queue[l] = observed.vehicles[l] = q.get(l) ?? 0;
      observed.reportedAt.fill(1_767_225_600_000 + sim.time * 1000);
      sup.tick();
      sim.step();
    }
  };
  const held = () => sup.env.intersections.filter((ix) => sup.ring!.holds(ix.intersection, sim.time)).map((ix) => ix.id);
  return { sim, sup, lanes, at, run, held };
}

test(`a ring of lanes loaded past ${RING_SHARE * 100}% for ${RING_PERSIST_SECONDS} s hands its intersections to the plan in step; not before`, () => {
  const { sim, sup, lanes, at, run, held } = synthetic();
  const loaded = new Map(lanes.map((l) => [l, at(l, RING_SHARE + 0.1)]));
  run(RING_PERSIST_SECONDS - RING_CHECK_SECONDS, () => loaded);
  assert.equal(sup.ring!.handOvers.length, 0, 'not before the persistence');
  run(3 * RING_CHECK_SECONDS, () => loaded);
  assert.equal(sup.ring!.handOvers.length, 1);
  const h = sup.ring!.handOvers[0];
  assert.ok(h.time >= RING_PERSIST_SECONDS && h.time <= RING_PERSIST_SECONDS + 2 * RING_CHECK_SECONDS, `handed over at ${h.time} s`);
  assert.deepEqual([...h.lanes].sort((a, b) => a - b), [...lanes].sort((a, b) => a - b), 'the ring is the four left-turn lanes');
  assert.deepEqual(held().sort(), sup.env.intersections.map((ix) => ix.id).sort(), 'all four intersections held');
  // reported to the operators, once per intersection, as advisory: nothing has failed
  const ringFaults = sup.faults.filter((f) => f.kind === 'ring');
  assert.deepEqual(ringFaults.map((f) => f.intersection).sort(), held().sort());
  for (const f of ringFaults) {
    assert.equal(f.time, h.time);
    assert.equal(f.controller, 'hold');
    assert.ok(isAdvisory(f));
    for (const id of RING) assert.ok(f.error.includes(id), `${f.error} names ${id}`);
    assert.match(f.error, /handed to the plan in step/);
  }
  assert.equal(sup.fallen.size, 0, 'not fallen back: the controller has them again when the ring clears');
  // the plan on the common clock: every intersection shows the same phase, cycling through its greens
  const shown = new Set<number>();
  for (let k = 0; k < 4 * (RING_GREEN + sup.env.yellowTime); k++) {
    run(1, () => loaded);
    const phases = sup.env.intersections.map((ix) => sim.phase(ix.intersection));
    assert.equal(new Set(phases).size, 1, `in step at ${sim.time} s: ${phases.join(', ')}`);
    shown.add(phases[0]);
  }
  assert.deepEqual([...shown].filter((p) => p !== sup.env.intersections[0].yellow).sort(), [...sup.env.intersections[0].greens].sort(), 'every green in turn');
});

test('three lanes of the four loaded are a chain, not a ring: nothing is handed over', () => {
  const { sup, lanes, at, run } = synthetic();
  const chain = new Map(lanes.slice(0, 3).map((l) => [l, at(l, 0.9)]));
  run(3 * RING_PERSIST_SECONDS, () => chain);
  assert.equal(sup.ring!.handOvers.length, 0);
});

test('a ring lane that drains below the share restarts the count', () => {
  const { sup, lanes, at, run } = synthetic();
  const drainAt = 100;
  const loaded = new Map(lanes.map((l) => [l, at(l, RING_SHARE + 0.1)]));
  const drained = new Map(loaded).set(lanes[2], 0);
  // lane 2 stands empty for two checks at 100 s: its load counts from when it is loaded again
  run(drainAt + 3 * RING_CHECK_SECONDS + RING_PERSIST_SECONDS + 2 * RING_CHECK_SECONDS, (t) => (t >= drainAt && t < drainAt + 2 * RING_CHECK_SECONDS ? drained : loaded));
  assert.equal(sup.ring!.handOvers.length, 1);
  const t = sup.ring!.handOvers[0].time;
  assert.ok(t >= drainAt + 2 * RING_CHECK_SECONDS + RING_PERSIST_SECONDS, `handed over at ${t} s, not ${RING_PERSIST_SECONDS} s after the start`);
});

test(`the hold is renewed while the ring stands past ${RING_RELEASE_SHARE * 100}%, then ends ${RING_HOLD_SECONDS} s later and the controller decides again`, () => {
  const { sim, sup, lanes, at, run, held } = synthetic();
  run(RING_PERSIST_SECONDS + 2 * RING_CHECK_SECONDS, () => new Map(lanes.map((l) => [l, at(l, RING_SHARE + 0.1)])));
  assert.equal(sup.ring!.handOvers.length, 1);
  // below the load, past the release share: held on for longer than one hold
  const lingering = new Map(lanes.map((l) => [l, at(l, (RING_SHARE + RING_RELEASE_SHARE) / 2)]));
  run(RING_HOLD_SECONDS + 100, () => lingering);
  assert.equal(held().length, 4, 'renewed');
  // drained: released a hold's time after the last renewal, and the controller's green comes back
  run(RING_HOLD_SECONDS + 2 * RING_CHECK_SECONDS, () => new Map());
  assert.deepEqual(held(), []);
  run(RING_GREEN + 2 * sup.env.yellowTime, () => new Map());
  for (const ix of sup.env.intersections) assert.equal(sim.phase(ix.intersection), ix.greens[0], `${ix.id} back with the controller`);
  assert.equal(sup.ring!.handOvers.length, 1, 'no new hand-over');
});

test('an intersection the controller holds on purpose (an emergency corridor) stays with the controller', () => {
  const sim = new Simulation({ ...generateGrid({ rows: 2, cols: 2 }), flows: [] });
  const net = sim.net;
  const n = net.nLanes;
  const observed = { counted: new Float64Array(n), vehicles: new Int32Array(n), queue: new Int32Array(n), reportedAt: new Float64Array(n), seen: new Float64Array(n), confirmedPhase: new Int32Array(net.interIds.length).fill(-1) };
  const first = sim.net.signalised[0];
  const corridor: Controller = { name: 'corridor', decide: (ix) => ix.greens[0], holdsAt: (i) => i === first };
  const sup = new SignalSupervisor(sim, corridor, { observed, gridlock: false, starvation: false });
  const lanes = RING.map((id) => Array.from({ length: n }, (_, k) => k).find((k) => net.laneId(k) === id)!);
  let othersOnPlan = false;
  for (let k = 0; k < RING_PERSIST_SECONDS + 4 * (RING_GREEN + sup.env.yellowTime); k++) {
    for (const l of lanes) observed.queue[l] = Math.ceil(0.9 * Math.floor(net.length[l] / JAM_SPACING));
    observed.reportedAt.fill(1_767_225_600_000 + sim.time * 1000);
    sup.tick();
    sim.step();
    if (sim.time > RING_PERSIST_SECONDS + 2 * RING_CHECK_SECONDS) {
      const ix = sup.env.intersections.find((x) => x.intersection === first)!;
      assert.equal(sim.phase(first), ix.greens[0], `the corridor's green at ${sim.time} s`);
      othersOnPlan ||= sup.env.intersections.some((x) => x.intersection !== first && sim.phase(x.intersection) !== x.greens[0]);
    }
  }
  assert.equal(sup.ring!.handOvers.length, 1, 'the ring was found');
  assert.ok(othersOnPlan, 'the others run the plan');
});
