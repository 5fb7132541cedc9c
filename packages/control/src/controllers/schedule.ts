import type { Controller, IntersectionPhases, Observed, SimReader } from '../core/controller.js';
import { checkOption } from './options.js';
import { intersectionSlots } from '../core/slots.js';
import { phaseLaneSets } from '../measures/phase-lanes.js';
import { SpillGuard } from '../measures/spill-guard.js';
import { SPILL_WARN_SHARE } from '../measures/spill-back.js';
import { movementWidths } from '../measures/lane-exits.js';

export interface ScheduleOptions {
  /** seconds between two vehicles leaving one lane at saturation; default 1.5 */
  headway?: number;
  /** seconds a new green loses before its queue moves (start-up), charged to each vehicle it serves first; default 1 */
  lostTime?: number;
  /** seconds: arrivals less than this after a cluster's end join it; default 3 */
  clusterGap?: number;
  /** clusters per phase at most (later arrivals join the last); default 5 */
  maxClusters?: number;
  /** seconds of approach looked at: a lane's vehicles within this many seconds at its speed limit; default 70 */
  horizon?: number;
  /** seconds after which a green ends whatever the schedule says, if a red phase has vehicles; default 120 */
  maxGreen?: number;
  /** metres a vehicle takes on a lane: a lane whose exit lanes are full to within one vehicle is not counted; default 7.5 */
  spacing?: number;
  /**
   * seconds without a stop-line crossing (the detector's count) after which the green's stopped vehicles on a lane
   * count for nothing: they are held by what the plan cannot see (a blocked exit, a gap they yield for); default 6
   */
  stall?: number;
  /**
   * a lane's vehicles weigh 1 / w^widthExponent in a cluster, w the lanes of its movement (measures/lane-exits.ts
   * movementWidths); 0: each vehicle counts 1; default 0.5
   */
  widthExponent?: number;
}

export type ScheduleParams = Required<ScheduleOptions>;

export function scheduleParams(opts: ScheduleOptions = {}): ScheduleParams {
  const name = 'schedule';
  return {
    headway: checkOption(name, 'headway', opts.headway ?? 1.5, 0.1),
    lostTime: checkOption(name, 'lostTime', opts.lostTime ?? 1, 0),
    clusterGap: checkOption(name, 'clusterGap', opts.clusterGap ?? 3, 0),
    maxClusters: Math.round(checkOption(name, 'maxClusters', opts.maxClusters ?? 5, 1, MAX_CLUSTERS)),
    horizon: checkOption(name, 'horizon', opts.horizon ?? 70, BIN_SECONDS, 600),
    maxGreen: checkOption(name, 'maxGreen', opts.maxGreen ?? 120, 0),
    spacing: checkOption(name, 'spacing', opts.spacing ?? 7.5, 0.1),
    stall: checkOption(name, 'stall', opts.stall ?? 6, 0),
    widthExponent: checkOption(name, 'widthExponent', opts.widthExponent ?? 0.5, 0, 1),
  };
}

/** arrivals are counted in slots of this many seconds at the lane's speed limit */
const BIN_SECONDS = 2;
const MAX_CLUSTERS = 16;
/**
 * the schedule search's work at most, states x phases x phases (4,096 states at 4 phases, 1,024 at 8): clusters are
 * merged from the longest list until it fits
 */
const MAX_WORK = 65536;

/**
 * Schedule-driven control, after SURTRAC (Xie, Smith & Barlow 2012; Smith et
 * al. 2013), on what each approach's detectors see. Every second after the
 * minimum green, at each intersection:
 * 1. each green phase's arrivals become a few clusters ("jobs"): the stopped
 *    vehicles on its lanes (ready now, leaving in `headway` x the longest
 *    lane's queue), then the moving ones by their time to the stop line at the
 *    speed limit, counted in 2 s slots; slots closer than `clusterGap` to the
 *    previous cluster's end join it;
 * 2. a forward search over the order of the clusters (each phase's in their
 *    own order) finds the sequence of least total wait: a cluster starts at
 *    its arrival or when the previous one ends, plus the yellow and the
 *    start-up loss when its phase differs from the previous cluster's (and a
 *    new green lasts at least the minimum green); one best value is kept per
 *    (clusters served of each phase, last phase), as SURTRAC's dynamic
 *    programme does;
 * 3. the intersection keeps its green when that sequence starts with a
 *    cluster of the green, and otherwise changes to the phase it starts with.
 * Before the search, queue-spillback protection (measures/spill-guard.ts): a
 * lane standing past SPILL_WARN_SHARE of its length, with room beyond (no
 * exit lane of its movement standing full: SpillBack.exitsHeld), calls its
 * phase (the green if it serves one, else, of the greens that spill, those
 * with a lane a junction feeds first, the heaviest: SpillGuardOptions), which
 * then holds until its queue has left or nothing crosses for SPILL_GAP
 * seconds. Least total wait serves
 * phases by vehicles discharged per second, so a one-lane left turn waits
 * behind busier straights for ever, while the right turns feeding it (green
 * always) fill it until they stop in the junction upstream and lock it.
 * So a green is held for a platoon about to arrive when that costs the reds
 * less than a second yellow would, and given up early for a queue when its
 * own arrivals are sparse. Lanes whose exit lanes are full, or one of them
 * standing full, count for nothing (their vehicles cannot leave, or those
 * bound for the full one would stop in the junction); right turns, green in
 * every phase, neither.
 * It reads lane counts within a range (what a video detector reports), not
 * routes, and plans for each intersection alone.
 */
