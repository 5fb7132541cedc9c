// Supervised one-hour runs whose results a change to the supervisor or its guards must leave identical (issue #18: the
// guards made cheaper, not different): HZ1 under fixed / schedule / max-pressure, JN1 under schedule, generated 4 x 4
// and 6 x 6 grids at 0.1 and 0.15 under schedule / max-pressure / green-wave / fixed, three runs that trip every guard
// (4 x 4 at 0.12 max-pressure without the gate; 4 x 4 at 0.1 max-pressure and 5 x 5 at 0.12 sotl without gate and
// ring) and the Osnabrück import at 3000/h, seed 42. Prints each run's ATT at full precision, the faults by kind and
// a hash of every fault (kind, time, intersection, controller, message), then one hash of all the lines.
// Save the output before a change and diff it after: it must match to the last digit.
//   npx tsc -b && CITYBRAIN_DATA=/work/shared/data node scripts/supervised-identity.mjs > before.txt
//   ONLY=hz1 node scripts/supervised-identity.mjs     (runs whose label contains any of the comma-separated words)
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid, loadCityflowScenario } = await import(root + 'packages/engine/dist/index.js');
const { controllers, runControlled } = await import(root + 'packages/control/dist/index.js');
const { importOsm } = await import(root + 'packages/cli/dist/commands/import.js');
const DATA = process.env.CITYBRAIN_DATA ?? join(root, '../shared/data');
const only = (process.env.ONLY ?? '').split(',').filter(Boolean);

const cityflow = (dir, roadnet, flow) =>
  loadCityflowScenario({ roadnet: readFileSync(join(DATA, dir, roadnet), 'utf8'), flow: readFileSync(join(DATA, dir, flow), 'utf8') }).scenario;

/** [label, () => scenario, controller, supervisor options beyond the defaults] */
const runs = [];
const hz1 = () => cityflow('hangzhou_4x4', 'roadnet_4_4.json', 'anon_4_4_hangzhou_real.json');
for (const c of ['fixed', 'schedule', 'max-pressure']) runs.push([`hz1 ${c}`, hz1, c, {}]);
runs.push(['jn1 schedule', () => cityflow('jinan_3x4', 'roadnet_3_4.json', 'anon_3_4_jinan_real.json'), 'schedule', {}]);
for (const n of [4, 6]) for (const d of [0.1, 0.15]) for (const c of ['schedule', 'max-pressure', 'green-wave', 'fixed'])
  runs.push([`${n}x${n} @${d} ${c}`, () => generateGrid({ rows: n, cols: n, demand: d }), c, {}]);
runs.push(['4x4 @0.12 max-pressure no gate', () => generateGrid({ rows: 4, cols: 4, demand: 0.12 }), 'max-pressure', { gate: false }]);
runs.push(['4x4 @0.1 max-pressure no gate, ring', () => generateGrid({ rows: 4, cols: 4, demand: 0.1 }), 'max-pressure', { gate: false, ring: false }]);
runs.push(['5x5 @0.12 sotl no gate, ring', () => generateGrid({ rows: 5, cols: 5, demand: 0.12 }), 'sotl', { gate: false, ring: false }]);
const tmp = mkdtempSync(join(tmpdir(), 'supervised-identity-'));
runs.push(['osm 3000/h seed 42 schedule', () =>
  importOsm(join(DATA, 'osnabrueck_osm/martini.osm.xml'), join(tmp, 'osm'), { demandPerHour: 3000, seconds: 3600, seed: 42 }).loaded.scenario, 'schedule', {}]);

const all = createHash('sha256');
try {
  for (const [label, scenario, c, opts] of runs) {
    if (only.length && !only.some((w) => label.includes(w))) continue;
    const faults = [];
    const sim = new Simulation(scenario(), { seed: 0 });
    // a budget no loaded machine reaches: an overrun would make the faults depend on the load, not the code
    const { metrics: m } = await runControlled(sim, controllers[c](), Math.round(3600 / sim.interval), { ...opts, budgetMs: 1e9, onFault: (f) => faults.push(f) });
    const h = createHash('sha256');
    const kinds = {};
    for (const f of faults) {
      h.update(`${f.kind}|${f.time}|${f.intersection}|${f.controller}|${f.error}\n`);
      kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
    }
    const line = `${label}: ATT ${m.averageTravelTime}, finished ${m.finishedVehicles}, delay ${m.totalDelay}, faults ${faults.length} ` +
      `${JSON.stringify(kinds)} ${h.digest('hex').slice(0, 16)}`;
    all.update(line + '\n');
    console.log(line);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`all: ${all.digest('hex').slice(0, 16)}`);
