import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { inProcessPlanSigner, type Plan } from '@citybrain/brain';
import { VirtualCity } from '@citybrain/field';
import { BrainKey, CityRuntime } from '@citybrain/server';

/**
 * A brain without a virtual street, and a street in "another process": the
 * brain hears only the street's device events, the street only the brain's
 * signed plans, through JSON as over MQTT. `deliver(t, plan)` says whether a
 * plan gets through; `brainUp(t)` whether the brain runs at second t.
 */
async function apart(seconds: number, opts: { deliver?: (t: number, plan: Plan) => boolean; brainUp?: (t: number) => boolean } = {}) {
  const scenario = generateGrid({ rows: 2, cols: 3, demand: 0.08 });
  const key = BrainKey.generate();
  const brain = new CityRuntime(scenario, { street: false, epochMs: 1_767_225_600_000, planSigner: key });
  const street = new VirtualCity(scenario, { epochMs: 1_767_225_600_000, planVerify: key.verify });
  const net = street.sim.net;
  let t = 0;
  const refused: string[] = [];
  brain.plans.onPlan((plan) => {
    if (opts.deliver && !opts.deliver(t, plan)) return;
    const v = street.receivePlan(JSON.parse(JSON.stringify(plan)));
    if (!v.accepted) refused.push(v.message);
  });
  const shown: number[][] = [];
  const modes: string[][] = [];
  let err = 0, n = 0;
  for (t = 0; t < seconds; t++) {
    if (opts.brainUp?.(t) ?? true) await brain.stepOnce();
    brain.ingested(street.step());
    shown.push([...net.signalised].map((i) => street.sim.phase(i)));
    modes.push(brain.supervisor.env.intersections.map((ix) => brain.plans.mode(ix.id, street.ts)));
    if (t > 300 && t % 5 === 4) for (const i of net.signalised) for (const l of net.incomingLanes(i)) {
      err += Math.abs(brain.sim.laneVehicleCount(l) - street.sim.laneVehicleCount(l));
      n++;
    }
  }
  return { brain, street, net, shown, modes, refused, mae: err / n };
}

test('without a virtual street the brain runs on what devices report and its signed plans control a street elsewhere as well as one in process', async () => {
  const { brain, street, net, modes, refused, mae } = await apart(900);
  assert.equal(brain.street, undefined);
  assert.deepEqual(refused, []);
  assert.ok(mae < 1.5, `twin off the street by ${mae.toFixed(2)} vehicles per lane`);
  assert.ok(modes.slice(20).every((m) => m.every((x) => x === 'central')), 'every intersection under the brain');
  for (const i of net.signalised) assert.equal(brain.estimate.confirmedPhase[i], street.sim.phase(i), 'the brain knows what the street shows');
  const together = new CityRuntime(generateGrid({ rows: 2, cols: 3, demand: 0.08 }), { epochMs: 1_767_225_600_000 });
  for (let k = 0; k < 900; k++) await together.stepOnce();
  const a = street.sim.metrics().averageTravelTime, b = together.street!.sim.metrics().averageTravelTime;
  assert.ok(Math.abs(a / b - 1) < 0.05, `ATT ${a.toFixed(1)} s apart, ${b.toFixed(1)} s in one process`);
  // a snapshot of a brain without a street restores only into one without
  const state = brain.exportState();
  assert.equal(state.street, undefined);
  assert.throws(() => together.importState(state), /made without a virtual street, this runtime has one/);
  const again = new CityRuntime(generateGrid({ rows: 2, cols: 3, demand: 0.08 }), { street: false, epochMs: 1_767_225_600_000 });
  again.importState(state);
  assert.equal(again.sim.time, brain.sim.time);
});

test('the brain stopped mid-run: the street\'s controllers run their local plans within the watchdog, the brain shows them local, and takes them back with a yellow first', async () => {
  const { brain, net, shown, modes } = await apart(420, { brainUp: (t) => t < 200 || t >= 300 });
  const ixs = brain.supervisor.env.intersections;
  // the last plan came at 199; the controllers hold it 10 s and confirm local; the brain reads it a step later
  assert.ok(modes[205].every((m) => m === 'central'));
  assert.ok(modes.slice(215, 300).every((m) => m.every((x) => x === 'local')), 'local while the brain is down');
  assert.ok(modes.slice(305).every((m) => m.every((x) => x === 'central')), 'central again once plans resume');
  ixs.forEach((ix, k) => {
    const local = new Set(shown.slice(215, 300).map((p) => p[k]));
    assert.ok(local.size >= 3, `${ix.id} cycled its local plan: ${[...local]}`);
    // every change of green on the street had its yellow before
    const served = ix.movements.map((ms) => new Set(ms.map((m) => m.roadLink)));
    let last = shown[0][k], yellow = 5;
    for (let t = 1; t < shown.length; t++) {
      const p = shown[t][k];
      if (p === ix.yellow) {
        yellow++;
        continue;
      }
      if (p !== last && last !== ix.yellow && [...served[last]].some((r) => !served[p].has(r))) assert.ok(yellow >= 5, `${ix.id}: ${last} -> ${p} at ${t} after ${yellow} s of yellow`);
      if (p !== last) yellow = 0;
      last = p;
    }
  });
  assert.equal(net.signalised.length, ixs.length);
});

test('plans dropped on the way: every other one lost keeps the street under the brain; all lost for longer than the watchdog makes it local', async () => {
  const half = await apart(300, { deliver: (_t, plan) => plan.seq % 2 === 0 });
  assert.ok(half.modes.slice(30).every((m) => m.every((x) => x === 'central')), 'every other plan is enough');
  const gap = await apart(300, { deliver: (t) => t < 100 || t >= 160 });
  assert.ok(gap.modes.slice(115, 160).every((m) => m.every((x) => x === 'local')));
  assert.ok(gap.modes.slice(170).every((m) => m.every((x) => x === 'central')));
});

test('a plan from anyone but the brain is refused by the street\'s controllers, and a replayed one too', () => {
  const scenario = generateGrid({ rows: 1, cols: 2 });
  const key = BrainKey.generate();
  const street = new VirtualCity(scenario, { epochMs: 1_767_225_600_000, planVerify: key.verify });
  const id = street.sim.net.interIds[street.sim.net.signalised[0]];
  const good = key.sign({ intersection: id, seq: 10, ts: 1e12, phase: 2, validFor: 10 });
  const forged = BrainKey.generate().sign({ intersection: id, seq: 11, ts: 1e12, phase: 3, validFor: 10 });
  assert.deepEqual(street.receivePlan(good), { accepted: true });
  assert.equal((street.receivePlan(forged) as { reason: string }).reason, 'forged');
  assert.equal((street.receivePlan({ ...good, phase: 3 }) as { reason: string }).reason, 'forged', 'a changed plan does not verify');
  assert.equal((street.receivePlan(good) as { reason: string }).reason, 'replay');
  const inProcess = inProcessPlanSigner();
  assert.equal((street.receivePlan(inProcess.sign({ intersection: id, seq: 12, ts: 1e12, phase: 1, validFor: 10 })) as { reason: string }).reason, 'forged');
  assert.equal((street.receivePlan({ intersection: 'nowhere' }) as { reason: string }).reason, 'invalid');
});
