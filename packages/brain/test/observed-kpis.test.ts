import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, generateGrid } from '@citybrain/engine';
import { LaneEstimate, ObservedKpis, TimeBuckets, type Event, type LaneEvent, type PlateEvent, type PlatePosition } from '@citybrain/brain';

// a 1 x 2 grid: road_0_1_0 enters at the west, crosses intersection_1_1, road_1_1_0, intersection_2_1, and road_2_1_0 leaves at the east
const net = new Network(generateGrid({ rows: 1, cols: 2 }).roadnet);
const T0 = 1_800_000_000_000;
const at = (s: number) => T0 + s * 1000;

let seq = 0;
function read(plate: string, position: PlatePosition, s: number, more: Partial<PlateEvent> = {}): PlateEvent {
  return { kind: 'plate', id: `r${seq++}`, device: 'cam-1', ts: at(s), plate, camera: 'cam-1', intersection: 'intersection_1_1', confidence: 0.95, position, ...more };
}

/** A trip: entry read at `s`, exit read `d` seconds later. */
function trip(plate: string, s: number, d: number, exitPlate = plate): PlateEvent[] {
  return [read(plate, 'entry', s), read(exitPlate, 'exit', s + d)];
}

function lane(id: string, s: number, more: Partial<LaneEvent>): LaneEvent {
  return { kind: 'lane', id: `l${seq++}`, device: 'det-1', ts: at(s), intersection: 'intersection_1_1', lane: id, count: 0, occupancy: 0, speed: 0, interval: 5, ...more };
}

test('travel time is the mean of the trips completed in the window; throughput counts exit reads over the last 5 minutes', () => {
  const k = new ObservedKpis(net, { travelTimeWindowSeconds: 600 });
  k.apply([...trip('浙A11111', 0, 100), ...trip('浙A22222', 10, 200), ...trip('浙A33333', 20, 300)]);
  const s1 = k.sample(at(330));
  assert.equal(s1.averageTravelTime, 200);
  assert.equal(s1.finishedVehicles, 3);
  assert.equal(s1.vehiclesInNetwork, 0);
  assert.equal(k.matchRate, 1);
  // exits at 100, 210, 320 and now 335: four in the 5 minutes to 340 s
  k.apply(trip('浙A44444', 300, 35));
  const s2 = k.sample(at(340));
  assert.equal(s2.throughput, 48, 'four exits in 5 min are 48 an hour');
  assert.equal(s2.averageTravelTime, 158.8, '(100 + 200 + 300 + 35) / 4, to 0.1 s');
  // ten minutes on, the first three trips have left the window
  const s3 = k.sample(at(335 + 600));
  assert.equal(s3.averageTravelTime, 0, 'no trip completed in the window');
  assert.equal(s3.throughput, 0);
  assert.equal(s3.finishedVehicles, 4);
  assert.equal(s3.t, 935, 't counts from the first event');
});

test('the rolling travel time follows the last 10 minutes; the one since the start keeps every trip', () => {
  const k = new ObservedKpis(net, { travelTimeWindowSeconds: 600 });
  // early: ten short trips of 60 s, ending by 150 s
  for (let i = 0; i < 10; i++) k.apply(trip(`浙A1000${i}`, i * 9, 60));
  const early = k.sample(at(160));
  assert.equal(early.averageTravelTime, 60);
  assert.equal(early.averageTravelTimeSinceStart, 60);
  // later, in gridlock: five trips of 600 s, ending from 1000 s on
  for (let i = 0; i < 5; i++) k.apply(trip(`浙A2000${i}`, 400 + i * 10, 600));
  const late = k.sample(at(1100));
  assert.equal(late.averageTravelTime, 600, 'the short trips have left the window');
  assert.equal(late.averageTravelTimeSinceStart, 240, '(10 x 60 + 5 x 600) / 15');
  // an hour on, nothing completes: the rolling one is 0, the one since the start stays
  const quiet = k.sample(at(4000));
  assert.deepEqual([quiet.averageTravelTime, quiet.averageTravelTimeSinceStart], [0, 240]);
  // a restart continues it; a state saved before it existed starts it afresh
  const state = k.exportState();
  const again = new ObservedKpis(net, { travelTimeWindowSeconds: 600 });
  again.importState(state);
  assert.equal(again.sample(at(4010)).averageTravelTimeSinceStart, 240);
  const { tripSeconds: _s, timedTrips: _n, ...older } = state.stats;
  const before = new ObservedKpis(net, { travelTimeWindowSeconds: 600 });
  before.importState({ ...state, stats: older as typeof state.stats });
  assert.equal(before.sample(at(4010)).averageTravelTimeSinceStart, 0);
  before.apply(trip('浙A30000', 4000, 90));
  assert.equal(before.sample(at(4100)).averageTravelTimeSinceStart, 90);
});

