/**
 * Smart parking's model: sites (an on-street group of bays or an off-street
 * car park) and their sensored bays, tariffs and opening hours, and the
 * parsing of what an operator registers (the API's body or a register file),
 * every refusal one line naming the field. Money is in minor units (fen,
 * cents) as integers, times are epoch ms: no float ever holds a price.
 */

export const SITE_KINDS = ['onStreet', 'offStreet'] as const;
export type SiteKind = (typeof SITE_KINDS)[number];

/** An id as the API and the register take it (bay ids are the parking sensors' `bay`, events.ts). */
export const PARKING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * What parking costs: `perHour` per started `incrementMinutes` (pro rata),
 * the first `freeMinutes` free (a stay no longer than that costs nothing),
 * and at most `dailyCap` per 24 h from arrival (null: no cap).
 */
export interface Tariff {
  /** ISO 4217, e.g. CNY */
  currency: string;
  /** minor units per hour */
  perHour: number;
  freeMinutes: number;
  incrementMinutes: number;
  /** minor units per 24 h from arrival; null: none */
  dailyCap: number | null;
}

/** Open on `days` (0 Sunday .. 6 Saturday) from `from` to `to`, local time ("HH:MM"; `to` may be "24:00"). */
export interface OpeningPeriod {
  days: number[];
  from: string;
  to: string;
}

/** A site's opening hours in its local time; null on a site means always open. */
export interface OpeningHours {
  /** local time minus UTC, minutes (Hangzhou: 480) */
  utcOffsetMinutes: number;
  periods: OpeningPeriod[];
}

export interface ParkingBayDef {
  id: string;
  /** map position, metres (the network's frame) */
  x: number;
  y: number;
}

export interface ParkingSite {
  id: string;
  name: string;
  kind: SiteKind;
  /** map position, metres (the network's frame): where guidance routes to */
  x: number;
  y: number;
  /** WGS84, when known: the NGSI-LD location */
  lon: number | null;
  lat: number | null;
  /** spaces in all; the sensored bays are some or all of them */
  capacity: number;
  tariff: Tariff;
  openingHours: OpeningHours | null;
  bays: ParkingBayDef[];
}

