import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import { IncidentDetector, LaneEstimate, type Event, type IncidentDetectorOptions } from '@citybrain/brain';
import { CityRuntime } from '@citybrain/server';

// Issue #14, realistic sensing: a video detector sees 150 m, a loop nothing upstream of the stop line. A blockage
// beyond that leaves nothing standing in view; the lane empties and stays empty while vehicles vanish on its road.

/** Two junctions; `lane` on the road from the first to the second, `feeder` a lane at the first leading only onto that road. */
function setup(opts: IncidentDetectorOptions = {}) {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 1 }), {});
  const net = rt.sim.net;
  const ixs = rt.supervisor.env.intersections;
  const est = new LaneEstimate(net);
  const det = new IncidentDetector(net, ixs, est, (_l, t0, t1) => t1 - t0, (ts) => ts / 1000, opts);
  // a road between the two junctions, and a lane of the first junction all of whose movements go onto it
  const moves = ixs.flatMap((ix) => ix.greens.flatMap((p) => ix.movements[p]));
  const inner = ixs.flatMap((ix) => ix.inLanes).filter((l) => ixs.some((ix) => ix.greens.some((p) => ix.movements[p].some((m) => m.outLanes.includes(l)))));
  let lane = -1, feeder = -1;
  for (const l of inner) {
    const road = net.laneRoad[l];
    const u = ixs.flatMap((ix) => ix.inLanes).find((c) => {
      const outs = moves.filter((m) => m.inLanes.includes(c)).flatMap((m) => m.outLanes);
      return outs.length > 0 && outs.every((o) => net.laneRoad[o] === road) && outs.includes(l);
    });
    if (u !== undefined) {
      [lane, feeder] = [l, u];
      break;
    }
  }
  assert.ok(lane >= 0 && feeder >= 0, 'a lane and its feeder');
  let seq = 0;
  const report = (l: number, t: number, f: { count: number; vehicles: number; queue?: number }) => {
    const e = { kind: 'lane', id: `e${++seq}`, device: 'det', ts: t * 1000, intersection: 'x', lane: net.laneId(l), occupancy: 0.1, speed: 8, interval: 5, queue: 0, range: 150, ...f } as Event;
    est.apply([e]);
    det.apply([e]);
  };
  /** ten minutes of ordinary traffic: a vehicle every 10 s on the lane, every 5 s from the feeder */
  const warmUp = () => {
    for (let t = 5; t <= 600; t += 5) {
      report(feeder, t, { count: 1, vehicles: 1 });
      report(lane, t, { count: t % 10 === 0 ? 1 : 0, vehicles: 1 });
    }
  };
  return { net, det, lane, feeder, report, warmUp };
}

test('a lane blocked beyond its detector\'s view: it goes quiet while vehicles counted onto its road vanish; it clears when it sees one again', () => {
  const { det, lane, feeder, report, warmUp, net } = setup();
  warmUp();
  assert.equal(det.incidents.length, 0);
  let t = 600;
  while (det.incidents.length === 0 && t < 1200) {
    t += 5;
    report(feeder, t, { count: 1, vehicles: 1 });
    report(lane, t, { count: 0, vehicles: 0 });
  }
  assert.equal(det.incidents.length, 1, 'detected');
  const [inc] = det.incidents;
  assert.equal(inc.lane, net.laneId(lane));
  // the usual 0.1 veh/s would have brought 10 in 100 s; 120 s is the least
  assert.ok(inc.detectedAt >= 720 && inc.detectedAt <= 760, `detected at ${inc.detectedAt}`);
  assert.equal(inc.since, 600);
  assert.ok(inc.evidence.missing! >= 10 && inc.evidence.queue === 0);
  // where: beyond the 150 m it sees
  const p = new Float64Array(2);
  net.positionAt(lane, (net.length[lane] - 150) / 2, p, 0);
  assert.deepEqual([inc.x, inc.y], [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10]);
  // still quiet: still active; a vehicle in view again clears it
  report(lane, t + 5, { count: 0, vehicles: 0 });
  assert.equal(inc.status, 'active');
  report(lane, t + 10, { count: 0, vehicles: 2 });
  assert.equal(inc.status, 'cleared');
});

