/**
 * Plans out to the field: the message the brain sends each signal controller
 * once per step (`citybrain/intersections/{id}/plan` over MQTT, or
 * `GET /api/v1/intersections/{id}/plan`), its schema and validation, the
 * bytes its signature covers, and the PlanBoard: each intersection's latest
 * plan, and whether the brain or the controller's own local plan is in
 * charge there.
 *
 * A plan is signed by the brain (Ed25519, server/src/plans/brain-key.ts) over
 * `canonicalPlan`; a controller verifies it before it obeys (a plan from anyone
 * but the brain is refused). Pure: the signing is the server's.
 */
import { canonicalEvent, MAX_TS_MS, MIN_TS_MS, type SignalEvent, type SignalMode } from './events.js';
import { unstorable } from './text.js';

export interface Plan {
  intersection: string;
  /** per intersection, increasing: a controller refuses a seq not above the last it obeyed (a replay, a duplicate) */
  seq: number;
  /** epoch ms it was issued */
  ts: number;
  /** the roadnet phase index to show now (the brain's supervisor already inserted the yellow) */
  phase: number;
  /** seconds the controller may hold it without a newer one */
  validFor: number;
  /** who signed it (the brain key's id) */
  issuer: string;
  /** Ed25519 signature (base64) over canonicalPlan of the other fields */
  sig: string;
}

export type UnsignedPlan = Omit<Plan, 'sig'>;

const PLAN_FIELDS = ['intersection', 'seq', 'ts', 'phase', 'validFor', 'issuer', 'sig'] as const;
const MAX_VALID_FOR = 3600;

export const planSchema = {
  type: 'object',
  title: 'signal plan',
  description: 'What the brain tells one signal controller, once per brain step (a heartbeat when the phase is unchanged); signed by the brain.',
  required: [...PLAN_FIELDS],
  additionalProperties: false,
  properties: {
    intersection: { type: 'string', minLength: 1, maxLength: 128, description: 'Intersection id (the roadnet id).' },
    seq: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Increasing per intersection; a controller refuses one not above the last it obeyed.' },
    ts: { type: 'integer', minimum: MIN_TS_MS, maximum: MAX_TS_MS, description: 'When it was issued, epoch milliseconds.' },
    phase: { type: 'integer', minimum: 0, maximum: 255, description: 'The roadnet phase index to show now (yellows are already inserted).' },
    validFor: { type: 'number', exclusiveMinimum: 0, maximum: MAX_VALID_FOR, description: 'Seconds the controller may hold this plan without a newer one.' },
    issuer: { type: 'string', minLength: 1, maxLength: 128, description: 'Id of the key that signed it (GET /api/v1/brain/key).' },
    sig: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9+/]+={0,2}$', description: 'Ed25519 signature, base64, over the canonical JSON of the other fields (keys sorted).' },
  },
} as const;

/**
 * Why `x` is not a plan, naming the field (`plan.phase: must be an integer
 * 0..255 (got 1.5)`), or undefined when it is one. The checks of planSchema,
 * written out so the pure field controller needs no schema compiler.
 */
export function checkPlan(x: unknown, path = 'plan'): string | undefined {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return `${path}: must be an object (got ${x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x})`;
  const o = x as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(PLAN_FIELDS as readonly string[]).includes(k)) return `${path}.${k}: unknown field`;
  for (const k of PLAN_FIELDS) if (o[k] === undefined) return `${path}.${k}: is required`;
  const got = (v: unknown) => ` (got ${String(JSON.stringify(v)).slice(0, 40)})`;
  for (const k of ['intersection', 'issuer'] as const) {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > 128) return `${path}.${k}: must be a string of 1 to 128 characters${got(v)}`;
    const bad = unstorable(v);
    if (bad) return `${path}.${k}: ${bad}`;
  }
  const int = (k: string, lo: number, hi: number) => {
    const v = o[k];
    return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `${path}.${k}: must be an integer ${lo}..${hi}${got(v)}`;
  };
  const bad = int('seq', 0, Number.MAX_SAFE_INTEGER) ?? int('ts', MIN_TS_MS, MAX_TS_MS) ?? int('phase', 0, 255);
  if (bad) return bad;
  if (typeof o.validFor !== 'number' || !(o.validFor > 0 && o.validFor <= MAX_VALID_FOR)) return `${path}.validFor: must be seconds, more than 0 and at most ${MAX_VALID_FOR}${got(o.validFor)}`;
  if (typeof o.sig !== 'string' || o.sig.length > 256 || !/^[A-Za-z0-9+/]+={0,2}$/.test(o.sig)) return `${path}.sig: must be a base64 signature of at most 256 characters${got(o.sig)}`;
  return undefined;
}

/** The text a plan's signature covers: its fields but `sig` as JSON, keys sorted. */
export function canonicalPlan(p: UnsignedPlan | Plan): string {
  const { sig: _sig, ...rest } = p as Plan;
  return canonicalEvent(rest);
}