export type Parsed<T> = { ok: T } | { error: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

/** Minutes since local midnight of "HH:MM". */
export function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function num(v: unknown, path: string, opts: { min?: number; max?: number; integer?: boolean }): number | string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${path}: must be a number, got ${JSON.stringify(v) ?? 'nothing'}`;
  if (opts.integer && !Number.isInteger(v)) return `${path}: must be a whole number, got ${v}`;
  if (opts.min !== undefined && v < opts.min) return `${path}: must be >= ${opts.min}, got ${v}`;
  if (opts.max !== undefined && v > opts.max) return `${path}: must be <= ${opts.max}, got ${v}`;
  return v;
}

function id(v: unknown, path: string): string | { error: string } {
  if (typeof v !== 'string' || !PARKING_ID.test(v)) return { error: `${path}: must be 1 to 128 letters, digits or . _ : -, got ${JSON.stringify(v) ?? 'nothing'}` };
  return v;
}

export function parseTariff(v: unknown, path = 'tariff'): Parsed<Tariff> {
  if (!isObj(v)) return { error: `${path}: must be an object {currency, perHour, freeMinutes?, incrementMinutes?, dailyCap?}` };
  const unknown = Object.keys(v).find((k) => !['currency', 'perHour', 'freeMinutes', 'incrementMinutes', 'dailyCap'].includes(k));
  if (unknown) return { error: `${path}.${unknown}: unknown field (currency, perHour, freeMinutes, incrementMinutes, dailyCap)` };
  if (typeof v.currency !== 'string' || !/^[A-Z]{3}$/.test(v.currency)) return { error: `${path}.currency: must be an ISO 4217 code such as "CNY", got ${JSON.stringify(v.currency) ?? 'nothing'}` };
  const perHour = num(v.perHour, `${path}.perHour`, { min: 0, max: 1e9, integer: true });
  if (typeof perHour === 'string') return { error: `${perHour} (minor units per hour, e.g. fen)` };
  const free = v.freeMinutes === undefined ? 0 : num(v.freeMinutes, `${path}.freeMinutes`, { min: 0, max: 1440, integer: true });
  if (typeof free === 'string') return { error: free };
  const inc = v.incrementMinutes === undefined ? 15 : num(v.incrementMinutes, `${path}.incrementMinutes`, { min: 1, max: 1440, integer: true });
  if (typeof inc === 'string') return { error: inc };
  let cap: number | null = null;
  if (v.dailyCap !== undefined && v.dailyCap !== null) {
    const c = num(v.dailyCap, `${path}.dailyCap`, { min: 0, max: 1e10, integer: true });
    if (typeof c === 'string') return { error: c };
    cap = c;
  }
  return { ok: { currency: v.currency, perHour, freeMinutes: free, incrementMinutes: inc, dailyCap: cap } };
}

export function parseOpeningHours(v: unknown, path = 'openingHours'): Parsed<OpeningHours | null> {
  if (v === undefined || v === null || v === 'always') return { ok: null };
  if (!isObj(v)) return { error: `${path}: must be "always" or {utcOffsetMinutes, periods: [{days, from, to}]}` };
  const off = num(v.utcOffsetMinutes ?? 0, `${path}.utcOffsetMinutes`, { min: -720, max: 840, integer: true });
  if (typeof off === 'string') return { error: off };
  if (!Array.isArray(v.periods) || v.periods.length === 0) return { error: `${path}.periods: must be a non-empty array of {days, from, to}` };
  const periods: OpeningPeriod[] = [];
  for (const [k, p] of v.periods.entries()) {
    const at = `${path}.periods[${k}]`;
    if (!isObj(p)) return { error: `${at}: must be {days, from, to}` };
    if (!Array.isArray(p.days) || p.days.length === 0 || p.days.some((d) => !Number.isInteger(d) || (d as number) < 0 || (d as number) > 6)) {
      return { error: `${at}.days: must be a non-empty array of weekdays 0 (Sunday) to 6 (Saturday)` };
    }
    for (const f of ['from', 'to'] as const) {
      if (typeof p[f] !== 'string' || !HHMM.test(p[f] as string)) return { error: `${at}.${f}: must be a time "HH:MM", got ${JSON.stringify(p[f]) ?? 'nothing'}` };
    }
    if (minutesOf(p.from as string) >= minutesOf(p.to as string)) return { error: `${at}: from ${p.from as string} must be before to ${p.to as string}` };
    periods.push({ days: [...new Set(p.days as number[])].sort(), from: p.from as string, to: p.to as string });
  }
  return { ok: { utcOffsetMinutes: off, periods } };
}

const SITE_FIELDS = ['id', 'name', 'kind', 'x', 'y', 'lon', 'lat', 'capacity', 'tariff', 'openingHours', 'bays'];

/** A site as registered (the API's body, one entry of a register file), checked; `path` prefixes the fields named in an error. */
export function parseSite(v: unknown, path = 'site'): Parsed<ParkingSite> {
  if (!isObj(v)) return { error: `${path}: must be an object {id, name, kind, x, y, capacity, tariff, openingHours?, bays}` };
  const unknown = Object.keys(v).find((k) => !SITE_FIELDS.includes(k));
  if (unknown) return { error: `${path}.${unknown}: unknown field (${SITE_FIELDS.join(', ')})` };
  const sid = id(v.id, `${path}.id`);
  if (typeof sid !== 'string') return sid;
  const name = v.name ?? sid;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) return { error: `${path}.name: must be a string of 1 to 200 characters` };
  if (!SITE_KINDS.includes(v.kind as SiteKind)) return { error: `${path}.kind: must be "onStreet" or "offStreet", got ${JSON.stringify(v.kind) ?? 'nothing'}` };
  const x = num(v.x, `${path}.x`, {});
  if (typeof x === 'string') return { error: `${x} (map metres)` };
  const y = num(v.y, `${path}.y`, {});
  if (typeof y === 'string') return { error: `${y} (map metres)` };
  let lon: number | null = null;
  let lat: number | null = null;
  if (v.lon !== undefined || v.lat !== undefined) {
    const lo = num(v.lon, `${path}.lon`, { min: -180, max: 180 });
    if (typeof lo === 'string') return { error: `${lo} (give lon and lat together, WGS84 degrees)` };
    const la = num(v.lat, `${path}.lat`, { min: -90, max: 90 });
    if (typeof la === 'string') return { error: `${la} (give lon and lat together, WGS84 degrees)` };
    lon = lo;
    lat = la;
  }
  const tariff = parseTariff(v.tariff, `${path}.tariff`);
  if ('error' in tariff) return tariff;
  const hours = parseOpeningHours(v.openingHours, `${path}.openingHours`);
  if ('error' in hours) return hours;
  if (!Array.isArray(v.bays)) return { error: `${path}.bays: must be an array of {id, x, y} (the sensored bays; may be empty)` };
  const bays: ParkingBayDef[] = [];
  const seen = new Set<string>();
  for (const [k, b] of v.bays.entries()) {
    const at = `${path}.bays[${k}]`;
    if (!isObj(b)) return { error: `${at}: must be {id, x, y}` };
    const bid = id(b.id, `${at}.id`);
    if (typeof bid !== 'string') return bid;
    if (seen.has(bid)) return { error: `${at}.id: "${bid}" is given twice` };
    seen.add(bid);
    const bx = b.x === undefined ? x : num(b.x, `${at}.x`, {});
    if (typeof bx === 'string') return { error: bx };
    const by = b.y === undefined ? y : num(b.y, `${at}.y`, {});
    if (typeof by === 'string') return { error: by };
    bays.push({ id: bid, x: bx, y: by });
  }
  const capacity = v.capacity === undefined ? bays.length : num(v.capacity, `${path}.capacity`, { min: 1, max: 100000, integer: true });
  if (typeof capacity === 'string') return { error: capacity };
  if (capacity < 1) return { error: `${path}.capacity: a site needs at least one space (give capacity or bays)` };
  if (bays.length > capacity) return { error: `${path}.capacity: ${capacity} is less than the ${bays.length} bays listed` };
  return { ok: { id: sid, name, kind: v.kind as SiteKind, x, y, lon, lat, capacity, tariff: tariff.ok, openingHours: hours.ok, bays } };
}

/**
 * A register file's text: JSON (`{"sites": [...]}` or an array of sites) or
 * CSV with one row per bay: `site,name,kind,x,y,capacity,currency,perHour,
 * freeMinutes,incrementMinutes,dailyCap,bay,bayX,bayY` (the site's columns
 * repeated on each of its rows; always open). Checks that no bay is in two sites.
 */
export function parseRegister(text: string, file = 'register'): Parsed<ParkingSite[]> {
  const t = text.trim();
  let sites: ParkingSite[];
  if (t.startsWith('{') || t.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(t);
    } catch (e) {
      return { error: `${file}: not valid JSON (${(e as Error).message})` };
    }
    const list = Array.isArray(json) ? json : isObj(json) ? json.sites : undefined;
    if (!Array.isArray(list)) return { error: `${file}: must be {"sites": [...]} or an array of sites` };
    sites = [];
    for (const [k, s] of list.entries()) {
      const p = parseSite(s, `${file}: sites[${k}]`);
      if ('error' in p) return p;
      sites.push(p.ok);
    }
  } else {
    const csv = parseRegisterCsv(t, file);
    if ('error' in csv) return csv;
    sites = csv.ok;
  }
  const owner = new Map<string, string>();
  const siteIds = new Set<string>();
  for (const s of sites) {
    if (siteIds.has(s.id)) return { error: `${file}: site "${s.id}" is given twice` };
    siteIds.add(s.id);
    for (const b of s.bays) {
      const o = owner.get(b.id);
      if (o !== undefined) return { error: `${file}: bay "${b.id}" is in both site "${o}" and site "${s.id}"` };
      owner.set(b.id, s.id);
    }
  }
  return { ok: sites };
}

const CSV_COLUMNS = ['site', 'name', 'kind', 'x', 'y', 'capacity', 'currency', 'perHour', 'freeMinutes', 'incrementMinutes', 'dailyCap', 'bay', 'bayX', 'bayY'] as const;

function parseRegisterCsv(text: string, file: string): Parsed<ParkingSite[]> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = lines[0].split(',').map((h) => h.trim());
  const missing = CSV_COLUMNS.find((c) => !head.includes(c));
  if (missing) return { error: `${file}:1: CSV header lacks column "${missing}" (columns: ${CSV_COLUMNS.join(',')})` };
  const col = (cells: string[], c: (typeof CSV_COLUMNS)[number]) => (cells[head.indexOf(c)] ?? '').trim();
  const bySite = new Map<string, Record<string, unknown>>();
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i].split(',');
    if (cells.length !== head.length) return { error: `${file}:${i + 1}: ${cells.length} cells, the header has ${head.length} (quoted commas are not supported)` };
    const n = (c: (typeof CSV_COLUMNS)[number]) => (col(cells, c) === '' ? undefined : Number(col(cells, c)));
    const sid = col(cells, 'site');
    let s = bySite.get(sid);
    if (!s) {
      s = {
        id: sid, name: col(cells, 'name') || sid, kind: col(cells, 'kind'), x: n('x'), y: n('y'), capacity: n('capacity'),
        tariff: { currency: col(cells, 'currency'), perHour: n('perHour'), freeMinutes: n('freeMinutes'), incrementMinutes: n('incrementMinutes'), dailyCap: n('dailyCap') },
        bays: [],
      };
      bySite.set(sid, s);
    }
    if (col(cells, 'bay') !== '') (s.bays as unknown[]).push({ id: col(cells, 'bay'), x: n('bayX'), y: n('bayY') });
  }
  const out: ParkingSite[] = [];
  let k = 0;
  for (const s of bySite.values()) {
    const p = parseSite(s, `${file}: site "${String(s.id)}"`);
    if ('error' in p) return p;
    out.push(p.ok);
    k++;
  }
  return k === 0 ? { error: `${file}: no rows after the header` } : { ok: out };
}

/** Whether the site is open at epoch ms `ts` (a site without opening hours always is). */
export function isOpenAt(hours: OpeningHours | null, ts: number): boolean {
  if (!hours) return true;
  const local = new Date(ts + hours.utcOffsetMinutes * 60_000);
  const day = local.getUTCDay();
  const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
  return hours.periods.some((p) => p.days.includes(day) && minute >= minutesOf(p.from) && minute < minutesOf(p.to));
}

/**
 * Whether the site is open through [from, to): checked at every minute
 * boundary (opening hours change only on whole minutes) and at `from`.
 */
export function isOpenThrough(hours: OpeningHours | null, from: number, to: number): boolean {
  if (!hours) return true;
  if (!isOpenAt(hours, from)) return false;
  for (let t = Math.ceil(from / 60_000) * 60_000; t < to; t += 60_000) if (!isOpenAt(hours, t)) return false;
  return true;
}
