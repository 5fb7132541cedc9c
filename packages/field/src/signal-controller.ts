import type { Network } from '@citybrain/engine';
import type { IntersectionPhases } from '@citybrain/control';
import { checkPlan, type Plan, type SignalEvent, type SignalMode } from '@citybrain/brain';

/**
 * A field signal controller: the cabinet at one signalised intersection. It
 * obeys the brain's signed plans (`receive`), and runs its own local plan when
 * none has come for `watchdog` seconds. Whatever it is told, it never leaves
 * a green for a phase that stops one of its movements without showing the
 * yellow for `yellowTime` first: when the brain takes it back after a local
 * spell, when a plan's yellow was lost on the way, and in its local plan. It
 * confirms what it shows with signal events (on every change of phase or
 * mode, and every `confirmEvery` seconds). The street applies `phase()` to
 * its simulation. Times are the street's simulated seconds.
 */

/** One step of a local plan: a phase and how long it shows (seconds, not counting a yellow the controller inserts before it). */
export interface LocalStep {
  phase: number;
  seconds: number;
}

/** The roadnet's own fixed-time plan of intersection `i` (its lightphases and their times). */
export function roadnetPlan(net: Network, i: number): LocalStep[] {
  const p0 = net.interPhaseStart[i];
  const steps: LocalStep[] = [];
  for (let p = p0; p < net.interPhaseStart[i + 1]; p++) steps.push({ phase: p - p0, seconds: net.phaseTime[p] });
  return steps;
}

/** The greens of `ix` in turn, `green` seconds each (control's fixed-time; the controller inserts the yellows). */
export function cycleGreens(ix: IntersectionPhases, green = 30): LocalStep[] {
  return ix.greens.map((phase) => ({ phase, seconds: green }));
}

export const PLAN_REFUSALS = ['invalid', 'forged', 'intersection', 'phase', 'replay'] as const;
/**
 * Why a plan was refused: it is not a plan (`invalid`), its signature does not
 * verify (`forged`), it is another intersection's (`intersection`), names a
 * phase this one does not have (`phase`), or its seq is not above the last one
 * obeyed (`replay`: a replayed or duplicated message).
 */
export type PlanRefusal = (typeof PLAN_REFUSALS)[number];

export type PlanVerdict = { accepted: true } | { accepted: false; reason: PlanRefusal; message: string };

export interface FieldSignalControllerOptions {
  /** the device id its confirmations carry (`sig-<intersection>`) */
  device: string;
  /** seconds without a valid plan before it runs its local plan; default 10 */
  watchdog?: number;
  /** seconds of yellow before leaving a green; default 5 (the supervisor's) */
  yellowTime?: number;
  /** seconds between two confirmations at most; default 5 */
  confirmEvery?: number;
  /** epoch ms of simulated second 0: the confirmations' ts; default now */
  epochMs?: number;
  /** the confirmations' ids' middle part; default now (a restarted controller's ids never repeat stored ones) */
  idBase?: number;
  /** the phase it shows at start; default its local plan's first */
  initialPhase?: number;
}

const ACCEPTED: PlanVerdict = Object.freeze({ accepted: true });

/** A FieldSignalController's running state as plain data. */
export interface FieldSignalControllerState {
  shown: number;
  current: SignalMode;
  inYellow: boolean;
  yellowUntil: number;
  commanded: number;
  lastSeq: number;
  heardAt: number;
  holdFor: number;
  step: number;
  stepEnds: number;
  confirmedPhase: number;
  confirmedMode: SignalMode | undefined;
  confirmedAt: number;
  refused: Record<PlanRefusal, number>;
}

export class FieldSignalController {
  readonly device: string;
  readonly watchdog: number;
  readonly yellowTime: number;
  readonly confirmEvery: number;
  /** plans refused, by reason */
  readonly refused: Record<PlanRefusal, number> = { invalid: 0, forged: 0, intersection: 0, phase: 0, replay: 0 };
  private readonly nPhases: number;
  /** needsYellow[a * n + b]: leaving phase a for b stops a movement of a */
  private readonly needsYellow: Uint8Array;
  private readonly epochMs: number;
  private readonly idBase: number;
  private shown: number;
  private current: SignalMode = 'local';
  /** a yellow runs (shown is the yellow) and may end at yellowUntil */
  private inYellow = false;
  private yellowUntil = 0;
  /** the brain's phase (central) */
  private commanded = -1;
  private lastSeq = -1;
  /** when the last valid plan came, and how long it may be held */
  private heardAt = -Infinity;
  private holdFor = 0;
  /** the local plan's step, and when it ends (NaN: it has not begun showing) */
  private step = 0;
  private stepEnds = NaN;
  private confirmedPhase = -1;
  private confirmedMode: SignalMode | undefined;
  private confirmedAt = -Infinity;
  private idSeq = 0;

