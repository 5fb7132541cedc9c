import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParkingSite } from '@citybrain/brain';
import { HttpError, openStore, ParkingService, PostgresStore, SandboxPaymentProvider, type EventStore } from '@citybrain/server';
import { intOption } from '../usage.js';
import { table } from '../table.js';
import { round } from '../round.js';
import { runWatchlistBench } from './watchlist.js';

export const servicesHelp = `citybrain bench services [--seconds S] [--clients N] [--bays B] [--postgres URL | --no-postgres] [--no-watchlist] [--json]

City services under load, on SQLite and PostgreSQL.
  reservations: N concurrent clients (apps) booking the same B bays of one
  site for overlapping windows for S seconds, a third of the requests retried
  under the same Idempotency-Key (a lost answer, as on a phone), some
  bookings cancelled (refunds); prints booking requests answered per second,
  then counts from the store what must never happen: overlapping holding
  reservations of one bay (double bookings) and bookings charged twice (the
  store's payments and the sandbox provider's ledger). Exits 1 unless both are 0.
  watchlist: bench watchlist with its defaults (a 6 x 6 virtual city for 3
  simulated hours with unregistered vehicles, cloned plates and unlicensed
  taxis): precision and recall of the alerts per kind, the matcher's reads/s.

  --seconds S    how long each store is loaded (default 30)
  --clients N    concurrent clients (default 200)
  --bays B       bays they compete for (default 4)
  --postgres URL PostgreSQL (default postgres://postgres@127.0.0.1:5432/test); --no-postgres: SQLite only
  --no-watchlist skip the watchlist part
  --json         {"reservations":[{"store":"sqlite","perSecond":n,"doubleBookings":0,"doubleCharges":0},...],
                  "watchlist":{"unregistered":{"precision":n,"recall":n},"cloned":{...},"illegalTaxi":{...},"readsPerSecond":n}}`;

interface ReservationResult {
  store: string;
  perSecond: number;
  doubleBookings: number;
  doubleCharges: number;
  requests: number;
  booked: number;
  taken: number;
  retried: number;
  cancelled: number;
  errors: number;
}

const MIN = 60_000;