test('a lane quiet because nothing came its way, or because what feeds it stands, is no incident', () => {
  {
    // nothing counted onto its road either: the traffic stopped upstream, where the feeder (on a road entering the network) is the one flagged
    const { det, lane, feeder, report, warmUp, net } = setup();
    assert.equal(net.interVirtual[net.roadStartInter[net.laneRoad[feeder]]], 1);
    warmUp();
    for (let t = 605; t <= 1500; t += 5) {
      report(feeder, t, { count: 0, vehicles: 0 });
      report(lane, t, { count: 0, vehicles: 0 });
    }
    assert.deepEqual(det.incidents.map((i) => i.lane), [net.laneId(feeder)], 'no vehicle vanished on the lane\'s road');
  }
  {
    // the feeder stands on green without a crossing: it is the one blocked
    const { det, lane, feeder, report, warmUp, net } = setup();
    warmUp();
    for (let t = 605; t <= 1500; t += 5) {
      report(feeder, t, { count: t < 630 ? 1 : 0, vehicles: 8, queue: 8 });
      report(lane, t, { count: 0, vehicles: 0 });
    }
    assert.deepEqual(det.incidents.map((i) => i.lane), [net.laneId(feeder)], 'only the feeder');
  }
  {
    // another lane of its road went quiet too: the road gets less (a blockage closes one lane)
    const { det, lane, feeder, report, warmUp, net } = setup();
    const first = net.roadFirstLane[net.laneRoad[lane]];
    const sibling = first === lane ? first + 1 : first;
    warmUp();
    for (let t = 5; t <= 600; t += 5) report(sibling, t, { count: t % 10 === 0 ? 1 : 0, vehicles: 1 });
    for (let t = 605; t <= 1500; t += 5) {
      report(feeder, t, { count: 1, vehicles: 1 });
      report(lane, t, { count: 0, vehicles: 0 });
      report(sibling, t, { count: 0, vehicles: 0 });
    }
    assert.equal(det.incidents.length, 0, 'two lanes of a road quiet at once');
  }
  {
    // a few vanishing are within the counts' errors: below `vanished`, no alarm
    const { det, lane, feeder, report, warmUp } = setup({ vanished: 1000 });
    warmUp();
    for (let t = 605; t <= 1500; t += 5) {
      report(feeder, t, { count: 1, vehicles: 1 });
      report(lane, t, { count: 0, vehicles: 0 });
    }
    assert.equal(det.incidents.length, 0);
  }
});

test('a lane of a road entering the network gone quiet is blocked where vehicles enter: nothing watched comes before it', () => {
  const { det, report, net } = setup();
  const edge = [...net.signalised].flatMap((i) => net.incomingLanes(i)).find((l) => net.interVirtual[net.roadStartInter[net.laneRoad[l]]] === 1)!;
  for (let t = 5; t <= 600; t += 5) report(edge, t, { count: t % 10 === 0 ? 1 : 0, vehicles: 1 });
  for (let t = 605; t <= 800; t += 5) report(edge, t, { count: 0, vehicles: 0 });
  assert.deepEqual(det.incidents.map((i) => [i.lane, i.since]), [[net.laneId(edge), 600]]);
});

test('the detector\'s flow state survives a snapshot', () => {
  const a = setup();
  a.warmUp();
  for (let t = 605; t <= 680; t += 5) {
    a.report(a.feeder, t, { count: 1, vehicles: 1 });
    a.report(a.lane, t, { count: 0, vehicles: 0 });
  }
  const b = setup();
  b.det.importState(a.det.exportState());
  // b's estimate is not part of the detector's state: give it the same arrival rates
  b.warmUp();
  b.det.importState(a.det.exportState());
  for (let t = 685; a.det.incidents.length === 0; t += 5) {
    for (const s of [a, b]) {
      s.report(s.feeder, t, { count: 1, vehicles: 1 });
      s.report(s.lane, t, { count: 0, vehicles: 0 });
    }
  }
  assert.deepEqual(b.det.incidents, a.det.incidents);
});

test('a late report does not make the city wait for ingestion: the lag is how long an event waited since it was handed over', async () => {
  const held: Event[][] = [];
  let release: (() => void) | undefined;
  const rt = new CityRuntime(generateGrid({ rows: 1, cols: 1, demand: 0.2 }), {
    epochMs: 0, maxIngestLag: 10,
    // every report late by 30 s
    sensing: { jitterS: 0, dropoutRate: 0, duplicateRate: 0, lateRate: 1, lateS: [30, 30], plateMissRate: 0 },
    // ingestion takes a step for each batch
    sink: (events) => new Promise<void>((resolve) => {
      held.push(events);
      release = resolve;
    }),
  });
  const behind = () => (rt as unknown as { ingestionBehind(): boolean }).ingestionBehind();
  const waited: number[] = [];
  for (let k = 0; k < 120; k++) {
    await rt.stepOnce();
    // this step's events are with ingestion now
    if (behind()) waited.push(k);
    release?.();
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.ok(held.flat().some((e) => e.kind === 'lane' && e.ts < 60_000), 'late reports handed over');
  assert.deepEqual(waited, [], 'no step found ingestion behind');
});
