/**
 * The field-device event model: TypeScript types, the JSON Schemas Fastify
 * validates with (and OpenAPI documents), normalisation, and the messages a
 * device developer sees when an event is refused.
 *
 * Every event has a client-chosen `id`; (device, id) is the idempotency key,
 * so a device that retries a batch has each event stored once, and one
 * device can never shadow another's events by reusing its ids.
 */
import { unstorable } from './text.js';

export const EVENT_KINDS = ['lane', 'plate', 'parking', 'signal', 'avl'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Milliseconds since the epoch: 1e11 is March 1973, 1e13 is the year 2286. */
export const MIN_TS_MS = 1e11;
export const MAX_TS_MS = 1e13;

/**
 * How far from the server clock an event's `ts` may be. Ahead is the danger:
 * the lane estimate and incident detection keep the newest report per lane,
 * so one far-future report would outrank every genuine one. Far behind means
 * a clock that is off (a cabinet's RTC reset to 2000 after a power cut).
 */
export interface ClockSkew {
  /** ms an event may be ahead of the server clock */
  aheadMs: number;
  /** ms an event may be behind it (a device replaying its buffer after an outage) */
  behindMs: number;
}

export const DEFAULT_CLOCK_SKEW: Readonly<ClockSkew> = { aheadMs: 5 * 60_000, behindMs: 7 * 86_400_000 };

/** Why `ts` is refused under `skew` at server time `now` (naming the field), or undefined when it is accepted. */
export function checkClockSkew(ts: number, now: number, skew: Readonly<ClockSkew>, path: string): string | undefined {
  const off = ts - now;
  if (off > skew.aheadMs) {
    return `${path}.ts: ${new Date(ts).toISOString()} is ${duration(off)} ahead of the server clock (${new Date(now).toISOString()}); at most ${duration(skew.aheadMs)} ahead is accepted: check the device's clock`;
  }
  if (-off > skew.behindMs) {
    return `${path}.ts: ${new Date(ts).toISOString()} is ${duration(-off)} behind the server clock (${new Date(now).toISOString()}); at most ${duration(skew.behindMs)} behind is accepted: check the device's clock`;
  }
  return undefined;
}

/**
 * 300000 → "5 min", 90061000 → "1 d 1 h": the largest unit and the one below it, that one left out at 0 ("2 d", not
 * "2 d 1 min": a unit is never skipped)
 */
function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s === 0) return `${Math.round(ms)} ms`;
  const units = [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]] as const;
  const i = units.findIndex(([, n]) => s >= n);
  const [unit, n] = units[i];
  const head = `${Math.floor(s / n)} ${unit}`;
  if (i === units.length - 1) return head;
  const [next, m] = units[i + 1];
  const rest = Math.floor((s % n) / m);
  return rest > 0 ? `${head} ${rest} ${next}` : head;
}

interface Common {
  /** client-chosen, unique per device, at most 128 characters */
  id: string;
  /** the publishing device; must match the device of the token */
  device: string;
  /** epoch milliseconds (after normalisation; on the wire also an ISO 8601 string) */
  ts: number;
}

export interface LaneEvent extends Common {
  kind: 'lane';
  intersection: string;
  lane: string;
  /** vehicles that passed during the interval */
  count: number;
  /** fraction of the interval the detector was occupied, 0..1 */
  occupancy: number;
  /** mean speed in metres per second (0 when no vehicle passed) */
  speed: number;
  /** length of the counting interval in seconds */
  interval: number;
  /** video detectors: vehicles on the lane at the end of the interval */
  vehicles?: number;
  /** video detectors: of which stopped (the queue) */
  queue?: number;
  /** video detectors: metres upstream of the stop line `vehicles` and `queue` cover (absent: the whole lane) */
  range?: number;
  /** video detectors that track vehicles: each vehicle seen (within `range`) at the end of the interval, in any order */
  objects?: LaneObject[];
}

/** One vehicle a tracking detector sees on its lane. */
export interface LaneObject {
  /** metres from the vehicle's front to the stop line (0 at the line) */
  distance: number;
  /** metres per second */
  speed: number;
}

