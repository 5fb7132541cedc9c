import { compassOf, type Compass } from '@citybrain/engine';
import type { MessageKey } from './i18n.js';
import type { NetworkView } from './types.js';

/**
 * The names people use instead of ids: a road's traffic by the direction it
 * comes from (from the intersections' positions; y grows to the north) and
 * its street name where the network has one, an intersection by its streets,
 * a phase by the movements it gives green ("N–S through"), a region by its
 * compass name. Pure: the panels pass their `t`.
 */

export type { Compass };
type T = (key: MessageKey, params?: Record<string, string | number>) => string;

const ORDER: Compass[] = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'];
const TURNS = { go_straight: 'turnThrough', turn_left: 'turnLeft', turn_right: 'turnRight' } as const;

/** The side traffic on `road` comes from where it meets its end intersection; null for a road the view does not hold. */
export function comingFrom(view: NetworkView, road: string): Compass | null {
  const r = view.roads.find((x) => x.id === road);
  if (!r) return null;
  const a = view.intersections.find((i) => i.id === r.from), b = view.intersections.find((i) => i.id === r.to);
  if (!a || !b || (a.x === b.x && a.y === b.y)) return null;
  return compassOf(a.x - b.x, a.y - b.y);
}

/** "from north", and its street where the network names it: "from north (Hauptstraße)"; the street, else the id, without a direction. */
export function approachName(view: NetworkView, road: string, t: T): string {
  const c = comingFrom(view, road);
  const name = view.roads.find((x) => x.id === road)?.name;
  if (!c) return name ?? road;
  const dir = t('approachFrom', { dir: t(`compass_${c}`) });
  return name ? t('approachOnRoad', { approach: dir, road: name }) : dir;
}

/**
 * An intersection by the streets that meet there ("Martinistraße / Arndtplatz",
 * at most three, as the network lists its roads); its id where no road of it
 * is named. Street names are names: never translated.
 */
export function intersectionName(view: NetworkView, id: string): string {
  const names = new Set<string>();
  for (const r of view.roads) if ((r.to === id || r.from === id) && r.name) names.add(r.name);
  return names.size > 0 ? [...names].slice(0, 3).join(' / ') : id;
}

/**
 * A phase by the movements only it gives green (those green in the yellow
 * too, right turns mostly, say nothing): per turn, the directions served,
 * e.g. "N–S through + N–S left"; `Phase n` when it has none of its own.
 */
export function phaseName(view: NetworkView, intersection: string, phase: number, t: T): string {
  const ix = view.intersections.find((i) => i.id === intersection);
  const own = ix?.phases.find((p) => p.index === phase)?.movements ?? [];
  const always = new Set((ix && ix.yellow !== null ? ix.phases.find((p) => p.index === ix.yellow)?.movements ?? [] : []).map((m) => `${m.from}>${m.to}`));
  const byTurn = new Map<MessageKey, Set<Compass>>();
  for (const m of own) {
    if (always.has(`${m.from}>${m.to}`)) continue;
    const c = comingFrom(view, m.from);
    if (!c) continue;
    const turn = TURNS[m.type as keyof typeof TURNS] ?? 'turnThrough';
    byTurn.set(turn, (byTurn.get(turn) ?? new Set()).add(c));
  }
  if (byTurn.size === 0) return t('phaseN', { n: phase });
  const parts: string[] = [];
  for (const turn of ['turnThrough', 'turnLeft', 'turnRight'] as const) {
    const dirs = byTurn.get(turn);
    if (!dirs) continue;
    // the two opposite pairs by their names in the language (N–S, 南北), any other set listed north first, clockwise
    const only = (a: Compass, b: Compass) => dirs.size === 2 && dirs.has(a) && dirs.has(b);
    const list = only('N', 'S') ? t('dirs_NS') : only('E', 'W') ? t('dirs_EW') : ORDER.filter((c) => dirs.has(c)).map((c) => t(`dir_${c}`)).join(t('listJoin'));
    parts.push(t('phaseMovement', { dirs: list, turn: t(turn) }));
  }
  return parts.join(' + ');
}

const REGION_COMPASS: Record<string, Compass> = { 'north-west': 'NW', 'north-east': 'NE', 'south-west': 'SW', 'south-east': 'SE' };

/** A region's name: the default quadrants by their compass name; the whole city; any other id as it is. */
export function regionName(id: string, t: T): string {
  if (id === 'city') return t('regionCity');
  const c = REGION_COMPASS[id];
  return c ? t('regionNamed', { id: t(`compass_${c}`) }) : t('regionNamed', { id });
}

/** A lane by its approach and its number counted from 1 ("from south, lane 2"); its id when the view does not hold it. */
export function laneName(view: NetworkView, lane: string, t: T): string {
  for (const r of view.roads) {
    const k = r.lanes.findIndex((l) => l.id === lane);
    if (k >= 0) return t('laneNamed', { approach: approachName(view, r.id, t), n: k + 1 });
  }
  return lane;
}
