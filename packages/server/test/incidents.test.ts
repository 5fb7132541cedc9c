import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { IncidentDetector, LaneEstimate, type Event } from '@citybrain/brain';
import { CityRuntime } from '@citybrain/server';
import { vehicleOnApproach } from './helpers.js';

test('a broken-down vehicle is detected on its own lane, counted in the KPIs, and cleared once it drives on; nothing is flagged before', async () => {
  const rt = new CityRuntime(generateGrid({ rows: 3, cols: 3, demand: 0.05 }), { epochMs: 1_767_225_600_000 });
  const sim = rt.street!.sim;
  const changes: string[] = [];
  rt.incidents.onChange((i, change) => changes.push(`${change} ${i.lane}`));
  // an hour of ordinary traffic under max-pressure: no alarm
  for (let k = 0; k < 3600; k++) await rt.stepOnce();
  assert.equal(rt.incidents.incidents.length, 0, `no false alarm in an hour of ordinary traffic: ${JSON.stringify(rt.incidents.incidents)}`);
  const v = vehicleOnApproach(sim);
  const lane = sim.net.laneId(sim.vehicleDrivable(v));
  const t0 = sim.time;
  sim.breakDown(v, 600);
  let detectedAt = -1;
  for (let k = 0; k < 600 && detectedAt < 0; k++) {
    await rt.stepOnce();
    if (rt.incidents.activeCount > 0) detectedAt = sim.time;
  }
  assert.ok(detectedAt > 0, 'detected while the vehicle stands');
  const [inc] = rt.incidents.incidents;
  assert.equal(inc.lane, lane, 'on the lane the vehicle broke down on');
  assert.equal(inc.status, 'active');
  assert.equal(inc.intersection, sim.net.interIds[sim.net.roadEndInter[sim.net.laneRoad[sim.vehicleDrivable(v)]]]);
  assert.ok(inc.evidence.greenSeconds >= 20 && inc.evidence.queue >= 1);
  assert.ok(inc.since >= t0 - 5 && inc.since < inc.detectedAt, `evidence from ${inc.since} to ${inc.detectedAt}`);
  // the next KPI sample counts it (one taken in the step that detected it came before the reports)
  while (rt.kpis.at(-1)!.t <= detectedAt) await rt.stepOnce();
  assert.equal(rt.kpis.at(-1)!.activeIncidents, 1);
  // the vehicle drives on at t0 + 600; the lane discharges and the incident clears
  while (sim.time < t0 + 700) await rt.stepOnce();
  assert.equal(inc.status, 'cleared');
  assert.ok(inc.clearedAt! > t0 + 600 && inc.clearedAt! <= t0 + 700, `cleared at ${inc.clearedAt}`);
  assert.equal(rt.kpis.at(-1)!.activeIncidents, 0);
  assert.deepEqual(changes.filter((c) => c.endsWith(lane)), [`detected ${lane}`, `cleared ${lane}`]);
});

/** A detector over one intersection's lanes, with green everywhere unless `green` says otherwise. */
function bench(green: (lane: number) => boolean = () => true) {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 1 }), {});
  const net = rt.sim.net;
  const est = new LaneEstimate(net);
  const det = new IncidentDetector(net, rt.supervisor.env.intersections, est, (l, t0, t1) => (green(l) ? t1 - t0 : 0), (ts) => ts / 1000);
  let seq = 0;
  const report = (lane: number, t: number, f: { count: number; vehicles: number; queue: number }) => {
    const e = { kind: 'lane', id: `e${++seq}`, device: 'det', ts: t * 1000, intersection: 'x', lane: net.laneId(lane), occupancy: 0.2, speed: 0, interval: 5, ...f } as Event;
    est.apply([e]);
    det.apply([e]);
  };
  return { net, det, est, report, ixs: rt.supervisor.env.intersections };
}

