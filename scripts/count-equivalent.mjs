// How far detector counts pin a scenario's ATT (issue #15, calibration): demands with the same counts, and their ATT.
//   node scripts/count-equivalent.mjs [--data DIR] [--scenarios grid,HZ1,JN1] [--seeds 3] [--window 60] [--rounds 4]
//                                     [--mode tails|slices]
//                                     [--grid 4x4] [--demand 1/20] [--per-vehicle]
//   (after npx tsc -b; a few seconds per scenario and seed on 2 shared cores)
// --grid / --demand: the generated scenario "grid" (bench calibrate's 4x4 at 1/20 per route by default).
// --per-vehicle: each flow first split into its vehicles (one flow each, same departures), so tails are swapped
// vehicle by vehicle: a flow's vehicles end up on several routes (mixed, as turning independently at each
// junction), where whole-flow swaps keep each lane's vehicles bound for one next lane.
// --mode slices: each vehicle of a scenario given vehicle by vehicle (HZ1, JN1) departs anew within its
// 300 s slice: evenly spaced in the slice in the file's order, then at random (seeds); the demand per slice
// is kept, what happens within it changes. --mode tails (default): each demand swaps route tails between pairs of flows that reach a common road within --window seconds of each
// other (at free speed) and leave it by different roads, with the same headway and span (--rounds passes, each
// flow swapped at most once a pass). Every road keeps its vehicles at about the same times and on the same lanes
// (a vehicle leaves a road by the lane its next road needs, and the pair trade next roads), so the counts
// bench calibrate fits to (every lane at its upstream end, 300 s) hardly change: the script measures it, as the
// share of counts with GEH < 5 against the original's. What changes is which vehicles go on together, which no
// count sees. A spread of ATT between such demands larger than 10.5% (max / min) means no demand fitted from
// these counts alone can be within 5% of every demand that has them.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data' }, scenarios: { type: 'string', default: 'grid,HZ1,JN1' },
    seeds: { type: 'string', default: '3' }, window: { type: 'string', default: '60' }, rounds: { type: 'string', default: '4' },
    mode: { type: 'string', default: 'tails' }, grid: { type: 'string', default: '4x4' }, demand: { type: 'string', default: '1/20' },
    'per-vehicle': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const { generateGrid, geh, polylineLength, Simulation } = await import(root + 'packages/engine/dist/index.js');
const { controllers, runControlled } = await import(root + 'packages/control/dist/index.js');
const { countsOf, DRAIN } = await import(root + 'packages/cli/dist/bench/calibration.js');
const { readReference } = await import(root + 'packages/cli/dist/bench/data.js');
const { REFERENCE_SCENARIOS } = await import(root + 'packages/cli/dist/bench/reference.js');
const HOUR = 3600;
const window = Number(values.window), rounds = Number(values.rounds), seeds = Number(values.seeds);

function xorshift(seed) {
  let s = Math.imul(seed, 2654435761) >>> 0 || 1;
  return () => ((s ^= s << 13, s ^= s >>> 17, s ^= s << 5) >>> 0) / 4294967296;
}

/** The demand with route tails swapped (see the head of this file), and how many swaps it took. */
function swapped(scenario, seed) {
  const random = xorshift(seed);
  const free = new Map(scenario.roadnet.roads.map((r) => [r.id, polylineLength(r.points) / Math.max(...r.lanes.map((l) => l.maxSpeed))]));
  const flows = scenario.flows.map((f) => ({ ...f, route: [...f.route] }));
  let swaps = 0;
  for (let pass = 0; pass < rounds; pass++) {
    // when each flow's first vehicle reaches each road of its route, at free speed
    const at = flows.map((f) => f.route.reduce((t, road, i) => (t.push(i === 0 ? f.startTime : t[i - 1] + free.get(f.route[i - 1])), t), []));
    const onRoad = new Map();
    flows.forEach((f, k) => f.route.forEach((road, i) => {
      if (i === f.route.length - 1) return;
      if (!onRoad.has(road)) onRoad.set(road, []);
      onRoad.get(road).push([k, i]);
    }));
    const used = new Uint8Array(flows.length);
    const order = flows.map((_, k) => [random(), k]).sort((x, y) => x[0] - y[0]).map(([, k]) => k);
    for (const a of order) {
      if (used[a]) continue;
      const A = flows[a];
      const partners = [];
      for (let i = 0; i < A.route.length - 1; i++) {
        for (const [b, j] of onRoad.get(A.route[i]) ?? []) {
          const B = flows[b];
          if (b === a || used[b] || B.route[j + 1] === A.route[i + 1]) continue;
          if (B.interval !== A.interval || B.endTime - B.startTime !== A.endTime - A.startTime || Math.abs(at[a][i] - at[b][j]) > window) continue;
          partners.push([b, i, j]);
        }
      }
      if (partners.length === 0) continue;
      const [b, i, j] = partners[Math.floor(random() * partners.length)];
      const B = flows[b];
      const a2 = [...A.route.slice(0, i + 1), ...B.route.slice(j + 1)];
      const b2 = [...B.route.slice(0, j + 1), ...A.route.slice(i + 1)];
      if (new Set(a2).size !== a2.length || new Set(b2).size !== b2.length) continue; // no loops
      A.route = a2;
      B.route = b2;
      used[a] = used[b] = 1;
      swaps++;
    }
  }
  return { scenario: { roadnet: scenario.roadnet, flows }, swaps };
}

