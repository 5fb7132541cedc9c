// What the incidents panel and map show, from the live stream's active
// incidents, the server's history and the acknowledgements sent from here.
// Pure: no React, so it is unit-tested in Node.
import type { Incident } from './types.js';

/** How many cleared incidents the panel lists, and asks the server for. */
export const CLEARED_SHOWN = 20;

export interface IncidentBoard {
  /** not cleared yet, newest detection first */
  active: Incident[];
  /** cleared, most recently cleared first, at most `CLEARED_SHOWN` */
  cleared: Incident[];
}

/** Newest detection first; ties (one report tipping two lanes) by id, so the order does not flicker. */
export function byDetectionNewestFirst(a: Incident, b: Incident): number {
  return b.detectedAt - a.detectedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function byClearedNewestFirst(a: Incident, b: Incident): number {
  return (b.clearedAt ?? -Infinity) - (a.clearedAt ?? -Infinity) || byDetectionNewestFirst(a, b);
}

/**
 * An incident with the acknowledgement this dashboard got back from the
 * server, until the stream or the history carries it themselves (they may
 * lag the answer by a message or a refresh).
 */
function withAck(inc: Incident, acks: ReadonlyMap<string, Incident>): Incident {
  const answer = acks.get(inc.id);
  return inc.acknowledged === null && answer?.acknowledged ? { ...inc, acknowledged: answer.acknowledged } : inc;
}

/**
 * The board: `active` is the live stream's set (the truth now), `history`
 * the last answer of `GET /api/v1/incidents` (older: an incident active there
 * but not on the stream has cleared since, and shows again with its clearing
 * once the history is read again), `acks` the answers to acknowledgements.
 */
export function incidentBoard(active: readonly Incident[], history: readonly Incident[], acks: ReadonlyMap<string, Incident> = new Map()): IncidentBoard {
  const activeIds = new Set(active.map((i) => i.id));
  return {
    active: active.map((i) => withAck(i, acks)).sort(byDetectionNewestFirst),
    cleared: history
      .filter((i) => i.status === 'cleared' && !activeIds.has(i.id))
      .map((i) => withAck(i, acks))
      .sort(byClearedNewestFirst)
      .slice(0, CLEARED_SHOWN),
  };
}

/** A key that changes when an incident is detected or cleared (not on every live message). */
export function activeSetKey(active: readonly Incident[]): string {
  return active.map((i) => i.id).sort().join(',');
}

/** Simulated seconds the lane has been (active) or was (cleared) blocked, counted from the start of the evidence. */
export function blockedSeconds(inc: Incident, now: number): number {
  const end = inc.clearedAt ?? now;
  return Math.max(0, end - inc.since);
}

/** Simulated seconds from detection to acknowledgement (the response time), or null when nobody has acknowledged it. */
export function responseSeconds(inc: Incident): number | null {
  return inc.acknowledged ? Math.max(0, Math.round((inc.acknowledged.ts - inc.detectedTs) / 1000)) : null;
}

/** A duration as m:ss, or h:mm:ss from an hour: the same in every language. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** `by` of an acknowledgement is "name (token id)": the name, for people. */
export function acknowledgerName(by: string): string {
  return by.replace(/\s*\([^()]*\)$/, '') || by;
}
