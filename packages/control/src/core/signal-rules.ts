import type { ControlEnv, SignalStatus } from './controller.js';

/** The timing rules every signal obeys, whoever chooses its greens. */
export interface SignalRules {
  /** steps of yellow between two different greens */
  yellowSteps: number;
  minGreen: number;
}

/** The rules of `env`: its yellow in whole steps of its simulation. */
export function signalRules(env: Pick<ControlEnv, 'yellowTime' | 'minGreen'> & { twin: { readonly interval: number } }): SignalRules {
  return { yellowSteps: Math.round(env.yellowTime / env.twin.interval), minGreen: env.minGreen };
}

/** advanceSignal's (countDownYellow's, switchGreen's) answer when the phase shown stays as it is. */
export const NO_CHANGE = -1;

/** Whether a green shown since `greenSince` has lasted its minimum at `time`, so it may be changed. */
export function minGreenServed(greenSince: number, time: number, rules: SignalRules): boolean {
  return time - greenSince >= rules.minGreen;
}

/**
 * One tick of one intersection's signal `s` at `time`: the rules the
 * SignalSupervisor enforces and the predictive controller's rollouts replay
 * on forks. A running yellow counts down, and the green it leads to shows
 * when it ends; a green younger than minGreen stays; otherwise `decide` (given
 * `k`, the caller's index of this intersection, and `s`) names the green
 * wanted, and switchGreen applies it. Pure: it changes only `s`, and returns
 * the phase to show from this tick on, or NO_CHANGE; the caller shows it.
 */
export function advanceSignal(
  s: SignalStatus,
  k: number,
  time: number,
  rules: SignalRules,
  yellow: number,
  decide: (k: number, s: Readonly<SignalStatus>) => number,
): number {
  if (s.yellowLeft > 0) return countDownYellow(s, time);
  if (!minGreenServed(s.greenSince, time, rules)) return NO_CHANGE;
  return switchGreen(s, decide(k, s), time, rules, yellow);
}

/**
 * A tick of the yellow running at signal `s` (yellowLeft > 0): when it ends,
 * the green it leads to shows from `time`. Returns that green, or NO_CHANGE.
 */
export function countDownYellow(s: SignalStatus, time: number): number {
  if (--s.yellowLeft > 0) return NO_CHANGE;
  s.greenSince = time;
  return s.green;
}

/**
 * A green `want` chosen for signal `s` at `time`: a different green starts
 * with `yellowSteps` of the `yellow` phase (at once when there is no yellow).
 * Returns the phase to show from now on, or NO_CHANGE.
 */
export function switchGreen(s: SignalStatus, want: number, time: number, rules: SignalRules, yellow: number): number {
  if (want === s.green) return NO_CHANGE;
  s.green = want;
  if (rules.yellowSteps > 0) {
    s.yellowLeft = rules.yellowSteps;
    return yellow;
  }
  s.greenSince = time;
  return want;
}
