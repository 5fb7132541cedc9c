import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { controllers, DEFAULT_CONTROLLER } from '@citybrain/control';
import { DEFAULT_CLOCK_SKEW, parseRegister, type ClockSkew } from '@citybrain/brain';
import { DEFAULT_STORE_URL, formatDuration, parseDuration, parseRetention, redactSecrets, startServer, StoreError, MqttStartError, BrainKeyError, TokenConfigError, type RunningServer } from '@citybrain/server';
import type { Scenario } from '@citybrain/engine/core';
import { chooseScenario } from '../scenario-files.js';
import { chooseController } from '../plugins.js';
import { intOption, numOption, UsageError } from '../usage.js';
import { sensingOption } from '../sensing-option.js';
import { stopOnSignal } from '../stop-on-signal.js';

export const serveHelp = `citybrain serve [options]

Starts the operations server with a virtual city: the twin runs as the street,
its detectors, cameras, parking bays and signal heads report like field
devices, and the brain controls the signals. Dashboard at /, OpenAPI at /docs,
Prometheus metrics at /metrics. On first start an operator token is printed.

  --port N             HTTP port; default 8080
  --host H             listen address; default 127.0.0.1
  --db URL             sqlite:PATH (default ${DEFAULT_STORE_URL}) or postgres://USER@HOST:5432/DATABASE
  --create-db          create the PostgreSQL database --db names when it does not exist
  --hub-engine E       the city data hub's rows and queries: duckdb (default: Parquet files on this server's disk)
                       or postgres (tables in the --db schema; needs --db postgres://...)
  --grid RxC           the generated city to run; default 4x4
  --demand VPS         vehicles per second per route of the generated city; default 0.05
  --roadnet F --flow F run this scenario instead (CityFlow JSON or SUMO XML)
  --controller NAME    ${Object.keys(controllers).join(' | ')}; default ${DEFAULT_CONTROLLER}
  --speed X            simulated seconds per second; default 1 (real time)
  --breakdowns N       vehicles breaking down in the virtual city per simulated hour, each
                       blocking its lane for 5-15 min, for the incident detection to find
                       (GET /api/v1/incidents); default 2, 0 for none
  --cloned SHARE       share of the virtual city's vehicles driving on another's plate, for the watchlist's
                       cloned-plate rule to find; default 0.01, 0 for none
  --taxis N            private cars of the virtual city working as unlicensed taxis (many short trips from
                       pick-up points); default 3, 0 for none
  --unregistered SHARE share of the virtual city's vehicles not in its register; default 0.005
  --register-hours H   import the virtual street's register on first start (its flows' registered plates over
                       H simulated hours; the register then covers that span), so unregistered vehicles are flagged
                       within minutes (GET /api/v1/watchlist/alerts, the dashboard's Watchlist tab); default 24
                       (about 100,000 plates and 50 MB for the default city), 0 for none (import one:
                       POST /api/v1/watchlist/register)
  --sensing S          the virtual city's devices: default (video with its errors, losses and
                       delays; README "Sensing"), counts (video without its vehicle list),
                       perfect (exact), loop (stop-line loops only)
  --watchdog S         seconds a signal controller holds the brain's last plan before it runs its local
                       plan (the street's controllers here; give citybrain field the same); the brain
                       calls an intersection local when its controller says so, or is silent twice as long;
                       default 10
  --plugin FILE        offer a third-party controller module (repeatable; see examples/longest-queue.mjs)
  --mqtt URL           also ingest field devices from this MQTT broker (mqtt://127.0.0.1:1883)
  --mqtt-client-id ID  the persistent MQTT session's client id; default this server's own, kept
                       across restarts (beside a SQLite store; from host name and schema with PostgreSQL)
  --mqtt-share GROUP   servers started with the same GROUP share the device messages between them
                       (an MQTT shared subscription); by default each server gets them all
  --retention T        keep events for T (e.g. 30d, 12h), lane reports older than an hour merged to one per
                       lane per 5 minutes; default 1d (the default city then holds about 0.2 GB);
                       forever keeps every event as it came
  --clock-skew A[:B]   refuse device events dated more than A ahead of this server's clock or
                       more than B behind it; default 5m:7d, "off" accepts any (the virtual
                       city's own events run on its simulated clock and are never refused)
  --paused             start with the city's clock stopped
  --no-street          the brain alone, without a virtual street in this process: its devices are
                       real ones, or the street's own process (citybrain field --server URL), reporting
                       with device tokens (citybrain token field) and reading the plans over MQTT
                       (--mqtt) or HTTP; it runs on the wall clock (keep --speed 1, or give field the
                       same --speed and this server --clock-skew off)
  --brain-key FILE     the PEM file of the key the brain signs signal plans with (made on first start);
                       default beside a SQLite store, in PostgreSQL's state table (citybrain token brain-key)
  --cluster NATS_URL   the API/dashboard server of a cluster (README "Beyond one machine"; needs --no-street,
                       --brain-key FILE of the workers and --db postgres://... of the writers): it controls
                       nothing; its brain follows every partition of the event stream (live map, KPIs,
                       incidents as in one process), shows the workers' plans, reads history from the store
                       the writers fill and GET /api/v1/cluster (who owns which region, the workers' health)
                       from NATS; events posted to it go to the stream, as through a gateway
  --regions N          with --cluster: regions the city is cut into, the workers' and gateways'; default 4
  --replay S           with --cluster: seconds of the stream taken at start to rebuild the brain; default 120
  --parking FILE       a parking register (JSON {"sites": [...]} or CSV, one row per bay; see README
                       "Smart parking"): its sites and bays registered (or replaced) at start; without it
                       the virtual street's kerbside bays are registered at the first start

Tokens can also be given in CITYBRAIN_TOKENS (a JSON array of {name, role, token, device?, intersections?, bays?, vehicles?});
a token revoked through the API stays revoked. Locked out (no operator token)? citybrain token create --role operator --db URL.`;

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, db: { type: 'string' }, grid: { type: 'string' }, demand: { type: 'string' },
      roadnet: { type: 'string' }, flow: { type: 'string' }, controller: { type: 'string', default: DEFAULT_CONTROLLER },
      speed: { type: 'string' }, breakdowns: { type: 'string' }, sensing: { type: 'string' }, watchdog: { type: 'string' }, plugin: { type: 'string', multiple: true }, mqtt: { type: 'string' }, 'mqtt-client-id': { type: 'string' }, 'mqtt-share': { type: 'string' }, retention: { type: 'string' }, 'clock-skew': { type: 'string' }, paused: { type: 'boolean', default: false }, 'brain-key': { type: 'string' }, parking: { type: 'string' },
      'create-db': { type: 'boolean', default: false }, 'hub-engine': { type: 'string' }, 'no-street': { type: 'boolean', default: false },
      cluster: { type: 'string' }, regions: { type: 'string' }, replay: { type: 'string' },
      cloned: { type: 'string' }, taxis: { type: 'string' }, unregistered: { type: 'string' }, 'register-hours': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(serveHelp);
  const hubEngine = values['hub-engine'] ?? 'duckdb';
  if (hubEngine !== 'duckdb' && hubEngine !== 'postgres') throw new UsageError(`--hub-engine must be duckdb or postgres, got "${hubEngine}"`);
  if (hubEngine === 'postgres' && !/^postgres(ql)?:/.test(values.db ?? '')) throw new UsageError('--hub-engine postgres keeps the hub\'s rows in the store\'s database: it needs --db postgres://...');
  const { plugins: extraControllers } = await chooseController(values.plugin ?? [], values.controller!);
  const scenarioWarnings: string[] = [];
  const scenario = await chooseScenario(values, (w) => scenarioWarnings.push(w)); // the server logs them
  const street = !values['no-street'];
  if (!street && values.breakdowns !== undefined) throw new UsageError('--breakdowns is for the virtual street; with --no-street give it to the street\'s process (citybrain field)');
  for (const o of ['cloned', 'taxis', 'unregistered', 'register-hours'] as const) {
    if (!street && values[o] !== undefined) throw new UsageError(`--${o} is for the virtual street, which --no-street leaves out`);
  }
  const registerHours = numOption(values['register-hours'], 'register-hours', 24, 0, 24 * 365);
  let retentionMs: number | undefined;
  if (values.retention) {
    try {
      retentionMs = parseRetention(values.retention);
    } catch (e) {
      throw new UsageError(`--retention: ${(e as Error).message}`);
    }
  }
  const clockSkew = parseClockSkew(values['clock-skew']);
  const port = intOption(values.port, 'port', 8080, 0, 65535);
  const cluster = await clusterFeed(values, scenario);
  let server: RunningServer;
  try {
    server = await startServer({
      scenario,
      scenarioWarnings,
      street,
      storeUrl: values.db,
      createDatabase: values['create-db'],
      host: values.host,
      port,
      controller: values.controller,
      extraControllers,
      speed: numOption(values.speed, 'speed', 1, 0.01, 1000),
      breakdownsPerHour: numOption(values.breakdowns, 'breakdowns', 2, 0, 3600),
      // the demo city's watchlist material: cloned plates, unlicensed taxis, unregistered vehicles and its register
      virtualPlates: street ? {
        clonedShare: numOption(values.cloned, 'cloned', 0.01, 0, 1), illegalTaxis: intOption(values.taxis, 'taxis', 3, 0, 1000),
        unregisteredShare: numOption(values.unregistered, 'unregistered', 0.005, 0, 1),
      } : undefined,
      watchlist: registerHours > 0 && street ? { streetRegisterSeconds: registerHours * 3600 } : undefined,
      sensing: sensingOption(values.sensing),
      watchdog: numOption(values.watchdog, 'watchdog', 10, 1, 3600),
      mqttUrl: values.mqtt,
      mqttSession: { clientId: values['mqtt-client-id'], shareGroup: values['mqtt-share'] },
      retentionMs,
      clockSkew,
      brainKeyFile: values['brain-key'],
      parkingRegister: values.parking === undefined ? undefined : parkingRegister(values.parking),
      run: !values.paused,
      printToken: (line: string) => console.error(line),
      cluster,
      hub: { engine: hubEngine },
    });
  } catch (e) {
    await cluster?.close();
    const usage = startupProblem(e, { db: values.db ?? DEFAULT_STORE_URL, host: values.host ?? '127.0.0.1', port, mqtt: values.mqtt });
    if (!usage) throw e;
    // what started before the failure (store writer, city clock) would keep the process alive
    console.error(`citybrain: ${redactSecrets(usage.message)}`);
    process.exit(2);
  }
  console.error(`CityBrain is running at ${server.url}  (dashboard ${server.url}/, API docs ${server.url}/docs, metrics ${server.url}/metrics)`);
  const { data } = server;
  const kept = `${formatDuration(server.retentionMs)}${retentionMs === undefined ? ' (the default; see --retention)' : ''}`;
  console.error(`Data: ${data.location}, ${(data.bytes / 1e6).toFixed(1)} MB; events kept ${kept}`);
  if (cluster) console.error(`Cluster: following ${cluster.nats} (every partition of the events stream, the workers' plans); regions and workers at ${server.url}/api/v1/cluster`);
  stopOnSignal(() => server.close());
}