/** Objects one lane report may list: more than a lane of stopped cars holds. */
export const MAX_LANE_OBJECTS = 500;

export interface PlateEvent extends Common {
  kind: 'plate';
  plate: string;
  camera: string;
  intersection: string;
  lane?: string;
  /** recognition confidence, 0..1 */
  confidence: number;
  /**
   * where on the lane the camera reads: at its stop line (the default), at
   * its start where vehicles enter the network, or at its end where they
   * leave it (checkpoint cameras at the city's edge)
   */
  position?: PlatePosition;
}

export const PLATE_POSITIONS = ['stop-line', 'entry', 'exit'] as const;
export type PlatePosition = (typeof PLATE_POSITIONS)[number];

export interface ParkingEvent extends Common {
  kind: 'parking';
  bay: string;
  occupied: boolean;
}

export interface SignalEvent extends Common {
  kind: 'signal';
  intersection: string;
  /** index of the phase the controller is showing */
  phase: number;
  /** whether it runs the brain's plans (`central`) or its own local plan (`local`: its watchdog found the brain silent) */
  mode?: SignalMode;
}

export const SIGNAL_MODES = ['central', 'local'] as const;
/** Whether the brain's plans (`central`) or a signal controller's own local plan (`local`) run an intersection. */
export type SignalMode = (typeof SIGNAL_MODES)[number];

/**
 * A vehicle's position from its automatic vehicle location (AVL) unit (an
 * emergency vehicle's, every second or so), by linear referencing on the
 * network: a lane of a road and the metres from the lane's start. What the
 * brain's twin and the emergency corridor follow.
 */
export interface AvlEvent extends Common {
  kind: 'avl';
  /** the vehicle's id (an emergency vehicle's: the id it was dispatched with) */
  vehicle: string;
  /** road id */
  road: string;
  /** lane index on the road (the n of lane id `<road>_<n>`) */
  lane: number;
  /** metres from the lane's start to the vehicle's front, in [0, the lane's length] */
  distance: number;
  /** metres per second */
  speed: number;
  /** degrees clockwise from north, [0, 360) */
  heading?: number;
  /** WGS84, for display only: the position is road, lane and distance */
  lat?: number;
  lng?: number;
}

export type Event = LaneEvent | PlateEvent | ParkingEvent | SignalEvent | AvlEvent;

/** An event as a device may send it: `ts` may still be an ISO 8601 string. */
export type EventInput = { [K in Event['kind']]: Omit<Extract<Event, { kind: K }>, 'ts'> & { ts: number | string } }[Event['kind']];

/** The intersection an event is about, if any. */
export function eventIntersection(e: Event): string | undefined {
  return e.kind === 'parking' || e.kind === 'avl' ? undefined : e.intersection;
}

/** The parking bay an event is about, if any. */
export function eventBay(e: Event): string | undefined {
  return e.kind === 'parking' ? e.bay : undefined;
}

/** The vehicle an event is about (an AVL position), if any. */
export function eventVehicle(e: Event): string | undefined {
  return e.kind === 'avl' ? e.vehicle : undefined;
}

// ---------------------------------------------------------------- schemas

const name = (description: string) => ({ type: 'string', minLength: 1, maxLength: 128, description }) as const;

/** A device id: letters, digits, . _ : - (at most 128). The event schema's rule, and the device tokens'. */
export const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const commonProperties = {
  id: name('Client-chosen event id, unique per device (the idempotency key is the pair device + id): a retried event is stored once.'),
  device: {
    type: 'string', minLength: 1, maxLength: 128, pattern: DEVICE_ID.source,
    description: 'Id of the publishing device (letters, digits, . _ : -); must be the device the token was issued to.',
  },
  ts: {
    description: 'When the event was observed: epoch MILLISECONDS (an integer) or an ISO 8601 date-time with a time zone. Seconds since the epoch are refused, and so is a time more than the server\'s clock skew (default 5 min) ahead of its clock or more than 7 days behind it.',
    anyOf: [
      { type: 'integer', minimum: MIN_TS_MS, maximum: MAX_TS_MS },
      { type: 'string', format: 'date-time', maxLength: 40 },
    ],
  },
} as const;

