import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { generateGrid, LINK_PRIORITY, Simulation, TURN_SPEED, type Scenario } from '@citybrain/engine';
import { DEFAULT_CONTROLLER, EMERGENCY_VEHICLE, EmergencyPriority, SignalSupervisor, createController, type Controller } from '@citybrain/control';
import { readReference } from './data.js';
import { make } from './control.js';
import { HOUR, REFERENCE_SCENARIOS } from './reference.js';
import { round } from '../round.js';
import { table } from '../table.js';
import { gridOption, UsageError } from '../usage.js';
import { progress } from '../progress.js';

export const benchEmergencyHelp = `citybrain bench emergency [options]

Emergency vehicles with and without signal priority (issue #16): ten of them,
one every 300 s from t = 300, on the longest loop-free routes of the flow file,
each run with and without priority under the same controller. Their delay is
their travel time above their free-flow time (the route driven alone, every
light green); the bench prints the share of that delay priority removes, the
other vehicles' ATT change, the targets (delay removed >= 75%, aim 90%; others'
ATT < +3%) met or not, and where the delay left goes.

  --data DIR          the shared real-data folder (default ../shared/data)
  --scenarios LIST    comma-separated, of HZ1, JN1, grid; default HZ1,JN1,grid
  --grid RxC          the generated grid (1xN: an arterial); default 4x4, 0.06 veh/s per route
  --controllers LIST  default max-pressure (the issue's protocol) and
                      schedule (serve's default, the lowest ATT of bench control
                      on every real scenario, README "Control")
  --no-siren          the emergency vehicles' sirens off, in the runs with and
                      without priority alike: no vehicle overtakes, and one
                      follows the vehicles ahead at their lane's limit, which
                      no signal changes (the bench prints the share of the
                      delay signals could remove at most). By default (or
                      --siren) they are on, as on an emergency run and as
                      serve dispatches them: the law grants an emergency
                      vehicle its exemptions (here: its lanes' speed limits)
                      only with its siren and lights on, and then moving
                      vehicles ahead of it on its lane give way and it passes
                      them
  --json              machine-readable output`;

const COUNT = 10;
const FIRST = 300;
const EVERY = 300;
/** late vehicles on long routes finish after the hour: the run goes on until they do, at most this long */
const LIMIT = 7200;
/** the protocol's controller, and the best of bench control (lowest ATT on HZ1, HZ2, JN1, JN2, JN3), serve's default */
const CONTROLLERS = ['max-pressure', DEFAULT_CONTROLLER];
const GRID_DEMAND = 0.06;
/** targets from the issue: share of the emergency vehicles' delay removed, and the most other vehicles' ATT may rise */
const TARGET_REMOVED = 75;
const AIM_REMOVED = 90;
const TARGET_OTHERS = 3;
/**
 * metres: a vehicle this close ahead of an emergency vehicle on its lane holds
 * it back (at 16.7 m/s behind one at 11.1 m/s: 2 s headway plus the braking
 * distance between the two speeds, about 50 m)
 */
const FOLLOW_GAP = 60;

interface EvRoute {
  id: string;
  dispatchAt: number;
  route: string[];
  metres: number;
}

/** Seconds an emergency vehicle lost, by cause (see `Losses`). */
interface Losses {
  /** behind a vehicle driving at its lane's limit: vehicles do not overtake in this model, so no signal can win these back */
  followingAtLimit: number;
  /** behind a stopped or slower vehicle: a queue, or one starting from it */
  queue: number;
  /** nothing close ahead, its light red or yellow */
  signal: number;
  /** waiting at the boundary to enter its first lane */
  entry: number;
  /** the rest of the delay: speeding up and slowing down beyond what the route alone needs */
  other: number;
}

interface RunOutcome {
  /** travel time per emergency vehicle (s), or the time so far when it had not finished by LIMIT */
  evTimes: { time: number; finished: boolean }[];
  /** seconds lost per cause, summed over the emergency vehicles, against driving at their free speed */
  lost: Omit<Losses, 'other'>;
  /** ATT at t = 3600 of every vehicle but the emergency ones (the protocol's definition otherwise) */
  othersAtt: number;
  others: number;
  wallSeconds: number;
}

