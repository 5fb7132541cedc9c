import { Simulation, type Scenario } from '@citybrain/engine';
import { EMERGENCY_VEHICLE, EmergencyPriority, SignalSupervisor, createController } from '@citybrain/control';
import { readReference } from './data.js';
import { HOUR, REFERENCE_SCENARIOS } from './reference.js';
import { round } from '../round.js';
import { table } from '../table.js';
import { UsageError } from '../usage.js';
import { progress } from '../progress.js';

/** The protocol: ten emergency vehicles, one every 300 s from t = 300, on the longest routes of the flow file. */
const SCENARIOS = ['HZ1', 'JN1'];
/** the protocol's max-pressure, the project's improved pressure controller, and fixed time (the plans cities run) for context */
const BASES = ['max-pressure', 'pressure-plus', 'fixed'];
const COUNT = 10;
const FIRST = 300;
const EVERY = 300;
/** late vehicles on long routes finish after the hour: the run goes on until they do, at most this long */
const LIMIT = 7200;
/** targets from the issue */
const TARGET_REDUCTION = 50;
const TARGET_OTHERS = 3;

interface EvRoute {
  id: string;
  dispatchAt: number;
  route: string[];
  metres: number;
}

interface RunOutcome {
  /** travel time per emergency vehicle (s), or the time so far when it had not finished by LIMIT */
  evTimes: { time: number; finished: boolean }[];
  /** ATT at t = 3600 of every vehicle but the emergency ones (the protocol's definition otherwise) */
  othersAtt: number;
  others: number;
}

interface CaseResult {
  controller: string;
  evAttWithout: number;
  evAttWith: number;
  evReductionPercent: number;
  evSpeedup: number;
  evFreeFlow: number;
  evDelayWithout: number;
  evDelayWith: number;
  evDelayReductionPercent: number;
  bestPossibleReductionPercent: number;
  othersAttWithout: number;
  othersAttWith: number;
  othersChangePercent: number;
  otherVehicles: number;
  meetsTargets: boolean;
  unfinishedEvs: number;
  perVehicle: { id: string; dispatchAt: number; roads: number; km: number; freeFlow: number; without: number; with: number }[];
}

export async function benchEmergency(data: string, json: boolean): Promise<void> {
  for (const key of SCENARIOS) {
    const ref = REFERENCE_SCENARIOS.find((r) => r.key === key)!;
    const scenario = readReference(data, ref);
    const evs = emergencyRoutes(scenario, COUNT).map((route, k) => ({ id: `ev${k + 1}`, dispatchAt: FIRST + k * EVERY, ...route }));
    const free = await freeFlowTimes(scenario, evs);
    const freeMean = mean(free);
    const results: CaseResult[] = [];
    const skipped: { controller: string; reason: string }[] = [];
    for (const base of BASES) {
      try {
        createController(base);
      } catch (e) {
        skipped.push({ controller: base, reason: (e as Error).message });
        continue;
      }
      const without = await run(scenario, base, evs, false, `${key} ${base}, no priority`, !json);
      const withP = await run(scenario, base, evs, true, `${key} ${base}, priority`, !json);
      const evWithout = mean(without.evTimes.map((e) => e.time));
      const evWith = mean(withP.evTimes.map((e) => e.time));
      const reduction = (1 - evWith / evWithout) * 100;
      // delay: time lost against driving the route alone under priority; the travel time cannot fall below free flow
      const delayWithout = evWithout - freeMean, delayWith = evWith - freeMean;
      const othersChange = (withP.othersAtt / without.othersAtt - 1) * 100;
      results.push({
        controller: base,
        evAttWithout: round(evWithout, 1),
        evAttWith: round(evWith, 1),
        evReductionPercent: round(reduction, 1),
        evSpeedup: round(evWithout / evWith, 2),
        evFreeFlow: round(freeMean, 1),
        evDelayWithout: round(delayWithout, 1),
        evDelayWith: round(delayWith, 1),
        evDelayReductionPercent: round((1 - delayWith / delayWithout) * 100, 1),
        bestPossibleReductionPercent: round((1 - freeMean / evWithout) * 100, 1),
        othersAttWithout: round(without.othersAtt, 2),
        othersAttWith: round(withP.othersAtt, 2),
        othersChangePercent: round(othersChange, 2),
        otherVehicles: without.others,
        meetsTargets: reduction >= TARGET_REDUCTION && othersChange < TARGET_OTHERS,
        unfinishedEvs: [...without.evTimes, ...withP.evTimes].filter((e) => !e.finished).length,
        perVehicle: evs.map((ev, k) => ({
          id: ev.id, dispatchAt: ev.dispatchAt, roads: ev.route.length, km: round(ev.metres / 1000, 1),
          freeFlow: free[k], without: without.evTimes[k].time, with: withP.evTimes[k].time,
        })),
      });
    }
    const out = {
      scenario: key, vehicles: ref.vehicles,
      protocol: { emergencyVehicles: COUNT, firstAt: FIRST, every: EVERY, vehicle: EMERGENCY_VEHICLE, routes: 'longest loop-free routes of the flow file' },
      results, skipped,
    };
    if (json) console.log(JSON.stringify(out));
    else print(out.scenario, results, skipped, evs);
  }
}