test('an exit read one confusable character away from a unique open entry is matched; other differences are not', () => {
  const k = new ObservedKpis(net);
  k.apply([
    ...trip('浙A12345', 0, 100, '浙A1Z345'), // 2 read as Z
    ...trip('浙AB8D00', 5, 120, '浙A88D00'), // B read as 8
    ...trip('浙A55555', 10, 90, '浙A55556'), // 5 and 6 are not confused
    ...trip('浙A77777', 15, 90, '浙A1777I'), // two characters differ
  ]);
  const s = k.sample(at(200));
  assert.equal(k.stats.matched, 2);
  assert.equal(k.stats.fuzzyMatched, 2);
  assert.equal(s.averageTravelTime, 110);
  assert.equal(k.matchRate, 0.5);
  assert.equal(s.finishedVehicles, 4);
});

test('ambiguous candidates are not matched; a candidate outside the trip window is no candidate', () => {
  const k = new ObservedKpis(net, { maxTripSeconds: 1000 });
  // 浙A8D000 is one confusable character from both 浙ABD000 and 浙A80000
  k.apply([read('浙ABD000', 'entry', 0), read('浙A80000', 'entry', 10), read('浙A8D000', 'exit', 100)]);
  k.sample(at(110));
  assert.equal(k.stats.matched, 0);
  assert.equal(k.stats.ambiguous, 1);
  // both stay open: their own exits match exactly
  k.apply([read('浙ABD000', 'exit', 200), read('浙A80000', 'exit', 210)]);
  assert.equal(k.sample(at(220)).averageTravelTime, 200);
  assert.equal(k.stats.matched, 2);

  const w = new ObservedKpis(net, { maxTripSeconds: 1000 });
  // 浙A80000 entered after the exit read (which arrives late): only 浙ABD000 is a candidate
  w.apply([read('浙ABD000', 'entry', 0), read('浙A80000', 'entry', 150)]);
  w.sample(at(160));
  w.apply([read('浙A8D000', 'exit', 100)]);
  assert.deepEqual([w.stats.matched, w.stats.fuzzyMatched, w.stats.ambiguous], [1, 1, 0]);
  // an entry older than maxTripSeconds is no candidate either
  const old = new ObservedKpis(net, { maxTripSeconds: 1000, lateSeconds: 2000 });
  old.apply([read('浙ABD000', 'entry', 0), read('浙A80000', 'entry', 900), read('浙A8D000', 'exit', 1500)]);
  old.sample(at(1510));
  assert.deepEqual([old.stats.matched, old.stats.ambiguous], [1, 0]);
  assert.equal(old.sample(at(1520)).averageTravelTime, 600);
});

test('duplicates (same device and id) are ignored, whatever batch they come in', () => {
  const events = [...trip('浙A11111', 0, 100), ...trip('浙A22222', 10, 50)];
  const once = new ObservedKpis(net);
  once.apply(events);
  const twice = new ObservedKpis(net);
  twice.apply(events);
  twice.apply(events.slice(1));
  twice.apply([events[0], events[0]]);
  assert.deepEqual(twice.sample(at(200)), once.sample(at(200)));
  assert.equal(twice.stats.duplicates, 5);
  assert.equal(twice.stats.exitReads, 2);
  // another device may use the same id
  twice.apply([{ ...events[3], device: 'cam-2', plate: '浙A99999' }]);
  assert.equal(twice.stats.exitReads, 3);
});