interface CaseResult {
  controller: string;
  evAttWithout: number;
  evAttWith: number;
  evFreeFlow: number;
  evDelayWithout: number;
  evDelayWith: number;
  /** the measure: share of the delay (travel time above free flow) priority removes */
  delayRemovedPercent: number;
  /**
   * the most signals could remove: the share of the delay without priority
   * not spent, with priority, behind a vehicle at its lane's limit (no
   * overtaking with sirens off; none of it with sirens on)
   */
  signalCeilingPercent: number;
  othersAttWithout: number;
  othersAttWith: number;
  othersChangePercent: number;
  otherVehicles: number;
  targets: { delayRemoved: number; aim: number; othersBelow: number; delayRemovedMet: boolean; aimMet: boolean; othersMet: boolean; met: boolean };
  /** the mean delay per emergency vehicle by cause, without and with priority (each sums to the delay) */
  delayCausesWithout: Losses;
  delayCausesWith: Losses;
  unfinishedEvs: number;
  wallSeconds: number;
  perVehicle: { id: string; dispatchAt: number; roads: number; km: number; freeFlow: number; without: number; with: number }[];
}

export async function benchEmergency(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '../shared/data' }, scenarios: { type: 'string' }, grid: { type: 'string' }, controllers: { type: 'string' },
      siren: { type: 'boolean' }, 'no-siren': { type: 'boolean' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(benchEmergencyHelp);
  const json = values.json!;
  if (values.siren && values['no-siren']) throw new UsageError('--siren and --no-siren: give one of them');
  const siren = !values['no-siren'];
  const list = (v: string | undefined, def: string[]) => (v === undefined ? def : v.split(',').map((x) => x.trim()).filter((x) => x !== ''));
  const names = list(values.controllers, CONTROLLERS);
  if (names.length === 0) throw new UsageError('--controllers: name at least one controller');
  for (const c of names) {
    try {
      createController(c);
    } catch (e) {
      throw new UsageError(`--controllers: ${(e as Error).message}`);
    }
  }
  const { rows, cols } = gridOption(values.grid, '4x4');
  const scenarios: { key: string; scenario: Scenario }[] = [];
  for (const key of list(values.scenarios, ['HZ1', 'JN1', 'grid'])) {
    if (key === 'grid') {
      scenarios.push({ key: `grid ${rows}x${cols}`, scenario: generateGrid({ rows, cols, demand: GRID_DEMAND }) });
      continue;
    }
    const ref = REFERENCE_SCENARIOS.find((r) => r.key === key);
    if (!ref) throw new UsageError(`--scenarios: unknown scenario "${key}"; choose from ${REFERENCE_SCENARIOS.map((r) => r.key).join(', ')}, grid`);
    scenarios.push({ key, scenario: readReference(values.data!, ref) });
  }
  for (const { key, scenario } of scenarios) {
    const conditions = { cores: cpus().length, load1: round(loadavg()[0], 2) };
    const evs = emergencyRoutes(scenario, COUNT).map((route, k) => ({ id: `ev${k + 1}`, dispatchAt: FIRST + k * EVERY, ...route }));
    const free = await freeFlowTimes(scenario, evs);
    const freeMean = mean(free);
    const results: CaseResult[] = [];
    const skipped: { controller: string; reason: string }[] = [];
    for (const base of names) {
      const without = await run(scenario, base, evs, false, siren, `${key} ${base}, no priority`, !json);
      const withP = await run(scenario, base, evs, true, siren, `${key} ${base}, priority`, !json);
      if ('skip' in without || 'skip' in withP) {
        skipped.push({ controller: base, reason: 'skip' in without ? without.skip : (withP as { skip: string }).skip });
        continue;
      }
      results.push(compare(base, evs, free, freeMean, without, withP));
    }
    const out = {
      scenario: key,
      protocol: { emergencyVehicles: COUNT, firstAt: FIRST, every: EVERY, vehicle: EMERGENCY_VEHICLE, siren, routes: 'longest loop-free routes of the flow file' },
      machine: { ...conditions, load1AtEnd: round(loadavg()[0], 2) },
      results, skipped,
    };
    if (json) console.log(JSON.stringify(out));
    else print(key, results, skipped, evs, out.machine, siren);
  }
}

