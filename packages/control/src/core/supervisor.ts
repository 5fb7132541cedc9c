import type { Simulation } from '@citybrain/engine';
import { intersectionPhases, perfectObservations, twinView, type ControlEnv, type Controller, type IntersectionPhases, type Observed, type SignalStatus } from './controller.js';
import { fixedTime } from '../controllers/fixed-time.js';
import { maxPressure } from '../controllers/max-pressure.js';
import { GridlockDetector, type GridlockOptions } from './gridlock.js';
import { RingGuard, type RingHold, type RingOptions } from './ring.js';
import { GateGuard, type GateHold, type GateOptions } from './gate.js';
import { LoopGuard, type LoopHold, type LoopOptions } from './loop.js';
import { describeCut, REPORT_EVERY_SECONDS, StarvationGuard, type StarvationOptions } from './starvation.js';
import { now, timers } from './clock.js';
import { isThenable } from './thenable.js';
import { intersectionSlots } from './slots.js';
import { advanceSignal, NO_CHANGE, signalRules, type SignalRules } from './signal-rules.js';

export interface SupervisorOptions {
  /** seconds of yellow between two greens; default 5 (the CityFlow benchmark protocol) */
  yellowTime?: number;
  /** minimum green in seconds; default 5 */
  minGreen?: number;
  /** green phase every intersection starts in; default 1 */
  initialGreen?: number;
  /** wall-clock milliseconds a step's decisions may take before the controller is declared failed; default 1000 */
  budgetMs?: number;
  /**
   * the wall clock, in ms, that the budget and the decision timings are kept
   * by; default performance.now. A test gives its own so that only the
   * overruns it makes count, not a loaded machine's pauses.
   */
  clock?: () => number;
  /**
   * called when a controller fails at an intersection (the intersection then
   * runs the fixed-time fallback) or an intersection is found in gridlock
   * (it is then handed to max-pressure)
   */
  onFault?: (fault: ControllerFault) => void;
  /** gridlock detection's thresholds (core/gridlock.ts), or false for none; default on, with its defaults */
  gridlock?: GridlockOptions | false;
  /**
   * the starvation guard (core/starvation.ts: a green holding standing
   * vehicles that lets none through ends while others could go), or false
   * for none (the control benchmark's reference controllers run as their
   * protocol has them); default on
   */
  starvation?: StarvationOptions | false;
  /**
   * the ring guard (core/ring.ts: the intersections round a ring of lanes
   * that stood loaded without draining are handed to the plan in step until
   * it dissolves), or false for none; default on
   */
  ring?: RingOptions | false;
  /**
   * the loop guard (core/loop.ts: a signal's red spilling back into a loop of lanes no signal controls hands the
   * signals round that loop to max-pressure, as a gridlock hands its intersection: until an operator reinstates them),
   * or false for none; default on
   */
  loop?: LoopOptions | false;
  /**
   * the perimeter gate (core/gate.ts: the flow admitted from the boundary is
   * metered while the vehicles inside stand past the network's critical
   * accumulation), or false for none; default on
   */
  gate?: GateOptions | false;
  /**
   * What the devices reported. Given, the supervisor's simulation is the
   * brain's own twin, kept in step with these observations (the server);
   * omitted, it is the street itself, observed perfectly (benchmarks, tests).
   */
  observed?: Observed;
  /** the intersections decided, when not all (ControlEnv.active): the caller's set, which it may change between ticks */
  active?: ReadonlySet<number>;
}

export interface ControllerFault {
  controller: string;
  intersection: string;
  time: number;
  error: string;
  /**
   * 'error': the controller threw, answered nonsense or overran (the
   * intersection runs the fixed-time fallback); 'gridlock': lanes stood on
   * green with none crossing, a state a phase choice clears (the
   * controller's making; handed to max-pressure); 'deadlock': the same, held
   * by a ring of full lanes no phase choice clears (handed to max-pressure
   * too, and someone must act on the street). See core/gridlock.ts.
   * 'starvation': the controller held a green that let none of its standing
   * vehicles through while others could go; the supervisor ended it (the
   * controller keeps the intersection). See core/starvation.ts.
   * 'ring': lanes round the intersection stood loaded, each feeding the next,
   * long enough to foretell a deadlock; the supervisor handed it to the plan
   * in step until the ring dissolves (nothing has locked: the controller has
   * it back then). See core/ring.ts.
   * 'gate': the vehicles on the network's internal lanes stood past its
   * critical accumulation; the supervisor handed the perimeter intersection
   * to the plan in step, metering what enters, until they no longer do
   * (nothing has locked). See core/gate.ts.
   * 'loop': a signal's red held a full lane of a loop no signal controls long enough to foretell its deadlock; the
   * supervisor handed the signals round that loop (those feeding it, those holding its exits) to max-pressure until
   * an operator reinstates them (nothing has locked). See core/loop.ts.
   */
  kind: 'error' | 'gridlock' | 'deadlock' | 'starvation' | 'ring' | 'gate' | 'loop';
}

