/**
 * Brain workers against a real nats-server (JetStream in a temporary folder,
 * its own free port): the regions split without overlap, a worker joining
 * takes its share, a worker killed with SIGKILL (a child process running
 * `citybrain worker`) has its regions taken over and their plans resumed
 * within 10 s, a region's events reach only its owner's estimate, and plans
 * go out only for owned intersections.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { generateGrid } from '@citybrain/engine';
import type { LaneEvent } from '@citybrain/brain';
import { loadBrainKeyFile } from '@citybrain/server';
import { BrainWorker, encodeEvents, ensureEventsStream, eventsSubject, OWNERS_BUCKET, type BrainWorkerOptions } from '@citybrain/server/cluster';
import { NatsServer, natsServerUnavailable } from './support/nats-server.js';

const MAIN = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));

let dir: string;
let natsUrl: string;
let nats: NatsServer | undefined;
let nc: NatsConnection;
const children: ChildProcess[] = [];
const workers: BrainWorker[] = [];

async function until<T>(what: string, ms: number, f: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const scenario = () => generateGrid({ rows: 4, cols: 4, demand: 0.05 });

function opts(id: string): BrainWorkerOptions {
  return { natsUrl, scenario: scenario(), regions: 4, id, planSigner: loadBrainKeyFile(join(dir, 'brain-key.pem')), controllerHost: null, ttlMs: 3000, periodMs: 1000, replayMs: 60_000 };
}

/** Who owns which region, as the owners' bucket says. */
async function bucketOwners(regions: readonly string[]): Promise<Map<string, string>> {
  // by key, as the workers read it: listing a bucket whose keys expire can block (nats-server#3481)
  const kv = await new Kvm(nc).open(OWNERS_BUCKET);
  const out = new Map<string, string>();
  for (const r of regions) {
    const e = await kv.get(r);
    if (e && e.operation === 'PUT') out.set(r, e.string());
  }
  return out;
}

/** The plans heard on NATS, by subject, with when each was last heard. */
const heard = new Map<string, number>();

const skip = natsServerUnavailable();

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'citybrain-cluster-'));
  nats = await NatsServer.start();
  natsUrl = nats.url;
  nc = await until('nats-server up', 10_000, () => connect({ servers: natsUrl }).catch(() => undefined));
  await ensureEventsStream(await jetstreamManager(nc));
  const sub = nc.subscribe('city.plans.>');
  void (async () => {
    for await (const m of sub) heard.set(m.subject, Date.now());
  })();
});

