import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualCity } from '@citybrain/field';
import { Auth, issueTokenAudit, loadBrainKeyFile, openStore, redactSecrets, StoreError } from '@citybrain/server';
import { chooseScenario } from '../scenario-files.js';
import { intOption, UsageError } from '../usage.js';
import { freePort } from '../free-port.js';

export const NATS_SERVER = process.env.CITYBRAIN_NATS_SERVER ?? '/usr/sbin/nats-server';
const DEFAULT_DB = 'postgres://postgres@127.0.0.1:5432/citybrain';

export const clusterHelp = `citybrain cluster --nodes N [options]

Starts a whole CityBrain cluster on this machine, for tests and demos (README "Beyond one
machine"): nats-server with JetStream in a temporary folder, N gateways behind one address
(a round-robin TCP balancer), a writer, N brain workers sharing the regions, the API and
dashboard server (serve --cluster) and the virtual street (citybrain field) reporting to the
gateways and taking the workers' plans from them. It prints the URLs and an operator token.
A child that dies is reported; a dead worker's regions are taken over by the others.
Ctrl-C or SIGTERM stops every child (the street first, NATS last) and removes the folder.

  --nodes N            gateways and brain workers (N each); default 2
  --grid RxC           the generated city; default 4x4
  --demand VPS         its vehicles per second per route; default 0.05
  --roadnet F --flow F this scenario instead (CityFlow JSON or SUMO XML)
  --regions R          regions the city is cut into; default 2 x nodes
  --db URL             the shared store (PostgreSQL: a cluster's writers and API server share it);
                       default ${DEFAULT_DB} (created when missing)
  --port P             the dashboard and API; default 8080 (0: a free port)
  --gateway-port P     the gateways' one address (the balancer); default the API's port + 1 (0: a free one)
  --nats-port P        the cluster's own nats-server's client port; default a free one (a NATS already on
                       4222 is left alone)
  --controller NAME    the workers' controller; default the registry's

Needs /usr/sbin/nats-server (Debian package nats-server; CITYBRAIN_NATS_SERVER names another)
and PostgreSQL. Every child's warnings and errors go to stderr with its name in front.`;

interface Child {
  name: string;
  role: 'nats' | 'gateway' | 'writer' | 'worker' | 'api' | 'field';
  proc: ChildProcess;
  exited?: { code: number | null; signal: NodeJS.Signals | null };
  exit: Promise<void>;
}

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

function reachable(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host, port });
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(ms, () => done(false));
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
  });
}

/**
 * The gateways behind one address, as a deployment puts them behind a load
 * balancer: each new connection goes to the next gateway in turn, skipping
 * one that refuses it (a dead gateway loses no device: its next connection
 * goes to another).
 */