/**
 * Whether a fault reports one of the supervisor's guards acting before anything failed (a green the starvation guard
 * ended, a ring the ring guard metered), not a failure: the controller keeps the intersection, or has it back when
 * the ring clears. Errors, gridlocks and deadlocks are the rest.
 */
export function isAdvisory(f: ControllerFault): boolean {
  return f.kind === 'starvation' || f.kind === 'ring' || f.kind === 'gate' || f.kind === 'loop';
}

/**
 * Runs a controller and enforces the safety rules whatever
 * the controller answers: only the roadnet's own (conflict-free) phases are
 * shown, a yellow separates every change, a green lasts at least minGreen,
 * and an intersection whose controller throws, answers nonsense or runs out
 * of time falls back to a fixed-time plan (under the same rules: it keeps
 * what it shows, then cycles its greens with yellows between), with the fault
 * reported. `reinstate` hands it back to the controller.
 */
export class SignalSupervisor {
  readonly env: ControlEnv;
  /** per intersection (network index): its slot in env.intersections, -1 when not signalised (core/slots.ts) */
  private readonly slotOf: Int32Array;
  readonly status: SignalStatus[];
  readonly faults: ControllerFault[] = [];
  /** intersections not run by the controller after a fault: by the fixed-time fallback, or max-pressure if in `relieved` */
  readonly fallen = new Set<number>();
  /** of `fallen`, those handed to max-pressure after a gridlock */
  readonly relieved = new Set<number>();
  /**
   * After a controller error: the fixed plan, what a field controller falls
   * back to on failure, predictable and needing no detector (the fault may
   * lie in the data the controller read). On the common clock (all
   * intersections in step, as from t = 0): taken over from wherever each
   * intersection stood, the plan ran out of step and gridlocked overloaded
   * grids that the same plan in step carries (schedule's greens replaced by
   * it from 100 s: 4 x 4 at 0.12 veh/s a route locked at 1,975 s, in step ATT
   * 574.3 s; 5 x 5 and 6 x 6 at 0.12, 2 x 10 at 0.15 likewise). In step costs
   * where neither locks (4 x 4 at 0.1: 390.7 s against 358.7 s, 3 x 16:
   * 383.6 against 364.9): a fallback must above all not lock.
   */
  private readonly fallback: Controller = fixedTime({ clock: true });
  /**
   * After a gridlock: the fault is in the traffic, not the software, and a
   * fixed plan would go on giving greens into the full exits. Max-pressure
   * weighs each movement's queue against its exit's, so it gives no green
   * into a full exit while a queue with room ahead waits, serves the lanes
   * that spill back into the upstream junctions, and is throughput-optimal
   * (it stabilises any demand the network can carry: Varaiya 2013).
   */
  private readonly relief: Controller = maxPressure();
  /** whether the relief's init has run (at its first decision) */
  private reliefReady = false;
  private readonly gridlock?: GridlockDetector;
  private readonly starvation?: StarvationGuard;
  /**
   * The ring guard, when on: its `handOvers` list every hand-over to the plan, each intersection reported as a 'ring'
   * fault (advisory: isAdvisory).
   * Before a deadlock: the fault is in the traffic, and what carries the
   * networks that lock this way is the plan in step metering what reaches the
   * ring (core/ring.ts).
   */
  readonly ring?: RingGuard;
  /** The perimeter gate, when on (core/gate.ts). */
  readonly gate?: GateGuard;
  /**
   * The loop guard, when on (core/loop.ts): the signals round a loop no signal controls, while a red spills back into
   * it, run the relief (max-pressure), as a gridlock's do, until an operator reinstates them (reinstate).
   */
  readonly loop?: LoopGuard;
  private readonly gatePlan?: Controller;
  /** the plan the ring guard hands over to: the common clock as the fallback's, with the guard's greens */
  private readonly ringPlan?: Controller;
  /** per intersection the guard has cut at: when it was last reported, and the cuts since */
  private readonly starved = new Map<number, { reportedAt: number; cuts: number }>();
  private readonly onFault?: (f: ControllerFault) => void;
  private readonly budgetMs: number;
  private readonly now: () => number;
  private readonly rules: SignalRules;
  /** wall-clock start of the current tick: the budget counts from it */
  private t0 = 0;
  /** the clock as `choose` last read it after a controller's answer, for decideAll to reuse; -1 when not read since */
  private readAt = -1;
  /** whether `ask` ran for the intersection decideAll is at */
  private asked = false;
  /**
   * What controllers are given of each intersection's status (slot order): getters over the supervisor's own, frozen,
   * made once (a frozen copy per decision was the supervisor's largest cost per intersection and step). The supervisor
   * changes the status only between decisions, so a decision sees what a copy showed; a controller cannot write it.
   */
  private readonly statusViews: Readonly<SignalStatus>[];
  /**
   * Wall-clock ms of the latest tick's decision at each intersection (slot
   * order; 0 where not asked: another brain's, or in a yellow or a green
   * younger than its minimum), and of its step work shared by all
   * (beginStep, until the decisions start): what a cluster's worker reports
   * per region.
   */
  readonly decideMs: Float64Array;
  stepMs = 0;

