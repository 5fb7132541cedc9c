import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { DEFAULT_STORE_URL, MqttStartError, redactSecrets, StoreError, TokenConfigError } from '@citybrain/server';
import { ClusterStartError, startGateway, type RunningGateway } from '@citybrain/server/cluster';
import { chooseRoadnet, streamArgs, streamOptions, streamOptionsHelp } from '../cluster-options.js';
import { intOption, numOption, UsageError } from '../usage.js';
import { stopOnSignal } from '../stop-on-signal.js';

export const gatewayHelp = `citybrain gateway --nats URL [options]

A cluster's device gateway (README "Beyond one machine"): HTTP ingestion
(POST /api/v1/events) and optionally MQTT, with the tokens and checks of
citybrain serve, publishing each batch to NATS JetStream (stream CITY_EVENTS, one
message per region on city.events.<region>). A device is answered 200 (or its MQTT
message acknowledged) only once JetStream holds the batch; 503 CB_STREAM_UNAVAILABLE
with Retry-After when it does not answer in time. Writers (citybrain writer) put the
stream into the store. Run as many gateways as the load needs.

  --nats URL           NATS with JetStream, e.g. nats://127.0.0.1:4222 (several comma-separated)
  --store URL          the shared store the tokens are read from: postgres://USER@HOST:5432/DATABASE
                       (sqlite:PATH on one machine); default ${DEFAULT_STORE_URL}
  --grid RxC           the generated city; default 4x4 (the brain workers' city)
  --roadnet F          this city instead (CityFlow JSON or SUMO XML; its flows are not needed)
  --regions N          regions the city is cut into (give the brain workers the same); default 4
  --port N             HTTP port; default 8081 (0: a free one)
  --host H             listen address; default 127.0.0.1
  --mqtt URL           also ingest from this MQTT broker; gateways share the device messages
                       (shared subscription, group citybrain-gateways)
  --mqtt-client-id ID  this gateway's MQTT session; default derived from the host name and store
  --publish-timeout MS how long to wait for JetStream's acknowledgement before 503; default 5000
  --brain-key FILE     the cluster's brain key (the PEM file the workers sign with, or its public half from
                       citybrain token brain-key --brain-key FILE): the gateway then serves what field devices
                       need of the brain, as serve does: GET /api/v1/brain/key and each intersection's latest
                       plan verified against it (GET /api/v1/intersections/{id}/plan, long poll), taken from
                       the workers (NATS city.plans.>), so citybrain field --server GATEWAY_URL works; without
                       it the gateway serves no plans (the field takes them over MQTT: worker --mqtt)
  --watchdog S         seconds a field controller holds a plan (as the workers' --watchdog); default 10
${streamOptionsHelp}

Tokens as for serve: citybrain token create --db URL, or CITYBRAIN_TOKENS.`;

export async function gatewayCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nats: { type: 'string' }, store: { type: 'string' }, grid: { type: 'string' }, roadnet: { type: 'string' }, flow: { type: 'string' },
      regions: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, mqtt: { type: 'string' }, 'mqtt-client-id': { type: 'string' },
      'publish-timeout': { type: 'string' }, 'brain-key': { type: 'string' }, watchdog: { type: 'string' }, ...streamArgs, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(gatewayHelp);
  if (!values.nats) throw new UsageError('gateway needs --nats URL (e.g. nats://127.0.0.1:4222)');
  const scenario = await chooseRoadnet(values);
  const port = intOption(values.port, 'port', 8081, 0, 65535);
  const host = values.host ?? '127.0.0.1';
  let brainKey: string | undefined;
  if (values['brain-key'] !== undefined) {
    try {
      brainKey = readFileSync(values['brain-key'], 'utf8');
    } catch (e) {
      throw new UsageError(`--brain-key ${values['brain-key']}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (a worker makes it on its first start: citybrain worker --brain-key FILE)' : (e as Error).message}`);
    }
  }
  let gw: RunningGateway;
  try {
    gw = await startGateway({
      scenario, natsUrl: values.nats, storeUrl: values.store, regions: intOption(values.regions, 'regions', 4, 1, 10_000), host, port,
      mqttUrl: values.mqtt, mqttSession: { clientId: values['mqtt-client-id'] },
      publishTimeoutMs: intOption(values['publish-timeout'], 'publish-timeout', 5000, 100, 600_000), stream: streamOptions(values),
      printToken: (line) => console.error(line), brainKey, watchdog: numOption(values.watchdog, 'watchdog', 10, 1, 3600),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const usage = e instanceof ClusterStartError ? `--nats: ${err.message}`
      : e instanceof StoreError ? `--store: ${err.message}`
      : e instanceof MqttStartError ? `--mqtt: ${err.message}`
      : e instanceof TokenConfigError ? err.message
      : err.syscall === 'listen' ? `--host ${host} --port ${port}: cannot listen: ${err.message}`
      : e instanceof RangeError ? (/^brain key:/.test(err.message) ? `--brain-key ${values['brain-key']}: ${err.message}` : err.message) : undefined;
    if (!usage) throw e;
    console.error(`citybrain: ${redactSecrets(usage)}`);
    process.exit(2);
  }
  console.error(`CityBrain gateway at ${gw.url} (POST ${gw.url}/api/v1/events, metrics ${gw.url}/metrics), publishing to ${redactSecrets(values.nats)}: partitions ${gw.partitions.join(', ')}; ` +
    (gw.plans ? `plans from the workers at ${gw.url}/api/v1/intersections/{id}/plan, the brain key at ${gw.url}/api/v1/brain/key` : 'no plans served (no --brain-key)'));
  stopOnSignal(() => gw.close());
}
