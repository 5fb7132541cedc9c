import { structuredClone } from '../clone.js';
import type { Network } from '@citybrain/engine';
import { phaseLaneSets, type IntersectionPhases } from '@citybrain/control';
import type { Event } from '../events.js';
import { JAM_SPACING, type LaneEstimate } from '../estimate/lane-estimate.js';

/**
 * A lane-blocking incident the brain detected from lane detector reports:
 * green shown, vehicles standing on the lane, none crossing its stop line;
 * or a lane that used to carry traffic where nothing arrives any more (the
 * blockage is beyond what its detector sees).
 */
export interface Incident {
  id: string;
  /** 'active' until the lane discharges again */
  status: 'active' | 'cleared';
  lane: string;
  road: string;
  /** the intersection the lane leads to */
  intersection: string;
  /** where on the lane, in map metres, as far as a whole-lane detector tells (the middle of the stretch its standing vehicles take back from the stop line) */
  x: number;
  y: number;
  /** simulated second the evidence started (the last report with a crossing or an empty lane before it) */
  since: number;
  /** simulated second and epoch ms of the report that tipped it */
  detectedAt: number;
  detectedTs: number;
  clearedAt: number | null;
  clearedTs: number | null;
  /**
   * at detection: seconds of green without a crossing, and vehicles standing
   * on the lane; for a lane where nothing arrives any more, `missing`: the
   * vehicles its usual flow would have brought meanwhile
   */
  evidence: { greenSeconds: number; queue: number; missing?: number };
  /** who confirmed it (police dispatched), and when (epoch ms) */
  acknowledged: { by: string; ts: number } | null;
}


export interface IncidentDetectorOptions {
  /**
   * seconds of green a lane must show, with vehicles stopped on it and not one
   * crossing its stop line, before it is declared blocked; default 20. A queue
   * in front of a green starts moving within a few seconds (start-up lost time
   * is about 2 s a lane), so 20 s of green without a single crossing is a
   * blockage, not a queue.
   */
  greenSeconds?: number;
  /**
   * the same for a lane green in every phase (CityFlow's right turns), whose
   * vehicles yield to the cross traffic and may wait on green; default 60
   */
  yieldingGreenSeconds?: number;
  /**
   * a downstream lane at least this full (vehicles x 7.5 m over its length)
   * explains a lane that does not discharge (spillback), so it is not an
   * incident there; default 0.8
   */
  spillback?: number;
  /** incidents kept, active or cleared; default 1000 */
  history?: number;
  /**
   * a lane where neither a crossing nor a vehicle was seen while its usual
   * flow (arrivals per second, averaged over `rateSeconds`) would have
   * brought this many vehicles is blocked upstream of what its detector
   * sees; default 10: with Poisson arrivals, seeing none of 10 expected
   * happens by chance once in 22,000 (e^-10)
   */
  starvedArrivals?: number;
  /** ... and at least this many seconds; default 120 (a few signal cycles: an upstream red is no blockage) */
  starvedSeconds?: number;
  /**
   * ... while at least this many vehicles vanished on its road meanwhile:
   * counted in (by the detectors of lanes leading only onto it, or the
   * checkpoint cameras where it enters the network), not counted out at its
   * stop lines, and not seen on it; default 6 (missed counts, lost reports
   * and the estimate's error put a few vehicles off either way). A lane that
   * is quiet because nothing came its way (a blockage upstream) loses none.
   */
  vanished?: number;
}

/** How the detector learns the signals the brain has shown: seconds of green for `lane` between two simulated instants. */
export type GreenSeconds = (lane: number, t0: number, t1: number) => number;

type Listener = (incident: Incident, change: 'detected' | 'cleared' | 'acknowledged') => void;

/**
 * Automatic incident detection from lane detector reports: a lane whose
 * movements were green for `greenSeconds` in all, while vehicles stood on it
 * and none crossed its stop line, is blocked (a breakdown, a crash), unless
 * a lane it leads to is full (then the cause is downstream: spillback, or an
 * incident there) or a lane leaving its junction is blocked or stood still
 * first (the cause is there). Evidence starts over at every crossing and
 * whenever the lane is empty; an incident clears at the lane's first
 * crossing after it.
 *
 * A blockage beyond what a lane's detector sees (a video detector's range,
 * anything upstream of a stop-line loop) leaves nothing standing in view:
 * the lane empties in front of it and stays empty. Such a lane is blocked
 * when it has seen nothing (no crossing, nothing in view) while its usual
 * flow would have brought `starvedArrivals` vehicles, for `starvedSeconds`,
 * and vehicles counted onto its road meanwhile neither left it nor are seen
 * on it (`vanished`; on a road entering the network, where nothing watched
 * comes before it, the quiet is enough), unless a lane feeding it was in trouble meanwhile (the
 * cause is there) or another lane of its road went quiet too (the road gets
 * less: a blockage closes one lane). It clears when the lane sees a vehicle again.
 *
 * Fed with the same durable lane events as the lane estimate (after it), and
 * told by the runtime how long each lane had green (the brain's own signal
 * plans). No I/O: listeners publish.
 */
