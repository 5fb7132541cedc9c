// What one of the supervisor's guards does on grids it was not tuned on (issue #16): each controller with the guard
// on (the default) and off, every grid x demand, one hour, under the supervisor as the tests run it (runControlled,
// ground-truth observations). Prints each pair's ATT with 'L' the intersections locked (gridlock or deadlock faults)
// and 'g' the guard's own hand-overs, then the totals: locked intersections, runs locked, runs whose ATT moved by
// more than 2% either way.
//   GUARD=gate GRIDS=4x5,5x4,5x6,4x7 DEMANDS=0.1,0.11,0.12,0.13 LANES=1,1,1 SEEDS=1 CTRL=schedule \
//   node scripts/guard-effect.mjs      (after npx tsc -b; GUARD one of gate, ring, starvation; about 1 min on 2 cores)
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid } = await import(root + 'packages/engine/dist/index.js');
const { controllers, isAdvisory, runControlled } = await import(root + 'packages/control/dist/index.js');
const guard = process.env.GUARD ?? 'gate';
if (!['gate', 'ring', 'starvation'].includes(guard)) throw new Error(`GUARD must be gate, ring or starvation, got "${guard}"`);
const grids = (process.env.GRIDS ?? '4x5,5x4,5x6,4x7').split(',');
const demands = (process.env.DEMANDS ?? '0.1,0.11,0.12,0.13').split(',').map(Number);
const names = (process.env.CTRL ?? 'schedule').split(',');
const seeds = (process.env.SEEDS ?? '1').split(',').map(Number);
const [left, straight, right] = (process.env.LANES ?? '1,1,1').split(',').map(Number);
const total = { on: { locked: 0, runs: 0 }, off: { locked: 0, runs: 0 } };
let worse = 0, better = 0, n = 0;
for (const g of grids) for (const d of demands) for (const name of names) for (const seed of seeds) {
  const [rows, cols] = g.split('x').map(Number);
  const sc = generateGrid({ rows, cols, demand: d, lanesPerMovement: { left, straight, right } });
  const att = {}, text = {};
  for (const side of ['off', 'on']) {
    const faults = [];
    const { metrics: m } = await runControlled(new Simulation(sc, { seed }), controllers[name](), 3600, {
      onFault: (f) => faults.push(f), ...(side === 'off' ? { [guard]: false } : {}),
    });
    const locked = new Set(faults.filter((f) => !isAdvisory(f)).map((f) => f.intersection)).size;
    const own = faults.filter((f) => f.kind === guard).length;
    att[side] = m.averageTravelTime;
    text[side] = `${m.averageTravelTime.toFixed(1)}${locked ? ` L${locked}` : ''}${own ? ` g${own}` : ''}`;
    total[side].locked += locked;
    if (locked) total[side].runs++;
  }
  n++;
  if (att.on > 1.02 * att.off) worse++;
  if (att.on < 0.98 * att.off) better++;
  console.log(`${g} ${left},${straight},${right} @${d} ${name} seed ${seed}: ${guard} off ${text.off} | on ${text.on}`);
}
console.log(`${n} runs; locked intersections off ${total.off.locked}, on ${total.on.locked}; runs locked off ${total.off.runs}, on ${total.on.runs}; ` +
  `ATT with the ${guard} on worse by > 2% in ${worse}, better by > 2% in ${better}`);
