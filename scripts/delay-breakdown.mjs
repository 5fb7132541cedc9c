// Where a controller's delay over the ATT floor goes (issue #16).
//   node scripts/delay-breakdown.mjs [--data DIR] [--scenarios JN1,HZ2] [--controllers max-pressure,schedule] [--top N]
//   (after npx tsc -b; about 11 s per scenario for the floor and two controllers, on 2 shared cores)
// Each second of each vehicle's time lost against its free speed (min of its own top speed and the drivable's limit,
// the engine's totalDelay) goes to one cause:
//   entry      generated, waiting at the boundary for room on its first lane (the whole second)
//   red        standing (< 0.1 m/s) on a lane whose front vehicle stands at a red link
//   yellow     the same while the front vehicle's intersection shows its yellow
//   spill      the same at a green link whose exit is full (the exit lane's last vehicle within 10 m of its start,
//              or a vehicle standing on the link)
//   yield      the same at a green link with room beyond: held by crossing traffic in the junction (or at its route's end)
//   discharge  standing behind a front vehicle that already moves (a queue starting up)
//   junction   lost inside a junction (on a lane link: yielding, queued across)
//   slow       moving below the free speed on a lane (accelerating, braking, following)
// A standing vehicle is put down to its lane's front vehicle's cause: the whole queue waits for it.
// The same split is run on the floor (bench control's ATT floor: green everywhere, each boundary lane's vehicles
// alone), and "over floor" is the controller's less the floor's, per vehicle that entered. ATT counts a vehicle
// still in the network (or at the boundary) at the end by its time so far, i.e. its lost time plus the progress it
// made: where a controller leaves more vehicles unfinished than the floor (HZ2's boundary queues), ATT - F is the
// delay over the floor less the progress those vehicles did not make, so the two differ.
// Check: the causes other than entry add up to the engine's own totalDelay (printed beside them).
// Then the movements (intersection, in road -> out road, L/S/R) with the most standing (red + yellow + spill + yield
// + discharge) under the last controller listed, with each controller's split; the standing on approaches from the
// boundary against those from another intersection (where what a neighbour releases could be known ahead); and the
// wait to enter by boundary lane. Ground truth: a benchmark's view, not a controller's.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data' }, scenarios: { type: 'string', default: 'JN1,HZ2' },
    controllers: { type: 'string', default: 'max-pressure,schedule' }, top: { type: 'string', default: '12' },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation } = await import(root + 'packages/engine/dist/core.js');
const { controllers, runControlled, intersectionPhases } = await import(root + 'packages/control/dist/index.js');
const { readReference } = await import(root + 'packages/cli/dist/bench/data.js');
const { floorScenarios } = await import(root + 'packages/cli/dist/bench/att-bounds.js');
const { REFERENCE_SCENARIOS, REFERENCE_CONTROLLERS } = await import(root + 'packages/cli/dist/bench/reference.js');

const CAUSES = ['entry', 'red', 'yellow', 'spill', 'yield', 'discharge', 'junction', 'slow'];
const STANDING = ['red', 'yellow', 'spill', 'yield', 'discharge'];
const [ENTRY, RED, YELLOW, SPILL, YIELD, DISCHARGE, JUNCTION, SLOW] = CAUSES.map((_, k) => k);
const WAITING_SPEED = 0.1;
const FULL_ROOM = 10;
const HOUR = 3600;
const TURN = ['?', 'R', 'L', 'S'];

/** A tally of lost seconds by cause, and by cause per roadLink (the movement a standing vehicle waits to make). */
class Tally {
  constructor(sim) {
    this.sim = sim;
    this.total = new Float64Array(CAUSES.length);
    this.byLink = new Float64Array(sim.net.nRoadLinks * CAUSES.length);
    this.entryByLane = new Float64Array(sim.net.nLanes);
    this.yellowOf = new Int32Array(sim.net.interIds.length).fill(-1);
    for (const ix of intersectionPhases(sim)) this.yellowOf[ix.intersection] = ix.yellow;
  }

  /** the roadLink lane link `link` belongs to, or -1 */
  roadLinkOf(link) {
    return link >= this.sim.net.nLanes ? this.sim.net.linkRoadLink[link - this.sim.net.nLanes] : -1;
  }

  /** the next drivable on v's path (the lane link ahead of a lane), or -1 at the route's end */
  next(v) {
    const st = this.sim.st;
    const pos = st.vPathPos[v] + 1;
    return pos < st.vPathLen[v] ? st.path[st.vPathOff[v] + pos] : -1;
  }

