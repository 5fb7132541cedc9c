import { Worker } from 'node:worker_threads';
import type { Order, Page, PageLimits } from './page.js';
import type { ReadReply, ReadRequest } from './sqlite-reader.js';
import { StoreError } from './store.js';

/** Reads waiting for the reader thread beyond which a new one is refused (503, retry): a flood of reads queues no further. */
export const MAX_WAITING_READS = 64;

type Pending = { resolve: (r: ReadReply) => void; reject: (e: Error) => void };
type Request = { t: 'events' | 'audit'; sql: string; params: unknown[]; order: Order; bound: PageLimits } | { t: 'count'; sql: string; params: unknown[] };

/** The API thread's side of the SQLite reader thread (sqlite-reader.ts): one request at a time, answered in order. */
export class ReaderThread {
  private readonly waiting = new Map<number, Pending>();
  private nextId = 1;
  private dead: StoreError | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: ReadReply) => {
      if (!('id' in m)) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.resolve(m);
    });
    const fail = (e: Error) => {
      this.dead ??= new StoreError(`SQLite reader stopped: ${e.message}`);
      for (const w of this.waiting.values()) w.reject(this.dead);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  static async start(path: string): Promise<ReaderThread> {
    const worker = new Worker(new URL('./sqlite-reader.js', import.meta.url), { workerData: { path } });
    await new Promise<void>((ok, fail) => {
      const onMsg = (m: ReadReply) => {
        if ('ready' in m) ok();
        else if ('fatal' in m) fail(new StoreError(`cannot open SQLite database ${path} for reading: ${m.fatal}`));
        else return;
        worker.off('message', onMsg);
      };
      worker.on('message', onMsg);
      worker.once('error', fail);
    });
    return new ReaderThread(worker);
  }

  async page(r: Extract<Request, { t: 'events' | 'audit' }>): Promise<Page> {
    const m = await this.ask(r);
    if ('page' in m) return m.page;
    throw this.failure(m);
  }

  async count(r: Extract<Request, { t: 'count' }>): Promise<number> {
    const m = await this.ask(r);
    if ('n' in m) return m.n;
    throw this.failure(m);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.dead = new StoreError('store is closed');
    const id = this.nextId++;
    this.worker.postMessage({ id, t: 'close' } satisfies ReadRequest);
    await exited;
  }

  private ask(r: Request): Promise<ReadReply> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.waiting.size >= MAX_WAITING_READS) {
      return Promise.reject(new StoreError(`${MAX_WAITING_READS} reads are already waiting for the SQLite reader; retry shortly`));
    }
    const id = this.nextId++;
    return new Promise<ReadReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...r } satisfies ReadRequest);
    });
  }

  private failure(m: ReadReply): StoreError {
    return new StoreError(`SQLite read failed: ${'error' in m ? m.error : JSON.stringify(m)}`);
  }
}