  constructor(
    readonly phases: IntersectionPhases,
    readonly localPlan: readonly LocalStep[],
    private readonly verify: (plan: Plan) => boolean,
    opts: FieldSignalControllerOptions,
  ) {
    const where = `field signal controller ${phases.id}`;
    this.nPhases = phases.movements.length;
    if (localPlan.length === 0) throw new RangeError(`${where}: the local plan has no step`);
    localPlan.forEach((s, k) => {
      if (!(Number.isInteger(s.phase) && s.phase >= 0 && s.phase < this.nPhases)) throw new RangeError(`${where}: localPlan[${k}].phase: ${s.phase} is not a phase of it (0..${this.nPhases - 1})`);
      if (!(s.seconds > 0 && Number.isFinite(s.seconds))) throw new RangeError(`${where}: localPlan[${k}].seconds: must be > 0, got ${s.seconds}`);
    });
    this.device = opts.device;
    this.watchdog = opts.watchdog ?? 10;
    this.yellowTime = opts.yellowTime ?? 5;
    this.confirmEvery = opts.confirmEvery ?? 5;
    if (!(this.watchdog > 0 && Number.isFinite(this.watchdog))) throw new RangeError(`${where}: watchdog must be seconds > 0, got ${opts.watchdog}`);
    if (!(this.yellowTime >= 0 && Number.isFinite(this.yellowTime))) throw new RangeError(`${where}: yellowTime must be seconds >= 0, got ${opts.yellowTime}`);
    if (!(this.confirmEvery > 0)) throw new RangeError(`${where}: confirmEvery must be seconds > 0, got ${opts.confirmEvery}`);
    this.epochMs = opts.epochMs ?? Date.now();
    this.idBase = opts.idBase ?? Date.now();
    const n = this.nPhases;
    this.needsYellow = new Uint8Array(n * n);
    const served = phases.movements.map((ms) => new Set(ms.map((m) => m.roadLink)));
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        if (a === b || a === phases.yellow) continue;
        for (const r of served[a]) if (!served[b].has(r)) this.needsYellow[a * n + b] = 1;
      }
    }
    const first = opts.initialPhase ?? localPlan[0].phase;
    if (!(Number.isInteger(first) && first >= 0 && first < n)) throw new RangeError(`${where}: initialPhase ${first} is not a phase of it (0..${n - 1})`);
    this.shown = first;
    const k = localPlan.findIndex((s) => s.phase === first);
    this.step = k < 0 ? 0 : k;
  }

  /** The phase it shows now (the street applies it). */
  phase(): number {
    return this.shown;
  }

  /** `central` while it obeys the brain's plans, `local` while it runs its own. */
  get mode(): SignalMode {
    return this.current;
  }

  /**
   * A plan message arrives at simulated second `now`. A valid, verified plan
   * for this intersection, naming one of its phases, with a seq above the last
   * one obeyed, is taken (it shows from the next `tick`); anything else is
   * refused, counted in `refused`, and changes nothing.
   */
  receive(plan: unknown, now: number): PlanVerdict {
    const invalid = checkPlan(plan);
    if (invalid) return this.refuse('invalid', invalid);
    const p = plan as Plan;
    let genuine = false;
    try {
      genuine = this.verify(p) === true;
    } catch {
      // a verifier that throws on this input has not verified it
    }
    if (!genuine) return this.refuse('forged', `plan seq ${p.seq} from "${p.issuer}": the signature does not verify against the brain's key`);
    if (p.intersection !== this.phases.id) return this.refuse('intersection', `plan for intersection "${p.intersection}", this controller is "${this.phases.id}"`);
    if (p.phase >= this.nPhases) return this.refuse('phase', `plan.phase: ${p.phase} is not a phase of ${this.phases.id} (0..${this.nPhases - 1})`);
    if (p.seq <= this.lastSeq) return this.refuse('replay', `plan seq ${p.seq} is not above the last obeyed, ${this.lastSeq}`);
    this.lastSeq = p.seq;
    this.commanded = p.phase;
    this.heardAt = now;
    this.holdFor = Math.min(this.watchdog, p.validFor);
    return ACCEPTED;
  }

  /**
   * Advances to simulated second `now` (call once per street step, before it
   * runs): central while a valid plan is younger than min(watchdog, its
   * validFor), else local. Returns the confirmation to send when the phase or
   * mode changed, or confirmEvery seconds passed since the last.
   */
  tick(now: number): SignalEvent | undefined {
    const was = this.current;
    this.current = now - this.heardAt < this.holdFor ? 'central' : 'local';
    if (this.current === 'central') {
      this.show(this.commanded, now);
    } else {
      if (was === 'central') {
        // the brain fell silent: the local plan goes on from the phase shown (for that step's full time), when it has it
        const k = this.localPlan.findIndex((s) => s.phase === this.shown);
        if (k >= 0) this.step = k;
        this.stepEnds = NaN;
      }
      this.runLocal(now);
    }
    if (this.shown === this.confirmedPhase && this.current === this.confirmedMode && now - this.confirmedAt < this.confirmEvery) return undefined;
    this.confirmedPhase = this.shown;
    this.confirmedMode = this.current;
    this.confirmedAt = now;
    return {
      kind: 'signal', id: `${this.device}:c${this.idBase}:${++this.idSeq}`, device: this.device, ts: Math.round(this.epochMs + now * 1000),
      intersection: this.phases.id, phase: this.shown, mode: this.current,
    };
  }

  private runLocal(now: number): void {
    const plan = this.localPlan;
    if (this.showing(plan[this.step].phase)) {
      if (Number.isNaN(this.stepEnds)) this.stepEnds = now + plan[this.step].seconds;
      else if (now >= this.stepEnds) {
        this.step = (this.step + 1) % plan.length;
        this.stepEnds = NaN;
      }
    }
    this.show(plan[this.step].phase, now);
    if (Number.isNaN(this.stepEnds) && this.showing(plan[this.step].phase)) this.stepEnds = now + plan[this.step].seconds;
  }

  /** Whether `p` shows, settled: not a yellow leading elsewhere. */
  private showing(p: number): boolean {
    return this.shown === p && (!this.inYellow || p === this.phases.yellow);
  }

  /**
   * Shows `want` from `now`, safely: a running yellow ends no earlier than its
   * yellowTime; leaving a phase for one that stops some of its movements
   * shows the yellow first.
   */
  private show(want: number, now: number): void {
    if (want < 0) return;
    const yellow = this.phases.yellow;
    if (this.inYellow) {
      if (now < this.yellowUntil) return;
      this.inYellow = false;
      this.shown = want;
      return;
    }
    if (want === this.shown) return;
    if (this.yellowTime > 0 && (want === yellow || this.needsYellow[this.shown * this.nPhases + want])) {
      this.inYellow = true;
      this.yellowUntil = now + this.yellowTime;
      this.shown = yellow;
      return;
    }
    this.shown = want;
  }

  /** Its running state as plain data (structured-cloneable), for a snapshot of the street. */
  exportState(): FieldSignalControllerState {
    return {
      shown: this.shown, current: this.current, inYellow: this.inYellow, yellowUntil: this.yellowUntil, commanded: this.commanded, lastSeq: this.lastSeq,
      heardAt: this.heardAt, holdFor: this.holdFor, step: this.step, stepEnds: this.stepEnds, confirmedPhase: this.confirmedPhase,
      confirmedMode: this.confirmedMode, confirmedAt: this.confirmedAt, refused: { ...this.refused },
    };
  }

  /** Continues from exportState of a controller of the same intersection (its confirmations' ids carry on under this one's idBase). */
  importState(s: FieldSignalControllerState): void {
    if (!(Number.isInteger(s.shown) && s.shown >= 0 && s.shown < this.nPhases)) throw new RangeError(`field signal controller ${this.phases.id}: state shows phase ${s.shown}, not one of its ${this.nPhases}`);
    ({
      shown: this.shown, current: this.current, inYellow: this.inYellow, yellowUntil: this.yellowUntil, commanded: this.commanded, lastSeq: this.lastSeq,
      heardAt: this.heardAt, holdFor: this.holdFor, step: this.step, stepEnds: this.stepEnds, confirmedPhase: this.confirmedPhase,
      confirmedMode: this.confirmedMode, confirmedAt: this.confirmedAt,
    } = s);
    Object.assign(this.refused, s.refused);
  }

  private refuse(reason: PlanRefusal, message: string): PlanVerdict {
    this.refused[reason]++;
    return { accepted: false, reason, message };
  }
}