function print(key: string, results: CaseResult[], skipped: { controller: string; reason: string }[], evs: EvRoute[]): void {
  const lens = evs.map((e) => e.route.length);
  console.log(`\n${key}: ${evs.length} emergency vehicles, one every ${EVERY} s from t = ${FIRST}, on the longest loop-free routes of the flow file (${Math.min(...lens)}-${Math.max(...lens)} roads)`);
  for (const r of results) {
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
    console.log(`\nbase controller ${r.controller}`);
    const line = (label: string, text: string) => console.log(`  ${label.padEnd(38)}${text}`);
    const reduction = r.evReductionPercent, others = r.othersChangePercent;
    line("emergency vehicles' mean travel time", `${r.evAttWithout} s without priority, ${r.evAttWith} s with: ${pct(-reduction)} (${r.evSpeedup}x as fast)`);
    line('their delay against free flow', `${r.evDelayWithout} s without, ${r.evDelayWith} s with: ${pct(-r.evDelayReductionPercent)} (free flow ${r.evFreeFlow} s, so at best ${pct(-r.bestPossibleReductionPercent)} travel time)`);
    line(`other vehicles' ATT (${r.otherVehicles})`, `${r.othersAttWithout} s without, ${r.othersAttWith} s with: ${pct(others)}`);
    line('targets', `emergency -${TARGET_REDUCTION}% ${reduction >= TARGET_REDUCTION ? 'met' : 'NOT met'}, others < +${TARGET_OTHERS}% ${others < TARGET_OTHERS ? 'met' : 'NOT met'}`);
    if (r.unfinishedEvs > 0) line('', `${r.unfinishedEvs} runs of an emergency vehicle unfinished at t = ${LIMIT} (time so far counted)`);
    console.log();
    console.log(table(
      ['vehicle', 'dispatch s', 'roads', 'km', 'free flow s', 'without s', 'with s', 'change'],
      r.perVehicle.map((p) => [p.id, p.dispatchAt, p.roads, p.km.toFixed(1), p.freeFlow, p.without, p.with, pct((p.with / p.without - 1) * 100)]),
    ).replace(/^/gm, '  '));
  }
  for (const s of skipped) console.log(`\nbase controller ${s.controller}: skipped (${s.reason})`);
}

