// Where a fitted demand differs from the original it was fitted to (issue #15, calibration):
//   node scripts/calibration-diff.mjs --grid 1x6 --demand 0.1 [--controller fixed|max-pressure] [--own-routes]
//   (after npx tsc -b). Takes the counts bench calibrate takes, fits as it does, then runs the original
//   and the fitted demand side by side: vehicles and travel time by route kind (the turns it takes),
//   departures per 5 minutes, waits at the boundary, and the roads where the vehicle-seconds differ most.
//   --own-routes: the original's routes as the only candidates (a check of the fit's timing, not a calibration:
//   counts do not give routes).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
const { values } = parseArgs({ options: { grid: { type: 'string', default: '1x6' }, demand: { type: 'string', default: '0.1' }, controller: { type: 'string', default: 'fixed' }, top: { type: 'string', default: '10' }, 'own-routes': { type: 'boolean', default: false } } });
const root = fileURLToPath(new URL('..', import.meta.url));
const { generateGrid, Simulation, calibrateDemandByRuns } = await import(root + 'packages/engine/dist/index.js');
const { controllers, runControlled } = await import(root + 'packages/control/dist/index.js');
const { countsOf, DRAIN, RUNS } = await import(root + 'packages/cli/dist/bench/calibration.js');
const HOUR = 3600;
const [rows, cols] = values.grid.split('x').map(Number);
const demand = values.demand.includes('/') ? Number(values.demand.split('/')[0]) / Number(values.demand.split('/')[1]) : Number(values.demand);
const original = generateGrid({ rows, cols, demand, endTime: HOUR - 1 });
const counts = await countsOf(original, HOUR + DRAIN);
const fixedRun = (steps) => async (scenario, observe) => { const sim = new Simulation(scenario); await runControlled(sim, controllers.fixed(), steps, { onStep: (s) => observe(s) }); };
const fit = await calibrateDemandByRuns(original.roadnet, counts, [], { vehicle: original.flows[0].vehicle, departUntil: HOUR, runs: RUNS, ...(values['own-routes'] ? { candidates: original.flows.map((f) => f.route) } : {}) }, fixedRun(HOUR + DRAIN));
const fitted = { roadnet: original.roadnet, flows: fit.flows };

// the turn each pair of consecutive roads makes
const turnOf = new Map();
for (const it of original.roadnet.intersections) for (const rl of it.roadLinks) turnOf.set(`${rl.startRoad} ${rl.endRoad}`, rl.type === 'go_straight' ? 'S' : rl.type === 'turn_left' ? 'L' : 'R');
const kind = (route) => route.slice(1).map((r, i) => turnOf.get(`${route[i]} ${r}`)).join('') || '-';
const kindClass = (k) => (/^S*$/.test(k) ? 'straight' : `${k.replace(/S/g, '').length} turn(s)`);

