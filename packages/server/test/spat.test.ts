import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, Simulation } from '@citybrain/engine';
import { intersectionPhases, SignalSupervisor } from '@citybrain/control';
import { intersectionSpat, moyOf, timeMark, TIME_MARK_UNKNOWN, type SpatClock, type SpatIntersectionState } from '@citybrain/server';

// One generated junction (CityFlow's phases): yellow phase 0, greens 1-4. Its roadLinks, by signal group (roadLink + 1):
// 1 west->east straight, 2 west->north left, 3 west->south right (every phase: permissive), 5 south->north straight (phase 2).
// Phase 1 serves groups 1 and 8 (straights), phase 3 groups 2 and 9 (left turns).
const sim = new Simulation(generateGrid({ rows: 1, cols: 1, demand: 0.1 }));
const [ix] = intersectionPhases(sim);
// 1 February 2026 08:30:00 UTC: minute of the year 31*1440 + 8*60 + 30 = 45150
const EPOCH = Date.UTC(2026, 1, 1, 8, 30, 0);
const rules = { minGreen: 10, yellowTime: 5 };
const clock = (time: number): SpatClock => ({ time, interval: 1, epochMs: EPOCH, ...rules });
const group = (s: SpatIntersectionState, g: number) => {
  const m = s.states.movementList.find((x) => x.signalGroup === g);
  assert.ok(m, `signal group ${g}`);
  return m['state-time-speed'].movementEventList[0];
};
// tenths of a second of the hour at 08:mm:ss
const mark = (mm: number, ss: number) => (mm * 60 + ss) * 10;

test('the junction is the one the hand-worked cases assume', () => {
  assert.equal(ix.yellow, 0);
  assert.deepEqual(ix.greens, [1, 2, 3, 4]);
  assert.deepEqual(ix.movements[1].map((m) => m.roadLink - sim.net.interRoadLinkStart[ix.intersection] + 1).sort((a, b) => a - b), [1, 3, 4, 7, 8, 11]);
  assert.deepEqual(ix.movements[3].map((m) => m.roadLink - sim.net.interRoadLinkStart[ix.intersection] + 1).sort((a, b) => a - b), [2, 3, 4, 7, 9, 11]);
});

