#!/usr/bin/env node
// only what every command needs: each command is loaded when it is run (simulate starts in less time
// than it takes to load the server's, the dashboard's or the SUMO loader's dependencies)
import { ScenarioError } from '@citybrain/engine/core';
import { UsageError } from './usage.js';

const help = `citybrain <command> [options]

Commands:
  serve       start the operations server with a virtual city (the main job)
  field       run the virtual street as its own process, reporting to a brain started with
              serve --no-street (over HTTP or MQTT) and taking its signed plans
  gateway     a cluster's device gateway: HTTP/MQTT ingestion into NATS JetStream (README "Beyond one machine")
  writer      a cluster's writer: the JetStream event stream into the store (PostgreSQL)
  worker      a cluster's brain worker: owns regions of the city shared over NATS JetStream,
              runs their controllers, publishes their plans (citybrain worker --help)
  cluster     start a whole cluster on this machine (nats-server, gateways, writer, workers, the API
              server and the virtual street), for tests and demos
  token       issue a token straight into the store (e.g. an operator token when none is left),
              or print the brain's plan-signing public key (token brain-key),
              or one per device of the virtual street for citybrain field (token field)
  demo        run a generated city under two controllers and compare them
  simulate    run a scenario (CityFlow JSON or SUMO XML) and print its results
  generate    write a generated scenario (grid, or a stress preset) in CityFlow format
  import      import a real city: import osm FILE.osm|FILE.osm.pbf --out DIR (SUMO's netconvert,
              random demand)
  calibrate   fit route flows to detector counts (counts.csv), with the GEH of each count
  hub         the city data hub of a running server: datasets, register, load, grant, query
  bench       benchmarks: fidelity, speed, control, emergency, ingest, incidents, observe, import, calibrate, hub

Run citybrain <command> --help for its options.

citybrain simulate --roadnet FILE --flow FILE [options]`;

const commands: Record<string, (argv: string[]) => void | Promise<void>> = {
  serve: async (argv) => (await import('./commands/serve.js')).serveCommand(argv),
  worker: async (argv) => (await import('./commands/worker.js')).workerCommand(argv),
  token: async (argv) => (await import('./commands/token.js')).tokenCommand(argv),
  field: async (argv) => (await import('./commands/field.js')).fieldCommand(argv),
  gateway: async (argv) => (await import('./commands/gateway.js')).gatewayCommand(argv),
  writer: async (argv) => (await import('./commands/writer.js')).writerCommand(argv),
  cluster: async (argv) => (await import('./commands/cluster.js')).clusterCommand(argv),
  demo: async (argv) => (await import('./commands/demo.js')).demoCommand(argv),
  simulate: async (argv) => (await import('./commands/simulate.js')).simulateCommand(argv),
  generate: async (argv) => (await import('./commands/generate.js')).generateCommand(argv),
  import: async (argv) => (await import('./commands/import.js')).importCommand(argv),
  calibrate: async (argv) => (await import('./commands/calibrate.js')).calibrateCommand(argv),
  bench: async (argv) => (await import('./commands/bench.js')).benchCommand(argv),
  hub: async (argv) => (await import('./commands/hub.js')).hubCommand(argv),
};

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') return void console.log(help);
  const run = commands[cmd];
  if (!run) throw new UsageError(`unknown command "${cmd}"; commands: ${Object.keys(commands).join(', ')}`);
  await run(rest);
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  // user mistakes and bad input files get a one-line message; real bugs keep their stack
  const known = e instanceof UsageError || e instanceof ScenarioError || (e instanceof TypeError && (e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') ||
    (e as NodeJS.ErrnoException)?.code?.startsWith?.('ERR_PARSE_ARGS');
  if (!known) throw e;
  // one line: node's parseArgs spreads some of its messages over several
  console.error(`citybrain: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')}`);
  // 2: a usage mistake; a server's refusal (citybrain hub) says its own (1)
  process.exitCode = (e as { exitCode?: number }).exitCode ?? 2;
}