export class SchedulePolicy {
  private readonly served: Int32Array[][];
  private readonly protection: SpillGuard;
  /** per incoming lane: its movements' exit lanes in outLanes[outStart[l], outStart[l + 1]) */
  private readonly outStart: Int32Array;
  private readonly outLanes: Int32Array;
  /** vehicles a lane holds */
  private readonly capacity: Float64Array;
  /** per lane: what each of its vehicles weighs in a cluster (1 / its movement's lanes ^ widthExponent) */
  private readonly weight: Float64Array;
  private readonly nBins: number;
  // scratch: arrivals per time slot (summed over a phase's lanes, and the largest on one lane)
  private readonly binCount: Float64Array;
  private readonly binMax: Float64Array;
  // clusters of phase slot g at [g * MAX_CLUSTERS, ...): arrival (s from now), vehicles, seconds to serve
  private readonly ca: Float64Array;
  private readonly cn: Float64Array;
  private readonly cd: Float64Array;
  private readonly nc: Int32Array;
  private readonly radix: Int32Array;
  private val = new Float64Array(0);
  private fin = new Float64Array(0);
  private first = new Int32Array(0);
  /** per lane: its detector's count when last seen, and the second it last changed */
  private readonly lastCount: Float64Array;
  private readonly lastMoved: Float64Array;

  constructor(
    ixs: readonly IntersectionPhases[],
    private readonly sim: SimReader,
    private readonly observed: Observed,
    readonly params: ScheduleParams,
    private readonly yellowTime: number,
    private readonly minGreen: number,
  ) {
    this.served = ixs.map((ix) => phaseLaneSets(ix).served);
    // spill calls of lanes fed by a junction first (SpillGuard's fedFirst): a busy entry approach's would keep a
    // left-turn lane fed by right turns waiting until the ring round it locks (test/spill-ring.test.ts, 3 x 3 grid).
    // A movement held by a full exit lane is neither called nor held nor planned (strictExits, and exitFree), and of
    // several spilling greens the heaviest is called (weighed): on the 3 x 3 grid with two through lanes at 0.15
    // veh/s a route, seeds 0-4, ATT 1,112.7 s -> 845.1 (max-pressure 919.3); strictExits alone 921.4, weighed alone
    // 1,071.2 and a lock on 6 x 6 at 0.1 (3,220 s) that the two together do not have
    this.protection = new SpillGuard(sim.net, ixs, SPILL_WARN_SHARE, { fedFirst: true, strictExits: true, weighed: true });
    const net = sim.net;
    // each incoming lane's exit lanes: the spill guard's own
    ({ start: this.outStart, lanes: this.outLanes } = this.protection.spill.exits);
    this.capacity = new Float64Array(net.nLanes);
    for (let l = 0; l < net.nLanes; l++) this.capacity[l] = net.length[l] / params.spacing;
    // a wide movement's lanes are served together (its cluster lasts its longest lane's queue): summed over its lanes,
    // a three-lane through movement outweighed a one-lane left turn three times for the same queue per lane, and the
    // turn lanes filled until the grid locked (figures in docs/benchmarks.md, issue #16). One lane per movement (the
    // five public scenarios, CityFlow's default grids): every weight 1
    const width = movementWidths(net);
    this.weight = new Float64Array(net.nLanes);
    for (let l = 0; l < net.nLanes; l++) this.weight[l] = Math.pow(width[l], -params.widthExponent);
    this.lastCount = new Float64Array(net.nLanes).fill(-1);
    this.lastMoved = new Float64Array(net.nLanes);
    this.nBins = Math.ceil(params.horizon / BIN_SECONDS);
    this.binCount = new Float64Array(this.nBins);
    this.binMax = new Float64Array(this.nBins);
    const maxPhases = Math.max(1, ...ixs.map((ix) => ix.greens.length));
    this.ca = new Float64Array(maxPhases * MAX_CLUSTERS);
    this.cn = new Float64Array(maxPhases * MAX_CLUSTERS);
    this.cd = new Float64Array(maxPhases * MAX_CLUSTERS);
    this.nc = new Int32Array(maxPhases);
    this.radix = new Int32Array(maxPhases + 1);
  }

