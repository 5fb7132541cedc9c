/**
 * `citybrain bench cluster` (issue #20): the distributed deployment measured
 * on one machine, with processes standing in for nodes. It starts its own
 * nats-server (JetStream in a temporary folder, a free port), runs the CLI's
 * roles as child processes (`citybrain gateway`, `writer`, `worker`) against
 * PostgreSQL in a schema of its own (dropped at the end), and measures:
 *
 * - gateways: events/s acknowledged through 1, 2, 4 gateways by forked load
 *   generators (closed loop), acknowledgement latency, the CPU each process
 *   used and the machine's;
 * - the writers' store rate: one writer draining what the gateways put in the
 *   stream, and the check that it stored exactly what was acknowledged;
 * - brain workers: 1, 2, 4 workers controlling a generated grid cut into
 *   regions, with device events flowing through a gateway: the decision time
 *   per region and per step, as each worker reports it in the workers' bucket;
 * - faults under load, kill -9: a brain worker (seconds until plans are heard
 *   again for every intersection of its regions), a gateway (seconds until
 *   the batches it failed are acknowledged by another) and a writer (seconds
 *   until every event acknowledged before the kill is stored); after each, the
 *   acknowledged (device, id) set against PostgreSQL's rows: lost, duplicated.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { generateGrid, Network } from '@citybrain/engine';
import { Auth, loadBrainKeyFile, openStore, PostgresStore } from '@citybrain/server';
import { EVENTS_STREAM, OWNERS_BUCKET, WORKERS_BUCKET, WRITER_CONSUMER, type WorkerHealth } from '@citybrain/server/cluster';
import { controllers, DEFAULT_CONTROLLER } from '@citybrain/control';
import { cityRegions } from '@citybrain/brain';
import { gridOption, intOption, UsageError } from '../usage.js';
import { table } from '../table.js';
import { round } from '../round.js';
import type { AckedRange, ClusterLoadDevice, ClusterLoadJob, ClusterLoadMessage, ClusterLoadResult } from './cluster-load.js';
import { freePort } from '../free-port.js';

/** Seconds within which a dead brain worker's regions must be controlled again (issue #20). */
const CONTROL_RESUME_SECONDS = 10;

export const benchClusterHelp = `citybrain bench cluster [--json] [options]

The cluster of README "Beyond one machine" on this machine, processes standing in
for nodes: its own nats-server (JetStream in a temporary folder, a free port), the
CLI's roles as child processes (citybrain gateway, writer, worker), PostgreSQL in
a schema of its own that is dropped at the end.

  gateways   events/s acknowledged through each count of gateways, load
             generators (separate processes, closed loop) posting lane reports
             of one device per intersection; acknowledgement latency p50/p99;
             the CPU each process used and the machine's (when the cores are
             saturated, more gateways cannot help)
  store      one writer draining the gateways' events into PostgreSQL: events/s,
             and the stored count against the acknowledged
  workers    each count of brain workers controlling the grid, events flowing
             through a gateway: decision ms per region and per step, from the
             health each worker reports in the workers' bucket
  faults     under load, kill -9 of a brain worker (until plans are heard again
             for each of its intersections), a gateway (until the batches it
             failed are acknowledged by another), a writer (until every event
             acknowledged before the kill is stored); then lost and duplicated
             events: the acknowledged (device, id) set against PostgreSQL's rows
Targets: lost 0, duplicated 0, control resumed within 10 s; exits 1 otherwise.

  --seconds S          measured seconds per gateway and worker count (default 10)
  --gateways LIST      gateway counts (default 1,2,4); "none" skips
  --workers LIST       brain worker counts (default 1,2,4); "none" skips
  --faults LIST        brain-worker,gateway,writer (default all three); "none" skips
  --reps N             repetitions of each gateway count (default 1)
  --grid RxC           the generated city (default 36x36)
  --regions N          regions it is cut into (default 16)
  --batch N            events per request (default 50)
  --concurrency N      requests in flight per load generator (default 32)
  --generators N       load generator processes in the gateway phase (default 2)
  --rate N             offered events/s while workers run and during faults (default 2000)
  --controller NAME    the brain workers' controller (default ${DEFAULT_CONTROLLER}, as citybrain worker)
  --ack-wait MS        the writers' ack wait: a killed writer's messages go to another after it (default 5000)
  --postgres URL       PostgreSQL (default postgres://postgres@127.0.0.1:5432/test)
  --nats-server PATH   the nats-server binary (default $CITYBRAIN_NATS_SERVER or /usr/sbin/nats-server)
  --json               {"gateways":[{"n":1,"eventsPerSecond":n,"p99Ms":n,...},...],
                        "workers":[{"n":1,"decisionMs":n,...},...],
                        "faults":[{"killed":"brain-worker","resumeSeconds":n,"lost":0,"duplicated":0,...},...],
                        "store":{...},"conditions":{...}}`;

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const LOAD = new URL('./cluster-load.js', import.meta.url);
const FAULTS = ['brain-worker', 'gateway', 'writer'] as const;
type Fault = (typeof FAULTS)[number];
const CLK_TCK = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Conditions at one moment: what every timing is printed beside. */
interface Conditions {
  loadAverage: [number, number, number];
  cores: number;
  node: string;
}
const conditions = (): Conditions => ({ loadAverage: loadavg().map((x) => round(x, 2)) as [number, number, number], cores: cpus().length, node: process.version });

