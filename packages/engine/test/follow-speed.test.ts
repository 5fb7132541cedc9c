/**
 * followSpeed's shortcut (driver.ts): where CityFlow's collision-free speed v1 is at least the speed the
 * caller allows already (`bound`), it is left out, square root and all. computeActions takes
 * min(followSpeed, bound), which must be CityFlow's to the last bit: checked against CityFlow's formula
 * on random vehicles, and on bounds placed at v1 itself and one unit in the last place either side of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
// not part of the package's API: the engine's own build, as scripts/speed-floor.mjs reads it
import { followSpeed } from '../dist/sim/driver.js';

/** CityFlow's getCarFollowSpeed, as driver.ts computed it before the shortcut. */
function cityflow(vL: number, maxDecL: number, usualDecL: number, s: number, maxDec: number, usualDec: number,
  gap: number, dt: number, minGap: number, headway: number): number {
  let cf = noCollision(vL, maxDecL, s, maxDec, gap, dt, 0);
  const assumeDecel = s > vL ? s - vL : 0;
  const r2 = noCollision(vL, usualDecL, s, usualDec, gap, dt, minGap);
  if (r2 < cf) cf = r2;
  const r3 = (gap + (vL + assumeDecel / 2) * dt - (s * dt) / 2) / (headway + dt / 2);
  return r3 < cf ? r3 : cf;
}

function noCollision(vL: number, dL: number, vF: number, dF: number, gap: number, interval: number, targetGap: number): number {
  const c = (vF * interval) / 2 + targetGap - (0.5 * vL * vL) / dL - gap;
  const a = 0.5 / dF;
  const b = 0.5 * interval;
  if (b * b < 4 * a * c) return -100;
  const v1 = (0.5 / a) * (Math.sqrt(b * b - 4 * a * c) - b);
  const v2 = 2 * vL - dL * interval + (2 * (gap - targetGap)) / interval;
  return v1 < v2 ? v1 : v2;
}

/** v1 of the first (hard braking) term, the value the shortcut compares with the bound. */
function v1Of(vL: number, dL: number, vF: number, dF: number, gap: number, interval: number): number {
  const c = (vF * interval) / 2 - (0.5 * vL * vL) / dL - gap;
  const a = 0.5 / dF;
  const b = 0.5 * interval;
  return (0.5 / a) * (Math.sqrt(b * b - 4 * a * c) - b);
}

const f64 = new Float64Array(1);
const u64 = new BigInt64Array(f64.buffer);
/** the double `k` units in the last place from x (x > 0) */
function ulps(x: number, k: number): number {
  f64[0] = x;
  u64[0] += BigInt(k);
  return f64[0];
}

/** as computeActions uses it: the lower of the two, the bound on a tie or NaN */
const lower = (cf: number, bound: number) => (cf < bound ? cf : bound);

const speed = fc.double({ min: 0, max: 40, noNaN: true });
const dec = fc.oneof(fc.constant(4.5), fc.double({ min: 0.5, max: 12, noNaN: true }));
const vehicle = fc.record({
  vL: speed, maxDecL: dec, usualDecL: dec, s: speed, maxDec: dec, usualDec: dec,
  gap: fc.oneof(fc.double({ min: -2, max: 300, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true })),
  dt: fc.constantFrom(1, 0.5, 0.1, 2, 0.3),
  minGap: fc.double({ min: 0, max: 5, noNaN: true }),
  headway: fc.double({ min: 0, max: 3, noNaN: true }),
});

test('followSpeed below its bound is CityFlow\'s to the last bit', () => {
  fc.assert(
    fc.property(vehicle, fc.oneof(speed, fc.double({ min: 0, max: 1e6, noNaN: true })), (c, bound) => {
      const ours = followSpeed(c.vL, c.maxDecL, c.usualDecL, c.s, c.maxDec, c.usualDec, c.gap, c.dt, c.minGap, c.headway, bound);
      const ref = cityflow(c.vL, c.maxDecL, c.usualDecL, c.s, c.maxDec, c.usualDec, c.gap, c.dt, c.minGap, c.headway);
      assert.ok(Object.is(lower(ours, bound), lower(ref, bound)), `${JSON.stringify(c)} bound ${bound}: ${ours} against ${ref}`);
    }),
    { numRuns: 20000 },
  );
});

test('followSpeed with its bound at v1 or a few units in the last place from it is CityFlow\'s', () => {
  fc.assert(
    fc.property(vehicle, fc.integer({ min: -4, max: 4 }), (c, k) => {
      const v1 = v1Of(c.vL, c.maxDecL, c.s, c.maxDec, c.gap, c.dt);
      fc.pre(v1 > 0 && Number.isFinite(v1));
      const bound = ulps(v1, k);
      const ours = followSpeed(c.vL, c.maxDecL, c.usualDecL, c.s, c.maxDec, c.usualDec, c.gap, c.dt, c.minGap, c.headway, bound);
      const ref = cityflow(c.vL, c.maxDecL, c.usualDecL, c.s, c.maxDec, c.usualDec, c.gap, c.dt, c.minGap, c.headway);
      assert.ok(Object.is(lower(ours, bound), lower(ref, bound)), `${JSON.stringify(c)} bound ${bound}: ${ours} against ${ref}`);
    }),
    { numRuns: 20000 },
  );
});

test('followSpeed without a usable bound (negative, NaN) or with odd decelerations is CityFlow\'s', () => {
  const odd = fc.oneof(fc.constant(0), fc.constant(-4.5), fc.constant(1e-310), fc.constant(Infinity), dec);
  fc.assert(
    fc.property(vehicle, odd, odd, fc.constantFrom(-1, NaN, 0, Infinity), (c, maxDec, usualDec, bound) => {
      const ours = followSpeed(c.vL, c.maxDecL, c.usualDecL, c.s, maxDec, usualDec, c.gap, c.dt, c.minGap, c.headway, bound);
      const ref = cityflow(c.vL, c.maxDecL, c.usualDecL, c.s, maxDec, usualDec, c.gap, c.dt, c.minGap, c.headway);
      assert.ok(Object.is(lower(ours, bound), lower(ref, bound)), `${JSON.stringify({ ...c, maxDec, usualDec })} bound ${bound}: ${ours} against ${ref}`);
    }),
    { numRuns: 5000 },
  );
});
