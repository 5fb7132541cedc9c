// The engine side of a comparison, on its own: pure (engine + control), so
// that the dashboard's in-browser twin runs it too (compare.ts runs it in a worker).
import { Simulation, type Scenario } from '@citybrain/engine';
import { SignalSupervisor, type Controller, type ControllerFault } from '@citybrain/control';
import type { ComparisonPoint } from '../store/store.js';
import { yieldToEventLoop } from './yield.js';

/** Vehicle positions and signal phases at one instant, for the replay slider. */
export interface ReplayFrame {
  t: number;
  /** x, y, heading, speed per vehicle */
  vehicles: Float32Array;
  /** phase per intersection, in network order */
  phases: Int16Array;
}

/**
 * The engine side of a comparison: controllers side by side in copies of the
 * twin on the same demand, from an empty network. Runs in the comparison
 * worker, or in the server's thread in slices for plug-in controllers (which
 * exist only there).
 */
export class ComparisonRun {
  private readonly lanes: { name: string; sim: Simulation; supervisor: SignalSupervisor }[];
  private cancelled = false;
  private finished = false;
  private readonly buf = { xyhs: new Float32Array(0), ids: new Int32Array(0) };

  constructor(
    scenario: Scenario,
    factories: Record<string, () => Controller>,
    controllers: readonly string[],
    private readonly duration: number,
    private readonly sampleEvery: number,
    private readonly onSample: (lane: number, point: ComparisonPoint, frame: ReplayFrame) => void,
  ) {
    this.lanes = controllers.map((name) => {
      const sim = new Simulation(scenario);
      return { name, sim, supervisor: new SignalSupervisor(sim, factories[name]()) };
    });
  }

  get time(): number {
    return this.lanes[0].sim.time;
  }

  faults(): Record<string, ControllerFault[]> {
    return Object.fromEntries(this.lanes.map((l) => [l.name, l.supervisor.faults]));
  }

  /** Runs to the end (or cancel) in slices of `sliceMs` of wall time, letting the event loop in between. */
  async run(sliceMs: number, onSlice?: () => void): Promise<void> {
    while (!this.finished && !this.cancelled) {
      const t0 = performance.now();
      while (performance.now() - t0 < sliceMs && !this.finished) await this.stepAll();
      onSlice?.();
      await yieldToEventLoop();
    }
  }

  cancel(): void {
    this.cancelled = true;
  }

  private async stepAll(): Promise<void> {
    for (let k = 0; k < this.lanes.length; k++) {
      const lane = this.lanes[k];
      const p = lane.supervisor.tick();
      if (p) await p;
      lane.sim.step();
      if (Math.round(lane.sim.time) % this.sampleEvery === 0) this.sample(k);
    }
    if (this.lanes[0].sim.time >= this.duration) this.finished = true;
  }

  private sample(k: number): void {
    const sim = this.lanes[k].sim;
    const m = sim.metrics();
    const n = sim.vehicleStates(this.buf);
    this.onSample(
      k,
      { t: m.time, averageTravelTime: Math.round(m.averageTravelTime * 10) / 10, vehiclesInNetwork: m.vehiclesInNetwork, finishedVehicles: m.finishedVehicles },
      { t: m.time, vehicles: this.buf.xyhs.slice(0, 4 * n), phases: Int16Array.from(sim.net.interIds, (_, i) => (sim.phaseCount(i) > 1 ? sim.phase(i) : -1)) },
    );
  }
}

/** A comparison's replay frames between two instants, as the API answers them (vehicle figures to 0.1). */
export function replaySlice(frames: readonly ReplayFrame[], from: number, to: number): { t: number; phases: number[]; vehicles: number[] }[] {
  return frames
    .filter((f) => f.t >= from && f.t <= to)
    .map((f) => ({ t: f.t, phases: Array.from(f.phases), vehicles: Array.from(f.vehicles, (v) => Math.round(v * 10) / 10) }));
}
