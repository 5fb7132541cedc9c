// Worker-thread entry: holds one Simulation of the scenario and scores rollouts from states the main thread posts.
import { parentPort, workerData } from 'node:worker_threads';
import { Simulation } from '@citybrain/engine';
import { intersectionPhases, RolloutRunner, RunnerCache, type RolloutParams } from '@citybrain/control';
import type { EvaluateRequest, WorkerInit, WorkerReply } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('@citybrain/workers: worker.js runs only as a worker thread');
const init = workerData as WorkerInit;
const sim = new Simulation(init.scenario, init.simulation);
const ixs = intersectionPhases(sim);
const runners = new RunnerCache();
warmUp();

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

/**
 * One short rollout from the scenario's start before reporting ready, so the
 * first real decision does not pay for compiling the simulation code (on a
 * 36 x 36 grid that first decision took over a second, past the supervisor's
 * default budget).
 */
function warmUp(): void {
  const n = ixs.length;
  const params: RolloutParams = {
    horizon: 60,
    base: { kind: 'pressure-plus', period: 5, periodSteps: 5, range: null, keepWeight: 2, entryQueue: true, gapOut: 50 },
    rules: { yellowSteps: 5, minGreen: 5 },
    yellowTime: 5,
  };
  const signals = { green: Int32Array.from(ixs, (ix) => ix.greens[0] ?? 0), greenSince: new Float64Array(n), yellowLeft: new Int32Array(n) };
  const fork = sim.fork();
  for (const ix of ixs) fork.setPhase(ix.intersection, ix.greens[0] ?? 0);
  new RolloutRunner(sim.net, ixs, params).run(fork, signals, { phase: new Int32Array(n).fill(-1), hold: new Int32Array(n) });
}
