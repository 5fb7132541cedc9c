import { basename } from 'node:path';
import { generateGrid, loadCityflowScenario, type Scenario } from '@citybrain/engine/core';
import { parseDuration } from '@citybrain/server';
import type { EventsStreamOptions } from '@citybrain/server/cluster';
import { readScenario, readText } from './scenario-files.js';
import { gridOption, intOption, UsageError } from './usage.js';

/** The events stream's options every gateway and writer takes (each ensures the stream at start: give them all the same). */
export const streamOptionsHelp = `  --replicas N         copies of the events stream in a NATS cluster (3 survives the loss of a node); default 1
  --max-age T          how long the stream keeps events (e.g. 7d; the store keeps the history); default no limit
  --duplicate-window T a gateway's retry within T is dropped by its message id; default 2m
                       (give every gateway and writer the same stream options)`;

export const streamArgs = { replicas: { type: 'string' }, 'max-age': { type: 'string' }, 'duplicate-window': { type: 'string' } } as const;

export function streamOptions(v: { replicas?: string; 'max-age'?: string; 'duplicate-window'?: string }): EventsStreamOptions {
  const duration = (s: string | undefined, name: string) => {
    if (s === undefined) return undefined;
    try {
      return parseDuration(s, name);
    } catch (e) {
      throw new UsageError(`--${name}: ${(e as Error).message}`);
    }
  };
  return { replicas: intOption(v.replicas, 'replicas', 1, 1, 5), maxAge: duration(v['max-age'], 'max-age'), duplicateWindow: duration(v['duplicate-window'], 'duplicate-window') };
}

/**
 * The city whose lanes and regions a gateway knows: --roadnet F (its flows are
 * not needed; --flow is taken and ignored so serve's options can be reused),
 * else the generated --grid (default 4x4).
 */
export async function chooseRoadnet(v: { grid?: string; roadnet?: string; flow?: string }): Promise<Pick<Scenario, 'roadnet'>> {
  if (v.roadnet) {
    if (v.grid) throw new UsageError('--roadnet and --grid: give one');
    if (v.flow) return readScenario(v.roadnet, v.flow);
    // the loaders read a scenario: a roadnet alone is read with no flows
    const text = readText(v.roadnet, '--roadnet');
    if (!v.roadnet.toLowerCase().endsWith('.xml')) {
      return loadCityflowScenario({ roadnet: text, flow: '[]', roadnetSource: basename(v.roadnet), flowSource: '(no flows)' }).scenario;
    }
    const { loadSumoScenario } = await import('@citybrain/engine');
    return loadSumoScenario({ net: text, routes: '<routes/>', netSource: basename(v.roadnet), routesSource: '(no routes)' }).scenario;
  }
  if (v.flow) throw new UsageError('--flow goes with --roadnet');
  return generateGrid({ ...gridOption(v.grid, '4x4'), demand: 0.05 });
}
