import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParkingDrivers, type ParkingApp, type ParkingBooking, type ParkingDriversOptions } from '@citybrain/field';

// The virtual city's drivers who book with an app, on their own: an app that answers as told, a street of bays.
const T0 = Date.UTC(2030, 0, 7, 8);
const MIN = 60_000;
const BAYS = ['b0', 'b1', 'b2', 'b3'].map((id) => ({ id }));
const AREAS = [{ x: 0, y: 0 }, { x: 300, y: 0 }, { x: 0, y: 300 }];

/** An app that gives each booking the bay `answer` names (undefined: none free; 'throw': the request fails). */
function app(answer: (b: ParkingBooking, k: number) => string | undefined | 'throw'): ParkingApp & { asked: ParkingBooking[] } {
  const asked: ParkingBooking[] = [];
  return {
    asked,
    async book(b) {
      const a = answer(b, asked.push(b) - 1);
      if (a === 'throw') throw new Error('the city\'s API is down');
      return a === undefined ? undefined : { bay: a };
    },
  };
}

/** Runs `seconds` one-second steps of booking from T0 (the app's answers settle between steps). */
async function book(d: ParkingDrivers, seconds: number): Promise<void> {
  for (let s = 0; s < seconds; s++) {
    d.book(T0 + s * 1000, 1);
    await Promise.resolve();
  }
  await new Promise((r) => setImmediate(r));
}

/** A street: bays by index, each occupied or not, every change recorded. */
function street() {
  const occupied = BAYS.map(() => false);
  const changes: [number, boolean, number][] = [];
  return {
    occupied,
    changes,
    move(d: ParkingDrivers, from: number, to: number, stepMs = MIN) {
      for (let ts = from; ts <= to; ts += stepMs) d.move(ts, (b) => occupied[b], (b, o) => {
        occupied[b] = o;
        changes.push([b, o, ts]);
      });
    },
  };
}

test('bookings: at the configured rate per area, a window 5 to 20 minutes ahead lasting 30 to 90 minutes, from the drivers\' own random stream', async () => {
  const a = app(() => undefined);
  const d = new ParkingDrivers(a, AREAS, BAYS, 1, { bookingsPerHour: 6 });
  await book(d, 10 * 3600);
  // 6 an hour in each of 3 areas for 10 hours: 180 expected
  assert.ok(a.asked.length > 140 && a.asked.length < 220, `${a.asked.length} bookings`);
  assert.equal(d.stats.asked, a.asked.length);
  assert.equal(d.stats.refused, a.asked.length, 'none free: each refused');
  for (const b of a.asked) {
    assert.ok(AREAS.some((x) => x.x === b.x && x.y === b.y), 'near an area');
    assert.ok(/^driver-\d+$/.test(b.driver));
  }
  assert.equal(new Set(a.asked.map((b) => b.driver)).size, a.asked.length, 'a driver books once');
  // each window: how far ahead (from the step it was asked at) and how long
  const again = app(() => undefined);
  const e = new ParkingDrivers(again, AREAS, BAYS, 1, { bookingsPerHour: 6 });
  for (let s = 0; s < 10 * 3600; s++) {
    const before = again.asked.length;
    e.book(T0 + s * 1000, 1);
    for (const b of again.asked.slice(before)) {
      const ahead = (b.from - (T0 + s * 1000)) / MIN;
      assert.ok(ahead >= 5 && ahead <= 20, `${ahead} min ahead`);
      const long = (b.to - b.from) / MIN;
      assert.ok(long >= 30 && long <= 90, `${long} min long`);
    }
  }
  assert.deepEqual(again.asked, a.asked, 'the same seed books the same');
  const other = app(() => undefined);
  await book(new ParkingDrivers(other, AREAS, BAYS, 2, { bookingsPerHour: 6 }), 10 * 3600);
  assert.notDeepEqual(other.asked, a.asked, 'another seed, other bookings');
});

test('answers: a bay booked, none free (refused), an unknown bay (refused), a failed request', async () => {
  const answers = ['b1', undefined, 'no-such-bay', 'throw'] as const;
  const a = app((_, k) => answers[k % answers.length]);
  const d = new ParkingDrivers(a, AREAS, BAYS, 3, { bookingsPerHour: 60 });
  await book(d, 3600);
  const n = a.asked.length;
  assert.ok(n >= 8);
  const count = (k: number) => Math.floor(n / 4) + (n % 4 > k ? 1 : 0);
  assert.deepEqual(d.stats, { asked: n, booked: count(0), refused: count(1) + count(2), failed: count(3), arrived: 0, left: 0, noShows: 0, blocked: 0 });
});

