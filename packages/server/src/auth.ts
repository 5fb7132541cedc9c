/**
 * Tokens and roles.
 *
 * A token is an opaque random string (`cbt_` + 43 base64url characters) sent
 * as `Authorization: Bearer <token>`. Only its sha256 is stored, in the
 * store's `tokens` table, so a leaked database does not leak credentials; the
 * public token id (`tok_` + the first 12 hex digits of the hash) is what the
 * audit log records. Roles:
 * - viewer: reads state and history;
 * - operator: viewer + control actions (audited);
 * - app: a third-party application, read access through the public API;
 * - device: publishes events, only as its own device id and only for the
 *   intersections and parking bays listed in its token, and positions (AVL)
 *   only of the vehicles listed in it;
 * - analyst: a department's data user: the city data hub only (its datasets, queries).
 * A token other than a device's may belong to a department (`organisation`,
 * one the hub registered): the hub grants datasets to departments.
 * Lookups are cached for `cacheMs` (default 5 s), which bounds how long a
 * revocation made by another server instance takes to apply.
 *
 * Browsers cannot set headers on a WebSocket, and a token in a URL ends up in
 * logs and histories: the live stream takes a stream ticket instead, issued
 * to a bearer token by `POST /api/v1/live/ticket`, single use, valid
 * TICKET_TTL_MS, and bound to the token (revoking the token voids it).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEVICE_ID, eventBay, eventIntersection, eventVehicle, type Event } from '@citybrain/brain';
import { ROLES, type AuditInput, type EventStore, type Role, type TokenRecord } from './store/store.js';
import { unstorable } from '@citybrain/brain';
import { HttpError } from './errors.js';

export { ROLES, type Role, type TokenRecord } from './store/store.js';

/** The roles that read the city's state and history (devices only publish; the police's control room sees the city as viewers do, and the watchlist besides). */
export const READ_ROLES: readonly Role[] = ['viewer', 'operator', 'app', 'police'];

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  device?: string;
  /** the department the token belongs to (the hub's grants name departments) */
  organisation?: string;
  intersections: ReadonlySet<string>;
  bays: ReadonlySet<string>;
  /** vehicles whose positions (AVL events) it may publish */
  vehicles: ReadonlySet<string>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** set by Auth.requireRole once the bearer token is verified */
    principal?: Principal;
  }
}

export interface TokenSpec {
  name: string;
  role: Role;
  /** device role: the device id the token speaks for */
  device?: string;
  intersections?: string[];
  bays?: string[];
  /** device role: the vehicles whose positions it publishes (an AVL unit: its vehicle) */
  vehicles?: string[];
  /** the department the token belongs to (not device tokens) */
  organisation?: string;
  /** a secret chosen by the administrator (CITYBRAIN_TOKENS); default: random */
  token?: string;
}

export interface AuthOptions {
  /** per-token request rate limit (token bucket); false disables it */
  rateLimit?: { perSecond: number; burst: number } | false;
  /** how long a token lookup is cached, ms; default 5000 */
  cacheMs?: number;
}

/** Thrown for a bad CITYBRAIN_TOKENS: the message names the entry and field. */
export class TokenConfigError extends Error {
  override readonly name = 'TokenConfigError';
}

export const DEFAULT_RATE_LIMIT = { perSecond: 200, burst: 400 };
/** How long a live-stream ticket may wait to be used, ms. */
export const TICKET_TTL_MS = 30_000;
const MAX_CACHE = 10000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function tokenIdOf(hash: string): string {
  return `tok_${hash.slice(0, 12)}`;
}

export class Auth {
  private readonly cache = new Map<string, { p: Principal | undefined; until: number }>();
  /** the token hash each principal was authenticated from (for rechecks and tickets; not on the principal, which routes see) */
  private readonly hashes = new WeakMap<Principal, string>();
  /** unused stream tickets: ticket → the token hash it stands for, and until when */
  private readonly tickets = new Map<string, { hash: string; until: number }>();
  /** revocations one at a time, so two of them cannot both pass the last-operator check */
  private revoking: Promise<unknown> = Promise.resolve();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly rate: { perSecond: number; burst: number } | false;
  private readonly cacheMs: number;
  private readonly revokeListeners = new Set<(token: TokenRecord) => void>();

