import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { randomOption, UsageError } from '../usage.js';

export const benchHelp = `citybrain bench fidelity|speed|control|emergency|ingest|incidents|observe|import|calibrate|services|watchlist|cluster|hub [--data DIR] [--json]

  fidelity   our average travel time beside CityFlow's on HZ1, HZ2, JN1, JN2, JN3
             under the fixed-time and max-pressure protocols; exits 1 if any
             deviates by more than 5%
  speed      the simulator's speed and memory, several runs per case with the
             conditions beside them: HZ1, the Hangzhou SUMO files (beside SUMO in
             the same run), CityFlow's 36 x 36 grid with and without --tlPlan and
             72 x 72 (--big: 100 x 100); CityFlow's figures as stored
             (citybrain bench speed --help for its options)
  control    every controller on the five real scenarios or your own (--roadnet,
             --flow): ATT, the literature's summaryTravelTime and the share of
             avoidable delay removed (citybrain bench control --help)
  emergency  emergency vehicles with and without signal priority under
             max-pressure and the best controller: share of their delay removed,
             other vehicles' ATT, where the delay left goes
             (citybrain bench emergency --help for its options)
  ingest     the operations server's durable ingestion: sustained events/s and
             acknowledgement latency at 10,000 events/s, SQLite and PostgreSQL
             (citybrain bench ingest --help for its options)
  incidents  automatic incident detection against breakdowns the virtual city
             causes: detection rate, precision, time to detect, false alarms
             (citybrain bench incidents --help for its options)
  observe    the brain seeing only devices against ground truth: queue error,
             travel-time KPI error, controllers' ATT on devices beside ground
             truth, under default and degraded sensing
             (citybrain bench observe --help for its options)
  import     the OpenStreetMap extract of Osnabrück imported (citybrain import osm)
             and simulated under every controller: ATT, gridlock, and the
             network's signals, junctions and lane-km beside netconvert's
             (citybrain bench import --help for its options)
  watchlist  the plate watchlist on a virtual city with unregistered vehicles,
             cloned plates and unlicensed taxis: precision and recall per kind,
             the matcher's reads/s (citybrain bench watchlist --help)

  calibrate  demand fitted to lane-entry counts (every lane, 5-minute intervals,
             fixed-time) of HZ1, JN1 and a 4 x 4 grid: share of counts with GEH < 5
             and fixed-time / max-pressure ATT of fitted vs original demand;
             exits 1 unless GEH < 5 on >= 85% and both ATTs are within 5%;
             --grid RxC --demand D adds generated grids
             (citybrain bench calibrate --help for its options)

  services   city services under load: parking reservations by 200 concurrent
             clients on SQLite and PostgreSQL (reservations/s, double bookings
             and double charges, both must be 0)
             (citybrain bench services --help for its options)
  cluster    the distributed deployment on this machine (nats-server, gateways,
             writers, brain workers as processes, PostgreSQL): events/s through
             1, 2, 4 gateways, decision ms per region with 1, 2, 4 workers, kill -9
             of a worker, a gateway and a writer under load: seconds until control
             resumes, acknowledged events lost or duplicated (both must be 0)
             (citybrain bench cluster --help for its options)

  hub        the city data hub with a month of device events (100 million
             rows): load rows/s into Parquet, bytes per million rows, the time
             of typical queries, an unauthorised query refused
             (citybrain bench hub --help for its options)

  --data DIR    the real-data folder (default ../shared/data)
  --random R    fidelity's random stream: xoshiro (default) or cityflow (CityFlow's mt19937, as CityFlow draws it)
  --json        machine-readable output`;

export async function benchCommand(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind === undefined || kind === '--help' || kind === '-h') return void console.log(benchHelp);
  // each benchmark is loaded on demand: ingest and incidents need the server, control and emergency the worker pool
  if (kind === 'ingest') return (await import('../bench/ingest.js')).benchIngest(rest);
  if (kind === 'incidents') return (await import('../bench/incidents.js')).benchIncidents(rest);
  if (kind === 'observe') return (await import('../bench/observe.js')).benchObserve(rest);
  if (kind === 'import') return (await import('../bench/import.js')).benchImport(rest);
  if (kind === 'control') return (await import('../bench/control.js')).benchControl(rest);
  if (kind === 'emergency') return (await import('../bench/emergency.js')).benchEmergency(rest);
  if (kind === 'watchlist') return (await import('../bench/watchlist.js')).benchWatchlist(rest);
  if (kind === 'speed') return (await import('../bench/speed.js')).benchSpeed(rest);
  if (kind === 'hub') return (await import('../bench/hub.js')).benchHub(rest);
  if (kind === 'services') return (await import('../bench/services.js')).benchServices(rest);
  if (kind === 'calibrate') return (await import('../bench/calibration.js')).benchCalibrate(rest);
  if (kind === 'cluster') return (await import('../bench/cluster.js')).benchCluster(rest);
  const { values } = parseArgs({
    args: rest,
    options: { data: { type: 'string', default: '../shared/data' }, json: { type: 'boolean', default: false }, random: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void console.log(benchHelp);
  const data = resolve(values.data!);
  if (kind === 'fidelity') return (await import('../bench/fidelity.js')).benchFidelity(data, values.json!, randomOption(values.random));
  throw new UsageError(`unknown benchmark "${kind}"; choose fidelity, speed, control, emergency, ingest, incidents, observe, import, calibrate, services, watchlist, cluster or hub`);
}
