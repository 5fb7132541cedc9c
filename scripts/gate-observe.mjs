// When would the perimeter gate's regional trigger fire under other settings (issue #16)? Each run goes under the
// supervisor as the tests run it (the gate as it is), and beside it passive gates (core/gate.ts GateGuard, the whole
// network's share off: criticalShare 1) with each VARIANTS [regionShare, regionRise] read the same observations each
// second; they change nothing. Prints the run's ATT, locks (count and the first one's second), the gate's own
// hand-overs ('r' a region, 'n' the whole network's share) and the second each variant would first have fired (-1:
// never). A variant that fires before the gate does on a grid the controller locks, and never on one it carries, is
// worth a real run; past the gate's own fire the run's trajectory is the gate's, so later figures are only a bound.
//   GRIDS=4x4,6x6 LANES='1,1,1;1,2,1;1,3,1' DEMANDS=0.1,0.12,0.15 SEEDS=0 CTRL=schedule \
//   VARIANTS='[[0.12,0.04],[0.14,0.04],[0.12,0.05]]' node scripts/gate-observe.mjs     (after npx tsc -b)
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid } = await import(root + 'packages/engine/dist/index.js');
const { controllers, isAdvisory, GateGuard, SignalSupervisor } = await import(root + 'packages/control/dist/index.js');
const grids = (process.env.GRIDS ?? '4x4,6x6').split(',');
const lanesList = (process.env.LANES ?? '1,1,1;1,2,1;1,3,1').split(';');
const demands = (process.env.DEMANDS ?? '0.1,0.12,0.15').split(',').map(Number);
const seeds = (process.env.SEEDS ?? '0').split(',').map(Number);
const name = process.env.CTRL ?? 'schedule';
if (!controllers[name]) throw new Error(`unknown controller ${name}`);
const variants = JSON.parse(process.env.VARIANTS ?? '[[0.12,0.04],[0.14,0.04],[0.12,0.05]]');
for (const g of grids) for (const ln of lanesList) for (const d of demands) for (const seed of seeds) {
  const [rows, cols] = g.split('x').map(Number);
  const [left, straight, right] = ln.split(',').map(Number);
  const sim = new Simulation(generateGrid({ rows, cols, demand: d, lanesPerMovement: { left, straight, right } }), { seed });
  const faults = [];
  const sup = new SignalSupervisor(sim, controllers[name](), { onFault: (f) => faults.push(f) });
  const passive = variants.map(([regionShare, regionRise]) => new GateGuard(sup.env, { criticalShare: 1, regionShare, regionRise }));
  const first = variants.map(() => -1);
  for (let k = 0; k < 3600; k++) {
    sup.tick();
    passive.forEach((p, i) => {
      const h = p.check(sim.time);
      if (h && first[i] < 0) first[i] = h.time;
    });
    sim.step();
  }
  const locks = faults.filter((f) => !isAdvisory(f));
  const locked = new Set(locks.map((f) => f.intersection)).size;
  const gate = sup.gate?.handOvers.map((h) => `${h.time}${h.message.includes('region') ? 'r' : 'n'}`).join(',') || '-';
  console.log(`${name} ${g} ${ln} @${d} seed ${seed}: ATT ${sim.metrics().averageTravelTime.toFixed(1)}` +
    `${locked ? ` (${locked} locked from ${locks[0].time} s)` : ''}, gate ${gate} | ` + variants.map((v, i) => `${v.join('/')}: ${first[i]}`).join(', '));
}
