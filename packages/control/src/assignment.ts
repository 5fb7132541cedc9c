import type { ControlEnv, Controller, IntersectionPhases, SignalStatus } from './controller.js';

/**
 * Runs a different controller at each intersection, switchable at run time:
 * what an operations centre does when it tries a new algorithm on one
 * district. Each controller instance is initialised once, on first use, and
 * sees only its own intersections' decisions.
 */
export class ControllerAssignment implements Controller {
  readonly name = 'assignment';
  private readonly byIntersection = new Map<number, string>();
  private readonly instances = new Map<string, Controller>();
  private env?: ControlEnv;

  constructor(
    private readonly factories: Record<string, () => Controller>,
    private readonly defaultName: string,
  ) {
    this.instance(defaultName);
  }

  /** Name of the controller in charge of intersection i. */
  controllerOf(i: number): string {
    return this.byIntersection.get(i) ?? this.defaultName;
  }

  nameAt(i: number): string {
    return this.instances.get(this.controllerOf(i))?.nameAt?.(i) ?? this.controllerOf(i);
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
    for (const c of this.instances.values()) c.init?.(env);
  }

  beginStep(env: ControlEnv): void | Promise<void> {
    const pending: Promise<void>[] = [];
    for (const name of this.inUse(env)) {
      const r = this.instances.get(name)!.beginStep?.(env);
      if (r) pending.push(r);
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
  }

  decide(ix: IntersectionPhases, status: SignalStatus, env: ControlEnv): number {
    return this.instances.get(this.controllerOf(ix.intersection))!.decide(ix, status, env);
  }

  private inUse(env: ControlEnv): Set<string> {
    const names = new Set<string>();
    for (const ix of env.intersections) names.add(this.controllerOf(ix.intersection));
    return names;
  }

  private instance(name: string): Controller {
    let c = this.instances.get(name);
    if (!c) {
      const make = this.factories[name];
      if (!make) throw new RangeError(`unknown controller "${name}"; choose one of: ${Object.keys(this.factories).join(', ')}`);
      c = make();
      this.instances.set(name, c);
      if (this.env) c.init?.(this.env);
    }
    return c;
  }
}
