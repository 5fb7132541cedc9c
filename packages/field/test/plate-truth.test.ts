import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import type { PlateEvent } from '@citybrain/brain';
import { PERFECT_SENSING, PICK_UP_EVERY, VirtualCity, plateOf, type VirtualCityOptions } from '@citybrain/field';

// The virtual city's cloned plates and unlicensed taxis, which the watchlist benchmark scores against:
// exact cameras at the network's entries read every vehicle once as it enters (checkpoints), so what each plate's entry
// reads say the street did can be held against the truth the city keeps.
const EPOCH = 1.7e12;
const SENSING = { ...PERFECT_SENSING, checkpoints: true };
const FLOW = /^flow_(\d+)_\d+$/;

interface Run {
  city: VirtualCity;
  plates: PlateEvent[];
  /** entry reads per plate: the vehicles that entered carrying it */
  entries: Map<string, number>;
  /** each vehicle that drove: the simulated seconds it was first and last on the network */
  driven: Map<string, { from: number; to: number }>;
}

function run(opts: VirtualCityOptions, steps: number, rows = 4): Run {
  const city = new VirtualCity(generateGrid({ rows, cols: rows, demand: 0.1 }), { seed: 11, epochMs: EPOCH, sensing: SENSING, ...opts });
  const plates: PlateEvent[] = [];
  const driven = new Map<string, { from: number; to: number }>();
  for (let k = 0; k < steps; k++) {
    for (const e of city.step()) if (e.kind === 'plate') plates.push(e);
    for (const h of city.sim.runningVehicles()) {
      const id = city.sim.vehicleId(h);
      const d = driven.get(id);
      if (d) d.to = city.sim.time;
      else driven.set(id, { from: city.sim.time, to: city.sim.time });
    }
  }
  const entries = new Map<string, number>();
  for (const e of plates) if (e.position === 'entry') entries.set(e.plate, (entries.get(e.plate) ?? 0) + 1);
  return { city, plates, entries, driven };
}

test('cloned plates: the share configured, each carried by the vehicles the truth names, no clone it does not name', () => {
  const r = run({ clonedShare: 0.05 }, 1800);
  const truth = r.city.plateTruth.cloned;
  let entered = 0;
  for (const n of r.entries.values()) entered += n;
  assert.ok(entered > 1000, `${entered} vehicles entered`);
  // the cloners: vehicles carrying a plate not their own
  const cloners = new Set<string>();
  for (const [plate, carriers] of truth) for (const id of carriers) if (plateOf(id) !== plate) cloners.add(id);
  const share = cloners.size / entered;
  assert.ok(Math.abs(share - 0.05) < 0.015, `cloned share ${share.toFixed(4)} (configured 0.05)`);

  for (const [plate, carriers] of truth) {
    // every vehicle that entered carrying the plate, and only those, is named
    assert.equal(r.entries.get(plate) ?? 0, carriers.size, `plate ${plate}: ${r.entries.get(plate)} entered carrying it, the truth names ${[...carriers].join(', ')}`);
    for (const id of carriers) assert.ok(r.driven.has(id), `${id} drove`);
    // a cloner carries the plate of a vehicle of another flow setting off at about the same time
    const victim = [...carriers].find((id) => plateOf(id) === plate);
    for (const cloner of [...carriers].filter((id) => id !== victim)) {
      if (victim === undefined) continue;
      assert.notEqual(FLOW.exec(cloner)![1], FLOW.exec(victim)![1], `${cloner} and ${victim}: another flow`);
      assert.ok(Math.abs(r.driven.get(victim)!.from - r.driven.get(cloner)!.from) < 60, `${victim} and ${cloner} set off together`);
    }
  }
  // the clones the street made while both carriers drove: two vehicles on the network under one plate at once
  const together = [...truth.values()].filter((c) => c.size >= 2).length;
  assert.ok(together >= 0.8 * truth.size, `${together} of ${truth.size} cloned plates carried by two vehicles`);
  // every other plate entered on one vehicle only: no clone the truth does not name
  for (const [plate, n] of r.entries) if (!truth.has(plate)) assert.equal(n, 1, `plate ${plate} entered ${n} times, not named cloned`);
});

test('unlicensed taxis: as many as configured, registered private cars making many short trips from pick-up points with stops between', () => {
  const stop = 420;
  const r = run({ illegalTaxis: 3, taxiStopSeconds: stop }, 3 * 3600, 3);
  const taxis = r.city.plateTruth.taxis;
  assert.equal(taxis.size, 3, 'three taxis');
  const register = new Set(r.city.registerPlates(3 * 3600));
  for (const [plate, trips] of taxis) {
    assert.ok(register.has(plate), `${plate} is registered (as a private car)`);
    assert.ok(trips.length >= 6, `${plate} took ${trips.length} trips`);
    // each trip a vehicle of a pick-up flow, entering under the taxi's plate
    for (const id of trips) assert.equal(Number(FLOW.exec(id)![1]) % PICK_UP_EVERY, 0, `${id} sets off from a pick-up point`);
    assert.equal(r.entries.get(plate) ?? 0, trips.length, `${plate} entered once per trip`);
    // one trip at a time, the taxi standing at least its stop between two
    const spans = trips.map((id) => r.driven.get(id)!).filter((d) => d !== undefined);
    assert.equal(spans.length, trips.length, 'every trip driven');
    for (let k = 1; k < spans.length; k++) assert.ok(spans[k].from - spans[k - 1].to >= stop - 2, `${plate}: trip ${k} set off ${spans[k].from - spans[k - 1].to} s after the last ended`);
    // its reads: under its plate only while on a trip
    for (const e of r.plates.filter((p) => p.plate === plate)) {
      const t = (e.ts - EPOCH) / 1000;
      assert.ok(spans.some((d) => t >= d.from - 1 && t <= d.to + 1), `${plate} read at ${t} s, on no trip`);
    }
    // a taxi trip's vehicle never carries its own plate
    for (const id of trips) assert.equal(r.entries.get(plateOf(id)), undefined, `${id} read under its own plate`);
  }
});

test('off by default: no clone, no taxi, every vehicle under its own plate; switched on, the street itself unfolds the same', () => {
  const off = run({}, 1200, 3);
  assert.equal(off.city.plateTruth.cloned.size, 0);
  assert.equal(off.city.plateTruth.taxis.size, 0);
  const owners = new Set([...off.driven.keys()].map(plateOf));
  for (const e of off.plates) assert.ok(owners.has(e.plate), `${e.plate} is a vehicle's own plate`);
  for (const n of off.entries.values()) assert.equal(n, 1);
  assert.equal(off.entries.size, off.driven.size, 'each vehicle entered under its own plate');

  // the options explicitly off report byte for byte the same
  const zero = run({ clonedShare: 0, illegalTaxis: 0 }, 1200, 3);
  assert.deepEqual(zero.plates, off.plates);

  // on (with the default, noisy devices): the vehicles, signals and bays are the street's own; only plates differ
  const base: VirtualCityOptions = { sensing: 'default', breakdownsPerHour: 20 };
  const a = run(base, 1200, 3);
  const b = run({ ...base, clonedShare: 0.1, illegalTaxis: 2 }, 1200, 3);
  assert.ok(b.city.plateTruth.cloned.size > 0 && b.city.plateTruth.taxis.size > 0);
  assert.deepEqual([...b.driven], [...a.driven]);
  assert.deepEqual(b.city.breakdowns, a.city.breakdowns);
  assert.deepEqual(b.city.bays.map((x) => x.occupied), a.city.bays.map((x) => x.occupied));
  assert.deepEqual(b.city.sim.metrics(), a.city.sim.metrics());
});
