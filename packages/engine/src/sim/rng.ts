/**
 * The simulation's random generators, each with its whole state in one
 * Uint32Array, so a fork (a copy of the state) copies the generator too and
 * replays the same draws. The state's length says which generator it is:
 *
 * - 4 words: xoshiro128** (the default: small, fast to copy);
 * - 625 words: std::mt19937 (624 words and the index of the next), the
 *   generator CityFlow draws from, for `random: 'cityflow'`.
 */

/** Which generator a simulation draws from (SimulationOptions.random). */
export type RandomKind = 'xoshiro' | 'cityflow';

const MT_N = 624;
const MT_M = 397;

/** A generator of `kind` seeded with `seed` (taken modulo 2^32, as C++'s mt19937.seed(int) does). */
export function seedRng(seed: number, kind: RandomKind = 'xoshiro'): Uint32Array {
  return kind === 'cityflow' ? seedMt19937(seed) : seedXoshiro(seed);
}

/** std::mt19937 seeded as std::mt19937(seed) is. */
export function seedMt19937(seed: number): Uint32Array {
  const s = new Uint32Array(MT_N + 1);
  s[0] = seed >>> 0;
  for (let i = 1; i < MT_N; i++) {
    const x = s[i - 1] ^ (s[i - 1] >>> 30);
    s[i] = (Math.imul(1812433253, x) + i) >>> 0;
  }
  s[MT_N] = MT_N; // the next draw twists first
  return s;
}

function seedXoshiro(seed: number): Uint32Array {
  const s = new Uint32Array(4);
  // splitmix32 to spread a small integer seed over the state
  let x = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    s[i] = (z ^ (z >>> 16)) >>> 0;
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/** Whether `s` is CityFlow's generator (mt19937). */
export function isMt19937(s: Uint32Array): boolean {
  return s.length === MT_N + 1;
}

/** Next 32-bit unsigned draw of either generator; advances `s` in place. */
export function nextU32(s: Uint32Array): number {
  return s.length === 4 ? nextXoshiro(s) : nextMt19937(s);
}

function nextXoshiro(s: Uint32Array): number {
  const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
  const t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return r;
}

function nextMt19937(s: Uint32Array): number {
  let i = s[MT_N];
  if (i >= MT_N) {
    twist(s);
    i = 0;
  }
  let y = s[i];
  s[MT_N] = i + 1;
  y ^= y >>> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  y ^= y >>> 18;
  return y >>> 0;
}

function twist(s: Uint32Array): void {
  for (let k = 0; k < MT_N; k++) {
    const y = (s[k] & 0x80000000) | (s[(k + 1) % MT_N] & 0x7fffffff);
    s[k] = s[(k + MT_M) % MT_N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
