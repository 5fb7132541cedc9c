import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { chmodSync, closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { VirtualCity } from '@citybrain/field';
import { chooseScenario } from '../scenario-files.js';
import { Auth, BrainKeyError, DEFAULT_STORE_URL, issueTokenAudit, loadBrainKey, openStore, redactSecrets, ROLES, StoreError, virtualCityRegister, type EventStore, type Role, type TokenSpec } from '@citybrain/server';
import { UsageError } from '../usage.js';

export const tokenHelp = `citybrain token create --role ROLE [options]
citybrain token field [--grid RxC | --roadnet F --flow F] [--db URL] [--out FILE] [--parking FILE]
citybrain token brain-key [--db URL] [--brain-key FILE]

Issues a token straight into the store, without the server or another token:
the way back in when no operator token is left (lost or revoked). The token is
printed once on stdout; only its hash is stored. The issue is audited (actor
"citybrain token create", with the local user name). Works while the server
runs; it accepts the new token within 5 s.

  --role ROLE          ${ROLES.join(' | ')}
  --name NAME          the token's name in the audit log; default "<role> (citybrain token create)"
  --db URL             the server's store: sqlite:PATH (default ${DEFAULT_STORE_URL}) or postgres://...
  --device ID          device tokens: the device it speaks for
  --intersections IDS  device tokens: comma-separated intersections it may report on
  --bays IDS           device tokens: comma-separated parking bays it may report on
  --vehicles IDS       device tokens: comma-separated vehicles whose positions (AVL) it may report

"field" provisions the virtual street's process (citybrain field): one device token per
device of the street of that scenario (give the same --grid or --roadnet/--flow as serve and
field), each scoped to the intersections and bays that device reports on, each issue audited
as "create" does. It writes {"<device>": "<token>", ...} as JSON to --out FILE (mode 0600)
or to stdout. With --parking FILE it also writes the street's parking register (a site
of kerbside bays per intersection, as the demo registers) for serve --no-street --parking
FILE: the sites its drivers book with citybrain field --parking-app-token.

"brain-key" prints the brain's public key (PEM) on stdout: field signal
controllers verify the plans they receive with it, and refuse any that do not
verify. The key pair is made on first use and kept beside the data (a SQLite
store's <db>.brain-key.pem; PostgreSQL's state table), or in --brain-key FILE
(give serve the same --brain-key). GET /api/v1/brain/key serves it too.`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter((x) => x !== ''));

export async function tokenCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' }, name: { type: 'string' }, db: { type: 'string' }, device: { type: 'string' },
      intersections: { type: 'string' }, bays: { type: 'string' }, vehicles: { type: 'string' }, 'brain-key': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      grid: { type: 'string' }, demand: { type: 'string' }, roadnet: { type: 'string' }, flow: { type: 'string' }, out: { type: 'string' }, parking: { type: 'string' },
    },
  });
  if (values.help) return void console.log(tokenHelp);
  if (positionals.length === 1 && positionals[0] === 'brain-key') {
    const key = await withStore(values.db, (store) => loadBrainKey(store, { keyFile: values['brain-key'] }));
    console.error(`citybrain: the brain's public key (issuer ${key.issuer}); field controllers verify plans with it:`);
    return void process.stdout.write(key.publicPem());
  }
  if (positionals.length === 1 && positionals[0] === 'field') return fieldTokens(values);
  if (positionals.length !== 1 || positionals[0] !== 'create') throw new UsageError(`expected "citybrain token create --role ROLE ...", "citybrain token field" or "citybrain token brain-key", got "citybrain token ${positionals.join(' ')}"`);
  const role = values.role;
  if (role === undefined) throw new UsageError(`--role is required: ${ROLES.join(', ')}`);
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
  const spec: TokenSpec = { name: values.name ?? `${role} (citybrain token create)`, role: role as Role };
  if (values.device !== undefined) spec.device = values.device;
  const intersections = list(values.intersections);
  if (intersections) spec.intersections = intersections;
  const bays = list(values.bays);
  if (bays) spec.bays = bays;
  const vehicles = list(values.vehicles);
  if (vehicles) spec.vehicles = vehicles;

  const url = values.db ?? DEFAULT_STORE_URL;
  await withStore(url, async (store) => {
    const { token, record } = await issue(new Auth(store), spec, 'create');
    console.error(`citybrain: issued ${record.role} token "${record.name}" (${record.id}) in ${redactSecrets(url)}; it is shown once, store it now:`);
    console.log(token);
  });
}