after(async () => {
  for (const w of workers) await w.close().catch(() => {});
  for (const c of children) c.kill('SIGKILL');
  await nc?.close();
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('two workers split the regions, a third takes its share; one killed -9: the survivors take over within 10 s', { skip, timeout: 90_000 }, async () => {
  const a = await BrainWorker.start(opts('a'));
  workers.push(a);
  const b = await BrainWorker.start(opts('b'));
  workers.push(b);
  const net = a.runtime.sim.net;
  const regionIds = a.regions.map((r) => r.id).sort();

  // two workers: every region owned, none by both, two each
  const split = await until('two workers own all four regions, two each', 15_000, async () => {
    const o = await bucketOwners(regionIds);
    const ok = o.size === 4 && a.ownedRegions().length === 2 && b.ownedRegions().length === 2;
    return ok && o;
  });
  assert.deepEqual([...split.keys()].sort(), regionIds);
  assert.deepEqual([...a.ownedRegions(), ...b.ownedRegions()].sort(), regionIds, 'no region owned twice, none left out');
  for (const r of a.ownedRegions()) assert.equal(split.get(r), 'a');
  for (const r of b.ownedRegions()) assert.equal(split.get(r), 'b');

  // a region's events reach only its owner's estimate
  const laneInto = (region: string): { lane: number; event: LaneEvent } => {
    const i = a.regions.find((r) => r.id === region)!.intersections[0];
    let l = 0;
    while (net.roadEndInter[net.laneRoad[l]] !== i) l++;
    return { lane: l, event: { kind: 'lane', id: `t-${region}`, device: `det-${region}`, ts: Date.now(), intersection: net.interIds[i], lane: net.laneId(l), count: 3, occupancy: 0.2, speed: 8, interval: 5 } };
  };
  const js = jetstream(nc);
  const ra = a.ownedRegions()[0], rb = b.ownedRegions()[0];
  const ea = laneInto(ra), eb = laneInto(rb);
  await js.publish(eventsSubject(ra), encodeEvents([ea.event]));
  await js.publish(eventsSubject(rb), encodeEvents([eb.event]));
  await until('each owner takes its region\'s event', 5_000, () => a.runtime.estimate.reportedAt[ea.lane] === ea.event.ts && b.runtime.estimate.reportedAt[eb.lane] === eb.event.ts);
  assert.equal(b.runtime.estimate.reportedAt[ea.lane], 0, `${ra}'s event reached b, which does not own it`);
  assert.equal(a.runtime.estimate.reportedAt[eb.lane], 0, `${rb}'s event reached a, which does not own it`);

  // plans only for owned intersections: over two seconds of the split, each worker plans every intersection of its
  // regions and none of the other's (a, alone at first, owned all four for a moment: its plans from then are not counted)
  const planned = new Map<string, Set<string>>([['a', new Set()], ['b', new Set()]]);
  const offs = [a, b].map((w) => w.runtime.plans.onPlan((p) => planned.get(w.id)!.add(p.intersection)));
  await new Promise((r) => setTimeout(r, 2000));
  offs.forEach((off) => off());
  for (const w of [a, b]) {
    const mine = new Set(a.regions.filter((r) => w.ownedRegions().includes(r.id)).flatMap((r) => r.intersections.map((i) => net.interIds[i])));
    assert.deepEqual([...planned.get(w.id)!].sort(), [...mine].sort(), `${w.id} plans exactly its own regions' intersections`);
  }
  assert.ok(regionIds.every((r) => [...heard.keys()].some((s) => s.startsWith(`city.plans.${r}.`))), 'plans heard on NATS for every region');
  // the owners' decision time per region is measured and reported in their health
  await until('health with decision time for each owned region', 5_000, () => a.lastHealth && Object.keys(a.lastHealth.decisionMs).length === 2 && b.lastHealth && Object.keys(b.lastHealth.decisionMs).length === 2);
  console.log(`# decision ms per step, per region (4x4 grid, ${a.runtime.supervisor.env.intersections.length} intersections, 2 in-process workers): a ${JSON.stringify(a.lastHealth!.decisionMs)}, b ${JSON.stringify(b.lastHealth!.decisionMs)}`);

  // a third worker, its own process, joins: it gets a region (4 over 3: 2, 1, 1), still no overlap
  const c = spawn(process.execPath, [MAIN, 'worker', '--nats', natsUrl, '--brain-key', join(dir, 'brain-key.pem'), '--regions', '4', '--id', 'c', '--grid', '4x4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let out = '';
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const joined = Date.now();
  const three = await until('the third worker owns its share', 20_000, async () => {
    const o = await bucketOwners(regionIds);
    const byC = [...o.values()].filter((w) => w === 'c').length;
    return o.size === 4 && byC >= 1 && a.ownedRegions().length + b.ownedRegions().length === 4 - byC && o;
  });
  console.log(`# the third worker owned its share ${((Date.now() - joined) / 1000).toFixed(1)} s after it was started (its start included)`);
  const cRegions = [...three].filter(([, w]) => w === 'c').map(([r]) => r);
  assert.deepEqual([...a.ownedRegions(), ...b.ownedRegions(), ...cRegions].sort(), regionIds, 'no overlap after the hand-over');
  // c publishes plans for its own region
  const cSince = Date.now();
  await until('c\'s plans heard', 10_000, () => cRegions.every((r) => [...heard].some(([s, t]) => s.startsWith(`city.plans.${r}.`) && t > cSince)));

  // c killed -9: its keys expire, the survivors claim its regions and plan them again
  c.kill('SIGKILL');
  const killed = Date.now();
  await until('the survivors own every region', 10_000, async () => {
    const o = await bucketOwners(regionIds);
    return o.size === 4 && [...o.values()].every((w) => w === 'a' || w === 'b') && a.ownedRegions().length + b.ownedRegions().length === 4;
  });
  const owned = (Date.now() - killed) / 1000;
  await until('plans for the dead worker\'s intersections again', 10_000 - (Date.now() - killed), () =>
    cRegions.every((r) => a.regions.find((x) => x.id === r)!.intersections.every((i) => (heard.get(`city.plans.${r}.${net.interIds[i]}`) ?? 0) > killed)));
  const resumed = (Date.now() - killed) / 1000;
  console.log(`# worker c (${cRegions.join(', ')}) killed -9: owned again after ${owned.toFixed(1)} s, its intersections planned again after ${resumed.toFixed(1)} s (key TTL 3 s, refresh 1 s; 2 cores shared with nats-server)`);
  assert.ok(resumed < 10, `control resumed after ${resumed} s`);
  assert.deepEqual([...a.ownedRegions(), ...b.ownedRegions()].sort(), regionIds);
  assert.match(out, /owns /, 'the worker process said what it owned');
});
