import type { Simulation } from '@citybrain/engine';
import { MAX_LANE_OBJECTS, type Event, type LaneEvent, type LaneObject } from '@citybrain/brain';
import { xorshift32 } from './random.js';

/**
 * The virtual city's device models: what its detectors, cameras and parking
 * sensors get wrong, and how their reports travel. The street is exact; its
 * devices are not (unless `sensing: 'perfect'`), so the brain has to cope with
 * what a real deployment gives it.
 */
export interface SensingOptions {
  /**
   * the detector on each approach lane: 'video' (count, occupancy and speed,
   * and vehicles and queue within `videoRangeM`), 'loop' (a stop-line loop:
   * count, time occupancy, speed of the vehicles passing; no vehicles or
   * queue), or a number in [0, 1]: the share of lanes with video, the others loops
   */
  detectors?: 'video' | 'loop' | number;
  /** seconds between two reports of a lane detector */
  period?: number;
  /** probability that a vehicle crossing a stop line is not counted */
  countMissRate?: number;
  /** video: relative standard deviation of the vehicles and queue it reports (multiplicative, unbiased) */
  vehicleNoise?: number;
  /** relative standard deviation of the reported speed */
  speedNoise?: number;
  /** video: metres upstream of the stop line it sees; vehicles beyond are not counted */
  videoRangeM?: number;
  /** video: it tracks vehicles and reports each one it sees (`objects`: distance to the stop line, speed), missing each with countMissRate */
  objects?: boolean;
  /** video: standard deviation of a tracked vehicle's reported distance, metres */
  positionNoiseM?: number;
  /** loop: its length along the lane, metres, just before the stop line */
  loopLengthM?: number;
  /** every report reaches the brain after a delay drawn uniformly in [0, jitterS] seconds */
  jitterS?: number;
  /** probability that a report is lost */
  dropoutRate?: number;
  /** probability that a report is held back (a device buffering through a bad link) ... */
  lateRate?: number;
  /** ... and delivered this many seconds later, drawn uniformly in [min, max], with its original ts */
  lateS?: readonly [number, number];
  /** probability that a report is delivered twice (same id: a retry whose acknowledgement was lost) */
  duplicateRate?: number;
  /** times per device-hour that a device goes silent (power, uplink) ... */
  silencesPerDeviceHour?: number;
  /** ... for this many seconds, drawn uniformly in [min, max] */
  silenceS?: readonly [number, number];
  /** probability that a camera reads no plate for a vehicle passing */
  plateMissRate?: number;
  /** probability per confusable character (0/D, 8/B, 5/S, 2/Z, 1/7, ...) that OCR reads its partner */
  plateConfusionRate?: number;
  /** checkpoint cameras read plates where vehicles enter and leave the network (`position` 'entry' / 'exit') */
  checkpoints?: boolean;
}

export type Sensing = { readonly [K in keyof SensingOptions]-?: NonNullable<SensingOptions[K]> };

/**
 * The virtual city's devices unless told otherwise (README, "Sensing", says why each).
 */
export const DEFAULT_SENSING: Sensing = Object.freeze({
  detectors: 'video',
  period: 5,
  countMissRate: 0.03,
  vehicleNoise: 0.1,
  speedNoise: 0.05,
  videoRangeM: 150,
  objects: true,
  positionNoiseM: 1.5,
  loopLengthM: 2,
  jitterS: 1,
  dropoutRate: 0.01,
  lateRate: 0.02,
  lateS: Object.freeze([5, 30]) as readonly [number, number],
  duplicateRate: 0.005,
  silencesPerDeviceHour: 0,
  silenceS: Object.freeze([600, 3600]) as readonly [number, number],
  plateMissRate: 0.05,
  plateConfusionRate: 0.02,
  checkpoints: true,
});

/** Exact devices, as the virtual city had before it had device models: for tests that need to know what was reported. */
export const PERFECT_SENSING: Sensing = Object.freeze({
  ...DEFAULT_SENSING,
  detectors: 'video',
  countMissRate: 0,
  vehicleNoise: 0,
  speedNoise: 0,
  videoRangeM: Infinity,
  positionNoiseM: 0,
  jitterS: 0,
  dropoutRate: 0,
  lateRate: 0,
  duplicateRate: 0,
  silencesPerDeviceHour: 0,
  plateMissRate: 0,
  plateConfusionRate: 0,
  checkpoints: false,
});