export class IncidentDetector {
  /** active and recent incidents, oldest first */
  readonly incidents: Incident[] = [];
  /** green seconds without a crossing while vehicles stood on the lane, per lane */
  readonly evidence: Float64Array;
  private readonly active: Int32Array;
  private readonly since: Float64Array;
  /** simulated second each lane's last report covers up to; -1 before the first */
  private readonly reportedTo: Float64Array;
  /** per lane, the lanes its movements lead to */
  private readonly downstream: number[][] = [];
  /** per lane, every lane leaving the intersection it leads to */
  private readonly leaving: number[][] = [];
  /** per lane, every lane entering the intersection it leaves */
  private readonly entering: number[][] = [];
  /** per lane, the lanes whose movements lead onto it */
  private readonly upstream: number[][] = [];
  /** per lane, the green seconds without a crossing that make an incident */
  private readonly needed: Float64Array;
  private readonly spillback: number;
  private readonly history: number;
  /** per lane: its usual flow (vehicles/s: the estimate's arrival rate when it last saw something), and since when and how many vehicles it has missed seeing */
  private readonly rate: Float64Array;
  private readonly silentSince: Float64Array;
  private readonly missing: Float64Array;
  /** per lane, the simulated second it last was in trouble: blocked, standing half as long as makes an incident, or half as quiet */
  private readonly troubleAt: Float64Array;
  private readonly starvedArrivals: number;
  private readonly starvedSeconds: number;
  private readonly vanishedNeeded: number;
  /** per road: vehicles counted onto it and off it so far */
  private readonly roadIn: Float64Array;
  private readonly roadOut: Float64Array;
  /** per lane, the one road every movement from it leads to (its counts are that road's inflow), else -1 */
  private readonly feeds: Int32Array;
  /** per road, whether a detected lane leads onto it (a road entering the network has none) */
  private readonly fed: Uint8Array;
  /** per lane, at the start of its silence: its road's in and out counts and the vehicles the estimate had on it */
  private readonly balance0: Float64Array;
  private readonly listeners = new Set<Listener>();
  private serial = 0;

  constructor(
    private readonly net: Network,
    intersections: readonly IntersectionPhases[],
    private readonly estimate: LaneEstimate,
    private readonly greenSeconds: GreenSeconds,
    /** simulated second of an event's epoch-ms timestamp */
    private readonly simTime: (ts: number) => number,
    opts: IncidentDetectorOptions = {},
  ) {
    const needed = positive('greenSeconds', opts.greenSeconds ?? 20);
    const yielding = positive('yieldingGreenSeconds', opts.yieldingGreenSeconds ?? 60);
    this.spillback = positive('spillback', opts.spillback ?? 0.8);
    this.history = positive('history', opts.history ?? 1000);
    this.starvedArrivals = positive('starvedArrivals', opts.starvedArrivals ?? 10);
    this.starvedSeconds = positive('starvedSeconds', opts.starvedSeconds ?? 120);
    this.vanishedNeeded = positive('vanished', opts.vanished ?? 6);
    this.roadIn = new Float64Array(net.roadIds.length);
    this.roadOut = new Float64Array(net.roadIds.length);
    this.feeds = new Int32Array(net.nLanes).fill(-1);
    this.fed = new Uint8Array(net.roadIds.length);
    this.balance0 = new Float64Array(net.nLanes);
    const n = net.nLanes;
    this.rate = new Float64Array(n);
    this.silentSince = new Float64Array(n).fill(-1);
    this.missing = new Float64Array(n);
    this.troubleAt = new Float64Array(n).fill(-Infinity);
    this.evidence = new Float64Array(n);
    this.needed = new Float64Array(n).fill(needed);
    this.active = new Int32Array(n).fill(-1);
    this.since = new Float64Array(n);
    this.reportedTo = new Float64Array(n).fill(-1);
    for (let l = 0; l < n; l++) {
      this.downstream.push([]);
      this.upstream.push([]);
    }
    for (const ix of intersections) {
      const out = new Set<number>();
      for (const p of ix.greens) {
        for (const m of ix.movements[p]) {
          for (const o of m.outLanes) out.add(o);
          for (const l of m.inLanes) for (const o of m.outLanes) if (!this.downstream[l].includes(o)) this.downstream[l].push(o);
        }
      }
      for (const l of ix.inLanes) this.leaving[l] = [...out];
      // a lane served by no phase of its own (every movement green in every phase) never gets a green of its own: its vehicles yield
      const served = new Set(phaseLaneSets(ix).served.flatMap((lanes) => [...lanes]));
      for (const l of ix.inLanes) if (!served.has(l)) this.needed[l] = yielding;
      for (const o of out) this.entering[o] = ix.inLanes;
    }
    this.downstream.forEach((outs, l) => {
      for (const o of outs) this.upstream[o].push(l);
      const roads = new Set(outs.map((o) => net.laneRoad[o]));
      if (roads.size === 1) this.feeds[l] = net.laneRoad[outs[0]];
      for (const r of roads) this.fed[r] = 1;
    });
  }

