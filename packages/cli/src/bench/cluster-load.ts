/**
 * Load generator for `citybrain bench cluster`, forked: devices posting lane
 * reports over HTTP to a cluster's gateways, as a device behind a load
 * balancer would. Each concurrency slot starts on a gateway of its own
 * (slot mod gateways); a batch the gateway does not acknowledge (connection
 * refused or reset, 5xx, 503 CB_STREAM_UNAVAILABLE) is sent again, the same
 * batch with the same ids, to the next gateway, until acknowledged: the
 * cluster must then store it exactly once.
 *
 * It runs until the parent sends `{stop: true}` (or `maxSeconds`, whichever
 * is first), finishes the batches in hand (retrying for at most `graceSeconds`)
 * and answers with what was acknowledged: every acknowledged (device, id),
 * each request's acknowledgement time and latency, and each failover.
 */
import http from 'node:http';
import { round } from '../round.js';

export interface ClusterLoadDevice {
  token: string;
  device: string;
  intersection: string;
  /** lanes into the device's intersection (the ones its token may report) */
  lanes: string[];
}

export interface ClusterLoadJob {
  urls: string[];
  devices: ClusterLoadDevice[];
  /** events per request */
  batch: number;
  /** requests in flight */
  concurrency: number;
  /** offered events/s over all slots; undefined: as fast as acknowledged (closed loop) */
  rate?: number;
  /** event ids are `${tag}-${seq}`: a run's events are told apart in the store by it */
  tag: string;
  /** hard bound on the run, whatever the parent says */
  maxSeconds: number;
  /** seconds a batch in hand at stop may still be retried */
  graceSeconds: number;
  /** ms between progress messages listing what was acknowledged since the last one; 0: none */
  progressMs: number;
}

/** Acknowledged events of one request: device index, ids `${tag}-${from}` .. `${tag}-${to - 1}`. */
export type AckedRange = [device: number, from: number, to: number];

export interface ClusterLoadResult {
  /** every acknowledged request: its events */
  acked: AckedRange[];
  /** per acknowledged request, epoch ms of the acknowledgement */
  ackAt: number[];
  /** per acknowledged request, ms from the first send to the acknowledgement (failovers included) */
  latencyMs: number[];
  /** events the gateways said JetStream already held (a retried batch within the duplicate window) */
  streamDuplicates: number;
  /** requests answered other than 200 or 429, or failed on the connection */
  failures: number;
  firstFailure?: string;
  throttled: number;
  /** batches not acknowledged by any gateway within the grace: their events may or may not be stored */
  givenUp: AckedRange[];
  /** a batch a gateway failed: when it failed first, and when another acknowledged it */
  failovers: { failedAt: number; ackedAt: number }[];
}

const LANES_REPORT_S = 5;