function compare(controller: string, evs: EvRoute[], free: number[], freeMean: number, without: RunOutcome, withP: RunOutcome): CaseResult {
  const evWithout = mean(without.evTimes.map((e) => e.time));
  const evWith = mean(withP.evTimes.map((e) => e.time));
  // delay: time lost against driving the route alone under priority; the travel time cannot fall below free flow
  const delayWithout = evWithout - freeMean, delayWith = evWith - freeMean;
  const removed = (1 - delayWith / delayWithout) * 100;
  const ceiling = (1 - withP.lost.followingAtLimit / evs.length / delayWithout) * 100;
  const othersChange = (withP.othersAtt / without.othersAtt - 1) * 100;
  const targets = {
    delayRemoved: TARGET_REMOVED, aim: AIM_REMOVED, othersBelow: TARGET_OTHERS,
    delayRemovedMet: removed >= TARGET_REMOVED, aimMet: removed >= AIM_REMOVED, othersMet: othersChange < TARGET_OTHERS,
    met: removed >= TARGET_REMOVED && othersChange < TARGET_OTHERS,
  };
  return {
    controller,
    evAttWithout: round(evWithout, 1),
    evAttWith: round(evWith, 1),
    evFreeFlow: round(freeMean, 1),
    evDelayWithout: round(delayWithout, 1),
    evDelayWith: round(delayWith, 1),
    delayRemovedPercent: round(removed, 1),
    signalCeilingPercent: round(Math.min(100, ceiling), 1),
    othersAttWithout: round(without.othersAtt, 2),
    othersAttWith: round(withP.othersAtt, 2),
    othersChangePercent: round(othersChange, 2),
    otherVehicles: without.others,
    targets,
    delayCausesWithout: causes(without.lost, delayWithout, evs.length),
    delayCausesWith: causes(withP.lost, delayWith, evs.length),
    unfinishedEvs: [...without.evTimes, ...withP.evTimes].filter((e) => !e.finished).length,
    wallSeconds: round(without.wallSeconds + withP.wallSeconds, 1),
    perVehicle: evs.map((ev, k) => ({
      id: ev.id, dispatchAt: ev.dispatchAt, roads: ev.route.length, km: round(ev.metres / 1000, 1),
      freeFlow: free[k], without: without.evTimes[k].time, with: withP.evTimes[k].time,
    })),
  };
}

/** Per vehicle, the delay by cause: the causes measured, and the rest of the delay as `other`. */
function causes(lost: Omit<Losses, 'other'>, delay: number, n: number): Losses {
  const followingAtLimit = lost.followingAtLimit / n, queue = lost.queue / n, signal = lost.signal / n, entry = lost.entry / n;
  return {
    followingAtLimit: round(followingAtLimit, 1), queue: round(queue, 1), signal: round(signal, 1), entry: round(entry, 1),
    other: round(delay - followingAtLimit - queue - signal - entry, 1),
  };
}

