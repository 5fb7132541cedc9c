import type { RoadnetJson } from '../format/cityflow.js';
import { ScenarioError } from '../errors.js';

/**
 * Detector counts as `citybrain calibrate` reads them (README "Demand from
 * counts"): CSV with the header `begin,end,lane,count` or `begin,end,road,count`;
 * begin/end in seconds, the interval [begin, end); lane ids `<road>_<index>`;
 * an optional fifth column `position`: `stop-line` (the default) or `entry`.
 * A stop-line count is the vehicles that crossed the lane's stop line; an
 * entry count the vehicles that entered the lane at its upstream end (a
 * mid-block or entry detector: on an entry road the demand itself, not capped
 * by the signal downstream); a road count the sum over its lanes.
 */
export type CountPosition = 'stop-line' | 'entry';

export const COUNT_POSITIONS: readonly CountPosition[] = ['stop-line', 'entry'];

export interface CountRow {
  begin: number;
  end: number;
  /** which detector: one lane, or all lanes of a road */
  at: { lane: string } | { road: string };
  count: number;
  /** where along the lane the detector counts; absent: at the stop line */
  position?: CountPosition;
  /** 1-based line in the file, for messages */
  line: number;
}

/** A turning count (turns.csv: `begin,end,from,to,count`): vehicles that went from road `from` into road `to` in [begin, end). */
export interface TurnCountRow {
  begin: number;
  end: number;
  from: string;
  to: string;
  count: number;
  line: number;
}

/** A CityFlow lane id's road and index (`<road id>_<lane index>`), or undefined when it is not one. */
export function splitLaneId(id: string): { road: string; index: number } | undefined {
  const m = /^(.*)_(\d+)$/.exec(id);
  return m ? { road: m[1], index: Number(m[2]) } : undefined;
}

/** Parses counts.csv against the roadnet; a malformed row, an unknown id, a negative count or overlapping intervals of one detector throw a ScenarioError naming the line. */
export function parseCounts(text: string, roadnet: RoadnetJson, source = 'counts.csv'): CountRow[] {
  const { header, rows } = csvRows(text, source);
  const kind = header[2];
  const n = header.length;
  if ((n !== 4 && n !== 5) || header[0] !== 'begin' || header[1] !== 'end' || (kind !== 'lane' && kind !== 'road') || header[3] !== 'count' || (n === 5 && header[4] !== 'position')) {
    throw new ScenarioError(source, 'line 1', `expected the header "begin,end,lane,count" or "begin,end,road,count", optionally followed by ",position", got "${header.join(',')}"`);
  }
  const fields = `begin,end,${kind},count${n === 5 ? ',position' : ''}`;
  const roads = new Map(roadnet.roads.map((r) => [r.id, r.lanes.length]));
  const out: CountRow[] = [];
  for (const { line, cells } of rows) {
    const where = `line ${line}`;
    if (cells.length !== n) throw new ScenarioError(source, where, `expected ${n} fields (${fields}), got ${cells.length}`);
    const { begin, end } = interval(cells, source, where);
    const id = cells[2];
    if (kind === 'road' && !roads.has(id)) throw new ScenarioError(source, where, `road "${id}" is not in the roadnet`);
    if (kind === 'lane') {
      const lane = splitLaneId(id);
      const n = lane ? roads.get(lane.road) : undefined;
      if (!lane || n === undefined || lane.index >= n) throw new ScenarioError(source, where, `lane "${id}" is not in the roadnet (lane ids are <road id>_<lane index>)`);
    }
    const position = n === 5 ? cells[4] : 'stop-line';
    if (!isPosition(position)) throw new ScenarioError(source, where, `position: expected ${COUNT_POSITIONS.map((p) => `"${p}"`).join(' or ')}, got "${position}"`);
    out.push({ begin, end, at: kind === 'lane' ? { lane: id } : { road: id }, count: countCell(cells[3], source, where), position, line });
  }
  // an entry and a stop-line detector on one lane are two detectors
  noOverlaps(out, (r) => `${'lane' in r.at ? r.at.lane : r.at.road}${r.position === 'entry' ? ' (entry)' : ''}`, source);
  return out;
}

