/**
 * Runs one fuzz target's mutants through its loader (in a worker, so that the
 * test can stop a parse that hangs). Before each parse it posts the mutant;
 * at the end how many loaded and how many were refused, or the failure.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { ScenarioError } from '@citybrain/engine';
import { fuzzTargets, mutants } from './loader-fuzz.js';

export interface FuzzJob {
  target: string;
  runs: number;
  seed: number;
}
export type FuzzMessage =
  | { type: 'parse'; text: string }
  | { type: 'done'; loaded: number; refused: number; placeless: string[] }
  | { type: 'fail'; message: string };

const job = workerData as FuzzJob;
const post = (m: FuzzMessage) => parentPort!.postMessage(m);
const t = fuzzTargets().find((x) => x.name === job.target)!;
let loaded = 0;
let refused = 0;
const placeless = new Set<string>();
try {
  fc.assert(
    fc.property(mutants(t.seed, t.syntax), (text) => {
      post({ type: 'parse', text });
      try {
        t.load(text);
        loaded++;
      } catch (e) {
        if (!(e instanceof ScenarioError)) {
          throw new Error(`${t.name}: threw ${e instanceof Error ? e.stack : String(e)}\n(not a ScenarioError)`);
        }
        if (!t.sources.includes(e.source)) throw new Error(`${t.name}: the error names ${e.source}: ${e.message}`);
        if (!e.message.startsWith(`${e.source}: `) || /[\r\n\u2028\u2029]/.test(e.message)) {
          throw new Error(`${t.name}: not one line starting with the file: ${JSON.stringify(e.message)}`);
        }
        if (e.path === '') placeless.add(e.problem.replace(/"[^"]*"/g, '"…"').slice(0, 80));
        refused++;
      }
    }),
    { numRuns: job.runs, seed: job.seed, endOnFailure: true },
  );
  post({ type: 'done', loaded, refused, placeless: [...placeless] });
} catch (e) {
  post({ type: 'fail', message: e instanceof Error ? e.message : String(e) });
}
