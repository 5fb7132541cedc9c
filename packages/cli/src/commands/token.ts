import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { Auth, DEFAULT_STORE_URL, issueTokenAudit, openStore, redactSecrets, ROLES, StoreError, type Role, type TokenSpec } from '@citybrain/server';
import { UsageError } from '../usage.js';

export const tokenHelp = `citybrain token create --role ROLE [options]

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
  --bays IDS           device tokens: comma-separated parking bays it may report on`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter((x) => x !== ''));

export async function tokenCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' }, name: { type: 'string' }, db: { type: 'string' }, device: { type: 'string' },
      intersections: { type: 'string' }, bays: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(tokenHelp);
  if (positionals.length !== 1 || positionals[0] !== 'create') throw new UsageError(`expected "citybrain token create --role ROLE ...", got "citybrain token ${positionals.join(' ')}"`);
  const role = values.role;
  if (role === undefined) throw new UsageError(`--role is required: ${ROLES.join(', ')}`);
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
  const spec: TokenSpec = { name: values.name ?? `${role} (citybrain token create)`, role: role as Role };
  if (values.device !== undefined) spec.device = values.device;
  const intersections = list(values.intersections);
  if (intersections) spec.intersections = intersections;
  const bays = list(values.bays);
  if (bays) spec.bays = bays;

  const url = values.db ?? DEFAULT_STORE_URL;
  let store;
  try {
    store = await openStore(url);
  } catch (e) {
    if (e instanceof StoreError) throw new UsageError(`--db: ${redactSecrets(e.message)}`);
    throw e;
  }
  try {
    const auth = new Auth(store);
    let created;
    try {
      // the token and its audit entry in one write, as the API issues them
      created = await auth.createToken(spec, issueTokenAudit({ actor: `citybrain token create (${userInfo().username})`, role: 'offline' }));
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    const { token, record } = created;
    console.error(`citybrain: issued ${record.role} token "${record.name}" (${record.id}) in ${redactSecrets(url)}; it is shown once, store it now:`);
    console.log(token);
  } finally {
    await store.close();
  }
}
