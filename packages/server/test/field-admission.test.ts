import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import type { Event, LaneEvent } from '@citybrain/brain';
import type { RunningServer } from '@citybrain/server';
import { startTestServer, until } from './helpers.js';

// Issue #14: the virtual city's events skipped validation (a second FieldEvent type, cast to Event, handed straight to
// the store). Its devices now pass the admission every device passes: schema, normalisation, lane check and scope.

/** citybrain_ingest_rejected_total for the virtual city and `reason`, 0 when never counted. */
async function refused(server: RunningServer, reason: string): Promise<number> {
  const m = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`^citybrain_ingest_rejected_total\\{source="virtual-city",reason="${reason}"\\} (\\d+)$`, 'm').exec(m)?.[1] ?? 0);
}

/** citybrain_ingest_events_{accepted,duplicate}_total for the virtual city, 0 when never counted. */
async function ingestedCount(server: RunningServer, what: 'accepted' | 'duplicate'): Promise<number> {
  const m = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`^citybrain_ingest_events_${what}_total\\{source="virtual-city"\\} (\\d+)$`, 'm').exec(m)?.[1] ?? 0);
}

/** Events ingestion has answered for: stored, or known already (its devices deliver a report twice now and then: sensing.ts). */
async function answered(server: RunningServer): Promise<number> {
  return (await ingestedCount(server, 'accepted')) + (await ingestedCount(server, 'duplicate'));
}

/**
 * Steps the server's city `n` times, waiting after each detector period until ingestion has taken in all it
 * reported (so the brain's estimate, which the controllers read, follows the street and the signals change).
 */
async function run(server: RunningServer, n: number): Promise<void> {
  const rt = server.runtime;
  for (let k = 1; k <= n; k++) {
    await rt.stepOnce();
    if (k % 5 === 0 || k === n) await until(async () => rt.pendingEvents === 0 && (await answered(server)) === rt.eventsDelivered, 10_000, 'ingestion to take in the city\'s events');
  }
}

test('every event the default city reports over ten simulated minutes passes the devices\' admission (its simulated clock runs ahead of the server\'s)', async () => {
  const lines: string[] = [];
  // the city `citybrain serve` runs by default
  const t = await startTestServer('field-ok', generateGrid({ rows: 4, cols: 4, demand: 0.05 }), {
    breakdownsPerHour: 2, logger: { level: 'info', destination: { write: (l: string) => void lines.push(l) } },
  });
  try {
    const { server } = t;
    // stepped as fast as it goes: ten simulated minutes end well ahead of the wall clock, beyond the 5 min skew devices get
    await run(server, 60);
    // an ambulance's AVL unit is a device that comes with it: admitted under its own vehicle scope
    server.runtime.emergency.dispatch({ id: 'amb-1', route: ['road_0_1_0', 'road_1_1_0', 'road_2_1_0', 'road_3_1_0', 'road_4_1_0'] });
    await run(server, 540);
    assert.ok(server.runtime.ts - Date.now() > 5 * 60_000, 'the city ran ahead of the server clock');
    assert.deepEqual(lines.filter((l) => l.includes('virtual-city event refused')), []);
    for (const reason of ['invalid', 'forbidden']) assert.equal(await refused(server, reason), 0, reason);
    const stored = await server.store.count();
    assert.ok(stored > 1000, `stored ${stored}`);
    assert.equal(stored, server.runtime.eventsDelivered - (await ingestedCount(server, 'duplicate')), 'every event delivered stored once');
    for (const kind of ['lane', 'plate', 'parking', 'signal', 'avl'] as const) assert.ok((await server.store.count({ kind })) > 0, `${kind} events stored`);
    // the default devices: checkpoint cameras where vehicles enter and leave, misread plates, and reports delivered twice, all admitted
    const plates = await server.store.query({ kind: 'plate', limit: 10_000 });
    for (const position of ['entry', 'exit'] as const) assert.ok(plates.some((e) => e.kind === 'plate' && e.position === position), `${position} plate reads stored`);
    assert.ok(plates.some((e) => e.kind === 'plate' && e.confidence < 0.9), 'misread plates (lower confidence) stored');
    assert.ok((await ingestedCount(server, 'duplicate')) > 0, 'duplicates delivered and recognised');
    assert.ok((await server.store.count({ device: 'avl-amb-1' })) > 20, 'the ambulance reported its way');
  } finally {
    await t.cleanup();
  }
});

