import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import type { RunningServer } from '@citybrain/server';
import { startTestServer } from './helpers.js';

// One server on a temp SQLite store with its virtual city paused; the bay sensors here are a device token's.
let server: RunningServer;
let cleanup: () => Promise<void>;
let operator: string;
let viewer: string;
let appA: string;
let appB: string;
let sensor: string;
let seq = 0;
const MIN = 60_000;
const H = 60 * MIN;

async function call(method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(server.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, type: r.headers.get('content-type') };
}
const reserve = (token: string, key: string | undefined, body: Record<string, unknown>) => call('POST', '/api/v1/parking/reservations', token, body, key ? { 'idempotency-key': key } : {});
async function sense(bay: string, occupied: boolean, ts: number) {
  const r = await call('POST', '/api/v1/events', sensor, { events: [{ kind: 'parking', id: `p${++seq}`, device: 'park-test', ts, bay, occupied }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await server.parking.settled();
}

const site = {
  id: 'wulin', name: 'Wulin Square', kind: 'onStreet', x: 0, y: 0, tariff: { currency: 'CNY', perHour: 600, freeMinutes: 15, dailyCap: 5000 },
  bays: [{ id: 'tb1' }, { id: 'tb2' }, { id: 'tb3' }],
};

before(async () => {
  ({ server, cleanup } = await startTestServer('parking', generateGrid({ rows: 2, cols: 2, demand: 0.05 })));
  operator = server.createdTokens[0].token;
  viewer = (await server.auth.createToken({ name: 'wall', role: 'viewer' })).token;
  appA = (await server.auth.createToken({ name: 'app A', role: 'app' })).token;
  appB = (await server.auth.createToken({ name: 'app B', role: 'app' })).token;
  sensor = (await server.auth.createToken({ name: 'bay sensors', role: 'device', device: 'park-test', bays: ['tb1', 'tb2', 'tb3'] })).token;
});

after(async () => cleanup?.());

test('sites: the virtual city\'s register at first start; operators register more (validated, audited); roles hold', async () => {
  const first = await call('GET', '/api/v1/parking/sites', viewer);
  assert.equal(first.status, 200);
  assert.ok(first.body.length > 0 && first.body.every((s: { id: string }) => s.id.startsWith('street-')), 'the virtual street\'s kerbside sites');
  assert.equal((await call('GET', '/api/v1/parking/sites')).status, 401);
  assert.equal((await call('PUT', '/api/v1/parking/sites', appA, { sites: [site] })).status, 403);
  const bad = await call('PUT', '/api/v1/parking/sites', operator, { sites: [{ ...site, kind: 'garage' }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'CB_INVALID_REQUEST');
  assert.match(bad.body.message, /^body\.sites\[0\]\.kind: must be "onStreet" or "offStreet", got "garage"$/);
  const taken = await call('PUT', '/api/v1/parking/sites', operator, { sites: [{ ...site, id: 'other', bays: [{ id: first.body[0].bays[0].id }] }] });
  assert.equal(taken.status, 400);
  assert.match(taken.body.message, /bay ".*" is in site "street-/);
  const ok = await call('PUT', '/api/v1/parking/sites', operator, { sites: [site] });
  assert.deepEqual([ok.status, ok.body], [200, { sites: 1, bays: 3 }]);
  const audit = await server.store.queryAudit({ action: 'register-parking-sites' });
  assert.equal(audit.length, 1);
  const live = (await call('GET', '/api/v1/parking/sites', appA)).body.find((s: { id: string }) => s.id === 'wulin');
  assert.deepEqual([live.live.sensored, live.live.free, live.live.occupied, live.live.unknown], [3, 0, 0, 3], 'no sensor has reported: not free, unknown');
});

test('reservations: Idempotency-Key required; a retry gets the first answer and one charge; overlaps refused; a declined payment cancels', async () => {
  const now = Date.now();
  const from = now + 2 * H;
  const body = { site: 'wulin', bay: 'tb1', from, to: from + H, payer: 'alice' };
  assert.equal((await reserve(viewer, 'k1', body)).status, 403);
  const nokey = await reserve(appA, undefined, body);
  assert.equal(nokey.status, 400);
  assert.match(nokey.body.message, /^headers\.idempotency-key: required/);
  const first = await reserve(appA, 'k1', body);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.deepEqual([first.body.reservation.status, first.body.reservation.bay, first.body.reservation.price], ['booked', 'tb1', 450]);
  assert.equal(first.body.payment.status, 'succeeded');
  const retry = await reserve(appA, 'k1', body);
  assert.equal(retry.status, 200);
  assert.equal(retry.body.reservation.id, first.body.reservation.id);
  assert.equal(retry.body.payment.id, first.body.payment.id);
  const payments = (await call('GET', `/api/v1/parking/payments?reservation=${first.body.reservation.id}`, appA)).body;
  assert.equal(payments.length, 1, 'charged once');
  const reused = await reserve(appA, 'k1', { ...body, to: from + 2 * H });
  assert.deepEqual([reused.status, reused.body.code], [409, 'CB_IDEMPOTENCY_CONFLICT']);
  const overlap = await reserve(appB, 'k1', { ...body, from: from + 30 * MIN, to: from + 90 * MIN });
  assert.deepEqual([overlap.status, overlap.body.code], [409, 'CB_BAY_TAKEN']);
  const anyBay = await reserve(appB, 'k2', { ...body, bay: undefined, from: from + 30 * MIN, to: from + 90 * MIN });
  assert.equal(anyBay.status, 201);
  assert.notEqual(anyBay.body.reservation.bay, 'tb1');
  const badWindow = await reserve(appB, 'k3', { ...body, to: from + 5 * MIN });
  assert.equal(badWindow.status, 400);
  assert.match(badWindow.body.message, /^to: the window is 5 min; at least 15 min/);
  const declined = await reserve(appB, 'k4', { ...body, from: from + 5 * H, to: from + 6 * H, payer: 'decline-bob' });
  assert.deepEqual([declined.status, declined.body.code], [402, 'CB_PAYMENT_DECLINED']);
  const mine = (await call('GET', '/api/v1/parking/reservations', appB)).body as { app: string; status: string }[];
  assert.ok(mine.every((r) => r.app === mine[0].app), 'an app sees only its own');
  assert.ok(mine.some((r) => r.status === 'cancelled'));
  assert.equal((await call('GET', `/api/v1/parking/reservations/${first.body.reservation.id}`, appB)).status, 404, 'not another app\'s');
  assert.equal((await call('GET', `/api/v1/parking/reservations/${first.body.reservation.id}`, viewer)).status, 200);
  const { doubleBookings, doubleCharges } = await server.store.parking.integrity();
  assert.deepEqual([doubleBookings, doubleCharges], [0, 0]);
});

test('cancel before the window: refunded once; another app cannot cancel it', async () => {
  const from = Date.now() + 10 * H;
  const r = await reserve(appA, 'cancel-me', { site: 'wulin', bay: 'tb3', from, to: from + 2 * H, payer: 'alice' });
  assert.equal(r.status, 201);
  const id = r.body.reservation.id;
  assert.equal((await call('POST', `/api/v1/parking/reservations/${id}/cancel`, appB)).status, 404);
  const c = await call('POST', `/api/v1/parking/reservations/${id}/cancel`, appA);
  assert.equal(c.status, 200);
  assert.deepEqual([c.body.reservation.status, c.body.refund.status, c.body.refund.amount, c.body.refund.purpose], ['cancelled', 'succeeded', 1050, 'refund']);
  const again = await call('POST', `/api/v1/parking/reservations/${id}/cancel`, appA);
  assert.equal(again.body.refund.id, c.body.refund.id, 'no second refund');
  assert.equal((await reserve(appB, 'after-cancel', { site: 'wulin', bay: 'tb3', from, to: from + H, payer: 'bob' })).status, 201, 'the bay is free again');
});

test('the bay sensor confirms arrival, departure prices the stay; a car in a bay reserved by another is flagged', async () => {
  const now = Date.now();
  const r = await reserve(appA, 'arrive', { site: 'wulin', bay: 'tb2', from: now + 5 * MIN, to: now + 65 * MIN, payer: 'alice' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await sense('tb2', true, now);
  let got = (await call('GET', `/api/v1/parking/reservations/${r.body.reservation.id}`, appA)).body;
  assert.deepEqual([got.status, got.arrivedAt], ['arrived', now]);
  await sense('tb2', false, now + 60_000);
  got = (await call('GET', `/api/v1/parking/reservations/${r.body.reservation.id}`, appA)).body;
  assert.equal(got.status, 'completed');
  const sessions = (await call('GET', '/api/v1/parking/sessions?site=wulin', viewer)).body as { bay: string; reservation: string | null; price: number }[];
  assert.equal(sessions.find((s) => s.reservation === got.id)?.price, 0, 'a minute: within the free 15');

  // a walk-in car parks in tb2; app B reserved tb2 from 30 min on: when its window begins the car is still there
  await sense('tb2', true, now + 2 * MIN);
  const b = await reserve(appB, 'blocked', { site: 'wulin', bay: 'tb2', from: now + 30 * MIN, to: now + 90 * MIN, payer: 'bob' });
  assert.equal(b.status, 201);
  const before = server.parking.flagged;
  await server.parking.tick(now + 31 * MIN);
  assert.equal(server.parking.flagged, before + 1);
  got = (await call('GET', `/api/v1/parking/reservations/${b.body.reservation.id}`, appB)).body;
  assert.equal(got.blockedAt, now + 31 * MIN, 'the flag, on the API');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /citybrain_parking_blocked_reservations_total 1/);
});

test('a walk-in session is priced from the sensor and paid once by an app, whatever the retries', async () => {
  const now = Date.now();
  await sense('tb3', true, now - 3 * H);
  await sense('tb3', false, now - 1 * H);
  const s = (await call('GET', '/api/v1/parking/sessions?site=wulin&open=false', viewer)).body.find((x: { bay: string; arrivedAt: number }) => x.bay === 'tb3' && x.arrivedAt === now - 3 * H);
  assert.equal(s.price, 1050, '2 h: 1 h 45 min billed after the free 15');
  const pay = () => call('POST', `/api/v1/parking/sessions/${s.id}/pay`, appA, { payer: 'carol' }, { 'idempotency-key': 'pay-1' });
  const [p1, p2, p3] = await Promise.all([pay(), pay(), pay()]);
  assert.deepEqual([p1.status, p2.status, p3.status], [200, 200, 200]);
  assert.equal(new Set([p1.body.payment.id, p2.body.payment.id, p3.body.payment.id]).size, 1);
  assert.equal(p1.body.payment.amount, 1050);
  const other = await call('POST', `/api/v1/parking/sessions/${s.id}/pay`, appA, { payer: 'carol' }, { 'idempotency-key': 'pay-2' });
  assert.deepEqual([other.status, other.body.code], [409, 'CB_CONFLICT']);
});

test('guidance, availability over time and NGSI-LD entities', async () => {
  const g = await call('GET', '/api/v1/parking/guidance?x=0&y=0&limit=3', appA);
  assert.equal(g.status, 200);
  assert.ok(g.body.length > 0 && g.body.length <= 3);
  assert.ok(g.body.every((a: { free: number; driveSeconds: number | null }) => a.free > 0 && (a.driveSeconds === null || a.driveSeconds >= 0)));
  assert.ok(g.body.some((a: { driveSeconds: number | null }) => a.driveSeconds !== null), 'drive times on the network');
  assert.equal((await call('GET', '/api/v1/parking/guidance?x=0', appA)).status, 400);
  await server.parking.tick(Date.now() + 61 * MIN);
  const a = await call('GET', '/api/v1/parking/sites/wulin/availability', viewer);
  assert.equal(a.status, 200);
  assert.ok(a.body.length >= 1 && a.body[0].samples >= 1);
  assert.equal((await call('GET', '/api/v1/parking/sites/nowhere/availability', viewer)).status, 404);
  const spots = await call('GET', '/ngsi-ld/v1/entities?type=ParkingSpot', viewer);
  assert.equal(spots.status, 200);
  assert.match(spots.type ?? '', /application\/ld\+json/);
  const tb3 = spots.body.find((e: { id: string }) => e.id === 'urn:ngsi-ld:ParkingSpot:tb3');
  assert.deepEqual([tb3.type, tb3.status, tb3.refParkingSite], ['ParkingSpot', 'free', 'urn:ngsi-ld:OnStreetParking:wulin']);
  const one = await call('GET', `/ngsi-ld/v1/entities/${encodeURIComponent('urn:ngsi-ld:OnStreetParking:wulin')}`, viewer);
  assert.deepEqual([one.body.type, one.body.totalSpotNumber], ['OnStreetParking', 3]);
  const bad = await call('GET', '/ngsi-ld/v1/entities?type=Vehicle', viewer);
  assert.deepEqual([bad.status, bad.body.code], [400, 'CB_INVALID_REQUEST']);
});
