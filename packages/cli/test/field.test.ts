import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGrid, type Scenario } from '@citybrain/engine';
import { VirtualCity } from '@citybrain/field';
import { BrainKey, openStore, planVerifier, startServer, type RunningServer } from '@citybrain/server';
import { FieldLoop, signalDevices, type FieldTransport } from '../dist/field/loop.js';
import { fetchBrainKey, HttpTransport, retryAfterMs } from '../dist/field/http.js';
import { BatchRefused, RetryLater } from '../dist/field/loop.js';
import http from 'node:http';
import { MqttTransport } from '../dist/field/mqtt.js';
import { fieldCommand } from '../dist/commands/field.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const MQTT_URL = process.env.CITYBRAIN_TEST_MQTT ?? 'mqtt://127.0.0.1:1883';
const tmp = mkdtempSync(join(tmpdir(), 'citybrain-field-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const uid = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
/** Simulated seconds per wall second of the brain and the street alike: ~60 simulated s in 3 wall s. */
const SPEED = 20;

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A brain alone (serve --no-street's server) on an SQLite store in a temp dir, and a device token per device of its street. */
async function brainAlone(mqtt?: { url: string; prefix: string }) {
  const scenario = generateGrid({ rows: 2, cols: 3, demand: 0.08 });
  const server = await startServer({
    scenario, street: false, storeUrl: `sqlite:${join(mkdtempSync(join(tmp, 'brain-')), 'c.db')}`, port: 0, logger: false, printToken: () => {},
    webRoot: false, speed: SPEED, clockSkew: false, mqttUrl: mqtt?.url, mqttSession: mqtt && { topicPrefix: mqtt.prefix, clientId: `cbt-${uid()}`.slice(0, 23) },
  });
  assert.equal(server.runtime.street, undefined, 'no virtual street in the brain\'s process');
  const tokens: Record<string, string> = {};
  for (const d of new VirtualCity(scenario).devices) {
    tokens[d.device] = (await server.auth.createToken({ name: `field ${d.device}`, role: 'device', device: d.device, intersections: [...d.intersections], bays: [...d.bays] })).token;
  }
  const operator = server.createdTokens[0].token;
  const modes = async () => {
    const res = await fetch(`${server.url}/api/v1/intersections`, { headers: { authorization: `Bearer ${operator}` } });
    return ((await res.json()) as { id: string; mode: string }[]).map((i) => i.mode);
  };
  const allCentral = async () => (await modes()).every((m) => m === 'central');
  return { scenario, server, tokens, modes, allCentral };
}

/** The URL of a port nothing listens on. */
async function nobodyThere(): Promise<string> {
  const free = net.createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise((r) => free.close(r));
  return `http://127.0.0.1:${port}`;
}

async function countEvents(server: RunningServer): Promise<number> {
  return server.store.count();
}

/**
 * The street in its own loop against the brain over `transport()`: ~60
 * simulated seconds, then a forged plan, then the field restarted (a new
 * street, new ids) and central again within a few seconds.
 */
async function joinedOver(brain: Awaited<ReturnType<typeof brainAlone>>, transport: () => FieldTransport, verify: ReturnType<typeof planVerifier>) {
  const { scenario, server, allCentral, modes } = brain;
  const lines: string[] = [];
  // exact devices: every event sent is one stored (the default sensing's devices resend some: duplicates)
  const field = (t: FieldTransport) => new FieldLoop({ scenario, transport: t, verify, speed: SPEED, clock: 'brain', sensing: 'perfect', log: (l) => lines.push(l) });
  // a failed check stops the loops it started: a field loop left running keeps the test file from ending
  const started: FieldLoop[] = [];
  try {
    return await joined(started);
  } catch (e) {
    for (const f of started) await f.stop(1000).catch(() => {});
    throw e;
  }

  async function joined(started: FieldLoop[]) {
    const first = field(transport());
    started.push(first);
    await first.start();
    await until(() => first.street.time >= 60, 30_000, '60 simulated seconds');
    await until(allCentral, 5000, `every intersection central (${(await modes()).join(', ')})`);

    // the brain's estimate has the field's detectors' reports on every approach
    const net = server.runtime.sim.net;
    for (const i of net.signalised) {
      for (const l of net.incomingLanes(i)) assert.equal(server.runtime.estimate.reportedBy[l], `det-${net.interIds[i]}`, `lane ${net.laneId(l)} reported by its detector`);
    }
    assert.equal(first.localIntersections, 0);
    // a plan per intersection on change and every second; long polls under load deliver only the latest (40 in all
    // at load 7 on 2 cores, other jobs running), so at least 3 each: that they keep coming, every intersection still
    // central above (a plan runs out after its validFor), is what matters
    assert.ok(first.stats.plansAccepted >= 6 * 3, `${first.stats.plansAccepted} plans accepted`);
    assert.equal(first.stats.plansRefused, 0, lines.join('\n'));
    // a plan from anyone but the brain is refused, and changes nothing
    const id = net.interIds[net.signalised[0]];
    first.receive(BrainKey.generate().sign({ intersection: id, seq: Number.MAX_SAFE_INTEGER - 1, ts: Date.now(), phase: 1, validFor: 10 }));
    assert.equal(first.stats.plansRefusedBy.forged, 1);
    assert.ok(lines.some((l) => /plan refused \(forged\)/.test(l)));
    assert.deepEqual(await first.stop(5000), { unsent: 0 });
    assert.equal(first.stats.refused, 0);

    // restarted mid-run: a new street with new event ids, accepted (no 409), central again within a few seconds
    const again = field(transport());
    started.push(again);
    const t0 = performance.now();
    await again.start();
    // central again: its controllers under the brain's plans, and the brain hearing them say so (their confirmations, not the old street's last ones)
    const heard = () => server.runtime.supervisor.env.intersections.every((ix) => server.runtime.plans.confirmation(ix.id)?.id.includes(`:c${again.street.epochMs}:`));
    await until(async () => again.stats.plansAccepted > 0 && again.localIntersections === 0 && heard() && (await allCentral()), 5000, 'the restarted street central');
    const ms = performance.now() - t0;
    // on the wall clock its confirmations would be dated behind the old street's last ones, ignored until its clock caught up (seconds at 20x)
    assert.ok(ms < 2000, `central again after ${ms.toFixed(0)} ms`);
    await until(() => again.street.time >= 20, 10_000, '20 simulated seconds of the restarted street');
    assert.deepEqual(await again.stop(5000), { unsent: 0 });
    assert.equal(again.stats.refused, 0, `no batch refused (a 409 would be): ${lines.filter((l) => /refused/.test(l)).join('\n')}`);
    assert.equal(again.stats.plansRefused, 0);
    assert.ok(again.stats.sent > 0);
    return { first, again, ms, lines };
  }
}

test('the field process over HTTP: its devices report under their own tokens, its controllers take the brain\'s plans (central), refuse a forged one, and a restarted field is accepted and central again', async () => {
  const brain = await brainAlone();
  try {
    const { server, tokens, scenario } = brain;
    const pem = await fetchBrainKey(server.url, tokens[Object.keys(tokens)[0]]);
    assert.equal(pem, server.plans.key.publicPem());
    const transport = () => new HttpTransport({ server: server.url, tokens, signals: signalDevices(scenario) });
    const { first, again, ms } = await joinedOver(brain, transport, planVerifier(pem));
    console.log(`# HTTP: ${first.stats.sent} + ${again.stats.sent} events, ${first.stats.plansAccepted} + ${again.stats.plansAccepted} plans; restarted street central after ${ms.toFixed(0)} ms`);
    // every event the field counted as sent is stored, once
    assert.equal(await countEvents(server), first.stats.sent + again.stats.sent);
    // the controllers' long polls end with the server: it closes at once, not after the keep-alive timeout (72 s)
    const t0 = performance.now();
    await server.close();
    assert.ok(performance.now() - t0 < 5000, `server closed in ${(performance.now() - t0).toFixed(0)} ms`);
  } finally {
    await brain.server.close();
  }
});

async function brokerDown(url: string): Promise<string | undefined> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 1883) });
    const done = (why?: string) => {
      s.destroy();
      resolve(why);
    };
    s.setTimeout(1000, () => done('no answer'));
    s.once('connect', () => done());
    s.once('error', (e) => done(e.message));
  });
}

