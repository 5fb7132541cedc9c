/**
 * Load generator for `citybrain bench ingest`, run in its own process (forked)
 * so that generating and sending load does not share an event loop with the
 * server. It receives one job over IPC, runs it, and replies with the result.
 *
 * Traffic: lane-detector events (what signal control consumes), each request
 * one device's batch, HTTP/1.1 keep-alive on loopback.
 */
import http from 'node:http';
import { round } from '../round.js';

export interface LoadDevice {
  token: string;
  device: string;
  intersection: string;
}

export type LoadJob =
  | { mode: 'closed'; url: string; devices: LoadDevice[]; batch: number; concurrency: number; warmupSeconds: number; seconds: number; tag: string }
  | { mode: 'open'; url: string; devices: LoadDevice[]; batch: number; rate: number; warmupSeconds: number; seconds: number; tag: string };

export interface LoadResult {
  /** events acknowledged (200) within the measured window */
  events: number;
  /** events acknowledged over the whole run, warm-up included (for the stored-count check) */
  totalAcked: number;
  seconds: number;
  requests: number;
  /** 429 answers (the request was then retried) */
  throttled: number;
  /** failed requests (network errors or statuses other than 200/429) */
  errors: number;
  firstError?: string;
  /** open loop: acknowledgement latencies (ms) from the scheduled send time, measured window only */
  latenciesMs?: number[];
}

const LANES = ['N_0', 'N_1', 'N_2', 'E_0', 'E_1', 'E_2', 'S_0', 'S_1', 'S_2', 'W_0', 'W_1', 'W_2'];

/** A device's buffered 5-second lane reports: counts, occupancy and speed that go together. */
function laneEvents(d: LoadDevice, n: number, seq: { v: number }, tag: string): string {
  const now = Date.now();
  const events = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = seq.v++;
    const count = (s * 7919) % 9;
    const occupancy = Math.min(1, count * 0.045 + ((s * 31) % 10) / 200);
    events[i] = {
      // 12 lanes report every 5 s: the batch's last 12 events are the latest interval, and so on back
      id: `${tag}-${s}`, device: d.device, ts: now - Math.floor((n - 1 - i) / 12) * 5000, kind: 'lane', intersection: d.intersection,
      lane: `${d.intersection}_${LANES[s % LANES.length]}`, count, occupancy: round(occupancy, 3),
      speed: count === 0 ? 0 : round(13.9 - occupancy * 10, 1), interval: 5,
    };
  }
  return JSON.stringify({ events });
}

function post(agent: http.Agent, url: URL, token: string, body: string): Promise<{ status: number; retryAfter: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: '/api/v1/events', method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after'] ?? 0), text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const url = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.mode === 'closed' ? job.concurrency : 512 });
  const seq = { v: 0 };
  const r: LoadResult = { events: 0, totalAcked: 0, seconds: job.seconds, requests: 0, throttled: 0, errors: 0 };
  const t0 = performance.now();
  const measureFrom = t0 + job.warmupSeconds * 1000;
  const end = measureFrom + job.seconds * 1000;
  let next = 0;
  const pick = () => job.devices[next++ % job.devices.length];

  /** Sends one batch until it is acknowledged (429: wait and resend the same batch). */
  const deliver = async (d: LoadDevice, body: string): Promise<boolean> => {
    for (;;) {
      r.requests++;
      try {
        const res = await post(agent, url, d.token, body);
        if (res.status === 200) return true;
        if (res.status === 429) {
          r.throttled++;
          await new Promise((ok) => setTimeout(ok, Math.max(10, Math.min(1000, res.retryAfter * 1000 / 20))));
          continue;
        }
        r.errors++;
        r.firstError ??= `HTTP ${res.status}: ${res.text.slice(0, 200)}`;
        return false;
      } catch (e) {
        r.errors++;
        r.firstError ??= (e as Error).message;
        return false;
      }
    }
  };

  if (job.mode === 'closed') {
    const worker = async () => {
      while (performance.now() < end) {
        const d = pick();
        const ok = await deliver(d, laneEvents(d, job.batch, seq, `${job.tag}-${d.device}`));
        if (!ok) continue;
        r.totalAcked += job.batch;
        if (performance.now() >= measureFrom && performance.now() <= end) r.events += job.batch;
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, worker));
  } else {
    // open loop: sends are scheduled at fixed times whatever the answers, and latency
    // counts from the scheduled time, so a slow server cannot hide its queueing
    const intervalMs = (job.batch / job.rate) * 1000;
    const total = Math.floor((end - t0) / intervalMs);
    const latencies: number[] = [];
    const inflight: Promise<void>[] = [];
    let k = 0;
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now();
        while (k < total && t0 + k * intervalMs <= now) {
          const scheduled = t0 + k * intervalMs;
          const d = pick();
          const body = laneEvents(d, job.batch, seq, `${job.tag}-${d.device}`);
          k++;
          inflight.push(deliver(d, body).then((ok) => {
            if (!ok) return;
            r.totalAcked += job.batch;
            if (scheduled >= measureFrom) {
              r.events += job.batch;
              latencies.push(performance.now() - scheduled);
            }
          }));
        }
        if (k < total) setTimeout(tick, Math.max(0, Math.min(5, t0 + k * intervalMs - performance.now())));
        else done();
      };
      tick();
    });
    await Promise.all(inflight);
    r.latenciesMs = latencies;
  }
  agent.destroy();
  return r;
}

// forked: take one job, answer, exit
if (process.send) {
  process.once('message', (job: LoadJob) => {
    runLoad(job).then(
      (res) => process.send!({ ok: true, res }, () => process.exit(0)),
      (e: unknown) => process.send!({ ok: false, error: String((e as Error)?.stack ?? e) }, () => process.exit(1)),
    );
  });
}