function print(key: string, results: CaseResult[], skipped: { controller: string; reason: string }[], evs: EvRoute[], machine: { cores: number; load1: number; load1AtEnd: number }, siren: boolean): void {
  const lens = evs.map((e) => e.route.length);
  console.log(`\n${key}: ${evs.length} emergency vehicles, one every ${EVERY} s from t = ${FIRST}, on the longest loop-free routes of the flow file (${Math.min(...lens)}-${Math.max(...lens)} roads); ${siren ? 'sirens on: moving vehicles ahead give way' : 'sirens off: no vehicle overtakes'}`);
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  for (const r of results) {
    console.log(`\ncontroller ${r.controller}`);
    const line = (label: string, text: string) => console.log(`  ${label.padEnd(38)}${text}`);
    line("emergency vehicles' mean travel time", `${r.evAttWithout} s without priority, ${r.evAttWith} s with (free flow ${r.evFreeFlow} s)`);
    line('their delay (above free flow)', `${r.evDelayWithout} s without, ${r.evDelayWith} s with: ${r.delayRemovedPercent.toFixed(1)}% of it removed`);
    if (r.signalCeilingPercent < 99.95) line('', `${r.delayCausesWith.followingAtLimit} s of it behind vehicles at their lane's limit, which no signal changes: signals could remove ${r.signalCeilingPercent.toFixed(1)}% at most`);
    line(`other vehicles' ATT (${r.otherVehicles})`, `${r.othersAttWithout} s without, ${r.othersAttWith} s with: ${pct(r.othersChangePercent)}`);
    const t = r.targets;
    line('targets', `delay removed >= ${t.delayRemoved}%: ${yn(t.delayRemovedMet)} (aim ${t.aim}%: ${yn(t.aimMet)}); others < +${t.othersBelow}%: ${yn(t.othersMet)}`);
    if (r.unfinishedEvs > 0) line('', `${r.unfinishedEvs} runs of an emergency vehicle unfinished at t = ${LIMIT} (time so far counted)`);
    line('wall time, both runs', `${r.wallSeconds} s (${machine.cores} cores, load average ${machine.load1} at the start of the scenario, ${machine.load1AtEnd} at its end)`);
    console.log('\n  delay per emergency vehicle by cause (s):');
    const row = (label: string, c: Losses) => [label, c.followingAtLimit, c.queue, c.signal, c.entry, c.other];
    console.log(table(
      ['', 'behind a vehicle at its lane limit', 'behind a queue or slower vehicle', 'at a red or yellow', 'entering', 'other'],
      [row('without priority', r.delayCausesWithout), row('with priority', r.delayCausesWith)],
    ).replace(/^/gm, '  '));
    console.log();
    console.log(table(
      ['vehicle', 'dispatch s', 'roads', 'km', 'free flow s', 'without s', 'with s', 'change'],
      r.perVehicle.map((p) => [p.id, p.dispatchAt, p.roads, p.km.toFixed(1), p.freeFlow, p.without, p.with, pct((p.with / p.without - 1) * 100)]),
    ).replace(/^/gm, '  '));
  }
  for (const s of skipped) console.log(`\ncontroller ${s.controller}: skipped (${s.reason})`);
  if (results.length > 0) {
    console.log(`\n${key} summary:`);
    console.log(table(
      ['controller', 'EV delay without s', 'with s', 'removed', `>= ${TARGET_REMOVED}%`, `aim ${AIM_REMOVED}%`, "others' ATT", `< +${TARGET_OTHERS}%`],
      results.map((r) => [r.controller, r.evDelayWithout, r.evDelayWith, `${r.delayRemovedPercent.toFixed(1)}%`, yn(r.targets.delayRemovedMet), yn(r.targets.aimMet), pct(r.othersChangePercent), yn(r.targets.othersMet)]),
    ).replace(/^/gm, '  '));
  }
}

