import { OCR_CONFUSIONS, confusionTable } from '../kpis/plates.js';

/**
 * Plate text as the watchlist compares it: normalised, its format, its
 * canonical form over characters OCR confuses, and the confusions between a
 * read and a listed plate. Pure: the keyed hashing is the caller's (a `PlateKeyer`).
 */

/**
 * The confusion classes the watchlist tolerates: the issue's (0/O/D/Q, 1/I/7,
 * 2/Z, 5/S, 8/B, 6/G, as the KPIs' plate matching) and the other pairs camera
 * OCR confuses on Chinese plates (4/A, U/V, M/N, E/F, P/R), which the virtual
 * city's cameras also produce.
 */
export const WATCHLIST_CONFUSIONS: readonly string[] = [...OCR_CONFUSIONS, '4A', 'UV', 'MN', 'EF', 'PR'];

/** The 31 provinces' one-character abbreviations that open a Chinese plate. */
export const CN_PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';

export type PlateFormat = 'cn' | 'cn-nev' | 'generic';

// Chinese plates use neither I nor O (they would be read as 1 and 0)
const CN_LETTER = '[A-HJ-NP-Z]';
const CN_CHAR = '[A-HJ-NP-Z0-9]';
const CN_REGULAR = new RegExp(`^[${CN_PROVINCES}]${CN_LETTER}${CN_CHAR}{5}$`);
// new-energy plates: six characters, D or F (electric / hybrid) leading on small vehicles, trailing on large ones
const CN_NEV = new RegExp(`^[${CN_PROVINCES}]${CN_LETTER}(?:[DF]${CN_CHAR}\\d{4}|\\d{5}[DF])$`);
const GENERIC = /^[A-Z0-9]{2,10}$/;

/** Upper-case, without the spaces, dots, middle dots and hyphens plates are printed or typed with. */
export function normalisePlate(plate: string): string {
  return plate.toUpperCase().replace(/[\s.\-·•]/g, '');
}

/**
 * A read as the rules take it: normalised, and on a Chinese plate, an I or O
 * after the province's letter read as the 1 or 0 it must be (they are unused).
 */
export function correctRead(plate: string): string {
  const p = normalisePlate(plate);
  return p.length > 2 && CN_PROVINCES.includes(p[0]) && /[IO]/.test(p.slice(2)) ? p.slice(0, 2) + p.slice(2).replace(/I/g, '1').replace(/O/g, '0') : p;
}

/**
 * A normalised plate's format: Chinese (province character, letter, five
 * characters, no I or O), Chinese new-energy (six after the letter), or
 * generic (2-10 letters and digits, other countries'); undefined when none.
 */
export function plateFormat(plate: string): PlateFormat | undefined {
  if (CN_REGULAR.test(plate)) return 'cn';
  if (CN_NEV.test(plate)) return 'cn-nev';
  if (GENERIC.test(plate)) return 'generic';
  return undefined;
}

/** A plate as typed in a list: normalised, or a one-line reason it is no plate. */
export function parsePlate(text: string): { plate: string; format: PlateFormat } | { error: string } {
  const plate = normalisePlate(text);
  if (plate === '') return { error: 'empty plate' };
  const format = plateFormat(plate);
  if (format !== undefined) return { plate, format };
  if ([...CN_PROVINCES].includes(plate[0])) {
    return { error: `"${text}" is no Chinese plate: a province character, a letter, then five characters (new-energy: six), A-Z without I or O and 0-9` };
  }
  return { error: `"${text}" is no plate: 2-10 letters A-Z and digits, or a Chinese plate` };
}

/** The confusion classes as a table: each character to its class's representative (its first character). */
export class Confusions {
  readonly classes: readonly string[];
  private readonly rep = new Map<string, string>();
  /** each character to the others of its class */
  readonly others: ReadonlyMap<string, string>;

  constructor(classes: readonly string[] = WATCHLIST_CONFUSIONS) {
    this.others = confusionTable(classes);
    this.classes = classes;
    for (const cls of classes) for (const c of cls) this.rep.set(c, cls[0]);
  }

  /** The plate with each confusable character replaced by its class's representative: reads of one plate share it. */
  canonical(plate: string): string {
    let out = '';
    for (const c of plate) out += this.rep.get(c) ?? c;
    return out;
  }

  /**
   * Confusions between a read and a plate: the characters that differ but are
   * of one class; undefined when they differ otherwise (another length, or
   * characters OCR does not confuse).
   */
  distance(read: string, plate: string): number | undefined {
    const a = [...read], b = [...plate];
    if (a.length !== b.length) return undefined;
    let d = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === b[i]) continue;
      if ((this.rep.get(a[i]) ?? a[i]) !== (this.rep.get(b[i]) ?? b[i])) return undefined;
      d++;
    }
    return d;
  }

  /**
   * Calls `fn` with every plate that differs from `plate` in 1..`max`
   * confusable characters, nearest first; stops when `fn` returns true.
   * Returns the number of confusions of the variant that stopped it.
   */
  variants(plate: string, max: number, fn: (variant: string) => boolean): number | undefined {
    const chars = [...plate];
    const slots: number[] = [];
    for (let i = 0; i < chars.length; i++) if (this.others.has(chars[i])) slots.push(i);
    for (let k = 1; k <= Math.min(max, slots.length); k++) {
      if (this.combine(chars, slots, 0, k, fn)) return k;
    }
    return undefined;
  }

  private combine(chars: string[], slots: readonly number[], from: number, left: number, fn: (variant: string) => boolean): boolean {
    if (left === 0) return fn(chars.join(''));
    for (let s = from; s <= slots.length - left; s++) {
      const i = slots[s];
      const c = chars[i];
      for (const o of this.others.get(c)!) {
        chars[i] = o;
        const stop = this.combine(chars, slots, s + 1, left - 1, fn);
        chars[i] = c;
        if (stop) return true;
      }
    }
    return false;
  }
}