/** Parses turns.csv (`begin,end,from,to,count`): each from road must lead to its to road through a roadLink. */
export function parseTurnCounts(text: string, roadnet: RoadnetJson, source = 'turns.csv'): TurnCountRow[] {
  const { header, rows } = csvRows(text, source);
  if (header.join(',') !== 'begin,end,from,to,count') throw new ScenarioError(source, 'line 1', `expected the header "begin,end,from,to,count", got "${header.join(',')}"`);
  const links = new Set<string>();
  for (const it of roadnet.intersections) for (const rl of it.roadLinks) links.add(`${rl.startRoad}\u0000${rl.endRoad}`);
  const roads = new Set(roadnet.roads.map((r) => r.id));
  const out: TurnCountRow[] = [];
  for (const { line, cells } of rows) {
    const where = `line ${line}`;
    if (cells.length !== 5) throw new ScenarioError(source, where, `expected 5 fields (begin,end,from,to,count), got ${cells.length}`);
    const { begin, end } = interval(cells, source, where);
    const [, , from, to] = cells;
    for (const r of [from, to]) if (!roads.has(r)) throw new ScenarioError(source, where, `road "${r}" is not in the roadnet`);
    if (!links.has(`${from}\u0000${to}`)) throw new ScenarioError(source, where, `no roadLink leads from road "${from}" to road "${to}"`);
    out.push({ begin, end, from, to, count: countCell(cells[4], source, where), line });
  }
  noOverlaps(out, (r) => `${r.from} -> ${r.to}`, source);
  return out;
}

function isPosition(p: string): p is CountPosition {
  return (COUNT_POSITIONS as readonly string[]).includes(p);
}

function csvRows(text: string, source: string): { header: string[]; rows: { line: number; cells: string[] }[] } {
  const lines = text.split(/\r?\n/);
  const rows: { line: number; cells: string[] }[] = [];
  let header: string[] | undefined;
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    const cells = l.split(',').map((c) => c.trim());
    if (!header) header = cells;
    else rows.push({ line: i + 1, cells });
  });
  if (!header) throw new ScenarioError(source, '', 'the file is empty (expected a header line)');
  return { header, rows };
}

function interval(cells: string[], source: string, where: string): { begin: number; end: number } {
  const begin = Number(cells[0]), end = Number(cells[1]);
  if (cells[0] === '' || !Number.isFinite(begin) || begin < 0) throw new ScenarioError(source, where, `begin: expected seconds >= 0, got "${cells[0]}"`);
  if (cells[1] === '' || !Number.isFinite(end) || end <= begin) throw new ScenarioError(source, where, `end: expected seconds after begin ${begin}, got "${cells[1]}"`);
  return { begin, end };
}

function countCell(c: string, source: string, where: string): number {
  const n = Number(c);
  if (c === '' || !Number.isFinite(n)) throw new ScenarioError(source, where, `count: expected a number, got "${c}"`);
  if (n < 0) throw new ScenarioError(source, where, `count: ${n} is negative`);
  return n;
}

/** Two rows of one detector whose intervals overlap would count the same vehicles twice. */
function noOverlaps<T extends { begin: number; end: number; line: number }>(rows: T[], key: (r: T) => string, source: string): void {
  const by = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = by.get(k);
    if (list) list.push(r);
    else by.set(k, [r]);
  }
  for (const [k, list] of by) {
    const sorted = [...list].sort((a, b) => a.begin - b.begin || a.line - b.line);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1], b = sorted[i];
      if (b.begin < a.end) {
        const [first, second] = a.line < b.line ? [a, b] : [b, a];
        throw new ScenarioError(source, `line ${second.line}`, `${k}: [${second.begin}, ${second.end}) overlaps [${first.begin}, ${first.end}) on line ${first.line}`);
      }
    }
  }
}
