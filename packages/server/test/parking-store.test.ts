import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ParkingSite } from '@citybrain/brain';
import { everyPage, PARKING_PAGE_MAX, ParkingConflictError, ParkingService, SandboxPaymentProvider, type ParkingStore, type ReservationRequest } from '@citybrain/server';
import { openTestStore, pgUnavailable, type TestStore } from './helpers.js';

const pgSkip = await pgUnavailable();
if (pgSkip) console.log(pgSkip);

const H = 3_600_000;
const T0 = Date.UTC(2030, 0, 7, 8);
const site = (id: string, bays: string[]): ParkingSite => ({
  id, name: id, kind: 'onStreet', x: 0, y: 0, lon: null, lat: null, capacity: bays.length,
  tariff: { currency: 'CNY', perHour: 600, freeMinutes: 0, incrementMinutes: 15, dailyCap: null }, openingHours: null,
  bays: bays.map((b) => ({ id: b, x: 0, y: 0 })),
});
let seq = 0;
const req = (over: Partial<ReservationRequest> = {}): ReservationRequest => ({
  id: `r${++seq}`, app: 'tok_app', payer: 'driver', site: 's1', from: T0, to: T0 + H, createdAt: T0 - H, price: 600, currency: 'CNY', idempotencyKey: `k${seq}`, ...over,
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`ParkingStore: ${backend}`, { skip: backend === 'postgres' ? pgSkip : undefined }, () => {
    let t: TestStore;
    let p: ParkingStore;
    before(async () => {
      t = await openTestStore(backend);
      p = t.store.parking;
      await p.putSites([site('s1', ['b1', 'b2', 'b3']), site('s2', ['c1'])]);
    });
    after(async () => t?.cleanup());

    it('keeps sites and their bays; a bay cannot be in two sites', async () => {
      assert.deepEqual((await p.listSites()).map((s) => [s.id, s.bays.length]), [['s1', 3], ['s2', 1]]);
      await assert.rejects(p.putSites([site('s3', ['b1'])]), (e: Error) => e instanceof ParkingConflictError && /bay "b1" is in site "s1" already/.test(e.message));
      assert.equal((await p.listSites()).length, 2, 'nothing of the refused write stored');
      await p.putSites([site('s2', ['c1', 'c2'])]);
      assert.deepEqual((await p.listSites()).find((s) => s.id === 's2')?.bays.map((b) => b.id), ['c1', 'c2'], 'replaced');
    });

    it('many overlapping bookings at once: exactly one per bay wins, none overlaps', async () => {
      const from = T0 + 24 * H;
      // 60 clients, each window overlapping every other (all hold from+1h..from+2h)
      const results = await Promise.all(Array.from({ length: 60 }, (_, k) =>
        p.reserve(req({ from: from + (k % 5) * 60_000, to: from + 2 * H + (k % 7) * 60_000, app: `app${k % 3}` }), ['b1', 'b2', 'b3'])));
      const won = results.filter((r) => r?.created);
      assert.equal(won.length, 3, 'one per bay');
      assert.deepEqual(won.map((r) => r!.reservation.bay).sort(), ['b1', 'b2', 'b3']);
      assert.deepEqual(await p.integrity(), { doubleBookings: 0, doubleCharges: 0 });
      // a window after them, touching (half-open), is free
      const after = await p.reserve(req({ from: from + 3 * H, to: from + 4 * H }), ['b1']);
      assert.ok(after?.created);
    });

    it('a repeated Idempotency-Key gets the first reservation, even under concurrency', async () => {
      const from = T0 + 48 * H;
      const same = await Promise.all(Array.from({ length: 20 }, () => p.reserve(req({ idempotencyKey: 'same-key', from, to: from + H, id: `r-same-${++seq}` }), ['b1', 'b2'])));
      const ids = new Set(same.map((r) => r!.reservation.id));
      assert.equal(ids.size, 1);
      assert.equal(same.filter((r) => r!.created).length, 1);
      assert.equal((await p.listReservations({ bay: same[0]!.reservation.bay, from, to: from + H })).length, 1);
    });

    it('cancelled and expired reservations free their bay; transitions only from the named statuses', async () => {
      const from = T0 + 72 * H;
      const a = (await p.reserve(req({ from, to: from + H }), ['c1']))!.reservation;
      assert.equal(await p.reserve(req({ from, to: from + H }), ['c1']), undefined, 'taken');
      const c = await p.updateReservation(a.id, ['booked'], { status: 'cancelled', endedAt: from - H });
      assert.equal(c?.status, 'cancelled');
      assert.equal(await p.updateReservation(a.id, ['booked'], { status: 'cancelled' }), undefined, 'not twice');
      const b = (await p.reserve(req({ from, to: from + H }), ['c1']))!.reservation;
      const expired = await p.expireReservations(from + 1, from + 1);
      assert.ok(expired.some((r) => r.id === b.id));
      assert.equal((await p.getReservation(b.id))?.status, 'expired');
      assert.ok((await p.reserve(req({ from, to: from + H }), ['c1']))?.created, 'free again');
    });

    it('sessions: one open per bay, closed with a price', async () => {
      const s = { id: 'sess1', bay: 'b1', site: 's1', arrivedAt: T0, departedAt: null, reservation: null, price: null, currency: 'CNY', payment: null };
      assert.equal(await p.openSession(s), true);
      assert.equal(await p.openSession({ ...s, id: 'sess2' }), false, 'the bay has an open session');
      assert.equal((await p.openSessionOf('b1'))?.id, 'sess1');
      const closed = await p.closeSession('sess1', T0 + H, 600);
      assert.deepEqual([closed?.departedAt, closed?.price], [T0 + H, 600]);
      assert.equal(await p.closeSession('sess1', T0 + 2 * H, 1200), undefined, 'closed once');
      assert.equal(await p.markSessionPaid('sess1', 'pay1'), true);
      assert.equal(await p.markSessionPaid('sess1', 'pay2'), false);
      assert.equal((await p.listSessions({ site: 's1' }))[0].payment, 'pay1');
    });

    it('payments: the first request under a key moves money, a retry reads its result', async () => {
      const input = { id: 'pay-a', app: 'tok_app', idempotencyKey: 'pk1', purpose: 'booking' as const, reservation: 'rX', session: null, amount: 600, currency: 'CNY', payer: 'd', createdAt: T0 };
      const results = await Promise.all(Array.from({ length: 10 }, (_, k) => p.beginPayment({ ...input, id: `pay-${k}` })));
      assert.equal(results.filter((r) => r.first).length, 1);
      assert.equal(new Set(results.map((r) => r.payment.id)).size, 1);
      const first = results.find((r) => r.first)!.payment;
      const settled = await p.settlePayment(first.id, { status: 'succeeded', providerRef: 'sbx_1', error: null, at: T0 + 1 });
      assert.deepEqual([settled.status, settled.providerRef], ['succeeded', 'sbx_1']);
      const again = await p.beginPayment({ ...input, id: 'pay-late' });
      assert.deepEqual([again.first, again.payment.status, again.payment.id], [false, 'succeeded', first.id]);
      assert.equal((await p.listPayments({ reservation: 'rX' })).length, 1);
    });

    it('availability buckets: samples summed per site and bucket', async () => {
      await p.addAvailability([{ site: 's1', bucket: T0, occupied: 2, free: 1 }, { site: 's1', bucket: T0 + 60_000, occupied: 1, free: 2 }]);
      await p.addAvailability([{ site: 's1', bucket: T0, occupied: 0, free: 3 }]);
      const b = await p.availability('s1', T0, T0 + H);
      assert.deepEqual(b.map((x) => [x.bucket, x.samples, x.occupied, x.free, x.minFree]), [[T0, 2, 1, 2, 1], [T0 + 60_000, 1, 1, 2, 2]]);
    });

    it('more open sessions and holding reservations than a page: listed page after page, and a restarted service loads them all', async () => {
      const n = PARKING_PAGE_MAX + 234;
      const bays = Array.from({ length: n }, (_, k) => `big-${String(k).padStart(4, '0')}`);
      await p.putSites([site('big', bays)]);
      const at = T0 + 200 * H;
      // many on the same time: the pages go on by id where times tie
      for (let k = 0; k < n; k++) await p.openSession({ id: `big-sess-${k}`, bay: bays[k], site: 'big', arrivedAt: at - (k % 3) * 60_000, departedAt: null, reservation: null, price: null, currency: 'CNY', payment: null });
      for (let k = 0; k < n; k++) assert.ok((await p.reserve(req({ site: 'big', from: at - H, to: at + H, createdAt: at - 2 * H - (k % 2) * 60_000 }), [bays[k]]))?.created);

      const sessions = await everyPage((after) => p.listSessions({ site: 'big', open: true, limit: PARKING_PAGE_MAX, after }), (x) => x.arrivedAt);
      assert.equal(sessions.length, n);
      assert.equal(new Set(sessions.map((x) => x.id)).size, n, 'each once');
      const times = sessions.map((x) => x.arrivedAt);
      assert.deepEqual(times, [...times].sort((x, y) => y - x), 'newest first across pages');
      const reservations = await everyPage((after) => p.listReservations({ site: 'big', limit: PARKING_PAGE_MAX, after }), (x) => x.createdAt);
      assert.equal(new Set(reservations.map((x) => x.id)).size, n);

      const svc = new ParkingService({ store: p, provider: new SandboxPaymentProvider(), now: () => at });
      await svc.start();
      const big = svc.live(at).find((x) => x.id === 'big')!;
      assert.deepEqual([big.sensored, big.occupied, big.reserved], [n, n, n], 'every open session and holding reservation loaded');
    });
  });
}
