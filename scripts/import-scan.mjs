// Controllers on imported and real-map networks under the supervisor (issue #16: a guard must not fire on a real map's
// noise): the Osnabrück OSM extract imported at each DEMANDS (trips/h) x OSM_SEEDS (randomTrips' seed), under SUMO's
// rules as cli/test/import-controllers.test.ts runs it; then the Hangzhou 4x4 SUMO files and a 1 x 8 arterial at
// ARTERIAL demands. Prints each run's ATT, its gridlock faults (advisory ones left out), teleports, vehicles never
// entered, and when the perimeter gate first handed the perimeter to the plan.
//   DEMANDS=2000,3000,4000 OSM_SEEDS=42,7 CTRL=fixed,schedule,max-pressure,green-wave ARTERIAL=0.08,0.12 \
//   node scripts/import-scan.mjs      (after npx tsc -b; CITYBRAIN_DATA names ../shared/data elsewhere)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('..', import.meta.url));
const { Simulation, generateGrid, loadSumoScenario } = await import(root + 'packages/engine/dist/index.js');
const { controllers, isAdvisory, runControlled } = await import(root + 'packages/control/dist/index.js');
const { importOsm } = await import(root + 'packages/cli/dist/commands/import.js');
const DATA = process.env.CITYBRAIN_DATA ?? join(root, '../shared/data');
const list = (v, d) => (v ?? d).split(',').filter(Boolean);
const demands = list(process.env.DEMANDS, '2000,3000,4000').map(Number);
const osmSeeds = list(process.env.OSM_SEEDS, '42,7').map(Number);
const arterial = list(process.env.ARTERIAL, '0.08,0.12').map(Number);
const names = list(process.env.CTRL, 'fixed,schedule,max-pressure,green-wave');
const hz = process.env.HZ !== '0';
const tmp = mkdtempSync(join(tmpdir(), 'import-scan-'));

async function run(label, scenario) {
  for (const n of names) {
    const faults = [];
    const sim = new Simulation(scenario, { seed: 0 });
    const { metrics: m } = await runControlled(sim, controllers[n](), Math.round(3600 / sim.interval), { onFault: (f) => faults.push(f), budgetMs: 30_000 });
    const locks = faults.filter((f) => !isAdvisory(f));
    const gate = faults.find((f) => f.kind === 'gate');
    console.log(`${label} ${n}: ATT ${m.averageTravelTime.toFixed(1)}, faults ${locks.length}, teleported ${m.teleported}, ` +
      `waiting ${m.waitingToEnter}, gate ${gate ? `at ${gate.time} s` : 'never'}`);
  }
}

try {
  for (const d of demands) for (const s of osmSeeds) {
    const sc = importOsm(join(DATA, 'osnabrueck_osm/martini.osm.xml'), join(tmp, `osm-${d}-${s}`), { demandPerHour: d, seconds: 3600, seed: s }).loaded.scenario;
    await run(`osm ${d}/h seed ${s}`, sc);
  }
  if (hz) {
    const base = join(DATA, 'hangzhou_4x4/sumo/hangzhou_4x4_gudang_18041610_1h');
    const sc = loadSumoScenario({ net: readFileSync(`${base}.net.xml`, 'utf8'), routes: readFileSync(`${base}.rou.xml`, 'utf8'), netSource: 'net.xml', routesSource: 'rou.xml' }).scenario;
    await run('hangzhou sumo', sc);
  }
  for (const d of arterial) await run(`1x8 @${d}`, generateGrid({ rows: 1, cols: 8, demand: d }));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
