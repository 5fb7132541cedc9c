import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { KEYED_PLATE_PREFIX, type Event, type PlateKeyer } from '@citybrain/brain';
import { SqliteStore } from '../store/sqlite.js';
import type { EventStore } from '../store/store.js';

/** State row holding the plate key when the store is PostgreSQL (as the brain's key). */
export const PLATE_KEY_STATE = 'watchlist:plate-key';

export class PlateKeyError extends Error {
  override readonly name = 'PlateKeyError';
}

/**
 * The city's key for plates' keyed hashes (HMAC-SHA256): `CITYBRAIN_PLATE_KEY`
 * or `key` (base64, at least 32 bytes) when given, else made on first start
 * and kept beside a SQLite database (`<db>.plate-key`, mode 0600) or in
 * PostgreSQL's state table. Lose it and no stored hash matches a plate again.
 */
export async function loadPlateKey(store: EventStore, key = process.env.CITYBRAIN_PLATE_KEY): Promise<Buffer> {
  if (key !== undefined) return decode(key, 'CITYBRAIN_PLATE_KEY');
  if (store instanceof SqliteStore) {
    const file = `${store.path}.plate-key`;
    if (existsSync(file)) return decode(readFileSync(file, 'utf8').trim(), file);
    const made = randomBytes(32).toString('base64');
    try {
      writeFileSync(file, made, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return decode(readFileSync(file, 'utf8').trim(), file);
      throw new PlateKeyError(`cannot keep the plate key in ${file}: ${(e as Error).message}`);
    }
    return Buffer.from(made, 'base64');
  }
  const stored = (await store.readState(PLATE_KEY_STATE)).get(PLATE_KEY_STATE) as { key?: unknown } | undefined;
  if (stored !== undefined) return decode(String(stored.key), `the store's state row "${PLATE_KEY_STATE}"`);
  await store.recordAction(
    { actor: 'citybrain server', role: 'system', action: 'create-plate-key', target: PLATE_KEY_STATE, before: null, after: null },
    { t: 'state', set: { [PLATE_KEY_STATE]: { key: randomBytes(32).toString('base64') } } },
  );
  // two servers sharing the database may have raced: the row written last is the key of both
  return decode(String(((await store.readState(PLATE_KEY_STATE)).get(PLATE_KEY_STATE) as { key: unknown }).key), `the store's state row "${PLATE_KEY_STATE}"`);
}

function decode(text: string, where: string): Buffer {
  const b = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || b.length < 32) throw new PlateKeyError(`plate key in ${where}: must be at least 32 bytes in base64 (e.g. openssl rand -base64 32)`);
  return b;
}

/** The keyed hash of a plate's text (HMAC-SHA256, base64url). */
export function plateKeyer(key: Buffer): PlateKeyer {
  return (text) => createHmac('sha256', key).update(text).digest('base64url');
}

/** Refuses a camera's plate that looks keyed (`#...`): the log would take it for a stored hash and never key it. */
export function keyedPlateCheck(e: Event, path: string): string | undefined {
  if (e.kind === 'plate' && e.plate.startsWith(KEYED_PLATE_PREFIX)) return `${path}.plate: "${KEYED_PLATE_PREFIX}" starts a keyed hash; send the plate as read`;
  return undefined;
}
