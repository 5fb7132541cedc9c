// Worker-thread entry: hosts the city's heavy controllers (their rollouts take tens to hundreds of ms a decision),
// so their decisions never hold the server's event loop. The main thread keeps the supervisor and the street.
import { parentPort, workerData } from 'node:worker_threads';
import { Simulation } from '@citybrain/engine';
import {
  controllers, freezeIntersection, intersectionPhases, mayChange, signalRules, twinView, warmUpRollouts, type ControlEnv, type Controller, type IntersectionPhases, type Observed, type SignalRules,
} from '@citybrain/control';
import type { ControllerReply, ControllerRequest, ControllerWorkerInit, ViewData } from './controller-protocol.js';

const port = parentPort;
if (!port) throw new Error('controller-worker.js runs only as a worker thread');
const init = workerData as ControllerWorkerInit;
// a copy of the brain's twin, loaded from its exported state at each request
const twin = new Simulation({ ...init.scenario, flows: [] }, { seed: init.seed });
const view = twinView(twin, 'brain');
const nLanes = twin.net.nLanes;
const observed = { vehicles: new Int32Array(nLanes), queue: new Int32Array(nLanes), reportedAt: new Float64Array(nLanes), counted: new Float64Array(nLanes), seen: new Float64Array(nLanes), confirmedPhase: new Int32Array(twin.net.interIds.length) };
const observedView: Observed = Object.freeze({ ...observed });
// the same list, in the same order, as the main thread's supervisor derives (and frozen, as it hands them out)
const phases = intersectionPhases(twin);
for (const ix of phases) freezeIntersection(ix);
const intersections: readonly IntersectionPhases[] = Object.freeze(phases);
const slots = new Map<number, { controller: Controller; env: ControlEnv; rules: SignalRules }>();

function load(v: ViewData): void {
  twin.importState(v.state);
  observed.vehicles.set(v.vehicles);
  observed.queue.set(v.queue);
  observed.reportedAt.set(v.reportedAt);
  observed.counted.set(v.counted);
  observed.seen.set(v.seen);
  observed.confirmedPhase.set(v.confirmedPhase);
}

async function handle(req: ControllerRequest): Promise<ControllerReply | undefined> {
  if (req.kind === 'drop') {
    slots.delete(req.slot);
    return undefined;
  }
  load(req.view);
  if (req.kind === 'init') {
    const make = Object.hasOwn(controllers, req.name) ? controllers[req.name] : undefined;
    if (!make) throw new Error(`the controller worker has no controller "${req.name}"`);
    const env: ControlEnv = Object.freeze({ twin: view, observed: observedView, net: twin.net, intersections, yellowTime: req.yellowTime, minGreen: req.minGreen });
    const controller = make();
    slots.set(req.slot, { controller, env, rules: signalRules(env) });
    await controller.init?.(env);
    return { id: req.id, ok: true };
  }
  const slot = slots.get(req.slot);
  if (!slot) throw new Error(`no controller in slot ${req.slot} (it failed to start)`);
  const { controller, env, rules } = slot;
  await controller.beginStep?.(env);
  // the decisions the supervisor is about to ask for: its own rule (SignalSupervisor.decideAll), on its own status
  const s = req.status;
  const n = intersections.length;
  const wants = new Float64Array(n).fill(NaN);
  const errors: (string | null)[] = new Array<string | null>(n).fill(null);
  for (let k = 0; k < n; k++) {
    if (!s.inCharge[k] || !mayChange(s, k, twin.time, rules)) continue;
    try {
      const want: unknown = controller.decide(intersections[k], Object.freeze({ green: s.green[k], greenSince: s.greenSince[k], yellowLeft: s.yellowLeft[k] }), env);
      // the supervisor judges a number; anything else cannot be posted as one, so it is refused here in the supervisor's words
      if (typeof want === 'number') wants[k] = want;
      else errors[k] = `answered phase ${String(want)}, not one of ${intersections[k].greens.join(', ')}`;
    } catch (e) {
      errors[k] = e instanceof Error ? e.message : String(e);
    }
  }
  return { id: req.id, wants, errors };
}

// one request at a time, in order: a controller's steps must not interleave
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: ControllerRequest) => {
  queue = queue.then(async () => {
    let reply: ControllerReply | undefined;
    try {
      reply = await handle(req);
    } catch (e) {
      if (req.kind !== 'drop') reply = { id: req.id, error: e instanceof Error ? e.message : String(e) };
    }
    if (reply) port.postMessage(reply);
  });
});
// the first decision must not pay for compiling the simulation code
warmUpRollouts(twin, intersections);
port.postMessage({ ready: true } satisfies ControllerReply);