/** One run of the hour (longer until every emergency vehicle has arrived), with or without priority. */
async function run(scenario: Scenario, base: string, evs: EvRoute[], priority: boolean, siren: boolean, label: string, show: boolean): Promise<RunOutcome | { skip: string }> {
  const made = await make(base, scenario);
  if ('skip' in made) return made;
  const t0 = performance.now();
  try {
    const sim = new Simulation(scenario);
    const controller: Controller = made.controller;
    const ep = priority ? new EmergencyPriority(controller, { addVehicle: (v) => sim.addVehicle(v) }) : undefined;
    const sup = new SignalSupervisor(sim, ep ?? controller);
    const losses = lossMeter(sim, evs, siren);
    const bar = progress(LIMIT, label, show);
    let others: { att: number; n: number } | undefined;
    for (let k = 0; k < LIMIT; k++) {
      const t = sim.time;
      // identical vehicles added at identical times in both runs; only the signals differ
      for (const ev of evs) {
        if (ev.dispatchAt !== t) continue;
        if (ep) ep.dispatch({ id: ev.id, route: ev.route, siren });
        else sim.addVehicle({ id: ev.id, route: ev.route, vehicle: EMERGENCY_VEHICLE, ignoreSpeedLimits: true, siren });
      }
      if (t === HOUR) others = othersAtt(sim, evs);
      if (t >= HOUR && evs.every((ev) => sim.vehicleStatus(ev.id).state === 'finished')) break;
      const pending = sup.tick();
      if (pending) await pending;
      losses.measure();
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
    return { evTimes, lost: losses.lost, othersAtt: others.att, others: others.n, wallSeconds: (performance.now() - t0) / 1000 };
  } finally {
    await made.close();
  }
}

/**
 * Where the emergency vehicles lose time, measured on the simulation itself
 * (a benchmark's ground truth) once per step with the signals of the step:
 * each second a vehicle drives below its free speed (its top speed, the turn
 * speed on a turn) loses the shortfall, put down to what holds it: a vehicle
 * close ahead on its lane (at that lane's limit, or slower; with sirens on,
 * the first one ahead that does not give way), else its light when red or
 * yellow; waiting at the boundary loses the whole second.
 */
function lossMeter(sim: Simulation, evs: EvRoute[], siren: boolean): { measure(): void; lost: Omit<Losses, 'other'> } {
  const net = sim.net;
  const lost = { followingAtLimit: 0, queue: 0, signal: 0, entry: 0 };
  let buf = new Int32Array(64);
  return {
    lost,
    measure() {
      const dt = sim.interval;
      for (const ev of evs) {
        const h = sim.vehicleHandle(ev.id);
        if (h < 0) continue;
        const s = sim.vehicleStatus(ev.id);
        if (s.state === 'waiting') {
          lost.entry += dt;
          continue;
        }
        const d = sim.vehicleDrivable(h);
        // on a laneLink: turning, no light ahead (the rest of the delay)
        if (d >= net.nLanes) continue;
        const shortfall = 1 - sim.vehicleSpeed(h) / EMERGENCY_VEHICLE.maxSpeed;
        if (shortfall <= 0) continue;
        const n = sim.laneVehicleCount(d);
        if (buf.length < n) buf = new Int32Array(2 * n);
        sim.laneVehicles(d, buf);
        let k = 0;
        while (k < n && buf[k] !== h) k++;
        const dis = sim.vehicleDistance(h);
        // moving vehicles give way to a siren (the engine's rule: AddVehicleOptions.siren)
        if (siren && k < n) while (k > 0 && sim.vehicleSpeed(buf[k - 1]) >= 0.1) k--;
        if (k > 0 && k < n) {
          const lead = buf[k - 1];
          if (sim.vehicleDistance(lead) - sim.vehicleLength(lead) - dis < FOLLOW_GAP) {
            if (sim.vehicleSpeed(lead) >= 0.95 * net.maxSpeed[d]) lost.followingAtLimit += shortfall * dt;
            else lost.queue += shortfall * dt;
            continue;
          }
        }
        const path = sim.vehicleRemainingPath(h);
        const link = path.length > 1 && path[1] >= net.nLanes ? path[1] : -1;
        // the turn speed ahead is free flow's too: only a light not green counts against the signals
        if (link >= 0 && !sim.linkGreen(link)) {
          const turn = net.linkPriority[link - net.nLanes] !== LINK_PRIORITY.go_straight;
          lost.signal += Math.max(0, 1 - sim.vehicleSpeed(h) / (turn ? TURN_SPEED : EMERGENCY_VEHICLE.maxSpeed)) * dt;
        }
      }
    },
  };
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