test('reads out of order within the settle time match as if in order; late entries still match; too late ones are refused', () => {
  // in time order, 浙A8D000's exit at 100 has two candidates (浙A80000 and 浙ABD000): ambiguous; 浙A80000's own exit comes at 102
  const events = [
    ...trip('浙A12345', 0, 100, '浙A1Z345'), ...trip('浙A80000', 20, 82), ...trip('浙ABD000', 30, 70, '浙A8D000'),
    ...trip('浙A55555', 40, 70), ...trip('浙A66666', 45, 75),
  ];
  const inOrder = new ObservedKpis(net);
  inOrder.apply([...events].sort((a, b) => a.ts - b.ts));
  const expected = inOrder.sample(at(300));
  assert.deepEqual([inOrder.stats.matched, inOrder.stats.ambiguous], [4, 1]);
  // one at a time, each delayed by up to 4.9 s: 浙A8D000's exit arrives after 浙A80000's
  const shuffled = new ObservedKpis(net);
  const delay = (e: PlateEvent) => (e.plate === '浙A8D000' ? 4500 : e.plate === '浙A80000' ? 0 : (events.indexOf(e) * 1237) % 4900);
  const byArrival = [...events].sort((a, b) => a.ts + delay(a) - (b.ts + delay(b)));
  assert.ok(byArrival.findIndex((e) => e.plate === '浙A8D000') > byArrival.findIndex((e) => e.plate === '浙A80000' && e.position === 'exit'));
  for (const e of byArrival) shuffled.apply([e]);
  assert.deepEqual(shuffled.sample(at(300)), expected);
  assert.deepEqual(shuffled.stats, inOrder.stats);

  // an entry read delivered 2 minutes late (its exit already processed, unmatched) is matched when it comes
  const late = new ObservedKpis(net);
  const [entry, exit] = trip('浙A77777', 0, 60);
  late.apply([exit, read('浙A00001', 'stop-line', 150)]);
  assert.equal(late.sample(at(180)).vehiclesInNetwork, 0);
  assert.equal(late.stats.matched, 0);
  late.apply([entry]);
  const s = late.sample(at(190));
  assert.equal(late.stats.matched, 1);
  assert.equal(s.averageTravelTime, 60);
  assert.equal(s.vehiclesInNetwork, 0, 'the exit read is no longer counted as one without an entry');
  // a confusable late entry matches too
  late.apply([read('浙A8888B', 'exit', 200)]);
  late.sample(at(260));
  late.apply([read('浙A88888', 'entry', 170)]);
  assert.deepEqual([late.stats.matched, late.stats.fuzzyMatched], [2, 1]);
  // beyond lateSeconds behind the newest event: refused
  late.apply([read('浙A99999', 'exit', 1000), read('浙A99990', 'exit', 1000 - 601)]);
  assert.equal(late.stats.tooLate, 1);
  assert.equal(late.stats.exitReads, 3);
});

test('an entry never matched expires after the maximum trip time', () => {
  const k = new ObservedKpis(net, { maxTripSeconds: 600 });
  k.apply([read('浙A11111', 'entry', 0), read('浙A22222', 'entry', 100)]);
  assert.equal(k.sample(at(110)).vehiclesInNetwork, 2);
  assert.equal(k.sample(at(650)).vehiclesInNetwork, 1);
  assert.equal(k.stats.expired, 1);
  // its exit after the expiry matches nothing
  k.apply([read('浙A11111', 'exit', 660)]);
  const s = k.sample(at(760));
  assert.equal(k.stats.matched, 0);
  assert.equal(s.vehiclesInNetwork, 0);
  assert.equal(k.memory().openTrips, 0);
});

test('reads below the confidence threshold are never matched; their exits still count as finished vehicles', () => {
  const k = new ObservedKpis(net, { minConfidence: 0.6 });
  k.apply([
    read('浙A11111', 'entry', 0, { confidence: 0.3 }), read('浙A11111', 'exit', 100),
    read('浙A22222', 'entry', 0), read('浙A22222', 'exit', 100, { confidence: 0.5 }),
    read('浙A33333', 'entry', 10), read('浙A44444', 'entry', 20, { confidence: 0.2 }),
  ]);
  const s = k.sample(at(150));
  assert.equal(k.stats.matched, 0);
  assert.equal(k.stats.lowConfidence, 3);
  assert.equal(s.finishedVehicles, 2);
  // the doubtful entry of 浙A11111 leaves its exit read without an entry, the doubtful exit of 浙A22222 its trip open
  assert.deepEqual([k.memory().openTrips, k.memory().pendingExits], [2, 1]);
});

