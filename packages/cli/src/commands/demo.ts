import { parseArgs } from 'node:util';
import { generateGrid } from '@citybrain/engine';
import { simulate } from './simulate.js';
import { round } from '../round.js';
import { table } from '../table.js';

export const demoHelp = `citybrain demo

Generates a 4 x 4 city grid, runs one simulated hour under fixed-time and
under max-pressure control in the digital twin, and prints what the brain saves.`;

export async function demoCommand(argv: string[]): Promise<void> {
  // no options but --help: anything else is refused rather than ignored
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void console.log(demoHelp);
  const scenario = generateGrid({ rows: 4, cols: 4, demand: 0.05 });
  console.log(`CityBrain demo: a generated 4 x 4 grid, ${scenario.flows.length} routes, one simulated hour.\n`);
  const rows = [];
  for (const controller of ['fixed', 'max-pressure']) rows.push(await simulate(scenario, { controller, steps: 3600, showProgress: true, label: 'grid 4x4' }));
  console.log(table(
    ['controller', 'avg travel time s', 'entered', 'finished', 'in network', 'wall s', 'x real time'],
    rows.map((r) => [r.controller, r.averageTravelTime, r.enteredVehicles, r.finishedVehicles, r.vehiclesInNetwork, r.wallSeconds, r.realTimeFactor]),
  ));
  const [fixed, mp] = rows;
  console.log(`\nmax-pressure cuts average travel time by ${round((1 - mp.averageTravelTime / fixed.averageTravelTime) * 100, 1)}% against fixed-time.`);
  console.log('Next: `npx citybrain simulate --help`, `npx citybrain generate grid --help`, `npx citybrain bench fidelity`.');
}