  /** Told of every detection, clearance and acknowledgement. */
  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get activeCount(): number {
    let n = 0;
    for (const i of this.incidents) if (i.status === 'active') n++;
    return n;
  }

  /** Takes in a batch of durable events (after the lane estimate took them); lane events are the evidence. */
  apply(events: readonly Event[]): void {
    for (const e of events) {
      if (e.kind === 'plate' && e.position === 'entry' && e.lane !== undefined) {
        const l = this.net.laneIndex.get(e.lane);
        if (l !== undefined) this.roadIn[this.net.laneRoad[l]]++;
      }
      if (e.kind !== 'lane') continue;
      const l = this.net.laneIndex.get(e.lane);
      if (l === undefined) continue;
      const t1 = this.simTime(e.ts);
      // a report older than one already taken adds nothing (and would count its green twice)
      if (t1 <= this.reportedTo[l]) continue;
      if (this.feeds[l] >= 0) this.roadIn[this.feeds[l]] += e.count;
      this.roadOut[this.net.laneRoad[l]] += e.count;
      const t0 = Math.max(t1 - e.interval, this.reportedTo[l]);
      this.reportedTo[l] = t1;
      // nothing crossed and nothing in view (a video detector's vehicles, a loop's occupancy)
      const silent = e.count === 0 && (e.vehicles !== undefined ? e.vehicles === 0 : e.occupancy === 0);
      if (this.active[l] >= 0 && this.isStarved(l)) {
        if (!silent) this.clear(l, t1, e.ts);
        continue;
      }
      this.observe(l, e.count, t0, t1, e.ts);
      if (this.active[l] < 0) this.observeFlow(l, silent, e.interval, t1, e.ts, e.range);
      if (this.active[l] >= 0 || this.evidence[l] >= this.needed[l] / 2 || this.missing[l] >= this.starvedArrivals / 2) this.troubleAt[l] = t1;
    }
  }

  /** Whether the active incident on lane l is one of nothing arriving. */
  private isStarved(l: number): boolean {
    return this.incidents[this.active[l]].evidence.missing !== undefined;
  }

  /**
   * The lane's usual flow, and how much of it has not come: a lane blocked
   * beyond its detector's view empties in front of the blockage and then sees
   * nothing, where its flow says vehicles should come. The flow is learnt only
   * from reports that saw something (a blocked lane does not teach that none is usual).
   */
  private observeFlow(l: number, silent: boolean, interval: number, t1: number, ts: number, range: number | undefined): void {
    if (!silent) {
      this.silentSince[l] = -1;
      this.missing[l] = 0;
      this.rate[l] = this.estimate.arrivals[l];
      return;
    }
    const road = this.net.laneRoad[l];
    if (this.silentSince[l] < 0) {
      this.silentSince[l] = t1 - interval;
      this.balance0[l] = this.roadIn[road] - this.roadOut[road] - this.onRoad(road);
    }
    this.missing[l] += this.rate[l] * interval;
    if (this.missing[l] < this.starvedArrivals || t1 - this.silentSince[l] < this.starvedSeconds) return;
    // on a road entering the network nothing the brain watches comes before it, so nothing there can have held the traffic back:
    // the blockage may be where vehicles enter (they then never enter, and none vanish)
    if (this.fed[road] && this.roadIn[road] - this.roadOut[road] - this.onRoad(road) - this.balance0[l] < this.vanishedNeeded) return;
    // a lane feeding it was in trouble while it went quiet: the cause is there (also for a while after that cleared: what it holds back takes time to come)
    for (const u of this.upstream[l]) if (this.troubleAt[u] >= this.silentSince[l]) return;
    // a blockage closes one lane (vehicles do not change lanes to pass it): another lane of its road gone quiet too says the road gets less, not that it is blocked
    const first = this.net.roadFirstLane[road];
    for (let m = first; m < first + this.net.roadLaneCount[road]; m++) if (m !== l && this.missing[m] >= this.starvedArrivals / 2) return;
    this.since[l] = this.silentSince[l];
    this.detect(l, t1, ts, { range });
  }

