import { Simulation, type Scenario } from '@citybrain/engine';
import { SignalSupervisor, type Controller } from '@citybrain/control';

export interface ComparisonPoint {
  t: number;
  averageTravelTime: number;
  vehiclesInNetwork: number;
  finishedVehicles: number;
}

/** Vehicle positions and signal phases at one instant, for the replay slider. */
export interface ReplayFrame {
  t: number;
  /** x, y, heading, speed per vehicle */
  vehicles: Float32Array;
  /** phase per intersection, in network order */
  phases: Int16Array;
}

interface Lane {
  name: string;
  sim: Simulation;
  supervisor: SignalSupervisor;
  series: ComparisonPoint[];
  frames: ReplayFrame[];
}

/**
 * Two (or more) controllers run side by side in copies of the twin on the same
 * demand, from an empty network, so the saving can be seen as it builds up.
 * Runs in slices on the event loop so the server stays responsive.
 */
export class ComparisonRun {
  readonly lanes: Lane[];
  done = false;
  error?: string;
  private cancelled = false;
  private readonly buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };

  constructor(
    readonly id: string,
    scenario: Scenario,
    factories: Record<string, () => Controller>,
    readonly controllers: string[],
    readonly duration: number,
    /** simulated seconds between two samples and replay frames */
    readonly sampleEvery = 10,
  ) {
    this.lanes = controllers.map((name) => {
      const sim = new Simulation(scenario);
      return { name, sim, supervisor: new SignalSupervisor(sim, factories[name]()), series: [], frames: [] };
    });
  }

  /** Runs to the end in slices of `sliceMs` of wall time. */
  async run(sliceMs = 30): Promise<void> {
    try {
      while (!this.done && !this.cancelled) {
        const t0 = performance.now();
        while (performance.now() - t0 < sliceMs && !this.done) await this.stepAll();
        await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
      this.done = true;
    }
  }

  cancel(): void {
    this.cancelled = true;
  }

  private async stepAll(): Promise<void> {
    for (const lane of this.lanes) {
      const p = lane.supervisor.tick();
      if (p) await p;
      lane.sim.step();
      if (Math.round(lane.sim.time) % this.sampleEvery === 0) this.sample(lane);
    }
    if (this.lanes[0].sim.time >= this.duration) this.done = true;
  }

  private sample(lane: Lane): void {
    const m = lane.sim.metrics();
    lane.series.push({ t: m.time, averageTravelTime: Math.round(m.averageTravelTime * 10) / 10, vehiclesInNetwork: m.vehiclesInNetwork, finishedVehicles: m.finishedVehicles });
    const n = lane.sim.vehicleStates(this.buf);
    const net = lane.sim.net;
    lane.frames.push({
      t: m.time,
      vehicles: this.buf.xyhs.slice(0, 4 * n),
      phases: Int16Array.from(net.interIds, (_, i) => (lane.sim.phaseCount(i) > 1 ? lane.sim.phase(i) : -1)),
    });
  }

  summary() {
    return {
      id: this.id,
      controllers: this.controllers,
      duration: this.duration,
      done: this.done,
      error: this.error,
      time: this.lanes[0].sim.time,
      series: Object.fromEntries(this.lanes.map((l) => [l.name, l.series])),
      /** per controller, the intersections it lost to the fixed-time fallback (its series is then partly the fallback's) */
      faults: Object.fromEntries(this.lanes.map((l) => [l.name, l.supervisor.faults])),
    };
  }

  /** Replay frames of one controller's run between two simulated instants. */
  frames(controller: string, from: number, to: number): { t: number; phases: number[]; vehicles: number[] }[] | undefined {
    const lane = this.lanes.find((l) => l.name === controller);
    if (!lane) return undefined;
    return lane.frames
      .filter((f) => f.t >= from && f.t <= to)
      .map((f) => ({ t: f.t, phases: Array.from(f.phases), vehicles: Array.from(f.vehicles, (v) => Math.round(v * 10) / 10) }));
  }
}
