import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { VirtualCity } from '@citybrain/field';
import { planVerifier } from '@citybrain/server';
import { chooseScenario } from '../scenario-files.js';
import { intOption, numOption, randomOption, UsageError } from '../usage.js';
import { sensingOption } from '../sensing-option.js';
import { FieldLoop, signalDevices, type FieldTransport } from '../field/loop.js';
import { fetchBrainKey, HttpTransport } from '../field/http.js';
import { MqttTransport } from '../field/mqtt.js';
import { HttpParkingApp } from '../field/parking-app.js';

export const fieldHelp = `citybrain field (--server URL | --mqtt URL) --tokens FILE [options]

Runs the virtual street as its own process, apart from the brain (citybrain serve
--no-street): its detectors, cameras, parking sensors and signal controllers report
as INGESTION.md says, each device under its own token, and its signal controllers
take the brain's signed plans (refusing any that do not verify), running their local
plans when none come for the watchdog time.

  --server URL         the brain's server (http://127.0.0.1:8080): events by POST /api/v1/events
                       (one batch per device, the same batch again on 429/503 or a network error),
                       plans by long-polling GET /api/v1/intersections/{id}/plan
  --mqtt URL           the broker the server ingests from (mqtt://127.0.0.1:1883): events QoS 1 to
                       citybrain/devices/{id}/events, plans from citybrain/intersections/+/plan
  --tokens FILE        the devices' tokens as JSON {"<device>": "<token>"} (citybrain token field)
  --grid RxC           the generated city; default 4x4 (the same as the server's)
  --demand VPS         its vehicles per second per route; default 0.05
  --roadnet F --flow F this scenario instead (CityFlow JSON or SUMO XML)
  --seed N             the street's randomness; default 0
  --random R           xoshiro (default) | cityflow: the street's traffic draws CityFlow's std::mt19937
                       stream as CityFlow draws it
  --speed X            simulated seconds per second; default 1 (real time). Above 1 the events'
                       timestamps run ahead of the server's clock: run the server at the same
                       --speed with --clock-skew off; the street then takes its clock from the
                       brain's first plan
  --brain-key FILE     the brain's public key (PEM; citybrain token brain-key); default fetched
                       once from GET /api/v1/brain/key with a device token (needs --server)
  --watchdog S         seconds a signal controller holds the last plan before its local plan; default 10
  --sensing S          its devices: default (video with its errors, losses and delays; README
                       "Sensing"), counts (video without its vehicle list), perfect (exact),
                       loop (stop-line loops only)
  --parking-app-token T  some of its drivers reserve a bay ahead through the brain's API as a
                       third-party app with this app token (citybrain token create --role app):
                       guidance from their destination, POST /api/v1/parking/reservations with
                       an Idempotency-Key, then they park in the bay given (needs --server; the
                       brain needs the street's sites: citybrain token field --parking FILE writes
                       them for serve --no-street --parking FILE)
  --parking-bookings N bookings per hour per intersection with bays; default 2

Every 10 s it logs a status line (simulated time, events sent and waiting, plans accepted
and refused, intersections running their local plan). Ctrl-C or SIGTERM stops it: what
the server takes within 5 s is sent, the rest is counted as not sent (exit code 1 then).`;

