import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParkingSite } from '@citybrain/brain';
import { ParkingService, SandboxPaymentProvider, type PaymentProvider } from '@citybrain/server';
import { openTestStore } from './helpers.js';

const H = 3_600_000;
const site: ParkingSite = {
  id: 's', name: 's', kind: 'offStreet', x: 0, y: 0, lon: null, lat: null, capacity: 2,
  tariff: { currency: 'CNY', perHour: 600, freeMinutes: 0, incrementMinutes: 15, dailyCap: null }, openingHours: null,
  bays: [{ id: 'p1', x: 0, y: 0 }, { id: 'p2', x: 0, y: 0 }],
};

test('sandbox provider: deterministic, one move per key, declines by payer, refunds at most the charge', async () => {
  const p = new SandboxPaymentProvider();
  const req = { idempotencyKey: 'k1', amount: 600, currency: 'CNY', payer: 'alice', description: 'x' };
  const a = await p.charge(req);
  const b = await p.charge({ ...req, amount: 999 });
  assert.deepEqual(a, b, 'the first answer, whatever the retry says');
  assert.equal(a.status, 'succeeded');
  assert.equal(p.ledger.length, 1);
  assert.equal(p.replays, 1);
  assert.equal((await new SandboxPaymentProvider().charge(req) as { ref: string }).ref, (a as { ref: string }).ref, 'deterministic reference');
  assert.deepEqual(await p.charge({ ...req, idempotencyKey: 'k2', payer: 'decline-bob' }), { status: 'declined', reason: 'card declined (sandbox: the payer starts with "decline")' });
  const ref = (a as { ref: string }).ref;
  assert.equal((await p.refund({ ...req, idempotencyKey: 'r1', amount: 400, chargeRef: ref })).status, 'succeeded');
  assert.equal((await p.refund({ ...req, idempotencyKey: 'r2', amount: 400, chargeRef: ref })).status, 'declined', 'more than was charged');
  assert.equal(p.doubleCharges(), 0);
});

test('a provider that fails: the booking is cancelled, and a retry is answered with that first result without asking the provider again', async () => {
  const t = await openTestStore('sqlite');
  try {
    let calls = 0;
    const down: PaymentProvider = {
      name: 'down',
      charge: async () => {
        calls++;
        throw new Error('connection reset');
      },
      refund: async () => ({ status: 'declined', reason: 'n/a' }),
    };
    const now = Date.now();
    const svc = new ParkingService({ store: t.store.parking, provider: down, now: () => now });
    await svc.start();
    await svc.putSites([site]);
    const book = { app: 'a', payer: 'x', site: 's', bay: 'p1', from: now + H, to: now + 2 * H, idempotencyKey: 'once' };
    const first = await svc.reserve(book);
    assert.deepEqual([first.payment.status, first.payment.error, first.reservation.status], ['failed', 'down: connection reset', 'cancelled']);
    const again = await svc.reserve(book);
    assert.deepEqual([again.created, again.payment.id, again.payment.status], [false, first.payment.id, 'failed']);
    assert.equal(calls, 1);
    // the bay was freed by the cancellation
    const second = new ParkingService({ store: t.store.parking, provider: new SandboxPaymentProvider(), now: () => now });
    await second.start();
    const other = await second.reserve({ ...book, app: 'b', idempotencyKey: 'b1' });
    assert.equal(other.reservation.status, 'booked');
  } finally {
    await t.cleanup();
  }
});