async function run(scenario, controller) {
  const sim = new Simulation(scenario);
  const L = sim.net.nLanes;
  const veh = new Map(); // id -> { route, gen, in, out }
  const roadSec = new Map();
  const counts = new Int32Array(L);
  let boundarySec = 0;
  await runControlled(sim, controllers[controller](), HOUR, {
    onStep: (s) => {
      s.forEachEntry((v) => {
        const id = s.vehicleId(v);
        const f = Number(/^flow_(\d+)_/.exec(id)[1]);
        veh.set(id, { route: scenario.flows[f].route, gen: s.vehicleEnterTime(v), in: s.time, out: undefined });
      });
      s.forEachExit((v) => { const e = veh.get(s.vehicleId(v)); if (e) e.out = s.time; });
      s.laneCounts(counts);
      for (let l = 0; l < L; l++) {
        const road = s.net.roadIds[s.net.laneRoad[l]];
        roadSec.set(road, (roadSec.get(road) ?? 0) + counts[l]);
        boundarySec += s.laneEntryQueue(l);
      }
    },
  });
  const m = sim.metrics();
  return { veh, roadSec, boundarySec, att: m.averageTravelTime, entered: m.enteredVehicles, waiting: m.waitingToEnter, running: m.vehiclesInNetwork, finished: m.finishedVehicles };
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
for (const controller of [values.controller]) {
  const a = await run(original, controller), b = await run(fitted, controller);
  console.log(`${values.grid} @ ${fmt(demand * 1000)}/1000 veh/s per route, ${controller}, ${HOUR} s (load ${loadavg()[0].toFixed(2)}): fit GEH<5 ${fit.gehBelow5Percent.toFixed(1)}%`);
  console.log(`ATT ${fmt(a.att)} / ${fmt(b.att)}; generated ${a.entered} / ${b.entered}; finished ${a.finished} / ${b.finished}; in network at end ${a.running} / ${b.running}; waiting to enter at end ${a.waiting} / ${b.waiting}; boundary queue vehicle-s ${a.boundarySec} / ${b.boundarySec}`);
  const byKind = (r) => {
    const m = new Map();
    for (const e of r.veh.values()) {
      const k = kindClass(kind(e.route));
      const x = m.get(k) ?? { n: 0, wait: 0, tt: 0, done: 0 };
      x.n++; x.wait += e.in - e.gen;
      if (e.out !== undefined) { x.done++; x.tt += e.out - e.gen; }
      m.set(k, x);
    }
    return m;
  };
  const ka = byKind(a), kb = byKind(b);
  console.log('\nroute kind        entered orig/fit   mean boundary wait s   mean trip s (finished)');
  for (const k of [...new Set([...ka.keys(), ...kb.keys()])].sort()) {
    const x = ka.get(k) ?? { n: 0 }, y = kb.get(k) ?? { n: 0 };
    console.log(`${k.padEnd(16)}  ${String(x.n).padStart(6)}/${String(y.n).padEnd(6)}      ${fmt(x.wait / x.n)}/${fmt(y.wait / y.n)}            ${fmt(x.tt / x.done)}/${fmt(y.tt / y.done)}`);
  }
  const dep = (flows) => { const h = new Array(12).fill(0); for (const f of flows) { const n = f.endTime < 0 ? Math.floor((HOUR - 1 - f.startTime) / f.interval) + 1 : Math.floor((f.endTime - f.startTime) / f.interval) + 1; for (let i = 0; i < n; i++) { const t = f.startTime + i * f.interval; if (t < HOUR) h[Math.floor(t / 300)]++; } } return h; };
  console.log(`\ndepartures per 300 s orig: ${dep(original.flows).join(' ')}\n                     fit: ${dep(fitted.flows).join(' ')}`);
  const diffs = [...new Set([...a.roadSec.keys()])].map((r) => [r, a.roadSec.get(r) ?? 0, b.roadSec.get(r) ?? 0]).sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1]));
  console.log('\nroads by |vehicle-s fit - orig| (on the road, queue at its stop line included):');
  for (const [r, x, y] of diffs.slice(0, Number(values.top))) console.log(`  ${r.padEnd(16)} ${x} / ${y}`);
  // routes by kind in the fit: the top routes
  const rk = new Map();
  for (const f of fitted.flows) { const k = `${f.route.join('>')}`; rk.set(k, (rk.get(k) ?? 0) + 1); }
  const ok = new Map();
  for (const e of a.veh.values()) { const k = e.route.join('>'); ok.set(k, (ok.get(k) ?? 0) + 1); }
  console.log('\nroutes, vehicles orig/fit (top by either):');
  for (const k of [...new Set([...rk.keys(), ...ok.keys()])].sort((x, y) => Math.max(rk.get(y) ?? 0, ok.get(y) ?? 0) - Math.max(rk.get(x) ?? 0, ok.get(x) ?? 0)).slice(0, 40)) console.log(`  ${String(ok.get(k) ?? 0).padStart(5)}/${String(rk.get(k) ?? 0).padEnd(5)} ${kind(k.split('>'))} ${k}`);
}
