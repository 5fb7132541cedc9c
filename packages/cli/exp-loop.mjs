import { generateGrid, Simulation } from '@citybrain/engine';
import { runControlled, createController } from '@citybrain/control';
import { CityRuntime } from '@citybrain/server';
import { readScenario } from './dist/scenario-files.js';
const which = process.argv[2] ?? 'hz1';
const ctrl = process.argv[3] ?? 'max-pressure';
const D = '/work/shared/data';
const sc = which === 'hz1' ? readScenario(`${D}/hangzhou_4x4/roadnet_4_4.json`, `${D}/hangzhou_4x4/anon_4_4_hangzhou_real.json`)
  : which === 'jn1' ? readScenario(`${D}/jinan_3x4/roadnet_3_4.json`, `${D}/jinan_3x4/anon_3_4_jinan_real.json`)
  : generateGrid({ rows: 4, cols: 4, demand: +(process.argv[4] ?? 0.06), seed: 5, endTime: 3600 });
let t0 = performance.now();
const gt = await runControlled(new Simulation(sc, { seed: 0 }), createController(ctrl), 3600);
const tGt = performance.now() - t0;
t0 = performance.now();
const rt = new CityRuntime(sc, { controller: ctrl, epochMs: 1767225600000, seed: 0, hostedControllers: [] });
for (let k = 0; k < 3600; k++) await rt.stepOnce();
const m = rt.street.sim.metrics();
console.log(which, ctrl, { attGroundTruth: +gt.metrics.averageTravelTime.toFixed(1), attDevices: +m.averageTravelTime.toFixed(1), ratio: +(m.averageTravelTime / gt.metrics.averageTravelTime).toFixed(3), twin: rt.twin.stats, wallGt: Math.round(tGt), wallLoop: Math.round(performance.now() - t0) });