/** `--clock-skew 5m:7d` (ahead:behind; one value sets ahead only), or "off". */
function parseClockSkew(v: string | undefined): ClockSkew | false | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === 'off') return false;
  const [ahead, behind, extra] = v.split(':');
  if (extra !== undefined) throw new UsageError(`--clock-skew expects AHEAD[:BEHIND], e.g. 5m:7d, got "${v}"`);
  try {
    return { aheadMs: parseDuration(ahead, 'ahead'), behindMs: behind === undefined ? DEFAULT_CLOCK_SKEW.behindMs : parseDuration(behind, 'behind') };
  } catch (e) {
    throw new UsageError(`--clock-skew: ${(e as Error).message}`);
  }
}

/**
 * A start-up failure that the options or the machine explain (a store URL it
 * cannot open, a broker it cannot reach, an address it cannot listen on, a bad
 * CITYBRAIN_TOKENS), as a
 * usage error naming the option; anything else is a bug and keeps its stack.
 */
function startupProblem(e: unknown, o: { db: string; host: string; port: number; mqtt?: string }): UsageError | undefined {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof TokenConfigError) return new UsageError(err.message);
  if (e instanceof StoreError) return new UsageError(`--db: ${err.message}`);
  if (e instanceof MqttStartError) return new UsageError(`--mqtt: ${err.message}`);
  if (e instanceof BrainKeyError) return new UsageError(`--brain-key: ${err.message}`);
  if (err.syscall === 'listen' || err.syscall === 'getaddrinfo') return new UsageError(`--host ${o.host} --port ${o.port}: cannot listen: ${err.message}`);
  // the embedded store creates its file's folder
  if (err.syscall === 'mkdir' && o.db.startsWith('sqlite:')) return new UsageError(`--db ${o.db}: cannot create the folder: ${err.message}`);
  return undefined;
}

