/**
 * Issue #12, tokens in logs and URL passwords in messages: the live stream
 * opens with a single-use ticket instead of ?token=, and no log line, error
 * message or printed URL carries a token, ticket or password.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { generateGrid } from '@citybrain/engine';
import { Auth, buildApp, MqttIngest, MqttStartError, redactSecrets, startServer, TICKET_TTL_MS, type RunningServer } from '@citybrain/server';

let server: RunningServer;
let dir: string;
let operator: string;
let viewer: string;
let device: string;
const lines: string[] = [];

async function call(method: string, path: string, token?: string) {
  const r = await fetch(server.url + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

const wsUrl = (query: string) => `${server.url.replace('http', 'ws')}/api/v1/live${query}`;

/** Opens a live stream: 'open' once a state message arrives, else the refusal's status and message. */
function openStream(url: string, headers: Record<string, string> = {}): Promise<{ open: WebSocket } | { status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', () => resolve({ open: ws }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: JSON.parse(body).message }));
    });
    ws.on('error', reject);
    setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-seclog-'));
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }),
    storeUrl: `sqlite:${join(dir, 'city.db')}`,
    port: 0, run: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false },
    logger: { level: 'info', destination: { write: (l: string) => lines.push(l) } },
  });
  operator = server.createdTokens[0].token;
  viewer = (await server.auth.createToken({ name: 'wall screen', role: 'viewer' })).token;
  device = (await server.auth.createToken({ name: 'det', role: 'device', device: 'det-1', intersections: ['intersection_1_1'] })).token;
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the live stream opens with a ticket from POST /api/v1/live/ticket; ?token= is refused, naming the way', async () => {
  const refused = await openStream(wsUrl(`?token=${viewer}`));
  assert.ok('status' in refused);
  assert.equal(refused.status, 401);
  assert.match(refused.message, /token in the URL \(\?token=\) is not accepted.*POST \/api\/v1\/live\/ticket/);

  const issued = await call('POST', '/api/v1/live/ticket', viewer);
  assert.equal(issued.status, 200);
  assert.match(issued.body.ticket, /^cbk_[A-Za-z0-9_-]{32}$/);
  assert.ok(Math.abs(issued.body.expiresAt - (Date.now() + TICKET_TTL_MS)) < 5000);
  const stream = await openStream(wsUrl(`?ticket=${issued.body.ticket}`));
  assert.ok('open' in stream, 'opened with the ticket');
  stream.open.close();

  const again = await openStream(wsUrl(`?ticket=${issued.body.ticket}`));
  assert.ok('status' in again && again.status === 401 && /used or expired ticket/.test(again.message), 'a ticket opens one stream only');
  const none = await openStream(wsUrl(''));
  assert.ok('status' in none && none.status === 401 && /missing credentials/.test(none.message));
  // clients that can send headers still do
  const byHeader = await openStream(wsUrl(''), { authorization: `Bearer ${viewer}` });
  assert.ok('open' in byHeader, 'opened with the bearer header');
  byHeader.open.close();

  // tickets are for those who may watch, and only with a token
  assert.equal((await call('POST', '/api/v1/live/ticket')).status, 401);
  assert.equal((await call('POST', '/api/v1/live/ticket', device)).status, 403);
});

test('a ticket expires after TICKET_TTL_MS and dies with its token', async () => {
  const late = (await call('POST', '/api/v1/live/ticket', viewer)).body.ticket;
  const realNow = Date.now;
  Date.now = () => realNow() + TICKET_TTL_MS + 1;
  let expired;
  try {
    expired = await openStream(wsUrl(`?ticket=${late}`));
  } finally {
    Date.now = realNow;
  }
  assert.ok('status' in expired && expired.status === 401 && /expired/.test(expired.message), 'refused once expired');

  const { token, record } = await server.auth.createToken({ name: 'to revoke', role: 'viewer' });
  const ticket = (await call('POST', '/api/v1/live/ticket', token)).body.ticket;
  assert.ok(await server.auth.revoke(record.id));
  const revoked = await openStream(wsUrl(`?ticket=${ticket}`));
  assert.ok('status' in revoked && revoked.status === 401 && /revoked/.test(revoked.message), 'a revoked token\'s ticket opens nothing');
});

