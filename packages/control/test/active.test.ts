/**
 * ControlEnv.active: a cluster's brain worker controls only its regions'
 * intersections. The supervisor asks the controller nowhere else (no decision
 * time there, signals left as they are), and a controller of the assignment
 * whose intersections are all elsewhere does no step work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { ControllerAssignment, SignalSupervisor, type Controller } from '@citybrain/control';

test('the supervisor decides only the active intersections; the set may change between ticks', () => {
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2, demand: 0.1 }), { seed: 1 });
  const asked: number[] = [];
  // always wants the green it does not show: every intersection it is asked at changes as soon as minimum green allows
  const flip: Controller = { name: 'flip', decide: (ix, s) => (asked.push(ix.intersection), ix.greens.find((g) => g !== s.green)!) };
  const active = new Set<number>();
  const sup = new SignalSupervisor(sim, flip, { active, minGreen: 5, yellowTime: 2 });
  const ixs = sup.env.intersections;
  active.add(ixs[0].intersection);
  const before = ixs.map((ix) => sim.phase(ix.intersection));
  for (let t = 0; t < 30; t++) {
    sup.tick();
    sim.step();
  }
  assert.deepEqual([...new Set(asked)], [ixs[0].intersection], 'asked only at the active intersection');
  assert.notEqual(sim.phase(ixs[0].intersection), undefined);
  for (let k = 1; k < ixs.length; k++) {
    assert.equal(sim.phase(ixs[k].intersection), before[k], `${ixs[k].id}'s signal left as it was`);
    assert.equal(sup.decideMs[k], 0, 'no decision time where not active');
  }
  // a region taken over: from the next tick it is decided too
  active.add(ixs[1].intersection);
  asked.length = 0;
  sup.tick();
  // (the first may be in its yellow this tick, and not asked)
  assert.ok(asked.includes(ixs[1].intersection), 'the intersection just taken over is decided');
  assert.ok(asked.every((i) => i === ixs[0].intersection || i === ixs[1].intersection));
});

test('a controller in charge only of intersections another brain controls does no step work', () => {
  const sim = new Simulation(generateGrid({ rows: 2, cols: 2, demand: 0.1 }), { seed: 1 });
  const steps = new Map<string, number>();
  const counting = (name: string): Controller => ({ name, beginStep: () => void steps.set(name, (steps.get(name) ?? 0) + 1), decide: (_ix, s) => s.green });
  const assignment = new ControllerAssignment({ here: () => counting('here'), there: () => counting('there') }, 'here');
  const active = new Set<number>();
  const sup = new SignalSupervisor(sim, assignment, { active });
  const ixs = sup.env.intersections;
  active.add(ixs[0].intersection);
  assignment.assign(ixs.slice(1).map((ix) => ix.intersection), 'there');
  for (let t = 0; t < 5; t++) sup.tick();
  assert.equal(steps.get('here'), 5);
  assert.equal(steps.get('there'), undefined, 'no step work for intersections not controlled here');
});