test('the field process over MQTT: QoS 1 per device topic, plans from the plan topics; a restarted field is accepted and central again', async (t) => {
  const down = await brokerDown(MQTT_URL);
  if (down) return void t.skip(`no MQTT broker at ${MQTT_URL} (${down}): start Mosquitto to run this test`);
  const prefix = `cbtest-${uid()}`;
  const brain = await brainAlone({ url: MQTT_URL, prefix });
  const transports: MqttTransport[] = [];
  try {
    const { server, tokens } = brain;
    const verify = planVerifier(server.plans.key.publicPem());
    const connected = [await MqttTransport.connect({ url: MQTT_URL, tokens, topicPrefix: prefix }), await MqttTransport.connect({ url: MQTT_URL, tokens, topicPrefix: prefix })];
    transports.push(...connected);
    let k = 0;
    const { first, again, ms } = await joinedOver(brain, () => connected[k++], verify);
    console.log(`# MQTT: ${first.stats.sent} + ${again.stats.sent} events, ${first.stats.plansAccepted} + ${again.stats.plansAccepted} plans; restarted street central after ${ms.toFixed(0)} ms`);
    assert.equal(connected[0].serverRefusals + connected[1].serverRefusals, 0, 'the server refused nothing');
    // the broker took them (PUBACK); the server stores them once it has them
    await until(async () => (await countEvents(server)) === first.stats.sent + again.stats.sent, 10_000, 'every event published stored');
  } finally {
    await brain.server.close();
    for (const c of transports) await c.close().catch(() => {});
  }
});