const commonRequired = ['id', 'device', 'ts', 'kind'] as const;

function kindSchema(kind: EventKind, description: string, properties: Record<string, object>, required: string[]) {
  return {
    type: 'object',
    title: `${kind} event`,
    description,
    required: [...commonRequired, ...required],
    additionalProperties: false,
    properties: { ...commonProperties, kind: { type: 'string', const: kind }, ...properties },
  } as const;
}

export const laneEventSchema = kindSchema('lane', 'Per-lane detector report (loop or video) for one counting interval.', {
  intersection: name('Intersection id.'),
  lane: name('Lane id (the roadnet lane id, e.g. road_1_0_1_0).'),
  count: { type: 'integer', minimum: 0, maximum: 100000, description: 'Vehicles that passed during the interval.' },
  occupancy: { type: 'number', minimum: 0, maximum: 1, description: 'Fraction of the interval the detector was occupied, 0..1 (not percent).' },
  speed: { type: 'number', minimum: 0, maximum: 100, description: 'Mean speed in metres per second (not km/h); 0 when no vehicle passed.' },
  interval: { type: 'number', exclusiveMinimum: 0, maximum: 3600, description: 'Length of the counting interval in seconds.' },
  vehicles: { type: 'integer', minimum: 0, maximum: 10000, description: 'Video detectors: vehicles on the lane at the end of the interval.' },
  queue: { type: 'integer', minimum: 0, maximum: 10000, description: 'Video detectors: vehicles stopped (slower than 0.1 m/s) on the lane, the queue.' },
  range: { type: 'number', exclusiveMinimum: 0, maximum: 100000, description: 'Video detectors: metres upstream of the stop line that vehicles and queue cover, when the camera sees less than the whole lane.' },
  objects: {
    type: 'array', maxItems: MAX_LANE_OBJECTS,
    description: `Video detectors that track vehicles (an object list, as tracking video and radar detectors give): each vehicle seen within range at the end of the interval, at most ${MAX_LANE_OBJECTS}, in any order.`,
    items: {
      type: 'object', additionalProperties: false, required: ['distance', 'speed'],
      properties: {
        distance: { type: 'number', minimum: 0, maximum: 100000, description: 'Metres from the vehicle\'s front to the stop line (not from the lane\'s start; not feet).' },
        speed: { type: 'number', minimum: 0, maximum: 100, description: 'Metres per second (not km/h).' },
      },
    },
  },
}, ['intersection', 'lane', 'count', 'occupancy', 'speed', 'interval']);

export const plateEventSchema = kindSchema('plate', 'A licence plate read by a camera.', {
  plate: { type: 'string', minLength: 1, maxLength: 16, description: 'The plate as read.' },
  camera: name('Camera id.'),
  intersection: name('Intersection the camera watches.'),
  lane: name('Lane id, when the camera resolves lanes.'),
  confidence: { type: 'number', minimum: 0, maximum: 1, description: 'Recognition confidence, 0..1.' },
  position: { type: 'string', enum: PLATE_POSITIONS, description: 'Where on the lane the camera reads: `stop-line` (the default), `entry` (the lane\'s start, where vehicles enter the network) or `exit` (its end, where they leave it).' },
}, ['plate', 'camera', 'intersection', 'confidence']);

export const parkingEventSchema = kindSchema('parking', 'Occupancy change of one parking bay.', {
  bay: name('Parking bay id.'),
  occupied: { type: 'boolean', description: 'Whether the bay is now occupied.' },
}, ['bay', 'occupied']);

export const signalEventSchema = kindSchema('signal', 'State report of a signal controller.', {
  intersection: name('Intersection id.'),
  phase: { type: 'integer', minimum: 0, maximum: 255, description: 'Index of the phase now shown (the roadnet phase index).' },
  mode: { type: 'string', enum: SIGNAL_MODES, description: 'Who runs the signal: `central` (the brain\'s plans) or `local` (the controller\'s own plan, after its watchdog found the brain silent).' },
}, ['intersection', 'phase']);