test('memory stays bounded over a long run with missed and misread plates, and the vehicle balance stays unbiased', () => {
  const k = new ObservedKpis(net, { maxTripSeconds: 1800 });
  let x = 12345;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
  const chars = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  const confuse: Record<string, string> = { '0': 'D', '8': 'B', '5': 'S', '2': 'Z', '1': '7', D: '0', B: '8', S: '5', Z: '2', '7': '1' };
  const exits: [number, PlateEvent][] = [];
  const inside: [number, number][] = [];
  const sizes: number[][] = [];
  const errors: number[] = [];
  let exitN = 0;
  for (let s = 0; s < 12 * 3600; s++) {
    const batch: Event[] = [];
    // one vehicle a second, trips of 200..400 s
    let p = '浙A';
    for (let c = 0; c < 5; c++) p += chars[Math.floor(rnd() * chars.length)];
    const d = 200 + Math.floor(rnd() * 200);
    inside.push([s, s + d]);
    if (rnd() >= 0.05) batch.push(read(p, 'entry', s));
    if (rnd() >= 0.05) {
      const i = 2 + Math.floor(rnd() * 5);
      const q = rnd() < 0.05 && confuse[p[i]] ? p.slice(0, i) + confuse[p[i]] + p.slice(i + 1) : p;
      exits.push([s + d, read(q, 'exit', s + d)]);
    }
    for (let j = 0; j < exits.length; j++) if (exits[j][0] <= s) batch.push(exits[j][1]);
    for (let j = exits.length - 1; j >= 0; j--) if (exits[j][0] <= s) exits.splice(j, 1);
    k.apply(batch);
    exitN += batch.filter((e) => e.kind === 'plate' && e.position === 'exit').length;
    if (s % 3600 === 3599) {
      const m = k.memory();
      sizes.push([m.openTrips, m.pendingExits, m.dedupKeys, m.lastReads, m.buffered]);
      const truth = inside.filter(([a, b]) => a <= s && b > s).length;
      errors.push(Math.abs(k.sample(at(s)).vehiclesInNetwork - truth) / truth);
      while (inside.length && inside[0][1] <= s - 1000) inside.shift();
    }
  }
  assert.equal(k.stats.exitReads, exitN);
  // held: open trips within 30 min (one a second: at most 1800 + the ~300 in the network), 10 min of reads, unmatched exits of 10 min
  for (const [open, pending, dedup, , buffered] of sizes.slice(1)) {
    assert.ok(open <= 2200, `open trips ${open}`);
    assert.ok(pending <= 100, `pending exits ${pending}`);
    assert.ok(dedup <= 1400, `dedup keys ${dedup}`);
    assert.ok(buffered <= 20, `buffered ${buffered}`);
  }
  const [first, last] = [sizes[2], sizes[sizes.length - 1]];
  for (let j = 0; j < first.length; j++) assert.ok(last[j] <= first[j] * 1.3 + 10, `after 3 h and 12 h: ${first} vs ${last}`);
  // 5% of exits misread in one confusable character: most are matched; ~90% of exits have their entry
  assert.ok(k.matchRate > 0.88 && k.matchRate < 0.96, `match rate ${k.matchRate}`);
  assert.ok(Math.max(...errors.slice(1)) < 0.08, `vehicles in network within 8% (some 300 inside; 5% of entries and exits missed): ${errors.map((e) => e.toFixed(3))}`);
});

test('open trips beyond maxOpenTrips drop the oldest', () => {
  const k = new ObservedKpis(net, { maxOpenTrips: 3 });
  k.apply(['浙A00001', '浙A00002', '浙A00003', '浙A00004', '浙A00005'].map((p, i) => read(p, 'entry', i)));
  k.sample(at(10));
  assert.equal(k.memory().openTrips, 3);
  assert.equal(k.stats.expired, 2);
  k.apply([read('浙A00001', 'exit', 20), read('浙A00005', 'exit', 20)]);
  assert.equal(k.stats.matched, 0);
  k.sample(at(30));
  assert.equal(k.stats.matched, 1, 'the newest is still open');
});

