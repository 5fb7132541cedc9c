import { createHash } from 'node:crypto';

/** One request to move money. */
export interface PaymentRequest {
  /**
   * Unique per payment, stable across retries of it: a provider must answer
   * a request with a key it has seen with that first answer and move no
   * money again (Stripe's and Alipay's idempotency keys / out_trade_no do).
   */
  idempotencyKey: string;
  /** minor units, > 0 */
  amount: number;
  currency: string;
  /** the driver's account at the app (a payment token the app got from the provider) */
  payer: string;
  description: string;
}

export interface RefundRequest extends PaymentRequest {
  /** the provider's reference of the charge being refunded */
  chargeRef: string;
}

/** A provider's answer: money moved (its reference), or refused (why; nothing moved). Throw only when the outcome is unknown (network). */
export type PaymentResult = { status: 'succeeded'; ref: string } | { status: 'declined'; reason: string };

/**
 * Where parking's money goes: the built-in sandbox by default; a real
 * provider implements these two calls (README: "Plugging in a payment provider").
 */
export interface PaymentProvider {
  readonly name: string;
  charge(req: PaymentRequest): Promise<PaymentResult>;
  refund(req: RefundRequest): Promise<PaymentResult>;
}

interface LedgerEntry {
  kind: 'charge' | 'refund';
  key: string;
  amount: number;
  currency: string;
  payer: string;
  ref: string;
  /** a refund: the charge it gives back */
  chargeRef?: string;
}

/**
 * The default provider: no network, deterministic. A payer whose account
 * starts with `decline` is declined; anything else succeeds, its reference
 * derived from the idempotency key. It keeps its ledger of money moved, one
 * entry per key however often a key is sent (as a real provider does), and
 * counts the requests that would have moved money twice without that.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  readonly name = 'sandbox';
  private readonly byKey = new Map<string, { result: PaymentResult }>();
  readonly ledger: LedgerEntry[] = [];
  /** requests repeating a key already answered (answered from memory, nothing moved) */
  replays = 0;

  charge(req: PaymentRequest): Promise<PaymentResult> {
    return Promise.resolve(this.move('charge', req));
  }

  refund(req: RefundRequest): Promise<PaymentResult> {
    const seen = this.byKey.get(req.idempotencyKey);
    if (seen) {
      this.replays++;
      return Promise.resolve(seen.result);
    }
    const charged = this.ledger.find((e) => e.kind === 'charge' && e.ref === req.chargeRef);
    if (!charged) return Promise.resolve(this.remember(req, { status: 'declined', reason: `no charge ${req.chargeRef}` }));
    const refunded = this.ledger.filter((e) => e.chargeRef === req.chargeRef).reduce((a, e) => a + e.amount, 0);
    if (refunded + req.amount > charged.amount) return Promise.resolve(this.remember(req, { status: 'declined', reason: 'refund exceeds the charge' }));
    return Promise.resolve(this.move('refund', req, req.chargeRef));
  }

  /** Money moved per key more than once: 0 unless the provider were fooled. */
  doubleCharges(): number {
    const seen = new Map<string, number>();
    for (const e of this.ledger) seen.set(`${e.kind}:${e.key}`, (seen.get(`${e.kind}:${e.key}`) ?? 0) + 1);
    return [...seen.values()].filter((n) => n > 1).length;
  }

  private move(kind: 'charge' | 'refund', req: PaymentRequest, chargeRef?: string): PaymentResult {
    const seen = this.byKey.get(req.idempotencyKey);
    if (seen) {
      this.replays++;
      return seen.result;
    }
    if (!(Number.isInteger(req.amount) && req.amount > 0)) return this.remember(req, { status: 'declined', reason: `amount must be a whole number > 0, got ${req.amount}` });
    if (req.payer.startsWith('decline')) return this.remember(req, { status: 'declined', reason: 'card declined (sandbox: the payer starts with "decline")' });
    const ref = `sbx_${kind === 'charge' ? 'ch' : 're'}_${createHash('sha256').update(req.idempotencyKey).digest('hex').slice(0, 20)}`;
    this.ledger.push({ kind, key: req.idempotencyKey, amount: req.amount, currency: req.currency, payer: req.payer, ref, chargeRef });
    return this.remember(req, { status: 'succeeded', ref });
  }

  private remember(req: PaymentRequest, result: PaymentResult): PaymentResult {
    this.byKey.set(req.idempotencyKey, { result });
    return result;
  }
}