test('clock fields: moy, timeStamp and TimeMark from the city clock', () => {
  assert.deepEqual(moyOf(EPOCH + 125_000), { moy: 45152, timeStamp: 5000 });
  assert.equal(timeMark(EPOCH + 125_000), mark(32, 5));
  assert.equal(timeMark(Date.UTC(2026, 1, 1, 9, 0, 0, 99)), 0, 'the hour starts again');
  const s = intersectionSpat(sim.net, { ix, status: { green: 1, greenSince: 120, yellowLeft: 0 }, cleared: -1, fallback: false }, clock(125.5));
  assert.equal(s.moy, 45152);
  assert.equal(s.timeStamp, 5500);
  assert.equal(s.name, 'intersection_1_1');
  assert.equal(s.id.id, ix.intersection);
  assert.equal(s.states.movementList.length, 12, 'one signal group per roadLink');
  assert.deepEqual(s.states.movementList.map((m) => m.signalGroup), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(s.states.movementList[0].movementName, 'road_0_1_0->road_1_1_0');
  assert.equal(s.status.trafficDependentOperation, true);
  assert.equal(s.status.fixedTimeOperation, false);
});

test('a green: protected, ending no earlier than its minimum green; a red no earlier than that plus a yellow; a right turn permissive', () => {
  // phase 1 green since 120 s, now 125 s: the minimum green (10 s) runs to 130 s
  const s = intersectionSpat(sim.net, { ix, status: { green: 1, greenSince: 120, yellowLeft: 0 }, cleared: -1, fallback: false }, clock(125));
  assert.deepEqual(group(s, 1), { eventState: 'protected-Movement-Allowed', timing: { minEndTime: mark(32, 10) } });
  assert.deepEqual(group(s, 2), { eventState: 'stop-And-Remain', timing: { minEndTime: mark(32, 15) } });
  assert.deepEqual(group(s, 3), { eventState: 'permissive-Movement-Allowed', timing: { minEndTime: TIME_MARK_UNKNOWN } });
  assert.equal(group(s, 1).timing.maxEndTime, undefined, 'adaptive control: no latest end');
  // minimum green served: the green may end at the next tick, now
  const late = intersectionSpat(sim.net, { ix, status: { green: 1, greenSince: 100, yellowLeft: 0 }, cleared: -1, fallback: true }, clock(125));
  assert.deepEqual(group(late, 1).timing, { minEndTime: mark(32, 5) });
  assert.equal(late.status.fixedTimeOperation, true);
});

test('a phase change: the old green clears (yellow) until the yellow ends, the next green waits exactly that long', () => {
  // phase 1 -> 3 decided at 130 s; read at 131 s after the step, 5 steps of yellow left: the green shows from 135 s
  const s = intersectionSpat(sim.net, { ix, status: { green: 3, greenSince: 120, yellowLeft: 5 }, cleared: 1, fallback: false }, clock(131));
  assert.deepEqual(group(s, 1), { eventState: 'protected-clearance', timing: { minEndTime: mark(32, 15), maxEndTime: mark(32, 15) } });
  assert.deepEqual(group(s, 2), { eventState: 'stop-And-Remain', timing: { minEndTime: mark(32, 15), maxEndTime: mark(32, 15) } });
  // south->north straight is in neither: after the yellow, the next green's minimum and another yellow
  assert.deepEqual(group(s, 5), { eventState: 'stop-And-Remain', timing: { minEndTime: mark(32, 30) } });
  assert.deepEqual(group(s, 3), { eventState: 'permissive-Movement-Allowed', timing: { minEndTime: TIME_MARK_UNKNOWN } });
});

test('the announced ends hold under the supervisor\'s own rules', () => {
  // a real supervisor on its own junction, stepped as the runtime steps it (tick, step), the SPaT read between steps
  const own = new Simulation(generateGrid({ rows: 1, cols: 1, demand: 0.1 }));
  // the controller wants phase 3 from 12 s on
  const sup = new SignalSupervisor(own, { name: 'test', decide: () => (own.time >= 12 ? 3 : 1) }, { ...rules, initialGreen: 1 });
  const sx = sup.env.intersections[0];
  const changes: { t: number; phase: number }[] = [];
  const announced: { t: number; eventState: string; minEndTime: number; maxEndTime?: number }[] = [];
  let shown = own.phase(sx.intersection);
  let cleared = -1;
  for (let k = 0; k < 40; k++) {
    sup.tick();
    const p = own.phase(sx.intersection);
    if (p !== shown) {
      if (p === sx.yellow) cleared = shown;
      changes.push({ t: own.time, phase: p });
      shown = p;
    }
    own.step();
    const e = group(intersectionSpat(own.net, { ix: sx, status: sup.status[0], cleared, fallback: false }, clock(own.time)), 1);
    announced.push({ t: own.time, eventState: e.eventState, ...e.timing });
  }
  assert.deepEqual(changes, [{ t: 12, phase: 0 }, { t: 17, phase: 3 }], 'yellow from 12 s, phase 3 from 17 s');
  // while green (read at 1..12 s) the end was never announced later than it came (12 s)
  for (const a of announced.filter((x) => x.t <= 12)) {
    assert.equal(a.eventState, 'protected-Movement-Allowed', `at ${a.t} s`);
    assert.ok(a.minEndTime <= mark(30, 12), `at ${a.t} s`);
  }
  assert.equal(announced.find((x) => x.t === 12)?.minEndTime, mark(30, 12), 'the minimum served: it may end at the next tick');
  // through the yellow the end is exact
  for (const a of announced.filter((x) => x.t > 12 && x.t <= 17)) {
    assert.deepEqual(a, { t: a.t, eventState: 'protected-clearance', minEndTime: mark(30, 17), maxEndTime: mark(30, 17) });
  }
  assert.equal(announced.find((x) => x.t === 18)?.eventState, 'stop-And-Remain');
});
