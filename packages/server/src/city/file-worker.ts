import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module at `url`, unref'd (it does not keep a
 * server that is shutting down alive). Flags that apply only to the main
 * script (e.g. --input-type with -e) are left out: they would stop a file
 * worker from starting.
 */
export function fileWorker(url: URL, workerData: unknown): Worker {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  const worker = new Worker(url, { workerData, execArgv });
  worker.unref();
  return worker;
}