function balancer(targets: () => number[], port: number): Promise<net.Server> {
  let next = 0;
  const server = net.createServer((client) => {
    client.pause();
    const ports = targets();
    const attempt = (tries: number) => {
      if (tries >= ports.length) return void client.destroy();
      const p = ports[next++ % ports.length];
      const up = net.connect({ host: '127.0.0.1', port: p });
      up.once('connect', () => {
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.pipe(up).pipe(client);
        client.resume();
      });
      up.once('error', () => {
        if (!client.destroyed) attempt(tries + 1);
      });
    };
    attempt(0);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export async function clusterCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' }, grid: { type: 'string' }, demand: { type: 'string' }, roadnet: { type: 'string' }, flow: { type: 'string' },
      regions: { type: 'string' }, db: { type: 'string' }, port: { type: 'string' }, 'gateway-port': { type: 'string' }, 'nats-port': { type: 'string' },
      controller: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(clusterHelp);
  const nodes = intOption(values.nodes, 'nodes', 2, 1, 16);
  const regions = intOption(values.regions, 'regions', 2 * nodes, 1, 10_000);
  const apiPort = intOption(values.port, 'port', 8080, 0, 65535);
  const gatewayPort = values['gateway-port'] !== undefined ? intOption(values['gateway-port'], 'gateway-port', 0, 0, 65535) : apiPort === 0 ? 0 : apiPort + 1;
  const natsPortOpt = intOption(values['nats-port'], 'nats-port', 0, 0, 65535);
  if (!existsSync(NATS_SERVER)) {
    throw new UsageError(`a cluster needs nats-server (JetStream), not found at ${NATS_SERVER}: install the Debian package nats-server (apt-get install nats-server), or name it in CITYBRAIN_NATS_SERVER`);
  }
  const db = values.db ?? DEFAULT_DB;
  if (!/^postgres(ql)?:\/\//.test(db)) throw new UsageError(`--db ${redactSecrets(db)}: a cluster needs PostgreSQL (its writer stores the events, its API server reads them and the tokens): postgres://USER@HOST:5432/DATABASE`);
  if (values.db === undefined && !(await reachable('127.0.0.1', 5432, 2000))) {
    throw new UsageError(`a cluster needs PostgreSQL (its writer and API server share it) and none answers at 127.0.0.1:5432: start one, or give --db postgres://USER@HOST:5432/DATABASE`);
  }
  const scenario = await chooseScenario(values);
  const cityArgs = values.roadnet ? ['--roadnet', values.roadnet, '--flow', values.flow!] : ['--grid', values.grid ?? '4x4'];
  const demandArgs = values.demand !== undefined && !values.roadnet ? ['--demand', values.demand] : [];

  // the cluster's secrets and NATS's store, in a folder of its own (removed on stop)
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-cluster-'));
  const keyFile = join(dir, 'brain-key.pem');
  const tokensFile = join(dir, 'field-tokens.json');
  let operatorToken: string;
  try {
    loadBrainKeyFile(keyFile);
    ({ operatorToken } = await issueTokens(db, scenario, tokensFile));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const children: Child[] = [];
  let stopping = false;
  const say = (line: string) => console.error(`citybrain cluster: ${line}`);

  const start = (name: string, role: Child['role'], cmd: string, args: string[]): Child => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CITYBRAIN_LOG_LEVEL: process.env.CITYBRAIN_LOG_LEVEL ?? 'warn' } });
    let resolveExit!: () => void;
    const c: Child = { name, role, proc, exit: new Promise((r) => (resolveExit = r)) };
    for (const s of [proc.stdout!, proc.stderr!]) {
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`);
          proc.emit('line', line);
        }
      });
    }
    proc.on('exit', (code, signal) => {
      c.exited = { code, signal };
      resolveExit();
      if (stopping) return;
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      say(`${name} (pid ${proc.pid}) ${how}${role === 'worker' ? '; the other workers take over its regions within seconds (their field controllers run their local plans meanwhile)'
        : role === 'gateway' ? '; the balancer sends devices to the other gateways' : role === 'nats' ? '; the cluster cannot work without it: stop it (Ctrl-C)' : ''}`);
    });
    children.push(c);
    return c;
  };

  /** The first line of `c`'s output matching `re` (its match), or an error when it exits first or takes over `ms`. */
  const ready = (c: Child, re: RegExp, ms = 60_000): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not start within ${ms / 1000} s`), ms);
    const onLine = (line: string) => {
      const m = re.exec(line);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = () => fail(`exited before it was ready (${c.exited?.signal ?? `code ${c.exited?.code}`}); its output is above`);
    const cleanup = () => {
      clearTimeout(timer);
      c.proc.off('line', onLine);
      c.proc.off('exit', onExit);
    };
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`${c.name} ${why}`));
    };
    c.proc.on('line', onLine);
    c.proc.once('exit', onExit);
  });

  let lb: net.Server | undefined;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say(`${why}: stopping the street, the API server, the workers, the gateways, the writer, then NATS`);
    lb?.close();
    // the street first (what it holds goes out), NATS last (everyone else leaves through it)
    const order: Child['role'][] = ['field', 'api', 'worker', 'gateway', 'writer', 'nats'];
    for (const role of order) {
      const group = children.filter((c) => c.role === role && !c.exited);
      for (const c of group) c.proc.kill('SIGTERM');
      await Promise.all(group.map(async (c) => {
        const timer = setTimeout(() => c.proc.kill('SIGKILL'), 8000);
        await c.exit;
        clearTimeout(timer);
      }));
    }
    rmSync(dir, { recursive: true, force: true });
    say(`stopped; ${dir} removed`);
  };

  try {
    const natsPort = natsPortOpt === 0 ? await freePort() : natsPortOpt;
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const nats = start('nats', 'nats', NATS_SERVER, ['-js', '-sd', join(dir, 'jetstream'), '-p', String(natsPort), '-a', '127.0.0.1']);
    await ready(nats, /Server is ready/, 15_000);

    const gateways = Array.from({ length: nodes }, (_, i) => start(`gateway-${i + 1}`, 'gateway', process.execPath, [
      MAIN, 'gateway', '--nats', natsUrl, '--store', db, ...cityArgs, '--regions', String(regions), '--port', '0', '--brain-key', keyFile,
    ]));
    // the writer ensures the stream as the gateways do: they start together
    const writer = start('writer', 'writer', process.execPath, [MAIN, 'writer', '--nats', natsUrl, '--store', db]);
    const [gatewayUrls] = await Promise.all([
      Promise.all(gateways.map((g) => ready(g, /CityBrain gateway at (http:\/\/\S+?) /))).then((ms) => ms.map((m) => m[1])),
      ready(writer, /CityBrain writer:/),
    ]);
    const workers = Array.from({ length: nodes }, (_, i) => start(`worker-${i + 1}`, 'worker', process.execPath, [
      MAIN, 'worker', '--nats', natsUrl, '--brain-key', keyFile, '--regions', String(regions), '--id', `worker-${i + 1}`, ...cityArgs, ...demandArgs,
      ...(values.controller ? ['--controller', values.controller] : []),
    ]));
    // the workers need the stream (the gateways made it); the API server with them
    const api = start('api', 'api', process.execPath, [
      MAIN, 'serve', '--cluster', natsUrl, '--no-street', '--db', db, '--brain-key', keyFile, '--regions', String(regions), '--port', String(apiPort), ...cityArgs, ...demandArgs,
    ]);
    const [, apiUrl] = await Promise.all([
      Promise.all(workers.map((w) => ready(w, /worker: \S+ started/))),
      ready(api, /CityBrain is running at (http:\/\/\S+)/).then((m) => m[1]),
    ]);
    const gatewayPorts = gatewayUrls.map((u) => Number(new URL(u).port));
    lb = await balancer(() => gatewayPorts.filter((_, i) => !gateways[i].exited), gatewayPort).catch((e: Error) => {
      throw new UsageError(`--gateway-port ${gatewayPort}: cannot listen: ${e.message}`);
    });
    const edge = `http://127.0.0.1:${(lb.address() as net.AddressInfo).port}`;
    const field = start('field', 'field', process.execPath, [MAIN, 'field', '--server', edge, '--tokens', tokensFile, ...cityArgs, ...demandArgs]);
    await ready(field, /field: the virtual street runs at/);

    console.log([
      `CityBrain cluster: ${nodes} gateway(s), 1 writer, ${nodes} brain worker(s), ${regions} regions, the API server and the virtual street`,
      `  dashboard and API  ${apiUrl}/  (cluster: ${apiUrl}/api/v1/cluster)`,
      `  operator token     ${operatorToken}`,
      `  devices report to  ${edge}  (balancing ${gatewayUrls.join(', ')})`,
      `  NATS JetStream     ${natsUrl}  (store in ${join(dir, 'jetstream')})`,
      `  PostgreSQL         ${redactSecrets(db)}`,
      `  brain key          ${keyFile}`,
      'Ctrl-C stops it all.',
    ].join('\n'));
  } catch (e) {
    await stop('start failed');
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
  const onSignal = (signal: string) => {
    if (stopping) process.exit(1);
    void stop(signal).then(() => process.exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

/** An operator token (printed with the URLs) and a device token for each device of the street (its token file), issued into the cluster's store. */
async function issueTokens(db: string, scenario: Awaited<ReturnType<typeof chooseScenario>>, tokensFile: string): Promise<{ operatorToken: string }> {
  let store;
  try {
    store = await openStore(db, { createDatabase: true });
  } catch (e) {
    if (e instanceof StoreError) throw new UsageError(`--db: a cluster needs PostgreSQL: ${redactSecrets(e.message)}`);
    throw e;
  }
  try {
    const auth = new Auth(store);
    const audit = issueTokenAudit({ actor: 'citybrain cluster', role: 'offline' });
    const { token: operatorToken } = await auth.createToken({ name: 'operator (citybrain cluster)', role: 'operator' }, audit);
    const tokens: Record<string, string> = {};
    for (const d of new VirtualCity(scenario).devices) {
      tokens[d.device] = (await auth.createToken({ name: `field ${d.device}`, role: 'device', device: d.device, intersections: [...d.intersections], bays: [...d.bays] }, audit)).token;
    }
    writeFileSync(tokensFile, JSON.stringify(tokens), { mode: 0o600 });
    return { operatorToken };
  } finally {
    await store.close();
  }
}