  constructor(readonly store: EventStore, opts: AuthOptions = {}) {
    this.rate = opts.rateLimit === undefined ? DEFAULT_RATE_LIMIT : opts.rateLimit;
    this.cacheMs = opts.cacheMs ?? 5000;
  }

  /**
   * Issues a token; the secret is returned once and only its hash is kept.
   * With `audit`, the token and its audit entry are stored in one transaction.
   */
  async createToken(spec: TokenSpec, audit?: (record: TokenRecord) => AuditInput): Promise<{ token: string; record: TokenRecord }> {
    const problem = checkSpec(spec);
    if (problem) throw new RangeError(`token "${spec.name}": ${problem}`);
    const token = spec.token ?? `cbt_${randomBytes(32).toString('base64url')}`;
    const hash = hashToken(token);
    const record: TokenRecord = {
      id: tokenIdOf(hash), hash, name: spec.name, role: spec.role,
      intersections: [...(spec.intersections ?? [])], bays: [...(spec.bays ?? [])], vehicles: [...(spec.vehicles ?? [])], createdAt: Date.now(),
    };
    if (spec.device !== undefined) record.device = spec.device;
    if (spec.organisation !== undefined) record.organisation = spec.organisation;
    if (audit) await this.store.recordAction(audit(record), { t: 'token', rec: record });
    else await this.store.putToken(record);
    this.cache.delete(hash);
    return { token, record };
  }

  /**
   * Revokes a token: false when there is no such active token. Refuses (409)
   * to revoke the last active operator token, which would leave nobody able to
   * issue tokens or control the city (recovery: `citybrain token create`).
   * With `audit`, the revocation and its audit entry are stored in one
   * transaction (nothing when no such token).
   */
  async revoke(tokenId: string, audit?: AuditInput): Promise<boolean> {
    const run = this.revoking.then(async () => {
      const tokens = await this.store.listTokens();
      const target = tokens.find((t) => t.id === tokenId && t.revokedAt === undefined);
      if (target?.role === 'operator' && !tokens.some((t) => t !== target && t.role === 'operator' && t.revokedAt === undefined)) {
        throw new HttpError('CB_LAST_OPERATOR', `token ${tokenId} is the last active operator token: issue another operator token before revoking it, or nobody could manage tokens or control the city`);
      }
      const at = Date.now();
      const ok = audit ? (await this.store.recordAction(audit, { t: 'revoke', id: tokenId, at })) !== undefined : await this.store.revokeToken(tokenId, at);
      return { ok, target };
    });
    this.revoking = run.catch(() => undefined);
    const { ok, target } = await run;
    for (const [h, c] of this.cache) if (c.p?.tokenId === tokenId) this.cache.delete(h);
    if (ok && target) for (const fn of this.revokeListeners) fn(target);
    return ok;
  }

  /** Told of each token this instance revokes, with its record (e.g. to drop what a revoked device reported); returns an unsubscribe function. */
  onRevoke(listener: (token: TokenRecord) => void): () => void {
    this.revokeListeners.add(listener);
    return () => this.revokeListeners.delete(listener);
  }

  /** The principal a token stands for, or undefined when unknown or revoked. */
  authenticate(token: string): Promise<Principal | undefined> {
    return this.byHash(hashToken(token));
  }

  private async byHash(hash: string): Promise<Principal | undefined> {
    const now = Date.now();
    const c = this.cache.get(hash);
    if (c && c.until > now) return c.p;
    const rec = await this.store.findToken(hash);
    let p: Principal | undefined;
    if (rec && rec.revokedAt === undefined) {
      p = { tokenId: rec.id, name: rec.name, role: rec.role, intersections: new Set(rec.intersections), bays: new Set(rec.bays), vehicles: new Set(rec.vehicles) };
      if (rec.device !== undefined) p.device = rec.device;
      if (rec.organisation !== undefined) p.organisation = rec.organisation;
      this.hashes.set(p, hash);
    }
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(hash, { p, until: now + this.cacheMs });
    return p;
  }

