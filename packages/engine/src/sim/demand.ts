import type { VehicleJson } from '../format/cityflow.js';
import type { Network } from './network.js';
import { isMt19937 } from './rng.js';
import { DRAWN, type SimState } from './state.js';
import { alloc, enqueue } from './occupancy.js';
import { dropped, initVehicle, placePending, spawn, spawnUnplaced } from './population.js';
import { PARAM_KEYS, type FlowTable } from './flows.js';
import { drawnPath, pathLength, pathOffset, type PathSpace } from './paths.js';

/**
 * Demand: each step's vehicles of the flows (CityFlow's order) and of the entry rates (routes
 * drawn from the turning weights), and the setters of rates, weights and drawn vehicles'
 * parameters, which are part of the state.
 */

/** an arrival owed within this of a whole one is due (rate * interval summed in floating point) */
const CREDIT_EPS = 1e-9;

/**
 * Generates this step's vehicles into their boundary queues: the active flows' (in
 * index order), then one per whole arrival owed on each lane with an entry rate.
 * `pending` is scratch for random: 'cityflow' (the vehicles whose first lane is drawn
 * after all are generated, as CityFlow's planRoute does); returns it, grown if it had to.
 */
export function generate(net: Network, st: SimState, F: FlowTable, ps: PathSpace, dt: number, pending: Int32Array): Int32Array {
  const now = st.step * dt;
  const active = st.fActive;
  // the active flows stay in index order, the order CityFlow steps its flows in: it fixes
  // the order of same-step vehicles in a lane's queue and of their random draws
  while (st.nextFlow < F.n && F.start[F.order[st.nextFlow]] <= now) {
    const f = F.order[st.nextFlow++];
    let a = st.nActive++;
    for (; a > 0 && active[a - 1] > f; a--) active[a] = active[a - 1];
    active[a] = f;
  }
  const cityflow = isMt19937(st.rng);
  let nPending = 0;
  for (let a = 0; a < st.nActive; a++) {
    const f = active[a];
    const end = F.end[f];
    if (end !== -1 && now > end) {
      active.copyWithin(a, a + 1, st.nActive--);
      a--;
      continue;
    }
    const interval = F.interval[f];
    while (st.fNow[f] >= interval) {
      if (F.firstRoad[f] < 0) dropped(st);
      else if (cityflow) {
        if (nPending === pending.length) {
          const grown = new Int32Array(pending.length * 2);
          grown.set(pending);
          pending = grown;
        }
        pending[nPending++] = spawnUnplaced(st, F, f, now, dt);
      } else spawn(st, F, f, now, dt);
      st.fNow[f] -= interval;
    }
    st.fNow[f] += dt;
    // CityFlow generates a dropped flow's vehicles in its first step, finds no route for them and stops the flow
    if (F.firstRoad[f] < 0) {
      active.copyWithin(a, a + 1, st.nActive--);
      a--;
    }
  }
  if (nPending > 0) placePending(st, F, pending, nPending);
  // demand as entry rates: a vehicle for each whole arrival owed
  for (let i = 0; i < st.nRated; i++) {
    const lane = st.ratedLanes[i];
    let owed = st.entryCredit[lane] + st.entryRate[lane] * dt;
    for (; owed >= 1 - CREDIT_EPS; owed -= 1) {
      const code = drawnPath(net, st, ps, lane);
      const v = alloc(st);
      initVehicle(st, v, st.drawnParams, 0, DRAWN, st.drawn++, pathOffset(code), pathLength(code), now, dt);
      enqueue(st, v, lane);
    }
    st.entryCredit[lane] = owed;
  }
  return pending;
}

/** Simulation.setEntryRate: `rate` vehicles per second arrive on `lane` (checked by the caller) from outside. */
export function setEntryRate(net: Network, st: SimState, lane: number, rate: number): void {
  if (!(typeof rate === 'number' && rate >= 0 && rate < Infinity)) {
    throw new RangeError(`setEntryRate: rate on lane ${net.drivableId(lane)} must be a finite number >= 0 vehicles/s, got ${rate}`);
  }
  const had = st.entryRate[lane] > 0, has = rate > 0;
  st.entryRate[lane] = rate;
  if (had === has) return;
  // ratedLanes stays ascending: lanes draw in index order whatever order rates were set in
  let i = 0;
  while (i < st.nRated && st.ratedLanes[i] < lane) i++;
  if (has) {
    st.ratedLanes.copyWithin(i + 1, i, st.nRated++);
    st.ratedLanes[i] = lane;
  } else st.ratedLanes.copyWithin(i, i + 1, st.nRated--);
}

/** Simulation.setTurnWeights: one finite weight >= 0 per laneLink, checked, then copied into the state. */
export function setTurnWeights(net: Network, st: SimState, weights: ArrayLike<number>): void {
  const n = net.nLinks;
  if (weights?.length !== n) throw new RangeError(`setTurnWeights: weights must have one number per lane link (${n}), got ${weights?.length ?? weights}`);
  for (let k = 0; k < n; k++) {
    const w = weights[k];
    if (!(typeof w === 'number' && w >= 0 && w < Infinity)) {
      throw new RangeError(`setTurnWeights: weights[${k}] (lane link ${net.drivableId(net.nLanes + k)}) must be a finite number >= 0, got ${w}`);
    }
  }
  // a drawn route's path avoids links of weight 0 (buildPathInto): paths cached under other zeros are drawn anew
  const tw = st.turnWeight;
  let zerosChanged = false;
  for (let k = 0; k < n && !zerosChanged; k++) zerosChanged = (tw[k] > 0) !== (weights[k] > 0);
  tw.set(weights);
  if (zerosChanged) st.drawnPaths.clear();
}

/** The parameters of drawn and placed vehicles a user may set (weather, vehicle mix). */
export type DrawnVehicleParams = Partial<Pick<VehicleJson, 'maxSpeed' | 'headwayTime' | 'minGap' | 'usualPosAcc' | 'usualNegAcc'>>;
const DRAWN_KEYS: readonly string[] = ['maxSpeed', 'headwayTime', 'minGap', 'usualPosAcc', 'usualNegAcc'] satisfies (keyof DrawnVehicleParams)[];

/** Simulation.setDrawnVehicleParams: each given parameter checked (positive and finite; a minGap may be 0), then set. */
export function setDrawnVehicleParams(st: SimState, params: DrawnVehicleParams): void {
  const p = st.drawnParams;
  for (const [k, v] of Object.entries(params)) {
    const i = PARAM_KEYS.indexOf(k as keyof VehicleJson);
    if (i < 0 || !DRAWN_KEYS.includes(k)) throw new RangeError(`setDrawnVehicleParams: ${k} is not a parameter it sets (${DRAWN_KEYS.join(', ')})`);
    if (!(typeof v === 'number' && v > 0 && v < Infinity) && !(k === 'minGap' && v === 0)) throw new RangeError(`setDrawnVehicleParams: ${k} must be a positive finite number, got ${v}`);
    p[i] = v;
  }
}
