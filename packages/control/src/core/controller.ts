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

/** Everything a controller may use. `sim` is the twin: read its state, fork it to look ahead; never step or set phases on it. */
export interface ControlEnv {
  readonly sim: Simulation;
  readonly net: Network;
  readonly intersections: readonly IntersectionPhases[];
  /** seconds the yellow phase lasts between two greens */
  readonly yellowTime: number;
  /** seconds a green lasts at least before a controller may change it */
  readonly minGreen: number;
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
  /** composite controllers: the name of the one deciding at intersection i (fault reports name it) */
  nameAt?(i: number): string;
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
export function intersectionPhases(sim: Simulation): IntersectionPhases[] {
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