  /** Whether the token a principal was authenticated from still holds (not revoked since). */
  async stillValid(p: Principal): Promise<boolean> {
    const hash = this.hashes.get(p);
    return hash !== undefined && (await this.byHash(hash)) !== undefined;
  }

  /** A single-use ticket that opens one live stream as `p`'s token within TICKET_TTL_MS. */
  issueTicket(p: Principal): { ticket: string; expiresAt: number } {
    const hash = this.hashes.get(p);
    if (hash === undefined) throw new Error(`principal ${p.tokenId} was not authenticated by this Auth`);
    const now = Date.now();
    for (const [t, v] of this.tickets) if (v.until <= now) this.tickets.delete(t);
    // a flood of unused tickets drops the oldest first (they are a rate-limited token's, and single use)
    while (this.tickets.size >= MAX_CACHE) this.tickets.delete(this.tickets.keys().next().value!);
    const ticket = `cbk_${randomBytes(24).toString('base64url')}`;
    const expiresAt = now + TICKET_TTL_MS;
    this.tickets.set(ticket, { hash, until: expiresAt });
    return { ticket, expiresAt };
  }

  /** 0 when the token may make a request now, else the seconds to wait. */
  takeRate(tokenId: string): number {
    if (!this.rate) return 0;
    const now = performance.now();
    let b = this.buckets.get(tokenId);
    if (!b) this.buckets.set(tokenId, (b = { tokens: this.rate.burst, at: now }));
    b.tokens = Math.min(this.rate.burst, b.tokens + ((now - b.at) / 1000) * this.rate.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate.perSecond));
  }

  /**
   * A hook (onRequest or preHandler) that lets the request through only with a
   * valid bearer token of one of `roles` within its rate limit: 401 without a
   * valid token, 429 over the limit, 403 for another role.
   */
  requireRole(...roles: Role[]): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
    return this.guard(roles, (req, reply) => this.fromHeader(req.headers.authorization, reply));
  }

  /**
   * requireRole for the live WebSocket, which browsers open without headers:
   * the bearer header, or else a `?ticket=` from issueTicket (used up here).
   * A token in the URL (`?token=`) is refused: it would be written to logs.
   */
  requireStreamRole(...roles: Role[]): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
    return this.guard(roles, (req, reply) => (req.headers.authorization ? this.fromHeader(req.headers.authorization, reply) : this.fromTicket(req.query, reply)));
  }

  private guard(roles: Role[], identify: (req: FastifyRequest, reply: FastifyReply) => Promise<Principal>): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
    return async (req, reply) => {
      const p = await identify(req, reply);
      const wait = this.takeRate(p.tokenId);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new HttpError('CB_RATE_LIMITED', `rate limit of ${this.rate && this.rate.perSecond} requests/s for token ${p.tokenId} exceeded; retry after ${wait} s`);
      }
      if (!roles.includes(p.role)) throw new HttpError('CB_FORBIDDEN', `role "${p.role}" may not do this; it needs ${roles.join(' or ')}`);
      req.principal = p;
    };
  }

  private async fromHeader(h: string | undefined, reply: FastifyReply): Promise<Principal> {
    reply.header('www-authenticate', 'Bearer realm="citybrain"');
    if (!h) throw new HttpError('CB_UNAUTHENTICATED', 'missing Authorization header: send "Authorization: Bearer <token>"');
    const token = bearerToken(h);
    if (token === undefined) throw new HttpError('CB_UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
    const p = await this.authenticate(token);
    if (!p) throw new HttpError('CB_UNAUTHENTICATED', 'unknown or revoked token');
    reply.removeHeader('www-authenticate');
    return p;
  }

  private async fromTicket(query: unknown, reply: FastifyReply): Promise<Principal> {
    reply.header('www-authenticate', 'Bearer realm="citybrain"');
    const q = (query ?? {}) as { ticket?: unknown; token?: unknown };
    if (q.token !== undefined) throw new HttpError('CB_UNAUTHENTICATED', 'a token in the URL (?token=) is not accepted, as URLs are logged: send "Authorization: Bearer <token>", or a ticket from POST /api/v1/live/ticket as ?ticket=');
    if (typeof q.ticket !== 'string') throw new HttpError('CB_UNAUTHENTICATED', 'missing credentials: send "Authorization: Bearer <token>", or a ticket from POST /api/v1/live/ticket as ?ticket=');
    const t = this.tickets.get(q.ticket);
    this.tickets.delete(q.ticket);
    if (!t || t.until <= Date.now()) throw new HttpError('CB_UNAUTHENTICATED', `unknown, used or expired ticket: tickets are single use and valid ${TICKET_TTL_MS / 1000} s; ask POST /api/v1/live/ticket for another`);
    const p = await this.byHash(t.hash);
    if (!p) throw new HttpError('CB_UNAUTHENTICATED', 'the ticket\'s token is unknown or revoked');
    reply.removeHeader('www-authenticate');
    return p;
  }
}

