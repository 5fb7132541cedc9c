// The simulation loop's floor on this machine (issue #18): what one vehicle update costs
// with nothing but car following, beside HZ1's hour as the engine runs it.
//   node scripts/speed-floor.mjs [--data DIR] [--reps N]     (after npx tsc -b)
// Prints CPU time (process.cpuUsage: every thread of this process), the load average and cores beside it.
//  1. kernel: the engine's own followSpeed (driver.ts) and the rest of a free vehicle's next
//     speed and position (CityFlow's getNextSpeed: min of max speed, acceleration, car following;
//     the braking floor; the distance covered), over HZ1's mean count of running vehicles
//     (418), visited through a shuffled run list as the step visits them: the irreducible arithmetic.
//  2. platoon: the whole step (Simulation.step) on one 100 km road, no junction: the pipeline
//     with car following only (generation, admission, conflict points, actions, move, leaders).
//  3. HZ1 fixed-time, 3600 s: cold (a fresh Simulation in this fresh process; the first 300
//     steps apart, where V8 interprets and compiles) and warm (the same run again).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
const { values } = parseArgs({ options: { data: { type: 'string', default: '../shared/data' }, reps: { type: 'string', default: '5' } } });
const root = fileURLToPath(new URL('..', import.meta.url));
const { loadCityflowScenario, Simulation } = await import(root + 'packages/engine/dist/core.js');
const { followSpeed } = await import(root + 'packages/engine/dist/sim/driver.js');
const reps = Number(values.reps);
const cpuSeconds = (c0) => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1e6; };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const HZ1_UPDATES = 1504747;
const load0 = loadavg()[0];
const dir = values.data + '/hangzhou_4x4/';
const hz1 = loadCityflowScenario({ roadnet: readFileSync(dir + 'roadnet_4_4.json', 'utf8'), flow: readFileSync(dir + 'anon_4_4_hangzhou_real.json', 'utf8') }).scenario;

// 3a first, while this process is cold: HZ1 as `simulate` runs it
const hzCold = (() => {
  const sim = new Simulation(hz1, { seed: 0 });
  let c0 = process.cpuUsage(), upd = 0;
  for (let k = 0; k < 300; k++) { sim.step(); upd += sim.runningCount; }
  const first = cpuSeconds(c0), firstUpd = upd;
  c0 = process.cpuUsage();
  for (let k = 300; k < 3600; k++) { sim.step(); upd += sim.runningCount; }
  return { first, firstUpd, rest: cpuSeconds(c0), upd };
})();

function platoonScenario(n) {
  const L = 100_000;
  const node = (id, x) => ({ id, point: { x, y: 0 }, width: 0, roads: ['r'], roadLinks: [], trafficLight: { lightphases: [] }, virtual: true });
  const roadnet = { intersections: [node('A', 0), node('B', L)], roads: [{ id: 'r', points: [{ x: 0, y: 0 }, { x: L, y: 0 }], lanes: [{ width: 4, maxSpeed: 16.67 }], startIntersection: 'A', endIntersection: 'B' }] };
  return { scenario: { roadnet, flows: [] }, place: (sim) => { for (let i = 0; i < n; i++) sim.placeVehicle({ lane: 0, distance: 20 * (n - i), speed: (i % 7) + 3, route: [0] }); } };
}
const N = 418;
const platoon = platoonScenario(N);
function runPlatoon() {
  const sim = new Simulation(platoon.scenario, { seed: 0 });
  platoon.place(sim);
  const c0 = process.cpuUsage();
  for (let k = 0; k < 3600; k++) sim.step();
  return cpuSeconds(c0) / (N * 3600);
}
function runKernel() {
  const sim = new Simulation(platoon.scenario, { seed: 0 });
  platoon.place(sim);
  sim.step(); // leaders and gaps set
  const st = sim.st;
  // shuffled visiting order, as the run list holds handles of vehicles that came and went
  const order = Int32Array.from(st.runList.subarray(0, st.running));
  for (let i = order.length - 1, x = 12345; i > 0; i--) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; const j = x % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  const dt = 1;
  let sink = 0;
  const c0 = process.cpuUsage();
  for (let k = 0; k < 3600; k++) {
    for (let r = 0; r < order.length; r++) {
      const v = order[r];
      const s = st.vSpeed[v];
      let nv = st.vMaxSpeed[v];
      const acc = s + st.vMaxPosAcc[v] * dt;
      if (acc < nv) nv = acc;
      // car following as computeActions does it: the vehicle ahead on the lane, else the leader updateLeaders found
      const p = st.vPrev[v];
      const L = p >= 0 ? p : st.vLeader[v];
      if (L >= 0) {
        const gap = p >= 0 ? st.vDis[p] - st.vLen[p] - st.vDis[v] : st.vGap[v];
        const cf = followSpeed(st.vSpeed[L], st.vMaxNegAcc[L], st.vUsualNegAcc[L], s, st.vMaxNegAcc[v], st.vUsualNegAcc[v], gap, dt, st.vMinGap[v], st.vHeadway[v], nv);
        if (cf < nv) nv = cf;
      }
      const floor = s - st.vMaxNegAcc[v] * dt;
      if (floor > nv) nv = floor;
      st.bSpeed[v] = nv;
      st.bDis[v] = st.vDis[v] + ((s + nv) * dt) / 2;
    }
    // the state is left as it was: every step computes the same next speeds from the same state
    sink += st.bSpeed[order[0]];
  }
  const t = cpuSeconds(c0) / (order.length * 3600);
  if (!(sink > 0)) throw new Error('kernel computed nothing');
  return t;
}
function runHz1() {
  const sim = new Simulation(hz1, { seed: 0 });
  const c0 = process.cpuUsage();
  for (let k = 0; k < 3600; k++) sim.step();
  return cpuSeconds(c0);
}
const kernel = [], plat = [], warm = [];
for (let i = 0; i < reps; i++) { kernel.push(runKernel()); plat.push(runPlatoon()); warm.push(runHz1()); }
const ns = (x) => (x * 1e9).toFixed(0).padStart(4) + ' ns';
const hz = (x) => (x * HZ1_UPDATES).toFixed(3) + ' s';
console.log(`speed floor, ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}, CPU time, ${reps} reps (median, min)`);
console.log(`kernel   car following of a free vehicle alone      ${ns(median(kernel))} per update (min ${ns(Math.min(...kernel))}); x HZ1's ${HZ1_UPDATES} updates = ${hz(median(kernel))}`);
console.log(`platoon  whole step, one road, no junction          ${ns(median(plat))} per update (min ${ns(Math.min(...plat))}); x HZ1's updates = ${hz(median(plat))}`);
console.log(`HZ1      warm, whole hour                           ${ns(median(warm) / HZ1_UPDATES)} per update; ${median(warm).toFixed(3)} s (min ${Math.min(...warm).toFixed(3)} s)`);
console.log(`HZ1      cold, first run in this process            ${(hzCold.first + hzCold.rest).toFixed(3)} s: first 300 steps ${hzCold.first.toFixed(3)} s for ${hzCold.firstUpd} updates (${ns(hzCold.first / hzCold.firstUpd)} each), steps 300-3600 ${hzCold.rest.toFixed(3)} s`);
console.log(`load average ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`);