export async function fieldCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' }, mqtt: { type: 'string' }, tokens: { type: 'string' }, grid: { type: 'string' }, demand: { type: 'string' },
      roadnet: { type: 'string' }, flow: { type: 'string' }, seed: { type: 'string' }, random: { type: 'string' }, speed: { type: 'string' }, 'brain-key': { type: 'string' },
      watchdog: { type: 'string' }, sensing: { type: 'string' }, 'parking-app-token': { type: 'string' }, 'parking-bookings': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(fieldHelp);
  if (!values.server && !values.mqtt) throw new UsageError('give --server URL (HTTP) or --mqtt URL (the broker)');
  if (values.tokens === undefined) throw new UsageError('--tokens FILE is required (make it with citybrain token field --out FILE)');
  const scenario = await chooseScenario(values);
  const speed = numOption(values.speed, 'speed', 1, 0.01, 1000);
  const seed = intOption(values.seed, 'seed', 0);
  const random = randomOption(values.random);
  const watchdog = numOption(values.watchdog, 'watchdog', 10, 0.1, 3600);
  const devices = new VirtualCity(scenario).devices;
  const tokens = readTokens(values.tokens, devices.map((d) => d.device));
  const log = (line: string) => console.error(line);
  const appToken = values['parking-app-token'];
  if (appToken === undefined && values['parking-bookings'] !== undefined) throw new UsageError('--parking-bookings needs --parking-app-token TOKEN (the app its drivers book with)');
  if (appToken !== undefined && !values.server) throw new UsageError('--parking-app-token books through the brain\'s HTTP API: give --server URL too');
  const bookingsPerHour = numOption(values['parking-bookings'], 'parking-bookings', 2, 0, 3600);
  let parkingApp: HttpParkingApp | undefined;
  if (appToken !== undefined) {
    parkingApp = new HttpParkingApp({ server: values.server!, token: appToken, log });
    let sites: number;
    try {
      sites = await parkingApp.check();
    } catch (e) {
      throw new UsageError(`--parking-app-token: ${(e as Error).message}`);
    }
    if (sites === 0) log(`field: the brain at ${values.server} has no parking sites: the drivers will find no bay to book (citybrain token field --parking FILE writes the street's, for serve --parking FILE)`);
  }

  let pem: string;
  if (values['brain-key'] !== undefined) {
    try {
      pem = readFileSync(values['brain-key'], 'utf8');
    } catch (e) {
      throw new UsageError(`--brain-key ${values['brain-key']}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  } else {
    if (!values.server) throw new UsageError('--brain-key FILE is needed with --mqtt alone (citybrain token brain-key prints it), or give --server URL too to fetch it');
    try {
      pem = await fetchBrainKey(values.server, tokens[devices[0].device]);
    } catch (e) {
      throw new UsageError(`--server ${values.server}: ${(e as Error).message}`);
    }
  }
  let verify;
  try {
    verify = planVerifier(pem);
  } catch (e) {
    throw new UsageError(`the brain key${values['brain-key'] ? ` in ${values['brain-key']}` : ''} is no Ed25519 public key (PEM): ${(e as Error).message}`);
  }
  log(`field: the brain's key from ${values['brain-key'] !== undefined ? values['brain-key'] : `${values.server}/api/v1/brain/key`}`);

  let transport: FieldTransport;
  if (values.mqtt) {
    try {
      transport = await MqttTransport.connect({ url: values.mqtt, tokens, log });
    } catch (e) {
      throw new UsageError(`--mqtt: ${(e as Error).message}`);
    }
  } else {
    // a server that cannot be reached at start is a mistake in --server (later, events wait for it)
    if (values['brain-key'] !== undefined) {
      try {
        await fetchBrainKey(values.server!, tokens[devices[0].device]);
      } catch (e) {
        throw new UsageError(`--server ${values.server}: ${(e as Error).message}`);
      }
    }
    transport = new HttpTransport({ server: values.server!, tokens, signals: signalDevices(scenario), log });
  }
  const loop = new FieldLoop({
    scenario, transport, verify, seed, random, speed, watchdog, sensing: sensingOption(values.sensing), clock: speed > 1 ? 'brain' : 'wall', log,
    parking: parkingApp && { app: parkingApp, bookingsPerHour },
  });
  try {
    await loop.start();
  } catch (e) {
    await transport.close();
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  log(`field: the virtual street runs at ${speed}x over ${transport.name}: ${devices.length} devices, ${loop.street.signals.controllers.length} signal controllers${parkingApp ? `, drivers booking parking through ${values.server} as an app (${bookingsPerHour} an hour per intersection)` : ''}`);
  log(loop.status());

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`field: ${signal}, stopping (sending what the server takes within 5 s)`);
    const { unsent } = await loop.stop(5000);
    log(loop.status());
    process.exit(unsent === 0 ? 0 : 1);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** The token file: a JSON object with a token for every device of the street; anything else is a usage error naming the file. */
export function readTokens(file: string, devices: readonly string[]): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--tokens ${file}: ${code === 'ENOENT' ? 'no such file (make it with citybrain token field --out FILE)' : (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--tokens ${file}: not JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--tokens ${file}: must be a JSON object {"<device>": "<token>", ...}`);
  const tokens = parsed as Record<string, unknown>;
  for (const [device, token] of Object.entries(tokens)) {
    if (typeof token !== 'string') throw new UsageError(`--tokens ${file}: the token of "${device}" must be a string`);
  }
  const missing = devices.filter((d) => tokens[d] === undefined);
  if (missing.length > 0) {
    throw new UsageError(`--tokens ${file}: no token for device "${missing[0]}"${missing.length > 1 ? ` and ${missing.length - 1} more` : ''} of this street (give the same --grid or --roadnet/--flow as citybrain token field)`);
  }
  return tokens as Record<string, string>;
}
