import { fileWorker } from './file-worker.js';
import type { IntersectionRecord, RoadnetJson, Scenario } from '@citybrain/engine';
import { controllers as builtIn, type Controller, type ControllerFault } from '@citybrain/control';
import { ComparisonRun, replaySlice, type ReplayFrame } from './comparison-run.js';
import type { ComparisonPoint, ComparisonRecord, ComparisonStatus } from '../store/store.js';
import { comparisonVerdict, upgradeComparison } from './compare-kpis.js';
import { comparisonCsv, comparisonReport } from './compare-export.js';

export type { ComparisonPoint, ComparisonRecord, ComparisonStatus } from '../store/store.js';
export { ComparisonRun, type ReplayFrame } from './comparison-run.js';

/** What the comparison worker posts. */
export type CompareWorkerMessage =
  | { kind: 'sample'; lane: number; point: ComparisonPoint; frame: ReplayFrame }
  | { kind: 'progress'; time: number; faults: Record<string, ControllerFault[]>; intersections: Record<string, IntersectionRecord[]> }
  | { kind: 'end'; time: number; faults: Record<string, ControllerFault[]>; intersections: Record<string, IntersectionRecord[]>; error: string | null };

export interface CompareWorkerInit {
  scenario: Scenario;
  controllers: string[];
  duration: number;
  sampleEvery: number;
}

/**
 * A comparison as the server keeps it: its record (what the store keeps) and
 * replay frames, fed by a run in a worker thread (built-in controllers) or in
 * this thread (a plug-in among them). `onEnd` is told once it stops.
 */
export class Comparison {
  readonly record: ComparisonRecord;
  private readonly replay = new Map<string, ReplayFrame[]>();
  private stopRun?: () => void;
  private stopped = false;

  /** `record` may be one stored before the later KPIs were measured: it is upgraded in place (they read as null). */
  constructor(record: ComparisonRecord) {
    this.record = upgradeComparison(record);
  }

  get id(): string {
    return this.record.id;
  }

  get done(): boolean {
    return this.record.status !== 'running';
  }

  /**
   * Starts the run. Built-in controllers run in a worker thread of their own,
   * off the event loop; a comparison with a plug-in controller runs here, in
   * slices of 30 ms.
   */
  start(scenario: Scenario, factories: Record<string, () => Controller>, onEnd: (c: Comparison) => void): void {
    const r = this.record;
    for (const name of r.controllers) this.replay.set(name, []);
    const sample = (lane: number, point: ComparisonPoint, frame: ReplayFrame) => {
      const name = r.controllers[lane];
      r.series[name].push(point);
      this.replay.get(name)!.push(frame);
      r.time = point.t;
    };
    const end = (status: ComparisonStatus, time: number, faults: Record<string, ControllerFault[]>, intersections: Record<string, IntersectionRecord[]>, error: string | null) => {
      if (this.done || this.stopped) return;
      Object.assign(r, { status, time, faults, intersections, error });
      this.stopRun = undefined;
      onEnd(this);
    };
    if (r.controllers.every((name) => Object.hasOwn(builtIn, name) && factories[name] === builtIn[name])) {
      const init: CompareWorkerInit = { scenario, controllers: r.controllers, duration: r.duration, sampleEvery: r.sampleEvery };
      const worker = fileWorker(new URL('./compare-worker.js', import.meta.url), init);
      worker.on('message', (m: CompareWorkerMessage) => {
        if (m.kind === 'sample') sample(m.lane, m.point, m.frame);
        else if (m.kind === 'progress') Object.assign(r, { time: m.time, faults: m.faults, intersections: m.intersections });
        else {
          end(m.error === null ? 'done' : 'failed', m.time, m.faults, m.intersections, m.error);
          void worker.terminate();
        }
      });
      worker.on('error', (e) => end('failed', r.time, r.faults, r.intersections, `comparison worker failed: ${e.message}`));
      worker.on('exit', (code) => end('failed', r.time, r.faults, r.intersections, `comparison worker exited with code ${code}`));
      this.stopRun = () => {
        worker.removeAllListeners();
        void worker.terminate();
      };
      return;
    }
    const run = new ComparisonRun(scenario, factories, r.controllers, r.duration, r.sampleEvery, sample);
    this.stopRun = () => run.cancel();
    run.run(30, () => Object.assign(r, { time: run.time, faults: run.faults(), intersections: run.intersections() })).then(
      () => end('done', run.time, run.faults(), run.intersections(), null),
      (e: unknown) => end('failed', run.time, run.faults(), run.intersections(), e instanceof Error ? e.message : String(e)),
    );
  }

  /** Stops the run (if running) without telling onEnd: the comparison is being deleted, or the server stops. */
  stop(): void {
    this.stopped = true;
    this.stopRun?.();
    this.stopRun = undefined;
  }

  /** The listing's line: the overall winner (lowest ATT) so far, with its margin against the runner-up. */
  listing() {
    const r = this.record;
    const { winner } = comparisonVerdict(r.controllers, r.series);
    return { id: r.id, controllers: r.controllers, duration: r.duration, done: this.done, status: r.status, time: r.time, owner: r.owner, createdAt: r.createdAt, winner };
  }

  /** The listing's line, every sample, the faults, each KPI's winner and margins, and the intersections' figures per controller. */
  summary() {
    const r = this.record;
    const { kpis } = comparisonVerdict(r.controllers, r.series);
    return { ...this.listing(), error: r.error ?? undefined, sampleEvery: r.sampleEvery, series: r.series, faults: r.faults, kpis, intersections: r.intersections, replay: this.replay.size > 0 };
  }

  csv(): string {
    return comparisonCsv(this.record);
  }

  report(roadnet: RoadnetJson): string {
    return comparisonReport(this.record, roadnet);
  }

  /** Replay frames of one controller's run between two simulated instants; undefined when it has none (unknown, or from before a restart). */
  frames(controller: string, from: number, to: number): { t: number; phases: number[]; vehicles: number[] }[] | undefined {
    const frames = this.replay.get(controller);
    if (!frames) return undefined;
    return replaySlice(frames, from, to);
  }
}