test('queues, vehicles and the congestion index come from the detectors: video counts, loop estimates (the lane estimate\'s), stale reports dropped', () => {
  const k = new ObservedKpis(net, { staleSeconds: 30 });
  const limit = net.maxSpeed[net.laneIndex.get('road_0_1_0_0')!];
  const reports = [
    // video: 6 vehicles, 4 stopped, moving at a quarter of the limit
    lane('road_0_1_0_0', 0, { vehicles: 6, queue: 4, speed: limit / 4, occupancy: 0.2 }),
    // a stop-line loop held by a standing vehicle, nothing passing
    lane('road_0_1_0_1', 0, { occupancy: 0.9, speed: 0, count: 0 }),
    // a loop passing vehicles freely
    lane('road_2_1_0_0', 0, { occupancy: 1 / 9, speed: limit, count: 3 }),
  ];
  k.apply(reports);
  const est = new LaneEstimate(net);
  est.apply(reports);
  const [v, l1, l2] = ['road_0_1_0_0', 'road_0_1_0_1', 'road_2_1_0_0'].map((id) => net.laneIndex.get(id)!);
  assert.ok(est.queue[l1] >= 1 && est.queue[l2] === 0, 'a standing loop has a queue, a free one none');
  const s = k.sample(at(5));
  assert.equal(s.queued, 4 + est.queue[l1] + est.queue[l2]);
  assert.equal(s.vehiclesInNetwork, 6 + est.vehicles[l1] + est.vehicles[l2], 'no checkpoint camera: what the detectors see');
  const n1 = est.vehicles[l1], n2 = est.vehicles[l2];
  const free = (6 + n1 + n2) * limit, moving = 6 * (limit / 4) + n1 * 0 + n2 * limit;
  assert.equal(s.congestionIndex, Math.round(Math.min(10, free / Math.max(moving, free / 10)) * 1000) / 1000);
  // regions: by default one, the signalised intersections' approaches; road_2_1_0 leaves the city and is no approach
  assert.deepEqual(Object.keys(s.regions), ['city']);
  assert.equal(s.regions.city.vehicles, 6 + n1);
  assert.equal(s.regions.city.queued, 4 + est.queue[l1]);
  assert.equal(est.vehicles[v], 6);
  // an older report arriving late does not replace a newer one; a stale one no longer counts
  k.apply([lane('road_0_1_0_0', -5, { vehicles: 30, queue: 30 }), lane('road_0_1_0_1', 20, { occupancy: 0, speed: 0, count: 0 })]);
  assert.equal(k.sample(at(25)).queued, 4);
  assert.equal(k.sample(at(45)).queued, 0, 'road_0_1_0_0 last reported 45 s ago');
  k.apply([lane('road_nowhere_0', 46, { vehicles: 3 })]);
  assert.equal(k.stats.unknownLanes, 1);
});

test('regions sum their own intersections\' approaches', () => {
  const [w, e] = [net.interIndex.get('intersection_1_1')!, net.interIndex.get('intersection_2_1')!];
  const k = new ObservedKpis(net, { regions: [{ id: 'west', intersections: [w] }, { id: 'east', intersections: [e] }] });
  k.apply([lane('road_0_1_0_0', 0, { vehicles: 5, queue: 5 }), lane('road_1_1_0_0', 0, { vehicles: 2, queue: 0, speed: 10 })]);
  const s = k.sample(at(1));
  assert.deepEqual(s.regions.west, { queued: 5, vehicles: 5, meanSpeed: 0, congestionIndex: 10, standingLanes: 0 });
  assert.equal(s.regions.east.vehicles, 2);
  assert.equal(s.regions.east.meanSpeed, 10);
  assert.equal(s.regions.east.congestionIndex, Math.round((16.67 / 10) * 1000) / 1000);
  assert.throws(() => new ObservedKpis(net, { regions: [{ id: 'x', intersections: [99] }] }), /region "x": 99 is not an intersection index/);
});

test('parking occupancy is over the bays the events name; an older change arriving late is ignored', () => {
  const k = new ObservedKpis(net);
  const bay = (b: string, s: number, occupied: boolean): Event => ({ kind: 'parking', id: `b${seq++}`, device: 'park-1', ts: at(s), bay: b, occupied });
  assert.equal(k.sample(at(0)).parkingOccupancy, 0);
  k.apply([bay('a', 0, true), bay('b', 0, false), bay('c', 0, true), bay('d', 0, true)]);
  assert.equal(k.sample(at(1)).parkingOccupancy, 0.75);
  k.apply([bay('a', 10, false), bay('a', 5, true)]);
  assert.equal(k.sample(at(11)).parkingOccupancy, 0.5);
});

