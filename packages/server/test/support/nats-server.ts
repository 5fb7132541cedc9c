/**
 * A real nats-server with JetStream for the cluster tests: on a free port,
 * its store in a temporary folder that outlives a stop, so `restart` brings
 * back the same streams (as a restarted node would).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER = process.env.CITYBRAIN_NATS_SERVER ?? '/usr/sbin/nats-server';

/** Why the tests cannot run a nats-server, or undefined when they can. */
export function natsServerUnavailable(): string | undefined {
  return existsSync(NATS_SERVER) ? undefined : `${NATS_SERVER} not found (apt-get install nats-server): NATS JetStream tests skipped`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function listening(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const c = net.connect({ host: '127.0.0.1', port });
      c.once('connect', () => {
        c.destroy();
        resolve();
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > end) reject(new Error(`nats-server did not listen on ${port} within ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export class NatsServer {
  private proc: ChildProcess | undefined;
  private log = '';

  private constructor(readonly port: number, readonly dir: string) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<NatsServer> {
    const s = new NatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'citybrain-nats-')));
    await s.restart();
    return s;
  }

  /** Starts it (again) on the same port and store. */
  async restart(): Promise<void> {
    if (this.proc) throw new Error('nats-server is running');
    const p = spawn(NATS_SERVER, ['-js', '-sd', this.dir, '-p', String(this.port), '-a', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc = p;
    try {
      await listening(this.port, 10_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; its output:\n${this.log}`);
    }
  }

  /** Stops it (SIGTERM, as an operator or a node's shutdown would; SIGKILL after 5 s); restart brings its streams back. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = undefined;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
