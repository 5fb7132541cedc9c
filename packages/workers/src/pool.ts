import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { Simulation, type Scenario, type SimulationOptions } from '@citybrain/engine';
import { RunnerCache, type IntersectionPhases, type Plan, type RolloutBatch, type RolloutCost, type RolloutExecutor } from '@citybrain/control';
import type { EvaluateRequest, WorkerInit, WorkerReply } from './protocol.js';

export interface WorkerPoolOptions {
  /** worker threads; default os.availableParallelism() - 1, at least 1 */
  size?: number;
  /** options the twin's Simulation was built with (its interval must match) */
  simulation?: SimulationOptions;
  /** the calling thread runs a share of the plans too while it waits for the workers; default true */
  mainThread?: boolean;
}

interface Pending {
  resolve: (costs: Float64Array[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * A RolloutExecutor on worker threads. Each worker holds its own Simulation
 * of the scenario; `evaluate` posts the twin's exported state and a share of
 * the plans to each worker, runs the first share itself on forks of the twin
 * (the calling thread would otherwise only wait), and gathers the costs in
 * plan order. Idle workers do not keep the process alive; `close()`
 * terminates them.
 */
export class RolloutWorkerPool implements RolloutExecutor {
  readonly size: number;
  private readonly slots: Slot[];
  private readonly interval: number;
  private readonly readyAll: Promise<void>;
  private readonly local: RunnerCache | null;
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(scenario: Scenario, opts: WorkerPoolOptions = {}) {
    const size = opts.size ?? Math.max(1, availableParallelism() - 1);
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`worker pool: size must be an integer >= 1, got ${opts.size}`);
    this.size = size;
    this.interval = opts.simulation?.interval ?? 1;
    this.local = opts.mainThread === false ? null : new RunnerCache();
    const init: WorkerInit = { scenario, simulation: opts.simulation ?? {} };
    const url = new URL('./worker.js', import.meta.url);
    const ready: Promise<void>[] = [];
    this.slots = [];
    for (let w = 0; w < size; w++) {
      // flags that apply only to the main script (e.g. --input-type with -e) would stop a file worker from starting
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
      const worker = new Worker(url, { workerData: init, execArgv });
      const slot: Slot = { worker, pending: new Map() };
      this.slots.push(slot);
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.once('message', (m: WorkerReply) => ('ready' in m ? resolve() : reject(new Error('worker answered before it was ready'))));
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} while starting`)));
        }).then(() => {
          worker.removeAllListeners('exit');
          worker.removeAllListeners('error');
          worker.on('message', (m: WorkerReply) => this.onReply(slot, m));
          worker.on('error', (e) => this.broken(slot, e));
          worker.on('exit', (code) => this.broken(slot, new Error(`worker exited with code ${code}`)));
          worker.unref();
        }),
      );
    }
    this.readyAll = Promise.all(ready).then(
      () => {},
      (e: unknown) => {
        this.failure = new Error(`worker pool failed to start: ${e instanceof Error ? e.message : String(e)}`);
        throw this.failure;
      },
    );
    // a start failure is reported by ready() and evaluate(), not as an unhandled rejection
    this.readyAll.catch(() => {});
  }

  /** Resolves once every worker has built its Simulation. */
  ready(): Promise<void> {
    return this.readyAll;
  }

  async evaluate(sim: Simulation, ixs: readonly IntersectionPhases[], batch: RolloutBatch): Promise<RolloutCost[]> {
    if (this.closed) throw new Error('worker pool is closed');
    await this.readyAll;
    if (this.failure) throw this.failure;
    if (sim.interval !== this.interval) throw new RangeError(`worker pool: the twin steps ${sim.interval} s, the workers ${this.interval} s`);
    const plans = batch.plans;
    if (plans.length === 0) return [];
    const state = sim.exportState();
    // the calling thread takes the first and largest share: it needs no copy of the state
    const parties = Math.min(this.size + (this.local ? 1 : 0), plans.length);
    const localCount = this.local ? Math.ceil(plans.length / parties) : 0;
    const remote = plans.slice(localCount);
    const nw = Math.min(this.size, remote.length);
    const parts: Promise<Float64Array[]>[] = [];
    for (let w = 0; w < nw; w++) {
      const chunk: Plan[] = remote.slice(Math.floor((w * remote.length) / nw), Math.floor(((w + 1) * remote.length) / nw));
      // postMessage copies synchronously, so the last worker can take the buffers themselves
      parts.push(this.request(this.slots[w], { id: this.nextId++, intersections: ixs.length, state, signals: batch.signals, plans: chunk, params: batch.params, sotl: batch.sotl }, w === nw - 1 ? Simulation.stateBuffers(state) : []));
    }
    const mine: Float64Array[] = [];
    if (localCount > 0) {
      const runner = this.local!.get(sim, ixs, batch.params);
      for (let j = 0; j < localCount; j++) mine.push(runner.run(runner.copyOf(sim), batch.signals, plans[j], batch.sotl));
    }
    return [...mine, ...(await Promise.all(parts)).flat()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.local?.clear();
    const err = new Error('worker pool closed');
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(err);
      s.pending.clear();
      s.worker.removeAllListeners('exit');
      s.worker.removeAllListeners('error');
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private request(slot: Slot, req: EvaluateRequest, transfer: ArrayBuffer[]): Promise<Float64Array[]> {
    return new Promise((resolve, reject) => {
      slot.pending.set(req.id, { resolve, reject });
      // keep the process alive only while work is outstanding
      slot.worker.ref();
      slot.worker.postMessage(req, transfer);
    });
  }

  private onReply(slot: Slot, m: WorkerReply): void {
    if ('ready' in m) return;
    const p = slot.pending.get(m.id);
    if (!p) return;
    slot.pending.delete(m.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if ('error' in m) p.reject(new Error(`rollout worker: ${m.error}`));
    else p.resolve(m.costs);
  }

  private broken(slot: Slot, e: Error): void {
    if (this.closed) return;
    this.failure = new Error(`rollout worker failed: ${e.message}`);
    for (const p of slot.pending.values()) p.reject(this.failure);
    slot.pending.clear();
  }
}

/** A pool of `size` rollout workers for `scenario` (the same scenario the twin was built from). */
export function workerPool(scenario: Scenario, opts: WorkerPoolOptions = {}): RolloutWorkerPool {
  return new RolloutWorkerPool(scenario, opts);
}

