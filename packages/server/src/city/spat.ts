// SPaT out (issue #14): the brain's signal state as SAE J2735 SPaT-shaped
// JSON for connected vehicles and third parties. Field names are J2735's
// (ASN.1 names: IntersectionState, MovementState `state-time-speed`,
// MovementEvent, TimeChangeDetails, MovementPhaseState values such as
// `protected-Movement-Allowed`), with the list wrappers the USDOT ODE's JSON
// uses (`states.movementList`, `state-time-speed.movementEventList`, status as
// the IntersectionStatusObject's named bits). Pure: engine and control types only.
import type { Network } from '@citybrain/engine';
import type { IntersectionPhases, SignalStatus } from '@citybrain/control';
import type { CityRuntime } from './runtime.js';

/** J2735 MovementPhaseState values this brain can show. */
export type SpatEventState =
  | 'stop-And-Remain'
  | 'permissive-Movement-Allowed'
  | 'protected-Movement-Allowed'
  | 'permissive-clearance'
  | 'protected-clearance';

/** J2735 TimeMark: tenths of a second of the current hour (0..35999); 36001 means unknown. */
export const TIME_MARK_UNKNOWN = 36001;

export interface SpatTiming {
  /** earliest the state can end (TimeMark) */
  minEndTime: number;
  /** latest it will end; present only when the brain knows it (a running yellow): adaptive control has no fixed end */
  maxEndTime?: number;
}

export interface SpatMovementState {
  movementName: string;
  signalGroup: number;
  'state-time-speed': { movementEventList: [{ eventState: SpatEventState; timing: SpatTiming }] };
}

/** J2735 IntersectionStatusObject bits, by name (as the ODE writes them). */
export interface SpatStatus {
  manualControlIsEnabled: boolean; stopTimeIsActivated: boolean; failureFlash: boolean; preemptIsActive: boolean;
  signalPriorityIsActive: boolean; fixedTimeOperation: boolean; trafficDependentOperation: boolean; standbyOperation: boolean;
  failureMode: boolean; off: boolean; recentMAPmessageUpdate: boolean; recentChangeInMAPassignedLanesIDsUsed: boolean;
  noValidMAPisAvailableAtThisTime: boolean; noValidSPATisAvailableAtThisTime: boolean;
}

export interface SpatIntersectionState {
  /** the intersection's id in the roadnet (J2735 DescriptiveName) */
  name: string;
  /** J2735 IntersectionReferenceID: `id` is the intersection's index in the roadnet (0..65535) */
  id: { id: number };
  /** MsgCount of the intersection's configuration: the network does not change while the brain runs */
  revision: number;
  status: SpatStatus;
  /** minute of the UTC year of the city's clock */
  moy: number;
  /** milliseconds within that minute (J2735 DSecond) */
  timeStamp: number;
  states: { movementList: SpatMovementState[] };
}

export interface Spat {
  /** minute of the UTC year (J2735 SPAT.timeStamp) */
  timeStamp: number;
  name: string;
  intersections: SpatIntersectionState[];
}

/** What one intersection's SPaT is computed from. */
export interface SpatSignalInput {
  ix: IntersectionPhases;
  status: Readonly<SignalStatus>;
  /** the green a running yellow clears (its movements show clearance); -1 when unknown */
  cleared: number;
  /** the intersection runs its fixed plan (controller fault) */
  fallback: boolean;
}

export interface SpatClock {
  /** simulated seconds now: read between two steps, so the next supervisor tick happens at `time` */
  time: number;
  /** simulated seconds per step */
  interval: number;
  /** epoch ms of simulated second 0 */
  epochMs: number;
  /** seconds of yellow between two greens */
  yellowTime: number;
  minGreen: number;
}

const HOUR_MS = 3_600_000;

/** J2735 TimeMark of epoch ms `ms`: tenths of a second of its hour. */
export function timeMark(ms: number): number {
  return Math.floor((((ms % HOUR_MS) + HOUR_MS) % HOUR_MS) / 100);
}

/** J2735 MinuteOfTheYear and DSecond (ms within the minute) of epoch ms `ms`, in UTC. */
export function moyOf(ms: number): { moy: number; timeStamp: number } {
  const year = new Date(ms).getUTCFullYear();
  const sinceYear = ms - Date.UTC(year, 0, 1);
  return { moy: Math.floor(sinceYear / 60_000), timeStamp: Math.floor(sinceYear % 60_000) };
}

/**
 * Signal groups: one per movement (roadLink) of the intersection, numbered by
 * the roadLink's position in the roadnet's `roadLinks` of that intersection,
 * from 1 (J2735 SignalGroupID 0 means "not available").
 */
export function signalGroupOf(net: Network, roadLink: number): number {
  return roadLink - net.interRoadLinkStart[net.roadLinkInter[roadLink]] + 1;
}

const RIGHT_TURN = 1; // LINK_PRIORITY.turn_right: the network's code of a right turn

