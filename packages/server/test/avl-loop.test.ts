/**
 * The brain follows an emergency vehicle by its AVL unit's reports: the
 * street's vehicle reports its position every second, the twin moves its copy
 * there, and the green corridor is planned from that position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { CityRuntime, type CityRuntimeOptions } from '@citybrain/server';
import type { Event } from '@citybrain/brain';
import { PERFECT_SENSING } from '@citybrain/field';

const EPOCH = 1_767_225_600_000;
const ROUTE = ['road_0_1_0', 'road_1_1_0', 'road_2_1_0', 'road_3_1_0'];

function city(opts: CityRuntimeOptions = {}): CityRuntime {
  return new CityRuntime(generateGrid({ rows: 1, cols: 3, demand: 0.3 }), { sensing: 'perfect', epochMs: EPOCH, seed: 7, controller: 'fixed', ...opts });
}

/** where a vehicle is in a simulation: its drivable's id and metres along it, or undefined when it is not running */
function where(sim: CityRuntime['sim'], id: string): { drivable: string; lane: boolean; distance: number } | undefined {
  const h = sim.vehicleHandle(id);
  if (h < 0 || sim.vehicleStatus(id).state !== 'running') return undefined;
  const d = sim.vehicleDrivable(h);
  return { drivable: sim.net.drivableId(d), lane: d < sim.net.nLanes, distance: sim.vehicleDistance(h) };
}

test('closed loop: the twin\'s emergency vehicle is where the street\'s is, and the corridor greens the approach it is reported on', async (t) => {
  const rt = city();
  for (let k = 0; k < 60; k++) await rt.stepOnce();
  rt.emergency.dispatch({ id: 'amb', route: ROUTE });
  let compared = 0, worst = 0, greened = 0;
  for (let k = 0; k < 300 && rt.street!.sim.vehicleStatus('amb').state !== 'finished'; k++) {
    await rt.stepOnce();
    const street = where(rt.street!.sim, 'amb');
    const twin = where(rt.sim, 'amb');
    // a report is made on a lane (none inside a junction) and taken in at the end of the step that made it
    if (!street?.lane || !twin) continue;
    assert.equal(twin.drivable, street.drivable, `t = ${rt.sim.time}: on the street's lane`);
    worst = Math.max(worst, Math.abs(twin.distance - street.distance));
    compared++;
    const [next] = rt.emergency.active()[0]?.corridor ?? [];
    if (next?.state === 'requested') {
      const inter = rt.sim.net.interIndex.get(next.intersection)!;
      // the intersection the reported lane leads into, held in the phase serving the vehicle
      assert.equal(rt.sim.net.roadEndInter[rt.sim.net.laneRoad[rt.sim.net.laneIndex.get(street.drivable)!]], inter);
      if (rt.street!.sim.phase(inter) === next.phase) greened++;
    }
  }
  assert.equal(rt.street!.sim.vehicleStatus('amb').state, 'finished', 'it arrived');
  t.diagnostic(`compared on ${compared} steps, at most ${worst.toFixed(3)} m apart, requested green shown on ${greened} steps`);
  assert.ok(compared > 40, `compared on ${compared} steps`);
  // reported at the end of the street's step and applied then: the same instant, so the same place
  assert.ok(worst < 1, `at most ${worst.toFixed(2)} m apart`);
  assert.ok(greened > 5, `the street showed the requested green on ${greened} steps`);
  assert.ok(rt.twin.stats.avlApplied >= compared, `${rt.twin.stats.avlApplied} positions followed`);
  assert.equal(rt.twin.stats.avlIgnored, 0);
});

/** Dispatches `amb`, runs until it is on road_1_1_0 at least 60 m before its end, breaks it down in the street for `seconds`. */
async function breakdownOnSecondRoad(rt: CityRuntime, seconds: number): Promise<void> {
  for (let k = 0; k < 60; k++) await rt.stepOnce();
  rt.emergency.dispatch({ id: 'amb', route: ROUTE });
  const sim = rt.street!.sim;
  for (let k = 0; k < 300; k++) {
    await rt.stepOnce();
    const w = where(sim, 'amb');
    if (w?.lane && w.drivable.startsWith('road_1_1_0_') && w.distance > 20 && w.distance < sim.net.length[sim.vehicleDrivable(sim.vehicleHandle('amb'))] - 60) {
      sim.breakDown(sim.vehicleHandle('amb'), seconds);
      return;
    }
  }
  assert.fail('the vehicle never drove on road_1_1_0');
}