  /**
   * `sim` is the simulation whose signals the supervisor sets: the brain's
   * twin under the server (its plans then go out to the field controllers),
   * the street itself in benchmarks. Controllers get a read-only view of it
   * (`env.twin`) and never `sim` itself.
   */
  constructor(readonly sim: Simulation, readonly controller: Controller, opts: SupervisorOptions = {}) {
    const intersections = intersectionPhases(sim);
    // frozen: the rules the supervisor enforces are read from here, so a controller must not be able to rewrite them
    for (const ix of intersections) freezeIntersection(ix);
    this.env = Object.freeze({
      twin: twinView(sim, opts.observed ? 'brain' : 'ground-truth'), observed: opts.observed ?? perfectObservations(sim),
      net: sim.net, intersections: Object.freeze(intersections), yellowTime: opts.yellowTime ?? 5, minGreen: opts.minGreen ?? 5,
      active: opts.active,
    });
    this.slotOf = intersectionSlots(this.env);
    this.onFault = opts.onFault;
    this.decideMs = new Float64Array(intersections.length);
    this.budgetMs = opts.budgetMs ?? 1000;
    this.now = opts.clock ?? now;
    this.rules = signalRules(this.env);
    const first = opts.initialGreen ?? 1;
    this.status = intersections.map((ix) => {
      const g = ix.greens.includes(first) ? first : ix.greens[0];
      sim.setPhase(ix.intersection, g);
      return { green: g, greenSince: sim.time, yellowLeft: 0 };
    });
    this.statusViews = this.status.map(readOnlyStatus);
    this.fallback.init?.(this.env);
    if (opts.gridlock !== false) this.gridlock = new GridlockDetector(this.env, opts.gridlock ?? {});
    if (opts.starvation !== false) this.starvation = new StarvationGuard(this.env, opts.starvation ?? {});
    if (opts.ring !== false) {
      this.ring = new RingGuard(this.env, opts.ring ?? {});
      this.ringPlan = fixedTime({ clock: true, green: this.ring.green });
    }
    if (opts.loop !== false) this.loop = new LoopGuard(this.env, opts.loop ?? {});
    if (opts.gate !== false) {
      this.gate = new GateGuard(this.env, opts.gate ?? {});
      this.gatePlan = fixedTime({ clock: true, green: this.gate.green });
    }
    try {
      const r: unknown = controller.init?.(this.env);
      // an async init is not waited for, but its failure is a fault, not an unhandled rejection
      if (isThenable(r)) r.then(undefined, (e: unknown) => this.failAll(e));
    } catch (e) {
      this.failAll(e);
    }
  }

