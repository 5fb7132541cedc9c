import { now, timers } from './clock.js';
import { isThenable } from './thenable.js';
import type { ControlEnv, Controller, IntersectionPhases, SignalStatus } from './controller.js';
import { maxPressure } from '../controllers/max-pressure.js';
import { servedLanes } from '../measures/pressure.js';

/** Metres of each approach a controller that needs the approach must see (Controller.needs); a vehicle at 50 km/h covers them in under 4 s. */
export const APPROACH_SEEN = 50;

/**
 * Runs a different controller at each intersection, switchable at run time:
 * what an operations centre does when it tries a new algorithm on one
 * district. Each controller instance is initialised once, on first use, and
 * sees only its own intersections' decisions.
 *
 * Where an intersection's detectors do not see its approaches (stop-line
 * loops: Observed.seen), a controller that needs them
 * (Controller.needs) is not asked there: max-pressure decides on the
 * stop-line queues, as a loop-detected city would run, until they do. Its
 * approach counts and look-ahead would be the twin's guesses there (with
 * loops only, SOTL on the Jinan network took 757 s where fixed-time takes
 * 507 s). An emergency corridor (the EmergencyPriority around this) still
 * overrides either.
 */
export class ControllerAssignment implements Controller {
  readonly name = 'assignment';
  private readonly byIntersection = new Map<number, string>();
  private readonly instances = new Map<string, Controller>();
  /** controllers that could not start when put in charge (factory or init failed) or whose beginStep failed: their intersections fail at their next decision */
  private readonly broken = new Map<string, unknown>();
  private env?: ControlEnv;
  /** intersections degraded to `blindFallback` (see the class comment), recounted at every step */
  readonly blind = new Set<number>();
  private readonly blindFallback: Controller = maxPressure();
  /** per intersection (ControlEnv.intersections' order): the lanes its greens serve, whose approaches must be seen */
  private watched: Int32Array[] = [];

  private readonly stepBudgetMs: number;

  /**
   * `stepBudgetMs`: how long one controller's beginStep may take before that
   * controller alone is failed (its intersections go to the fallback; a
   * synchronous one that overran is failed after it returns). Keep it
   * below the supervisor's budgetMs (1000 by default), which otherwise fails
   * every intersection for one slow controller. Default 900 (the supervisor keeps 100 ms for its own pass).
   */
  constructor(
    private readonly factories: Record<string, () => Controller>,
    private readonly defaultName: string,
    opts: { stepBudgetMs?: number } = {},
  ) {
    const budget = opts.stepBudgetMs ?? 900;
    if (!(Number.isFinite(budget) && budget > 0)) throw new RangeError(`controller assignment: stepBudgetMs must be a positive number of milliseconds, got ${String(opts.stepBudgetMs)}`);
    this.stepBudgetMs = budget;
    this.instance(defaultName);
  }

  /** Name of the controller in charge of intersection i. */
  controllerOf(i: number): string {
    return this.byIntersection.get(i) ?? this.defaultName;
  }

  /** Whether the controller in charge of intersection i needs to see its approaches. */
  needsAt(i: number): 'approach' | undefined {
    const c = this.instances.get(this.controllerOf(i));
    return c?.needsAt ? c.needsAt(i) : c?.needs;
  }

  nameAt(i: number): string {
    if (this.blind.has(i)) return this.blindFallback.name;
    return this.instances.get(this.controllerOf(i))?.nameAt?.(i) ?? this.controllerOf(i);
  }

  fixedPlanAt(i: number): boolean {
    if (this.blind.has(i)) return false;
    const c = this.instances.get(this.controllerOf(i));
    return c?.fixedPlanAt?.(i) ?? c?.fixedPlan ?? false;
  }

  holdsAt(i: number): boolean {
    return !this.blind.has(i) && (this.instances.get(this.controllerOf(i))?.holdsAt?.(i) ?? false);
  }

  /** Puts `name` in charge of the given intersections; returns the names they had before. */
  assign(intersections: readonly number[], name: string): string[] {
    this.instance(name);
    const before = intersections.map((i) => this.controllerOf(i));
    for (const i of intersections) this.byIntersection.set(i, name);
    return before;
  }

  init(env: ControlEnv): void {
    this.env = env;
    this.blindFallback.init?.(env);
    this.watched = env.intersections.map((ix) => Int32Array.from(new Set(ix.greens.flatMap((g) => servedLanes(ix, g)))));
    for (const [name, c] of this.instances) this.whenInitFails(name, c, c.init?.(env));
  }