/** A deterministic stream per client (xorshift32), so two runs draw the same requests. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

async function runReservations(store: EventStore, o: { seconds: number; clients: number; bays: number }): Promise<ReservationResult> {
  const site: ParkingSite = {
    id: 'bench', name: 'bench', kind: 'offStreet', x: 0, y: 0, lon: null, lat: null, capacity: o.bays,
    tariff: { currency: 'CNY', perHour: 600, freeMinutes: 0, incrementMinutes: 15, dailyCap: 5000 }, openingHours: null,
    bays: Array.from({ length: o.bays }, (_, k) => ({ id: `bench-bay-${k}`, x: 0, y: 0 })),
  };
  const provider = new SandboxPaymentProvider();
  const t0 = Date.now();
  const svc = new ParkingService({ store: store.parking, provider, now: () => Date.now() });
  await svc.start();
  await svc.putSites([site]);
  // windows start on the quarter hour within the next 12 h: every booking overlaps many others
  const base = Math.ceil((t0 + 10 * MIN) / (15 * MIN)) * 15 * MIN;
  const r: ReservationResult = { store: store.backend, perSecond: 0, doubleBookings: 0, doubleCharges: 0, requests: 0, booked: 0, taken: 0, retried: 0, cancelled: 0, errors: 0 };
  const end = t0 + o.seconds * 1000;
  const client = async (c: number) => {
    const rand = rng(c * 7919 + 1);
    const app = `bench-app-${c % 20}`;
    for (let k = 0; Date.now() < end; k++) {
      const from = base + Math.floor(rand() * 48) * 15 * MIN;
      const req = {
        app, payer: `driver-${c}`, site: 'bench', bay: rand() < 0.5 ? site.bays[Math.floor(rand() * o.bays)].id : undefined,
        from, to: from + (1 + Math.floor(rand() * 8)) * 15 * MIN, idempotencyKey: `c${c}-${k}`,
      };
      const retry = rand() < 1 / 3;
      const attempt = () => svc.reserve(req).then((x) => x, (e: unknown) => e);
      // a retry sent while the first is still in flight: the harder case
      const answers = await Promise.all(retry ? [attempt(), attempt()] : [attempt()]);
      r.requests += answers.length;
      if (retry) r.retried++;
      const a = answers[0];
      if (a instanceof HttpError && a.code === 'CB_BAY_TAKEN') r.taken++;
      else if (a instanceof Error) r.errors++;
      else {
        const booked = a as Awaited<ReturnType<ParkingService['reserve']>>;
        r.booked++;
        if (rand() < 0.1) {
          await svc.cancel(app, booked.reservation.id).catch(() => r.errors++);
          r.cancelled++;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  const seconds = (Date.now() - t0) / 1000;
  r.perSecond = round(r.requests / seconds, 1);
  const integrity = await store.parking.integrity();
  r.doubleBookings = integrity.doubleBookings;
  // from the store (a booking with two successful charges) and from the provider (money moved twice under one key)
  r.doubleCharges = integrity.doubleCharges + provider.doubleCharges();
  return r;
}

export async function benchServices(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' }, clients: { type: 'string' }, bays: { type: 'string' },
      postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' }, 'no-postgres': { type: 'boolean', default: false },
      'no-watchlist': { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(servicesHelp);
  const o = { seconds: intOption(values.seconds, '--seconds', 30, 1, 3600), clients: intOption(values.clients, '--clients', 200, 1, 10000), bays: intOption(values.bays, '--bays', 4, 1, 1000) };
  const json = values.json!;
  // the machine the rates were measured on, beside them
  const conditions: { cores: number; node: string; loadAverageBefore: number; loadAverageAfter?: number } = { cores: cpus().length, node: process.version, loadAverageBefore: round(loadavg()[0], 2) };
  const say = (s: string) => void (json || console.error(s));
  const results: ReservationResult[] = [];
  const skipped: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-bench-services-'));
  try {
    say(`reservations on SQLite: ${o.clients} clients, ${o.bays} bays, ${o.seconds} s ...`);
    const sqlite = await openStore(`sqlite:${join(dir, 'bench.db')}`);
    try {
      results.push(await runReservations(sqlite, o));
    } finally {
      await sqlite.close();
    }
    if (values['no-postgres']) skipped.push('postgres: not run (--no-postgres)');
    else {
      const sep = values.postgres!.includes('?') ? '&' : '?';
      let pgStore: EventStore | undefined;
      try {
        pgStore = await openStore(`${values.postgres}${sep}schema=cb_bench_services_${process.pid}_${Date.now()}`);
      } catch (e) {
        skipped.push(`postgres: unreachable (${(e as Error).message})`);
      }
      if (pgStore) {
        say(`reservations on PostgreSQL ...`);
        try {
          results.push(await runReservations(pgStore, o));
        } finally {
          if (pgStore instanceof PostgresStore) await pgStore.dropSchema().catch(() => {});
          await pgStore.close().catch(() => {});
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // the watchlist on its virtual city (bench watchlist's defaults: 6 x 6, 3 simulated hours); --no-watchlist skips it
  const watchlist = values['no-watchlist'] ? undefined : await runWatchlistBench({ print: !json });
  conditions.loadAverageAfter = round(loadavg()[0], 2);
  if (json) {
    console.log(JSON.stringify({ conditions, reservations: results.map((r) => ({ store: r.store, perSecond: r.perSecond, doubleBookings: r.doubleBookings, doubleCharges: r.doubleCharges })), ...(watchlist ? { watchlist } : {}) }));
  } else {
    console.log(`\nReservations: ${o.clients} concurrent clients, ${o.bays} bays, ${o.seconds} s per store, a third of the requests retried under the same key; ${conditions.cores} cores, node ${conditions.node}, load average ${conditions.loadAverageBefore} before, ${conditions.loadAverageAfter} after\n`);
    console.log(table(
      ['store', 'requests/s', 'requests', 'booked', 'bay taken', 'retried', 'cancelled', 'errors', 'double bookings', 'double charges'],
      results.map((r) => [r.store, r.perSecond, r.requests, r.booked, r.taken, r.retried, r.cancelled, r.errors, r.doubleBookings, r.doubleCharges]),
    ));
    for (const s of skipped) console.log(`\n${s}`);
  }
  if (results.some((r) => r.doubleBookings > 0 || r.doubleCharges > 0)) process.exitCode = 1;
}
