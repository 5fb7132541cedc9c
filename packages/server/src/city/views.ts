// The API's read models of a running city: what the routes and the live
// stream answer, built from the runtime alone. Pure (engine + control only),
// so the dashboard's in-browser twin (packages/web/src/fixture) answers with
// the very same shapes as the server.
import type { Simulation } from '@citybrain/engine';
import type { CityRuntime } from './runtime.js';
import type { IntersectionSummary } from '../api/contract.js';

/** The region each signalised intersection belongs to. */
export function regionOf(rt: CityRuntime): Map<number, string> {
  const m = new Map<number, string>();
  for (const r of rt.regions) for (const i of r.intersections) m.set(i, r.id);
  return m;
}

/** `GET /api/v1/intersections`: every signalised intersection with its live signal state. */
export function intersectionSummaries(rt: CityRuntime, regions = regionOf(rt)): IntersectionSummary[] {
  return rt.supervisor.env.intersections.map((ix, k) => {
    const s = rt.supervisor.status[k];
    let queue = 0;
    for (const lane of ix.inLanes) queue += rt.sim.laneWaitingCount(lane);
    return {
      id: ix.id, phase: rt.sim.phase(ix.intersection), green: s.green, yellow: s.yellowLeft > 0,
      controller: rt.assignment.controllerOf(ix.intersection),
      fallback: rt.supervisor.fallen.has(ix.intersection) && !rt.supervisor.relieved.has(ix.intersection), relieved: rt.supervisor.relieved.has(ix.intersection),
      degraded: rt.assignment.blind.has(ix.intersection), mode: rt.plans.mode(ix.id, rt.ts), region: regions.get(ix.intersection) ?? '', queue,
    };
  });
}

/** `GET /api/v1/intersections/:id`: phase timeline, queue per approach, controller in charge; undefined for no signalised intersection of that id. */
export function intersectionDetail(rt: CityRuntime, id: string, regions = regionOf(rt)) {
  const intersections = rt.supervisor.env.intersections;
  const k = intersections.findIndex((ix) => ix.id === id);
  if (k < 0) return undefined;
  const ix = intersections[k];
  const net = rt.sim.net;
  const s = rt.supervisor.status[k];
  const stats = new Float64Array(4);
  const approaches = new Map<string, { road: string; queue: number; vehicles: number; speedSum: number }>();
  for (const lane of ix.inLanes) {
    rt.sim.laneStats(lane, stats);
    const road = net.roadIds[net.laneRoad[lane]];
    const a = approaches.get(road) ?? { road, queue: 0, vehicles: 0, speedSum: 0 };
    a.queue += stats[1];
    a.vehicles += stats[0];
    a.speedSum += stats[2] * stats[0];
    approaches.set(road, a);
  }
  return {
    id: ix.id,
    phase: rt.sim.phase(ix.intersection),
    green: s.green,
    yellow: s.yellowLeft > 0,
    greenSince: s.greenSince,
    greens: ix.greens,
    controller: rt.assignment.controllerOf(ix.intersection),
    fallback: rt.supervisor.fallen.has(ix.intersection) && !rt.supervisor.relieved.has(ix.intersection),
    relieved: rt.supervisor.relieved.has(ix.intersection),
    degraded: rt.assignment.blind.has(ix.intersection),
    mode: rt.plans.mode(ix.id, rt.ts),
    region: regions.get(ix.intersection) ?? '',
    time: rt.sim.time,
    phaseLog: rt.phaseLog.get(ix.intersection) ?? [],
    approaches: [...approaches.values()].map((a) => ({ road: a.road, queue: a.queue, vehicles: a.vehicles, meanSpeed: a.vehicles ? a.speedSum / a.vehicles : null })),
  };
}

/** The live stream's state message without its extras: phases per intersection (-1 unsignalised), lane figures in network lane order, the last KPI sample. */
export function liveStateView(rt: CityRuntime) {
  const net = rt.sim.net;
  const stats = new Float64Array(4);
  const phases = net.interIds.map((_, i) => (rt.sim.phaseCount(i) > 1 ? rt.sim.phase(i) : -1));
  const queue: number[] = new Array(net.nLanes);
  const vehicles: number[] = new Array(net.nLanes);
  const speed: number[] = new Array(net.nLanes);
  for (let l = 0; l < net.nLanes; l++) {
    rt.sim.laneStats(l, stats);
    vehicles[l] = stats[0];
    queue[l] = stats[1];
    speed[l] = Math.round(stats[2] * 10) / 10;
  }
  return {
    type: 'state' as const, t: rt.sim.time, speed: rt.speed, achievedSpeed: rt.achievedSpeed, lagging: rt.lagging, running: rt.isRunning, phases, lanes: { queue, vehicles, speed },
    kpi: rt.kpis.at(-1) ?? null, virtualStreet: rt.street !== undefined, ...streetDemand(rt),
  };
}