/** One token and its audit entry in one write, as the API issues them; a spec the store refuses is a usage error. */
async function issue(auth: Auth, spec: TokenSpec, how: 'create' | 'field') {
  try {
    return await auth.createToken(spec, issueTokenAudit({ actor: `citybrain token ${how} (${userInfo().username})`, role: 'offline' }));
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

/** `token field`: a device token for every device of the scenario's virtual street, as JSON {device: token}. */
async function fieldTokens(values: { grid?: string; demand?: string; roadnet?: string; flow?: string; db?: string; out?: string; parking?: string }): Promise<void> {
  const { devices, bays } = new VirtualCity(await chooseScenario(values));
  const url = values.db ?? DEFAULT_STORE_URL;
  if (values.parking !== undefined) {
    // the register serve --parking reads (lon/lat only where known: the map's metres are no WGS84)
    const sites = virtualCityRegister(bays).map(({ lon, lat, ...s }) => (lon === null || lat === null ? s : { ...s, lon, lat }));
    try {
      writeFileSync(values.parking, `${JSON.stringify({ sites }, null, 2)}\n`);
    } catch (e) {
      throw new UsageError(`--parking ${values.parking}: cannot write it: ${(e as Error).message}`);
    }
    console.error(`citybrain: the virtual street's parking register (${sites.length} sites, ${bays.length} bays) written to ${values.parking}; give it to citybrain serve --parking FILE`);
  }
  if (values.out !== undefined) {
    // a file we cannot write is found before any token is issued
    try {
      closeSync(openSync(values.out, 'w', 0o600));
    } catch (e) {
      throw new UsageError(`--out ${values.out}: cannot write it: ${(e as Error).message}`);
    }
  }
  const tokens: Record<string, string> = {};
  try {
    await withStore(url, async (store) => {
      const auth = new Auth(store);
      for (const d of devices) {
        const { token } = await issue(auth, { name: `field ${d.device}`, role: 'device', device: d.device, intersections: [...d.intersections], bays: [...d.bays] }, 'field');
        tokens[d.device] = token;
      }
    });
  } catch (e) {
    // no empty token file left behind to be mistaken for one
    if (values.out !== undefined) rmSync(values.out, { force: true });
    throw e;
  }
  const json = `${JSON.stringify(tokens, null, 2)}\n`;
  if (values.out === undefined) process.stdout.write(json);
  else {
    writeFileSync(values.out, json, { mode: 0o600 });
    // an existing file keeps its mode on write: the tokens are secrets
    chmodSync(values.out, 0o600);
  }
  console.error(`citybrain: issued ${devices.length} device tokens for the virtual street in ${redactSecrets(url)}${values.out !== undefined ? `, written to ${values.out}` : ''}; give them to citybrain field --tokens FILE`);
}

/** Runs `f` on the store at `url` (default the server's), closing it after; a store it cannot open is a user error naming --db. */
async function withStore<T>(url: string | undefined, f: (store: EventStore) => Promise<T>): Promise<T> {
  let store;
  try {
    store = await openStore(url ?? DEFAULT_STORE_URL);
  } catch (e) {
    if (e instanceof StoreError) throw new UsageError(`--db: ${redactSecrets(e.message)}`);
    throw e;
  }
  try {
    return await f(store);
  } catch (e) {
    if (e instanceof BrainKeyError) throw new UsageError(`--brain-key: ${e.message}`);
    throw e;
  } finally {
    await store.close();
  }
}
