// The engine side of a comparison, on its own: pure (engine + control), so
// that the dashboard's in-browser twin runs it too (compare.ts runs it in a worker).
import { RunRecorder, Simulation, type IntersectionRecord, type Scenario } from '@citybrain/engine';
import { SignalSupervisor, type Controller, type ControllerFault } from '@citybrain/control';
import type { ComparisonPoint } from '../store/store.js';
import { THROUGHPUT_WINDOW } from './compare-kpis.js';
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
  /** per controller: its copy of the twin, the supervisor, the recorder of its trips and intersections, and finished-vehicle counts at its samples (for throughput) */
  private readonly lanes: { name: string; sim: Simulation; supervisor: SignalSupervisor; recorder: RunRecorder; finishedAt: number[] }[];
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
      return { name, sim, supervisor: new SignalSupervisor(sim, factories[name]()), recorder: new RunRecorder(sim), finishedAt: [] };
    });
  }

  get time(): number {
    return this.lanes[0].sim.time;
  }

  faults(): Record<string, ControllerFault[]> {
    return Object.fromEntries(this.lanes.map((l) => [l.name, l.supervisor.faults]));
  }

  /** Per controller, its intersections' control delay, stops and level of service so far. */
  intersections(): Record<string, IntersectionRecord[]> {
    return Object.fromEntries(this.lanes.map((l) => [l.name, l.recorder.intersectionRecords()]));
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
      lane.recorder.sample();
      if (Math.round(lane.sim.time) % this.sampleEvery === 0) this.sample(k);
    }
    if (this.lanes[0].sim.time >= this.duration) this.finished = true;
  }

  private sample(k: number): void {
    const { sim, recorder, finishedAt } = this.lanes[k];
    const m = sim.metrics();
    const n = sim.vehicleStates(this.buf);
    const done = recorder.finishedTotals();
    // samples are `sampleEvery` apart from the start: the one a window back is at a fixed distance
    finishedAt.push(m.finishedVehicles);
    const back = Math.round(THROUGHPUT_WINDOW / this.sampleEvery);
    const since = finishedAt.length > back ? finishedAt[finishedAt.length - 1 - back] : 0;
    const span = Math.min(m.time, back * this.sampleEvery);
    const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
    this.onSample(
      k,
      {
        t: m.time, averageTravelTime: round(m.averageTravelTime, 1), vehiclesInNetwork: m.vehiclesInNetwork, finishedVehicles: m.finishedVehicles,
        delay: done.trips ? round(done.timeLoss / done.trips, 1) : null, stops: done.trips ? round(done.stops / done.trips, 2) : null,
        queued: m.queuedVehicles, throughput: span > 0 ? round(((m.finishedVehicles - since) * 3600) / span, 1) : 0,
      },
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