/** Stop-line loops only, and one report in five lost: the degraded case of the benchmarks. */
export const LOOP_SENSING: Sensing = Object.freeze({ ...DEFAULT_SENSING, detectors: 'loop', dropoutRate: 0.2 });

/** The default devices, but video that only counts (vehicles and queue, no tracked objects): an older video detector. */
export const COUNTS_SENSING: Sensing = Object.freeze({ ...DEFAULT_SENSING, objects: false });

/** Named sensing presets (`--sensing` of the benchmarks). */
export const SENSING_PRESETS = { perfect: PERFECT_SENSING, default: DEFAULT_SENSING, counts: COUNTS_SENSING, loop: LOOP_SENSING } as const;
export type SensingPreset = keyof typeof SENSING_PRESETS;

/** The settings in force: a preset by name, or options over the defaults; a bad value is a RangeError naming it. */
export function resolveSensing(opts: SensingOptions | SensingPreset = {}): Sensing {
  if (typeof opts === 'string') {
    const preset = SENSING_PRESETS[opts];
    if (!preset) throw new RangeError(`sensing: unknown preset "${String(opts)}"; one of ${Object.keys(SENSING_PRESETS).join(', ')}`);
    return preset;
  }
  for (const k of Object.keys(opts)) if (!(k in DEFAULT_SENSING)) throw new RangeError(`sensing.${k}: unknown setting; one of ${Object.keys(DEFAULT_SENSING).join(', ')}`);
  const s: Sensing = { ...DEFAULT_SENSING, ...stripUndefined(opts) };
  const d = s.detectors;
  if (!(d === 'video' || d === 'loop' || (typeof d === 'number' && d >= 0 && d <= 1))) throw new RangeError(`sensing.detectors: must be 'video', 'loop' or a video share in [0, 1], got ${JSON.stringify(d)}`);
  const check = (name: keyof Sensing, ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`sensing.${name}: must be ${what}, got ${JSON.stringify(s[name])}`);
  };
  for (const k of ['countMissRate', 'dropoutRate', 'lateRate', 'duplicateRate', 'plateMissRate', 'plateConfusionRate'] as const) check(k, s[k] >= 0 && s[k] <= 1, 'a probability in [0, 1]');
  for (const k of ['vehicleNoise', 'speedNoise'] as const) check(k, s[k] >= 0 && s[k] <= 1, 'a relative standard deviation in [0, 1]');
  check('period', s.period > 0 && s.period <= 3600, 'seconds in (0, 3600]');
  check('videoRangeM', s.videoRangeM > 0, 'metres > 0 (Infinity: the whole lane)');
  check('positionNoiseM', s.positionNoiseM >= 0 && s.positionNoiseM <= 100, 'metres in [0, 100]');
  check('loopLengthM', s.loopLengthM > 0 && s.loopLengthM <= 50, 'metres in (0, 50]');
  check('jitterS', s.jitterS >= 0 && s.jitterS <= 60, 'seconds in [0, 60]');
  check('silencesPerDeviceHour', s.silencesPerDeviceHour >= 0 && s.silencesPerDeviceHour < Infinity, 'a rate >= 0');
  check('lateS', isRange(s.lateS, 0, 600), '[min, max] seconds with 0 <= min <= max <= 600');
  check('silenceS', isRange(s.silenceS, 1, 7 * 86400), '[min, max] seconds with 1 <= min <= max <= 604800');
  check('checkpoints', typeof s.checkpoints === 'boolean', 'true or false');
  check('objects', typeof s.objects === 'boolean', 'true or false');
  return s;
}

function isRange(r: unknown, lo: number, hi: number): boolean {
  return Array.isArray(r) && r.length === 2 && r[0] >= lo && r[1] >= r[0] && r[1] <= hi;
}

function stripUndefined(o: SensingOptions): SensingOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as SensingOptions;
}