  beginStep(env: ControlEnv): void | Promise<void> {
    this.countBlind(env);
    const pending: Promise<void>[] = [];
    for (const name of this.inUse(env)) {
      if (this.broken.has(name)) continue;
      const c = this.instances.get(name)!;
      // one controller's failure is a fault of its own intersections (decide throws it there), not of the others'
      try {
        const t0 = now();
        const r = c.beginStep?.(env);
        if (r) pending.push(this.withinBudget(name, c, Promise.resolve(r)));
        // synchronous work cannot be cut short, but a controller that overran is not called again
        else if (now() - t0 > this.stepBudgetMs) this.failed(name, c, new Error(`beginStep took ${Math.round(now() - t0)} ms, over ${this.stepBudgetMs} ms`));
      } catch (e) {
        this.failed(name, c, e);
      }
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
  }

  decide(ix: IntersectionPhases, status: SignalStatus, env: ControlEnv): number {
    const name = this.controllerOf(ix.intersection);
    // the supervisor hands the intersection to its fallback and reports why
    if (this.broken.has(name)) throw this.broken.get(name);
    if (this.blind.has(ix.intersection)) return this.blindFallback.decide(ix, status, env);
    return this.instances.get(name)!.decide(ix, status, env);
  }

  /**
   * An intersection is blind when its controller needs the approach and a
   * lane its greens serve is seen less than APPROACH_SEEN metres (or its
   * whole length, if shorter) upstream of the stop line.
   */
  private countBlind(env: ControlEnv): void {
    const seen = env.observed.seen;
    const length = env.net.length;
    for (let k = 0; k < env.intersections.length; k++) {
      const i = env.intersections[k].intersection;
      const lanes = this.watched[k];
      let blind = false;
      if (lanes && this.needsAt(i) === 'approach') {
        for (let j = 0; j < lanes.length && !blind; j++) blind = seen[lanes[j]] < Math.min(APPROACH_SEEN, length[lanes[j]]);
      }
      if (blind) this.blind.add(i);
      else this.blind.delete(i);
    }
  }

  /**
   * The controllers asked at some intersection this step: one whose
   * intersections are all blind (its rollouts would only burn the step's
   * budget) or all controlled by another brain (env.active) does no work.
   */
  private inUse(env: ControlEnv): Set<string> {
    const names = new Set<string>();
    for (const ix of env.intersections) {
      if (!this.blind.has(ix.intersection) && (!env.active || env.active.has(ix.intersection))) names.add(this.controllerOf(ix.intersection));
    }
    return names;
  }

  private instance(name: string): void {
    // one that could not start is started again: it never decides without a successful init
    if (this.instances.has(name) && !this.broken.has(name)) return;
    const make = Object.hasOwn(this.factories, name) ? this.factories[name] : undefined;
    if (!make) throw new RangeError(`unknown controller "${name}"; choose one of: ${Object.keys(this.factories).join(', ')}`);
    this.broken.delete(name);
    this.instances.delete(name);
    // before the supervisor runs (no env yet), a failure is the caller's; afterwards it is a fault of the intersections put in its charge
    if (!this.env) {
      this.instances.set(name, make());
      return;
    }
    let c: Controller;
    try {
      c = make();
      this.instances.set(name, c);
      this.whenInitFails(name, c, c.init?.(this.env));
    } catch (e) {
      this.broken.set(name, e);
    }
  }

  /** An async init is not waited for; its rejection marks the controller as one that could not start. */
  private whenInitFails(name: string, c: Controller, started: unknown): void {
    if (!isThenable(started)) return;
    Promise.resolve(started).then(undefined, (e: unknown) => this.failed(name, c, e));
  }

  /** The controller's step work, failed (it alone) if it rejects or outlasts stepBudgetMs. */
  private withinBudget(name: string, c: Controller, work: Promise<unknown>): Promise<void> {
    let timer: unknown;
    const timeout = new Promise<void>((res) => {
      timer = timers.setTimeout(() => {
        this.failed(name, c, new Error(`beginStep did not finish within ${this.stepBudgetMs} ms`));
        res();
      }, this.stepBudgetMs);
    });
    const done = work.then(
      () => timers.clearTimeout(timer),
      (e: unknown) => {
        timers.clearTimeout(timer);
        this.failed(name, c, e);
      },
    );
    return Promise.race([done, timeout]);
  }

  private failed(name: string, c: Controller, e: unknown): void {
    if (this.instances.get(name) === c) this.broken.set(name, e);
  }
}