  /**
   * Whether lane l's exit lanes have room for more than one vehicle (a lane without exits: always) and none of them
   * holds it standing full (SpillBack.exitsHeld: the vehicles bound for it would stop in the junction).
   */
  private exitFree(l: number): boolean {
    const s0 = this.outStart[l], s1 = this.outStart[l + 1];
    if (s0 === s1) return true;
    let room = 0;
    for (let i = s0; i < s1; i++) room += this.capacity[this.outLanes[i]] - this.sim.laneVehicleCount(this.outLanes[i]);
    return room > 1 && !(this.protection.spill.strictExits && this.protection.spill.exitsHeld(l, this.observed.queue));
  }

  /** Clusters of phase slot g from its lanes now; `greenSince` >= 0: g is the green, shown since then. */
  private cluster(g: number, lanes: Int32Array, greenSince: number): void {
    const { sim, binCount, binMax, nBins, ca, cn, cd } = this;
    const { headway: h, clusterGap, maxClusters } = this.params;
    binCount.fill(0);
    binMax.fill(0);
    let queue = 0, longest = 0;
    const now = sim.time, counted = this.observed.counted, seen = this.observed.seen, stall = this.params.stall;
    for (let i = 0; i < lanes.length; i++) {
      const l = lanes[i];
      if (counted[l] !== this.lastCount[l]) {
        this.lastCount[l] = counted[l];
        this.lastMoved[l] = now;
      }
      if (!this.exitFree(l)) continue;
      let stopped = sim.laneWaitingCount(l);
      // a green lane whose queue has not moved for `stall` seconds: what holds it is not the signal
      if (greenSince >= 0 && stopped > 0 && now - greenSince >= stall && now - this.lastMoved[l] >= stall) stopped = 0;
      const w = this.weight[l];
      queue += stopped * w;
      if (stopped > longest) longest = stopped;
      // moving vehicles by 2 s slots of distance at the speed limit, the whole lane where its detector sees part of
      // it: beyond the camera's view the twin holds the vehicles the upstream cameras saw leave their stop lines, on
      // the lanes the plate pairs say they take (grid 4x4, default devices: +4.1% of ATT against ground truth seeing
      // 150 m, +3.4% the whole lane; HZ1 +1.1% -> +0.7%, JN1 +1.7% -> +1.1%); where it sees none of it (a stop-line
      // loop) the twin's are guesses, and only its queue counts; stop once all of the lane's are counted
      const moving = sim.laneVehicleCount(l) - stopped;
      const reach = seen[l] > 0 ? sim.net.length[l] : 0;
      const step = BIN_SECONDS * sim.net.maxSpeed[l];
      let before = 0;
      for (let b = 0; b < nBins && before < moving; b++) {
        const r = Math.min((b + 1) * step, reach);
        const m = sim.laneMovingCount(l, r);
        const d = m - before;
        before = m;
        if (d > 0) {
          binCount[b] += d * w;
          if (d > binMax[b]) binMax[b] = d;
        }
        if (r >= reach) break;
      }
    }
    const o = g * MAX_CLUSTERS;
    let k = 0;
    if (queue > 0) {
      ca[o] = 0;
      cn[o] = queue;
      cd[o] = longest * h;
      k = 1;
    }
    for (let b = 0; b < nBins; b++) {
      if (binCount[b] === 0) continue;
      const eta = (b + 0.5) * BIN_SECONDS;
      const j = o + k - 1;
      if (k > 0 && (eta - (ca[j] + cd[j]) < clusterGap || k >= maxClusters)) {
        cn[j] += binCount[b];
        cd[j] = Math.max(cd[j] + binMax[b] * h, eta - ca[j]);
      } else {
        ca[o + k] = eta;
        cn[o + k] = binCount[b];
        cd[o + k] = Math.max(h, binMax[b] * h);
        k++;
      }
    }
    this.nc[g] = k;
  }

  /** Merges the last two clusters of phase slot g. */
  private mergeTail(g: number): void {
    const { ca, cn, cd } = this;
    const j = g * MAX_CLUSTERS + --this.nc[g];
    cn[j - 1] += cn[j];
    cd[j - 1] = Math.max(cd[j - 1], ca[j] + cd[j] - ca[j - 1]);
  }