  /**
   * Decides and sets every controlled intersection's phase for the coming
   * step. Call before `sim.step()`. Returns a promise only when the
   * controller's beginStep is async.
   */
  tick(): void | Promise<void> {
    const t0 = this.now();
    let pending: void | Promise<void>;
    try {
      pending = this.controller.beginStep?.(this.env);
    } catch (e) {
      // the step still runs: the fallback decides, yellows count down
      this.failAll(e);
      return this.decideAll(t0);
    }
    if (!isThenable(pending)) return this.decideAll(t0);
    // a thenable as well as a promise: its then is called once, safely, and it is held to the budget
    const settled = Promise.resolve(pending);
    if (this.fallen.size === this.env.intersections.length) {
      // every intersection runs the fallback: nothing waits for the controller's step work (it may never finish)
      settled.then(undefined, () => {});
      return this.decideAll(t0);
    }
    let timer: unknown;
    const timeout = new Promise<'timeout'>((res) => (timer = timers.setTimeout(() => res('timeout'), this.budgetMs)));
    return Promise.race([settled.then(() => 'ok' as const), timeout]).then(
      (r) => {
        timers.clearTimeout(timer);
        if (r === 'timeout') this.failAll(new Error(`no decision within ${this.budgetMs} ms`));
        this.decideAll(t0);
      },
      (e) => {
        timers.clearTimeout(timer);
        this.failAll(e);
        this.decideAll(t0);
      },
    );
  }

  private decideAll(t0: number): void {
    const { sim, env } = this;
    const ixs = env.intersections;
    this.t0 = t0;
    const active = env.active;
    if (this.gridlock) this.watchGridlock(this.gridlock);
    const looped = this.loop?.check(sim.time, this.onPlan);
    if (looped) this.reportHold(looped, 'loop');
    const hold = this.ring?.check(sim.time);
    if (hold) this.reportHold(hold, 'ring');
    this.starvation?.observe(sim.time);
    const gated = this.gate?.check(sim.time);
    if (gated) this.reportHold(gated, 'gate');
    let t = this.now();
    this.stepMs = t - t0;
    // no decision steps the simulation: its time is the tick's
    const time = sim.time;
    const { status, rules, ask, decideMs } = this;
    for (let k = 0; k < ixs.length; k++) {
      const ix = ixs[k];
      // another brain controls it: not asked, its signal and status left as they are
      if (active && !active.has(ix.intersection)) {
        decideMs[k] = 0;
        continue;
      }
      this.readAt = -1;
      this.asked = false;
      const show = advanceSignal(status[k], k, time, rules, ix.yellow, ask);
      if (show !== NO_CHANGE) sim.setPhase(ix.intersection, show);
      // a yellow counting down or a green younger than its minimum: nothing asked, no clock read (what it took goes to
      // the next intersection asked)
      if (!this.asked) {
        decideMs[k] = 0;
        continue;
      }
      // one clock read per intersection asked: the budget check's, where the controller was asked
      const after = this.readAt >= 0 ? this.readAt : this.now();
      decideMs[k] = after - t;
      t = after;
    }
  }

  /**
   * The green wanted at intersection k (status `s`): the controller's answer,
   * or the fallback's where the controller failed. A controller that throws,
   * answers a promise or a phase that is not a green, or has run past the
   * budget loses the intersection to the fallback, and its green stays for
   * this tick.
   */
  private readonly ask = (k: number, s: Readonly<SignalStatus>): number => {
    this.asked = true;
    const want = this.choose(k, s);
    return want === s.green && this.starvation ? this.guard(this.starvation, k, s) : want;
  };

  /**
   * Max-pressure's answer at a relieved intersection; its init (phase tables for every intersection) made at the
   * first one: most runs relieve none, and on a 16 x 16 grid the init, run once and so interpreted, was about 1% of the
   * instructions of a 900 s run.
   */
  private reliefDecide(ix: IntersectionPhases, s: Readonly<SignalStatus>): number {
    if (!this.reliefReady) {
      this.relief.init?.(this.env);
      this.reliefReady = true;
    }
    return this.relief.decide(ix, s, this.env);
  }

  /** The controller's (or the fallback's, or the relief's) answer at intersection k; see `ask`. */
  private choose(k: number, s: Readonly<SignalStatus>): number {
    const { controller, env } = this;
    const ix = env.intersections[k];
    // the sets are looked in only when they hold any (they are empty but after a fault)
    if (this.relieved.size !== 0 && this.relieved.has(ix.intersection)) return this.reliefDecide(ix, s);
    if (this.loopHolds(k)) return this.reliefDecide(ix, s);
    if (this.fallen.size !== 0 && this.fallen.has(ix.intersection)) return this.fallback.decide(ix, s, env);
    if (this.ringHolds(ix.intersection)) return this.ringPlan!.decide(ix, s, env);
    if (this.gateHolds(ix.intersection)) return this.gatePlan!.decide(ix, s, env);
    let want: number;
    try {
      // read-only: the supervisor's own status must not be writable by the controller (yellow and minimum green are counted on it)
      want = controller.decide(ix, this.statusViews[k], env);
    } catch (e) {
      this.fail(ix, e);
      return s.green;
    }
    if (isThenable(want)) {
      // its rejection would otherwise end the process (Promise.resolve turns a then that throws into a rejection too)
      Promise.resolve(want).then(undefined, () => {});
      this.fail(ix, new Error('decide returned a Promise: it must answer a phase number synchronously (asynchronous work belongs in beginStep)'));
      return s.green;
    }
    this.readAt = this.now();
    if (this.readAt - this.t0 > this.budgetMs) {
      this.fail(ix, new Error(`decisions took over ${this.budgetMs} ms`));
      return s.green;
    }
    if (!ix.greens.includes(want)) {
      this.fail(ix, new Error(`answered phase ${describe(want)}, not one of ${ix.greens.join(', ')}`));
      return s.green;
    }
    return want;
  }

