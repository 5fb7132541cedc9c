import type { RandomKind } from '@citybrain/engine';
import { simulate } from '../commands/simulate.js';
import { round } from '../round.js';
import { table } from '../table.js';
import { readReference } from './data.js';
import { HOUR, REFERENCE_SCENARIOS } from './reference.js';

/**
 * Our average travel time beside CityFlow's on the five reference scenarios
 * under the fixed-time and max-pressure protocols; exit code 1 if any
 * deviates by more than 5%.
 */
export async function benchFidelity(data: string, json: boolean, random: RandomKind = 'xoshiro'): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  let worst = 0;
  for (const ref of REFERENCE_SCENARIOS) {
    const scenario = readReference(data, ref);
    for (const [controller, refAtt] of [['fixed', ref.fixed], ['max-pressure', ref.maxPressure]] as const) {
      const r = await simulate(scenario, { controller, steps: HOUR, random });
      const dev = (r.averageTravelTime - refAtt) / refAtt;
      worst = Math.max(worst, Math.abs(dev));
      rows.push({
        scenario: ref.key, controller, vehicles: r.enteredVehicles, attCityBrain: r.averageTravelTime, attCityFlow: refAtt,
        deviationPercent: round(dev * 100, 2), wallSeconds: r.wallSeconds,
      });
    }
  }
  const pass = worst <= 0.05;
  if (json) console.log(JSON.stringify({ random, rows, worstDeviationPercent: round(worst * 100, 2), withinFivePercent: pass }));
  else {
    console.log(`Fidelity: average travel time (s), 3600 s, seed 0${random === 'cityflow' ? ' (CityFlow\'s mt19937)' : ''}, CityFlow reference from baselines.md\n`);
    console.log(table(
      ['scenario', 'controller', 'vehicles', 'CityBrain ATT', 'CityFlow ATT', 'deviation', 'wall s'],
      rows.map((r) => [r.scenario, r.controller, r.vehicles, fmt(r.attCityBrain as number), fmt(r.attCityFlow as number), `${(r.deviationPercent as number) >= 0 ? '+' : ''}${(r.deviationPercent as number).toFixed(2)}%`, (r.wallSeconds as number).toFixed(2)]),
    ));
    console.log(`\nworst deviation ${round(worst * 100, 2)}% (target ±5%): ${pass ? 'PASS' : 'FAIL'}`);
  }
  if (!pass) process.exitCode = 1;
}

function fmt(x: number): string {
  return x.toFixed(1);
}
