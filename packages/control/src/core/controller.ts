import type { Network, Simulation } from '@citybrain/engine';

/**
 * What a signal controller sees of one intersection: its green phases and,
 * for each, the movements (roadLinks) it serves with their lanes.
 */
export interface PhaseMovement {
  roadLink: number;
  /** distinct incoming lanes of the movement */
  inLanes: number[];
  /** distinct outgoing lanes of the movement */
  outLanes: number[];
}

export interface IntersectionPhases {
  intersection: number;
  id: string;
  /** the all-red/yellow phase shown between two greens */
  yellow: number;
  /** phases a controller may choose, in the roadnet's order */
  greens: number[];
  /** movements with green in each phase, indexed by phase number */
  movements: PhaseMovement[][];
  /** incoming lanes of the whole intersection */
  inLanes: number[];
}

/**
 * The read side of a simulation: what measures and controllers read, on the
 * brain's twin and on their own forks of it alike.
 */
export type SimReader = Pick<
  Simulation,
  | 'net' | 'time' | 'stepCount' | 'interval' | 'runningCount' | 'phase' | 'phaseCount'
  | 'laneVehicleCount' | 'laneWaitingCount' | 'laneApproachingCount' | 'laneMovingCount' | 'laneEntryQueue' | 'laneCounts' | 'laneWaitingCounts' | 'laneStats'
  | 'vehicleStates' | 'vehicleId' | 'vehicleDrivable' | 'vehicleDistance' | 'vehicleSpeed' | 'vehicleRemainingPath' | 'vehicleHandle' | 'vehicleStatus'
  | 'metrics'
>;

/** The brand of a TwinView: what keeps the twin in step with the city. */
export const TWIN_SOURCE: unique symbol = Symbol('citybrain.twin-source');

/**
 * The city as a controller sees it: a twin to read and to fork for
 * look-ahead, never to step or to set phases on (it has no such methods).
 * Its source says what keeps it in step: 'brain', the brain's own twin,
 * corrected towards what the detectors report (a real city: the only kind
 * the server runs); 'ground-truth', the simulated street itself, for the
 * benchmarks and tests that score a controller with perfect observation.
 * A Simulation is not a TwinView (it lacks the brand), so handing a
 * controller the street by mistake is a type error; `twinView` makes one.
 */
export interface TwinView extends Forkable {
  readonly [TWIN_SOURCE]: 'brain' | 'ground-truth';
}

/** A simulation to read and to copy: a TwinView, or a rollout's own fork. `fork` gives a copy the caller owns (rollouts step it and set its phases). */
export type Forkable = SimReader & Pick<Simulation, 'fork' | 'forkInto' | 'exportState'>;

/**
 * What the devices last told the brain: per lane, the newest detector report
 * and the detector's running count (arrays indexed by lane); per signalised
 * intersection, the phase its field controller confirmed it shows.
 * Read-only for controllers.
 */
export interface Observed {
  /** epoch ms of each lane's newest detector report; 0 when never reported */
  readonly reportedAt: ArrayLike<number>;
  /** vehicles on the lane at that report (a loop detector's lane: estimated from its occupancy) */
  readonly vehicles: ArrayLike<number>;
  /** of which stopped (the queue) */
  readonly queue: ArrayLike<number>;
  /**
   * vehicles the lane's detector counted crossing its stop line, summed over
   * every report taken so far (the newest at `reportedAt`): the increase over
   * a window is the lane's flow, as count-based controllers (Webster, SCATS)
   * read it
   */
  readonly counted: ArrayLike<number>;
  /** phase each intersection (by intersection index) last confirmed; -1 when unknown */
  readonly confirmedPhase: ArrayLike<number>;
  /**
   * metres upstream of the stop line in which each lane's newest report saw
   * the vehicles: a video detector's view (the lane's length when it sees it
   * all), 0 for a stop-line loop (it sees only what stands on it) or a lane
   * never reported. What a controller needing the approach (Controller.needs)
   * is given at an intersection depends on it.
   */
  readonly seen: ArrayLike<number>;
}

/** Everything a controller may use: the network, the phases, what devices reported, and the twin kept in step with them. */
export interface ControlEnv {
  readonly twin: TwinView;
  readonly observed: Observed;
  readonly net: Network;
  readonly intersections: readonly IntersectionPhases[];
  /** seconds the yellow phase lasts between two greens */
  readonly yellowTime: number;
  /** seconds a green lasts at least before a controller may change it */
  readonly minGreen: number;
  /**
   * The intersections (network indices) this brain controls now, when not all:
   * a cluster's brain worker controls only its regions, and the set changes
   * as regions are taken over or handed back. The supervisor asks only these;
   * a controller's step work (beginStep) should skip the others, which cost
   * their worker no decision time.
   */
  readonly active?: ReadonlySet<number>;
}

