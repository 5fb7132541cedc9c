import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadSumoScenario, parseFlows, parseRoadnet, type Scenario } from '@citybrain/engine';
import { UsageError } from './usage.js';

/**
 * Reads a scenario from disk: CityFlow JSON (roadnet + flow) or SUMO
 * (.net.xml + .rou.xml), chosen by the files' extensions.
 */
export function readScenario(roadnetPath: string, flowPath: string): Scenario {
  const roadnetText = readText(roadnetPath, '--roadnet');
  const flowText = readText(flowPath, '--flow');
  const isXml = (p: string) => p.toLowerCase().endsWith('.xml');
  if (isXml(roadnetPath) !== isXml(flowPath)) {
    throw new UsageError(`--roadnet and --flow must both be CityFlow JSON or both SUMO XML (got ${basename(roadnetPath)} and ${basename(flowPath)})`);
  }
  if (isXml(roadnetPath)) {
    return loadSumoScenario({ net: roadnetText, routes: flowText, netSource: basename(roadnetPath), routesSource: basename(flowPath) });
  }
  const roadnet = parseRoadnet(roadnetText, basename(roadnetPath));
  const flows = parseFlows(flowText, basename(flowPath), roadnet);
  return { roadnet, flows };
}

function readText(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${option} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
}
