// Issue #15: --random cityflow beside CityFlow itself, seed for seed. CityFlow is not shipped here:
// give a command that runs a CityFlow config.json (its path comes last) for the steps asked and prints
// get_average_travel_time() as the first number of its output, e.g. a driver for the Python package:
//   import cityflow, sys; e = cityflow.Engine(sys.argv[2], thread_num=1)
//   for _ in range(int(sys.argv[1])): e.next_step()
//   print(e.get_average_travel_time())
// then   node scripts/cityflow-compare.mjs --cityflow "python3 driver.py 3600" [--seeds 0,1,2,3,4] [--steps 3600]
// Each network is generated (generate grid), run with its own signal plans (CityFlow: rlTrafficLight false),
// and printed with CityFlow's ATT, ours with random: 'cityflow' (equal to two decimals?) and ours with xoshiro.
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateGrid, loadCityflowScenario, Simulation } from '@citybrain/engine';

const { values } = parseArgs({ options: { cityflow: { type: 'string' }, seeds: { type: 'string', default: '0,1,2,3,4' }, steps: { type: 'string', default: '3600' } } });
if (!values.cityflow) {
  console.error('usage: node scripts/cityflow-compare.mjs --cityflow "COMMAND" [--seeds 0,1,2,3,4] [--steps 3600] (see the comment at the top)');
  process.exit(2);
}
const seeds = values.seeds.split(',').map(Number);
const steps = Number(values.steps);
if (!seeds.every(Number.isInteger) || !(steps > 0)) {
  console.error('--seeds takes integers separated by commas, --steps a positive number');
  process.exit(2);
}
const L = (left, straight, right) => ({ left, straight, right });
// multi-lane networks (several lanes a vehicle may start on), light to jammed, and arterials
const NETWORKS = [
  ['2x2 lanes 1,2,1 demand 0.1', { rows: 2, cols: 2, lanesPerMovement: L(1, 2, 1), demand: 0.1 }],
  ['3x3 lanes 2,3,1 demand 0.2', { rows: 3, cols: 3, lanesPerMovement: L(2, 3, 1), demand: 0.2 }],
  ['4x4 lanes 1,2,1 demand 0.3', { rows: 4, cols: 4, lanesPerMovement: L(1, 2, 1), demand: 0.3 }],
  ['2x3 lanes 1,2,1 demand 0.15 tl-plan', { rows: 2, cols: 3, lanesPerMovement: L(1, 2, 1), demand: 0.15, tlPlan: true }],
  ['3x3 lanes 2,3,1 demand 0.3 no turns', { rows: 3, cols: 3, lanesPerMovement: L(2, 3, 1), demand: 0.3, turnRoutes: false }],
  ['1x6 lanes 2,3,1 demand 0.3', { rows: 1, cols: 6, lanesPerMovement: L(2, 3, 1), demand: 0.3 }],
  ['1x4 lanes 1,2,1 demand 0.5', { rows: 1, cols: 4, lanesPerMovement: L(1, 2, 1), demand: 0.5 }],
];
const dir = mkdtempSync(join(tmpdir(), 'cityflow-compare-'));
let equal = 0, runs = 0;
try {
  console.log(`load ${loadavg()[0].toFixed(2)}; ${steps} s, the networks' own plans`);
  for (const [name, opts] of NETWORKS) {
    const g = generateGrid(opts);
    // the files CityFlow reads, and ours reads the same text
    const roadnet = JSON.stringify(g.roadnet), flow = JSON.stringify(g.flows);
    writeFileSync(join(dir, 'roadnet.json'), roadnet);
    writeFileSync(join(dir, 'flow.json'), flow);
    const { scenario } = loadCityflowScenario({ roadnet, flow });
    for (const seed of seeds) {
      const config = join(dir, `config${seed}.json`);
      writeFileSync(config, JSON.stringify({ interval: 1, seed, dir: dir + '/', roadnetFile: 'roadnet.json', flowFile: 'flow.json', rlTrafficLight: false, laneChange: false, saveReplay: false }));
      const out = execSync(`${values.cityflow} ${JSON.stringify(config)}`, { encoding: 'utf8' });
      const theirs = Number(/-?\d+(\.\d+)?(e[-+]?\d+)?/i.exec(out)?.[0]);
      if (!Number.isFinite(theirs)) throw new Error(`the CityFlow command printed no number: ${out.slice(0, 200)}`);
      const att = (random) => {
        const sim = new Simulation(scenario, { seed, random });
        sim.step(steps);
        return sim.metrics().averageTravelTime;
      };
      const ours = att('cityflow');
      const same = theirs.toFixed(2) === ours.toFixed(2);
      equal += same ? 1 : 0;
      runs++;
      console.log(`${name}, seed ${seed}: CityFlow ${theirs.toFixed(2)}  ours (cityflow) ${ours.toFixed(2)} ${same ? '=' : 'DIFFERENT'}  ours (xoshiro) ${att('xoshiro').toFixed(2)}`);
    }
  }
  console.log(`equal to two decimals in ${equal} of ${runs} runs; load ${loadavg()[0].toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(equal === runs ? 0 : 1);
