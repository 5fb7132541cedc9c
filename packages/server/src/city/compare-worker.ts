// Worker-thread entry: one comparison run of built-in controllers, off the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { controllers } from '@citybrain/control';
import { ComparisonRun, type CompareWorkerInit, type CompareWorkerMessage } from './compare.js';

const port = parentPort;
if (!port) throw new Error('compare-worker.js runs only as a worker thread');
const init = workerData as CompareWorkerInit;
const post = (m: CompareWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
let run: ComparisonRun | undefined;
try {
  run = new ComparisonRun(init.scenario, controllers, init.controllers, init.duration, init.sampleEvery, (lane, point, frame) =>
    post({ kind: 'sample', lane, point, frame }, [frame.vehicles.buffer as ArrayBuffer, frame.phases.buffer as ArrayBuffer]));
  // slices only to report progress: nothing else runs in this thread
  await run.run(250, () => post({ kind: 'progress', time: run!.time, faults: run!.faults(), intersections: run!.intersections() }));
  post({ kind: 'end', time: run.time, faults: run.faults(), intersections: run.intersections(), error: null });
} catch (e) {
  post({ kind: 'end', time: run?.time ?? 0, faults: run?.faults() ?? {}, intersections: run?.intersections() ?? {}, error: e instanceof Error ? e.message : String(e) });
}
