// Worker-thread entry: holds one Simulation of the scenario and scores rollouts from states the main thread posts.
import { parentPort, workerData } from 'node:worker_threads';
import { Simulation } from '@citybrain/engine';
import { intersectionPhases, RunnerCache, warmUpRollouts } from '@citybrain/control';
import type { EvaluateRequest, WorkerInit, WorkerReply } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('@citybrain/workers: worker.js runs only as a worker thread');
const init = workerData as WorkerInit;
const sim = new Simulation(init.scenario, init.simulation);
const ixs = intersectionPhases(sim);
const runners = new RunnerCache();
warmUpRollouts(sim, ixs);

port.on('message', (req: EvaluateRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    if (req.intersections !== ixs.length) {
      throw new Error(`the main thread controls ${req.intersections} intersections, this worker's scenario has ${ixs.length}: not the same scenario`);
    }
    sim.importState(req.state);
    const runner = runners.get(sim, ixs, req.params);
    // the imported state is this worker's own: the last plan may run on it, the others on forks
    const costs = req.plans.map((plan, j) => runner.run(j === req.plans.length - 1 ? sim : runner.copyOf(sim), req.signals, plan, req.sotl));
    for (const c of costs) transfer.push(c.buffer as ArrayBuffer);
    reply = { id: req.id, costs };
  } catch (e) {
    reply = { id: req.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply, transfer);
});
port.postMessage({ ready: true } satisfies WorkerReply);