test('an invalid or out-of-scope event from a virtual-city device is refused with the pipeline\'s message, logged and counted; the rest of its step is stored', async () => {
  const lines: string[] = [];
  const t = await startTestServer('field-bad', generateGrid({ rows: 2, cols: 2, demand: 0.05 }), {
    logger: { level: 'info', destination: { write: (l: string) => void lines.push(l) } },
  });
  try {
    const { server } = t;
    const city = server.runtime.street!;
    const net = city.sim.net;
    const [a, b] = [...net.signalised].map((i) => ({ id: net.interIds[i], lane: net.laneId(net.incomingLanes(i)[0]) }));
    let seq = 0;
    const bad = (device: string, o: Partial<LaneEvent>): LaneEvent => ({
      kind: 'lane', id: `injected-${++seq}`, device, ts: city.ts, intersection: a.id, lane: a.lane,
      count: 1, occupancy: 0.1, speed: 5, interval: 5, ...o,
    });
    // a detector gone wrong, once: a value out of range, a lane of another intersection, another intersection's report, a device the city does not have
    const injected: Event[] = [
      bad(`det-${a.id}`, { occupancy: 1.5 }),
      bad(`det-${a.id}`, { lane: b.lane }),
      bad(`det-${a.id}`, { intersection: b.id, lane: b.lane }),
      bad('det-nowhere', {}),
    ];
    const step = city.step.bind(city);
    let once = true;
    city.step = () => {
      const events = step();
      // on a step on which the detectors report, beside their genuine events
      if (once && events.some((e) => e.kind === 'lane')) {
        once = false;
        events.push(...injected);
      }
      return events;
    };
    await run(server, 20);
    assert.equal(once, false, 'the events were injected');

    const refusals = lines.filter((l) => l.includes('virtual-city event refused')).map((l) => JSON.parse(l) as { level: number; msg: string; device: string; event: string });
    assert.deepEqual(refusals.map((r) => [r.level, r.event, r.msg]), [
      [50, 'injected-1', 'virtual-city event refused: events[0].occupancy: must be <= 1'],
      [50, 'injected-2', `virtual-city event refused: events[0].lane: lane "${b.lane}" is not on a road into intersection "${a.id}"`],
      [50, 'injected-3', `virtual-city event refused: events[0].intersection: device "det-${a.id}" may not publish for intersection "${b.id}"`],
      [50, 'injected-4', 'virtual-city event refused: events[0].device: "det-nowhere" is not a device of the virtual city'],
    ]);
    assert.equal(await refused(server, 'invalid'), 2);
    assert.equal(await refused(server, 'forbidden'), 2);
    // nothing refused was stored, and nothing genuine was lost with it
    const stored = await server.store.query({ limit: 10_000 });
    assert.deepEqual(stored.filter((e) => e.id.startsWith('injected-')), []);
    assert.ok(stored.some((e) => e.kind === 'lane' && e.device === `det-${a.id}`), 'the detector\'s genuine reports are stored');
    assert.equal(stored.length, server.runtime.eventsDelivered - (await ingestedCount(server, 'duplicate')));
  } finally {
    await t.cleanup();
  }
});

test('an imported network whose junction ids are no valid device ids still reports: its devices take ids by index', async () => {
  // SUMO and OpenStreetMap junction ids may hold characters a device id may not (here '#' and a space)
  const scenario = generateGrid({ rows: 2, cols: 2, demand: 0.05 });
  const renamed = new Map(scenario.roadnet.intersections.filter((i) => !i.virtual).map((i, k) => [i.id, `junction #${k} (imported)`]));
  for (const i of scenario.roadnet.intersections) i.id = renamed.get(i.id) ?? i.id;
  for (const r of scenario.roadnet.roads) {
    r.startIntersection = renamed.get(r.startIntersection) ?? r.startIntersection;
    r.endIntersection = renamed.get(r.endIntersection) ?? r.endIntersection;
  }
  const t = await startTestServer('field-ids', scenario, { breakdownsPerHour: 0 });
  try {
    const { server } = t;
    await run(server, 120);
    for (const reason of ['invalid', 'forbidden']) assert.equal(await refused(server, reason), 0, reason);
    const devices = new Set((await server.store.query({ kind: 'lane', limit: 10000 })).map((e) => e.device));
    assert.ok([...devices].every((d) => /^det:\d+$/.test(d)), `lane detectors report as ${[...devices].join(', ')}`);
    assert.equal(devices.size, renamed.size, 'one detector per signalised junction');
  } finally {
    await t.cleanup();
  }
});