/** One intersection's J2735 IntersectionState at `clock`. */
export function intersectionSpat(net: Network, input: SpatSignalInput, clock: SpatClock): SpatIntersectionState {
  const { ix, status: s, cleared } = input;
  const i = ix.intersection;
  const nowMs = clock.epochMs + Math.round(clock.time * 1000);
  const at = (t: number) => timeMark(clock.epochMs + Math.round(t * 1000));
  const has = (phase: number, r: number) => phase >= 0 && ix.movements[phase]?.some((m) => m.roadLink === r) === true;
  const yellow = s.yellowLeft > 0;
  // the next tick runs at clock.time: a yellow with n steps left ends n-1 steps after it; a green may end there once its minimum is served
  const yellowEnd = clock.time + (s.yellowLeft - 1) * clock.interval;
  const greenEarliestEnd = Math.max(s.greenSince + clock.minGreen, clock.time);

  const movementList: SpatMovementState[] = [];
  for (let r = net.interRoadLinkStart[i]; r < net.interRoadLinkStart[i + 1]; r++) {
    const everyGreen = ix.greens.length > 0 && ix.greens.every((g) => has(g, r));
    const anyGreen = ix.greens.some((g) => has(g, r));
    const inYellow = has(ix.yellow, r);
    // a right turn green in every phase yields to the others: permissive
    const permissive = everyGreen && net.roadLinkType[r] === RIGHT_TURN;
    const allowed: SpatEventState = permissive ? 'permissive-Movement-Allowed' : 'protected-Movement-Allowed';
    let eventState: SpatEventState;
    let timing: SpatTiming;
    if (everyGreen && (inYellow || clock.yellowTime === 0)) {
      // never stopped under these phases: no end to announce
      eventState = allowed;
      timing = { minEndTime: TIME_MARK_UNKNOWN };
    } else if (!yellow) {
      if (has(s.green, r)) {
        eventState = allowed;
        timing = { minEndTime: at(greenEarliestEnd) };
      } else {
        eventState = 'stop-And-Remain';
        // the earliest green: after this green's minimum and a yellow (in which the movement may already go)
        timing = { minEndTime: anyGreen || inYellow ? at(greenEarliestEnd + (inYellow ? 0 : clock.yellowTime)) : TIME_MARK_UNKNOWN };
      }
    } else if (inYellow) {
      eventState = allowed;
      timing = has(s.green, r) ? { minEndTime: at(yellowEnd + clock.minGreen) } : { minEndTime: at(yellowEnd), maxEndTime: at(yellowEnd) };
    } else if (has(cleared, r)) {
      eventState = permissive ? 'permissive-clearance' : 'protected-clearance';
      timing = { minEndTime: at(yellowEnd), maxEndTime: at(yellowEnd) };
    } else {
      eventState = 'stop-And-Remain';
      timing = has(s.green, r)
        ? { minEndTime: at(yellowEnd), maxEndTime: at(yellowEnd) }
        : { minEndTime: anyGreen ? at(yellowEnd + clock.minGreen + clock.yellowTime) : TIME_MARK_UNKNOWN };
    }
    movementList.push({
      movementName: `${net.roadIds[net.roadLinkStartRoad[r]]}->${net.roadIds[net.roadLinkEndRoad[r]]}`,
      signalGroup: signalGroupOf(net, r),
      'state-time-speed': { movementEventList: [{ eventState, timing }] },
    });
  }
  return {
    name: ix.id,
    id: { id: i },
    revision: 1,
    status: statusBits(input.fallback),
    ...moyOf(nowMs),
    states: { movementList },
  };
}

function statusBits(fallback: boolean): SpatStatus {
  return {
    manualControlIsEnabled: false, stopTimeIsActivated: false, failureFlash: false, preemptIsActive: false,
    signalPriorityIsActive: false, fixedTimeOperation: fallback, trafficDependentOperation: !fallback, standbyOperation: false,
    failureMode: false, off: false, recentMAPmessageUpdate: false, recentChangeInMAPassignedLanesIDsUsed: false,
    noValidMAPisAvailableAtThisTime: false, noValidSPATisAvailableAtThisTime: false,
  };
}

/** The green a running yellow at intersection `i` clears: the phase shown before the yellow in the runtime's phase log. */
function clearedGreen(rt: CityRuntime, ix: IntersectionPhases): number {
  const log = rt.phaseLog.get(ix.intersection) ?? [];
  for (let k = log.length - 1; k >= 0; k--) if (log[k].phase !== ix.yellow) return log[k].phase;
  return -1;
}

/** The city's SPaT now: every signalised intersection, or only the one at supervisor index `k`. */
export function citySpat(rt: CityRuntime, k?: number): Spat {
  const sup = rt.supervisor;
  const clock: SpatClock = { time: rt.sim.time, interval: rt.sim.interval, epochMs: rt.epochMs, yellowTime: sup.env.yellowTime, minGreen: sup.env.minGreen };
  const ks = k === undefined ? sup.env.intersections.map((_, j) => j) : [k];
  const intersections = ks.map((j) => {
    const ix = sup.env.intersections[j];
    return intersectionSpat(rt.sim.net, { ix, status: sup.status[j], cleared: clearedGreen(rt, ix), fallback: sup.fallen.has(ix.intersection) }, clock);
  });
  return { timeStamp: moyOf(clock.epochMs + Math.round(clock.time * 1000)).moy, name: 'citybrain', intersections };
}
