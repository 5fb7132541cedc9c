/**
 * The loaders' fuzz test: 300 mutants of each of a CityFlow roadnet, a
 * CityFlow flow file, a SUMO network and a SUMO routes file (fixed seed, so
 * the same mutants every run). Every mutant either loads or is refused with
 * a ScenarioError, one line naming the file and the place in it (a JSON path,
 * an XML element or a line); never another exception, a
 * crash or a hang: each parse runs in a worker stopped after PARSE_LIMIT_MS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { fuzzTargets } from './loader-fuzz.js';
import type { FuzzJob, FuzzMessage } from './loader-fuzz-worker.js';

const RUNS = 300;
const SEED = 20261206;
/** far above any parse of these small files (milliseconds), on a loaded machine too */
const PARSE_LIMIT_MS = 10_000;

function fuzz(job: FuzzJob): Promise<Extract<FuzzMessage, { type: 'done' }>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./loader-fuzz-worker.js', import.meta.url), { workerData: job });
    let last = '';
    let parses = 0;
    let timer: NodeJS.Timeout | undefined;
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`${job.target}: mutant #${parses} still parsing after ${PARSE_LIMIT_MS} ms: ${JSON.stringify(last.slice(0, 500))}`));
      }, PARSE_LIMIT_MS);
    };
    watch();
    worker.on('message', (m: FuzzMessage) => {
      if (m.type === 'parse') {
        last = m.text;
        parses++;
        return watch();
      }
      clearTimeout(timer);
      void worker.terminate();
      if (m.type === 'done') resolve(m);
      else reject(new Error(`${job.target}: mutant #${parses}: ${m.message}\nmutant: ${JSON.stringify(last.slice(0, 2000))}`));
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${job.target}: the worker crashed on mutant #${parses}: ${e.stack}\nmutant: ${JSON.stringify(last.slice(0, 2000))}`));
    });
  });
}

for (const { name } of fuzzTargets()) {
  test(`fuzz: ${RUNS} mutants of a ${name} file load or are refused in one line naming the file`, async () => {
    const r = await fuzz({ target: name, runs: RUNS, seed: SEED });
    assert.equal(r.loaded + r.refused, RUNS);
    // mutants that all fail at the first byte, or all load, would test little
    assert.ok(r.loaded >= RUNS * 0.05, `only ${r.loaded} of ${RUNS} mutants loaded`);
    assert.ok(r.refused >= RUNS * 0.3, `only ${r.refused} of ${RUNS} mutants were refused`);
    console.log(`${name}: ${r.loaded} loaded, ${r.refused} refused`);
  });
}
