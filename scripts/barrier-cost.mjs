// What one step barrier between two threads costs here (issue #18's multi-threaded stepping, on paper):
// the main thread and one worker meet N times over a SharedArrayBuffer (Atomics.wait / notify),
// as a step split over threads would at each of its phases. Prints microseconds per barrier
// (wall; both threads wait), with the load average and cores.   node scripts/barrier-cost.mjs [N]
import { Worker } from 'node:worker_threads';
import { cpus, loadavg } from 'node:os';
const N = Number(process.argv[2] ?? 20000);
const sab = new SharedArrayBuffer(8);
const flag = new Int32Array(sab);
const l0 = loadavg()[0];
const w = new Worker(`
  const { workerData } = require('node:worker_threads');
  const f = new Int32Array(workerData.sab);
  for (let i = 0; i < workerData.N; i++) {
    while (Atomics.load(f, 0) !== 2 * i + 1) Atomics.wait(f, 0, 2 * i);
    Atomics.store(f, 0, 2 * i + 2); Atomics.notify(f, 0);
  }`, { eval: true, workerData: { sab, N } });
await new Promise((r) => w.once('online', r));
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  Atomics.store(flag, 0, 2 * i + 1); Atomics.notify(flag, 0);
  while (Atomics.load(flag, 0) !== 2 * i + 2) Atomics.wait(flag, 0, 2 * i + 1);
}
const us = ((performance.now() - t0) * 1000) / N / 2;
await w.terminate();
console.log(`barrier between 2 threads: ${us.toFixed(1)} us each (${N} round trips, 2 barriers each), ${cpus().length} cores, node ${process.version}, load average ${l0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`);