test('a reserved driver arrives near the window\'s start, parks in the bay the app gave (the street\'s sensor sees it) and leaves before its end', async () => {
  const a = app((_, k) => (k === 0 ? 'b2' : undefined));
  const d = new ParkingDrivers(a, AREAS, BAYS, 4, { bookingsPerHour: 60, noShowShare: 0, respectShare: 1 });
  await book(d, 3600);
  const booking = a.asked[0];
  const s = street();
  // walk-in drivers keep out of the bay held for the driver due within 30 minutes
  assert.equal(d.keepsOut(2, booking.from - 20 * MIN), true, 'marked reserved');
  assert.equal(d.keepsOut(2, booking.from - 60 * MIN), false, 'not yet: the driver is due in more than 30 minutes');
  assert.equal(d.keepsOut(1, booking.from), false, 'another bay is not');
  s.move(d, T0, booking.to + 10 * MIN);
  assert.equal(s.changes.length, 2, 'parked, then left');
  const [[bay, on, at], [bay2, off, left]] = s.changes;
  assert.deepEqual([bay, on, bay2, off], [2, true, 2, false]);
  assert.ok(Math.abs(at - booking.from) <= 3 * MIN, `arrived ${(at - booking.from) / MIN} min from the window's start`);
  assert.ok(left <= booking.to + MIN && left >= booking.to - 3 * MIN, `left ${(booking.to - left) / MIN} min before its end`);
  assert.deepEqual([d.stats.arrived, d.stats.left, d.stats.noShows, d.stats.blocked], [1, 1, 0, 0]);
  assert.equal(d.holds(2), false, 'gone');
});

test('no-shows never come; a driver finding the bay taken goes elsewhere; while parked the bay is theirs', async () => {
  const noShows = new ParkingDrivers(app((_, k) => BAYS[k % 4].id), AREAS, BAYS, 5, { bookingsPerHour: 30, noShowShare: 1 });
  await book(noShows, 3600);
  const s = street();
  s.move(noShows, T0, T0 + 4 * 3600_000);
  assert.deepEqual(s.changes, [], 'nobody parked');
  assert.equal(noShows.stats.noShows, noShows.stats.booked);
  assert.ok(noShows.stats.booked > 0);

  const opts: ParkingDriversOptions = { bookingsPerHour: 60, noShowShare: 0 };
  const blocked = new ParkingDrivers(app((_, k) => (k === 0 ? 'b3' : undefined)), AREAS, BAYS, 6, opts);
  await book(blocked, 3600);
  const t = street();
  t.occupied[3] = true; // a walk-in car is in it
  t.move(blocked, T0, T0 + 4 * 3600_000);
  assert.deepEqual(t.changes, []);
  assert.deepEqual([blocked.stats.blocked, blocked.stats.arrived], [1, 0]);

  const parked = new ParkingDrivers(app((_, k) => (k === 0 ? 'b0' : undefined)), AREAS, BAYS, 7, opts);
  await book(parked, 3600);
  const u = street();
  let during = false;
  for (let ts = T0; ts <= T0 + 4 * 3600_000; ts += MIN) {
    parked.move(ts, (b) => u.occupied[b], (b, o) => (u.occupied[b] = o));
    if (u.occupied[0]) during ||= parked.holds(0);
  }
  assert.ok(during, 'holds(bay) while the driver is parked');
});

test('walk-in drivers mostly leave a reserved bay alone: the share that respects it as configured', async () => {
  for (const respectShare of [0, 0.9, 1]) {
    const d = new ParkingDrivers(app((_, k) => (k === 0 ? 'b1' : undefined)), AREAS, BAYS, 8, { bookingsPerHour: 60, respectShare });
    await book(d, 3600);
    const from = T0 + 3600_000;
    let kept = 0;
    for (let k = 0; k < 2000; k++) if (d.keepsOut(1, from)) kept++;
    if (respectShare === 0 || respectShare === 1) assert.equal(kept, 2000 * respectShare);
    else assert.ok(Math.abs(kept / 2000 - respectShare) < 0.03, `${kept} of 2000 kept out`);
  }
});