/** OCR's confusable pairs within the plates' charset (which has no I or O). */
const CONFUSABLE: readonly string[] = ['0D', '8B', '5S', '2Z', '17', '6G', '4A', 'UV', 'MN', 'EF', 'PR', 'QD'];
const PARTNER = new Map<string, string>();
for (const [a, b] of CONFUSABLE) {
  if (!PARTNER.has(a)) PARTNER.set(a, b);
  if (!PARTNER.has(b)) PARTNER.set(b, a);
}
/** the characters OCR may confuse, and what it reads instead */
export const PLATE_CONFUSIONS: ReadonlyMap<string, string> = PARTNER;
/** each confused character scales a read's confidence by this */
export const CONFUSED_CONFIDENCE = 0.8;

/** Vehicles stopped (slower than this, m/s) on a loop keep it occupied for the whole step. */
const STANDING = 0.1;
const VIDEO = 0;
const LOOP = 1;

/** The sensors' state as plain data (part of VirtualCityState). */
export interface SensorsState {
  rng: number;
  occupiedS: Float64Array;
  speedSum: Float64Array;
  speedN: Int32Array;
  silentUntil: Float64Array;
  nextSilence: Float64Array;
  /** reports on their way: delivered after `steps` more steps */
  inFlight: { steps: number; events: Event[] }[];
}

/**
 * The device models of one virtual city: the lane detectors' measurements
 * (slot k is the k-th detected lane), plate reads, and the delivery of every
 * report (jitter, loss, late, twice, silent devices). The randomness is its
 * own seeded xorshift, apart from the street's: the street (breakdowns,
 * parking) unfolds the same under any sensing.
 */
export class FieldSensors {
  /** per detector slot: 0 video, 1 loop */
  readonly type: Uint8Array;
  private rng: number;
  private readonly lanes: Int32Array;
  private readonly slotOf: Int32Array;
  private readonly occupiedS: Float64Array;
  private readonly speedSum: Float64Array;
  private readonly speedN: Int32Array;
  private readonly silentUntil: Float64Array;
  private readonly nextSilence: Float64Array;
  /** reports held for later steps: ring[(cursor + k) % ring.length] is delivered k steps from now */
  private readonly ring: Event[][];
  private cursor = 0;
  /** whether reports go out as they are made (no loss, delay or silence: no random draw either) */
  private readonly direct: boolean;
  private readonly head = new Int32Array(1);
  private scratch = new Int32Array(64);
  private readonly stats = new Float64Array(4);

  constructor(readonly s: Sensing, private readonly sim: Simulation, lanes: readonly number[], devices: number, seed: number) {
    this.rng = ((seed ^ 0x5bd1e995) >>> 0) || 1;
    const n = lanes.length;
    this.lanes = Int32Array.from(lanes);
    this.slotOf = new Int32Array(sim.net.nLanes).fill(-1);
    lanes.forEach((l, k) => (this.slotOf[l] = k));
    const share = s.detectors === 'video' ? 1 : s.detectors === 'loop' ? 0 : s.detectors;
    // the share exactly (not each lane a coin toss), the loop lanes chosen at random
    const loops = n - Math.round(share * n);
    const order = Array.from({ length: n }, (_, k) => k);
    for (let k = n - 1; k > 0; k--) {
      const j = Math.floor(this.random() * (k + 1));
      [order[k], order[j]] = [order[j], order[k]];
    }
    this.type = new Uint8Array(n);
    for (let k = 0; k < loops; k++) this.type[order[k]] = LOOP;
    this.occupiedS = new Float64Array(n);
    this.speedSum = new Float64Array(n);
    this.speedN = new Int32Array(n);
    this.silentUntil = new Float64Array(devices);
    this.nextSilence = new Float64Array(devices).fill(Infinity);
    if (s.silencesPerDeviceHour > 0) for (let d = 0; d < devices; d++) this.nextSilence[d] = this.exponential(3600 / s.silencesPerDeviceHour);
    const dt = sim.interval;
    // the longest a report can be held: jitter, late, and a duplicate's retry
    this.ring = Array.from({ length: Math.ceil((s.jitterS + s.lateS[1] + RETRY_S[1]) / dt) + 2 }, () => []);
    this.direct = s.jitterS === 0 && s.dropoutRate === 0 && s.lateRate === 0 && s.duplicateRate === 0 && s.silencesPerDeviceHour === 0;
  }