/** Seconds of CPU a process has used (Linux /proc), or undefined when it is gone. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of stat (utime, stime); f starts at field 3
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU time so far (Linux /proc/stat), in ticks. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - (v[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** A process of the bench: a role, nats-server or a load generator, with its output kept for errors. */
class Child {
  private out = '';
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;

  constructor(readonly name: string, readonly proc: ChildProcess) {
    const keep = (d: Buffer) => {
      this.out = (this.out + d.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((r) => proc.once('exit', (code) => r((this.exitCode = code))));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get output(): string {
    return this.out;
  }

  /** Waits until its output matches `re`; fails with its output if it exits first or takes over `ms`. */
  async waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.out);
      if (m) return m;
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited (code ${this.exitCode}) before it was ready; its output:\n${this.out.slice(-3000)}`);
      if (Date.now() > end) throw new Error(`${this.name} not ready within ${ms} ms; its output:\n${this.out.slice(-3000)}`);
      await sleep(50);
    }
  }

  kill9(): void {
    if (this.exitCode === undefined) this.proc.kill('SIGKILL');
  }

  /** SIGTERM (the role closes politely), SIGKILL after 8 s. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 8000);
    await this.exited;
    clearTimeout(t);
  }
}

function cpuText(r: { cpuPercent: Record<string, number>; machineBusyPercent?: number }): string {
  return `${Object.entries(r.cpuPercent).map(([k, v]) => `${k} ${v}%`).join(', ')}; machine ${r.machineBusyPercent ?? '?'}% busy of ${cpus().length} cores`;
}

function quantile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
}

function countList(v: string | undefined, def: string, name: string): number[] {
  const s = v ?? def;
  if (s === 'none') return [];
  const out = s.split(',').map((x) => intOption(x.trim(), name, 0, 1, 16));
  return [...new Set(out)];
}

interface GatewayResult {
  n: number;
  rep: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
  throttled: number;
  /** CPU used over the measured seconds, % of one core, per process */
  cpuPercent: Record<string, number>;
  /** the machine's busy share of all its cores over the measured seconds */
  machineBusyPercent?: number;
  /** events/s per core the gateways used, and per core nats-server used: what a core of each does, whatever else ran beside */
  eventsPerGatewayCore: number;
  eventsPerNatsCore: number;
  conditions: Conditions;
}

interface WorkerResult {
  n: number;
  /** mean decision ms per step of one region */
  decisionMs: number;
  /** the largest region's mean decision ms per step */
  maxRegionDecisionMs: number;
  /** mean over samples of the busiest worker's decision ms per step (the sum over its regions) */
  perStepMs: number;
  regionsPerWorker: number[];
  eventsPerSecond: number;
  samples: number;
  cpuPercent: Record<string, number>;
  machineBusyPercent?: number;
  conditions: Conditions;
}

interface FaultResult {
  killed: Fault;
  resumeSeconds: number | null;
  lost: number;
  duplicated: number;
  acknowledged: number;
  /** stored events of the run that no gateway acknowledged (batches given up by the client): may be stored, not counted as lost */
  storedNotAcknowledged: number;
  /** events the stream recognised as retries (a batch failed over after JetStream held it) */
  streamDuplicates: number;
  what: string;
  conditions: Conditions;
}

export async function benchCluster(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false }, seconds: { type: 'string' }, gateways: { type: 'string' }, workers: { type: 'string' },
      faults: { type: 'string' }, reps: { type: 'string' }, grid: { type: 'string' }, regions: { type: 'string' }, batch: { type: 'string' },
      concurrency: { type: 'string' }, generators: { type: 'string' }, rate: { type: 'string' },
      controller: { type: 'string', default: DEFAULT_CONTROLLER }, 'ack-wait': { type: 'string' },
      postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' }, 'nats-server': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchClusterHelp);
  const faults = (values.faults ?? FAULTS.join(',')) === 'none' ? [] : (values.faults ?? FAULTS.join(',')).split(',').map((f) => f.trim());
  for (const f of faults) if (!(FAULTS as readonly string[]).includes(f)) throw new UsageError(`--faults: "${f}" is not one of ${FAULTS.join(', ')} (or none)`);
  const grid = gridOption(values.grid, '36x36');
  const o = {
    seconds: intOption(values.seconds, 'seconds', 10, 1, 600),
    gateways: countList(values.gateways, '1,2,4', 'gateways'),
    workers: countList(values.workers, '1,2,4', 'workers'),
    faults: faults as Fault[],
    reps: intOption(values.reps, 'reps', 1, 1, 10),
    grid: `${grid.rows}x${grid.cols}`,
    regions: intOption(values.regions, 'regions', 16, 1, 1000),
    batch: intOption(values.batch, 'batch', 50, 1, 5000),
    concurrency: intOption(values.concurrency, 'concurrency', 32, 1, 1024),
    generators: intOption(values.generators, 'generators', 2, 1, 16),
    rate: intOption(values.rate, 'rate', 2000, 1, 1_000_000),
    controller: values.controller!,
    ackWaitMs: intOption(values['ack-wait'], 'ack-wait', 5000, 1000, 600_000),
  };
  if (!(o.controller in controllers)) throw new UsageError(`--controller: "${o.controller}" is not one of ${Object.keys(controllers).join(', ')}`);
  const natsBin = values['nats-server'] ?? process.env.CITYBRAIN_NATS_SERVER ?? '/usr/sbin/nats-server';
  if (!existsSync(natsBin)) throw new UsageError(`--nats-server: ${natsBin} not found (apt-get install nats-server, or give its path)`);
  const json = values.json!;
  const say = (s: string) => void (json || console.error(s));

  // the city: one device per signalised intersection, reporting the lanes into it
  const scenario = generateGrid({ ...grid, demand: 0.05 });
  const city = new Network(scenario.roadnet);
  const lanesInto = new Map<number, string[]>();
  for (let l = 0; l < city.laneRoad.length; l++) {
    const i = city.roadEndInter[city.laneRoad[l]];
    (lanesInto.get(i) ?? lanesInto.set(i, []).get(i)!).push(city.laneId(l));
  }
  const signalised = [...city.signalised].filter((i) => (lanesInto.get(i)?.length ?? 0) > 0);
  if (signalised.length === 0) throw new UsageError(`--grid ${o.grid}: no signalised intersection to report on`);

  const started = conditions();
  // how busy the machine was before the bench started anything: the cores other work already took
  const m0 = machineTicks();
  await sleep(1000);
  const m1 = machineTicks();
  const busyBefore = m0 && m1 ? round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100, 0) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-bench-cluster-'));
  const children = new Set<Child>();
  const schema = `cb_bench_cluster_${process.pid}_${Date.now().toString(36)}`;
  const storeUrl = `${values.postgres}${values.postgres!.includes('?') ? '&' : '?'}schema=${schema}`;
  let store: PostgresStore | undefined;
  let nc: NatsConnection | undefined;
  const env = { ...process.env, CITYBRAIN_LOG_LEVEL: process.env.CITYBRAIN_LOG_LEVEL ?? 'warn' };
  const onSignal = () => {
    for (const c of children) c.kill9();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const gatewayResults: GatewayResult[] = [];
  const workerResults: WorkerResult[] = [];
  const faultResults: FaultResult[] = [];
  let storeResult: {
    eventsPerSecond: number; events: number; seconds: number; storedEqualsAcknowledged: boolean; streamBytesPerEvent: number; storeBytesPerEvent: number;
    cpuPercent: Record<string, number>; machineBusyPercent?: number; conditions: Conditions;
  } | undefined;

  try {
    const opened = await openStore(storeUrl).catch((e: unknown) => {
      throw new UsageError(`--postgres: cannot open ${values.postgres}: ${(e as Error).message}`);
    });
    if (!(opened instanceof PostgresStore)) throw new UsageError('--postgres must be a postgres:// URL');
    store = opened;
    const { pool } = store.sharedPool();
    const eventsTable = `"${schema}".events`;

    // device tokens, each scoped to its intersection
    say(`tokens for ${signalised.length} devices ...`);
    const auth = new Auth(store);
    const devices: ClusterLoadDevice[] = [];
    for (let k = 0; k < signalised.length; k += 200) {
      devices.push(...await Promise.all(signalised.slice(k, k + 200).map(async (i) => {
        const intersection = city.interIds[i];
        const device = `bench-det-${intersection}`;
        const { token } = await auth.createToken({ name: device, role: 'device', device, intersections: [intersection] });
        return { token, device, intersection, lanes: lanesInto.get(i)! };
      })));
    }

    // nats-server with JetStream in the temporary folder
    const natsPort = await freePort();
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const nats = new Child('nats-server', spawn(natsBin, ['-js', '-sd', join(dir, 'js'), '-p', String(natsPort), '-a', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    children.add(nats);
    await nats.waitFor(/Server is ready/, 15_000);
    nc = await connect({ servers: natsUrl, name: 'citybrain-bench' });
    const jsm = await jetstreamManager(nc);
    const natsVersion = nc.info?.version ?? '?';

    const role = async (name: string, args: string[], ready: RegExp): Promise<{ child: Child; m: RegExpMatchArray }> => {
      const c = new Child(name, spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }));
      children.add(c);
      const m = await c.waitFor(ready, 90_000);
      return { child: c, m };
    };
    const startGateway = async (name: string) => {
      const { child, m } = await role(name, ['gateway', '--nats', natsUrl, '--store', storeUrl, '--grid', o.grid, '--regions', String(o.regions), '--port', '0'], /CityBrain gateway at (\S+) \(/);
      return { child, url: m[1] };
    };
    const startWriter = async (name: string) => (await role(name, ['writer', '--nats', natsUrl, '--store', storeUrl, '--ack-wait', String(o.ackWaitMs)], /CityBrain writer:/)).child;
    const brainKey = join(dir, 'brain-key.pem');
    loadBrainKeyFile(brainKey); // made once here: workers starting together would race to make it
    const startWorker = async (id: string) =>
      (await role(id, ['worker', '--nats', natsUrl, '--brain-key', brainKey, '--grid', o.grid, '--regions', String(o.regions), '--id', id, '--controller', o.controller], /worker: \S+ started/)).child;
    const stopAll = async (cs: Child[]) => {
      await Promise.all(cs.map((c) => c.stop()));
      for (const c of cs) children.delete(c);
    };

    /** A forked load generator: its progress (what was acknowledged) as it goes, and its result when stopped. */
    const generator = (name: string, job: ClusterLoadJob, onAcked?: (a: AckedRange[]) => void) => {
      const proc = fork(LOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const child = new Child(name, proc);
      children.add(child);
      const done = new Promise<ClusterLoadResult>((resolve, reject) => {
        proc.on('message', (m: ClusterLoadMessage) => {
          if (m.type === 'progress') onAcked?.(m.acked);
          else if (m.type === 'done') resolve(m.res);
          else reject(new Error(`load generator ${name} failed: ${m.error}`));
        });
        proc.once('exit', (code) => reject(new Error(`load generator ${name} exited (code ${code}) before reporting`)));
      });
      proc.send({ job });
      return {
        child,
        async stop(): Promise<ClusterLoadResult> {
          proc.send({ stop: true });
          try {
            return await done;
          } finally {
            children.delete(child);
          }
        },
      };
    };

    /** CPU seconds per process and the machine's ticks now, to difference over a window. */
    const cpuSnapshot = (cs: Child[]) => ({ at: performance.now(), per: new Map(cs.map((c) => [c.name, cpuSeconds(c.pid)])), self: process.cpuUsage(), machine: machineTicks() });
    const cpuOver = (a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>) => {
      const wall = (b.at - a.at) / 1000;
      const cpuPercent: Record<string, number> = {};
      for (const [name, x] of a.per) {
        const y = b.per.get(name);
        if (x !== undefined && y !== undefined) cpuPercent[name] = round(((y - x) / wall) * 100, 0);
      }
      const self = process.cpuUsage(a.self);
      cpuPercent.bench = round(((self.user + self.system) / 1e6 / wall) * 100, 0);
      const machineBusyPercent = a.machine && b.machine ? round(((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * 100, 0) : undefined;
      return { cpuPercent, machineBusyPercent };
    };

    const writersPending = async () => {
      const i = await jsm.consumers.info(EVENTS_STREAM, WRITER_CONSUMER);
      return i.num_pending + i.num_ack_pending;
    };
    /** Waits until the writers hold nothing back (twice in a row, 300 ms apart); false after `ms`. */
    const drained = async (ms: number) => {
      const end = Date.now() + ms;
      let calm = 0;
      while (Date.now() < end) {
        calm = (await writersPending()) === 0 ? calm + 1 : 0;
        if (calm >= 2) return true;
        await sleep(300);
      }
      return false;
    };
    const storedKeys = async (tag: string) => {
      const r = await pool.query<{ device: string; id: string }>(`SELECT device, id FROM ${eventsTable} WHERE starts_with(id, $1)`, [`${tag}-`]);
      return r.rows;
    };
    const keysOf = (ranges: AckedRange[], tag: string, devs: ClusterLoadDevice[]) => {
      const s = new Set<string>();
      for (const [d, from, to] of ranges) for (let k = from; k < to; k++) s.add(`${devs[d].device}\u0000${tag}-${k}`);
      return s;
    };

    // ---- gateways ----
    let gatewayAcked = 0;
    if (o.gateways.length > 0) {
      for (const n of o.gateways) {
        for (let rep = 1; rep <= o.reps; rep++) {
          say(`gateways: ${n}${o.reps > 1 ? ` (rep ${rep})` : ''}: starting ...`);
          const gws = await Promise.all(Array.from({ length: n }, (_, k) => startGateway(`gateway-${k + 1}`)));
          const gens = Array.from({ length: o.generators }, (_, g) => {
            const tag = `g${n}r${rep}x${g}`;
            const devs = devices.filter((_, k) => k % o.generators === g);
            return generator(`load-${g + 1}`, {
              urls: gws.map((x) => x.url), devices: devs, batch: o.batch, concurrency: o.concurrency, tag,
              maxSeconds: o.seconds + 60, graceSeconds: 10, progressMs: 0,
            });
          });
          const procs = [nats, ...gws.map((x) => x.child), ...gens.map((x) => x.child)];
          await sleep(2000); // warm-up: connections, JIT, the stream's files
          const c0 = conditions();
          const a = cpuSnapshot(procs);
          const t1 = Date.now();
          await sleep(o.seconds * 1000);
          const t2 = Date.now();
          const b = cpuSnapshot(procs);
          const results = await Promise.all(gens.map((g) => g.stop()));
          await stopAll(gws.map((x) => x.child));
          let events = 0;
          const lat: number[] = [];
          for (const r of results) {
            gatewayAcked += r.acked.reduce((s, [, f, t]) => s + t - f, 0);
            r.ackAt.forEach((t, i) => {
              if (t >= t1 && t < t2) {
                events += r.acked[i][2] - r.acked[i][1];
                lat.push(r.latencyMs[i]);
              }
            });
          }
          lat.sort((x, y) => x - y);
          const cpu = cpuOver(a, b);
          const eventsPerSecond = Math.round(events / ((t2 - t1) / 1000));
          const gatewayCores = gws.reduce((s, g) => s + (cpu.cpuPercent[g.child.name] ?? NaN), 0) / 100;
          const res: GatewayResult = {
            n, rep, eventsPerSecond, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99),
            requests: lat.length, failures: results.reduce((s, r) => s + r.failures, 0), throttled: results.reduce((s, r) => s + r.throttled, 0),
            ...cpu, eventsPerGatewayCore: Math.round(eventsPerSecond / gatewayCores), eventsPerNatsCore: Math.round(eventsPerSecond / ((cpu.cpuPercent['nats-server'] ?? NaN) / 100)),
            conditions: c0,
          };
          gatewayResults.push(res);
          say(`  ${res.eventsPerSecond} ev/s, p50 ${res.p50Ms} ms, p99 ${res.p99Ms} ms; CPU: ${cpuText(res)}; load ${c0.loadAverage.join(' ')}`);
          if (res.failures > 0) say(`  ${res.failures} failed requests (retried elsewhere): ${results.find((r) => r.firstFailure)?.firstFailure}`);
        }
      }
    }

    // ---- the store: one writer drains what the gateways put in the stream ----
    const writers: Child[] = [await startWriter('writer-1')];
    if (gatewayAcked > 0) {
      say(`store: one writer draining ${gatewayAcked} events ...`);
      const c0 = conditions();
      const t0 = performance.now();
      const a = cpuSnapshot([nats, writers[0]]);
      const ok = await drained(600_000);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuOver(a, cpuSnapshot([nats, writers[0]]));
      const stored = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${eventsTable}`)).rows[0].n);
      // what an event costs in the stream (JetStream's file store) and in PostgreSQL (table and indexes): the sizes of a city's stream and store follow
      const streamBytes = (await jsm.streams.info(EVENTS_STREAM)).state.bytes;
      const tableBytes = Number((await pool.query<{ b: string }>(`SELECT pg_total_relation_size('${eventsTable}') AS b`)).rows[0].b);
      storeResult = {
        eventsPerSecond: Math.round(stored / seconds), events: stored, seconds: round(seconds, 1), storedEqualsAcknowledged: ok && stored === gatewayAcked,
        streamBytesPerEvent: Math.round(streamBytes / Math.max(1, gatewayAcked)), storeBytesPerEvent: Math.round(tableBytes / Math.max(1, stored)), ...cpu, conditions: c0,
      };
      say(`  ${storeResult.eventsPerSecond} ev/s stored (${stored} in ${storeResult.seconds} s); stored = acknowledged: ${storeResult.storedEqualsAcknowledged}; ` +
        `${storeResult.streamBytesPerEvent} B/event in the stream, ${storeResult.storeBytesPerEvent} B/event in PostgreSQL; CPU: ${cpuText(cpu)} (PostgreSQL's own not counted)`);
    }
    // the gateway phase's events are stored: the stream starts empty for the workers (no replay of them)
    await jsm.streams.purge(EVENTS_STREAM).catch(() => {});

    const kvm = new Kvm(nc);
    const openKv = async (name: string): Promise<KV> => kvm.open(name);
    const ownersNow = async (): Promise<Map<string, string>> => {
      const kv = await openKv(OWNERS_BUCKET);
      const out = new Map<string, string>();
      for await (const k of await kv.keys()) {
        const e = await kv.get(k);
        if (e && e.operation === 'PUT') out.set(k, e.string());
      }
      return out;
    };
    const regionCount = cityRegions(city, o.regions).length;

    /** Waits until every region is owned, by these workers only, evenly (floor or ceil each). */
    const balanced = async (ids: string[], ms: number) => {
      const end = Date.now() + ms;
      for (;;) {
        let owners: Map<string, string> | undefined;
        try {
          owners = await ownersNow();
        } catch {
          // the bucket is made by the first worker
        }
        if (owners) {
          const per = ids.map((id) => [...owners!.values()].filter((w) => w === id).length);
          const lo = Math.floor(owners.size / ids.length), hi = Math.ceil(owners.size / ids.length);
          if (owners.size >= regionCount && [...owners.values()].every((w) => ids.includes(w)) && per.every((c) => c >= lo && c <= hi)) return per;
        }
        if (Date.now() > end) throw new Error(`workers ${ids.join(', ')}: the regions were not shared out within ${ms} ms (owners: ${JSON.stringify(owners ? [...owners] : null)})`);
        await sleep(200);
      }
    };

    // ---- brain workers ----
    if (o.workers.length > 0 || o.faults.length > 0) {
      const gw = await startGateway('gateway-w');
      if (o.workers.length > 0) {
        const gen = generator('load-w', {
          urls: [gw.url], devices, batch: o.batch, concurrency: 8, rate: o.rate, tag: 'w', maxSeconds: 3600, graceSeconds: 10, progressMs: 0,
        });
        for (const n of o.workers) {
          say(`workers: ${n} on the ${o.grid} grid (${signalised.length} intersections, ${regionCount} regions), ${o.rate} events/s flowing: starting ...`);
          const ids = Array.from({ length: n }, (_, k) => `w${n}-${k + 1}`);
          const ws = await Promise.all(ids.map((id) => startWorker(id)));
          const per = await balanced(ids, 90_000);
          await sleep(3000); // the controllers' first decisions and the health period
          const workersKv = await openKv(WORKERS_BUCKET);
          const c0 = conditions();
          const procs = [nats, gw.child, writers[0], gen.child, ...ws];
          const a = cpuSnapshot(procs);
          const regionMs: number[] = [];
          const stepMs: number[] = [];
          const evps: number[] = [];
          const seen = new Map<string, number>();
          const end = Date.now() + o.seconds * 1000;
          while (Date.now() < end) {
            await sleep(1000);
            let busiest = 0;
            let eps = 0;
            let fresh = false;
            for (const id of ids) {
              const e = await workersKv.get(id);
              if (!e || e.operation !== 'PUT') continue;
              const h = JSON.parse(e.string()) as WorkerHealth;
              if (seen.get(id) === h.updatedAt) continue;
              seen.set(id, h.updatedAt);
              fresh = true;
              const ms = Object.values(h.decisionMs);
              regionMs.push(...ms);
              busiest = Math.max(busiest, ms.reduce((s, x) => s + x, 0));
              eps += h.eventsPerSecond;
            }
            if (fresh) {
              stepMs.push(busiest);
              evps.push(eps);
            }
          }
          const b = cpuSnapshot(procs);
          await stopAll(ws);
          const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
          const res: WorkerResult = {
            n, decisionMs: round(mean(regionMs), 3), maxRegionDecisionMs: round(Math.max(...regionMs), 3), perStepMs: round(mean(stepMs), 2),
            regionsPerWorker: per, eventsPerSecond: Math.round(mean(evps)), samples: stepMs.length, ...cpuOver(a, b), conditions: c0,
          };
          workerResults.push(res);
          say(`  decision ${res.decisionMs} ms per region per step (max ${res.maxRegionDecisionMs}), busiest worker ${res.perStepMs} ms per step, regions ${per.join('/')}, ${res.eventsPerSecond} events/s taken; CPU: ${cpuText(res)}; load ${c0.loadAverage.join(' ')}`);
        }
        await gen.stop();
      }

      // ---- faults under load ----
      if (o.faults.length > 0) {
        const gateways = [gw, await startGateway('gateway-f2')];
        writers.push(await startWriter('writer-2'));
        // the brain workers only where one is to be killed: elsewhere they would only take cores from the others
        const fw = o.faults.includes('brain-worker') ? ['fw-1', 'fw-2'] : [];
        const workers = await Promise.all(fw.map((id) => startWorker(id)));
        const heard = new Map<string, number[]>();
        const sub = nc.subscribe('city.plans.>');
        void (async () => {
          for await (const m of sub) {
            const list = heard.get(m.subject) ?? heard.set(m.subject, []).get(m.subject)!;
            list.push(Date.now());
            if (list.length > 64) list.splice(0, list.length - 64);
          }
        })();
        if (fw.length > 0) await balanced(fw, 90_000);
        await drained(60_000);
        for (const fault of o.faults) {
          const tag = `f${fault.replace('-', '')}`;
          say(`fault: kill -9 ${fault === 'brain-worker' ? 'a brain worker' : `a ${fault}`} under ${o.rate} events/s ...`);
          const ackedLive: AckedRange[] = [];
          const gen = generator(`load-${tag}`, {
            urls: gateways.map((g) => g.url), devices, batch: o.batch, concurrency: 8, rate: o.rate, tag, maxSeconds: 600, graceSeconds: 20, progressMs: 100,
          }, (a) => ackedLive.push(...a));
          await sleep(3000);
          const c0 = conditions();
          let resumeSeconds: number | null = null;
          let what = '';
          if (fault === 'brain-worker') {
            const owners = await ownersNow();
            const victim = workers[workers.length - 1];
            const regions = [...owners].filter(([, w]) => w === victim.name).map(([r]) => r);
            const recent = Date.now() - 3000;
            const subjects = [...heard].filter(([s, ts]) => regions.includes(s.split('.')[2]) && ts[ts.length - 1] >= recent).map(([s]) => s);
            const killAt = Date.now();
            victim.kill9();
            await victim.exited;
            children.delete(victim);
            workers.splice(workers.indexOf(victim), 1);
            // plans the dead worker sent just before it died may still be on their way: only those heard later count
            const after = killAt + 300;
            // no plan heard from it before: nothing to wait for, and no resume to claim
            const end = subjects.length === 0 ? killAt : killAt + 60_000;
            while (Date.now() < end) {
              const back = subjects.map((s) => heard.get(s)!.find((t) => t > after));
              if (back.every((t) => t !== undefined)) {
                resumeSeconds = round((Math.max(...(back as number[])) - killAt) / 1000, 2);
                break;
              }
              await sleep(50);
            }
            what = `${victim.name} owned ${regions.length} regions (${subjects.length} intersections planned in the 3 s before); plans heard again for all of them`;
            await sleep(2000);
          } else if (fault === 'gateway') {
            const victim = gateways[0];
            const killAt = Date.now();
            victim.child.kill9();
            await victim.child.exited;
            children.delete(victim.child);
            await sleep(4000);
            const r = await gen.stop();
            const fo = r.failovers.filter((f) => f.failedAt >= killAt - 100);
            resumeSeconds = fo.length ? round((Math.max(...fo.map((f) => f.ackedAt)) - killAt) / 1000, 2) : null;
            what = `${fo.length} batches in flight to ${victim.child.name} acknowledged by another gateway`;
            gateways.splice(0, 1, await startGateway('gateway-f3'));
            faultResults.push(await integrity(fault, tag, r, resumeSeconds, what, c0));
            continue;
          } else {
            const victim = writers[0];
            const killAt = Date.now();
            const before = keysOf(ackedLive.slice(), tag, devices);
            victim.kill9();
            await victim.exited;
            children.delete(victim);
            // a supervisor restarts it a second later; meanwhile the other writer goes on, and takes the dead one's messages after the ack wait
            const restart = sleep(1000).then(() => startWriter('writer-3'));
            const end = killAt + 120_000;
            while (Date.now() < end) {
              const have = new Set((await storedKeys(tag)).map((k) => `${k.device}\u0000${k.id}`));
              if ([...before].every((k) => have.has(k))) {
                resumeSeconds = round((Date.now() - killAt) / 1000, 2);
                break;
              }
              await sleep(200);
            }
            writers.splice(0, 1, await restart);
            what = `${before.size} events acknowledged before the kill, all stored (ack wait ${o.ackWaitMs / 1000} s; the writer restarted after 1 s)`;
            await sleep(1000);
          }
          const r = await gen.stop();
          faultResults.push(await integrity(fault, tag, r, resumeSeconds, what, c0));
        }
        sub.unsubscribe();
        await stopAll(workers);
      }
    }

    async function integrity(fault: Fault, tag: string, r: ClusterLoadResult, resumeSeconds: number | null, what: string, c0: Conditions): Promise<FaultResult> {
      const ok = await drained(120_000);
      const acked = keysOf(r.acked, tag, devices);
      const rows = await storedKeys(tag);
      const have = new Map<string, number>();
      for (const k of rows) have.set(`${k.device}\u0000${k.id}`, (have.get(`${k.device}\u0000${k.id}`) ?? 0) + 1);
      let lost = 0;
      for (const k of acked) if (!have.has(k)) lost++;
      let duplicated = 0;
      let storedNotAcknowledged = 0;
      for (const [k, c] of have) {
        duplicated += c - 1;
        if (!acked.has(k)) storedNotAcknowledged++;
      }
      const res: FaultResult = { killed: fault, resumeSeconds, lost, duplicated, acknowledged: acked.size, storedNotAcknowledged, streamDuplicates: r.streamDuplicates, what, conditions: c0 };
      say(`  resumed in ${resumeSeconds ?? 'NOT WITHIN THE WAIT'} s: ${what}; ${acked.size} events acknowledged, lost ${lost}, duplicated ${duplicated}` +
        `${ok ? '' : ' (the writers had not drained: lost counts what was not yet stored)'}; load ${c0.loadAverage.join(' ')}`);
      return res;
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await Promise.all([...children].filter((c) => c.name !== 'nats-server').map((c) => c.stop()));
    await nc?.close().catch(() => {});
    for (const c of children) await c.stop();
    if (store) {
      await store.dropSchema().catch(() => {});
      await store.close().catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const finished = conditions();
  const out = {
    gateways: gatewayResults, workers: workerResults, faults: faultResults, ...(storeResult ? { store: storeResult } : {}),
    conditions: { cores: started.cores, node: started.node, machineBusyPercentBefore: busyBefore, loadAverageAtStart: started.loadAverage, loadAverageAtEnd: finished.loadAverage, grid: o.grid, regions: o.regions, controller: o.controller, batch: o.batch },
  };
  // the issue's targets: nothing acknowledged lost or duplicated, whatever died; a dead worker's control back within 10 s
  // (a gateway's or writer's recovery is reported: what it must not do is lose or repeat anything)
  const failed = faultResults.some((f) => f.lost > 0 || f.duplicated > 0 || f.resumeSeconds === null || (f.killed === 'brain-worker' && f.resumeSeconds >= CONTROL_RESUME_SECONDS))
    || (storeResult !== undefined && !storeResult.storedEqualsAcknowledged);
  if (failed) process.exitCode = 1;
  if (json) return void console.log(JSON.stringify(out));

  const la = (c: Conditions) => c.loadAverage.join(' ');
  console.log(`\nCluster benchmark on one machine: ${started.cores} cores (shared: other work runs beside it), node ${started.node}, load average ${la(started)} at start, ${la(finished)} at end; ` +
    `the machine was ${busyBefore ?? '?'}% busy in the second before the bench started anything`);
  console.log(`city ${o.grid} (${signalised.length} signalised intersections, one device each), ${o.regions} regions; children log at ${env.CITYBRAIN_LOG_LEVEL}\n`);
  if (gatewayResults.length > 0) {
    const base = gatewayResults.find((r) => r.n === Math.min(...o.gateways))!.eventsPerSecond;
    console.log(`Gateways: ${o.generators} load generators x ${o.concurrency} requests of ${o.batch} lane events in flight (closed loop), ${o.seconds} s measured after 2 s`);
    console.log(table(
      ['gateways', 'rep', 'events/s', 'scaling', 'ack p50 ms', 'ack p99 ms', 'ev/s per gateway core', 'ev/s per NATS core', 'machine busy', 'CPU % of a core per process', 'load avg'],
      gatewayResults.map((r) => [r.n, r.rep, r.eventsPerSecond.toLocaleString('en-US'), `${round(r.eventsPerSecond / base, 2)}x`, r.p50Ms, r.p99Ms,
        r.eventsPerGatewayCore.toLocaleString('en-US'), r.eventsPerNatsCore.toLocaleString('en-US'),
        `${r.machineBusyPercent ?? '?'}%`, Object.entries(r.cpuPercent).map(([k, v]) => `${k} ${v}`).join(', '), la(r.conditions)]),
    ));
    const sat = gatewayResults.filter((r) => (r.machineBusyPercent ?? 0) >= 90).map((r) => r.n);
    if ((busyBefore ?? 0) >= 90) {
      console.log(`the ${started.cores} cores were saturated by other work before the bench started (${busyBefore}% busy): the gateways only split the bench's share of them, so scaling with gateways cannot be judged here; the per-core rates can`);
    } else {
      console.log(sat.length
        ? `the ${started.cores} cores were saturated (>= 90% busy) with ${[...new Set(sat)].join(', ')} gateway(s): from the first of these on, more gateways on this machine share the same cores`
        : `the cores were not saturated (< 90% busy) in any gateway count`);
    }
  }
  if (storeResult) console.log(`\nStore: one writer stored ${storeResult.events.toLocaleString('en-US')} events in ${storeResult.seconds} s: ${storeResult.eventsPerSecond.toLocaleString('en-US')} events/s into PostgreSQL; stored = acknowledged: ${storeResult.storedEqualsAcknowledged ? 'yes' : 'NO'}; ` +
    `${storeResult.streamBytesPerEvent} bytes an event in the stream, ${storeResult.storeBytesPerEvent} in PostgreSQL (table and indexes); CPU: ${cpuText(storeResult)}, PostgreSQL's own not counted (load ${la(storeResult.conditions)})`);
  if (workerResults.length > 0) {
    console.log(`\nBrain workers (${o.controller}, one step a second), ${o.rate} events/s through a gateway, ${o.seconds} s of health reports`);
    console.log(table(
      ['workers', 'regions each', 'decision ms/region/step', 'max region ms', 'busiest worker ms/step', 'events/s taken', 'machine busy', 'CPU % of a core per process', 'load avg'],
      workerResults.map((r) => [r.n, r.regionsPerWorker.join('/'), r.decisionMs, r.maxRegionDecisionMs, r.perStepMs, r.eventsPerSecond, `${r.machineBusyPercent ?? '?'}%`,
        Object.entries(r.cpuPercent).map(([k, v]) => `${k} ${v}`).join(', '), la(r.conditions)]),
    ));
  }
  if (faultResults.length > 0) {
    console.log(`\nFaults under ${o.rate} events/s (kill -9); 2 gateways, 2 writers${o.faults.includes('brain-worker') ? ', 2 brain workers' : ''}; targets: lost 0, duplicated 0, every role resumed, control (brain worker) within ${CONTROL_RESUME_SECONDS} s`);
    console.log(table(
      ['killed', 'resumed s', 'acknowledged', 'lost', 'duplicated', 'stream retries', 'stored unacked', 'load avg', 'what'],
      faultResults.map((f) => [f.killed, f.resumeSeconds ?? 'NO', f.acknowledged, f.lost, f.duplicated, f.streamDuplicates, f.storedNotAcknowledged, la(f.conditions), f.what]),
    ));
    console.log(failed ? 'targets: FAIL' : 'targets: PASS');
  }
}
