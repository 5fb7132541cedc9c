/**
 * Tiny hand-built scenarios and state comparisons shared by the simulator's
 * tests. Everything here is plain CityFlow JSON, so the scenarios also pass the
 * loaders' validation (checked in simulation.test.ts).
 */
import assert from 'node:assert/strict';
import type { FlowJson, IntersectionJson, LightPhaseJson, RoadJson, Scenario, Simulation, SimState, VehicleJson } from '@citybrain/engine';

/** CityFlow's default vehicle (the one its flow files and our addVehicle use). */
export const CITYFLOW_VEHICLE: Readonly<VehicleJson> = Object.freeze({
  length: 5, width: 2, maxPosAcc: 2, maxNegAcc: 4.5, usualPosAcc: 2, usualNegAcc: 4.5, minGap: 2.5, maxSpeed: 11.111, headwayTime: 2,
});

function virtualNode(id: string, x: number, roads: string[]): IntersectionJson {
  return { id, point: { x, y: 0 }, width: 0, roads, roadLinks: [], trafficLight: { lightphases: [] }, virtual: true };
}

function road(id: string, from: string, to: string, x0: number, x1: number, lanes: number, maxSpeed: number): RoadJson {
  return {
    id,
    points: [{ x: x0, y: 0 }, { x: x1, y: 0 }],
    lanes: Array.from({ length: lanes }, () => ({ width: 4, maxSpeed })),
    startIntersection: from,
    endIntersection: to,
  };
}

export function flow(route: string[], o: Partial<Omit<FlowJson, 'route' | 'vehicle'>> & { vehicle?: Partial<VehicleJson> } = {}): FlowJson {
  return {
    vehicle: { ...CITYFLOW_VEHICLE, ...o.vehicle },
    route,
    interval: o.interval ?? 1,
    startTime: o.startTime ?? 0,
    endTime: o.endTime ?? -1,
  };
}

/** One road "r" of `length` m from virtual node A (x = 0) to virtual node B: no signal, no junction. */
export function straightRoad(o: { length?: number; lanes?: number; maxSpeed?: number; flows?: FlowJson[] } = {}): Scenario {
  const L = o.length ?? 500;
  return {
    roadnet: {
      intersections: [virtualNode('A', 0, ['r']), virtualNode('B', L, ['r'])],
      roads: [road('r', 'A', 'B', 0, L, o.lanes ?? 2, o.maxSpeed ?? 16.67)],
    },
    flows: o.flows ?? [],
  };
}

/**
 * W (virtual) --"in"--> C (signalised) --"out"--> E (virtual), along the x axis.
 * C has one roadLink (in -> out, straight, lane k to lane k). Lanes of both
 * roads stop `width` m from C, so each lane is `block - width` m long.
 * Default phases: 0 = red (no roadLink), 1 = green.
 */
export const SIGNAL = 'C';
export function oneSignal(o: { block?: number; width?: number; lanes?: number; maxSpeed?: number; phases?: LightPhaseJson[]; flows?: FlowJson[] } = {}): Scenario {
  const block = o.block ?? 300;
  const width = o.width ?? 10;
  const lanes = o.lanes ?? 1;
  const phases = o.phases ?? [{ time: 30, availableRoadLinks: [] }, { time: 30, availableRoadLinks: [0] }];
  const center: IntersectionJson = {
    id: SIGNAL,
    point: { x: 0, y: 0 },
    width,
    roads: ['in', 'out'],
    roadLinks: [{
      type: 'go_straight', startRoad: 'in', endRoad: 'out', direction: 0,
      laneLinks: Array.from({ length: lanes }, (_, k) => ({ startLaneIndex: k, endLaneIndex: k, points: [] })),
    }],
    trafficLight: { roadLinkIndices: [0], lightphases: phases },
    virtual: false,
  };
  return {
    roadnet: {
      intersections: [virtualNode('W', -block, ['in']), center, virtualNode('E', block, ['out'])],
      roads: [road('in', 'W', SIGNAL, -block, 0, lanes, o.maxSpeed ?? 16.67), road('out', SIGNAL, 'E', 0, block, lanes, o.maxSpeed ?? 16.67)],
    },
    flows: o.flows ?? [],
  };
}

export interface VehicleRow {
  id: string;
  drivable: number;
  distance: number;
  speed: number;
}

/** Every running vehicle through the public API, sorted by id (handles may differ between equal states). */
export function vehicleRows(sim: Simulation): VehicleRow[] {
  const rows: VehicleRow[] = [];
  for (const h of sim.runningVehicles()) {
    rows.push({ id: sim.vehicleId(h), drivable: sim.vehicleDrivable(h), distance: sim.vehicleDistance(h), speed: sim.vehicleSpeed(h) });
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Running vehicles grouped per drivable, front (largest distance) first. */
export function vehiclesByDrivable(sim: Simulation): Map<number, VehicleRow[]> {
  const by = new Map<number, VehicleRow[]>();
  for (const r of vehicleRows(sim)) {
    const list = by.get(r.drivable);
    if (list) list.push(r);
    else by.set(r.drivable, [r]);
  }
  for (const list of by.values()) list.sort((a, b) => b.distance - a.distance);
  return by;
}

/**
 * The first field where two states differ bit for bit, or null when they are
 * identical. Typed arrays are compared byte by byte (so -0 vs 0 or two NaN
 * payloads count as differences), lists and maps by value.
 */
export function stateDifference(a: SimState, b: SimState): string | null {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const k of keys) {
    const x = ra[k], y = rb[k];
    if (ArrayBuffer.isView(x) && ArrayBuffer.isView(y)) {
      const bx = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
      const by = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
      if (bx.length !== by.length) return `${k}: length ${bx.length} vs ${by.length}`;
      for (let i = 0; i < bx.length; i++) if (bx[i] !== by[i]) return `${k}: byte ${i}`;
    } else if (x instanceof Map && y instanceof Map) {
      if (JSON.stringify([...x]) !== JSON.stringify([...y])) return `${k}: maps differ`;
    } else if (Array.isArray(x) && Array.isArray(y)) {
      if (JSON.stringify(x) !== JSON.stringify(y)) return `${k}: lists differ`;
    } else if (!Object.is(x, y)) return `${k}: ${String(x)} vs ${String(y)}`;
  }
  return null;
}

/** Asserts two simulations are in the same state: metrics, vehicles through the API, and every state byte. */
export function assertSame(a: Simulation, b: Simulation, what: string): void {
  assert.deepEqual(a.metrics(), b.metrics(), `${what}: metrics`);
  assert.deepEqual(vehicleRows(a), vehicleRows(b), `${what}: vehicles`);
  assert.equal(stateDifference(a.snapshot(), b.snapshot()), null, `${what}: state`);
}

/** Index of an intersection or road by id, failing loudly on a typo. */
export function interIndex(sim: Simulation, id: string): number {
  const i = sim.net.interIndex.get(id);
  if (i === undefined) throw new Error(`no intersection ${id}`);
  return i;
}

/** Drivable id (lane or laneLink) by its string id, e.g. "in_0" or "in_0->out_0". */
export function drivableIndex(sim: Simulation, id: string): number {
  for (let d = 0; d < sim.net.nDrivables; d++) if (sim.net.drivableId(d) === id) return d;
  throw new Error(`no drivable ${id}`);
}
