// The live stream's two views: the brain's twin on its frames, the virtual
// street's ground truth only on a channel asked for apart (and only when a
// street runs here).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import websocket from '@fastify/websocket';
import WebSocket from 'ws';
import { generateGrid, type Simulation } from '@citybrain/engine';
import { Auth, buildApp, CityRuntime, liveRoutes } from '@citybrain/server';
import { openTestStore, type TestStore } from './helpers.js';

const stores: TestStore[] = [];
after(async () => {
  for (const s of stores) await s.cleanup();
});

/** A live stream on `rt` (its clock stands: the tests step it), opened by a viewer. */
async function stream(rt: CityRuntime) {
  const t = await openTestStore('sqlite');
  stores.push(t);
  const auth = new Auth(t.store, { rateLimit: false });
  const viewer = (await auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  const app = buildApp({ store: t.store, auth, logger: false });
  await app.register(websocket);
  await app.register(liveRoutes, { runtime: rt, auth, periodMs: 50 });
  const url = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  const ws = new WebSocket(`${url}/api/v1/live`, { headers: { authorization: `Bearer ${viewer}` } });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  type Text = { type: string; message?: string; virtualStreet?: boolean };
  let seen: (Text | Float32Array)[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => void seen.push(isBinary ? new Float32Array(new Uint8Array(data).buffer) : JSON.parse(data.toString())));
  return {
    send: (m: unknown) => ws.send(JSON.stringify(m)),
    /** the text messages since the last `next` */
    texts: () => seen.filter((m): m is Text => !(m instanceof Float32Array)),
    /**
     * Waits `ms`, then the binary frames that followed each state message
     * since the last call, one list per state (the last state left out: its
     * frames may still be on their way); forgets them.
     */
    next: async (ms = 400): Promise<{ states: Text[]; frames: Float32Array[][] }> => {
      await new Promise((r) => setTimeout(r, ms));
      const got = seen;
      seen = [];
      const states: Text[] = [], frames: Float32Array[][] = [];
      for (const m of got) {
        if (m instanceof Float32Array) frames.at(-1)?.push(m);
        else if (m.type === 'state') states.push(m), frames.push([]);
      }
      return { states: states.slice(0, -1), frames: frames.slice(0, -1) };
    },
    close: async () => (ws.close(), await app.close()),
  };
}

/** The [x, y, heading, speed] records of the vehicles driving in `sim`. */
function records(sim: Simulation): number[] {
  const buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };
  const n = sim.vehicleStates(buf);
  return [...buf.xyhs.subarray(0, 4 * n)];
}

test('live stream: the brain\'s frames carry its twin; the truth, asked for, comes apart as tagged frames of the street\'s vehicles', async () => {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.15 }), { epochMs: 1_767_225_600_000, seed: 4 });
  for (let k = 0; k < 240; k++) await rt.stepOnce();
  const street = rt.street!.sim;
  const s = await stream(rt);
  try {
    s.send({ type: 'subscribe', vehicles: true });
    await s.next();
    let { states, frames } = await s.next();
    assert.ok(states.length >= 2 && states.every((m) => m.virtualStreet === true), 'state messages say a virtual street runs here');
    assert.ok(frames.every((f) => f.length === 1), 'one brain frame per state, and no truth not asked for');
    const brain = frames[0][0];
    assert.equal(brain[0], rt.sim.time);
    assert.equal(brain[1], rt.sim.runningCount, 'the brain frame counts the twin\'s vehicles');
    assert.deepEqual([...brain.subarray(2)], records(rt.sim), 'and places them where the twin has them');

    s.send({ type: 'subscribe', truth: true });
    await s.next();
    ({ states, frames } = await s.next());
    assert.ok(states.length >= 2 && frames.every((f) => f.length === 2), 'a brain frame and a truth frame per state');
    const [twin, truth] = frames[0];
    assert.equal(truth[0], street.time);
    assert.equal(truth[1], -1, 'tagged as the truth where a brain frame has its count');
    assert.equal(truth[2], street.runningCount, 'the truth frame counts the street\'s vehicles');
    assert.equal(truth.length, 3 + 4 * street.runningCount);
    assert.deepEqual([...truth.subarray(3)], records(street), 'and places them where the street has them');
    assert.deepEqual([...twin.subarray(2)], records(rt.sim), 'the brain\'s frames still carry the twin, not the street');
    assert.notDeepEqual(records(rt.sim), records(street), 'the twin is an estimate: the two views differ');

    // the truth goes off; the vehicles, left out, keep their setting
    s.send({ type: 'subscribe', truth: false });
    await s.next();
    ({ frames } = await s.next());
    assert.ok(frames.length >= 2 && frames.every((f) => f.length === 1 && f[0][1] === rt.sim.runningCount));
    // a malformed subscription is refused naming the message expected
    s.send({ type: 'subscribe', truth: 'yes' });
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(s.texts().some((m) => m.type === 'error' && /"truth":true\|false/.test(m.message ?? '')));
  } finally {
    await s.close();
  }
});

test('live stream without a virtual street: state says so, and a request for the truth is refused with a message, no truth frame sent', async () => {
  const rt = new CityRuntime(generateGrid({ rows: 2, cols: 2, demand: 0.15 }), { street: false, epochMs: 1_767_225_600_000 });
  for (let k = 0; k < 30; k++) await rt.stepOnce();
  const s = await stream(rt);
  try {
    s.send({ type: 'subscribe', vehicles: true, truth: true });
    await new Promise((r) => setTimeout(r, 200));
    const errors = s.texts().filter((m) => m.type === 'error');
    assert.deepEqual(errors.map((m) => m.message), ['no virtual street runs here (the brain alone): there is no ground truth to stream']);
    await s.next(0);
    const { states, frames } = await s.next();
    assert.ok(states.length >= 2 && states.every((m) => m.virtualStreet === false));
    // the vehicles asked for in the same message are streamed: the brain's own frames, and only those
    assert.ok(frames.every((f) => f.length === 1 && f[0][1] === rt.sim.runningCount));
    assert.equal(s.texts().filter((m) => m.type === 'error').length, 0, 'refused once, not on every period');
  } finally {
    await s.close();
  }
});
