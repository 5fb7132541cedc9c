import type { Confusions } from './plates.js';

/**
 * A plate's keyed hash (HMAC-SHA256 with the city's key, in the server): the
 * watchlist holds and compares plates only through it. Pure code is handed one.
 */
export type PlateKeyer = (text: string) => string;

/** The keyed hash of a plate's canonical form (prefixed, so that it never equals a plate's own). */
export function canonicalKey(keyer: PlateKeyer, canonical: string): string {
  return keyer(`~${canonical}`);
}

export interface KeyedHit<T> {
  value: T;
  /** the listed plate's key */
  key: string;
  /** confusable characters the read differs in */
  confusions: number;
}

/**
 * Plates held only as keyed hashes, each with a value (a register entry, a
 * list entry), looked up from a read within a number of confusions: the
 * read's own key first, then, when its canonical form is listed at all, the
 * keys of its variants (1..max confusions): the clear plate is never kept.
 */
export class KeyedPlates<T> {
  private readonly exact = new Map<string, T>();
  /** canonical key -> how many listed plates have it */
  private readonly canon = new Map<string, number>();

  get size(): number {
    return this.exact.size;
  }

  /** Adds (or replaces) a plate by its key and its canonical key (`canonicalKey`). */
  add(key: string, canonKey: string, value: T): void {
    if (!this.exact.has(key)) this.canon.set(canonKey, (this.canon.get(canonKey) ?? 0) + 1);
    this.exact.set(key, value);
  }

  delete(key: string, canonKey: string): boolean {
    if (!this.exact.delete(key)) return false;
    const n = (this.canon.get(canonKey) ?? 1) - 1;
    if (n <= 0) this.canon.delete(canonKey);
    else this.canon.set(canonKey, n);
    return true;
  }

  clear(): void {
    this.exact.clear();
    this.canon.clear();
  }

  /** Whether a plate with this canonical key is listed (within any number of confusions). */
  hasCanonical(canonKey: string): boolean {
    return this.canon.has(canonKey);
  }

  /**
   * The listed plate a read is, within `max` confusions: its own key, or the
   * nearest variant's. `key` and `canonKey` are the read's (computed once per read).
   */
  lookup(plate: string, key: string, canonKey: string, keyer: PlateKeyer, confusions: Confusions, max: number): KeyedHit<T> | undefined {
    const own = this.exact.get(key);
    if (own !== undefined) return { value: own, key, confusions: 0 };
    if (max <= 0 || !this.canon.has(canonKey)) return undefined;
    let hit: { value: T; key: string } | undefined;
    const d = confusions.variants(plate, max, (variant) => {
      const k = keyer(variant);
      const v = this.exact.get(k);
      if (v === undefined) return false;
      hit = { value: v, key: k };
      return true;
    });
    return hit && d !== undefined ? { ...hit, confusions: d } : undefined;
  }
}

/** What starts a plate stored as its keyed hash (a camera never reads it: the server refuses plates starting so). */
export const KEYED_PLATE_PREFIX = '#';

/**
 * A plate as the event log keeps it: `#` and the first 15 characters of its
 * keyed hash (90 bits: fits the plate field's 16, so stored events stay valid
 * events; no two of a city's plates collide in practice). Deterministic, so a
 * device's retry is the same event; a plate already keyed is kept as it is.
 */
export function storedPlate(keyer: PlateKeyer, plate: string): string {
  return plate.startsWith(KEYED_PLATE_PREFIX) ? plate : KEYED_PLATE_PREFIX + keyer(plate).slice(0, 15);
}
