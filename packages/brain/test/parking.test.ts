import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid } from '@citybrain/engine';
import {
  cancellationRefund, checkWindow, DriveTimes, isOpenAt, isOpenThrough, isReservedArrival, overlaps, parseRegister, parseSite, priceStay, rankSites,
  siteEntity, spotEntity, type ParkingSite, type Tariff,
} from '@citybrain/brain';

const MIN = 60_000;
const H = 60 * MIN;
const T0 = Date.UTC(2025, 5, 2, 0, 0); // a Monday, 08:00 in Hangzhou

const tariff: Tariff = { currency: 'CNY', perHour: 600, freeMinutes: 15, incrementMinutes: 15, dailyCap: 5000 };
const site = (over: Record<string, unknown> = {}) => ({
  id: 's1', name: 'Wulin', kind: 'onStreet', x: 100, y: 0, tariff: { currency: 'CNY', perHour: 600, freeMinutes: 15 },
  bays: [{ id: 'b1', x: 100, y: 5 }, { id: 'b2' }], ...over,
});

test('tariff: free minutes, started increments, the daily cap per 24 h', () => {
  assert.equal(priceStay(tariff, T0, T0 + 15 * MIN), 0, 'within the free minutes');
  assert.equal(priceStay(tariff, T0, T0 + 16 * MIN), 150, 'one started increment past the free 15 min');
  assert.equal(priceStay(tariff, T0, T0 + 2 * H), 1050, '1 h 45 min billed: 7 increments of 150');
  assert.equal(priceStay(tariff, T0, T0 + 20 * H), 5000, 'capped');
  assert.equal(priceStay(tariff, T0, T0 + 25 * H), 5000 + 600, 'a second day: capped day, then 1 h');
  assert.equal(priceStay({ ...tariff, dailyCap: null }, T0, T0 + 20 * H), Math.round(79 * 150));
  assert.throws(() => priceStay(tariff, T0, T0 - 1), /before start/);
});

test('sites: parsed with defaults; each bad field named in one line', () => {
  const ok = parseSite(site());
  assert.ok('ok' in ok);
  assert.equal(ok.ok.capacity, 2);
  assert.deepEqual(ok.ok.bays[1], { id: 'b2', x: 100, y: 0 }, 'a bay without position stands at its site');
  assert.deepEqual(ok.ok.tariff, { currency: 'CNY', perHour: 600, freeMinutes: 15, incrementMinutes: 15, dailyCap: null });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ id: 'a b' }, /^site\.id: must be 1 to 128 letters/],
    [{ kind: 'street' }, /^site\.kind: must be "onStreet" or "offStreet", got "street"$/],
    [{ x: 'far' }, /^site\.x: must be a number/],
    [{ tariff: { currency: 'yuan', perHour: 1 } }, /^site\.tariff\.currency: must be an ISO 4217 code/],
    [{ tariff: { currency: 'CNY', perHour: 1.5 } }, /^site\.tariff\.perHour: must be a whole number, got 1\.5 \(minor units/],
    [{ capacity: 1 }, /^site\.capacity: 1 is less than the 2 bays listed$/],
    [{ bays: [{ id: 'b1' }, { id: 'b1' }] }, /^site\.bays\[1\]\.id: "b1" is given twice$/],
    [{ openingHours: { periods: [{ days: [1], from: '20:00', to: '08:00' }] } }, /^site\.openingHours\.periods\[0\]: from 20:00 must be before to 08:00$/],
    [{ colour: 'red' }, /^site\.colour: unknown field/],
  ];
  for (const [over, re] of cases) {
    const r = parseSite(site(over));
    assert.ok('error' in r, JSON.stringify(over));
    assert.match(r.error, re);
    assert.ok(!r.error.includes('\n'));
  }
});

test('register files: JSON and CSV, a bay in two sites refused', () => {
  const json = parseRegister(JSON.stringify({ sites: [site(), site({ id: 's2', bays: [{ id: 'b3' }] })] }), 'sites.json');
  assert.ok('ok' in json && json.ok.length === 2);
  const twice = parseRegister(JSON.stringify([site(), site({ id: 's2' })]), 'sites.json');
  assert.deepEqual(twice, { error: 'sites.json: bay "b1" is in both site "s1" and site "s2"' });
  const csv = [
    'site,name,kind,x,y,capacity,currency,perHour,freeMinutes,incrementMinutes,dailyCap,bay,bayX,bayY',
    'p1,Car park,offStreet,10,20,50,CNY,500,0,30,4000,p1-1,11,21',
    'p1,Car park,offStreet,10,20,50,CNY,500,0,30,4000,p1-2,12,21',
  ].join('\n');
  const c = parseRegister(csv, 'sites.csv');
  assert.ok('ok' in c, JSON.stringify(c));
  assert.equal(c.ok[0].capacity, 50);
  assert.deepEqual(c.ok[0].bays.map((b) => b.id), ['p1-1', 'p1-2']);
  assert.deepEqual(c.ok[0].tariff.dailyCap, 4000);
  assert.match((parseRegister('site,name\np1,x', 'sites.csv') as { error: string }).error, /^sites\.csv:1: CSV header lacks column "kind"/);
  assert.match((parseRegister('{"sites": 3}', 'f.json') as { error: string }).error, /^f\.json: must be/);
});

