import type { Worker } from 'node:worker_threads';
import { fileWorker } from './file-worker.js';
import { Simulation } from '@citybrain/engine';
import { controllers, type ControlEnv, type Controller, type IntersectionPhases } from '@citybrain/control';
import type { ControllerReply, ControllerRequest, ControllerWorkerInit, StatusData, ViewData } from './controller-protocol.js';
import type { ControllerHostFactory, ControllerHosting } from './runtime.js';

/**
 * Controllers whose decisions run in the controller worker: the rollout-based
 * ones, whose decision takes tens to hundreds of milliseconds (on the 4x4 demo
 * city at steady traffic, predictive-sequential takes about 150 ms every 5 s
 * simulated). The others decide in microseconds, less than a round trip to a
 * worker costs.
 */
export const HOSTED_CONTROLLERS: readonly string[] = ['predictive', 'predictive-sequential'];

/** What the host reads from the runtime at each request. */
export interface HostSources {
  /** the twin's state and the lane estimate now */
  view(): ViewData;
  /** the supervisor's signal state now, with the intersections it will ask controller `name` about */
  status(name: string): StatusData;
}

interface Pending {
  resolve: (r: ControllerReply) => void;
  reject: (e: Error) => void;
}

/**
 * Runs controllers in a worker thread behind the ordinary Controller
 * interface: each step, the proxy's beginStep posts the twin's exported state,
 * the lane estimate and the supervisor's signal state, the worker runs the
 * real controller's beginStep and every decide the supervisor is about to ask
 * for, and the proxy's decide hands those answers back. The supervisor stays
 * in the main thread, in charge (its budget, yellows, minimum green and
 * fallback apply unchanged), and the event loop is free while the worker
 * decides. The worker starts with the first hosted controller and does not
 * keep the process alive.
 */
export class ControllerHost implements ControllerHosting {
  readonly hosted = HOSTED_CONTROLLERS;

  private worker?: Worker;
  private ready?: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private nextSlot = 0;
  private closed = false;
  /** controllers still starting in the worker (the worker itself may be starting) */
  private readonly initialising = new Set<Promise<unknown>>();
  // a proxy the assignment replaced (after a fault) and dropped: its controller in the worker goes too
  private readonly slots = new FinalizationRegistry<{ worker: Worker; slot: number }>(({ worker, slot }) => {
    if (worker === this.worker) worker.postMessage({ kind: 'drop', slot } satisfies ControllerRequest);
  });

  constructor(
    private readonly init: ControllerWorkerInit,
    private readonly sources: HostSources,
  ) {}

  /** A controller deciding like `name` (a built-in controller), in the worker. */
  controller(name: string): Controller {
    const slot = this.nextSlot++;
    let index = new Map<number, number>();
    let answer: { wants: Float64Array; errors: (string | null)[] } | null = null;
    let busy = false;
    const proxy: Controller = {
      name,
      // what the controller in the worker needs its detectors to see, so that the assignment degrades it here as it would in process
      needs: needsOf(name),
      init: (env: ControlEnv) => {
        index = new Map(env.intersections.map((ix, k) => [ix.intersection, k]));
        const worker = this.start();
        this.slots.register(proxy, { worker, slot });
        const started = this.request({ kind: 'init', id: this.nextId++, slot, name, view: this.sources.view(), yellowTime: env.yellowTime, minGreen: env.minGreen });
        const settled = started.then(() => undefined, () => undefined);
        this.initialising.add(settled);
        void settled.then(() => this.initialising.delete(settled));
        return started.then(() => undefined);
      },
      beginStep: async () => {
        answer = null;
        // only after the supervisor gave up on it (its step outlasted the budget): the controller is failed, not queued up
        if (busy) throw new Error(`${name}: the previous step's decisions are still being computed`);
        busy = true;
        try {
          const r = await this.request({ kind: 'step', id: this.nextId++, slot, view: this.sources.view(), status: this.sources.status(name) });
          if (!('wants' in r)) throw new Error(`${name}: the controller worker answered no decisions`);
          answer = r;
        } finally {
          busy = false;
        }
      },
      decide: (ix: IntersectionPhases) => {
        const k = index.get(ix.intersection);
        if (!answer || k === undefined || (Number.isNaN(answer.wants[k]) && answer.errors[k] === null)) throw new Error(`${name}: no decision for ${ix.id} from the controller worker`);
        if (answer.errors[k] !== null) throw new Error(answer.errors[k]!);
        return answer.wants[k];
      },
    };
    return proxy;
  }

  /**
   * Settles once every hosted controller put in charge has started (the
   * worker may be starting too: a second or more on a busy machine);
   * undefined when none is starting. In the main thread a controller's init
   * is over before its first step: the runtime waits for this before a step,
   * so that the worker's start-up is not taken for a controller over its
   * time budget.
   */
  starting(): Promise<void> | undefined {
    if (this.initialising.size === 0) return undefined;
    return Promise.all(this.initialising).then(() => undefined);
  }

  /** Terminates the worker; hosted controllers fail from then on. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    this.fail(new Error('the controller worker was closed'));
    if (w) {
      w.removeAllListeners();
      await w.terminate();
    }
  }

  private start(): Worker {
    if (this.closed) throw new Error('the controller worker was closed');
    if (this.worker) return this.worker;
    const worker = fileWorker(new URL('./controller-worker.js', import.meta.url), this.init);
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: ControllerReply) => {
        if ('ready' in m) return resolve();
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (this.pending.size === 0) worker.unref();
        p.resolve(m);
      });
      const died = (e: Error) => {
        // the next controller put in charge starts a new worker
        if (this.worker === worker) this.worker = undefined;
        reject(e);
        this.fail(e);
      };
      worker.on('error', (e) => died(new Error(`the controller worker failed: ${e.message}`)));
      worker.on('exit', (code) => died(new Error(`the controller worker exited with code ${code}`)));
    });
    this.ready.catch(() => {});
    return worker;
  }

  private async request(req: Exclude<ControllerRequest, { kind: 'drop' }>): Promise<ControllerReply> {
    const worker = this.start();
    await this.ready;
    if (worker !== this.worker) throw new Error('the controller worker restarted: this controller is gone with it');
    const reply = await new Promise<ControllerReply>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      // keep the process alive only while a decision is outstanding
      worker.ref();
      worker.postMessage(req, Simulation.stateBuffers(req.view.state));
    });
    if ('error' in reply) throw new Error(reply.error);
    return reply;
  }

  private fail(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** The exported state's own buffers (a fresh copy): moved to the worker, not copied again. */


/** The Node host for CityRuntime's `controllerHost`: the rollout-based controllers decide in a worker thread. */
export const nodeControllerHost: ControllerHostFactory = (init, sources) => new ControllerHost(init, sources);

/** Controller.needs of a registered controller (an instance made and closed only to read it). */
function needsOf(name: string): Controller['needs'] {
  const make = Object.hasOwn(controllers, name) ? controllers[name] : undefined;
  if (!make) return undefined;
  const c = make() as Controller & { close?: () => unknown };
  const needs = c.needs;
  void Promise.resolve(c.close?.()).catch(() => {});
  return needs;
}