export const avlEventSchema = kindSchema('avl', 'A vehicle\'s position from its AVL unit (automatic vehicle location), by linear referencing: road, lane and metres from the lane\'s start.', {
  vehicle: name('Vehicle id (an emergency vehicle: the id it was dispatched with).'),
  road: name('Road id (the roadnet road id, e.g. road_1_0_1).'),
  lane: { type: 'integer', minimum: 0, maximum: 255, description: 'Lane index on the road: the n of the lane id `<road>_<n>`.' },
  distance: { type: 'number', minimum: 0, maximum: 100000, description: 'Metres from the lane\'s start to the vehicle\'s front; at most the lane\'s length.' },
  speed: { type: 'number', minimum: 0, maximum: 100, description: 'Metres per second (not km/h).' },
  heading: { type: 'number', minimum: 0, exclusiveMaximum: 360, description: 'Degrees clockwise from north, for display.' },
  lat: { type: 'number', minimum: -90, maximum: 90, description: 'WGS84 latitude, for display (with lng); the brain uses road, lane and distance.' },
  lng: { type: 'number', minimum: -180, maximum: 180, description: 'WGS84 longitude, for display (with lat).' },
}, ['vehicle', 'road', 'lane', 'distance', 'speed']);

export const eventSchema = {
  type: 'object',
  description: 'One field-device event; `kind` selects the fields.',
  required: ['kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: [laneEventSchema, plateEventSchema, parkingEventSchema, signalEventSchema, avlEventSchema],
} as const;

export const MAX_EVENTS_PER_BATCH = 10000;

/** Body of POST /api/v1/events (a bare array or a single event is accepted too and wrapped). */
export const eventBatchSchema = {
  type: 'object',
  required: ['events'],
  additionalProperties: false,
  properties: {
    events: { type: 'array', minItems: 1, maxItems: MAX_EVENTS_PER_BATCH, items: eventSchema, description: `1 to ${MAX_EVENTS_PER_BATCH} events; stored all or nothing.` },
  },
} as const;

export const appendResultSchema = {
  type: 'object',
  required: ['accepted', 'duplicates'],
  properties: {
    accepted: { type: 'integer', description: 'Events newly stored (durably) by this request.' },
    duplicates: { type: 'integer', description: 'Events already stored earlier (same device and id): retries are harmless.' },
  },
} as const;

// ---------------------------------------------------------- normalisation

/**
 * An event (as stored, ts in ms) as JSON with its flat fields in a fixed
 * order: two events are the same reading when these are equal, whatever
 * order a retry sends the fields in (the idempotency check of the stores
 * and of a batch).
 */
export function canonicalEvent(e: object): string {
  return JSON.stringify(e, Object.keys(e).sort());
}

/**
 * Converts a schema-valid event to its stored form (ts in epoch ms).
 * Returns an error message naming the field when a check the schema cannot
 * express fails.
 */
export function normalizeEvent(e: EventInput, path: string): Event | string {
  for (const [field, v] of Object.entries(e)) {
    if (typeof v !== 'string') continue;
    const bad = unstorable(v);
    if (bad) return `${path}.${field}: ${bad}`;
  }
  if (e.kind === 'avl' && (e.lat === undefined) !== (e.lng === undefined)) return `${path}.${e.lat === undefined ? 'lat' : 'lng'}: is required with ${e.lat === undefined ? 'lng' : 'lat'} (both or neither)`;
  let ts: number;
  if (typeof e.ts === 'number') ts = e.ts;
  else {
    ts = Date.parse(e.ts);
    if (!Number.isFinite(ts)) return `${path}.ts: "${e.ts}" is not a valid ISO 8601 date-time`;
    if (ts < MIN_TS_MS || ts > MAX_TS_MS) return `${path}.ts: "${e.ts}" is outside 1973..2286`;
  }
  return { ...e, ts } as Event;
}

// ------------------------------------------------------- error messages

/** The subset of an Ajv error the messages need (Fastify's FastifySchemaValidationError has it). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `/events/3/occupancy` → `events[3].occupancy` */
export function jsonPath(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out = /^\d+$/.test(seg) ? `${out}[${seg}]` : fieldPath(out, seg);
  }
  return out;
}