/** One run of the hour (longer until every emergency vehicle has arrived), with or without priority. */
async function run(scenario: Scenario, base: string, evs: EvRoute[], priority: boolean, label: string, show: boolean): Promise<RunOutcome> {
  const sim = new Simulation(scenario);
  const controller = createController(base);
  const ep = priority ? new EmergencyPriority(controller, { addVehicle: (v) => sim.addVehicle(v) }) : undefined;
  const sup = new SignalSupervisor(sim, ep ?? controller);
  const bar = progress(LIMIT, label, show);
  let others: { att: number; n: number } | undefined;
  for (let k = 0; k < LIMIT; k++) {
    const t = sim.time;
    // identical vehicles added at identical times in both runs; only the signals differ
    for (const ev of evs) {
      if (ev.dispatchAt !== t) continue;
      if (ep) ep.dispatch({ id: ev.id, route: ev.route });
      else sim.addVehicle({ id: ev.id, route: ev.route, vehicle: EMERGENCY_VEHICLE, ignoreSpeedLimits: true });
    }
    if (t === HOUR) others = othersAtt(sim, evs);
    if (t >= HOUR && evs.every((ev) => sim.vehicleStatus(ev.id).state === 'finished')) break;
    const pending = sup.tick();
    if (pending) await pending;
    sim.step();
    bar.update(k + 1);
  }
  bar.stop();
  if (sup.faults.length > 0) throw new Error(`${label}: controller faults, e.g. ${JSON.stringify(sup.faults[0])}`);
  const evTimes = evs.map((ev) => {
    const s = sim.vehicleStatus(ev.id);
    if (s.state === 'finished') return { time: s.finishTime - s.enterTime, finished: true };
    if (s.state === 'unknown') throw new Error(`${label}: emergency vehicle ${ev.id} was never added`);
    return { time: sim.time - s.enterTime, finished: false };
  });
  others ??= othersAtt(sim, evs);
  return { evTimes, othersAtt: others.att, others: others.n };
}

/**
 * Each emergency vehicle's free-flow time: its route driven alone in the
 * network (no other traffic) with priority, so every light is green for it.
 */
async function freeFlowTimes(scenario: Scenario, evs: EvRoute[]): Promise<number[]> {
  const out: number[] = [];
  for (const ev of evs) {
    const sim = new Simulation({ ...scenario, flows: [] });
    const ep = new EmergencyPriority(createController('fixed'), { addVehicle: (v) => sim.addVehicle(v) });
    const sup = new SignalSupervisor(sim, ep);
    ep.dispatch({ id: ev.id, route: ev.route });
    for (let k = 0; k < LIMIT && sim.vehicleStatus(ev.id).state !== 'finished'; k++) {
      const pending = sup.tick();
      if (pending) await pending;
      sim.step();
    }
    const s = sim.vehicleStatus(ev.id);
    if (s.state !== 'finished') throw new Error(`emergency vehicle ${ev.id} did not finish its route alone within ${LIMIT} s`);
    out.push(s.finishTime - s.enterTime);
  }
  return out;
}

/** The protocol's ATT with the emergency vehicles taken out: every other vehicle generated so far, finished or not. */
function othersAtt(sim: Simulation, evs: EvRoute[]): { att: number; n: number } {
  const m = sim.metrics();
  let evTotal = 0, evN = 0;
  for (const ev of evs) {
    const s = sim.vehicleStatus(ev.id);
    if (s.state === 'unknown') continue;
    evTotal += (s.state === 'finished' ? s.finishTime : sim.time) - s.enterTime;
    evN++;
  }
  const n = m.enteredVehicles - evN;
  return { att: (m.averageTravelTime * m.enteredVehicles - evTotal) / n, n };
}

/**
 * The `count` longest distinct routes of the flow file that visit no
 * intersection twice (an emergency vehicle does not drive loops): by number
 * of roads, then length, then first appearance. Deterministic for a given file.
 */
export function emergencyRoutes(scenario: Scenario, count: number): { route: string[]; metres: number }[] {
  const roads = new Map(scenario.roadnet.roads.map((r) => [r.id, r]));
  const seen = new Set<string>();
  const cands: { route: string[]; metres: number; order: number }[] = [];
  scenario.flows.forEach((f, order) => {
    const key = f.route.join(' ');
    if (seen.has(key)) return;
    seen.add(key);
    const rs = f.route.map((id) => roads.get(id)!);
    const inters = [rs[0].startIntersection, ...rs.map((r) => r.endIntersection)];
    if (new Set(inters).size !== inters.length) return;
    let metres = 0;
    for (const r of rs) for (let i = 1; i < r.points.length; i++) metres += Math.hypot(r.points[i].x - r.points[i - 1].x, r.points[i].y - r.points[i - 1].y);
    cands.push({ route: f.route, metres, order });
  });
  if (cands.length < count) throw new UsageError(`the flow file has only ${cands.length} loop-free routes, ${count} needed`);
  cands.sort((a, b) => b.route.length - a.route.length || b.metres - a.metres || a.order - b.order);
  return cands.slice(0, count).map(({ route, metres }) => ({ route, metres }));
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
