// Whether a local accumulation tells an overloaded grid from one a controller carries, early enough for the plan in
// step to carry it (issue #16): every grid, one hour, under the supervisor as the tests run it (runControlled,
// ground-truth observations). A region is an interior intersection (no road to or from the boundary) and the real
// intersections up to R roads from it; its load is the vehicles on the internal lanes into them over those lanes'
// capacity (length / 7.5 m), as the perimeter gate counts the whole network's. Prints, per 150 s window, the fullest
// region's mean load (%), then the ATT, the intersections locked and the first lock's second. On schedule, R = 1
// separates best (6 x 6 at 0.12 reaches 19% at 900 s, where the whole network's share is 9.5% against 4 x 4 at 0.1's
// 10.2%), but the grids schedule carries at 0.1 reach 20-29% later in the hour (docs/benchmarks.md, "Schedule
// against max-pressure on 6 x 6 at 0.12 and 0.15").
//   GRIDS='6x6:0.1,6x6:0.12,4x4:0.1,4x4:0.12,5x5:0.1' LANES=1,1,1 R=1 GUARDS=off SEED=0 CTRL=schedule \
//   node scripts/region-load.mjs      (after npx tsc -b; about 3 s a 6 x 6 run)
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid } = await import(root + 'packages/engine/dist/index.js');
const { controllers, isAdvisory, runControlled, JAM_SPACING } = await import(root + 'packages/control/dist/index.js');
const grids = (process.env.GRIDS ?? '6x6:0.1,6x6:0.12,6x6:0.15,4x4:0.1,4x4:0.12,5x5:0.1,4x6:0.1,5x6:0.1').split(',');
const [left, straight, right] = (process.env.LANES ?? '1,1,1').split(',').map(Number);
const radius = Number(process.env.R ?? 1);
const guards = process.env.GUARDS ?? 'off';
if (guards !== 'on' && guards !== 'off') throw new Error(`GUARDS must be on or off, got "${guards}"`);
const seed = Number(process.env.SEED ?? 0);
const name = process.env.CTRL ?? 'schedule';
if (!controllers[name]) throw new Error(`unknown controller ${name}`);
const WINDOW = 150, SAMPLE = 10;
for (const spec of grids) {
  const [g, d] = spec.split(':');
  const [rows, cols] = g.split('x').map(Number);
  const sim = new Simulation(generateGrid({ rows, cols, demand: Number(d), lanesPerMovement: { left, straight, right } }), { seed });
  const net = sim.net;
  const real = (i) => i >= 0 && !net.interVirtual[i];
  const perimeter = new Set();
  const around = new Map();
  for (let r = 0; r < net.roadIds.length; r++) {
    const a = net.roadStartInter[r], b = net.roadEndInter[r];
    if (!real(a) && real(b)) perimeter.add(b);
    if (real(a) && !real(b)) perimeter.add(a);
    if (real(a) && real(b)) {
      if (!around.has(a)) around.set(a, new Set());
      if (!around.has(b)) around.set(b, new Set());
      around.get(a).add(b);
      around.get(b).add(a);
    }
  }
  const regions = [];
  for (let i = 0; i < net.interIds.length; i++) {
    if (!real(i) || perimeter.has(i)) continue;
    const set = new Set([i]);
    let frontier = [i];
    for (let k = 0; k < radius; k++) {
      const next = [];
      for (const a of frontier) for (const b of around.get(a) ?? []) if (!set.has(b)) { set.add(b); next.push(b); }
      frontier = next;
    }
    const lanes = [];
    let capacity = 0;
    for (let l = 0; l < net.nLanes; l++) {
      const r = net.laneRoad[l];
      if (real(net.roadStartInter[r]) && set.has(net.roadEndInter[r])) {
        lanes.push(l);
        capacity += Math.max(1, Math.floor(net.length[l] / JAM_SPACING));
      }
    }
    regions.push({ lanes, capacity });
  }
  const sums = new Float64Array(regions.length);
  let samples = 0;
  const row = [];
  const faults = [];
  const { metrics: m } = await runControlled(sim, controllers[name](), 3600, {
    onFault: (f) => faults.push(f),
    ...(guards === 'off' ? { ring: false, gate: false } : {}),
    onStep: (s, k) => {
      if ((k + 1) % SAMPLE === 0) {
        samples++;
        regions.forEach((rg, j) => {
          let v = 0;
          for (const l of rg.lanes) v += s.laneVehicleCount(l);
          sums[j] += v / rg.capacity;
        });
      }
      if ((k + 1) % WINDOW === 0) {
        let most = 0;
        for (let j = 0; j < regions.length; j++) most = Math.max(most, sums[j] / samples);
        row.push((100 * most).toFixed(0));
        sums.fill(0);
        samples = 0;
      }
    },
  });
  const locks = faults.filter((f) => !isAdvisory(f));
  const locked = new Set(locks.map((f) => f.intersection)).size;
  console.log(`${name} ${g} ${left},${straight},${right} @${d} seed ${seed}, R ${radius}, ${regions.length} regions, guards ${guards}: ` +
    `ATT ${m.averageTravelTime.toFixed(1)}${locked ? `, ${locked} locked from ${locks[0].time} s` : ''}; fullest region % per ${WINDOW} s: ${row.join(' ')}`);
}