/** `events[0]` + `occupancy` → `events[0].occupancy`; a name that is not an identifier is quoted: `events[0][""]`, `events[0]["a b"]` */
export function fieldPath(at: string, field: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(field)) return `${at}[${JSON.stringify(field).slice(0, 60)}]`;
  return at === '' ? field : `${at}.${field}`;
}

function valueAt(data: unknown, instancePath: string): unknown {
  let v = data;
  for (const raw of instancePath.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** Why a numeric ts is refused, with the likely unit mistake spelled out. */
export function describeBadTs(v: unknown): string {
  // bodies are validated without type coercion, so a string of digits is what the device sent
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return `"${v.slice(0, 40)}" is a string of digits; send epoch milliseconds as a JSON number or an ISO 8601 date-time`;
  if (typeof v === 'number' && Number.isFinite(v)) {
    if (v >= 1e8 && v < MIN_TS_MS) return `${v} looks like seconds since the epoch; send milliseconds (${Math.round(v * 1000)}) or an ISO 8601 string`;
    if (v >= 1e14 && v < 1e17) return `${v} looks like microseconds since the epoch; send milliseconds (${Math.round(v / 1000)})`;
    if (v >= 1e17) return `${v} looks like nanoseconds since the epoch; send milliseconds (${Math.round(v / 1e6)})`;
    if (!Number.isInteger(v)) return `${v} must be whole milliseconds since the epoch`;
    return `${v} is not epoch milliseconds between ${MIN_TS_MS} and ${MAX_TS_MS}`;
  }
  if (typeof v === 'string') return `"${v.slice(0, 40)}" is not an ISO 8601 date-time with a time zone (e.g. 2024-05-01T08:00:00Z)`;
  return 'must be epoch milliseconds (integer) or an ISO 8601 date-time string';
}

/**
 * One clear sentence for the first schema error, naming the JSON path of the
 * bad field, e.g. `events[3].occupancy: must be <= 1`.
 */
export function describeSchemaErrors(errors: readonly SchemaError[], data: unknown): string {
  // anyOf/oneOf report every branch; ts has its own message, the rest use the first error
  const tsErr = errors.find((e) => /\/ts$/.test(e.instancePath));
  if (tsErr) return `${jsonPath(tsErr.instancePath)}: ${describeBadTs(valueAt(data, tsErr.instancePath))}`;
  const e = errors[0];
  if (!e) return 'invalid request body';
  const at = jsonPath(e.instancePath);
  const prefix = (field: string) => fieldPath(at, field);
  switch (e.keyword) {
    case 'required':
      return `${prefix(String(e.params.missingProperty))}: is required`;
    case 'additionalProperties':
      return `${prefix(String(e.params.additionalProperty))}: unknown field`;
    case 'discriminator': {
      const v = valueAt(data, `${e.instancePath}/kind`);
      return `${prefix('kind')}: must be one of ${EVENT_KINDS.join(', ')}${v === undefined ? '' : ` (got ${JSON.stringify(v).slice(0, 40)})`}`;
    }
    case 'type': {
      const v = valueAt(data, e.instancePath);
      // JSON.parse reads 1e400 as Infinity, which JSON.stringify would show as null
      const got = typeof v === 'number' && !Number.isFinite(v) ? ' (got a number too large for a double)'
        : v === null || typeof v !== 'object' ? ` (got ${String(JSON.stringify(v)).slice(0, 40)})` : Array.isArray(v) ? ' (got an array)' : ' (got an object)';
      return `${at || 'body'}: must be ${e.params.type}${got}`;
    }
    case 'enum': {
      // Ajv says only "must be equal to one of the allowed values"
      const allowed = Array.isArray(e.params.allowedValues) ? e.params.allowedValues.map(String).join(', ') : '';
      return `${at || 'body'}: must be one of ${allowed} (got ${String(JSON.stringify(valueAt(data, e.instancePath))).slice(0, 40)})`;
    }
    default:
      return `${at || 'body'}: ${e.message ?? e.keyword}`;
  }
}
