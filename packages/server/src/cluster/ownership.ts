/**
 * Who owns which region (issue #20): the balancing rule each brain worker
 * applies to what it reads of the owners' bucket, pure so it is tested alone.
 * The bucket's atomic create (one owner per key) keeps two workers from
 * owning a region; this rule only decides what a worker tries to claim and
 * what it hands back, so the regions spread evenly over the live workers.
 *
 * With R regions and L live workers every worker ends with floor(R/L) or
 * ceil(R/L) of them:
 * - a worker claims unowned regions up to floor(R/L) at once, and up to
 *   ceil(R/L) only once no live worker is below floor(R/L) (so a worker just
 *   joined gets the regions handed back, not the one that handed them back);
 * - a worker above ceil(R/L) hands back its surplus;
 * - when live workers are below floor(R/L) and too few regions are unowned to
 *   lift them, the workers above floor hand back just enough of theirs, the
 *   fullest first (ties by id), so they do not all hand one back at once.
 */

export interface OwnershipView {
  /** this worker's id */
  self: string;
  /** every region of the city */
  regions: readonly string[];
  /** region -> owner, as the owners' bucket holds it now (an expired key is absent) */
  owners: ReadonlyMap<string, string>;
  /** the workers alive now (their health keys unexpired); `self` counts whether listed or not */
  live: readonly string[];
}

export interface OwnershipMoves {
  /** unowned regions to try to claim, in order (another worker may win some: the bucket's create decides) */
  claim: string[];
  /** own regions to hand back (stop controlling them first, then delete the key) */
  release: string[];
}

/** The regions each worker ends with at most: ceil(regions / live workers). */
export function fairShare(regions: number, liveWorkers: number): number {
  return Math.ceil(regions / Math.max(1, liveWorkers));
}

/** What `view.self` should claim and hand back now (see the file's comment). */
export function ownershipMoves(view: OwnershipView): OwnershipMoves {
  const { self, regions, owners } = view;
  const live = [...new Set([...view.live, self])].sort();
  const R = regions.length, L = live.length;
  const floor = Math.floor(R / L), ceil = fairShare(R, L);
  const count = new Map<string, number>(live.map((w) => [w, 0]));
  const unowned: string[] = [];
  const mine: string[] = [];
  for (const r of regions) {
    const o = owners.get(r);
    if (o === undefined) unowned.push(r);
    else {
      // a dead worker's region counts as owned until its key expires
      if (count.has(o)) count.set(o, count.get(o)! + 1);
      if (o === self) mine.push(r);
    }
  }
  const have = mine.length;
  // surplus goes from the end of the region order: a rule every worker can predict, no memory of claims needed
  if (have > ceil) return { claim: [], release: mine.slice(ceil) };
  const deficit = live.reduce((d, w) => d + Math.max(0, floor - count.get(w)!), 0);
  if (deficit > 0 && unowned.length < deficit) {
    // too few free regions to lift the workers below floor: the fullest above floor hand back, one region each in turn
    let owe = deficit - unowned.length;
    const above = live.filter((w) => count.get(w)! > floor).sort((a, b) => count.get(b)! - count.get(a)! || (a < b ? -1 : 1));
    const give = new Map<string, number>();
    while (owe > 0 && above.length > 0) {
      for (const w of above) {
        if (owe === 0) break;
        if (count.get(w)! - (give.get(w) ?? 0) > floor) {
          give.set(w, (give.get(w) ?? 0) + 1);
          owe--;
        }
      }
      if (above.every((w) => count.get(w)! - (give.get(w) ?? 0) <= floor)) break;
    }
    const n = give.get(self) ?? 0;
    if (n > 0) return { claim: [], release: mine.slice(have - n) };
    // workers above floor hand back; those at or below it wait for what is handed back
  }
  const target = deficit > 0 ? floor : ceil;
  if (have >= target || unowned.length === 0) return { claim: [], release: [] };
  // start at a place of its own in the list, so workers claiming at once mostly try different regions
  const at = hash(self) % unowned.length;
  return { claim: [...unowned.slice(at), ...unowned.slice(0, at)].slice(0, target - have), release: [] };
}

/** A small stable hash of a worker id (FNV-1a). */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
