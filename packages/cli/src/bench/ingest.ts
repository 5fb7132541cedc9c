import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Auth, buildApp, openStore, PostgresStore, type EventStore } from '@citybrain/server';
import { table } from '../table.js';
import { intOption, UsageError } from '../usage.js';
import { round } from '../round.js';
import type { LoadDevice, LoadJob, LoadResult } from './ingest-load.js';

export const benchIngestHelp = `citybrain bench ingest [--json] [options]

Drives the operations server's HTTP ingestion on loopback from a separate
load-generator process with lane-detector events from thousands of devices
(Hangzhou: about 4,500 cameras at about 2 events/s each), durability on (an
event is acknowledged once committed and fsynced). For the embedded store
(SQLite, temp file) and PostgreSQL (skipped with a note when unreachable):

  sustained   events/s acknowledged with --concurrency requests of --batch
              events in flight (closed loop), after a 1 s warm-up
  latency     p50/p99 acknowledgement latency at a fixed offered load of
              --rate events/s (open loop, --latency-batch events a request,
              latency measured from each request's scheduled send time,
              after 3 s at that load so the store is in steady state)

Targets: >= 50,000 events/s sustained with SQLite; p99 < 50 ms at 10,000 events/s.

  --seconds N         measured seconds per phase (default 10)
  --batch N           events per request, sustained phase (default 100: about
                      40 s of 12-lane reports buffered by an edge gateway)
  --concurrency N     requests in flight, sustained phase (default 32)
  --rate N            offered events/s, latency phase (default 10000)
  --latency-batch N   events per request, latency phase (default 20: a
                      12-lane detector cabinet's last two 5 s intervals)
  --devices N         device tokens, each scoped to one intersection (default 4500)
  --postgres URL      PostgreSQL to compare (default postgres://postgres@127.0.0.1:5432/test)
  --no-postgres       SQLite only
  --json              machine-readable output`;

interface BackendResult {
  store: string;
  skipped?: string;
  sustainedEventsPerSecond?: number;
  sustained?: Omit<LoadResult, 'latenciesMs'>;
  latency?: {
    offeredEventsPerSecond: number; achievedEventsPerSecond: number; batch: number; p50Ms: number; p99Ms: number; maxMs: number; errors: number; throttled: number;
    /** where a slow acknowledgement came from: the store's group commits, or the server's event loop waiting for a core */
    commitP99Ms: number; serverLoopDelayP99Ms: number; serverLoopDelayMaxMs: number;
    /** Linux PSI: % of the time some runnable task waited for a core during the phase (other work on the machine) */
    cpuPressurePercent?: number;
  };
  /** events the store holds after the run == events acknowledged: nothing acknowledged was lost */
  storedEqualsAcknowledged?: boolean;
  stored?: number;
  acknowledged?: number;
}