  /**
   * The starvation guard at intersection k, whose green is to be kept: the
   * green it ends it for, reported, or the green kept. Not where a fixed plan
   * runs (the fallback, or a controller that is one) or an emergency vehicle
   * holds the intersection.
   */
  private guard(g: StarvationGuard, k: number, s: Readonly<SignalStatus>): number {
    const { controller, env, sim } = this;
    const i = env.intersections[k].intersection;
    const relieved = (this.relieved.size !== 0 && this.relieved.has(i)) || this.loopHolds(k);
    if (!relieved && this.fallen.size !== 0 && this.fallen.has(i)) return s.green;
    if (!relieved && this.ringHolds(i)) return s.green;
    if (!relieved && this.gateHolds(i)) return s.green;
    if (!relieved && (controller.fixedPlanAt?.(i) ?? controller.fixedPlan)) return s.green;
    if (controller.holdsAt?.(i)) return s.green;
    const c = g.cut(k, s, sim.time);
    if (!c) return s.green;
    const ix = env.intersections[k];
    const seen = this.starved.get(i);
    if (!seen || sim.time - seen.reportedAt >= REPORT_EVERY_SECONDS) {
      const by = relieved ? this.relief.name : controller.nameAt?.(i) ?? controller.name;
      const again = seen ? { cuts: seen.cuts + 1, seconds: sim.time - seen.reportedAt } : undefined;
      this.notify({ controller: by, intersection: ix.id, time: sim.time, error: describeCut(ix, s.green, c, (l) => env.net.laneId(l), again), kind: 'starvation' });
      this.starved.set(i, { reportedAt: sim.time, cuts: 0 });
    } else {
      seen.cuts++;
    }
    return c.to;
  }

  /**
   * Whether the intersection at slot k runs a plan now (greens on a timetable, which no queue changes): the
   * controller's where it is one (fixed time, webster, green-wave's congestion plan), the fallback after an error,
   * the ring guard's or the perimeter gate's plan in step; not where the relief decides.
   */
  private readonly onPlan = (k: number): boolean => {
    const i = this.env.intersections[k].intersection;
    if (this.relieved.has(i) || this.loopHolds(k)) return false;
    if (this.fallen.has(i) || this.ringHolds(i) || this.gateHolds(i)) return true;
    try {
      return this.controller.fixedPlanAt?.(i) ?? this.controller.fixedPlan === true;
    } catch {
      return false;
    }
  };

  /** Whether the loop guard has the intersection at slot k with the relief now; never where the controller holds it on purpose. */
  private loopHolds(k: number): boolean {
    if (!this.loop?.holds(k)) return false;
    try {
      return !this.controller.holdsAt?.(this.env.intersections[k].intersection);
    } catch {
      return true;
    }
  }

  /** Whether the ring guard has intersection i on the plan now; never where the controller holds it on purpose (an emergency vehicle's corridor). */
  private ringHolds(i: number): boolean {
    if (!this.ring?.holds(i, this.sim.time)) return false;
    try {
      return !this.controller.holdsAt?.(i);
    } catch {
      return true;
    }
  }

  /** Whether the perimeter gate has intersection i on the plan now; never where the controller holds it on purpose. */
  private gateHolds(i: number): boolean {
    if (!this.gate?.holds(i, this.sim.time)) return false;
    try {
      return !this.controller.holdsAt?.(i);
    } catch {
      return true;
    }
  }

  /**
   * Hands an intersection that fell back to the fixed-time plan (or went to
   * max-pressure in gridlock) to the controller again (after an operator
   * fixed or replaced it). Nothing
   * changes on the street at once: the controller decides from the next step,
   * under the same yellow and minimum-green rules.
   */
  reinstate(i: number): void {
    this.fallen.delete(i);
    this.relieved.delete(i);
    const k = this.slotOf[i] ?? -1;
    if (k >= 0) this.loop?.release(k);
  }