  /** The green wanted at intersection k (index into the intersections the policy was built for). */
  choose(k: number, ix: IntersectionPhases, green: number, greenSince: number): number {
    const { sim, ca, cn, cd, nc, radix } = this;
    const { lostTime, maxGreen } = this.params;
    const P = ix.greens.length;
    const cur = ix.greens.indexOf(green);
    const served = this.served[k];
    let total = 0;
    for (let g = 0; g < P; g++) {
      this.cluster(g, served[g], g === cur ? greenSince : -1);
      total += nc[g];
    }
    // max-out, and nothing the plan can serve (every queue blocked or stalled): the red phase with the most vehicles
    // on its lanes, whatever holds them, so that no green is held forever against a standing queue
    if (total === 0 || sim.time - greenSince >= maxGreen) {
      let best = -1, most = 0;
      for (let g = 0; g < P; g++) {
        if (g === cur) continue;
        let n = 0;
        for (const l of served[g]) n += sim.laneVehicleCount(l);
        if (n > most) {
          most = n;
          best = g;
        }
      }
      return best >= 0 ? ix.greens[best] : green;
    }
    // queue-spillback protection (measures/spill-guard.ts): least total wait would postpone a one-lane movement
    // about to spill back behind busier phases for ever
    const spilled = this.protection.choose(k, P, cur, this.observed, sim.time);
    if (spilled >= 0) return ix.greens[spilled];
    // bound the search: merge tails of the longest cluster lists until the states fit
    for (;;) {
      let states = 1, longest = 0;
      for (let g = 0; g < P; g++) {
        states *= nc[g] + 1;
        if (nc[g] > nc[longest]) longest = g;
      }
      if (states * P * P <= MAX_WORK || nc[longest] < 2) break;
      this.mergeTail(longest);
    }
    radix[0] = 1;
    for (let g = 0; g < P; g++) radix[g + 1] = radix[g] * (nc[g] + 1);
    const nStates = radix[P];
    const size = nStates * P;
    if (this.val.length < size) {
      this.val = new Float64Array(size);
      this.fin = new Float64Array(size);
      this.first = new Int32Array(size);
    }
    const { val, fin, first } = this;
    val.fill(Infinity, 0, size);
    // state (clusters served per phase, last phase): least total wait, its end, the phase it began with
    val[cur] = 0;
    fin[cur] = 0;
    first[cur] = -1;
    const Y = this.yellowTime, G = this.minGreen;
    // a successor's index is always larger: one pass in index order
    for (let st = 0; st < nStates; st++) {
      for (let last = 0; last < P; last++) {
        const id = st * P + last;
        const v0 = val[id];
        if (v0 === Infinity) continue;
        const f0 = fin[id];
        for (let g = 0; g < P; g++) {
          const x = Math.floor(st / radix[g]) % (nc[g] + 1);
          if (x >= nc[g]) continue;
          const c = g * MAX_CLUSTERS + x;
          let start: number, end: number, wait: number;
          if (g === last) {
            start = Math.max(ca[c], f0);
            end = start + cd[c];
            wait = start - ca[c];
          } else {
            start = Math.max(ca[c], f0 + Y);
            end = start + Math.max(cd[c] + lostTime, G);
            wait = start - ca[c] + lostTime;
          }
          const v1 = v0 + cn[c] * wait;
          const nid = (st + radix[g]) * P + g;
          if (v1 < val[nid] || (v1 === val[nid] && end < fin[nid])) {
            val[nid] = v1;
            fin[nid] = end;
            first[nid] = first[id] < 0 ? g : first[id];
          }
        }
      }
    }
    let best = Infinity, pick = cur;
    for (let last = 0; last < P; last++) {
      const id = (nStates - 1) * P + last;
      if (val[id] < best) {
        best = val[id];
        pick = first[id] < 0 ? cur : first[id];
      }
    }
    return ix.greens[pick];
  }
}

/** The schedule-driven controller: SchedulePolicy on the supervisor's intersections. */
export function schedule(opts: ScheduleOptions = {}): Controller {
  const params = scheduleParams(opts);
  let slot = new Int32Array(0);
  let policy: SchedulePolicy | null = null;
  return {
    name: 'schedule',
    // arrivals on the approaches
    needs: 'approach',
    init(env) {
      slot = intersectionSlots(env);
      policy = new SchedulePolicy(env.intersections, env.twin, env.observed, params, env.yellowTime, env.minGreen);
    },
    decide(ix, s, env) {
      return policy!.choose(slot[ix.intersection], ix, s.green, s.greenSince);
    },
  };
}