/** Runs the CLI, resolving when `line` appears on its stderr. */
function startCli(args: string[], line: RegExp, ms = 20_000): Promise<{ child: ChildProcess; err: () => string; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${line}" within ${ms} ms: ${err}`)), ms);
    const check = () => {
      const m = line.exec(err);
      if (!m) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve({ child, err: () => err, match: m });
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${err}`)));
  });
}

test('citybrain field against citybrain serve --no-street: token field provisions it, its status line counts what the server accepted', async () => {
  const dir = mkdtempSync(join(tmp, 'cli-'));
  const db = `sqlite:${join(dir, 'c.db')}`;
  const tokensFile = join(dir, 'tokens.json');
  const issued = spawnSync(process.execPath, [MAIN, 'token', 'field', '--grid', '2x2', '--db', db, '--out', tokensFile], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(issued.status, 0, issued.stderr);
  assert.match(issued.stderr, /issued 24 device tokens for the virtual street/);
  assert.equal(statSync(tokensFile).mode & 0o777, 0o600);
  const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;
  const devices = new VirtualCity(generateGrid({ rows: 2, cols: 2 })).devices;
  assert.deepEqual(Object.keys(tokens).sort(), devices.map((d) => d.device).sort());
  // each issue audited, like token create's
  const store = await openStore(db);
  try {
    const audit = await store.queryAudit();
    assert.equal(audit.filter((a) => /^citybrain token field \(/.test(a.actor)).length, devices.length);
  } finally {
    await store.close();
  }

  const unwritable = spawnSync(process.execPath, [MAIN, 'token', 'field', '--grid', '2x2', '--db', db, '--out', join(dir, 'no', 'such', 'dir.json')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(unwritable.status, 2);
  assert.match(unwritable.stderr, /^citybrain: --out .*dir\.json: cannot write it: ENOENT/);
  const badDb = spawnSync(process.execPath, [MAIN, 'token', 'field', '--grid', '2x2', '--db', 'mysql://x', '--out', join(dir, 'never.json')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(badDb.status, 2, badDb.stderr);
  assert.match(badDb.stderr, /^citybrain: --db: /);
  assert.ok(!existsSync(join(dir, 'never.json')), 'no empty token file left behind');

  const serve = await startCli(['serve', '--no-street', '--grid', '2x2', '--port', '0', '--db', db], /CityBrain is running at (http:\/\/\S+)/);
  let field: ChildProcess | undefined;
  try {
    const url = serve.match[1];
    const f = await startCli(['field', '--server', url, '--tokens', tokensFile, '--grid', '2x2', '--sensing', 'perfect'], /field: the virtual street runs at 1x over HTTP/);
    field = f.child;
    assert.match(f.err(), new RegExp(`the brain's key from ${url}/api/v1/brain/key`));
    await new Promise((r) => setTimeout(r, 7000));
    const exited = new Promise<number | null>((r) => field!.once('exit', (c) => r(c)));
    field.kill('SIGINT');
    assert.equal(await exited, 0, f.err());
    const last = /field: (\d+) s simulated; events sent (\d+), backlog 0; plans accepted (\d+), refused 0; intersections local 0\/4\n$/.exec(f.err());
    assert.ok(last, f.err());
    assert.ok(Number(last[1]) >= 6, `${last[1]} simulated seconds`);
    assert.ok(Number(last[3]) >= 4 * 5, `${last[3]} plans`);
    assert.match(f.err(), /field: stopped; every event sent/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const accepted = /citybrain_ingest_events_accepted_total\{source="http"\} (\d+)/.exec(metrics);
    assert.ok(accepted, metrics.slice(0, 500));
    assert.equal(Number(accepted[1]), Number(last[2]), 'the server accepted every event the field counted as sent');
  } finally {
    field?.kill('SIGKILL');
    serve.child.kill('SIGKILL');
  }
});