/** Each flow's vehicles as flows of one vehicle each, at the seconds the flow departs them, sorted by departure (then the flow's order). */
function perVehicle(flows) {
  const out = [];
  flows.forEach((f, k) => {
    const end = f.endTime < 0 ? HOUR - 1 : f.endTime;
    for (let n = 0; ; n++) {
      const t = f.startTime + Math.ceil(n * f.interval - 1e-9);
      if (t > end) break;
      out.push([t, k, { ...f, route: [...f.route], interval: 1, startTime: t, endTime: t }]);
    }
  });
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}

const SLICE = 300;

/** Vehicles given one by one (startTime = endTime) departing anew within their slice: evenly (seed 0) or at random. */
function retimed(scenario, seed) {
  const random = seed > 0 ? xorshift(seed) : null;
  const bySlice = new Map();
  scenario.flows.forEach((f, k) => {
    if (f.startTime !== f.endTime) return; // a repeating flow keeps its times
    const s = Math.floor(f.startTime / SLICE);
    if (!bySlice.has(s)) bySlice.set(s, []);
    bySlice.get(s).push(k);
  });
  const flows = scenario.flows.map((f) => ({ ...f }));
  for (const [s, ks] of bySlice) {
    ks.forEach((k, i) => {
      const t = Math.min(HOUR - 1, s * SLICE + Math.floor(random ? random() * SLICE : ((i + 0.5) * SLICE) / ks.length));
      flows[k].startTime = flows[k].endTime = t;
    });
  }
  // CityFlow admits same-second flows in file order: keep the file sorted by departure, as the originals are
  flows.sort((a, b) => a.startTime - b.startTime);
  return { scenario: { roadnet: scenario.roadnet, flows }, swaps: [...bySlice.values()].reduce((n, ks) => n + ks.length, 0) };
}

async function atts(scenario) {
  const out = {};
  for (const c of ['fixed', 'max-pressure']) {
    const r = await runControlled(new Simulation(scenario, { seed: 0 }), controllers[c](), HOUR);
    out[c] = r.metrics.averageTravelTime;
  }
  return out;
}

console.log(`Demands with the same counts (${values.mode === 'slices' ? 'departures re-timed within their 300 s slice' : `route tails swapped, window ${window} s, ${rounds} passes`}; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)})`);
const pct = (x, x0) => `${x >= x0 ? '+' : ''}${((x / x0 - 1) * 100).toFixed(1)}%`;
for (const key of values.scenarios.split(',')) {
  // the scenarios of bench calibrate
  const [gr, gc] = values.grid.split('x').map(Number);
  const [dn, dd = '1'] = values.demand.split('/');
  const generated = key === 'grid' ? generateGrid({ rows: gr, cols: gc, demand: Number(dn) / Number(dd), endTime: HOUR - 1 }) : undefined;
  const original = generated
    ? (values['per-vehicle'] ? { roadnet: generated.roadnet, flows: perVehicle(generated.flows) } : generated)
    : readReference(values.data, REFERENCE_SCENARIOS.find((r) => r.key === key));
  const counts = await countsOf(original, HOUR + DRAIN);
  const base = await atts(original);
  const all = { fixed: [base.fixed], 'max-pressure': [base['max-pressure']] };
  console.log(`${key}: original fixed ${base.fixed.toFixed(1)} s, max-pressure ${base['max-pressure'].toFixed(1)} s`);
  for (let seed = values.mode === 'slices' ? 0 : 1; seed <= seeds; seed++) {
    const { scenario, swaps } = values.mode === 'slices' ? retimed(original, seed) : swapped(original, seed);
    const recount = await countsOf(scenario, HOUR + DRAIN);
    const below = counts.filter((c, i) => geh(recount[i].count, c.count, c.end - c.begin) < 5).length;
    const a = await atts(scenario);
    for (const c of Object.keys(all)) all[c].push(a[c]);
    console.log(`  ${values.mode === 'slices' ? (seed === 0 ? 'evenly' : `at random, seed ${seed}`) : `seed ${seed}`}: ${swaps} ${values.mode === 'slices' ? 'vehicles re-timed' : 'swaps'}; counts with GEH < 5 against the original's ${((100 * below) / counts.length).toFixed(1)}%; ` +
      `fixed ${a.fixed.toFixed(1)} s (${pct(a.fixed, base.fixed)}), max-pressure ${a['max-pressure'].toFixed(1)} s (${pct(a['max-pressure'], base['max-pressure'])})`);
  }
  for (const [c, xs] of Object.entries(all)) {
    const spread = Math.max(...xs) / Math.min(...xs);
    console.log(`  ${c}: ATT ${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} s, max/min ${spread.toFixed(3)}` +
      (spread > 1.105 ? ': no demand fitted from these counts can be within 5% of all of them' : ''));
  }
}
