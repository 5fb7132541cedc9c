// Where controllers lock a generated grid (issue #16): ATT, what is left at the hour's end, and the gridlock faults.
//   node scripts/grid-locks.mjs [--controllers schedule,max-pressure,fixed] [--rows 3] [--cols 3] [--demand 0.15]
//     [--lanes 1,2,1] [--seconds 3600] [--seeds 0] [--faults N]
//   (after npx tsc -b; about 1-2 s a run for a 3 x 3 grid)
// Each run: a generated grid (CityFlow's generator, its 8 turning routes; --lanes: left, straight, right lanes per
// approach) under the supervisor as the tests run it (runControlled, default options, ground-truth observations);
// prints ATT, vehicles finished, still in the network and waiting to enter, the gridlock/deadlock faults (their count,
// the first N with time and the supervisor's message) and the guards' advisory faults (starvation, ring, gate) by kind. With several seeds, the
// mean ATT per controller.
import { generateGrid, Simulation } from '@citybrain/engine';
import { controllers, isAdvisory, runControlled } from '@citybrain/control';

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const names = (args.get('controllers') ?? 'schedule,max-pressure,fixed').split(',');
const rows = +(args.get('rows') ?? 3), cols = +(args.get('cols') ?? 3), demand = +(args.get('demand') ?? 0.15);
const [left, straight, right] = (args.get('lanes') ?? '1,2,1').split(',').map(Number);
const seconds = +(args.get('seconds') ?? 3600);
const seeds = (args.get('seeds') ?? '0').split(',').map(Number);
const shown = +(args.get('faults') ?? 5);
for (const name of names) if (!controllers[name]) throw new Error(`unknown controller ${name} (${Object.keys(controllers).join(', ')})`);

const scenario = generateGrid({ rows, cols, demand, lanesPerMovement: { left, straight, right } });
for (const name of names) {
  let sum = 0;
  for (const seed of seeds) {
    const faults = [];
    const { metrics: m } = await runControlled(new Simulation(scenario, { seed }), controllers[name](), seconds, { onFault: (f) => faults.push(f) });
    const locks = faults.filter((f) => !isAdvisory(f));
    sum += m.averageTravelTime;
    console.log(`${name} ${rows}x${cols} lanes ${left},${straight},${right} @${demand} seed ${seed}: ATT ${m.averageTravelTime.toFixed(1)} s, ` +
      `finished ${m.finishedVehicles}, in the network ${m.vehiclesInNetwork}, waiting to enter ${m.waitingToEnter}; ` +
      `${locks.length} gridlock faults${locks.length ? ` (first at ${locks[0].time} s)` : ''}, ${faults.filter((f) => f.kind === 'starvation').length} starvation, ${faults.filter((f) => f.kind === 'ring').length} ring hand-overs, ${faults.filter((f) => f.kind === 'gate').length} gate hand-overs`);
    for (const f of locks.slice(0, shown)) console.log(`    ${f.time} s ${f.kind}: ${f.error}`);
  }
  if (seeds.length > 1) console.log(`${name}: mean ATT ${(sum / seeds.length).toFixed(1)} s over seeds ${seeds.join(',')}`);
}