/**
 * A TwinView of `sim`: its read methods and forks, nothing that changes it.
 * `source` says what `sim` is (see TwinView); the view holds `sim` only in
 * closures, so walking a controller's environment never reaches it.
 */
export function twinView(sim: Simulation, source: TwinView[typeof TWIN_SOURCE]): TwinView {
  const view = {
    [TWIN_SOURCE]: source,
    net: sim.net,
    interval: sim.interval,
    get time() { return sim.time; },
    get stepCount() { return sim.stepCount; },
    get runningCount() { return sim.runningCount; },
    phase: (i: number) => sim.phase(i),
    phaseCount: (i: number) => sim.phaseCount(i),
    laneVehicleCount: (l: number) => sim.laneVehicleCount(l),
    laneWaitingCount: (l: number) => sim.laneWaitingCount(l),
    laneApproachingCount: (l: number, range: number) => sim.laneApproachingCount(l, range),
    laneMovingCount: (l: number, range: number) => sim.laneMovingCount(l, range),
    laneEntryQueue: (l: number) => sim.laneEntryQueue(l),
    laneCounts: (out: Int32Array) => sim.laneCounts(out),
    laneWaitingCounts: (out: Int32Array) => sim.laneWaitingCounts(out),
    laneStats: (l: number, out: Float64Array) => sim.laneStats(l, out),
    vehicleStates: (out: { xyhs: Float32Array; ids: Int32Array }) => sim.vehicleStates(out),
    vehicleId: (h: number) => sim.vehicleId(h),
    vehicleDrivable: (h: number) => sim.vehicleDrivable(h),
    vehicleDistance: (h: number) => sim.vehicleDistance(h),
    vehicleSpeed: (h: number) => sim.vehicleSpeed(h),
    vehicleRemainingPath: (h: number) => sim.vehicleRemainingPath(h),
    vehicleHandle: (id: string) => sim.vehicleHandle(id),
    vehicleStatus: (id: string) => sim.vehicleStatus(id),
    metrics: () => sim.metrics(),
    fork: () => sim.fork(),
    forkInto: (target: Simulation) => sim.forkInto(target),
    exportState: () => sim.exportState(),
  } satisfies TwinView;
  return Object.freeze(view);
}

/**
 * Observations read from a simulation itself: perfect detectors, for the
 * ground-truth runs of benchmarks and tests (the server's brain observes
 * through its devices only); `counted` is every stop-line crossing since the
 * start. Each field is recounted at most once per step, and only in a step
 * it is read in (the starvation guard reads `counted` every step, the
 * gridlock check the queues every few seconds: recounting everything every
 * step was a tenth of HZ1's loop under a fixed plan).
 */
export function perfectObservations(sim: Simulation): Observed {
  const n = sim.net.nLanes;
  const vehicles = new Int32Array(n);
  const queue = new Int32Array(n);
  const counted = new Float64Array(n);
  const reportedAt = new Float64Array(n);
  const confirmedPhase = new Int32Array(sim.net.interIds.length).fill(-1);
  // exact devices see every lane whole
  const seen = Float64Array.from(sim.net.length.subarray(0, n));
  /** the step each field was last recounted at, in the getters' order */
  const at = new Float64Array(5).fill(-1);
  const stale = (k: number) => {
    if (at[k] === sim.stepCount) return false;
    at[k] = sim.stepCount;
    return true;
  };
  return Object.freeze({
    get reportedAt() {
      if (stale(0)) reportedAt.fill(sim.time * 1000);
      return reportedAt;
    },
    get vehicles() {
      if (stale(1)) sim.laneCounts(vehicles);
      return vehicles;
    },
    get queue() {
      if (stale(2)) sim.laneWaitingCounts(queue);
      return queue;
    },
    get counted() {
      if (stale(3)) sim.laneCrossingCounts(counted);
      return counted;
    },
    get confirmedPhase() {
      if (stale(4)) for (const i of sim.net.signalised) confirmedPhase[i] = sim.phase(i);
      return confirmedPhase;
    },
    seen,
  });
}

/** One intersection's signal as the supervisor keeps it. */
export interface SignalStatus {
  /** the green phase shown now, or the one that follows the running yellow */
  green: number;
  /** simulated second the current green started (after its yellow) */
  greenSince: number;
  /** steps of yellow left; 0 when green is showing */
  yellowLeft: number;
}

/**
 * A signal-control algorithm. The supervisor calls `decide` for every
 * controlled intersection at every step while it shows green and has shown it
 * for at least `minGreen`; the answer is the green phase wanted next (the
 * current one to keep it). The supervisor inserts the yellow and guarantees the
 * safety rules, so a controller only chooses phases.
 *
 * A worked example lives in packages/control/README.md.
 */