/** The --parking register file's text, checked here so a bad file is a usage error naming its line or field. */
function parkingRegister(file: string): { text: string; file: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--parking: cannot read ${file}: ${(e as Error).message}`);
  }
  const parsed = parseRegister(text, file);
  if ('error' in parsed) throw new UsageError(`--parking: ${parsed.error}`);
  return { text, file };
}

/** With --cluster: the cluster's feed (NATS loaded only then), after the options it needs are checked. */
async function clusterFeed(values: { cluster?: string; regions?: string; replay?: string; 'no-street'?: boolean; 'brain-key'?: string; db?: string; mqtt?: string }, scenario: Pick<Scenario, 'roadnet'>) {
  if (values.cluster === undefined) {
    for (const o of ['regions', 'replay'] as const) if (values[o] !== undefined) throw new UsageError(`--${o} goes with --cluster NATS_URL`);
    return undefined;
  }
  if (!values['no-street']) throw new UsageError('--cluster needs --no-street: a cluster\'s street reports to its gateways (citybrain field --server GATEWAY_URL)');
  if (values['brain-key'] === undefined) throw new UsageError('--cluster needs --brain-key FILE, the workers\' key: the plans shown are those that verify against it');
  if (values.mqtt !== undefined) throw new UsageError('--mqtt with --cluster: give --mqtt to the gateways (device events) and the workers (plans)');
  if (!/^postgres(ql)?:/.test(values.db ?? '')) throw new UsageError('--cluster needs --db postgres://..., the store the cluster\'s writers fill (history, tokens)');
  const { ClusterFollower, ClusterStartError } = await import('@citybrain/server/cluster');
  try {
    return await ClusterFollower.start({
      natsUrl: values.cluster, scenario, regions: intOption(values.regions, 'regions', 4, 1, 10_000),
      replayMs: numOption(values.replay, 'replay', 120, 0, 86_400) * 1000,
      log: (line) => console.error(`cluster: ${line}`),
    });
  } catch (e) {
    if (e instanceof ClusterStartError) throw new UsageError(`--cluster: ${e.message}`);
    throw e;
  }
}