export async function benchIngest(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false }, seconds: { type: 'string' }, batch: { type: 'string' }, concurrency: { type: 'string' },
      rate: { type: 'string' }, 'latency-batch': { type: 'string' }, devices: { type: 'string' },
      postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' }, 'no-postgres': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchIngestHelp);
  const o = {
    seconds: intOption(values.seconds, 'seconds', 10, 1, 600),
    batch: intOption(values.batch, 'batch', 100, 1, 10000),
    concurrency: intOption(values.concurrency, 'concurrency', 32, 1, 1024),
    rate: intOption(values.rate, 'rate', 10000, 1, 1_000_000),
    latencyBatch: intOption(values['latency-batch'], 'latency-batch', 20, 1, 10000),
    devices: intOption(values.devices, 'devices', 4500, 1, 100000),
  };
  const json = values.json!;
  const say = (s: string) => void (json || console.error(s));

  // other work on the machine skews every figure here: record how busy it was
  const load1 = round(loadavg()[0], 2);
  const results: BackendResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-bench-ingest-'));
  try {
    say('SQLite (embedded, temp file) ...');
    results.push(await runBackend('sqlite', () => openStore(`sqlite:${join(dir, 'bench.db')}`), o));
    if (values['no-postgres']) results.push({ store: 'postgres', skipped: 'not run (--no-postgres)' });
    else {
      const schema = `cb_bench_${process.pid}_${Date.now()}`;
      const sep = values.postgres!.includes('?') ? '&' : '?';
      let pgStore: EventStore | undefined;
      try {
        pgStore = await openStore(`${values.postgres}${sep}schema=${schema}`);
      } catch (e) {
        results.push({ store: 'postgres', skipped: `unreachable: ${(e as Error).message}` });
      }
      if (pgStore) {
        const opened = pgStore;
        say('PostgreSQL ...');
        try {
          results.push(await runBackend('postgres', async () => opened, o, async () => {
            if (opened instanceof PostgresStore) await opened.dropSchema();
          }));
        } finally {
          await opened.close().catch(() => {});
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (json) return void console.log(JSON.stringify({ options: o, cores: cpus().length, loadAverageAtStart: load1, results }));
  console.log(`\nIngest benchmark: HTTP/1.1 keep-alive on loopback, load generator in its own process, ${o.devices} device tokens, lane events, durable acknowledgements\n`);
  console.log(table(
    ['store', 'sustained ev/s', `p50 ms @${o.rate}/s`, `p99 ms @${o.rate}/s`, 'commit p99 ms', 'loop delay p99/max ms', 'CPU wait %', 'achieved ev/s', 'errors', '429s', 'stored = acked'],
    results.map((r) => r.skipped ? [r.store, 'skipped', '', '', '', '', '', '', '', '', ''] : [
      r.store, Math.round(r.sustainedEventsPerSecond!).toLocaleString('en-US'), r.latency!.p50Ms.toFixed(1), r.latency!.p99Ms.toFixed(1),
      r.latency!.commitP99Ms.toFixed(1), `${r.latency!.serverLoopDelayP99Ms.toFixed(0)}/${r.latency!.serverLoopDelayMaxMs.toFixed(0)}`, r.latency!.cpuPressurePercent ?? 'n/a',
      Math.round(r.latency!.achievedEventsPerSecond).toLocaleString('en-US'), r.sustained!.errors + r.latency!.errors, r.sustained!.throttled + r.latency!.throttled,
      r.storedEqualsAcknowledged ? `yes (${r.stored})` : `NO (${r.stored} stored, ${r.acknowledged} acked)`,
    ]),
  ));
  for (const r of results) if (r.skipped) console.log(`\n${r.store} skipped: ${r.skipped}`);
  console.log(`\nmachine: ${cpus().length} cores, load average ${load1} at start; CPU wait %: share of the latency phase in which some task waited for a core (Linux PSI), i.e. how much other work competed`);
  console.log(`sustained: ${o.concurrency} requests of ${o.batch} events in flight, ${o.seconds} s after 1 s warm-up; latency: open loop, ${o.latencyBatch} events a request, ${o.seconds} s after 3 s warm-up, same store`);
  const sq = results.find((r) => r.store === 'sqlite');
  if (sq && !sq.skipped) {
    console.log(`targets: sustained >= 50,000 ev/s (SQLite): ${sq.sustainedEventsPerSecond! >= 50000 ? 'PASS' : 'FAIL'}; p99 < 50 ms at ${o.rate} ev/s: ${sq.latency!.p99Ms < 50 ? 'PASS' : 'FAIL'}`);
  }
}

async function runBackend(
  name: string, open: () => Promise<EventStore>, o: { seconds: number; batch: number; concurrency: number; rate: number; latencyBatch: number; devices: number },
  cleanup?: () => Promise<void>,
): Promise<BackendResult> {
  const store = await open();
  try {
    const auth = new Auth(store);
    const devices: LoadDevice[] = [];
    // 4 cameras/detector cabinets per intersection, each token scoped to its intersection
    const specs = Array.from({ length: o.devices }, (_, i) => ({ device: `cam-${i}`, intersection: `int-${Math.floor(i / 4)}` }));
    for (let i = 0; i < specs.length; i += 500) {
      const chunk = await Promise.all(specs.slice(i, i + 500).map(async (s) => {
        const { token } = await auth.createToken({ name: s.device, role: 'device', device: s.device, intersections: [s.intersection] });
        return { token, ...s };
      }));
      devices.push(...chunk);
    }
    const app = buildApp({ store, auth, logger: false });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const tag = `r${Date.now().toString(36)}`;
      const sustained = await load({ mode: 'closed', url, devices, batch: o.batch, concurrency: o.concurrency, warmupSeconds: 1, seconds: o.seconds, tag: `${tag}s` });
      // 3 s at the offered load before measuring: steady state, after the sustained phase's
      // checkpoint backlog (hundreds of MB of WAL) has drained
      const commits: number[] = [];
      let off: (() => void) | undefined;
      const loop = monitorEventLoopDelay({ resolution: 5 });
      const psi0 = cpuPressureMicros();
      const t0 = performance.now();
      const lat = await load({
        mode: 'open', url, devices, batch: o.latencyBatch, rate: o.rate, warmupSeconds: 3, seconds: o.seconds, tag: `${tag}l`,
      }, () => {
        // the measured window starts after the warm-up
        setTimeout(() => {
          loop.enable();
          off = store.onCommit((c) => commits.push(c.seconds * 1000));
        }, 3000);
      });
      loop.disable();
      off?.();
      const psi1 = cpuPressureMicros();
      commits.sort((a, b) => a - b);
      const ms = (lat.latenciesMs ?? []).sort((a, b) => a - b);
      const q = (p: number) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] : NaN);
      const stored = await store.count();
      const acknowledged = sustained.totalAcked + lat.totalAcked;
      const { latenciesMs: _, ...sustainedSummary } = sustained;
      return {
        store: name,
        sustainedEventsPerSecond: sustained.events / sustained.seconds,
        sustained: sustainedSummary,
        latency: {
          offeredEventsPerSecond: o.rate, achievedEventsPerSecond: lat.events / lat.seconds, batch: o.latencyBatch,
          p50Ms: round(q(0.5), 2), p99Ms: round(q(0.99), 2), maxMs: round(ms[ms.length - 1] ?? NaN, 2), errors: lat.errors, throttled: lat.throttled,
          commitP99Ms: round(commits[Math.floor(0.99 * commits.length)] ?? NaN, 2),
          serverLoopDelayP99Ms: round(loop.percentile(99) / 1e6, 2), serverLoopDelayMaxMs: round(loop.max / 1e6, 2),
          ...(psi0 !== undefined && psi1 !== undefined ? { cpuPressurePercent: round(((psi1 - psi0) / ((performance.now() - t0) * 1000)) * 100, 2) } : {}),
        },
        storedEqualsAcknowledged: stored === acknowledged,
        stored,
        acknowledged,
      };
    } finally {
      await app.close();
    }
  } finally {
    await cleanup?.();
    await store.close();
  }
}

/** Total µs some task waited for a CPU (Linux pressure stall information), if available. */
function cpuPressureMicros(): number | undefined {
  try {
    const m = /some .*total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function load(job: LoadJob, onStart?: () => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./ingest-load.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('spawn', () => onStart?.());
    let settled = false;
    child.once('message', (m: { ok: true; res: LoadResult } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve(m.res);
      else reject(new Error(`load generator failed: ${m.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) reject(new UsageError(`load generator exited with code ${code} before reporting`));
    });
    child.send(job);
  });
}