test('road travel times from consecutive reads: entry to stop line, stop line to stop line, stop line to exit', () => {
  const k = new ObservedKpis(net);
  const ln = (road: string) => ({ lane: `${road}_1` });
  const drive = (p: string, s: number, legs: number[]) => [
    read(p, 'entry', s, ln('road_0_1_0')),
    read(p, 'stop-line', s + legs[0], ln('road_0_1_0')),
    read(p, 'stop-line', s + legs[0] + legs[1], ln('road_1_1_0')),
    read(p, 'exit', s + legs[0] + legs[1] + legs[2], ln('road_2_1_0')),
  ];
  k.apply([...drive('浙A11111', 0, [20, 30, 25]), ...drive('浙A22222', 10, [30, 40, 25])]);
  // stop-line reads of plates a road apart that is no road between them: the vehicle's route is unknown, no passage
  k.apply([read('浙A33333', 'stop-line', 0, ln('road_0_1_0')), read('浙A33333', 'stop-line', 50, ln('road_2_1_3'))]);
  const rt = k.roadTravelTimes(at(200));
  const r = (id: string) => net.roadIndex.get(id)!;
  assert.equal(rt.seconds[r('road_0_1_0')], 25);
  assert.equal(rt.seconds[r('road_1_1_0')], 35);
  assert.equal(rt.seconds[r('road_2_1_0')], 25);
  assert.deepEqual([rt.samples[r('road_0_1_0')], rt.samples[r('road_1_1_0')], rt.samples[r('road_2_1_0')]], [2, 2, 2]);
  assert.ok(Number.isNaN(rt.seconds[r('road_2_1_3')]));
  const none = new ObservedKpis(net).roadTravelTimes();
  assert.ok(none.seconds.every(Number.isNaN) && none.samples.every((n) => n === 0), 'nothing timed before any event');
  assert.equal(k.stats.segments, 6);
  assert.equal(k.memory().lastReads, 1, 'exits end a plate\'s passages');
  // out of the window ten minutes later
  assert.equal(k.roadTravelTimes(at(900)).samples[r('road_1_1_0')], 0);
});

test('exported state continues where it stopped, and refuses another network', () => {
  const events = [
    ...trip('浙A11111', 0, 100), ...trip('浙A22222', 10, 200, '浙AZ2222'), read('浙A33333', 'entry', 50),
    lane('road_0_1_0_0', 60, { vehicles: 3, queue: 2, speed: 1 }),
    { kind: 'parking', id: 'p1', device: 'park-1', ts: at(60), bay: 'a', occupied: true } as Event,
    ...trip('浙A44444', 150, 100), read('浙A55555', 'exit', 262), read('浙A55555', 'entry', 240),
  ];
  events.sort((a, b) => a.ts - b.ts);
  const cut = events.findIndex((e) => e.ts > at(150));
  const a = new ObservedKpis(net);
  a.apply(events.slice(0, cut));
  a.sample(at(150));
  const state = structuredClone(a.exportState());
  const b = new ObservedKpis(net);
  b.importState(state);
  assert.deepEqual(b.memory(), a.memory());
  for (const k of [a, b]) k.apply(events.slice(cut));
  // a retried event is still a duplicate after the restart
  b.apply([events[1]]);
  assert.equal(b.stats.duplicates, 1);
  const sa = a.sample(at(300));
  assert.deepEqual(b.sample(at(300)), sa);
  assert.deepEqual({ ...b.stats, duplicates: 0 }, a.stats);
  assert.equal(sa.averageTravelTime, (100 + 200 + 100 + 22) / 4);
  assert.deepEqual(b.roadTravelTimes(at(300)), a.roadTravelTimes(at(300)));
  const other = new ObservedKpis(new Network(generateGrid({ rows: 2, cols: 2 }).roadnet));
  assert.throws(() => other.importState(state), /observed KPIs state: \d+ lanes and \d+ roads, this network has/);
  assert.throws(() => new ObservedKpis(net, { travelTimeWindowSeconds: 1200 }).importState(state), /trips/);
});

test('bad options and sample times are refused by name', () => {
  assert.throws(() => new ObservedKpis(net, { minConfidence: 2 }), /minConfidence must be in 0\.\.1/);
  assert.throws(() => new ObservedKpis(net, { maxTripSeconds: -1 }), /maxTripSeconds must be a number >= 1/);
  assert.throws(() => new ObservedKpis(net, { confusions: ['0O', 'O8'] }), /"O" is in two classes/);
  assert.throws(() => new ObservedKpis(net).sample(NaN), /sample needs a time in epoch ms/);
});

