/**
 * Numbers as CityFlow reads them. CityFlow parses its JSON with RapidJSON's default flags,
 * whose "normal precision" number parser is not correctly rounded: a decimal with 16 or 17
 * significant digits (what JSON writers print for computed coordinates, e.g. a generated
 * grid's -9.584000000000001) can come out a few units in the last place away from the
 * value JSON.parse gives. On a jammed network one such bit in a laneLink point grows, over
 * the hour, into other vehicles going first, so the loader takes each number as CityFlow
 * would have.
 *
 * The text is not kept by JSON.parse, so the number is re-read from its shortest decimal form
 * (String(x)), which is what JSON writers (JavaScript, Python's json) print; a file written
 * with more digits than needed is read as if written shortest.
 */

const LIMIT53 = 2 ** 53 - 1;

/** RapidJSON's Pow10 table: 10^n as the compiler rounds the literal 1e+n (correctly). */
const POW10 = Float64Array.from({ length: 309 }, (_, n) => Number(`1e${n}`));

/** RapidJSON's FastPath: one multiplication or division by a power of ten. */
function fastPath(d: number, exp: number): number {
  if (exp < -308) return 0;
  return exp >= 0 ? d * POW10[exp] : d / POW10[-exp];
}

/**
 * `x` as RapidJSON (Reader::ParseNumber without kParseFullPrecisionFlag, 64-bit build)
 * parses x's shortest decimal text. Integers, and decimals RapidJSON reads exactly (at
 * most 15 significant digits and a power of ten it holds exactly), come back unchanged.
 * `shortcut` false reads every number's text in full (its test compares the two).
 */
export function rapidjsonDouble(x: number, shortcut = true): number {
  if (!Number.isFinite(x) || x === 0 || (Number.isInteger(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER)) return x;
  if (shortcut && shortDecimal(x)) return x;
  // the full reading; kept in this function (as a function of its own it was one more for V8 to optimise at load)
  const neg = x < 0;
  const s = String(neg ? -x : x);
  const n = s.length;
  let i = 0;
  let acc = 0; // RapidJSON's uint64 significand, exact in a double while it is at most 2^53 - 1
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    acc = acc * 10 + (c - 48);
  }
  if (i > 15) return bigIntegerPart(x, s, neg);
  // significandDigit: the integer part's digits after its first
  let sd = acc === 0 ? 0 : i - 1;
  let expFrac = 0;
  let d = acc;
  const hasFrac = i < n && s.charCodeAt(i) === 46;
  if (hasFrac) {
    i++;
    let d64 = -1; // the significand once past 2^53 - 1, rounded as the C++ cast to double rounds it
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57 || acc > LIMIT53) break; // RapidJSON takes digits into it up to 2^53 - 1
      const next = acc * 10 + (c - 48);
      if (next > LIMIT53) d64 = Number(BigInt(acc) * 10n + BigInt(c - 48));
      acc = next; // past the limit only compared with it
      expFrac--;
      if (acc !== 0) sd++;
    }
    d = d64 >= 0 ? d64 : acc;
    // then into the double, while fewer than 17 significant digits
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      if (sd < 17) {
        d = d * 10 + (c - 48);
        expFrac--;
        if (d > 0) sd++;
      }
    }
  }
  let exp = 0;
  if (i < n && s.charCodeAt(i) === 101) exp = Number(s.slice(i + 1)); // e-7, e+21
  else if (!hasFrac) return x;
  const p = exp + expFrac;
  d = p < -308 ? fastPath(fastPath(d, -308), p + 308) : fastPath(d, p);
  return neg ? -d : d;
}

/**
 * Whether x is the double nearest some decimal of at most 15 significant digits between 1e-5
 * and 1e15 (most numbers in a roadnet: 4.5, 11.111, -263.25), which rapidjsonDouble returns
 * unchanged, found without writing x out as text and reading its digits back (String(x):
 * 21,676 times for HZ1's two files, 782,320 for the 36 x 36 grid's roadnet; now 552 and 230,544).
 * Proof by one division: m < 10^15 and 10^k (k <= 22) are exact doubles, so m / 10^k is the
 * double nearest m·10^-k; if that is x, x's shortest text has at most 15 significant digits,
 * in fixed notation (x >= 1e-5) with at most 19 after the point, and the full reading takes
 * those digits exactly into its significand and divides once by the exact 10^f: x again.
 * A false answer only means the full reading, never another result.
 */
function shortDecimal(x: number): boolean {
  const ax = x < 0 ? -x : x;
  if (!(ax >= 1e-5 && ax < 1e15)) return false;
  // x is not an integer here, so k = 0 cannot match
  for (let k = 1; ; k++) {
    const scaled = ax * POW10[k];
    if (scaled >= 1e15) return false;
    if (Math.round(scaled) / POW10[k] === ax) return true;
  }
}

/**
 * rapidjsonDouble for an integer part of 16 to 18 digits, beyond a double's exact integers (in
 * exact integers throughout). Past 18 RapidJSON takes the integer part into a double: not
 * emulated, no coordinate, speed or time has one.
 */
function bigIntegerPart(x: number, s: string, neg: boolean): number {
  const e = s.indexOf('e');
  const mant = e < 0 ? s : s.slice(0, e);
  const dot = mant.indexOf('.');
  const intDigits = dot < 0 ? mant : mant.slice(0, dot);
  const frac = dot < 0 ? '' : mant.slice(dot + 1);
  if (intDigits.length > 18 || (frac === '' && e < 0)) return x;
  let sd = intDigits.length - 1;
  let i64 = BigInt(intDigits);
  let expFrac = 0;
  let k = 0;
  for (; k < frac.length && i64 <= BigInt(LIMIT53); k++) {
    i64 = i64 * 10n + BigInt(frac.charCodeAt(k) - 48);
    expFrac--;
    sd++;
  }
  let d = Number(i64);
  for (; k < frac.length; k++) {
    if (sd < 17) {
      d = d * 10 + (frac.charCodeAt(k) - 48);
      expFrac--;
      sd++;
    }
  }
  const p = (e < 0 ? 0 : Number(s.slice(e + 1))) + expFrac;
  d = p < -308 ? fastPath(fastPath(d, -308), p + 308) : fastPath(d, p);
  return neg ? -d : d;
}

/**
 * Every number in a parsed JSON value, in place, as rapidjsonDouble reads it. Only the few
 * numbers it changes are written back (HZ1's roadnet: 232 of 18,480).
 */
export function rapidjsonNumbers(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'number') {
        const y = rapidjsonDouble(x);
        if (y !== x) v[i] = y;
      } else if (typeof x === 'object' && x !== null) rapidjsonNumbers(x);
    }
  } else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const x = o[k];
      if (typeof x === 'number') {
        const y = rapidjsonDouble(x);
        if (y !== x) o[k] = y;
      } else if (typeof x === 'object' && x !== null) rapidjsonNumbers(x);
    }
  }
  return v;
}