test('no token, ticket, Authorization header or URL password reaches a log line', async () => {
  lines.length = 0;
  const ticket = (await call('POST', '/api/v1/live/ticket', viewer)).body.ticket;
  const stream = await openStream(wsUrl(`?ticket=${ticket}`));
  assert.ok('open' in stream);
  stream.open.close();
  await openStream(wsUrl(`?token=${operator}`));
  await call('GET', `/api/v1/network?token=${operator}&access_token=${viewer}`);
  // the 404 handler writes the URL into the message itself
  await call('GET', `/no/such/route?x=1&token=${operator}`);
  await call('GET', '/api/v1/me', operator);
  // what a plugin might log: request headers, a broker URL with credentials, a bearer string in a message
  server.app.log.warn({ headers: { authorization: `Bearer ${operator}`, cookie: `session=${viewer}` } }, 'headers of a request');
  server.app.log.info({ url: 'mqtt://cam:hunter2-secret@broker:1883' }, 'connecting');
  server.app.log.info(`retrying with Authorization: Bearer ${device}`);
  await new Promise((r) => setTimeout(r, 50));

  const log = lines.join('');
  assert.ok(lines.length >= 10, `log lines were written (${lines.length})`);
  assert.match(log, /"url":"\/api\/v1\/live\?ticket=\*\*\*"/, 'the live stream\'s request is logged, its ticket masked');
  assert.match(log, /"url":"\/api\/v1\/network\?token=\*\*\*&access_token=\*\*\*"/);
  assert.match(log, /Route GET:\/no\/such\/route\?x=1&token=\*\*\* not found/);
  assert.match(log, /"authorization":"\*\*\*"/);
  assert.match(log, /mqtt:\/\/cam:\*\*\*@broker:1883/);
  for (const secret of [operator, viewer, device, ticket, 'hunter2-secret']) assert.ok(!log.includes(secret), 'a secret reached the log');
  for (const line of lines) JSON.parse(line); // still JSON lines
});

test('redactSecrets masks URL passwords, credential query parameters, bearer credentials and tokens, and nothing else', () => {
  const cases: [string, string][] = [
    ['postgres://cb:s3cret@db.example:5432/city?schema=x', 'postgres://cb:***@db.example:5432/city?schema=x'],
    ['mqtt://gw:p@ss@broker:1883', 'mqtt://gw:***@broker:1883'],
    ['mqtts://broker.example:8883', 'mqtts://broker.example:8883'],
    ['cannot start MQTT ingestion from mqtt://u:pw@h:1: connect ECONNREFUSED', 'cannot start MQTT ingestion from mqtt://u:***@h:1: connect ECONNREFUSED'],
    ['/api/v1/live?ticket=cbk_abc&x=1&token=cbt_zzz#f', '/api/v1/live?ticket=***&x=1&token=***#f'],
    ['/api/v1/events?device=token=1', '/api/v1/events?device=token=1'],
    ['Authorization: Bearer abc.def', 'Authorization: Bearer ***'],
    ['{"authorization":"Basic dTpw","cookie":"a=\\"b\\""}', '{"authorization":"***","cookie":"***"}'],
    ['unknown token cbt_Q2hhbmdlTWVQbGVhc2UAAAAAAAAAAAAAAAAAAAAAAAA', 'unknown token cbt_***'],
    ['sqlite:./citybrain-data/citybrain.db', 'sqlite:./citybrain-data/citybrain.db'],
  ];
  for (const [input, want] of cases) assert.equal(redactSecrets(input), want, input);
});

test('an MQTT broker URL\'s password appears in no start-up error, from the API or from citybrain serve', async () => {
  const auth = new Auth(server.store);
  const app = buildApp({ store: server.store, auth, logger: false });
  await app.ready();
  try {
    await assert.rejects(
      MqttIngest.start({ url: 'mqtt://gw:hunter2-secret@127.0.0.1:1', pipeline: app.ingest, auth, connectTimeoutMs: 1000, clientId: 'sec-test' }),
      (e: Error) => e instanceof MqttStartError && e.message.includes('mqtt://gw:***@127.0.0.1:1') && !e.message.includes('hunter2'),
    );
  } finally {
    await app.close();
  }
  const main = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [main, 'serve', '--port', '0', '--paused', '--db', `sqlite:${join(dir, 'cli.db')}`, '--mqtt', 'mqtt://gw:hunter2-secret@127.0.0.1:1'],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, CITYBRAIN_TOKENS: '', CITYBRAIN_LOG_LEVEL: 'warn' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /citybrain: --mqtt: cannot start MQTT ingestion from mqtt:\/\/gw:\*\*\*@127\.0\.0\.1:1/);
  assert.ok(!`${r.stdout}${r.stderr}`.includes('hunter2'), 'the password was printed');
});