export interface Controller {
  /** short stable name, e.g. "max-pressure" */
  readonly name: string;
  /** called once before the first decision */
  init?(env: ControlEnv): void;
  /**
   * Called once per step before that step's decisions: the place for work
   * shared by all intersections (counting lanes, rollouts on worker threads).
   * May be async; the supervisor waits for it within its time budget.
   */
  beginStep?(env: ControlEnv): void | Promise<void>;
  decide(ix: IntersectionPhases, status: SignalStatus, env: ControlEnv): number;
  /**
   * What the controller needs the detectors to see. 'approach': the vehicles
   * on each approach, not only what stands at the stop line (it reads
   * vehicles approaching, or looks ahead on the twin, which only detectors
   * that see the approach keep in step). Where an intersection's detectors
   * do not (stop-line loops), the city's ControllerAssignment
   * decides there by max-pressure on the stop-line queues instead
   * (ControllerAssignment.blind), until they do. Absent: the stop-line queues
   * and counts are enough.
   */
  readonly needs?: 'approach';
  /** composite controllers: what the one deciding at intersection i needs (`needs`) */
  needsAt?(i: number): 'approach' | undefined;
  /** composite controllers: the name of the one deciding at intersection i (fault reports name it) */
  nameAt?(i: number): string;
  /**
   * A plan: greens on a timetable, fixed or re-timed from detector counts
   * once a period (fixed-time, webster). Each green ends on time whatever the
   * traffic, so none is held for long, and the supervisor's starvation guard
   * (core/starvation.ts) leaves the plan as timed: ending a green early gives
   * the room its exit makes, when it drains, to no one until the next cycle.
   */
  readonly fixedPlan?: boolean;
  /** composite controllers: whether the one deciding at intersection i is a fixed plan (`fixedPlan`) */
  fixedPlanAt?(i: number): boolean;
  /**
   * Whether intersection i is held in its phase on purpose now (an emergency
   * vehicle's corridor): the starvation guard does not end its green.
   */
  holdsAt?(i: number): boolean;
}

/**
 * Derives each signalised intersection's phases. Roadnets in the CityFlow
 * convention (the benchmark data, CityFlow's generator: phase 0 carries only
 * what every phase carries, then at least four greens) use phase 0 as yellow
 * and 1..4 as the greens, as the benchmark protocol says. Other programs
 * (SUMO's, with their own yellow and all-red phases) get as greens the phases
 * no other phase contains, and as yellow the smallest phase contained in all
 * of them.
 */
export function intersectionPhases(sim: SimReader): IntersectionPhases[] {
  const net = sim.net;
  const out: IntersectionPhases[] = [];
  for (const i of net.signalised) {
    const nPhases = sim.phaseCount(i);
    const rl0 = net.interRoadLinkStart[i];
    const rl1 = net.interRoadLinkStart[i + 1];
    const movements: PhaseMovement[][] = [];
    for (let p = 0; p < nPhases; p++) {
      const avail = net.phaseAvailStart[net.interPhaseStart[i] + p];
      const list: PhaseMovement[] = [];
      for (let r = rl0; r < rl1; r++) {
        if (!net.phaseAvail[avail + r - rl0]) continue;
        const ins = new Set<number>();
        const outs = new Set<number>();
        for (let d = net.roadLinkLinkStart[r]; d < net.roadLinkLinkStart[r + 1]; d++) {
          ins.add(net.linkStartLane[d - net.nLanes]);
          outs.add(net.linkEndLane[d - net.nLanes]);
        }
        list.push({ roadLink: r, inLanes: [...ins], outLanes: [...outs] });
      }
      movements.push(list);
    }
    const sets = movements.map((ms) => new Set(ms.map((m) => m.roadLink)));
    const { yellow, greens } = classifyPhases(sets);
    out.push({ intersection: i, id: net.interIds[i], yellow, greens, movements, inLanes: net.incomingLanes(i) });
  }
  return out;
}

function classifyPhases(sets: Set<number>[]): { yellow: number; greens: number[] } {
  const n = sets.length;
  const within = (a: Set<number>, b: Set<number>) => [...a].every((x) => b.has(x));
  if (n >= 5 && sets.slice(1).every((t) => within(sets[0], t))) return { yellow: 0, greens: [1, 2, 3, 4] };
  // maximal phases; of equal ones the first
  const greens = sets.flatMap((a, i) => (sets.some((b, j) => j !== i && within(a, b) && (!within(b, a) || j < i)) ? [] : [i]));
  let yellow = -1;
  sets.forEach((a, i) => {
    if (!greens.includes(i) && greens.every((g) => within(a, sets[g])) && (yellow < 0 || a.size < sets[yellow].size)) yellow = i;
  });
  if (yellow < 0) {
    // no phase fits between every two greens: the emptiest one serves as the clearance phase
    sets.forEach((a, i) => {
      if (yellow < 0 || a.size < sets[yellow].size) yellow = i;
    });
  }
  return { yellow, greens: greens.filter((g) => g !== yellow) };
}