  /**
   * Forgets what these lanes' reports so far told (their device was revoked):
   * the next report is taken whatever its timestamp, and the evidence starts
   * over. An incident already detected stays until a crossing clears it.
   */
  forget(lanes: readonly number[]): void {
    for (const l of lanes) {
      this.reportedTo[l] = -1;
      this.evidence[l] = 0;
      this.silentSince[l] = -1;
      this.missing[l] = 0;
    }
  }

  /** Operator (or police) confirmation; returns the incident, or undefined for an unknown id. */
  acknowledge(id: string, by: string, ts: number): Incident | undefined {
    const inc = this.incidents.find((i) => i.id === id);
    if (!inc) return undefined;
    if (!inc.acknowledged) {
      inc.acknowledged = { by, ts };
      this.emit(inc, 'acknowledged');
    }
    return inc;
  }

  /** vehicles on a road, as the estimate has them */
  private onRoad(road: number): number {
    let n = 0;
    const first = this.net.roadFirstLane[road];
    for (let l = first; l < first + this.net.roadLaneCount[road]; l++) n += this.estimate.vehicles[l];
    return n;
  }

  private observe(l: number, crossed: number, t0: number, t1: number, ts: number): void {
    const queued = this.estimate.queue[l] > 0;
    const k = this.active[l];
    if (crossed > 0 || !queued) {
      this.evidence[l] = 0;
      if (k >= 0) this.clear(l, t1, ts);
      return;
    }
    if (k >= 0) return;
    if (this.downstreamFull(l)) {
      this.evidence[l] = 0;
      return;
    }
    const green = this.greenSeconds(l, t0, t1);
    if (green <= 0) return;
    if (this.evidence[l] === 0) this.since[l] = t0;
    this.evidence[l] += green;
    // a lane leaving the junction that is itself stuck is where the blockage is: the queue here is its tail,
    // or the vehicles waiting in the junction to enter it block this lane's way across
    if (this.evidence[l] >= this.needed[l] && !this.leavingStuck(l)) this.detect(l, t1, ts);
  }

  private downstreamFull(l: number): boolean {
    for (const o of this.downstream[l]) {
      if (this.estimate.vehicles[o] * JAM_SPACING >= this.spillback * this.net.length[o]) return true;
    }
    return false;
  }

  /**
   * A lane leaving this lane's junction that is blocked (an incident), or
   * was stuck before this one: the blockage is there. (Not one stuck since:
   * on a two-way street each lane leaves the junction the other enters, and
   * the lane stuck first is the cause.)
   */
  private leavingStuck(l: number): boolean {
    for (const o of this.leaving[l] ?? []) if (this.active[o] >= 0 || (this.evidence[o] > 0 && this.since[o] <= this.since[l])) return true;
    return false;
  }

  /** An incident on lane l: of vehicles standing, or (starved: `range` the metres its detector sees, if not all) of nothing arriving. */
  private detect(l: number, t: number, ts: number, starved?: { range: number | undefined }): void {
    const net = this.net;
    const road = net.laneRoad[l];
    const p = new Float64Array(2);
    const len = net.length[l];
    // where it is, as far as its detector can tell: the middle of the stretch its standing vehicles take back from the stop line,
    // or of what it does not see
    const at = starved ? (len - Math.min(len, starved.range ?? 0)) / 2 : Math.max(0, len - Math.min(len, this.estimate.vehicles[l] * JAM_SPACING) / 2);
    net.positionAt(l, at, p, 0);
    const inc: Incident = {
      id: `inc-${++this.serial}`,
      status: 'active',
      lane: net.laneId(l),
      road: net.roadIds[road],
      intersection: net.interIds[net.roadEndInter[road]],
      x: round(p[0], 1),
      y: round(p[1], 1),
      since: this.since[l],
      detectedAt: t,
      detectedTs: ts,
      clearedAt: null,
      clearedTs: null,
      evidence: starved
        ? { greenSeconds: round(this.greenSeconds(l, this.since[l], t), 1), queue: 0, missing: round(this.missing[l], 1) }
        : { greenSeconds: round(this.evidence[l], 1), queue: this.estimate.queue[l] },
      acknowledged: null,
    };
    this.active[l] = this.incidents.length;
    this.incidents.push(inc);
    this.trim();
    this.emit(inc, 'detected');
  }

