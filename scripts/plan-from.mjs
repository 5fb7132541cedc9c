// Up to when the plan in step still carries a controller's state (issue #16): the controller runs a generated grid
// alone until second T, then every intersection runs the fixed plan on the common clock (the guards' plan, 20 s
// greens) to the hour's end; prints ATT and the intersections locked for each T. A guard that hands over after the
// last T that carries comes too late for that controller.
//   node scripts/plan-from.mjs [--controller schedule] [--rows 6] [--cols 6] [--demand 0.12] [--lanes 1,1,1]
//     [--from 800,1000,1100,1200] [--green 20] [--guards off] [--seed 0]      (after npx tsc -b; about 2 s a run for 6 x 6)
// --guards off (the default) runs without the ring guard and the perimeter gate, so that only T decides the
// hand-over; 'on' keeps them (they may hand over before T). The gridlock relief and the starvation guard stay on.
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid } = await import(root + 'packages/engine/dist/index.js');
const { controllers, fixedTime, isAdvisory, runControlled } = await import(root + 'packages/control/dist/index.js');

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const name = args.get('controller') ?? 'schedule';
if (!controllers[name]) throw new Error(`unknown controller ${name} (${Object.keys(controllers).join(', ')})`);
const rows = +(args.get('rows') ?? 6), cols = +(args.get('cols') ?? 6), demand = +(args.get('demand') ?? 0.12);
const [left, straight, right] = (args.get('lanes') ?? '1,1,1').split(',').map(Number);
const from = (args.get('from') ?? '800,1000,1100,1200').split(',').map(Number);
const green = +(args.get('green') ?? 20);
const guards = args.get('guards') ?? 'off';
if (guards !== 'on' && guards !== 'off') throw new Error(`--guards must be on or off, got "${guards}"`);
const seed = +(args.get('seed') ?? 0);

const scenario = generateGrid({ rows, cols, demand, lanesPerMovement: { left, straight, right } });
for (const T of from) {
  const own = controllers[name](), plan = fixedTime({ clock: true, green });
  // the controller decides every second before T as it would alone; from T its answer is replaced by the plan's
  const switched = {
    name: `${name} then the plan from ${T} s`,
    needs: own.needs,
    init(env) {
      own.init?.(env);
      plan.init?.(env);
    },
    beginStep: own.beginStep ? (env) => own.beginStep(env) : undefined,
    decide(ix, s, env) {
      const want = own.decide(ix, s, env);
      return env.twin.time >= T ? plan.decide(ix, s, env) : want;
    },
  };
  const faults = [];
  const { metrics: m } = await runControlled(new Simulation(scenario, { seed }), switched, 3600, {
    onFault: (f) => faults.push(f), ...(guards === 'off' ? { ring: false, gate: false } : {}),
  });
  const locks = faults.filter((f) => !isAdvisory(f));
  const locked = new Set(locks.map((f) => f.intersection)).size;
  console.log(`${name} ${rows}x${cols} lanes ${left},${straight},${right} @${demand} seed ${seed}, plan (${green} s greens) from ${T} s, guards ${guards}: ` +
    `ATT ${m.averageTravelTime.toFixed(1)} s, ${locked} intersections locked${locks.length ? ` (first at ${locks[0].time} s)` : ''}`);
}