  /** The detector type of a detected lane (by lane index), or undefined for a lane without one. */
  detectorOf(lane: number): 'video' | 'loop' | undefined {
    const k = this.slotOf[lane];
    return k < 0 ? undefined : this.type[k] === LOOP ? 'loop' : 'video';
  }

  // ---------------------------------------------------------------- detectors

  /** A vehicle crossed a stop line (Simulation.forEachCrossing): a loop there times it. */
  crossing(vehicle: number, lane: number): void {
    const k = this.slotOf[lane];
    if (k < 0 || this.type[k] !== LOOP) return;
    const v = this.sim.vehicleSpeed(vehicle);
    // a vehicle passing at v covers the loop for (loop + vehicle length) / v seconds
    this.occupiedS[k] += Math.min(this.sim.interval, (this.s.loopLengthM + this.sim.vehicleLength(vehicle)) / Math.max(v, 0.5));
    this.speedSum[k] += v;
    this.speedN[k]++;
  }

  /** After each step: a loop with a vehicle standing on it is occupied the whole step. */
  afterStep(): void {
    const sim = this.sim;
    const net = sim.net;
    const dt = sim.interval;
    for (let k = 0; k < this.type.length; k++) {
      if (this.type[k] !== LOOP) continue;
      const l = this.lanes[k];
      if (sim.laneVehicles(l, this.head) === 0) continue;
      const v = this.head[0];
      if (sim.vehicleDistance(v) >= net.length[l] - this.s.loopLengthM && sim.vehicleSpeed(v) < STANDING) this.occupiedS[k] += dt;
    }
  }

  /**
   * The report of detector slot k for the period ending now, given the
   * vehicles that crossed its stop line meanwhile; resets its period.
   */
  laneReport(k: number, crossed: number, e: Pick<LaneEvent, 'id' | 'device' | 'ts' | 'intersection' | 'lane' | 'interval'>): LaneEvent {
    const s = this.s;
    const { id, device, ts, intersection, lane, interval } = e;
    const count = this.thin(crossed);
    if (this.type[k] === LOOP) {
      const speed = this.speedN[k] > 0 ? round3(this.noisy(this.speedSum[k] / this.speedN[k], s.speedNoise)) : 0;
      const occupancy = round3(Math.min(1, this.occupiedS[k] / interval));
      this.occupiedS[k] = 0;
      this.speedSum[k] = 0;
      this.speedN[k] = 0;
      return { kind: 'lane', id, device, ts, intersection, lane, count, occupancy, speed, interval };
    }
    const l = this.lanes[k];
    const st = this.videoStats(l);
    const vehicles = Math.round(this.noisy(st[0], s.vehicleNoise));
    const queue = Math.min(vehicles, Math.round(this.noisy(st[1], s.vehicleNoise)));
    // in the order the fields always had (a perfect city's reports are byte for byte what they were)
    const report: LaneEvent = { kind: 'lane', id, device, ts, intersection, lane, count, vehicles, queue, occupancy: round3(st[3]), speed: st[0] > 0 ? round3(this.noisy(st[2], s.speedNoise)) : 0, interval };
    // a camera seeing part of the lane says how much
    if (s.videoRangeM < this.sim.net.length[l]) report.range = s.videoRangeM;
    if (s.objects) report.objects = this.tracked(l);
    return report;
  }