  private clear(l: number, t: number, ts: number): void {
    const inc = this.incidents[this.active[l]];
    this.active[l] = -1;
    inc.status = 'cleared';
    inc.clearedAt = t;
    inc.clearedTs = ts;
    // what stood still at the junction behind it waited for it: that evidence goes with it
    for (const u of this.entering[l] ?? []) this.evidence[u] = 0;
    this.emit(inc, 'cleared');
  }

  /** Drops the oldest cleared incidents beyond `history` (active ones stay). */
  private trim(): void {
    let excess = this.incidents.length - this.history;
    if (excess <= 0) return;
    const kept = this.incidents.filter((i) => i.status === 'active' || excess-- <= 0);
    this.incidents.length = 0;
    this.incidents.push(...kept);
    this.active.fill(-1);
    this.incidents.forEach((i, k) => {
      if (i.status === 'active') this.active[this.net.laneIndex.get(i.lane)!] = k;
    });
  }

  private emit(inc: Incident, change: 'detected' | 'cleared' | 'acknowledged'): void {
    for (const fn of this.listeners) fn(inc, change);
  }

  // ---- persistence: what the detector knows, for a snapshot, and restored from one

  exportState(): IncidentDetectorState {
    return {
      incidents: structuredClone(this.incidents), serial: this.serial,
      evidence: this.evidence.slice(), since: this.since.slice(), reportedTo: this.reportedTo.slice(),
      flow: {
        rate: this.rate.slice(), silentSince: this.silentSince.slice(), missing: this.missing.slice(), troubleAt: this.troubleAt.slice(),
        balance0: this.balance0.slice(), roadIn: this.roadIn.slice(), roadOut: this.roadOut.slice(),
      },
    };
  }

  /** Continues from exported state of a detector on the same network (no listener is told: nothing changed). */
  importState(s: IncidentDetectorState): void {
    const n = this.net.nLanes;
    for (const [name, a] of [['evidence', s.evidence], ['since', s.since], ['reportedTo', s.reportedTo]] as const) {
      if (a.length !== n) throw new RangeError(`incident detector state: ${name} has ${a.length} lanes, this network ${n}`);
    }
    const unknown = s.incidents.find((i) => !this.net.laneIndex.has(i.lane));
    if (unknown) throw new RangeError(`incident detector state: incident ${unknown.id} is on lane "${unknown.lane}", which this network does not have`);
    this.incidents.length = 0;
    this.incidents.push(...structuredClone(s.incidents));
    this.serial = s.serial;
    this.evidence.set(s.evidence);
    this.since.set(s.since);
    this.reportedTo.set(s.reportedTo);
    // a snapshot from before the flow rule has none: it learns afresh
    const f = s.flow;
    if (f && f.rate.length === n && f.roadIn.length === this.roadIn.length) {
      this.rate.set(f.rate);
      this.silentSince.set(f.silentSince);
      this.missing.set(f.missing);
      this.troubleAt.set(f.troubleAt);
      this.balance0.set(f.balance0);
      this.roadIn.set(f.roadIn);
      this.roadOut.set(f.roadOut);
    }
    this.active.fill(-1);
    this.incidents.forEach((i, k) => {
      if (i.status === 'active') this.active[this.net.laneIndex.get(i.lane)!] = k;
    });
  }
}

/** An IncidentDetector's state as plain data (structured-cloneable). */
export interface IncidentDetectorState {
  incidents: Incident[];
  serial: number;
  evidence: Float64Array;
  since: Float64Array;
  reportedTo: Float64Array;
  /** the lanes' usual flow and quiet spells, the roads' counts in and out (absent in a snapshot from before them) */
  flow?: {
    rate: Float64Array; silentSince: Float64Array; missing: Float64Array; troubleAt: Float64Array;
    balance0: Float64Array; roadIn: Float64Array; roadOut: Float64Array;
  };
}

function positive(name: string, v: number): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`incident detector: ${name} must be a positive number, got ${String(v)}`);
  return v;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
