import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { PERFECT_SENSING, VirtualCity, plateOf } from '@citybrain/field';
import { OCR_CONFUSIONS, ObservedKpis, type Event, type KpiSample, type PlateEvent } from '@citybrain/brain';

const T0 = 1_800_000_000_000;

interface Options {
  /** share of entry and of exit reads missed */
  miss?: number;
  /** share of exit reads with one character misread (a confusable one, when the plate has one) */
  misread?: number;
  /** lane detectors are stop-line loops (exact otherwise): no vehicles or queue in their reports */
  loops?: boolean;
  /** events reach ObservedKpis up to this many seconds late, in shuffled order, and this share of them twice (a device's retry) */
  delivery?: { maxDelay: number; retried: number };
  /** sample every 10 s after 600 s (default), or only at the end */
  sampleEvery?: boolean;
}

interface Row {
  observed: KpiSample;
  queued: number;
  vehicles: number;
  /** mean admission-to-exit time of the vehicles that left in the last 600 s */
  travelTime: number;
  att: number;
  regions: Record<string, { queued: number; vehicles: number }>;
}

/**
 * The virtual street (perfect detectors, stop-line cameras) on a 3 x 3 grid
 * for `seconds`, its events fed to ObservedKpis, sampled every 10 s after a
 * 10-minute warm-up beside the street's ground truth. The street has no
 * entry/exit checkpoint cameras yet: their reads are made here from the
 * engine, a vehicle's entry when it first drives, its exit when it has gone.
 */
