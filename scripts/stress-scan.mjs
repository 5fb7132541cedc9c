// The default controller against max-pressure over a family of generated grids (issue #16: the default may never be
// worse than max-pressure, and none may gridlock): every grid x lanes x demand, one hour, seed 0, under the supervisor
// as the tests run it (runControlled, ground-truth observations). Prints each one's ATT and gridlock faults (the
// guards' advisory faults, starvation and ring, left out), flagged WORSE where the first controller's ATT is above the second's.
//   GRIDS=1x4,1x8,2x5,3x3,4x4,6x6 LANES='1,1,1;1,2,1;1,3,1' DEMANDS=0.05,0.08,0.1,0.12,0.15 \
//   CTRL=schedule,max-pressure node scripts/stress-scan.mjs        (after npx tsc -b; about 5 min on 2 cores)
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid } = await import(root + 'packages/engine/dist/index.js');
const { controllers, isAdvisory, runControlled } = await import(root + 'packages/control/dist/index.js');
const grids = (process.env.GRIDS ?? '1x4,1x8,2x5,3x3,4x4,6x6').split(',');
const lanesList = (process.env.LANES ?? '1,1,1;1,2,1;1,3,1').split(';');
const demands = (process.env.DEMANDS ?? '0.05,0.08,0.1,0.12,0.15').split(',').map(Number);
const names = (process.env.CTRL ?? 'schedule,max-pressure').split(',');
for (const g of grids) for (const ln of lanesList) for (const d of demands) {
  const [rows, cols] = g.split('x').map(Number); const [left, straight, right] = ln.split(',').map(Number);
  const sc = generateGrid({ rows, cols, demand: d, lanesPerMovement: { left, straight, right } });
  const out = [];
  for (const n of names) {
    const faults = [];
    const { metrics: m } = await runControlled(new Simulation(sc, { seed: 0 }), controllers[n](), 3600, { onFault: (f) => faults.push(f) });
    out.push([n, m.averageTravelTime, faults.filter((f) => !isAdvisory(f)).length]);
  }
  const flag = out[0][1] > out[1][1] ? ' WORSE' : '';
  console.log(`${g} ${ln} @${d}: ` + out.map(([n, a, f]) => `${n} ${a.toFixed(1)}${f ? ` (${f} locks)` : ''}`).join(', ') + flag);
}