  /** why the front vehicle `h` of lane `lane` stands */
  frontCause(h, lane) {
    const { sim } = this, st = sim.st, net = sim.net;
    if (st.vSpeed[h] >= WAITING_SPEED) return DISCHARGE;
    const link = this.next(h);
    if (link < 0) return YIELD;
    const i = net.roadEndInter[net.laneRoad[lane]];
    if (this.yellowOf[i] >= 0 && sim.phase(i) === this.yellowOf[i]) return YELLOW;
    if (!sim.linkGreen(link)) return RED;
    const exit = net.linkEndLane[link - net.nLanes];
    const tail = st.dTail[exit];
    if (tail >= 0 && st.vDis[tail] - st.vLen[tail] < FULL_ROOM) return SPILL;
    for (let w = st.dHead[link]; w >= 0; w = st.vNext[w]) if (st.vSpeed[w] < WAITING_SPEED) return SPILL;
    return YIELD;
  }

  sample() {
    const { sim, total, byLink } = this, st = sim.st, net = sim.net, dt = sim.interval;
    const C = CAUSES.length;
    for (let l = 0; l < net.nLanes; l++) {
      total[ENTRY] += st.wCount[l] * dt;
      this.entryByLane[l] += st.wCount[l] * dt;
    }
    // each lane's front cause once
    for (let l = 0; l < net.nLanes; l++) {
      const h = st.dHead[l];
      if (h < 0) continue;
      let cause = -1;
      for (let v = h; v >= 0; v = st.vNext[v]) {
        const s = st.vSpeed[v];
        if (s >= WAITING_SPEED) {
          const free = Math.min(net.maxSpeed[l], st.vMaxSpeed[v]);
          if (s < free) total[SLOW] += (1 - s / free) * dt;
          continue;
        }
        if (cause < 0) cause = this.frontCause(h, l);
        const c = cause;
        // the standing second counts as lost in full (free speed > 0.1 m/s), less the crawl
        const free = Math.min(net.maxSpeed[l], st.vMaxSpeed[v]);
        const lost = (1 - s / free) * dt;
        total[c] += lost;
        const rl = this.roadLinkOf(this.next(v));
        if (rl >= 0) byLink[rl * C + c] += lost;
      }
    }
    for (let d = net.nLanes; d < net.nDrivables; d++) {
      for (let v = st.dHead[d]; v >= 0; v = st.vNext[v]) {
        const s = st.vSpeed[v];
        const free = Math.min(net.maxSpeed[d], st.vMaxSpeed[v]);
        if (s < free) total[JUNCTION] += (1 - s / free) * dt;
      }
    }
  }
}

/** The floor's tally: attFloor's runs (every link green, one group of flows per boundary lane), summed. */
function floorTally(scenario) {
  const total = new Float64Array(CAUSES.length);
  let entryByLane = null;
  let tt = 0, n = 0, engineDelay = 0;
  for (const group of floorScenarios(scenario)) {
    const sim = new Simulation(group);
    const t = new Tally(sim);
    // no intersection shows a yellow here: every phase has every link
    t.yellowOf.fill(-1);
    for (let k = 0; k < HOUR; k++) {
      sim.step();
      t.sample();
    }
    for (let c = 0; c < CAUSES.length; c++) total[c] += t.total[c];
    entryByLane ??= new Float64Array(t.entryByLane.length);
    for (let l = 0; l < entryByLane.length; l++) entryByLane[l] += t.entryByLane[l];
    const m = sim.metrics();
    tt += m.averageTravelTime * m.enteredVehicles;
    n += m.enteredVehicles;
    engineDelay += m.totalDelay;
  }
  return { att: tt / n, total, entered: n, entryByLane, engineDelay };
}

async function controlledTally(scenario, name) {
  const sim = new Simulation(scenario);
  const t = new Tally(sim);
  const guarded = !REFERENCE_CONTROLLERS.includes(name);
  const { metrics } = await runControlled(sim, controllers[name](), HOUR, { ...(guarded ? {} : { starvation: false }), onStep: () => t.sample() });
  const crossings = Float64Array.from({ length: sim.net.nLanes }, (_, l) => sim.laneCrossings(l));
  return { att: metrics.averageTravelTime, total: t.total, byLink: t.byLink, entryByLane: t.entryByLane, entered: metrics.enteredVehicles, engineDelay: metrics.totalDelay, net: sim.net, crossings };
}

const f1 = (x) => x.toFixed(1);
const pad = (rows) => {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const r of rows) console.log(r.map((x, c) => (c === 0 ? String(x).padEnd(w[c]) : String(x).padStart(w[c]))).join('  '));
};