  /** What a tracking video detector reports of lane l: each vehicle within range, front first, missed with countMissRate, its distance and speed noisy. */
  private tracked(l: number): LaneObject[] {
    const sim = this.sim;
    const s = this.s;
    const len = sim.net.length[l];
    const seen = Math.min(len, s.videoRangeM);
    const on = sim.laneVehicleCount(l);
    if (this.scratch.length < on) this.scratch = new Int32Array(Math.max(on, 2 * this.scratch.length));
    const m = sim.laneVehicles(l, this.scratch);
    const out: LaneObject[] = [];
    // front first, at most what a report may list (a jam longer than that is listed as far as it goes: the twin reads it so)
    for (let j = 0; j < m && out.length < MAX_LANE_OBJECTS; j++) {
      const v = this.scratch[j];
      const d = len - sim.vehicleDistance(v);
      if (d > seen) break;
      if (s.countMissRate > 0 && this.random() < s.countMissRate) continue;
      const noisyD = s.positionNoiseM > 0 ? d + s.positionNoiseM * this.gaussian() : d;
      out.push({ distance: round1(Math.min(seen, Math.max(0, noisyD))), speed: round3(this.noisy(sim.vehicleSpeed(v), s.speedNoise)) });
    }
    return out;
  }

  /** What a video detector sees of the lane: laneStats within videoRangeM of the stop line. */
  private videoStats(l: number): Float64Array {
    const sim = this.sim;
    const out = this.stats;
    const len = sim.net.length[l];
    const range = this.s.videoRangeM;
    if (range >= len) return sim.laneStats(l, out);
    const on = sim.laneVehicleCount(l);
    if (this.scratch.length < on) this.scratch = new Int32Array(Math.max(on, 2 * this.scratch.length));
    const m = sim.laneVehicles(l, this.scratch);
    const from = len - range;
    let n = 0, stopped = 0, speed = 0, covered = 0;
    // front first: the first vehicle beyond the range ends the scan
    for (let j = 0; j < m; j++) {
      const v = this.scratch[j];
      const front = sim.vehicleDistance(v);
      if (front < from) break;
      const sp = sim.vehicleSpeed(v);
      n++;
      if (sp < STANDING) stopped++;
      speed += sp;
      covered += Math.min(sim.vehicleLength(v), front - from);
    }
    out[0] = n;
    out[1] = stopped;
    out[2] = n > 0 ? speed / n : sim.net.maxSpeed[l];
    out[3] = Math.min(1, covered / range);
    return out;
  }

  /** `n` vehicles, each missed with countMissRate */
  private thin(n: number): number {
    const p = this.s.countMissRate;
    if (p === 0) return n;
    let kept = 0;
    for (let j = 0; j < n; j++) if (this.random() >= p) kept++;
    return kept;
  }

  /** x with multiplicative Gaussian noise of relative sd `sd`, never below 0 */
  private noisy(x: number, sd: number): number {
    if (sd === 0 || x === 0) return x;
    return Math.max(0, x * (1 + sd * this.gaussian()));
  }

  // ---------------------------------------------------------------- cameras

  /** confidence of the last `readPlate` */
  confidence = 0;

  /**
   * What a camera reads of `plate` (undefined: missed), with `base` its
   * confidence for a clean read; sets `confidence`. Each confusable character
   * is read as its partner with plateConfusionRate, and lowers the confidence.
   */
  readPlate(plate: string, base: number): string | undefined {
    const s = this.s;
    this.confidence = base;
    if (s.plateMissRate > 0 && this.random() < s.plateMissRate) return undefined;
    if (s.plateConfusionRate === 0) return plate;
    let read = plate;
    for (let j = 0; j < plate.length; j++) {
      const partner = PARTNER.get(plate[j]);
      if (partner === undefined || this.random() >= s.plateConfusionRate) continue;
      read = read.slice(0, j) + partner + read.slice(j + 1);
      this.confidence *= CONFUSED_CONFIDENCE;
    }
    this.confidence = round3(this.confidence);
    return read;
  }

  /** a confidence for a clean read by a checkpoint camera, from the sensors' own randomness */
  cleanConfidence(): number {
    return 0.9 + 0.1 * this.random();
  }

  // ---------------------------------------------------------------- delivery

  /** Reports of earlier steps due now, into `out`; call once at the start of each step's reports. */
  due(out: Event[]): void {
    const slot = this.ring[this.cursor];
    for (let j = 0; j < slot.length; j++) out.push(slot[j]);
    slot.length = 0;
  }

