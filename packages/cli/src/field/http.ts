/**
 * The field process over HTTP, as INGESTION.md says a device reports: one
 * POST /api/v1/events per batch under the device's own Bearer token, and each
 * signal controller long-polling its intersection's plan
 * (GET /api/v1/intersections/{id}/plan?after=<seq>) with its own token.
 * Events go by Node's fetch; each long poll on a connection of its own (see longGet).
 */
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { Event } from '@citybrain/brain';
import { BatchRefused, RetryLater, type FieldTransport } from './loop.js';

export interface HttpTransportOptions {
  /** the server's base URL, e.g. http://127.0.0.1:8080 */
  server: string;
  /** device id -> its device token */
  tokens: Readonly<Record<string, string>>;
  /** the signal controllers: their device (whose token reads the plans) and intersection */
  signals: readonly { device: string; intersection: string }[];
  /** a request without an answer for this long is retried, ms; default 30000 (a plan poll waits 25 s more) */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** The seconds of a Retry-After header, in ms (a date too); undefined when there is none. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** An error body's one-line message: `409 CB_ID_CONFLICT: events[1].id: ...`. */
async function problem(res: Response): Promise<string> {
  return problemText(res.status, await res.text().catch(() => ''));
}

function problemText(status: number, text: string): string {
  try {
    const b = JSON.parse(text) as { code?: string; message?: string };
    return `${status} ${b.code ?? ''}: ${b.message ?? text}`.replace(' :', ':');
  } catch {
    return `${status}: ${text.slice(0, 200)}`;
  }
}

/** Why fetch failed, in one line (undici hides the socket error in `cause`). */
export function fetchFailure(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'no answer in time';
  return err.cause?.message ?? err.cause?.code ?? err.message;
}

export class HttpTransport implements FieldTransport {
  readonly name: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private closed = false;
  /** what close() ends: requests in flight, pauses (a set, not listeners on one signal: there are many at once) */
  private readonly enders = new Set<() => void>();
  private readonly polls: Promise<void>[] = [];

  constructor(private readonly opts: HttpTransportOptions) {
    this.base = opts.server.replace(/\/+$/, '');
    this.name = `HTTP ${this.base}`;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private token(device: string): string {
    const t = this.opts.tokens[device];
    if (t === undefined) throw new BatchRefused(`no token for device "${device}"`);
    return t;
  }

  async send(device: string, events: readonly Event[]): Promise<void> {
    const token = this.token(device);
    const ac = new AbortController();
    const end = () => ac.abort(new Error('closed'));
    const timer = setTimeout(() => ac.abort(Object.assign(new Error('no answer in time'), { name: 'TimeoutError' })), this.timeoutMs);
    this.enders.add(end);
    let res: Response;
    let why: string;
    try {
      try {
        res = await fetch(`${this.base}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events }),
          signal: ac.signal,
        });
        if (res.ok) {
          await res.arrayBuffer();
          return;
        }
        why = await problem(res);
      } catch (e) {
        throw new RetryLater(`${this.base} unreachable: ${fetchFailure(e)}`);
      }
    } finally {
      clearTimeout(timer);
      this.enders.delete(end);
    }
    // the server's queue, rate limit or store: the same batch again later (stored events come back as duplicates)
    if (res.status === 429 || res.status === 408 || res.status >= 500) throw new RetryLater(why, retryAfterMs(res.headers.get('retry-after')));
    throw new BatchRefused(why);
  }

  /** Each signal controller long-polls its plan, polling again at once with the seq it got. */
  startPlans(onPlan: (plan: unknown) => void): void {
    for (const s of this.opts.signals) this.polls.push(this.poll(s.device, s.intersection, onPlan));
  }

  private async poll(device: string, intersection: string, onPlan: (plan: unknown) => void): Promise<void> {
    const url = `${this.base}/api/v1/intersections/${encodeURIComponent(intersection)}/plan`;
    let after = 0;
    let failing = 0;
    while (!this.closed) {
      let res: { status: number; body: string; retryAfter: string | null };
      try {
        res = await this.longGet(`${url}?after=${after}`, this.token(device));
      } catch (e) {
        if (this.closed) return;
        if (failing++ === 0) this.opts.log?.(`field: ${device}: cannot read the plans of ${intersection}: ${fetchFailure(e)}; trying again`);
        await this.pause(Math.min(5000, 200 * 2 ** failing));
        continue;
      }
      if (res.status === 200) {
        let plan: unknown;
        try {
          plan = JSON.parse(res.body);
        } catch {
          plan = res.body;
        }
        failing = 0;
        // the controller judges it; only a higher seq moves the poll on
        const seq = (plan as { seq?: unknown } | null)?.seq;
        if (typeof seq === 'number' && seq > after) after = seq;
        onPlan(plan);
        continue;
      }
      if (res.status === 204) {
        failing = 0;
        continue;
      }
      const why = problemText(res.status, res.body);
      if (failing++ === 0) this.opts.log?.(`field: ${device}: reading the plans of ${intersection} failed: ${why}; trying again`);
      await this.pause(retryAfterMs(res.retryAfter) ?? Math.min(5000, 200 * 2 ** failing));
    }
  }

  /**
   * One long poll, on a connection of its own (node:http, not fetch): closing
   * the transport destroys it, so the server sees the controller gone (an
   * aborted fetch leaves its keep-alive socket behind, and a server closing
   * later waits out its keep-alive timeout for it).
   */
  private longGet(url: string, token: string): Promise<{ status: number; body: string; retryAfter: string | null }> {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    return new Promise((resolve, reject) => {
      const req = get(url, { headers: { authorization: `Bearer ${token}` }, agent: false, timeout: this.timeoutMs + 25_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: typeof h === 'string' ? h : null });
        });
        res.on('error', reject);
      });
      const abort = () => req.destroy(new Error('closed'));
      this.enders.add(abort);
      req.on('close', () => this.enders.delete(abort));
      req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { name: 'TimeoutError' })));
      req.on('error', reject);
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.enders.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.enders.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const end of [...this.enders]) end();
    await Promise.all(this.polls);
  }
}

/**
 * The brain's public key (PEM), fetched once from GET /api/v1/brain/key with
 * a device token. An unreachable server or a refused token is an Error
 * naming the URL and the reason.
 */
export async function fetchBrainKey(server: string, token: string): Promise<string> {
  const url = `${server.replace(/\/+$/, '')}/api/v1/brain/key`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new Error(`cannot reach ${url}: ${fetchFailure(e)}`);
  }
  if (!res.ok) throw new Error(`${url} answered ${await problem(res)}`);
  return res.text();
}
