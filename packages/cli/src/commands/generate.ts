import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { generateGridParts, generateStress, STRESS_PRESETS, type GridParts } from '@citybrain/engine';
import { cliNumber, intOption, numOption, UsageError } from '../usage.js';
import { MAX_SCENARIO_FILE_BYTES, megabytes, writeOutputFiles } from '../scenario-files.js';

export const generateHelp = `citybrain generate grid --rows R --cols C --out DIR [options]

Writes roadnet.json and flow.json (CityFlow format) for a grid of signalised
intersections. Defaults match CityFlow's own grid generator.

  --rows R, --cols C         signalised intersections per column and row (1..200); with the default
                             lanes, over about 175 x 175 the roadnet outgrows the 512 MB simulate reads
  --out DIR                  output folder (created if missing)
  --block-length M           metres between intersections; default 300
  --lanes L,S,R              lanes per approach for left, straight, right; default 1,1,1
  --speed-limit MS           lane speed limit in m/s; default 16.67
  --intersection-width M     default 30
  --demand VPS               vehicles per second on each route; default 1
  --no-turns                 only straight routes (default adds CityFlow's turning routes)
  --tl-plan                  CityFlow's --tlPlan signal phases: each green (WT+ET, WL+EL, NT+ST, NL+SL,
                             30 s) followed by 5 s of right turns only, instead of its 9 default phases
  --end-time S               last second a flow emits vehicles; default: no end

citybrain generate stress --preset NAME --out DIR

Writes roadnet.json and flow.json for one of the stress scenarios every
controller is tested on (engine STRESS_PRESETS); simulate it for the seconds
given (the demand's span and the time to clear):

${STRESS_PRESETS.map((p) => `  ${p.name.padEnd(13)} ${p.what}; ${p.seconds} s`).join('\n')}`;

export async function generateCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind === '--help' || kind === '-h' || kind === undefined) return void console.log(generateHelp);
  if (kind === 'stress') return generateStressCommand(rest);
  if (kind !== 'grid') throw new UsageError(`unknown scenario kind "${kind}"; choose grid or stress (see citybrain generate --help)`);
  const { values } = parseArgs({
    args: rest,
    options: {
      rows: { type: 'string' },
      cols: { type: 'string' },
      out: { type: 'string' },
      'block-length': { type: 'string' },
      lanes: { type: 'string' },
      'speed-limit': { type: 'string' },
      'intersection-width': { type: 'string' },
      demand: { type: 'string' },
      'no-turns': { type: 'boolean', default: false },
      'tl-plan': { type: 'boolean', default: false },
      'end-time': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(generateHelp);
  if (!values.rows || !values.cols || !values.out) throw new UsageError('generate grid needs --rows, --cols and --out (see citybrain generate --help)');
  let lanesPerMovement: { left: number; straight: number; right: number } | undefined;
  if (values.lanes !== undefined) {
    // an empty field ("1,1,") is a typo, not zero lanes
    const parts = values.lanes.split(',').map(cliNumber);
    if (parts.length !== 3 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 5)) {
      throw new UsageError(`--lanes expects three whole numbers 0..5 as L,S,R, got "${values.lanes}"`);
    }
    lanesPerMovement = { left: parts[0], straight: parts[1], right: parts[2] };
  }
  let grid: GridParts;
  try {
    grid = generateGridParts({
      rows: intOption(values.rows, 'rows', 0, 1, 200),
      cols: intOption(values.cols, 'cols', 0, 1, 200),
      blockLength: values['block-length'] === undefined ? undefined : numOption(values['block-length'], 'block-length', 300, 1),
      lanesPerMovement,
      speedLimit: values['speed-limit'] === undefined ? undefined : numOption(values['speed-limit'], 'speed-limit', 16.67, 0.1, 55.6),
      intersectionWidth: values['intersection-width'] === undefined ? undefined : numOption(values['intersection-width'], 'intersection-width', 30, 0),
      demand: values.demand === undefined ? undefined : numOption(values.demand, 'demand', 1, 1e-6, 100),
      turnRoutes: !values['no-turns'],
      tlPlan: values['tl-plan'],
      endTime: values['end-time'] === undefined ? undefined : numOption(values['end-time'], 'end-time', -1, 0),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const out = values.out;
  // streamed: a large grid's roadnet is more text than one string holds (a 200 x 200 grid's is about 660 MB)
  const [roadnetBytes] = await writeOutputFiles(out, '--out', [
    { name: 'roadnet.json', chunks: roadnetText(grid) },
    { name: 'flow.json', chunks: [JSON.stringify(grid.flows, null, 1)] },
  ]);
  console.log(
    `wrote ${join(out, 'roadnet.json')} (${grid.signalisedCount} signalised intersections, ${grid.roads.length} roads) and ${join(out, 'flow.json')} (${grid.flows.length} routes)`,
  );
  if (roadnetBytes > MAX_SCENARIO_FILE_BYTES) {
    console.log(`note: roadnet.json is ${megabytes(roadnetBytes)}, more than the ${megabytes(MAX_SCENARIO_FILE_BYTES)} simulate and serve read`);
  }
}

async function generateStressCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { preset: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void console.log(generateHelp);
  if (!values.preset || !values.out) throw new UsageError('generate stress needs --preset and --out (see citybrain generate --help)');
  const preset = STRESS_PRESETS.find((p) => p.name === values.preset);
  if (!preset) throw new UsageError(`unknown stress preset "${values.preset}"; choose one of: ${STRESS_PRESETS.map((p) => p.name).join(', ')}`);
  const sc = generateStress(preset.options);
  await writeOutputFiles(values.out, '--out', [
    { name: 'roadnet.json', chunks: [JSON.stringify(sc.roadnet)] },
    { name: 'flow.json', chunks: [JSON.stringify(sc.flows, null, 1)] },
  ]);
  console.log(`wrote ${join(values.out, 'roadnet.json')} and ${join(values.out, 'flow.json')} (${preset.name}: ${preset.what}); ` +
    `run it for ${preset.seconds} s: citybrain simulate --roadnet ${join(values.out, 'roadnet.json')} --flow ${join(values.out, 'flow.json')} --steps ${preset.seconds}`);
}

/** The text JSON.stringify(roadnet) gives, an intersection or road at a time. */
function* roadnetText(grid: GridParts): Generator<string> {
  yield '{"intersections":[';
  let sep = '';
  for (const i of grid.intersections()) {
    yield sep + JSON.stringify(i);
    sep = ',';
  }
  yield '],"roads":[';
  sep = '';
  for (const r of grid.roads) {
    yield sep + JSON.stringify(r);
    sep = ',';
  }
  yield ']}';
}
