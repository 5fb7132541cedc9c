/**
 * Characters plate recognition confuses with one another (each string one
 * class): a read may differ from the plate in one of them. Chinese plates use
 * neither I nor O, but a misread can produce them.
 */
export const OCR_CONFUSIONS: readonly string[] = ['0ODQ', '1I7', '2Z', '5S', '8B', '6G'];

/** A character -> the characters it may be misread as, from confusion classes. */
export function confusionTable(classes: readonly string[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const cls of classes) {
    const chars = [...cls];
    if (chars.length < 2 || new Set(chars).size !== chars.length) throw new RangeError(`plate confusions: "${cls}" must hold two or more different characters`);
    for (const c of chars) {
      if (table.has(c)) throw new RangeError(`plate confusions: "${c}" is in two classes`);
      table.set(c, chars.filter((o) => o !== c).join(''));
    }
  }
  return table;
}

/** Calls `fn` with every plate differing from `plate` in exactly one confusable character. */
export function forEachConfusable(plate: string, table: ReadonlyMap<string, string>, fn: (variant: string) => void): void {
  const chars = [...plate];
  for (let i = 0; i < chars.length; i++) {
    const alts = table.get(chars[i]);
    if (alts === undefined) continue;
    const c = chars[i];
    for (const a of alts) {
      chars[i] = a;
      fn(chars.join(''));
    }
    chars[i] = c;
  }
}
