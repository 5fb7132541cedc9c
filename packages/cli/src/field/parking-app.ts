/**
 * The field process's parking app: the street's drivers who reserve ahead
 * book through the brain's HTTP API as a third-party app would, under an
 * `app` token: the nearest sites with a free bay from guidance, then a
 * reservation at the first that has one (POST /api/v1/parking/reservations
 * with an Idempotency-Key, the same key on each retry of one request).
 */
import type { ParkingApp, ParkingBooking } from '@citybrain/field';
import { fetchFailure } from './http.js';

export interface HttpParkingAppOptions {
  /** the server's base URL */
  server: string;
  /** an app token (citybrain token create --role app) */
  token: string;
  /** sites tried per booking, nearest first; default 3 */
  sites?: number;
  /** tries of one request the server could not answer now (a network error, 429, 503), same key; default 3 */
  tries?: number;
  /** a request without an answer for this long is tried again, ms; default 10000 */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** What the server answered a request: its status and body, or why nothing came. */
type Answer = { status: number; body: unknown } | { failed: string };

export class HttpParkingApp implements ParkingApp {
  private readonly base: string;
  /** keys are unique to this process's run: a restarted street's driver-1 is another request than the last run's */
  private readonly run = Date.now().toString(36);
  /** failures already logged (each kind once: a server away would fill the log) */
  private readonly said = new Set<string>();
  /** bookings made, found no site with a bay, declined by the payment, failed */
  readonly stats = { booked: 0, full: 0, declined: 0, failed: 0 };

  constructor(private readonly opts: HttpParkingAppOptions) {
    this.base = opts.server.replace(/\/+$/, '');
  }

  /**
   * Checks the token is an app's (the only role that may book): a clear error
   * at start, not a 403 per booking. Answers the sites the brain has.
   */
  async check(): Promise<number> {
    const a = await this.request('GET', '/api/v1/me');
    if ('failed' in a) throw new Error(`${this.base} unreachable: ${a.failed}`);
    if (a.status !== 200) throw new Error(`the parking app token: ${describe(a)}`);
    const role = (a.body as { role?: unknown }).role;
    if (role !== 'app') throw new Error(`the parking app token is a ${String(role)} token; reservations are booked by app tokens (citybrain token create --role app)`);
    const s = await this.request('GET', '/api/v1/parking/sites');
    if ('failed' in s || s.status !== 200) throw new Error(`parking sites: ${describe(s)}`);
    return (s.body as unknown[]).length;
  }

  async book(b: ParkingBooking): Promise<{ bay: string } | undefined> {
    try {
      const g = await this.request('GET', `/api/v1/parking/guidance?x=${b.x}&y=${b.y}&limit=${this.opts.sites ?? 3}`);
      if ('failed' in g || g.status !== 200) throw new Error(`guidance: ${describe(g)}`);
      for (const [k, site] of (g.body as { site: string }[]).entries()) {
        const r = await this.request('POST', '/api/v1/parking/reservations', { site: site.site, from: b.from, to: b.to, payer: b.driver }, `${this.run}:${b.driver}:${k}`);
        if ('failed' in r) throw new Error(`reservation: ${r.failed}`);
        if (r.status === 200 || r.status === 201) {
          this.stats.booked++;
          return { bay: (r.body as { reservation: { bay: string } }).reservation.bay };
        }
        const code = (r.body as { code?: string } | undefined)?.code;
        // taken since guidance answered: the next site
        if (code === 'CB_BAY_TAKEN') continue;
        if (code === 'CB_PAYMENT_DECLINED') {
          this.stats.declined++;
          return undefined;
        }
        throw new Error(`reservation: ${describe(r)}`);
      }
      this.stats.full++;
      return undefined;
    } catch (e) {
      this.stats.failed++;
      const why = (e as Error).message;
      const kind = why.replace(/\d+/g, 'N');
      if (!this.said.has(kind)) {
        this.said.add(kind);
        this.opts.log?.(`field: a parking booking failed: ${why}`);
      }
      throw e;
    }
  }

  /** One request, tried again (same body, same key) while the server cannot answer now. */
  private async request(method: 'GET' | 'POST', path: string, body?: unknown, key?: string): Promise<Answer> {
    const tries = this.opts.tries ?? 3;
    let last: Answer = { failed: 'not tried' };
    for (let t = 0; t < tries; t++) {
      if (t > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** t));
      try {
        const res = await fetch(this.base + path, {
          method,
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(key !== undefined ? { 'idempotency-key': key } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: kept as text for the message
        }
        last = { status: res.status, body: parsed };
        if (res.status !== 429 && res.status !== 503) return last;
      } catch (e) {
        last = { failed: fetchFailure(e) };
      }
    }
    return last;
  }
}

/** An answer in one line: `409 CB_IDEMPOTENCY_CONFLICT: ...`. */
function describe(a: Answer): string {
  if ('failed' in a) return a.failed;
  const b = a.body as { code?: string; message?: string } | string | undefined;
  return typeof b === 'object' && b !== null ? `${a.status} ${b.code ?? ''}: ${b.message ?? ''}`.replace(' :', ':') : `${a.status}: ${String(b ?? '').slice(0, 200)}`;
}