const l0 = loadavg()[0];
const names = values.controllers.split(',');
for (const key of values.scenarios.split(',')) {
  const ref = REFERENCE_SCENARIOS.find((r) => r.key === key);
  if (!ref) throw new Error(`unknown scenario ${key}`);
  const scenario = readReference(values.data, ref);
  const floor = floorTally(scenario);
  const runs = [];
  for (const name of names) runs.push({ name, ...(await controlledTally(scenario, name)) });
  const N = floor.entered;
  console.log(`\n${key}: ${N} vehicles, 3600 s; seconds lost per vehicle (controller's, and over the floor's)`);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const rows = [['cause', 'floor', ...runs.flatMap((r) => [r.name, '-floor'])]];
  for (let c = 0; c < CAUSES.length; c++) {
    rows.push([CAUSES[c], f1(floor.total[c] / N), ...runs.flatMap((r) => [f1(r.total[c] / r.entered), f1(r.total[c] / r.entered - floor.total[c] / N)])]);
  }
  rows.push(['all delay', f1(sum(floor.total) / N), ...runs.flatMap((r) => [f1(sum(r.total) / r.entered), f1(sum(r.total) / r.entered - sum(floor.total) / N)])]);
  rows.push(['(engine totalDelay)', f1(floor.engineDelay / N), ...runs.flatMap((r) => [f1(r.engineDelay / r.entered), f1(r.engineDelay / r.entered - floor.engineDelay / N)])]);
  rows.push(['ATT', f1(floor.att), ...runs.flatMap((r) => [f1(r.att), f1(r.att - floor.att)])]);
  pad(rows);
  const last = runs[runs.length - 1], net = last.net, C = CAUSES.length;
  const standing = (r, rl) => STANDING.reduce((a, c) => a + r.byLink[rl * C + CAUSES.indexOf(c)], 0);
  const order = [...Array(net.nRoadLinks).keys()].sort((a, b) => standing(last, b) - standing(last, a)).slice(0, Number(values.top));
  console.log(`\n${key}: movements with the most standing under ${last.name}, seconds per vehicle of the scenario (${STANDING.join('/')})`);
  const mrows = [['intersection', 'in -> out', 'turn', ...runs.map((r) => r.name)]];
  for (const rl of order) {
    mrows.push([net.interIds[net.roadLinkInter[rl]], `${net.roadIds[net.roadLinkStartRoad[rl]]} -> ${net.roadIds[net.roadLinkEndRoad[rl]]}`, TURN[net.roadLinkType[rl]],
      ...runs.map((r) => `${f1(standing(r, rl) / r.entered)} (${STANDING.map((c) => (r.byLink[rl * C + CAUSES.indexOf(c)] / r.entered).toFixed(2)).join('/')})`)]);
  }
  pad(mrows);
  // standing on approaches from the boundary (their arrivals come from outside, seen only on the lane) and from a signal;
  // then per passage (a vehicle crossing a stop line of such an approach): a vehicle passes more inner approaches than
  // boundary ones (JN1: 2.26 times as many), so the per-vehicle figures alone overstate what inner approaches cost each
  const kinds = [['from the boundary', true], ['from another intersection', false]];
  const fromBoundary = (road) => Boolean(net.interVirtual[net.roadStartInter[road]]);
  console.log(`\n${key}: standing by approach, seconds per vehicle of the scenario (${STANDING.join('/')}) | seconds per passage (passages)`);
  const krows = [['approach', ...runs.map((r) => r.name)]];
  for (const [label, boundary] of kinds) {
    krows.push([label, ...runs.map((r) => {
      const by = STANDING.map(() => 0);
      for (let rl = 0; rl < net.nRoadLinks; rl++) {
        if (fromBoundary(net.roadLinkStartRoad[rl]) !== boundary) continue;
        STANDING.forEach((c, k) => (by[k] += r.byLink[rl * C + CAUSES.indexOf(c)] / r.entered));
      }
      let passages = 0;
      for (let l = 0; l < net.nLanes; l++) {
        const road = net.laneRoad[l];
        if (!net.interVirtual[net.roadEndInter[road]] && fromBoundary(road) === boundary) passages += r.crossings[l];
      }
      const all = by.reduce((a, b) => a + b, 0);
      return `${f1(all)} (${by.map(f1).join('/')}) | ${f1((all * r.entered) / passages)} (${passages})`;
    })]);
  }
  pad(krows);
  // lanes where someone waited at least 0.05 s per vehicle of the scenario
  const lanes = [...Array(net.nLanes).keys()].filter((l) => [floor, ...runs].some((r) => r.entryByLane[l] / r.entered >= 0.05));
  if (lanes.length) {
    console.log(`\n${key}: waiting to enter by boundary lane, seconds per vehicle of the scenario`);
    const erows = [['lane', 'floor', ...runs.map((r) => r.name)]];
    lanes.sort((a, b) => last.entryByLane[b] - last.entryByLane[a]);
    for (const l of lanes.slice(0, Number(values.top))) erows.push([net.laneId(l), f1(floor.entryByLane[l] / N), ...runs.map((r) => f1(r.entryByLane[l] / r.entered))]);
    pad(erows);
  }
}
console.log(`\n${cpus().length} cores, load average ${l0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`);
