/**
 * The plan parts together, as the lead's loop will join them: the brain's
 * supervisor decides on its twin, each decision goes out as a signed plan
 * (through JSON, as over MQTT or HTTP) to the street's field controllers,
 * whose phase the street shows and whose confirmations the lane estimate takes
 * and the PlanBoard reads.
 * The brain is stopped mid-run and started again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { fixedTime, SignalSupervisor } from '@citybrain/control';
import { LaneEstimate, PlanBoard } from '@citybrain/brain';
import { FieldSignalController, roadnetPlan } from '@citybrain/field';
import { BrainKey, planVerifier } from '@citybrain/server';

test('brain stopped mid-run: every controller goes local within its watchdog, the board says so, and the brain takes them back with a yellow first', () => {
  const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.1 });
  const twin = new Simulation(scenario);
  const street = new Simulation(scenario);
  const supervisor = new SignalSupervisor(twin, fixedTime({ green: 20 }));
  const ixs = supervisor.env.intersections;
  const epoch = 1_760_000_000_000;
  const key = BrainKey.generate();
  const estimate = new LaneEstimate(twin.net);
  const board = new PlanBoard(ixs.map((ix) => ix.id), estimate, { watchdog: 10, startMs: epoch });
  const verify = planVerifier(key.publicPem());
  const field = ixs.map((ix, k) => new FieldSignalController(ix, roadnetPlan(street.net, ix.intersection), verify, {
    device: `sig-${ix.id}`, epochMs: epoch, initialPhase: supervisor.status[k].green,
  }));
  const brainUp = (t: number) => t < 100 || t >= 200;
  const trace = ixs.map(() => [] as number[]);
  const brainTrace = ixs.map(() => [] as number[]);
  const modeAt = new Map<number, string[]>();
  for (let t = 0; t < 300; t++) {
    const ts = epoch + t * 1000;
    if (brainUp(t)) {
      supervisor.tick();
      ixs.forEach((ix, k) => {
        const plan = key.sign({ intersection: ix.id, seq: board.nextSeq(ix.id, ts), ts, phase: twin.phase(ix.intersection), validFor: 10 });
        board.publish(plan);
        assert.deepEqual(field[k].receive(JSON.parse(JSON.stringify(plan)), t), { accepted: true });
      });
    }
    ixs.forEach((ix, k) => {
      const conf = field[k].tick(t);
      if (conf) estimate.apply([conf]);
      street.setPhase(ix.intersection, field[k].phase());
      trace[k].push(street.phase(ix.intersection));
      brainTrace[k].push(twin.phase(ix.intersection));
    });
    modeAt.set(t, ixs.map((ix) => board.mode(ix.id, ts)));
    twin.step();
    street.step();
  }
  ixs.forEach((ix, k) => {
    // the street shows what the brain decides while it is up
    for (let t = 0; t < 100; t++) assert.equal(trace[k][t], brainTrace[k][t], `${ix.id} at ${t}`);
    // the last plan came at 99: central to 108, local from 109
    assert.equal(field[k].mode, 'central');
    const served = ix.movements.map((ms) => new Set(ms.map((m) => m.roadLink)));
    let last = trace[k][0];
    let yellow = 0;
    for (let t = 1; t < 300; t++) {
      const p = trace[k][t];
      if (p === ix.yellow) {
        yellow++;
        continue;
      }
      if (last !== ix.yellow && p !== last && [...served[last]].some((r) => !served[p].has(r))) assert.ok(yellow >= 5, `${ix.id}: ${last} -> ${p} at ${t} after ${yellow} s of yellow`);
      last = p;
      yellow = 0;
    }
    // back under the brain within a yellow of its return
    for (let t = 205; t < 300; t++) assert.equal(trace[k][t], brainTrace[k][t], `${ix.id} at ${t}, after the brain came back`);
  });
  assert.deepEqual(modeAt.get(108), ixs.map(() => 'central'));
  assert.deepEqual(modeAt.get(109), ixs.map(() => 'local'), 'each controller confirmed local as its watchdog ran out');
  assert.deepEqual(modeAt.get(199), ixs.map(() => 'local'));
  assert.deepEqual(modeAt.get(200), ixs.map(() => 'central'));
  // while local the street ran the roadnet's own plan, not a frozen phase
  for (let k = 0; k < ixs.length; k++) assert.ok(new Set(trace[k].slice(110, 200)).size >= 3, `${ixs[k].id} cycled its local plan`);
});
