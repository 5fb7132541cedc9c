/**
 * Who may do what with a dataset, and what each column reads as for them:
 * the one place of the hub's access rules (the server builds each caller's
 * SQL views from `columnsFor`, so masks apply inside the query).
 *
 * - The owning department's tokens: admin, personal columns in clear (it is
 *   their data; they loaded it).
 * - Operators (the platform's administrators): admin of every dataset, so
 *   they can load for and grant on behalf of a department; personal columns
 *   only through a grant naming them, like anyone else.
 * - Classification public: every token that reads (not devices) reads it.
 *   internal: every department's tokens and operators read it.
 *   restricted and personal: only the owner, operators and grants.
 * - Grants: to a department (its tokens), a role (its tokens), or both (that
 *   department's tokens of that role); read < write < admin. Several grants
 *   add up: a column is masked only when every grant that reads it masks it
 *   (hash before null), and a personal column reads in clear or masked only
 *   when a grant names it, else as NULL.
 */
import { ACCESS_LEVELS, type AccessLevel, type Column, type DatasetSpec, type Grant, type Mask } from './model.js';

export interface HubCaller {
  role: string;
  /** the department of the caller's token, when it belongs to one */
  department?: string;
}

/** How a column reads for a caller. */
export type Exposure = 'clear' | Mask;

export interface DatasetAccess {
  level: AccessLevel | undefined;
  /** why (for messages and the audit log): 'owner', 'operator', 'public', 'internal', or the grant ids */
  via: string[];
  /** per column, in the dataset's order (only meaningful when level is set) */
  columns: { column: Column; exposure: Exposure }[];
}

const rank = (l: AccessLevel | undefined): number => (l === undefined ? -1 : ACCESS_LEVELS.indexOf(l));
const max = (a: AccessLevel | undefined, b: AccessLevel | undefined) => (rank(a) >= rank(b) ? a : b);

/** Whether a grant is given to this caller. */
export function grantApplies(g: Pick<Grant, 'department' | 'role'>, c: HubCaller): boolean {
  if (g.department !== undefined && g.department !== c.department) return false;
  if (g.role !== undefined && g.role !== c.role) return false;
  return true;
}

/** The roles that read datasets at all (devices only publish events). */
export const HUB_READ_ROLES = ['viewer', 'operator', 'app', 'police', 'analyst'] as const;

export function datasetAccess(d: Pick<DatasetSpec, 'owner' | 'classification' | 'columns'>, grants: readonly Grant[], c: HubCaller): DatasetAccess {
  if (!(HUB_READ_ROLES as readonly string[]).includes(c.role)) return { level: undefined, via: [], columns: [] };
  let level: AccessLevel | undefined;
  const via: string[] = [];
  const owner = c.department !== undefined && c.department === d.owner;
  if (owner) {
    level = 'admin';
    via.push('owner');
  }
  if (c.role === 'operator') {
    level = 'admin';
    via.push('operator');
  }
  if (d.classification === 'public') {
    level = max(level, 'read');
    via.push('public');
  } else if (d.classification === 'internal' && (c.department !== undefined || c.role === 'operator')) {
    level = max(level, 'read');
    via.push('internal');
  }
  const mine = grants.filter((g) => grantApplies(g, c));
  for (const g of mine) {
    level = max(level, g.access);
    via.push(g.id);
  }
  // the baseline (owner, operator, classification) reads every non-personal column in clear
  const baseline = via.some((v) => v === 'owner' || v === 'operator' || v === 'public' || v === 'internal');
  const columns = d.columns.map((column) => {
    let best: Exposure | undefined;
    const offer = (e: Exposure) => {
      if (best === undefined || exposureRank(e) < exposureRank(best)) best = e;
    };
    if (owner) offer('clear');
    else if (baseline && !column.personal) offer('clear');
    for (const g of mine) {
      if (column.personal && !(g.personal ?? []).includes(column.name)) continue;
      offer(g.masks?.[column.name] ?? 'clear');
    }
    return { column, exposure: best ?? 'null' };
  });
  return { level, via, columns };
}

function exposureRank(e: Exposure): number {
  return e === 'clear' ? 0 : e === 'hash' ? 1 : 2;
}

export function allows(a: DatasetAccess, need: AccessLevel): boolean {
  return rank(a.level) >= rank(need);
}