test('time buckets sum a sliding window in fixed memory and refuse what is older than they reach', () => {
  const b = new TimeBuckets(1000, 10);
  assert.equal(b.sum(-Infinity, Infinity), 0, 'empty before the first value');
  assert.ok(b.add(at(0), 0, 1));
  assert.ok(b.add(at(5.5), 0, 2));
  assert.equal(b.sum(at(-1), at(10)), 3);
  assert.equal(b.sum(at(0), at(10)), 2, 'the bucket holding fromTs is left out');
  assert.ok(b.add(at(12), 0, 4));
  assert.equal(b.sum(at(-100), at(12)), 6, 'second 0 has left the ring');
  assert.equal(b.add(at(2), 0, 1), false);
  assert.ok(b.add(at(3), 0, 1));
  b.advance(at(100));
  assert.equal(b.sum(at(-100), at(100)), 0);
});

test('the KPIs count what the lane estimate makes of a report: one rule, whether they read the brain\'s estimate or keep their own', () => {
  const id = 'road_1_1_0_0';
  const l = net.laneIndex.get(id)!;
  const events = [lane(id, 0, { occupancy: 0.9, speed: 0.5 }), lane(id, 5, { occupancy: 0.9, speed: 0.5, count: 0 })];
  const estimate = new LaneEstimate(net);
  estimate.apply(events);
  const shared = new ObservedKpis(net, { estimate });
  shared.apply(events);
  const own = new ObservedKpis(net);
  own.apply(events);
  const a = shared.sample(T0 + 6000), b = own.sample(T0 + 6000);
  assert.ok(estimate.queue[l] >= 1, 'a loop occupied and slow: a queue stands over it');
  assert.equal(a.queued, estimate.queue[l]);
  assert.equal(b.queued, a.queued);
  assert.deepEqual(b.regions, a.regions);
  assert.throws(() => new ObservedKpis(net, { estimate: new LaneEstimate(new Network(generateGrid({ rows: 2, cols: 2 }).roadnet)) }), /another network/);
});

test('the gridlock alarm: three lanes of a region holding stopped vehicles with none crossing for five minutes; not a red light, not a silent detector', () => {
  const [w, e] = [net.interIndex.get('intersection_1_1')!, net.interIndex.get('intersection_2_1')!];
  // the brain's lane estimate, which outlives a restart of the KPIs (the runtime's)
  const estimate = new LaneEstimate(net);
  const regions = [{ id: 'west', intersections: [w] }, { id: 'east', intersections: [e] }];
  const k = new ObservedKpis(net, { regions, estimate });
  const feed = (events: Event[]) => {
    estimate.apply(events);
    k.apply(events);
  };
  // the west intersection's three approaches from the west, three lanes each: the left, through and right lanes of road_0_1_0
  const west = ['road_0_1_0_0', 'road_0_1_0_1', 'road_0_1_0_2'];
  const report = (s: number, counts: number[], queue = 8) => feed(west.map((id, j) => lane(id, s, { vehicles: queue, queue, count: counts[j] })));
  // a red light: queues stand two minutes, then the green lets them go
  for (let s = 0; s <= 120; s += 10) {
    report(s, [0, 0, 0]);
    assert.equal(k.sample(at(s)).gridlock, null);
  }
  report(130, [3, 3, 3]);
  assert.equal(k.sample(at(130)).gridlock, null);
  // then nothing moves again: the alarm comes five minutes after the last crossing, naming the region
  let first = -1;
  for (let s = 140; s <= 500; s += 10) {
    report(s, [0, 0, 0]);
    const g = k.sample(at(s)).gridlock;
    if (g && first < 0) first = s;
  }
  assert.equal(first, 430, 'standing since the sample at 130 s, 300 s on');
  const s1 = k.sample(at(500));
  assert.deepEqual(s1.gridlock, { regions: ['west'], standingLanes: 3, queued: 24, since: at(130) });
  assert.equal(s1.regions.west.standingLanes, 3);
  assert.equal(s1.regions.east.standingLanes, 0);
  // the state carries it across a restart
  const again = new ObservedKpis(net, { regions, estimate });
  again.importState(k.exportState());
  assert.deepEqual(again.sample(at(500)).gridlock, s1.gridlock);
  // one lane moving again leaves two standing: below the three a gridlock needs
  report(510, [0, 1, 0]);
  assert.equal(k.sample(at(510)).gridlock, null);
  assert.equal(k.sample(at(510)).regions.west.standingLanes, 2);
  // a detector gone silent says nothing about its queue: past staleSeconds its lane no longer stands
  feed([lane('road_0_1_0_1', 520, { vehicles: 8, queue: 8 }), lane('road_0_1_0_0', 520, { vehicles: 8, queue: 8 })]);
  assert.equal(k.sample(at(600)).regions.west.standingLanes, 0, 'road_0_1_0_2 last reported at 510 s, the others at 520 s: 80 s ago');
});