// ------------------------------------------------------------ the board

export interface PlanBoardOptions {
  /** the field controllers' watchdog, seconds (default 10): an intersection not confirmed for twice this long counts as local */
  watchdog?: number;
  /** epoch ms the board starts at (an intersection never confirmed counts from here); default now */
  startMs?: number;
}

/** Each intersection's latest confirmation (the signal event its controller sent): the brain's one store of them is its LaneEstimate. */
export interface Confirmations {
  confirmation(intersection: string): SignalEvent | undefined;
}

/**
 * The brain's side of the plans: each intersection's latest plan (what the
 * transports serve and publish), and from its latest confirmation (read
 * from `confirmations`, which takes the signal events) whether it runs
 * `central` (the brain's plans) or `local` (its controller said so, or has
 * not confirmed for more than 2 x watchdog). The API and the metrics read it.
 */
export class PlanBoard {
  readonly watchdog: number;
  private readonly plans = new Map<string, Plan>();
  private readonly listeners = new Set<(plan: Plan) => void>();
  private readonly startMs: number;
  private readonly known: ReadonlySet<string>;

  constructor(readonly intersections: readonly string[], private readonly confirmations: Confirmations, opts: PlanBoardOptions = {}) {
    this.watchdog = opts.watchdog ?? 10;
    if (!(this.watchdog > 0 && Number.isFinite(this.watchdog))) throw new RangeError(`plan board: watchdog must be seconds > 0, got ${opts.watchdog}`);
    this.startMs = opts.startMs ?? Date.now();
    this.known = new Set(intersections);
  }

  has(intersection: string): boolean {
    return this.known.has(intersection);
  }

  /**
   * The seq of the next plan for `intersection` issued at `tsMs`: above the
   * last, and at least the issue time in ms, so a brain restarted (its board
   * empty) still issues seqs its controllers have not seen.
   */
  nextSeq(intersection: string, tsMs: number): number {
    return Math.max((this.plans.get(intersection)?.seq ?? -1) + 1, Math.floor(tsMs));
  }

  /** Takes a signed plan as the intersection's latest and hands it to the listeners (the transports). */
  publish(plan: Plan): void {
    if (!this.known.has(plan.intersection)) throw new RangeError(`plan board: no signalised intersection "${plan.intersection}"`);
    const last = this.plans.get(plan.intersection);
    if (last && plan.seq <= last.seq) throw new RangeError(`plan board: ${plan.intersection}: seq ${plan.seq} is not above the last one, ${last.seq}`);
    this.plans.set(plan.intersection, plan);
    for (const l of this.listeners) l(plan);
  }

  /** The latest plan of an intersection, if one was issued. */
  latest(intersection: string): Plan | undefined {
    return this.plans.get(intersection);
  }

  /** Calls `listener` with every plan published from now on; returns the unsubscribe function. */
  onPlan(listener: (plan: Plan) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest confirmation of a signalised intersection. */
  confirmation(intersection: string): SignalEvent | undefined {
    return this.known.has(intersection) ? this.confirmations.confirmation(intersection) : undefined;
  }

  /**
   * Who runs `intersection` at epoch ms `nowMs`: `local` when its controller
   * last confirmed mode local, or has not confirmed for more than 2 x
   * watchdog (it may have lost the brain, or be gone); else `central`.
   */
  mode(intersection: string, nowMs: number): SignalMode {
    const c = this.confirmation(intersection);
    if (c?.mode === 'local') return 'local';
    return nowMs - (c?.ts ?? this.startMs) > 2 * this.watchdog * 1000 ? 'local' : 'central';
  }

  /** The intersections running local at `nowMs`. */
  localIntersections(nowMs: number): string[] {
    return this.intersections.filter((id) => this.mode(id, nowMs) === 'local');
  }
}

/** What signs the brain's plans, and checks that a plan is one of them (the street's controllers verify with it). */
export interface PlanSigner {
  /** a plan of `p`'s fields, issued and signed by this signer */
  sign(p: Omit<UnsignedPlan, 'issuer'>): Plan;
  /** whether `plan` is this signer's */
  verify(plan: Plan): boolean;
}

/**
 * A signer for a brain and a street in one process with no key at hand (the
 * dashboard's in-browser sandbox, tests): the signature is a random token
 * the two share, unrelated to the plan's content, so it proves nothing once
 * copied: its plans must never leave the process. The server signs with
 * its Ed25519 brain key instead.
 */
export function inProcessPlanSigner(): PlanSigner {
  const token = Array.from({ length: 4 }, () => Math.floor(Math.random() * 2 ** 32).toString(36)).join('') + '0';
  const issuer = 'in-process';
  return {
    sign: (p) => ({ intersection: p.intersection, seq: p.seq, ts: p.ts, phase: p.phase, validFor: p.validFor, issuer, sig: token }),
    verify: (plan) => plan.issuer === issuer && plan.sig === token,
  };
}