test('the twin\'s guess drifts from a vehicle broken down in the street; its AVL reports correct it', async (t) => {
  // video that counts but does not track: its vehicle list would put a vehicle where the ambulance stands, which stops the blind twin's too
  const counting = { ...PERFECT_SENSING, objects: false };
  const blind = city({ sensing: counting, admit: (events: readonly Event[]) => events.filter((e) => e.kind !== 'avl') });
  const seeing = city({ sensing: counting });
  for (const rt of [blind, seeing]) await breakdownOnSecondRoad(rt, 60);
  const stoppedAt = where(seeing.street!.sim, 'amb')!;
  for (let k = 0; k < 30; k++) {
    await blind.stepOnce();
    await seeing.stepOnce();
  }
  const street = where(seeing.street!.sim, 'amb')!;
  assert.equal(street.drivable, stoppedAt.drivable, 'the street\'s vehicle stands');
  // braking from 16.7 m/s at 4.5 m/s² takes 31 m
  assert.ok(street.distance - stoppedAt.distance < 35, 'within its braking distance');
  // without AVL the twin drove it on along its route
  const guess = where(blind.sim, 'amb');
  assert.ok(guess === undefined || guess.drivable !== street.drivable || guess.distance - street.distance > 100, `the blind twin has it at ${JSON.stringify(guess)}`);
  assert.equal(blind.twin.stats.avlApplied, 0);
  // with it, the twin has it where it stands, and the corridor still ahead of it
  const followed = where(seeing.sim, 'amb')!;
  assert.equal(followed.drivable, street.drivable);
  assert.ok(Math.abs(followed.distance - street.distance) < 1, `${followed.distance} m vs ${street.distance} m`);
  assert.equal(seeing.emergency.active()[0].corridor[0].intersection, 'intersection_2_1', 'the next intersection is still ahead of it');
  // the blind corridor expects it at intersection_2_1 well before it can come (or has let it go)
  const blindNext = blind.emergency.active()[0]?.corridor[0];
  const seeingNext = seeing.emergency.active()[0].corridor[0];
  t.diagnostic(`next stop: blind ${JSON.stringify(blindNext)}, seeing ${JSON.stringify(seeingNext)}`);
  assert.ok(blindNext?.intersection !== 'intersection_2_1' || blindNext.eta < seeingNext.eta - 5);
});

test('silent AVL: the twin drives the vehicle on for avlHoldAfter seconds, then holds it where it was last reported until it reports again', async () => {
  let silent = false;
  const rt = city({ admit: (events: readonly Event[]) => (silent ? events.filter((e) => e.kind !== 'avl') : [...events]) });
  await breakdownOnSecondRoad(rt, 40);
  await rt.stepOnce();
  // the unit dies with the vehicle's engine; what it reported last is where it braked to a stop
  silent = true;
  const last = rt.twin.avlTrack('amb')!;
  const lastLane = rt.sim.net.drivableId(last.lane);
  for (let k = 0; k < 5; k++) await rt.stepOnce();
  const reckoned = where(rt.sim, 'amb')!;
  assert.ok(reckoned.drivable !== lastLane || reckoned.distance > last.distance + 5, `dead reckoning drove it on: ${JSON.stringify(reckoned)}`);
  for (let k = 0; k < 10; k++) await rt.stepOnce();
  assert.equal(rt.twin.avlTrack('amb')!.held, true);
  for (let k = 0; k < 10; k++) {
    const held = where(rt.sim, 'amb')!;
    assert.equal(held.drivable, lastLane, 'held on its last reported lane');
    assert.ok(Math.abs(held.distance - last.distance) < 0.5, `at its last reported position (${held.distance} m, reported ${last.distance} m)`);
    await rt.stepOnce();
  }
  assert.equal(rt.emergency.active()[0].corridor[0].intersection, 'intersection_2_1');
  // it reports again (repaired and driving): followed again
  silent = false;
  for (let k = 0; k < 40; k++) await rt.stepOnce();
  const street = where(rt.street!.sim, 'amb');
  const twin = where(rt.sim, 'amb');
  assert.equal(rt.twin.avlTrack('amb')?.held ?? false, false);
  if (street?.lane) assert.deepEqual(twin?.drivable, street.drivable);
});

test('under the default devices (reports jittered, some lost or late) the twin keeps the vehicle close: late reports are not followed back, delayed ones projected', async (t) => {
  const rt = city({ sensing: 'default' });
  for (let k = 0; k < 60; k++) await rt.stepOnce();
  rt.emergency.dispatch({ id: 'amb', route: ROUTE });
  const gaps: number[] = [];
  for (let k = 0; k < 300 && rt.street!.sim.vehicleStatus('amb').state !== 'finished'; k++) {
    await rt.stepOnce();
    const street = where(rt.street!.sim, 'amb');
    const twin = where(rt.sim, 'amb');
    if (!street?.lane || !twin) continue;
    gaps.push(twin.drivable === street.drivable ? Math.abs(twin.distance - street.distance) : Infinity);
  }
  gaps.sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)], p90 = gaps[Math.floor(gaps.length * 0.9)];
  t.diagnostic(`${gaps.length} steps compared; apart: median ${median.toFixed(2)} m, 90th percentile ${p90.toFixed(2)} m; followed ${rt.twin.stats.avlApplied}, ignored ${rt.twin.stats.avlIgnored}`);
  assert.ok(median < 3, `median ${median} m`);
  assert.ok(p90 < 20, `90th percentile ${p90} m`);
});