  /** Ends the step's reports (after `due` and every `send`). */
  endStep(): void {
    this.cursor = (this.cursor + 1) % this.ring.length;
  }

  /**
   * Sends report `e` of device `dev` (an index into the city's devices; -1:
   * a device without the silence model), made at simulated second `t`: into
   * `out` now, later, twice, or not at all.
   */
  send(out: Event[], e: Event, dev: number, t: number): void {
    if (this.direct) return void out.push(e);
    const s = this.s;
    if (dev < 0) {
      // no silence, and no draw for it: a device of the fixed list is silenced as it was without this one
    } else if (t >= this.nextSilence[dev]) {
      this.silentUntil[dev] = t + s.silenceS[0] + (s.silenceS[1] - s.silenceS[0]) * this.random();
      this.nextSilence[dev] = this.silentUntil[dev] + this.exponential(3600 / s.silencesPerDeviceHour);
    }
    if (dev >= 0 && t < this.silentUntil[dev]) return;
    if (s.dropoutRate > 0 && this.random() < s.dropoutRate) return;
    let delay = s.jitterS > 0 ? s.jitterS * this.random() : 0;
    if (s.lateRate > 0 && this.random() < s.lateRate) delay += s.lateS[0] + (s.lateS[1] - s.lateS[0]) * this.random();
    this.schedule(out, e, delay);
    if (s.duplicateRate > 0 && this.random() < s.duplicateRate) this.schedule(out, { ...e }, delay + RETRY_S[0] + (RETRY_S[1] - RETRY_S[0]) * this.random());
  }

  private schedule(out: Event[], e: Event, delay: number): void {
    const steps = Math.ceil(delay / this.sim.interval - 1e-9);
    if (steps <= 0) out.push(e);
    else this.ring[(this.cursor + steps) % this.ring.length].push(e);
  }

  /** Whether device `dev` is silent at simulated second `t` (for tests and the dashboard). */
  isSilent(dev: number, t: number): boolean {
    return t < this.silentUntil[dev];
  }

  // ---------------------------------------------------------------- state

  exportState(): SensorsState {
    const n = this.ring.length;
    const inFlight: SensorsState['inFlight'] = [];
    for (let k = 0; k < n; k++) {
      const slot = this.ring[(this.cursor + k) % n];
      if (slot.length > 0) inFlight.push({ steps: k, events: slot.map((e) => ({ ...e })) });
    }
    return {
      rng: this.rng, occupiedS: this.occupiedS.slice(), speedSum: this.speedSum.slice(), speedN: this.speedN.slice(),
      silentUntil: this.silentUntil.slice(), nextSilence: this.nextSilence.slice(), inFlight,
    };
  }

  importState(s: SensorsState): void {
    if (s.occupiedS.length !== this.occupiedS.length) throw new RangeError(`virtual city state: sensors for ${s.occupiedS.length} detected lanes, this city has ${this.occupiedS.length}`);
    if (s.silentUntil.length !== this.silentUntil.length) throw new RangeError(`virtual city state: sensors for ${s.silentUntil.length} devices, this city has ${this.silentUntil.length}`);
    this.rng = s.rng;
    this.occupiedS.set(s.occupiedS);
    this.speedSum.set(s.speedSum);
    this.speedN.set(s.speedN);
    this.silentUntil.set(s.silentUntil);
    this.nextSilence.set(s.nextSilence);
    for (const slot of this.ring) slot.length = 0;
    this.cursor = 0;
    // a ring of other settings may be shorter: what does not fit is delivered at its end
    for (const f of s.inFlight) this.ring[Math.min(f.steps, this.ring.length - 1)].push(...f.events);
  }

  // ---------------------------------------------------------------- randomness

  /** xorshift32 (random.ts) */
  private random(): number {
    this.rng = xorshift32(this.rng);
    return this.rng / 4294967296;
  }

  /** standard normal (Box-Muller) */
  private gaussian(): number {
    const u = 1 - this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  private exponential(mean: number): number {
    return -mean * Math.log(1 - this.random());
  }
}

/** A duplicate is a retry: it follows the first delivery after this many seconds, drawn uniformly. */
const RETRY_S = [1, 5] as const;

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