test('opening hours in local time; a window must lie within them', () => {
  const p = parseSite(site({ openingHours: { utcOffsetMinutes: 480, periods: [{ days: [1, 2, 3, 4, 5], from: '08:00', to: '20:00' }] } }));
  assert.ok('ok' in p);
  const h = p.ok.openingHours;
  assert.equal(isOpenAt(h, T0), true, 'Monday 08:00 local');
  assert.equal(isOpenAt(h, T0 - 1), false, 'Monday 07:59:59');
  assert.equal(isOpenAt(h, T0 + 12 * H), false, 'Monday 20:00');
  assert.equal(isOpenThrough(h, T0 + 11 * H, T0 + 12 * H), true);
  assert.equal(isOpenThrough(h, T0 + 11 * H, T0 + 12 * H + MIN), false);
  assert.match(checkWindow(p.ok, T0 + 11 * H, T0 + 13 * H, T0) ?? '', /is not open throughout/);
});

test('reservation rules: windows, overlap, the arrival window, refunds', () => {
  const s = (parseSite(site()) as { ok: ParkingSite }).ok;
  assert.equal(checkWindow(s, T0, T0 + H, T0), undefined);
  assert.match(checkWindow(s, T0, T0, T0)!, /^to: must be after from/);
  assert.match(checkWindow(s, T0, T0 + 5 * MIN, T0)!, /at least 15 min/);
  assert.match(checkWindow(s, T0, T0 + 25 * H, T0)!, /at most 1440 min/);
  assert.match(checkWindow(s, T0 - H, T0, T0)!, /^from: .* has passed/);
  assert.equal(overlaps(0, 10, 10, 20), false, 'half-open windows that touch do not overlap');
  assert.equal(overlaps(0, 10, 9, 20), true);
  const r = { status: 'booked' as const, from: T0, to: T0 + H };
  assert.equal(isReservedArrival(r, T0 - 10 * MIN), true);
  assert.equal(isReservedArrival(r, T0 - 20 * MIN), false, 'too early: another car');
  assert.equal(isReservedArrival(r, T0 + 16 * MIN), false, 'after the grace period');
  assert.equal(isReservedArrival({ ...r, status: 'expired' }, T0), false);
  assert.equal(cancellationRefund({ from: T0, price: 600 }, T0 - 1), 600);
  assert.equal(cancellationRefund({ from: T0, price: 600 }, T0), 0);
});

test('guidance: drive times on the network rank the open sites with free bays', () => {
  const { roadnet } = generateGrid({ rows: 2, cols: 3 });
  const xs = roadnet.intersections.map((i) => i.point);
  const near = xs[0];
  const far = xs[xs.length - 1];
  const dt = new DriveTimes(roadnet);
  const [a, b] = dt.fromPoint(near, [near, far]);
  assert.ok(a !== undefined && b !== undefined && a < b, `${a} < ${b}`);
  const slow = dt.fromPoint(near, [far], () => 1)[0]!;
  assert.ok(slow > b!, 'current speeds below free-flow make it longer');
  const ranked = rankSites([
    { id: 'far', x: far.x, y: far.y, free: 3, open: true },
    { id: 'near', x: near.x, y: near.y, free: 1, open: true },
    { id: 'full', x: near.x, y: near.y, free: 0, open: true },
    { id: 'closed', x: near.x, y: near.y, free: 5, open: false },
  ], [b, a, a, a], near, 10);
  assert.deepEqual(ranked.map((r) => r.site), ['near', 'far']);
});

test('NGSI-LD keyValues: the Smart Data Models field names', () => {
  const s = (parseSite(site({ lon: 120.16, lat: 30.27, capacity: 3 })) as { ok: ParkingSite }).ok;
  const e = siteEntity(s, { occupied: 1, free: 1, open: true, observedAt: T0 });
  assert.equal(e.id, 'urn:ngsi-ld:OnStreetParking:s1');
  assert.equal(e.type, 'OnStreetParking');
  assert.deepEqual(e.location, { type: 'Point', coordinates: [120.16, 30.27] });
  assert.equal(e.totalSpotNumber, 3);
  assert.equal(e.availableSpotNumber, 1);
  assert.equal(e.extraSpotNumber, 1);
  const spot = spotEntity(s, s.bays[0], 'occupied', T0);
  assert.deepEqual([spot.type, spot.status, spot.refParkingSite, spot.category], ['ParkingSpot', 'occupied', 'urn:ngsi-ld:OnStreetParking:s1', ['onStreet']]);
});
