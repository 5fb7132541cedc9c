import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { VirtualCity } from '@citybrain/field';
import { CityRuntime, type PlanCommand } from '@citybrain/server';

test('without a virtual street the brain runs on what devices report and sends its plans out: a street elsewhere, fed only those, is controlled as well as one in process', async () => {
  const scenario = generateGrid({ rows: 2, cols: 3, demand: 0.08 });
  const plans: PlanCommand[][] = [];
  const brain = new CityRuntime(scenario, { street: false, epochMs: 0, plans: (p) => void plans.push([...p]) });
  assert.equal(brain.street, undefined);
  // the street in "another process": it hears only plans, the brain hears only its events
  const street = new VirtualCity(scenario, { epochMs: 0 });
  const net = street.sim.net;
  const apply = (p: readonly PlanCommand[]) => {
    for (const c of p) street.sim.setPhase(net.interIndex.get(c.intersection)!, c.phase);
  };
  apply(plans.at(-1)!);
  let err = 0, n = 0;
  for (let k = 1; k <= 900; k++) {
    await brain.stepOnce();
    const before = [...net.signalised].map((i) => street.sim.phase(i));
    apply(plans.at(-1)!);
    const events = street.step();
    [...net.signalised].forEach((i, j) => void (street.sim.phase(i) !== before[j] && events.push(street.signalReport(i))));
    brain.ingested(events);
    if (k > 300 && k % 5 === 0) for (const i of net.signalised) for (const l of net.incomingLanes(i)) {
      err += Math.abs(brain.sim.laneVehicleCount(l) - street.sim.laneVehicleCount(l));
      n++;
    }
  }
  assert.equal(plans.length, 901, 'one set of plans at start and one per step');
  assert.equal(plans[0].length, net.signalised.length);
  assert.ok(err / n < 1.5, `twin off the street by ${(err / n).toFixed(2)} vehicles per lane`);
  // the brain's confirmed phases are the street's
  for (const i of net.signalised) assert.equal(brain.estimate.confirmedPhase[i], street.sim.phase(i));
  // the in-process loop on the same city: the same ATT within a few per cent
  const together = new CityRuntime(scenario, { epochMs: 0 });
  for (let k = 1; k <= 900; k++) await together.stepOnce();
  const apart = street.sim.metrics().averageTravelTime, inProcess = together.street!.sim.metrics().averageTravelTime;
  assert.ok(Math.abs(apart / inProcess - 1) < 0.05, `ATT ${apart.toFixed(1)} s apart, ${inProcess.toFixed(1)} s in one process`);
  // a snapshot of a brain without a street restores only into one without
  const state = brain.exportState();
  assert.equal(state.street, undefined);
  assert.throws(() => together.importState(state), /made without a virtual street, this runtime has one/);
  const again = new CityRuntime(scenario, { street: false, epochMs: 0 });
  again.importState(state);
  assert.equal(again.sim.time, brain.sim.time);
});
