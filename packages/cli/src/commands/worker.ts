import { parseArgs } from 'node:util';
import { controllers, DEFAULT_CONTROLLER } from '@citybrain/control';
import { BrainKeyError, loadBrainKeyFile } from '@citybrain/server';
import { BrainWorker, WorkerStartError } from '@citybrain/server/cluster';
import { chooseScenario } from '../scenario-files.js';
import { chooseController } from '../plugins.js';
import { intOption, numOption, UsageError } from '../usage.js';
import { stopOnSignal } from '../stop-on-signal.js';

export const workerHelp = `citybrain worker --nats URL --brain-key FILE [options]

A brain worker of a cluster (issue #20): it owns some of the city's regions
(shared with the other workers through NATS KV, evenly; a dead worker's
regions are taken over within seconds), takes their events from JetStream
(stream CITY_EVENTS, subjects city.events.<region>, which the gateways
create), runs the controllers for its regions' intersections only and
publishes their signed plans on NATS (city.plans.<region>.<intersection>) and,
with --mqtt, to the field signal controllers.

  --nats URL           the NATS server (nats://127.0.0.1:4222); required
  --brain-key FILE     the PEM file of the key plans are signed with, shared by the cluster's workers
                       (made on first start; field controllers verify with its public half); required
  --regions N          regions the city is cut into; every worker of the cluster the same; default 4
  --id NAME            this worker's id (letters, digits, - and _); default host name and pid
  --grid RxC           the generated city; default 4x4
  --demand VPS         vehicles per second per route of the generated city; default 0.05
  --roadnet F --flow F this scenario instead (CityFlow JSON or SUMO XML); the whole cluster the same
  --controller NAME    ${Object.keys(controllers).join(' | ')}; default ${DEFAULT_CONTROLLER}
  --plugin FILE        offer a third-party controller module (repeatable)
  --mqtt URL           also publish the plans to this MQTT broker (citybrain/intersections/{id}/plan)
  --watchdog S         seconds a field controller holds a plan before its local plan; default 10
  --replay S           seconds of the stream replayed when a region is taken over; default 120`;

export async function workerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nats: { type: 'string' }, 'brain-key': { type: 'string' }, regions: { type: 'string' }, id: { type: 'string' },
      grid: { type: 'string' }, demand: { type: 'string' }, roadnet: { type: 'string' }, flow: { type: 'string' },
      controller: { type: 'string', default: DEFAULT_CONTROLLER }, plugin: { type: 'string', multiple: true },
      mqtt: { type: 'string' }, watchdog: { type: 'string' }, replay: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(workerHelp);
  if (!values.nats) throw new UsageError('--nats URL is required (the cluster\'s NATS server, e.g. nats://127.0.0.1:4222)');
  if (!values['brain-key']) throw new UsageError('--brain-key FILE is required: the cluster\'s workers sign plans with one key');
  if (values.id !== undefined && !/^[A-Za-z0-9_-]+$/.test(values.id)) throw new UsageError(`--id "${values.id}": only letters, digits, - and _`);
  const { plugins: extraControllers } = await chooseController(values.plugin ?? [], values.controller!);
  const scenario = await chooseScenario(values);
  let key;
  try {
    key = loadBrainKeyFile(values['brain-key']);
  } catch (e) {
    if (e instanceof BrainKeyError) throw new UsageError(e.message);
    throw e;
  }
  const worker = await BrainWorker.start({
    natsUrl: values.nats, scenario, planSigner: key, id: values.id,
    regions: intOption(values.regions, 'regions', 4, 1, 10_000),
    controller: values.controller, extraControllers, mqttUrl: values.mqtt,
    watchdog: numOption(values.watchdog, 'watchdog', 10, 1, 3600),
    replayMs: numOption(values.replay, 'replay', 120, 0, 86_400) * 1000,
    log: (line) => console.log(`worker: ${line}`),
  }).catch((e: unknown) => {
    throw e instanceof WorkerStartError ? new UsageError(e.message) : e;
  });
  console.log(`worker: ${worker.id} started; the city's ${worker.runtime.supervisor.env.intersections.length} signalised intersections in ${worker.regions.length} regions`);
  stopOnSignal(() => worker.close());
}
