// The default controller against max-pressure over a family of generated grids (issue #16: the default may never be
// worse than max-pressure, and none may gridlock): every grid x lanes x demand, one hour for each of SEEDS, under the supervisor
// as the tests run it (runControlled, ground-truth observations). Prints each one's ATT and gridlock faults (the
// guards' advisory faults, starvation and ring, left out), flagged WORSE where the first controller's ATT is above the second's.
// Past capacity on grids of several lanes a movement the runs are chaotic (a last bit flips a lock), so judge over
// SEEDS (the simulation's random stream: its lane choices; one-lane grids take none and repeat), and the summary line.
//   GRIDS=1x4,1x8,2x5,3x3,4x4,6x6 LANES='1,1,1;1,2,1;1,3,1' DEMANDS=0.05,0.08,0.1,0.12,0.15 SEEDS=0 \
//   CTRL=schedule,max-pressure node scripts/stress-scan.mjs        (after npx tsc -b; about 5 min a seed on 2 cores)
// BLOCKS (metres between intersections, default 300) gives the short-block family of issue #16, where spill-back
// comes soonest: GRIDS=4x4,5x5,6x6 LANES='1,1,1' DEMANDS=0.06,0.07,0.08,0.09 BLOCKS=150,180,240 node scripts/stress-scan.mjs
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid } = await import(root + 'packages/engine/dist/index.js');
const { controllers, isAdvisory, runControlled } = await import(root + 'packages/control/dist/index.js');
const grids = (process.env.GRIDS ?? '1x4,1x8,2x5,3x3,4x4,6x6').split(',');
const lanesList = (process.env.LANES ?? '1,1,1;1,2,1;1,3,1').split(';');
const demands = (process.env.DEMANDS ?? '0.05,0.08,0.1,0.12,0.15').split(',').map(Number);
const seeds = (process.env.SEEDS ?? '0').split(',').map(Number);
const blocks = (process.env.BLOCKS ?? '300').split(',').map(Number);
const names = (process.env.CTRL ?? 'schedule,max-pressure').split(',');
const total = names.map(() => ({ att: 0, runsLocked: 0, locked: 0 }));
let runs = 0, worse = 0;
for (const g of grids) for (const ln of lanesList) for (const d of demands) for (const b of blocks) {
  const [rows, cols] = g.split('x').map(Number); const [left, straight, right] = ln.split(',').map(Number);
  const sc = generateGrid({ rows, cols, demand: d, lanesPerMovement: { left, straight, right }, blockLength: b });
  for (const seed of seeds) {
    const out = [];
    for (const [i, n] of names.entries()) {
      const faults = [];
      const { metrics: m } = await runControlled(new Simulation(sc, { seed }), controllers[n](), 3600, { onFault: (f) => faults.push(f) });
      const locked = new Set(faults.filter((f) => !isAdvisory(f)).map((f) => f.intersection)).size;
      out.push([n, m.averageTravelTime, locked]);
      total[i].att += m.averageTravelTime;
      total[i].runsLocked += locked > 0 ? 1 : 0;
      total[i].locked += locked;
    }
    runs++;
    const flag = out.length > 1 && out[0][1] > out[1][1] ? ' WORSE' : '';
    if (flag) worse++;
    console.log(`${g} ${ln} @${d}${blocks.length > 1 || b !== 300 ? ` ${b} m` : ''} seed ${seed}: ` + out.map(([n, a, k]) => `${n} ${a.toFixed(1)}${k ? ` (${k} locked)` : ''}`).join(', ') + flag);
  }
}
console.log(`${runs} runs; ` + (names.length > 1 ? `${names[0]} worse than ${names[1]} in ${worse}; ` : '') +
  names.map((n, i) => `${n}: ATT summed ${total[i].att.toFixed(1)} s, ${total[i].runsLocked} runs with a lock, ${total[i].locked} locked intersections`).join('; '));
