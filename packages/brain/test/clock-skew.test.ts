import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClockSkew, DEFAULT_CLOCK_SKEW } from '@citybrain/brain';

const now = Date.UTC(2026, 11, 7, 17, 44, 53);
const skew = (offMs: number) => checkClockSkew(now + offMs, now, DEFAULT_CLOCK_SKEW, 'events[0]');
const H = 3_600_000, D = 24 * H;

test('a skew is told in its largest unit and the next, never skipping one (a CI run at 17:44 read "94946 d 1 min")', () => {
  assert.equal(skew(4 * 60_000), undefined, 'within 5 min ahead: accepted');
  assert.equal(skew(-6 * D), undefined, 'within 7 d behind: accepted');
  const told = (offMs: number) => /is (.*) (ahead of|behind) the server clock/.exec(skew(offMs) ?? '')?.[1];
  assert.equal(told(2 * D + 60_000), '2 d', 'no hours to tell: the minute is below the next unit and left out');
  assert.equal(told(2 * D + 3 * H + 60_000), '2 d 3 h');
  assert.equal(told(H), '1 h');
  assert.equal(told(59 * 60_000 + 30_000), '59 min 30 s');
  assert.equal(told(6 * 60_000), '6 min');
  assert.equal(told(-(8 * D + 5 * H)), '8 d 5 h');
  assert.match(skew(6 * 60_000)!, /^events\[0\]\.ts: 2026-12-07T17:50:53\.000Z is 6 min ahead of the server clock \(2026-12-07T17:44:53\.000Z\); at most 5 min ahead is accepted: check the device's clock$/);
});
