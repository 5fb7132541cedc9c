import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import pg from 'pg';
import type { Scenario, Simulation } from '@citybrain/engine';
import { type LaneEvent, type Event } from '@citybrain/brain';
import { openStore, PostgresStore, startServer, StoreError, type EventStore, type RunningServer, type ServerOptions } from '@citybrain/server';

export const PG_URL = process.env.CITYBRAIN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MQTT_URL = process.env.CITYBRAIN_TEST_MQTT ?? 'mqtt://127.0.0.1:1883';

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function pgUnavailable(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL unreachable at ${PG_URL} (${(e as Error).message}): PostgreSQL store tests skipped`;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Why the MQTT broker cannot be used, or undefined when it can. */
export async function mqttUnavailable(): Promise<string | undefined> {
  const u = new URL(MQTT_URL);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 1883) });
    s.setTimeout(2000);
    s.once('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    const fail = (why: string) => {
      s.destroy();
      resolve(`MQTT broker unreachable at ${MQTT_URL} (${why}): MQTT tests skipped`);
    };
    s.once('error', (e) => fail(e.message));
    s.once('timeout', () => fail('timeout'));
  });
}

export const uid = () => `${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

export interface TestStore {
  store: EventStore;
  url: string;
  /** closes the store and removes its data (temp dir or schema) */
  cleanup(): Promise<void>;
}

export async function openTestStore(backend: 'sqlite' | 'postgres'): Promise<TestStore> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'citybrain-test-'));
    const url = `sqlite:${join(dir, 'test.db')}`;
    const t: TestStore = {
      store: await openStore(url), url,
      cleanup: async () => {
        await t.store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return t;
  }
  const url = `${PG_URL}?schema=cb_test_${uid()}`;
  const t: TestStore = {
    store: await openStore(url), url,
    cleanup: async () => {
      if (t.store instanceof PostgresStore) await t.store.dropSchema();
      await t.store.close();
    },
  };
  return t;
}

/** A whole minute an hour before the tests started: recent, as ingestion accepts only times near its clock. */
export const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;

export function lane(id: string, o: Partial<LaneEvent> = {}): LaneEvent {
  return {
    id, device: 'cam-1', ts: T0, kind: 'lane', intersection: 'i1', lane: 'i1_N_0',
    count: 4, occupancy: 0.25, speed: 9.5, interval: 60, ...o,
  };
}

export function events(n: number, prefix: string, o: Partial<LaneEvent> = {}): Event[] {
  return Array.from({ length: n }, (_, i) => lane(`${prefix}-${i}`, o));
}

