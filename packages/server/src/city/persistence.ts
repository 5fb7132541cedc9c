import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { FastifyBaseLogger } from 'fastify';
import type { Scenario } from '@citybrain/engine';
import type { EventStore } from '../store/store.js';
import type { CityRuntime, CityRuntimeState } from './runtime.js';

/** Operator state rows in the store: what audited actions set, restored on start (see restoreOperatorState). */
export const STATE_KEYS = {
  /** the controller an operator put in charge of an intersection (by intersection id) */
  controller: (intersection: string) => `controller:${intersection}`,
  /** { speed, running } as an operator set them */
  simulation: 'simulation',
  /** an incident's acknowledgement { by, ts }; keyed by id and detection time, as ids start over with a new city */
  acknowledgement: (inc: { id: string; detectedTs: number }) => `incident-ack:${inc.id}@${inc.detectedTs}`,
} as const;

/** The snapshot's name in the store (one virtual city per store). */
export const CITY_SNAPSHOT = 'virtual-city';
/** Bumped when CityRuntimeState changes shape: an older snapshot is then ignored like another scenario's. */
const FORMAT = 4;

type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

/**
 * What makes a snapshot valid for a city: the scenario (roadnet and flows)
 * and the options that shape the state (step, detector period, parking bays).
 */
export function scenarioFingerprint(scenario: Scenario, shape: Record<string, unknown> = {}): string {
  return createHash('sha256').update(`citybrain-city-state/${FORMAT}\n`).update(JSON.stringify(scenario.roadnet)).update('\n')
    .update(JSON.stringify(scenario.flows)).update('\n').update(JSON.stringify(shape)).digest('hex').slice(0, 32);
}

/** The whole city's state (twin, KPIs, incidents, estimate, pending events), compressed, for the store. */
export async function encodeCityState(rt: CityRuntime): Promise<Uint8Array> {
  return promisify(gzip)(serialize(rt.exportState()), { level: 1 });
}

export async function decodeCityState(data: Uint8Array): Promise<CityRuntimeState> {
  return deserialize(await promisify(gunzip)(data)) as CityRuntimeState;
}

/**
 * Keeps the virtual city's state in the store: `save` writes a snapshot
 * (periodically, and on shutdown), `restore` continues from the last one when
 * it was taken of the same scenario, and says why not otherwise.
 */
export class CityPersistence {
  private timer?: ReturnType<typeof setInterval>;
  private saving?: Promise<void>;

  constructor(private readonly store: EventStore, private readonly rt: CityRuntime, readonly fingerprint: string, private readonly log: Log) {}

  /** Continues from the stored snapshot; returns whether it did. Call before the loop starts. */
  async restore(): Promise<boolean> {
    const snap = await this.store.getSnapshot(CITY_SNAPSHOT);
    if (!snap) return false;
    if (snap.fingerprint !== this.fingerprint) {
      this.log.warn({ snapshotAt: new Date(snap.at).toISOString(), fingerprint: snap.fingerprint, now: this.fingerprint },
        'the stored virtual city is of another scenario (or an older format): ignored, the city starts afresh (it is replaced at the next snapshot)');
      return false;
    }
    let state: CityRuntimeState;
    try {
      state = await decodeCityState(snap.data);
    } catch (e) {
      this.log.warn({ err: e, snapshotAt: new Date(snap.at).toISOString() }, 'the stored virtual city cannot be read: ignored, the city starts afresh');
      return false;
    }
    this.rt.importState(state);
    this.log.info({
      snapshotAt: new Date(snap.at).toISOString(), simTime: this.rt.sim.time, vehicles: this.rt.sim.runningCount,
      kpiSamples: this.rt.kpis.length, incidents: this.rt.incidents.incidents.length, pendingEvents: state.pending.length,
    }, 'virtual city restored from the store');
    return true;
  }

  /** Writes a snapshot now (one at a time: a call during a save waits for it and saves again). */
  async save(): Promise<void> {
    while (this.saving) await this.saving.catch(() => {});
    this.saving = (async () => {
      const at = Date.now();
      await this.store.putSnapshot({ name: CITY_SNAPSHOT, fingerprint: this.fingerprint, at, data: await encodeCityState(this.rt) });
    })().finally(() => (this.saving = undefined));
    return this.saving;
  }

  /** Saves every intervalMs; a failed save is logged and retried at the next one. */
  start(intervalMs: number): void {
    if (!(Number.isFinite(intervalMs) && intervalMs > 0)) throw new RangeError(`snapshot interval must be a positive number of ms, got ${intervalMs}`);
    this.timer = setInterval(() => void this.save().catch((e: unknown) => this.log.error({ err: e }, 'virtual city snapshot failed')), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/**
 * Re-applies what operators set (audited, stored with their audit entries):
 * controller assignments, speed and pause, incident acknowledgements. Returns
 * the stored { speed, running } when there is one. A row naming an
 * intersection or controller this server does not have is skipped with a log line.
 */
export async function restoreOperatorState(store: EventStore, rt: CityRuntime, log: Log): Promise<{ speed?: number; running?: boolean }> {
  const rows = await store.readState();
  const net = rt.sim.net;
  const byController = new Map<string, number[]>();
  const skipped: string[] = [];
  for (const [key, value] of rows) {
    if (!key.startsWith('controller:')) continue;
    const i = net.interIndex.get(key.slice('controller:'.length));
    if (i === undefined || !net.signalised.includes(i) || typeof value !== 'string' || !Object.hasOwn(rt.factories, value)) {
      skipped.push(`${key}=${JSON.stringify(value)}`);
      continue;
    }
    (byController.get(value) ?? byController.set(value, []).get(value)!).push(i);
  }
  for (const [name, ixs] of byController) rt.assignment.assign(ixs, name);
  if (skipped.length) log.warn({ skipped }, 'stored controller assignments for intersections or controllers this server does not have: skipped');
  let acks = 0;
  for (const inc of rt.incidents.incidents) {
    const ack = rows.get(STATE_KEYS.acknowledgement(inc)) as { by: string; ts: number } | undefined;
    if (ack && inc.acknowledged === null) {
      rt.incidents.acknowledge(inc.id, ack.by, ack.ts);
      acks++;
    }
  }
  const sim = rows.get(STATE_KEYS.simulation) as { speed?: number; running?: boolean } | undefined;
  if (sim?.speed !== undefined) rt.speed = sim.speed;
  if (byController.size || acks || sim) {
    log.info({ controllers: Object.fromEntries([...byController].map(([n, ixs]) => [n, ixs.length])), acknowledgements: acks, simulation: sim }, 'operator settings restored from the store');
  }
  return sim ?? {};
}