/** The audit entry of issuing a token, by `who` (the API's caller, or the offline `citybrain token create`): for createToken. */
export function issueTokenAudit(who: { actor: string; role: string }): (record: TokenRecord) => AuditInput {
  return (record) => ({
    ...who, action: 'issue-token', target: `token:${record.id}`, before: null,
    after: { name: record.name, role: record.role, organisation: record.organisation, device: record.device, intersections: record.intersections, bays: record.bays, vehicles: record.vehicles },
  });
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when the header is not of that form. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/**
 * Why a principal may not publish these events (naming the first offending
 * event's field), or undefined when it may: only device tokens publish, as
 * their own device, for their own intersections, bays and vehicles.
 */
export function checkDeviceScope(p: Principal, events: readonly Event[]): string | undefined {
  if (p.role !== 'device' || p.device === undefined) return `role "${p.role}" may not publish events; only device tokens do`;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.device !== p.device) return `events[${i}].device: this token publishes for device "${p.device}", not "${e.device}"`;
    const ix = eventIntersection(e);
    if (ix !== undefined && !p.intersections.has(ix)) return `events[${i}].intersection: device "${p.device}" may not publish for intersection "${ix}"`;
    const bay = eventBay(e);
    if (bay !== undefined && !p.bays.has(bay)) return `events[${i}].bay: device "${p.device}" may not publish for parking bay "${bay}"`;
    const vehicle = eventVehicle(e);
    if (vehicle !== undefined && !p.vehicles.has(vehicle)) return `events[${i}].vehicle: device "${p.device}" may not publish positions of vehicle "${vehicle}"${p.vehicles.size === 0 ? ' (its token lists no vehicles)' : ''}`;
  }
  return undefined;
}

function checkSpec(s: TokenSpec): string | undefined {
  if (typeof s.name !== 'string' || s.name.length === 0 || s.name.length > 128) return 'name must be 1 to 128 characters';
  if (!(ROLES as readonly string[]).includes(s.role)) return `role must be one of ${ROLES.join(', ')}, got "${String(s.role)}"`;
  if (s.token !== undefined && (typeof s.token !== 'string' || s.token.length < 16 || /\s/.test(s.token))) return 'token must be at least 16 characters without spaces';
  // CITYBRAIN_TOKENS is not schema-checked: "intersections": "i1" would be read as the ids "i" and "1"
  for (const k of ['intersections', 'bays', 'vehicles'] as const) if (s[k] !== undefined && !Array.isArray(s[k])) return `${k} must be an array of ids, got ${JSON.stringify(s[k])}`;
  const scoped = (s.intersections?.length ?? 0) + (s.bays?.length ?? 0) + (s.vehicles?.length ?? 0);
  if (s.role === 'device') {
    if (typeof s.device !== 'string' || !DEVICE_ID.test(s.device)) return 'a device token needs device: an id of letters, digits, . _ : - (at most 128)';
    if (scoped === 0) return 'a device token needs at least one intersection, bay or vehicle it may report on';
    if (s.organisation !== undefined) return 'a device token belongs to no department (organisation is for people\'s and applications\' tokens)';
  } else if (s.device !== undefined || scoped > 0) return `only device tokens carry a device, intersections, bays or vehicles (role is "${s.role}")`;
  if (s.organisation !== undefined && (typeof s.organisation !== 'string' || !/^[a-z][a-z0-9_]{0,62}$/.test(s.organisation))) return `organisation must be a department id (lower-case letters, digits and _), got ${JSON.stringify(s.organisation)}`;
  for (const x of [...(s.intersections ?? []), ...(s.bays ?? []), ...(s.vehicles ?? [])]) if (typeof x !== 'string' || x.length === 0 || x.length > 128) return 'intersection, bay and vehicle ids must be 1 to 128 characters';
  // what every store can keep (PostgreSQL refuses NUL and unpaired surrogates)
  const texts: [string, unknown][] = [['name', s.name], ...(['intersections', 'bays', 'vehicles'] as const).flatMap((k) => (s[k] ?? []).map((x, i): [string, unknown] => [`${k}[${i}]`, x]))];
  for (const [field, x] of texts) {
    const bad = typeof x === 'string' ? unstorable(x) : undefined;
    if (bad) return `${field} ${bad}`;
  }
  return undefined;
}

