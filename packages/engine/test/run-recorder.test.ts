/**
 * The study's results (RunRecorder): a worked case of one vehicle held at a
 * red light, and on a busy grid the records' agreement with the engine's own
 * counters (ATT, total delay, stop-line crossings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, levelOfService, RunRecorder, Simulation } from '@citybrain/engine';
import { flow, oneSignal } from './twin-helpers.js';

test('one vehicle held at a red light: one stop, its wait, its time loss, on the approach it came by', () => {
  // red for the only movement for 60 s, then green; the vehicle is generated at t = 0 and reaches the line in about 30 s
  const phases = [{ time: 60, availableRoadLinks: [] }, { time: 30, availableRoadLinks: [0] }];
  const scenario = oneSignal({ phases, flows: [flow(['in', 'out'], { startTime: 0, endTime: 0 })] });
  scenario.roadnet.roads.find((r) => r.id === 'in')!.name = 'Hauptstraße';
  const sim = new Simulation(scenario);
  const rec = new RunRecorder(sim, { window: 60 });
  for (let k = 0; k < 120; k++) {
    sim.step();
    rec.sample();
  }
  const [trip] = rec.tripRecords();
  assert.equal(rec.tripRecords().length, 1);
  assert.equal(trip.id, 'flow_0_0');
  assert.equal(trip.from, 'in');
  assert.equal(trip.to, 'out');
  assert.ok(trip.arrival !== null && trip.arrival > 60, `arrived at ${trip.arrival}`);
  assert.equal(trip.duration, trip.arrival! - trip.depart);
  assert.equal(trip.stops, 1);
  // it stood from reaching the line until the green at 60 s
  assert.ok(trip.waitingTime >= 15 && trip.waitingTime < 50, `waited ${trip.waitingTime} s`);
  assert.ok(trip.timeLoss > trip.waitingTime, 'standing is lost time, and so are braking and accelerating');
  assert.ok(Math.abs(trip.timeLoss - sim.totalDelay) < 1e-6, `trip ${trip.timeLoss} s, engine ${sim.totalDelay} s`);
  // 2 x 290 m of lane plus the junction, within a metre or two
  assert.ok(trip.routeLength > 580 && trip.routeLength < 600, `${trip.routeLength} m`);
  const [ap] = rec.approachRecords();
  assert.deepEqual([ap.intersection, ap.road, ap.roadName, ap.from, ap.lanes, ap.vehicles], ['C', 'in', 'Hauptstraße', 'W', 1, 1]);
  assert.equal(ap.stopsPerVehicle, 1);
  assert.ok(ap.delayPerVehicle > trip.waitingTime && ap.delayPerVehicle <= trip.timeLoss);
  assert.equal(ap.queueMax, 1);
  assert.equal(ap.queueP50, 0, 'the approach is empty most of the two minutes');
  const series = rec.timeSeries();
  assert.deepEqual(series.map((s) => s.time), [60, 120]);
  assert.equal(series.reduce((a, s) => a + (s.throughputPerHour * 60) / 3600, 0), 1);
});

test('on a busy grid the records add up to the engine\'s ATT, total delay and stop-line crossings', () => {
  const s = generateGrid({ rows: 2, cols: 3, demand: 0.12, endTime: 600 });
  const sim = new Simulation(s);
  const rec = new RunRecorder(sim);
  for (let k = 0; k < 1500; k++) {
    sim.step();
    rec.sample();
  }
  const m = sim.metrics();
  const trips = rec.tripRecords();
  assert.equal(m.waitingToEnter, 0);
  assert.equal(trips.length, m.enteredVehicles, 'every vehicle generated has a record');
  const att = trips.reduce((a, t) => a + t.duration, 0) / trips.length;
  assert.ok(Math.abs(att - m.averageTravelTime) < 1e-6, `trips ${att} s, ATT ${m.averageTravelTime} s`);
  assert.equal(trips.filter((t) => t.arrival !== null).length, m.finishedVehicles);
  assert.equal(new Set(trips.map((t) => t.id)).size, trips.length, 'a reused handle starts a new record');
  // the running totals a comparison samples are the finished trips' records summed
  const finished = trips.filter((t) => t.arrival !== null);
  const totals = rec.finishedTotals();
  assert.equal(totals.trips, finished.length);
  assert.equal(totals.stops, finished.reduce((x, t) => x + t.stops, 0));
  assert.ok(Math.abs(totals.timeLoss - finished.reduce((x, t) => x + t.timeLoss, 0)) < 1e-6);
  assert.ok(Math.abs(totals.duration - finished.reduce((x, t) => x + t.duration, 0)) < 1e-6);
  // the engine counts the step a vehicle leaves in; the recorder sees it last the step before
  const loss = trips.reduce((a, t) => a + t.timeLoss, 0);
  assert.ok(Math.abs(loss - sim.totalDelay) / sim.totalDelay < 0.01, `trips ${loss}, engine ${sim.totalDelay}`);
  let crossings = 0;
  for (const i of sim.net.signalised) for (const l of sim.net.incomingLanes(i)) crossings += sim.laneCrossings(l);
  const aps = rec.approachRecords();
  assert.equal(aps.reduce((a, x) => a + x.vehicles, 0), crossings);
  assert.equal(aps.length, 6 * 4);
  assert.ok(aps.every((a) => a.roadName === null), 'a generated grid names no street');
  for (const a of aps) assert.ok(a.queueP50 <= a.queueP95 && a.queueP95 <= a.queueMax);
  const ixs = rec.intersectionRecords();
  assert.equal(ixs.length, 6);
  for (const i of ixs) assert.equal(i.los, levelOfService(i.delayPerVehicle));
});

test('HCM levels of service by control delay, and a window must be positive', () => {
  assert.deepEqual([0, 10, 10.1, 20, 35, 55, 80, 80.1].map(levelOfService), ['A', 'A', 'B', 'B', 'C', 'D', 'E', 'F']);
  assert.throws(() => new RunRecorder(new Simulation(oneSignal()), { window: 0 }), /window must be a positive number of seconds, got 0/);
});
