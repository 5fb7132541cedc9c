/**
 * Runs one fuzz target's mutants through its loader (in a worker, so that the
 * test can stop a parse that hangs). Before each parse it posts the mutant;
 * at the end how many loaded and how many were refused, or the failure: an
 * exception other than a ScenarioError, or one that is not one line naming the
 * file and, unless the problem is the file as a whole, the place in it.
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
  | { type: 'done'; loaded: number; refused: number }
  | { type: 'fail'; message: string };

const job = workerData as FuzzJob;
const post = (m: FuzzMessage) => parentPort!.postMessage(m);
const t = fuzzTargets().find((x) => x.name === job.target)!;
let loaded = 0;
let refused = 0;
/** problems of the file as a whole, which name no place in it */
const WHOLE_FILE = /^(the file is empty|expected a <\w+> root element|expected a roadnet object|expected a JSON array)/;
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
        if (e.path === '' && !WHOLE_FILE.test(e.problem)) throw new Error(`${t.name}: the error names no place in the file: ${e.message}`);
        refused++;
      }
    }),
    { numRuns: job.runs, seed: job.seed, endOnFailure: true },
  );
  post({ type: 'done', loaded, refused });
} catch (e) {
  post({ type: 'fail', message: e instanceof Error ? e.message : String(e) });
}
