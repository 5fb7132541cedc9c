import type { ControlEnv, IntersectionPhases, SimReader } from '../core/controller.js';
import type { Network } from '@citybrain/engine';
import { alwaysGreen, demandOf, pressureOf, type PhaseTables } from './pressure.js';

/**
 * Efficient pressure and effective running demand, the two measures of
 * Advanced-MP and Efficient-MP (Zhang et al., "Expression might be enough:
 * representing pressure and demand for reinforcement learning based traffic
 * signal control", ICML 2022), as their reference code computes them:
 * - efficient pressure of a movement = mean queue (vehicles slower than
 *   0.1 m/s) on its entry lanes − mean queue over *all* lanes of its exit road
 *   (not only the lanes its lane links reach);
 * - effective running demand of a movement = mean over its entry lanes of the
 *   vehicles moving (faster than 0.1 m/s) in the lane's last stretch before
 *   the stop line (RunningLoad says how long);
 * - of a phase: the sum over its movements, leaving out those green whatever
 *   the phase (pressure.ts's alwaysGreen: right turns): they say nothing
 *   about which phase to show, and those without lane links.
 * The reference's movements each have one entry lane (CityFlow's datasets);
 * where one has several, the mean keeps the per-lane scale that the keep
 * rule compares pressure against demand on.
 */

const tableCache = new WeakMap<IntersectionPhases, PhaseTables>();

/**
 * `ix`'s movements as the efficient measures read them, in the layout of
 * measures/pressure.ts (so its pressureOf and demandOf sum them): per phase,
 * the movements not always green, each with its entry lanes and
 * every lane of its exit road.
 */
export function efficientTables(ix: IntersectionPhases, net: Network): PhaseTables {
  let f = tableCache.get(ix);
  if (f) return f;
  const always = alwaysGreen(ix);
  const phaseStart = [0], inStart: number[] = [], outStart: number[] = [], lanes: number[] = [];
  const servedStart = [0], served: number[] = [];
  for (const ms of ix.movements) {
    const mine = new Set<number>();
    for (const m of ms) {
      // a roadLink without lane links carries no vehicle: its exit road says nothing about it
      if (always.has(m.roadLink) || m.inLanes.length === 0) continue;
      inStart.push(lanes.length);
      lanes.push(...m.inLanes);
      outStart.push(lanes.length);
      const exit = net.roadLinkEndRoad[m.roadLink];
      for (let k = 0; k < net.roadLaneCount[exit]; k++) lanes.push(net.roadFirstLane[exit] + k);
      for (const l of m.inLanes) mine.add(l);
    }
    phaseStart.push(inStart.length);
    served.push(...mine);
    servedStart.push(served.length);
  }
  inStart.push(lanes.length);
  f = {
    phaseStart: Int32Array.from(phaseStart), inStart: Int32Array.from(inStart), outStart: Int32Array.from(outStart),
    lanes: Int32Array.from(lanes), always: new Uint8Array(inStart.length - 1),
    servedStart: Int32Array.from(servedStart), served: Int32Array.from(served), greens: Int32Array.from(ix.greens),
  };
  tableCache.set(ix, f);
  return f;
}

/** Efficient pressure of phase p under per-lane `queue`: Σ movements (mean queue in − mean queue over the exit road); 0 for a phase `ix` does not have. */
export function efficientPressure(ix: IntersectionPhases, net: Network, p: number, queue: ArrayLike<number>): number {
  return p < 0 || p >= ix.movements.length ? 0 : pressureOf(efficientTables(ix, net), p, queue);
}

/** Effective running demand of phase p under per-lane `running`: Σ movements, mean over their entry lanes; 0 for a phase `ix` does not have. */
export function runningDemand(ix: IntersectionPhases, net: Network, p: number, running: ArrayLike<number>): number {
  return p < 0 || p >= ix.movements.length ? 0 : demandOf(efficientTables(ix, net), p, running);
}

/** The green of maximal efficient pressure (ties: the lowest index, as numpy's argmax in the reference) and that pressure. */
export function maxEfficientPressure(f: PhaseTables, queue: ArrayLike<number>, out: { phase: number; pressure: number }): void {
  out.phase = f.greens[0];
  out.pressure = -Infinity;
  for (let g = 0; g < f.greens.length; g++) {
    const pr = pressureOf(f, f.greens[g], queue);
    if (pr > out.pressure) {
      out.pressure = pr;
      out.phase = f.greens[g];
    }
  }
}

/**
 * Per-lane queue (vehicles slower than 0.1 m/s) and, on the controlled
 * intersections' entry lanes, running vehicles (faster than 0.1 m/s) near
 * the stop line; recounted at most once per step.
 *
 * "Near" as the reference code measures it: a vehicle counts when its
 * distance from the lane's start is at least the road's length, centre to
 * centre of its intersections, less `range`. Lanes stop each signalised
 * intersection's width short of its centre, so on the lane that is the last
 * `range` − (both intersections' widths) metres before the stop line: 137 m
 * of the default 167 m between two 15 m-wide junctions of the public data.
 */
export class RunningLoad {
  queue = new Int32Array(0);
  running = new Float64Array(0);
  private reach = new Float64Array(0);
  private inLanes = new Int32Array(0);
  private countedAt = -1;
  private counting = false;

  /** `range`: metres of road (see above); null: queues only (Efficient-MP needs no running vehicles). */
  init(env: Pick<ControlEnv, 'net' | 'intersections'>, range: number | null): void {
    const net = env.net;
    const n = net.nLanes;
    this.queue = new Int32Array(n);
    this.running = new Float64Array(n);
    this.reach = new Float64Array(n);
    for (let l = 0; l < n; l++) {
      const r = net.laneRoad[l];
      this.reach[l] = range === null ? 0 : Math.max(0, range - net.interWidth[net.roadStartInter[r]] - net.interWidth[net.roadEndInter[r]]);
    }
    const set = new Set<number>();
    for (const ix of env.intersections) {
      for (const l of ix.inLanes) set.add(l);
      efficientTables(ix, net);
    }
    this.inLanes = Int32Array.from(set);
    this.counting = range !== null;
    this.countedAt = -1;
  }

  /** Metres before lane l's stop line in which a moving vehicle counts as running. */
  reachOf(lane: number): number {
    return this.reach[lane];
  }

  /** Recounts the queues, and the running vehicles unless initialised without a range. */
  refresh(sim: SimReader): void {
    if (this.countedAt === sim.stepCount) return;
    this.countedAt = sim.stepCount;
    sim.laneWaitingCounts(this.queue);
    if (!this.counting) return;
    for (let k = 0; k < this.inLanes.length; k++) {
      const l = this.inLanes[k];
      this.running[l] = sim.laneMovingCount(l, this.reach[l]);
    }
  }
}