export async function until(cond: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A store whose appends wait until opened: lets a test hold the ingestion queue full. */
export function gated(s: EventStore): { store: EventStore; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const store = wrapStore(s, {
    append: async (e) => {
      await opened;
      return s.append(e);
    },
  });
  return { store, open };
}

/** `s` with some of its methods replaced (every other one, present and future, passes through). */
export function wrapStore(s: EventStore, overrides: Partial<EventStore>): EventStore {
  return new Proxy(s, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof EventStore];
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * A store that can be switched to fail every write and ping (a disk that is
 * full, a database that is down) while reads still answer.
 */
export function failing(s: EventStore): { store: EventStore; fail(on: boolean): void } {
  let down = false;
  const check = () => {
    if (down) throw new StoreError('test: the store is down');
  };
  const store = wrapStore(s, {
    append: async (e) => (check(), s.append(e)),
    appendAudit: async (e) => (check(), s.appendAudit(e)),
    recordAction: async (e, c) => (check(), s.recordAction(e, c)),
    putToken: async (t) => (check(), s.putToken(t)),
    revokeToken: async (id, at) => (check(), s.revokeToken(id, at)),
    putSnapshot: async (x) => (check(), s.putSnapshot(x)),
    purgeOlderThan: async (c) => (check(), s.purgeOlderThan(c)),
    replaceEvents: async (r, a, st) => (check(), s.replaceEvents(r, a, st)),
    putComparison: async (c) => (check(), s.putComparison(c)),
    deleteComparison: async (id) => (check(), s.deleteComparison(id)),
    ping: async (ms) => (check(), s.ping(ms)),
  });
  return { store, fail: (on) => void (down = on) };
}

/**
 * A running vehicle in the middle third of an approach of a signalised
 * intersection: room to stop before the junction, and a queue behind it
 * takes a while to reach the junction before.
 */
export function vehicleOnApproach(sim: Simulation): number {
  const approach = new Set([...sim.net.signalised].flatMap((i) => sim.net.incomingLanes(i)));
  for (const v of sim.runningVehicles()) {
    const d = sim.vehicleDrivable(v);
    const at = sim.vehicleDistance(v) / sim.net.length[d];
    if (approach.has(d) && at > 1 / 3 && at < 2 / 3) return v;
  }
  throw new Error('no vehicle in the middle of an approach');
}

export interface Answer {
  status: number;
  text: string;
  body: unknown;
  link: string | null;
}

/** The next page's path from a `Link: <…>; rel="next"` header, or undefined on the last page. */
export function nextOf(link: string | null): string | undefined {
  return link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
}

/** An answer's body as JSON, or undefined when it is not JSON (an error page, a CSV). */
function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * GETs against a running server whose URL `url()` gives at call time (the
 * tests start it in before()): `get` one path, or `allPages` of a listing,
 * following its next links.
 */
export function pageReader(url: () => string) {
  async function get(path: string, token?: string): Promise<Answer> {
    const r = await fetch(url() + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await r.text();
    return { status: r.status, text, body: jsonOrUndefined(text), link: r.headers.get('link') };
  }

  async function allPages(first: string, token: string): Promise<{ pages: unknown[][]; bytes: number[] }> {
    const pages: unknown[][] = [];
    const bytes: number[] = [];
    for (let path: string | undefined = first; path !== undefined;) {
      const a = await get(path, token);
      assert.equal(a.status, 200, `${path} → ${a.status} ${a.text.slice(0, 200)}`);
      pages.push(a.body as unknown[]);
      bytes.push(Buffer.byteLength(a.text));
      path = nextOf(a.link);
      assert.ok(pages.length < 1000, 'paging ends');
    }
    return { pages, bytes };
  }

  return { get, allPages };
}

export interface TestServer {
  server: RunningServer;
  /** closes the server and removes its data */
  cleanup(): Promise<void>;
}

/**
 * A server for API tests on a temp SQLite store: the virtual city paused (the
 * test moves its clock), no log, no dashboard, no rate limit; `opts` adds to
 * or overrides that.
 */
export async function startTestServer(name: string, scenario: Scenario, opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), `citybrain-${name}-`));
  try {
    const server = await startServer({
      scenario, storeUrl: `sqlite:${join(dir, 'city.db')}`,
      port: 0, run: false, logger: false, printToken: () => {}, webRoot: false, auth: { rateLimit: false }, ...opts,
    });
    return {
      server,
      async cleanup() {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A caller of the server at `url()` as the token named `who` in `tok` (both read at each call, so a test may set
 * them in before()): a JSON body, or a raw one (a CSV, Parquet bytes) with its content type; the answer's
 * status, its JSON (undefined when it is none), text and headers.
 */
export function tokenCaller(url: () => string, tok: Record<string, string>) {
  return async (who: string, method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; json: any; text: string; headers: Headers }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${tok[who]}` };
    let payload: string | Uint8Array | undefined;
    if (body !== undefined) {
      headers['content-type'] = type;
      payload = typeof body === 'string' || body instanceof Uint8Array ? (body as string | Uint8Array) : JSON.stringify(body);
    }
    const r = await fetch(url() + path, { method, headers, body: payload });
    const text = await r.text();
    return { status: r.status, json: jsonOrUndefined(text), text, headers: r.headers };
  };
}

/**
 * The hub tests' city: the operator's token, three departments (transport, police, weather) with an analyst
 * each, a viewer and an app, all into `tok` by name.
 */
export async function hubActors(server: RunningServer, tok: Record<string, string>, call: ReturnType<typeof tokenCaller>): Promise<void> {
  tok.operator = server.createdTokens[0].token;
  for (const [id, name] of [['transport', 'Transport Bureau'], ['police', 'Traffic Police'], ['weather', 'Weather Service']]) {
    assert.equal((await call('operator', 'POST', '/api/v1/hub/departments', { id, name })).status, 201);
  }
  for (const d of ['transport', 'police', 'weather']) {
    const r = await call('operator', 'POST', '/api/v1/tokens', { name: `${d} analyst`, role: 'analyst', organisation: d });
    assert.equal(r.status, 201, r.text);
    tok[d] = r.json.token;
  }
  tok.viewer = (await server.auth.createToken({ name: 'viewer', role: 'viewer' })).token;
  tok.app = (await server.auth.createToken({ name: 'app', role: 'app' })).token;
}