test('the detection rule: 20 s of green with vehicles standing and none crossing; a crossing or an empty lane starts it over', () => {
  const { det, report, ixs } = bench();
  const lane = ixs[0].inLanes[0];
  // a queue that moves on green is no incident, however long it is
  for (let t = 5; t <= 300; t += 5) report(lane, t, { count: 1, vehicles: 12, queue: 10 });
  assert.equal(det.incidents.length, 0);
  // standing on green: 15 s is not enough ...
  for (let t = 305; t <= 315; t += 5) report(lane, t, { count: 0, vehicles: 6, queue: 6 });
  assert.equal(det.incidents.length, 0);
  // ... an empty lane starts it over ...
  report(lane, 320, { count: 0, vehicles: 0, queue: 0 });
  for (let t = 325; t <= 335; t += 5) report(lane, t, { count: 0, vehicles: 6, queue: 6 });
  assert.equal(det.incidents.length, 0);
  // ... and the fourth report of standing on green tips it
  report(lane, 340, { count: 0, vehicles: 6, queue: 6 });
  assert.equal(det.incidents.length, 1);
  assert.deepEqual([det.incidents[0].since, det.incidents[0].detectedAt, det.incidents[0].evidence.greenSeconds], [320, 340, 20]);
  // a late or repeated report adds nothing
  report(lane, 340, { count: 0, vehicles: 6, queue: 6 });
  assert.equal(det.incidents.length, 1);
  report(lane, 345, { count: 2, vehicles: 5, queue: 4 });
  assert.equal(det.incidents[0].status, 'cleared');
  assert.equal(det.incidents[0].clearedAt, 345);
});

test('no alarm on red, nor when a lane it leads to is full (spillback) or a lane leaving its junction stood still first', () => {
  {
    const { det, report, ixs } = bench(() => false);
    for (let t = 5; t <= 600; t += 5) report(ixs[0].inLanes[0], t, { count: 0, vehicles: 8, queue: 8 });
    assert.equal(det.incidents.length, 0, 'a queue at a red light');
  }
  {
    const { det, report, ixs, net } = bench();
    // the lower intersection's approach from the upper one: its movements lead into the upper junction's... find a lane whose downstream is detected
    const lane = ixs.flatMap((ix) => ix.inLanes).find((l) => ixs.some((ix) => ix.greens.some((p) => ix.movements[p].some((m) => m.inLanes.includes(l) && m.outLanes.some((o) => ixs.some((j) => j.inLanes.includes(o)))))))!;
    const ix = ixs.find((j) => j.inLanes.includes(lane))!;
    const out = ix.greens.flatMap((p) => ix.movements[p]).find((m) => m.inLanes.includes(lane) && m.outLanes.some((o) => ixs.some((j) => j.inLanes.includes(o))))!.outLanes.find((o) => ixs.some((j) => j.inLanes.includes(o)))!;
    const full = Math.ceil(net.length[out] / 7.5);
    for (let t = 5; t <= 300; t += 5) {
      report(out, t, { count: 1, vehicles: full, queue: full });
      report(lane, t, { count: 0, vehicles: 8, queue: 8 });
    }
    assert.equal(det.incidents.length, 0, `spillback from a full lane downstream: ${JSON.stringify(det.incidents.map((i) => [i.lane, i.detectedAt]))} lane ${net.laneId(lane)} out ${net.laneId(out)}`);
    // the lane downstream stands still on green from t = 305, this one only from t = 310: the blockage is downstream
    for (let t = 305; t <= 400; t += 5) {
      report(out, t, { count: 0, vehicles: 3, queue: 3 });
      if (t >= 310) report(lane, t, { count: 0, vehicles: 8, queue: 8 });
    }
    assert.deepEqual(det.incidents.map((i) => i.lane), [net.laneId(out)], 'only where it stood still first');
    // once that clears, what stood behind it starts over
    report(out, 405, { count: 3, vehicles: 1, queue: 0 });
    report(lane, 405, { count: 0, vehicles: 8, queue: 8 });
    assert.equal(det.evidence[lane], 5, 'starts over: only the green since counts');
  }
});

test('the detector refuses nonsense settings by name', () => {
  const rt = new CityRuntime(generateGrid({ rows: 1, cols: 1 }), {});
  for (const [k, v] of [['greenSeconds', 0], ['spillback', -1], ['history', NaN]] as const) {
    assert.throws(() => new IncidentDetector(rt.sim.net, rt.supervisor.env.intersections, rt.estimate, () => 0, (ts) => ts, { [k]: v }), new RegExp(`${k} must be a positive number`));
  }
  assert.throws(() => new CityRuntime(generateGrid({ rows: 1, cols: 1 }), { breakdownsPerHour: -1 }), /breakdownsPerHour must be a number >= 0/);
  assert.throws(() => new CityRuntime(generateGrid({ rows: 1, cols: 1 }), { breakdownSeconds: [60, 30] }), /breakdownSeconds must be \[min, max\]/);
});