function run(seconds: number, opts: Options = {}) {
  const { miss = 0, misread = 0, loops = false, delivery, sampleEvery = true } = opts;
  const city = new VirtualCity(generateGrid({ rows: 3, cols: 3, demand: 0.06 }), { seed: 7, epochMs: T0, sensing: loops ? { ...PERFECT_SENSING, detectors: 'loop' } : 'perfect' });
  const sim = city.sim;
  const net = sim.net;
  const signalised = [...net.signalised];
  const midX = (Math.min(...signalised.map((i) => net.interX[i])) + Math.max(...signalised.map((i) => net.interX[i]))) / 2;
  const regions = [
    { id: 'west', intersections: signalised.filter((i) => net.interX[i] < midX) },
    { id: 'east', intersections: signalised.filter((i) => net.interX[i] >= midX) },
  ];
  const kpis = new ObservedKpis(net, { regions, epochMs: T0 });
  let x = 99;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  // the delivery's own randomness: the same street and reads with and without it
  let y = 5;
  const late = () => ((y = (Math.imul(y, 1103515245) + 12345) >>> 0) / 4294967296);
  const inFlight = new Map<number, Event[]>();
  const deliver = (events: Event[], s: number) => {
    if (!delivery) return kpis.apply(events);
    for (const e of events) {
      for (let copies = late() < delivery.retried ? 2 : 1; copies > 0; copies--) {
        const due = s + Math.floor(late() * (delivery.maxDelay + 1));
        inFlight.set(due, [...(inFlight.get(due) ?? []), e]);
      }
    }
    const now = inFlight.get(s) ?? [];
    inFlight.delete(s);
    // shuffled within the second
    for (let i = now.length - 1; i > 0; i--) {
      const j = Math.floor(late() * (i + 1));
      [now[i], now[j]] = [now[j], now[i]];
    }
    kpis.apply(now);
  };
  const confusable = new Map<string, string>();
  for (const cls of OCR_CONFUSIONS) for (const c of cls) confusable.set(c, cls.replace(c, '')[0]);
  const inside = new Map<string, { t: number; lane: number }>();
  const finished: [t: number, duration: number][] = [];
  const rows: Row[] = [];
  const stats = new Float64Array(4);
  let n = 0;
  const checkpoint = (id: string, lane: number, position: 'entry' | 'exit'): PlateEvent => {
    let plate = plateOf(id);
    if (position === 'exit' && rnd() < misread) {
      const i = [...plate].findIndex((c, k) => k >= 2 && confusable.has(c));
      if (i >= 0) plate = plate.slice(0, i) + confusable.get(plate[i]) + plate.slice(i + 1);
    }
    const intersection = net.interIds[net.roadEndInter[net.laneRoad[lane]]];
    return { kind: 'plate', id: `chk:${n++}`, device: `chk-${position}`, ts: city.ts, plate, camera: `chk-${position}-${intersection}`, intersection, lane: net.laneId(lane), confidence: 0.95, position };
  };
  for (let s = 1; s <= seconds; s++) {
    const events: Event[] = city.step();
    const now = new Set<string>();
    for (const v of sim.runningVehicles()) {
      const id = sim.vehicleId(v);
      now.add(id);
      const lane = sim.vehicleDrivable(v);
      const rec = inside.get(id);
      if (!rec) {
        inside.set(id, { t: sim.time, lane });
        if (rnd() >= miss) events.push(checkpoint(id, lane, 'entry'));
      } else if (lane < net.nLanes) rec.lane = lane;
    }
    for (const [id, rec] of inside) {
      if (now.has(id)) continue;
      inside.delete(id);
      finished.push([sim.time, sim.time - rec.t]);
      if (rnd() >= miss) events.push(checkpoint(id, rec.lane, 'exit'));
    }
    deliver(events, s);
    if (sampleEvery && s >= 600 && s % 10 === 0) {
      const m = sim.metrics();
      const recent = finished.filter(([t]) => t > sim.time - 600);
      const truthRegions: Row['regions'] = {};
      for (const r of regions) {
        let queued = 0, vehicles = 0;
        for (const i of r.intersections) for (const l of net.incomingLanes(i)) {
          sim.laneStats(l, stats);
          vehicles += stats[0];
          queued += stats[1];
        }
        truthRegions[r.id] = { queued, vehicles };
      }
      rows.push({
        observed: kpis.sample(city.ts, { t: sim.time }), queued: m.queuedVehicles, vehicles: m.vehiclesInNetwork,
        travelTime: recent.reduce((a, [, d]) => a + d, 0) / recent.length, att: m.averageTravelTime, regions: truthRegions,
      });
    }
  }
  for (const [, events] of [...inFlight].sort(([a], [b]) => a - b)) kpis.apply(events);
  return { rows, kpis, net, city };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('on the virtual street with perfect devices, the KPIs from events alone match its ground truth', (t) => {
  const { rows, kpis, net, city } = run(1800);
  const last = rows[rows.length - 1];
  t.diagnostic(`t=1800: vehicles ${last.observed.vehiclesInNetwork} (truth ${last.vehicles}), queued ${last.observed.queued} (${last.queued}), travel time ${last.observed.averageTravelTime} (${last.travelTime.toFixed(1)}; CityFlow ATT ${last.att.toFixed(1)}), match rate ${kpis.matchRate}`);
  assert.equal(kpis.matchRate, 1);
  assert.ok(last.vehicles > 100, `a busy street: ${last.vehicles} vehicles`);
  for (const r of rows) {
    // every entry and exit read: the balance is exact
    assert.equal(r.observed.vehiclesInNetwork, r.vehicles, `vehicles at ${r.observed.t}`);
    // detectors see the approaches, not the exit roads (where vehicles rarely stop)
    assert.ok(Math.abs(r.observed.queued - r.queued) <= Math.max(2, 0.05 * r.queued), `queued at ${r.observed.t}: ${r.observed.queued} vs ${r.queued}`);
    assert.ok(Math.abs(r.observed.averageTravelTime - r.travelTime) <= 0.02 * r.travelTime, `travel time at ${r.observed.t}: ${r.observed.averageTravelTime} vs ${r.travelTime}`);
    // at a report instant the detectors' figures are the street's
    if (r.observed.t % city.detectorPeriod === 0) {
      for (const id of ['west', 'east']) {
        assert.equal(r.observed.regions[id].vehicles, r.regions[id].vehicles, `${id} vehicles at ${r.observed.t}`);
        assert.equal(r.observed.regions[id].queued, r.regions[id].queued, `${id} queued at ${r.observed.t}`);
      }
    }
  }
  const errs = rows.map((r) => Math.abs(r.observed.queued - r.queued));
  t.diagnostic(`queued: mean absolute error ${mean(errs).toFixed(2)} vehicles over ${rows.length} samples (mean truth ${mean(rows.map((r) => r.queued)).toFixed(1)})`);
  // throughput: the exit reads of the last 5 minutes, per hour (a read on the window's edge either side: one vehicle, 12/h)
  const byT = new Map(rows.map((r) => [r.observed.t, r]));
  let checked = 0;
  for (const r of rows) {
    const before = byT.get(r.observed.t - 300);
    if (!before) continue;
    const exits = r.observed.finishedVehicles - before.observed.finishedVehicles;
    assert.ok(Math.abs(r.observed.throughput - exits * 12) <= 12, `throughput at ${r.observed.t}: ${r.observed.throughput}/h, ${exits} exits in the 5 min before`);
    checked++;
  }
  assert.ok(checked > 50, `${checked} samples checked`);
  // per-road travel times from the stop-line cameras: every approach inside the grid timed, none faster than its free-flow time
  const roads = kpis.roadTravelTimes(city.ts);
  let timed = 0;
  for (let r = 0; r < net.roadIds.length; r++) {
    const from = net.roadStartInter[r], to = net.roadEndInter[r];
    if (!(net.signalised.includes(from) && net.signalised.includes(to))) continue;
    assert.ok(roads.samples[r] > 0, `road ${net.roadIds[r]} timed`);
    const l = net.roadFirstLane[r];
    assert.ok(roads.seconds[r] >= net.length[l] / net.maxSpeed[l], `road ${net.roadIds[r]}: ${roads.seconds[r]} s`);
    timed++;
  }
  assert.ok(timed >= 24, `${timed} inner roads`);
  // parking: over the bays that have reported (each as its sensor starts, then each change), close to the street's share
  const truthParking = city.bays.filter((b) => b.occupied).length / city.bays.length;
  assert.ok(Math.abs(last.observed.parkingOccupancy - truthParking) < 0.15, `parking ${last.observed.parkingOccupancy} vs ${truthParking}`);
});

test('with missed and misread plates the travel time and the vehicle count stay close to the truth', (t) => {
  const { rows, kpis } = run(1800, { miss: 0.03, misread: 0.05 });
  t.diagnostic(`match rate ${kpis.matchRate.toFixed(3)}, fuzzy ${kpis.stats.fuzzyMatched}, ambiguous ${kpis.stats.ambiguous}`);
  assert.ok(kpis.matchRate > 0.9, `match rate ${kpis.matchRate}`);
  assert.ok(kpis.stats.fuzzyMatched > 0);
  const ttErr = mean(rows.map((r) => Math.abs(r.observed.averageTravelTime - r.travelTime) / r.travelTime));
  const vehErr = mean(rows.map((r) => Math.abs(r.observed.vehiclesInNetwork - r.vehicles) / r.vehicles));
  t.diagnostic(`mean relative error: travel time ${(ttErr * 100).toFixed(2)}%, vehicles ${(vehErr * 100).toFixed(2)}%`);
  assert.ok(ttErr < 0.05, `travel time within 5%: ${ttErr}`);
  assert.ok(vehErr < 0.1, `vehicles within 10%: ${vehErr}`);
});

test('events delivered late, out of order and twice give the same KPIs as in order', (t) => {
  const inOrder = run(1800, { miss: 0.03, misread: 0.05, sampleEvery: false });
  const shuffled = run(1800, { miss: 0.03, misread: 0.05, sampleEvery: false, delivery: { maxDelay: 4, retried: 0.05 } });
  assert.ok(shuffled.kpis.stats.duplicates > 100, `${shuffled.kpis.stats.duplicates} retried plate reads`);
  assert.deepEqual({ ...shuffled.kpis.stats, duplicates: 0 }, inOrder.kpis.stats);
  const ts = inOrder.city.ts;
  assert.deepEqual(shuffled.kpis.sample(ts), inOrder.kpis.sample(ts));
  assert.deepEqual(shuffled.kpis.roadTravelTimes(ts), inOrder.kpis.roadTravelTimes(ts));
  // up to 30 s late, beyond the settle time: late reads are matched as they come
  const late = run(1800, { miss: 0.03, misread: 0.05, sampleEvery: false, delivery: { maxDelay: 30, retried: 0.05 } });
  t.diagnostic(`30 s late: matched ${late.kpis.stats.matched} (in order ${inOrder.kpis.stats.matched}), ambiguous ${late.kpis.stats.ambiguous}`);
  assert.ok(Math.abs(late.kpis.stats.matched - inOrder.kpis.stats.matched) <= 0.005 * inOrder.kpis.stats.matched);
  const [a, b] = [late.kpis.sample(ts), inOrder.kpis.sample(ts)];
  assert.ok(Math.abs(a.averageTravelTime - b.averageTravelTime) <= 0.01 * b.averageTravelTime, `${a.averageTravelTime} vs ${b.averageTravelTime}`);
  assert.ok(Math.abs(a.vehiclesInNetwork - b.vehiclesInNetwork) <= 0.02 * b.vehiclesInNetwork, `${a.vehiclesInNetwork} vs ${b.vehiclesInNetwork}`);
  assert.equal(a.queued, b.queued);
});

test('with stop-line loops only (no counts on the lane), the queued KPI is the lane estimate\'s input-output estimate, within 30% of the truth', (t) => {
  const { rows } = run(1800, { loops: true });
  const err = mean(rows.map((r) => Math.abs(r.observed.queued - r.queued))) / mean(rows.map((r) => r.queued));
  t.diagnostic(`queued: mean absolute error ${(err * 100).toFixed(1)}% of the mean queue (${mean(rows.map((r) => r.queued)).toFixed(1)})`);
  // a loop sees only what stands on it: the queue behind is inferred (LaneEstimate), and loops-only sensing is the degraded case
  assert.ok(err < 0.3, `queued within 30%: ${err}`);
});