test('citybrain field --parking-app-token: its drivers book through the brain\'s API as an app (guidance, reservations with an Idempotency-Key) and park in the bay given', async () => {
  const dir = mkdtempSync(join(tmp, 'parking-'));
  const db = `sqlite:${join(dir, 'c.db')}`;
  const tokensFile = join(dir, 'tokens.json');
  const register = join(dir, 'parking.json');
  const issued = spawnSync(process.execPath, [MAIN, 'token', 'field', '--grid', '2x2', '--db', db, '--out', tokensFile, '--parking', register], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(issued.status, 0, issued.stderr);
  assert.match(issued.stderr, /the virtual street's parking register \(4 sites, 32 bays\) written to .*parking\.json/);
  const app = spawnSync(process.execPath, [MAIN, 'token', 'create', '--role', 'app', '--name', 'parking app', '--db', db], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(app.status, 0, app.stderr);
  const appToken = app.stdout.trim();
  const viewer = spawnSync(process.execPath, [MAIN, 'token', 'create', '--role', 'viewer', '--db', db], { encoding: 'utf8', timeout: 30_000 }).stdout.trim();

  const serve = await startCli(['serve', '--no-street', '--grid', '2x2', '--port', '0', '--db', db, '--parking', register, '--speed', String(SPEED), '--clock-skew', 'off'], /CityBrain is running at (http:\/\/\S+)/);
  let field: ChildProcess | undefined;
  try {
    const url = serve.match[1];
    const get = async (path: string) => (await fetch(url + path, { headers: { authorization: `Bearer ${appToken}` } })).json();
    // a token that may not book is a clear error at start, not a 403 per booking
    const args = ['field', '--server', url, '--tokens', tokensFile, '--grid', '2x2', '--sensing', 'perfect', '--speed', String(SPEED)];
    const refused = spawnSync(process.execPath, [MAIN, ...args, '--parking-app-token', viewer], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /^citybrain: --parking-app-token: the parking app token is a viewer token; reservations are booked by app tokens/);
    const mqttOnly = spawnSync(process.execPath, [MAIN, 'field', '--mqtt', MQTT_URL, '--tokens', tokensFile, '--grid', '2x2', '--parking-app-token', appToken], { encoding: 'utf8', timeout: 30_000 });
    assert.match(mqttOnly.stderr, /--parking-app-token books through the brain's HTTP API: give --server URL too/);

    const f = await startCli([...args, '--parking-app-token', appToken, '--parking-bookings', '120'], /field: the virtual street runs at \d+x over HTTP.*drivers booking parking through/);
    field = f.child;
    // bookings 5 to 20 simulated minutes ahead; the first drivers arrive some 15 to 60 wall seconds in
    await until(async () => ((await get('/api/v1/parking/reservations')) as unknown[]).length >= 5, 30_000, 'five bookings');
    await until(async () => ((await get('/api/v1/parking/reservations?status=arrived')) as unknown[]).length >= 1, 60_000, 'a driver arrived in the bay booked');
    const exited = new Promise<number | null>((r) => field!.once('exit', (c) => r(c)));
    field.kill('SIGINT');
    assert.equal(await exited, 0, f.err());

    const mine = (await get('/api/v1/parking/reservations')) as { app: string; payer: string; site: string; bay: string; status: string; arrivedAt: number | null; from: number }[];
    const me = (await get('/api/v1/me')) as { tokenId: string };
    const sites = (await get('/api/v1/parking/sites')) as { id: string; bays: { id: string }[] }[];
    for (const r of mine) {
      assert.equal(r.app, me.tokenId, 'booked under the app\'s token');
      assert.match(r.payer, /^driver-\d+$/);
      assert.ok(sites.find((s) => s.id === r.site)?.bays.some((b) => b.id === r.bay), `${r.bay} is a bay of ${r.site}`);
    }
    // an arrival is the bay's sensor reporting the driver's car, within the window's arrival time
    const arrived = mine.filter((r) => r.arrivedAt !== null);
    assert.ok(arrived.length >= 1);
    for (const r of arrived) assert.ok(Math.abs(r.arrivedAt! - r.from) <= 15 * 60_000);
    // each booking paid once
    const payments = (await get('/api/v1/parking/payments')) as { reservation: string | null; purpose: string }[];
    for (const r of mine as unknown as { id: string }[]) assert.equal(payments.filter((p) => p.purpose === 'booking' && p.reservation === r.id).length, 1);
    // the last status line, printed as it stopped
    const status = [...f.err().matchAll(/field: .*; parking bookings (\d+), booked (\d+), none free (\d+), failed (\d+), arrived (\d+)\n/g)].at(-1);
    assert.ok(status, f.err());
    assert.ok(Number(status[2]) >= 5, f.err());
    assert.equal(Number(status[4]), 0, `no booking failed: ${f.err()}`);
  } finally {
    field?.kill('SIGKILL');
    serve.child.kill('SIGKILL');
  }
});

test('citybrain field: an unknown token file, a token file missing a device, an unreachable server, a missing brain key are clear errors', async () => {
  const grid: Scenario = generateGrid({ rows: 1, cols: 2 });
  const devices = new VirtualCity(grid).devices.map((d) => d.device);
  const some = join(tmp, 'some.json');
  writeFileSync(some, JSON.stringify(Object.fromEntries(devices.slice(1).map((d) => [d, 'cbt_x']))));
  const all = join(tmp, 'all.json');
  writeFileSync(all, JSON.stringify(Object.fromEntries(devices.map((d) => [d, 'cbt_x']))));
  const run = (...args: string[]) => fieldCommand([...args, '--grid', '1x2']);
  const away = await nobodyThere();
  await assert.rejects(run('--server', 'http://127.0.0.1:1', '--tokens', join(tmp, 'nope.json')), /--tokens .*nope\.json: no such file \(make it with citybrain token field --out FILE\)/);
  await assert.rejects(run('--server', 'http://127.0.0.1:1', '--tokens', some), new RegExp(`--tokens .*some\\.json: no token for device "${devices[0]}" of this street`));
  await assert.rejects(run('--server', away, '--tokens', all), new RegExp(`--server ${away}: cannot reach ${away}/api/v1/brain/key: connect ECONNREFUSED`));
  await assert.rejects(run('--tokens', all), /give --server URL \(HTTP\) or --mqtt URL/);
  await assert.rejects(run('--mqtt', MQTT_URL, '--tokens', all), /--brain-key FILE is needed with --mqtt alone/);
  await assert.rejects(run('--server', 'http://127.0.0.1:1', '--tokens', all, '--brain-key', join(tmp, 'nokey.pem')), /--brain-key .*nokey\.pem: no such file/);
  writeFileSync(join(tmp, 'bad.json'), '["cbt_x"]');
  await assert.rejects(run('--server', 'http://127.0.0.1:1', '--tokens', join(tmp, 'bad.json')), /must be a JSON object \{"<device>": "<token>", \.\.\.\}/);
  // the CLI prints it on one line, exit code 2
  const r = spawnSync(process.execPath, [MAIN, 'field', '--server', away, '--tokens', all, '--grid', '1x2'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`^citybrain: --server ${away}: cannot reach ${away}/api/v1/brain/key: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+\n$`));
});

test('the HTTP transport: 429 and 503 are "send the same batch later" with their Retry-After, a network error too; 401 and 409 are refusals for good', async () => {
  const answers: { status: number; headers?: Record<string, string>; body?: unknown }[] = [
    { status: 429, headers: { 'retry-after': '2' }, body: { statusCode: 429, code: 'CB_BACKPRESSURE', error: 'Too Many Requests', message: 'ingestion queue full' } },
    { status: 503, headers: { 'retry-after': '1' }, body: { statusCode: 503, code: 'CB_STORE_UNAVAILABLE', error: 'Service Unavailable', message: 'store down' } },
    { status: 409, body: { statusCode: 409, code: 'CB_ID_CONFLICT', error: 'Conflict', message: 'events[0].id: "x" was stored earlier with other fields' } },
    { status: 401, body: { statusCode: 401, code: 'CB_UNAUTHENTICATED', error: 'Unauthorized', message: 'unknown or revoked token' } },
    { status: 200, body: { accepted: 1, duplicates: 0 } },
  ];
  const seen: { auth?: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization, body });
      const a = answers.shift()!;
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const t = new HttpTransport({ server: url, tokens: { 'det-a': 'cbt_det' }, signals: [] });
  const batch = [{ kind: 'parking', id: 'p1', device: 'det-a', ts: 1, bay: 'b', occupied: true }] as const;
  try {
    await assert.rejects(t.send('det-a', batch), (e: unknown) => e instanceof RetryLater && e.retryAfterMs === 2000 && /^429 CB_BACKPRESSURE: ingestion queue full$/.test(e.message));
    await assert.rejects(t.send('det-a', batch), (e: unknown) => e instanceof RetryLater && e.retryAfterMs === 1000 && /^503 CB_STORE_UNAVAILABLE/.test(e.message));
    await assert.rejects(t.send('det-a', batch), (e: unknown) => e instanceof BatchRefused && /^409 CB_ID_CONFLICT: events\[0\]\.id/.test(e.message));
    await assert.rejects(t.send('det-a', batch), (e: unknown) => e instanceof BatchRefused && /^401 CB_UNAUTHENTICATED/.test(e.message));
    await t.send('det-a', batch);
    assert.ok(seen.every((s) => s.auth === 'Bearer cbt_det'), 'under the device\'s own token');
    assert.ok(seen.every((s) => s.body === JSON.stringify({ events: batch })), 'the same batch each time');
    await assert.rejects(t.send('det-b', batch), (e: unknown) => e instanceof BatchRefused && /no token for device "det-b"/.test(e.message));
  } finally {
    await t.close();
    await new Promise((r) => server.close(r));
  }
  const away = await nobodyThere();
  await assert.rejects(new HttpTransport({ server: away, tokens: { 'det-a': 'x' }, signals: [] }).send('det-a', batch), (e: unknown) => e instanceof RetryLater && e.retryAfterMs === undefined && e.message === `${away} unreachable: connect ECONNREFUSED ${away.slice(7)}`);
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(null), undefined);
  assert.ok(Math.abs(retryAfterMs(new Date(Date.now() + 10_000).toUTCString())! - 10_000) < 1500);
});

test('serve --no-street is in its help, and --breakdowns with it is a clear error', () => {
  const help = spawnSync(process.execPath, [MAIN, 'serve', '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.match(help.stdout, /--no-street {10}the brain alone/);
  const r = spawnSync(process.execPath, [MAIN, 'serve', '--no-street', '--breakdowns', '2', '--port', '0', '--db', `sqlite:${join(tmp, 'x.db')}`], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^citybrain: --breakdowns is for the virtual street; with --no-street give it to the street's process \(citybrain field\)\n$/);
  const field = spawnSync(process.execPath, [MAIN, 'field', '--help'], { encoding: 'utf8', timeout: 30_000 });
  assert.match(field.stdout, /Above 1 the events'\n\s+timestamps run ahead of the server's clock/);
});
