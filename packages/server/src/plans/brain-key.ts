/**
 * The brain's signing key: every plan the brain sends a field signal
 * controller is signed with it (Ed25519 over `canonicalPlan`), and a
 * controller obeys only plans that verify against its public key, so a plan
 * from anyone but the brain is refused. The key pair is made on first start
 * and kept beside the data: with SQLite in a file next to the database
 * (`<db>.brain-key.pem`, mode 0600), with PostgreSQL in its state table
 * (created with an audit entry), or in a file of the operator's choice
 * (`keyFile`). The public key is served at `GET /api/v1/brain/key` and
 * printed by `citybrain token brain-key`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { canonicalPlan, type Plan, type PlanSigner, type UnsignedPlan } from '@citybrain/brain';
import { SqliteStore } from '../store/sqlite.js';
import type { EventStore } from '../store/store.js';

/** The brain key cannot be read or kept (a broken or unwritable key file): a problem of the data or of --brain-key, not a bug. */
export class BrainKeyError extends Error {
  override readonly name = 'BrainKeyError';
}

/** The state row holding the key when no file does (PostgreSQL). */
export const BRAIN_KEY_STATE = 'brain-key';

export class BrainKey implements PlanSigner {
  /** the key's id, a plan's `issuer`: `brain-` and the first 16 hex digits of the sha256 of its public key (DER) */
  readonly issuer: string;
  readonly publicKey: KeyObject;

  /** whether a plan verifies against this key's public half (what a field controller checks) */
  readonly verify: (plan: Plan) => boolean;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new RangeError(`brain key: must be an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? privateKey.type}`);
    this.publicKey = createPublicKey(privateKey);
    this.issuer = keyIssuer(this.publicKey);
    this.verify = planVerifier(this.publicKey);
  }

  static generate(): BrainKey {
    return new BrainKey(generateKeyPairSync('ed25519').privateKey);
  }

  /** From a PKCS#8 PEM private key. */
  static fromPem(pem: string): BrainKey {
    return new BrainKey(createPrivateKey(pem));
  }

  /** The private key as PKCS#8 PEM (for keeping it; never log it). */
  privatePem(): string {
    return this.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** The public key as SPKI PEM: what field controllers verify with. */
  publicPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** A plan for `p`'s fields, issued and signed by this key (`issuer` is set to the key's id). */
  sign(p: Omit<UnsignedPlan, 'issuer'>): Plan {
    const unsigned: UnsignedPlan = { intersection: p.intersection, seq: p.seq, ts: p.ts, phase: p.phase, validFor: p.validFor, issuer: this.issuer };
    return { ...unsigned, sig: sign(null, Buffer.from(canonicalPlan(unsigned)), this.privateKey).toString('base64') };
  }
}

/** A key's id (the issuer its plans carry). */
function keyIssuer(publicKey: KeyObject): string {
  return `brain-${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)}`;
}

/**
 * A field controller's `verify` for the brain's public key (SPKI PEM, as
 * `GET /api/v1/brain/key` serves it): true only for a plan whose signature
 * verifies against it. Never throws.
 */
export function planVerifier(publicKeyPem: string | KeyObject): (plan: Plan) => boolean {
  const key = typeof publicKeyPem === 'string' ? createPublicKey(publicKeyPem) : publicKeyPem;
  if (key.asymmetricKeyType !== 'ed25519') throw new RangeError(`brain public key: must be an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  return (plan) => {
    // the issuer is signed too: a plan of another key (whatever issuer it claims) does not verify
    try {
      return verify(null, Buffer.from(canonicalPlan(plan)), key, Buffer.from(plan.sig, 'base64'));
    } catch {
      return false;
    }
  };
}

export interface LoadBrainKeyOptions {
  /** keep the key in this PEM file (made on first start) instead of beside the data */
  keyFile?: string;
}

/** Where the key file of `store` is by default: beside a SQLite database; undefined for PostgreSQL (its state table). */
export function defaultBrainKeyFile(store: EventStore): string | undefined {
  return store instanceof SqliteStore ? `${store.path}.brain-key.pem` : undefined;
}

/** The brain's key of this data, made (and kept) on first start. */
export async function loadBrainKey(store: EventStore, opts: LoadBrainKeyOptions = {}): Promise<BrainKey> {
  const file = opts.keyFile ?? defaultBrainKeyFile(store);
  if (file !== undefined) return loadBrainKeyFile(file);
  const stored = (await store.readState(BRAIN_KEY_STATE)).get(BRAIN_KEY_STATE) as { pem?: unknown } | undefined;
  if (stored !== undefined) return fromPemWhere(String(stored.pem), `the store's state row "${BRAIN_KEY_STATE}"`);
  const key = BrainKey.generate();
  await store.recordAction(
    { actor: 'citybrain server', role: 'system', action: 'create-brain-key', target: BRAIN_KEY_STATE, before: null, after: { issuer: key.issuer, publicKey: key.publicPem() } },
    { t: 'state', set: { [BRAIN_KEY_STATE]: { pem: key.privatePem() } } },
  );
  // two servers sharing the database may have raced: the row written last is the key of both
  const kept = (await store.readState(BRAIN_KEY_STATE)).get(BRAIN_KEY_STATE) as { pem?: unknown } | undefined;
  return kept === undefined ? key : fromPemWhere(String(kept.pem), `the store's state row "${BRAIN_KEY_STATE}"`);
}

/**
 * The brain key kept in PEM file `file`, made there on first start (a
 * cluster's brain workers and API servers share one file, so the field
 * controllers verify every worker's plans with one public key).
 */
export function loadBrainKeyFile(file: string): BrainKey {
  if (existsSync(file)) return fromPemWhere(readFileSync(file, 'utf8'), file);
  const key = BrainKey.generate();
  // wx: two servers (or workers) starting on the same data at once do not overwrite each other's key
  try {
    writeFileSync(file, key.privatePem(), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return fromPemWhere(readFileSync(file, 'utf8'), file);
    throw new BrainKeyError(`cannot keep the brain key in ${file}: ${(e as Error).message}`);
  }
  return key;
}

function fromPemWhere(pem: string, where: string): BrainKey {
  try {
    return BrainKey.fromPem(pem);
  } catch (e) {
    throw new BrainKeyError(`brain key in ${where}: ${(e as Error).message} (it must be an Ed25519 private key in PKCS#8 PEM; remove it to have a new one made, and give field controllers the new public key)`);
  }
}