function post(agent: http.Agent, url: URL, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: '/api/v1/events', method: 'POST', timeout: 15_000,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function runClusterLoad(job: ClusterLoadJob, stopped: Promise<void>, progress?: (acked: AckedRange[]) => void): Promise<ClusterLoadResult> {
  if (job.urls.length === 0 || job.devices.length === 0) throw new Error('cluster load: no gateway or no device');
  const urls = job.urls.map((u) => new URL(u));
  // one agent per gateway, so a dead gateway's sockets do not hold the others' slots
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: job.concurrency }));
  const r: ClusterLoadResult = { acked: [], ackAt: [], latencyMs: [], streamDuplicates: 0, failures: 0, throttled: 0, givenUp: [], failovers: [] };
  let stop = false;
  const hardEnd = Date.now() + job.maxSeconds * 1000;
  void stopped.then(() => (stop = true));
  const hard = setTimeout(() => (stop = true), job.maxSeconds * 1000);
  let stopAt = Infinity;
  void stopped.then(() => (stopAt = Date.now()));
  let seq = 0;
  let nextDevice = 0;
  let sinceProgress: AckedRange[] = [];
  const timer = job.progressMs > 0 && progress ? setInterval(() => {
    if (sinceProgress.length > 0) progress(sinceProgress);
    sinceProgress = [];
  }, job.progressMs) : undefined;
  // pacing: each slot sends a batch every `gap` ms when a rate is given
  const gapMs = job.rate ? (job.concurrency * job.batch * 1000) / job.rate : 0;

  const slot = async (k: number) => {
    let gw = k % urls.length;
    // slots start spread over the pacing period
    if (gapMs > 0) await new Promise((ok) => setTimeout(ok, (k * gapMs) / job.concurrency));
    while (!stop) {
      const sentAt = Date.now();
      const di = nextDevice++ % job.devices.length;
      const d = job.devices[di];
      const from = seq;
      seq += job.batch;
      const events = new Array(job.batch);
      for (let i = 0; i < job.batch; i++) {
        const s = from + i;
        const count = (s * 7919) % 9;
        const occupancy = Math.min(1, count * 0.045 + ((s * 31) % 10) / 200);
        events[i] = {
          id: `${job.tag}-${s}`, device: d.device, ts: sentAt, kind: 'lane', intersection: d.intersection, lane: d.lanes[s % d.lanes.length],
          count, occupancy: round(occupancy, 3), speed: count === 0 ? 0 : round(13.9 - occupancy * 10, 1), interval: LANES_REPORT_S,
        };
      }
      const body = JSON.stringify({ events });
      let failedAt: number | undefined;
      for (;;) {
        let res: { status: number; text: string } | undefined;
        try {
          res = await post(agents[gw], urls[gw], d.token, body);
        } catch (e) {
          r.failures++;
          r.firstFailure ??= `${urls[gw].host}: ${(e as Error).message}`;
        }
        if (res?.status === 200) {
          const now = Date.now();
          const range: AckedRange = [di, from, from + job.batch];
          r.acked.push(range);
          sinceProgress.push(range);
          r.ackAt.push(now);
          r.latencyMs.push(now - sentAt);
          r.streamDuplicates += (JSON.parse(res.text) as { duplicates?: number }).duplicates ?? 0;
          if (failedAt !== undefined) r.failovers.push({ failedAt, ackedAt: now });
          break;
        }
        if (res?.status === 429) {
          r.throttled++;
          await new Promise((ok) => setTimeout(ok, 50));
        } else {
          if (res) {
            r.failures++;
            r.firstFailure ??= `${urls[gw].host}: HTTP ${res.status} ${res.text.slice(0, 200)}`;
          }
          failedAt ??= Date.now();
          // the same batch to the next gateway (a device behind a load balancer is sent elsewhere)
          gw = (gw + 1) % urls.length;
          await new Promise((ok) => setTimeout(ok, 20));
        }
        if (Date.now() > Math.min(hardEnd, stopAt) + job.graceSeconds * 1000) {
          r.givenUp.push([di, from, from + job.batch]);
          break;
        }
      }
      if (gapMs > 0) {
        const wait = sentAt + gapMs - Date.now();
        if (wait > 0) await new Promise((ok) => setTimeout(ok, wait));
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, (_, k) => slot(k)));
  clearTimeout(hard);
  if (timer) clearInterval(timer);
  if (sinceProgress.length > 0) progress?.(sinceProgress);
  for (const a of agents) a.destroy();
  return r;
}

export type ClusterLoadMessage =
  | { type: 'progress'; acked: AckedRange[] }
  | { type: 'done'; res: ClusterLoadResult }
  | { type: 'error'; error: string };

// forked: take one job, report progress, stop when told, answer, exit
if (process.send) {
  let stopNow: () => void = () => {};
  const stopped = new Promise<void>((ok) => (stopNow = ok));
  process.on('message', (m: { job?: ClusterLoadJob; stop?: true }) => {
    if (m.stop) return stopNow();
    if (!m.job) return;
    runClusterLoad(m.job, stopped, (acked) => process.send!({ type: 'progress', acked } satisfies ClusterLoadMessage)).then(
      (res) => process.send!({ type: 'done', res } satisfies ClusterLoadMessage, () => process.exit(0)),
      (e: unknown) => process.send!({ type: 'error', error: String((e as Error)?.stack ?? e) } satisfies ClusterLoadMessage, () => process.exit(1)),
    );
  });
  // the parent gone: stop at once
  process.on('disconnect', () => process.exit(1));
}
