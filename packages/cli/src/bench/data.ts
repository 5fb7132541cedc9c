import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '@citybrain/engine';
import { readCityflowScenario } from '../scenario-files.js';
import { UsageError } from '../usage.js';
import type { ScenarioRef } from './reference.js';

/** `rel` inside the real-data folder `data`; a usage error naming the path when it is not there. */
export function requireData(data: string, rel: string): string {
  const p = join(data, rel);
  if (!existsSync(p)) throw new UsageError(`${p} not found: point --data at the shared real-data folder`);
  return p;
}

/** A reference scenario's roadnet and flow files in the real-data folder `data`. */
export function referenceFiles(data: string, ref: ScenarioRef): { roadnet: string; flow: string } {
  return { roadnet: requireData(data, join(ref.dir, ref.roadnet)), flow: requireData(data, join(ref.dir, ref.flow)) };
}

/** A reference scenario (CityFlow JSON) read from the real-data folder `data`. */
export function readReference(data: string, ref: ScenarioRef): Scenario {
  const f = referenceFiles(data, ref);
  return readCityflowScenario(f.roadnet, f.flow);
}