/**
 * Where the virtual street's demand stands (only when this server runs one:
 * a brain alone does not know the city's demand): `running`, `ended` (every
 * flow has passed its end; vehicles still drive) or `finished` (and every
 * vehicle has arrived: the scenario is over and the city will stay empty).
 */
export function streetDemand(rt: CityRuntime): { streetDemand?: 'running' | 'ended' | 'finished' } {
  const sim = rt.street?.sim;
  if (!sim) return {};
  if (sim.demandRemaining) return { streetDemand: 'running' };
  return { streetDemand: sim.runningCount === 0 && sim.waitingCount === 0 ? 'finished' : 'ended' };
}

/**
 * The second float of a ground-truth frame. A brain frame holds its vehicle
 * count (>= 0) there, so a client that knows only brain frames refuses a
 * truth frame (a count of -1) instead of drawing the street as the brain's view.
 */
export const TRUTH_FRAME_TAG = -1;

type FrameBuf = { xyhs: Float32Array; ids: Int32Array };

/** [t, (tag,) n, x0, y0, heading0, speed0, …] of the vehicles driving in `sim` now. */
function frame(sim: Simulation, buf: FrameBuf, tag?: number): Float32Array {
  const n = sim.vehicleStates(buf);
  const head = tag === undefined ? 2 : 3;
  const out = new Float32Array(head + 4 * n);
  out[0] = sim.time;
  if (tag !== undefined) out[1] = tag;
  out[head - 1] = n;
  out.set(buf.xyhs.subarray(0, 4 * n), head);
  return out;
}

/** The live binary frame of the brain's view: Float32Array [t, n, x0, y0, heading0, speed0, …] of the vehicles driving in its twin now. */
export function vehicleFrame(rt: CityRuntime, buf: FrameBuf = { xyhs: new Float32Array(0), ids: new Int32Array(0) }): Float32Array {
  return frame(rt.sim, buf);
}

/**
 * The live ground-truth frame: Float32Array [t, TRUTH_FRAME_TAG, n, x0, y0,
 * heading0, speed0, …] of the vehicles driving in the virtual street now (the
 * demo's overlay; the brain never sees it); undefined without a virtual street.
 */
export function truthFrame(rt: CityRuntime, buf: FrameBuf = { xyhs: new Float32Array(0), ids: new Int32Array(0) }): Float32Array | undefined {
  return rt.street && frame(rt.street.sim, buf, TRUTH_FRAME_TAG);
}

/** Active emergency vehicles with their position on the map (x, y in metres; null while waiting to enter). */
export function emergencyView(rt: CityRuntime) {
  const pos = new Float64Array(3);
  return rt.emergency.active().map((e) => {
    const h = rt.sim.vehicleHandle(e.id);
    const running = h >= 0 && e.state === 'running';
    if (running) rt.sim.net.positionAt(rt.sim.vehicleDrivable(h), rt.sim.vehicleDistance(h), pos, 0);
    // where the brain has it from: its AVL unit's last report (and how old), or only its dispatch (null)
    const avl = rt.twin.avlTrack(e.id);
    return {
      ...e, x: running ? Math.round(pos[0] * 10) / 10 : null, y: running ? Math.round(pos[1] * 10) / 10 : null,
      avl: avl ? { age: Math.round((rt.sim.time - avl.at) * 10) / 10, held: avl.held } : null,
    };
  });
}

/** GET /api/v1/simulation: the clock, the speed asked for and achieved, why the loop stopped if it did, and whether a virtual street runs here. */
export function simulationView(rt: CityRuntime) {
  return {
    time: rt.sim.time, speed: rt.speed, running: rt.isRunning, achievedSpeed: rt.achievedSpeed, lagging: rt.lagging, vehicles: rt.sim.runningCount, error: rt.error ?? null,
    virtualStreet: rt.street !== undefined, ...streetDemand(rt),
  };
}

/**
 * GET /api/v1/kpis: the samples between `from` and `to` (simulated seconds);
 * with `from`, the first `limit` from there (paging forward), without it the
 * latest `limit` (what a live chart wants).
 */
export function kpiRange<T extends { t: number }>(kpis: readonly T[], q: { from?: number; to?: number; limit?: number }): T[] {
  const { from, to = Infinity, limit = 360 } = q;
  const rows = kpis.filter((k) => k.t >= (from ?? 0) && k.t <= to);
  return from === undefined ? rows.slice(Math.max(0, rows.length - limit)) : rows.slice(0, limit);
}