/**
 * First-start token setup. With CITYBRAIN_TOKENS set (a JSON array of
 * TokenSpec, each with its `token` secret), those tokens are installed on
 * every start (name, role and scope as given), except that a token revoked
 * through the API stays revoked: it is reported through `print`, not revived.
 * Otherwise, when the token table is empty, one operator token is created and
 * printed once through `print`: it cannot be shown again. A bad
 * CITYBRAIN_TOKENS throws a TokenConfigError naming the entry and field.
 */
export async function bootstrapTokens(
  auth: Auth, opts: { env?: string; print?: (line: string) => void } = {},
): Promise<{ created: { name: string; role: Role; token: string }[] }> {
  const env = opts.env ?? process.env.CITYBRAIN_TOKENS;
  const print = opts.print ?? ((l: string) => console.error(l));
  if (env !== undefined && env.trim() !== '') {
    let specs: unknown;
    try {
      specs = JSON.parse(env);
    } catch (e) {
      throw new TokenConfigError(`CITYBRAIN_TOKENS is not JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(specs)) throw new TokenConfigError('CITYBRAIN_TOKENS must be a JSON array of {name, role, token, device?, intersections?, bays?, vehicles?}');
    // every entry is checked before any is installed: a bad entry leaves the store as it was
    for (const [i, s] of specs.entries()) {
      if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new TokenConfigError(`CITYBRAIN_TOKENS[${i}] must be an object {name, role, token, device?, intersections?, bays?, vehicles?}, got ${JSON.stringify(s)}`);
      if (typeof s.token !== 'string') throw new TokenConfigError(`CITYBRAIN_TOKENS[${i}].token is required (the secret its clients send)`);
      const problem = checkSpec(s as TokenSpec);
      if (problem) throw new TokenConfigError(`CITYBRAIN_TOKENS[${i}]: token "${String(s.name)}": ${problem}`);
    }
    const created = [];
    for (const [i, s] of (specs as TokenSpec[]).entries()) {
      const known = await auth.store.findToken(hashToken(s.token!));
      if (known?.revokedAt !== undefined) {
        print(`citybrain: CITYBRAIN_TOKENS[${i}] ("${s.name}", ${known.id}) was revoked on ${new Date(known.revokedAt).toISOString()} and stays revoked; remove it from CITYBRAIN_TOKENS, or give it a new secret`);
        continue;
      }
      const { token, record } = await auth.createToken(s);
      created.push({ name: record.name, role: record.role, token });
    }
    return { created };
  }
  // the first start is the first with no operator token ever issued: a store provisioned with device tokens first
  // (citybrain token field) still gets one; a revoked operator token was issued (citybrain token create is the way back in)
  if ((await auth.store.listTokens()).some((t) => t.role === 'operator')) return { created: [] };
  const { token } = await auth.createToken({ name: 'admin', role: 'operator' });
  print(`citybrain: created the first operator token (shown once, store it now):\n  ${token}\nIssue more with the API or CITYBRAIN_TOKENS.`);
  return { created: [{ name: 'admin', role: 'operator', token }] };
}