  /** Reports each intersection newly found in gridlock and hands it to max-pressure (one already there is not reported again). */
  private watchGridlock(detector: GridlockDetector): void {
    const found = detector.check(this.sim.time, this.status, this.isRelieved);
    for (const g of found) {
      const ix = this.env.intersections[g.slot];
      this.report(ix, this.ranBy(g.slot), `${g.message}; handed to ${this.relief.name}`, g.kind);
      this.relieved.add(ix.intersection);
      // the intersections whose greens hold the spill-back: the phase choice "there" that clears it
      for (const h of g.holders) {
        const hx = this.env.intersections[h.slot];
        if (this.isRelieved(hx.intersection)) continue;
        const lanes = h.lanes.map((m) => this.env.net.laneId(m)).join(', ');
        this.report(hx, this.ranBy(h.slot), `${g.kind}: its lanes ${lanes} stand full at red and hold the spill-back into ${ix.id} (${g.message}); handed to ${this.relief.name}`, g.kind);
        this.relieved.add(hx.intersection);
      }
    }
  }

  /**
   * Who ran the intersection at slot k into a gridlock, to name in its report: the controller, the fixed plan it had
   * fallen back to, or the relief the loop guard had handed it to.
   */
  private ranBy(k: number): string {
    if (this.loopHolds(k)) return this.relief.name;
    const i = this.env.intersections[k].intersection;
    return this.fallen.has(i) ? this.fallback.name : this.controller.nameAt?.(i) ?? this.controller.name;
  }

  /**
   * Reports each intersection a guard newly handed to the plan in step (the ring guard's or the perimeter gate's hold),
   * where this brain controls it.
   */
  private reportHold(hold: RingHold | GateHold | LoopHold, kind: 'ring' | 'gate' | 'loop'): void {
    for (const i of hold.intersections) {
      if (this.env.active && !this.env.active.has(i)) continue;
      const ix = this.env.intersections[this.slotOf[i] ?? -1];
      if (!ix) continue;
      const by = this.controller.nameAt?.(i) ?? this.controller.name;
      this.notify({ controller: by, intersection: ix.id, time: hold.time, error: hold.message, kind });
    }
  }

  /** not reported again when relieved already, nor at all where another brain controls it */
  private readonly isRelieved = (i: number): boolean => this.relieved.has(i) || (this.env.active !== undefined && !this.env.active.has(i));

  private failAll(e: unknown): void {
    for (const ix of this.env.intersections) if (!this.fallen.has(ix.intersection)) this.fail(ix, e);
  }

  private fail(ix: IntersectionPhases, e: unknown): void {
    this.report(ix, this.controller.nameAt?.(ix.intersection) ?? this.controller.name, describe(e), 'error');
  }

  private report(ix: IntersectionPhases, controller: string, error: string, kind: ControllerFault['kind']): void {
    // the fallback takes over under the supervisor's rules: the green shown keeps its minimum, then a yellow
    this.fallen.add(ix.intersection);
    this.notify({ controller, intersection: ix.id, time: this.sim.time, error, kind });
  }

  private notify(fault: ControllerFault): void {
    this.faults.push(fault);
    this.onFault?.(fault);
  }
}

/** What was thrown or answered, as text; never throws itself (a controller may throw or answer anything). */
function describe(x: unknown): string {
  try {
    return x instanceof Error ? String(x.message) : String(x);
  } catch {
    return '(a value that cannot be printed)';
  }
}

/** Freezes an intersection's phases deeply, as the supervisor hands them to controllers (a controller cannot change them). */
export function freezeIntersection(ix: IntersectionPhases): void {
  for (const list of ix.movements) {
    for (const m of list) {
      Object.freeze(m.inLanes);
      Object.freeze(m.outLanes);
      Object.freeze(m);
    }
    Object.freeze(list);
  }
  Object.freeze(ix.movements);
  Object.freeze(ix.greens);
  Object.freeze(ix.inLanes);
  Object.freeze(ix);
}

/** A frozen view of `s` that reads its fields as they are now and cannot write them. */
function readOnlyStatus(s: SignalStatus): Readonly<SignalStatus> {
  return Object.freeze({
    get green() {
      return s.green;
    },
    get greenSince() {
      return s.greenSince;
    },
    get yellowLeft() {
      return s.yellowLeft;
    },
  });
}
