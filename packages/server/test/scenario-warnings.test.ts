import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateGrid, loadCityflowScenario } from '@citybrain/engine';
import { startTestServer } from './helpers.js';

test('the server logs the flows the CityFlow loader dropped, one warning each', async () => {
  const grid = generateGrid({ rows: 2, cols: 2, demand: 0.05 });
  const road = grid.flows[0].route[0];
  const { scenario, warnings } = loadCityflowScenario({
    roadnet: JSON.stringify(grid.roadnet), flow: JSON.stringify([{ ...grid.flows[0], route: [road] }, ...grid.flows]),
  });
  assert.equal(warnings.length, 1);
  const lines: string[] = [];
  const t = await startTestServer('scenario-warnings', scenario, {
    scenarioWarnings: warnings, logger: { level: 'info', destination: { write: (l: string) => void lines.push(l) } },
  });
  try {
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.startsWith('scenario: '));
    assert.deepEqual(logged.map((l) => [l.level, l.msg]), [[40, `scenario: ${warnings[0]}`]]);
    assert.match(logged[0].msg, /flows\[0\] \(route ".*"\): dropped, as CityFlow drops it: its route is one road/);
  } finally {
    await t.cleanup();
  }
});