test('a short queue standing still is no gridlock', () => {
  const k = new ObservedKpis(net);
  for (let s = 0; s <= 900; s += 10) {
    k.apply(['road_0_1_0_0', 'road_0_1_0_1', 'road_0_1_0_2'].map((id) => lane(id, s, { vehicles: 2, queue: 2 })));
    assert.equal(k.sample(at(s)).gridlock, null);
  }
});

test('throughput in the first minutes counts over the time since the first event, then over 5 minutes', () => {
  const k = new ObservedKpis(net);
  k.apply([...trip('浙A10001', 0, 10), ...trip('浙A10002', 0, 20), ...trip('浙A10003', 0, 30)]);
  assert.equal(k.sample(at(30)).throughput, 360, 'three exits in the first 30 s');
  assert.equal(k.sample(at(600)).throughput, 0, 'none in the 5 minutes to 600 s');
  assert.throws(() => new ObservedKpis(net, { throughputWindowSeconds: 7200 }), /throughputWindowSeconds must be at most 3600/);
});

test('plates held as keyed hashes (plateKey): the same trips, fuzzy matches and road times as clear plates, and no clear plate in the exported state', async () => {
  const { createHmac } = await import('node:crypto');
  const { storedPlate } = await import('@citybrain/brain');
  const keyer = (p: string) => createHmac('sha256', 'city key').update(p).digest('base64url');
  const key = (p: string) => storedPlate(keyer, p);
  const clear = new ObservedKpis(net, {});
  const keyed = new ObservedKpis(net, { plateKey: key });
  const events: PlateEvent[] = [
    ...trip('浙A12345', 0, 100),
    // exit misread in one confusable character (5 -> S): matched through the read's clear variants, hashed
    ...trip('浙A88885', 10, 120, '浙A8888S'),
    // an entry read arriving after its exit, misread (0 -> D)
    read('浙A54321', 'exit', 200), read('浙AS4321', 'entry', 90),
    read('浙A77777', 'entry', 300),
    read('浙A77777', 'stop-line', 320, { lane: 'road_1_1_0_0', intersection: 'intersection_2_1' }),
    read('浙A77777', 'exit', 360, { lane: 'road_2_1_0_0', intersection: 'intersection_2_1' }),
    read('浙A99999', 'entry', 400),
  ];
  for (const k of [clear, keyed]) k.apply(events.map((e) => ({ ...e })));
  for (const k of [clear, keyed]) k.apply([lane('road_0_1_0_0', 500, {})]);
  assert.deepEqual(keyed.stats, clear.stats);
  assert.ok(clear.stats.fuzzyMatched >= 2 && clear.stats.matched >= 4, `matched ${clear.stats.matched}, fuzzy ${clear.stats.fuzzyMatched}`);
  assert.deepEqual(keyed.sample(at(500)), clear.sample(at(500)));
  const state = keyed.exportState();
  const text = JSON.stringify([state.open, state.pending, state.lastReads, state.buffer]);
  assert.ok(!text.includes('浙'), 'no clear plate in the state');
  assert.ok(state.open.length > 0 && state.open.every(([p]) => /^#[A-Za-z0-9_-]{15}$/.test(p)));
  // restarted from it, an exit read (clear) matches the open entry (keyed) exactly
  const again = new ObservedKpis(net, { plateKey: key });
  again.importState(state);
  again.apply([read('浙A99999', 'exit', 450), lane('road_0_1_0_0', 460, {})]);
  assert.equal(again.stats.matched, keyed.stats.matched + 1);
});
