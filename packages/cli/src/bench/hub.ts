/**
 * `citybrain bench hub`: the city data hub with a month of device events.
 *
 * The events: an hour of the virtual city (a 4 x 4 grid, its video detectors
 * reporting every lane every 60 s) is the base; it is replicated over 30
 * days, 24 hours a day (its counts, occupancy, vehicles and queue scaled by a
 * diurnal profile and a deterministic per-report jitter of +-20%, so that
 * copies are not identical and compress as real reports would, its times
 * shifted) and over as many copies of the grid
 * ("blocks": their intersections, lanes and devices renamed) as the rows
 * asked for need. Each day is a Parquet file (ordered by time, as a day's
 * events leave the store), loaded into the hub's `device_events_lane` dataset
 * through `Hub.load` as a daily partition (the upload saved, checked against
 * the schema and converted into the hub's Parquet, committed with its audit
 * entry): the load rate is rows over the time of those loads.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEVICE_EVENT_DATASETS, deviceEventsDataset, LANE_HOURLY_DATASET, LANE_HOURLY_SQL, OPERATIONS_DEPARTMENT, type LaneEvent } from '@citybrain/brain';
import { generateGrid } from '@citybrain/engine';
import { VirtualCity } from '@citybrain/field';
import { connectUtc, DEVICE_EVENTS_WRITER, Hub, openDuck, openStore, type HubActor } from '@citybrain/server';
import { round } from '../round.js';
import { table } from '../table.js';
import { intOption } from '../usage.js';

export const benchHubHelp = `citybrain bench hub [--rows N] [--json] [--dir DIR]

Loads a month of lane-detector events (100 million rows by default) into the
city data hub and times typical queries. The events: an hour of the virtual
city (4 x 4 grid, video detectors, every lane every 60 s) replicated over 30
days with a diurnal profile (and +-20% jitter per report) and over as many copies of the grid as the rows
need; each day a Parquet file loaded as a daily partition (Hub.load: saved,
checked against the schema, converted into the hub's zstd Parquet, committed
and audited).

  load               rows/s over the 30 loads (target >= 1,000,000)
  storage            bytes of the hub's Parquet per million rows
  monthly-hourly-flow  vehicles per intersection per hour over the month (target < 1 s),
                     from the hourly rollup the hub writes with each day's partition
  top-congested-lane-hours  the 100 lane-hours of highest mean occupancy (rollup)
  monthly-hourly-flow-computed  the same computed in full, returned as one row
                     (what the engine takes without turning the rows into JSON)
  citywide-hourly-flow  the whole city's vehicles per hour over the month
  ...-raw            the per-intersection and lane-hour queries over the raw reports
  roadworks-join     the flow at each roadworks' intersection while it lasted
                     (a roadworks dataset, loaded as CSV, joined with the events)
  unauthorised       a query by a token without access, refused before any
                     data is read (403, audited as hub.query-refused)
  load paths         a million rows loaded as CSV (the fast path) and as JSON Lines
                     (checked in JavaScript)

  --rows N    rows of events (default 100000000; rounded to whole block-hours)
  --dir DIR   where the temporary files go (default the system's temp folder);
              needs about 25 bytes a row, removed at the end
  --json      {"rows","loadRowsPerSecond","bytesPerMillionRows","queries":[{"name","seconds"}],"unauthorisedRefused"}
              on stdout; the conditions on stderr`;

const DAYS = 30;
// a weekday's traffic by hour (share of the base hour's): night, morning peak, midday, evening peak
const PROFILE = [0.25, 0.15, 0.1, 0.1, 0.15, 0.35, 0.7, 1.15, 1.25, 0.95, 0.85, 0.85, 0.9, 0.85, 0.85, 0.95, 1.1, 1.3, 1.2, 0.9, 0.7, 0.55, 0.45, 0.35];
const MONTH_START = Date.UTC(2026, 0, 1);

export interface BenchHubResult {
  rows: number;
  loadRowsPerSecond: number;
  bytesPerMillionRows: number;
  queries: { name: string; seconds: number }[];
  unauthorisedRefused: boolean;
}

export async function benchHub(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { rows: { type: 'string' }, dir: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void console.log(benchHubHelp);
  const want = intOption(values.rows, 'rows', 100_000_000, 10_000, 2_000_000_000);
  const json = values.json!;
  const say = (s: string) => void console.error(s);
  const work = mkdtempSync(join(values.dir ?? tmpdir(), 'citybrain-bench-hub-'));
  const conditions: Record<string, unknown> = { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadAverageAtStart: loadavg().map((x) => round(x, 2)) };
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  let hub: Hub | undefined;
  const duck = await openDuck();
  const conn = await connectUtc(duck);
  try {
    conditions.duckdb = String((await conn.runAndReadAll('SELECT version()')).getRowsJson()[0][0]);
    say(`conditions: ${JSON.stringify(conditions)}`);

    // ---- the base: an hour of the virtual city's lane reports
    let t = performance.now();
    const base = simulateBaseHour();
    const lanes = new Set(base.map((e) => e.lane)).size;
    const intersections = new Set(base.map((e) => e.intersection)).size;
    await conn.run('CREATE TABLE base (sec INTEGER, device VARCHAR, intersection VARCHAR, lane VARCHAR, count INTEGER, occupancy DOUBLE, speed DOUBLE, vehicles INTEGER, queue INTEGER)');
    const app = await conn.createAppender('base');
    for (const e of base) {
      app.appendInteger(Math.round((e.ts - MONTH_START) / 1000) % 3600);
      app.appendVarchar(e.device);
      app.appendVarchar(e.intersection);
      app.appendVarchar(e.lane);
      app.appendInteger(e.count);
      app.appendDouble(e.occupancy);
      app.appendDouble(e.speed);
      if (e.vehicles === undefined) app.appendNull(); else app.appendInteger(e.vehicles);
      if (e.queue === undefined) app.appendNull(); else app.appendInteger(e.queue);
      app.endRow();
    }
    app.closeSync();
    const units = Math.max(1, Math.round(want / base.length));
    const blocks = Math.ceil(units / (DAYS * 24));
    const rows = units * base.length;
    say(`base: an hour of a 4 x 4 grid, ${base.length} lane reports (${intersections} intersections, ${lanes} lanes, every 60 s), simulated in ${round((performance.now() - t) / 1000, 1)} s; ` +
      `replicated to ${rows} rows: ${blocks} blocks (${blocks * intersections} intersections, ${blocks * lanes} lanes) x ${Math.min(units, DAYS * 24)} hours (the last block's hours as many as the rows need)`);

    // ---- a Parquet file per day
    t = performance.now();
    const dayFiles: { file: string; rows: number }[] = [];
    const profile = `[${PROFILE.join(', ')}]`;
    for (let d = 0; d < DAYS; d++) {
      if (d * 24 >= units) break;
      const file = join(work, `day-${String(d + 1).padStart(2, '0')}.parquet`);
      const f = `${profile}[h + 1]`;
      const j = `(0.8 + 0.4 * (hash(k, ${d}, h, b.lane, b.sec) % 10000) / 10000.0)`;
      const n = Number((await conn.runAndReadAll(`COPY (
        SELECT CAST(make_timestamp(CAST(${MONTH_START * 1000} + ((${d * 24} + h) * 3600 + b.sec) * 1000000 AS BIGINT)) AS TIMESTAMPTZ) AS ts,
          'b' || k || '-' || b.device AS device, 'b' || k || '-' || b.intersection AS intersection, 'b' || k || '-' || b.lane AS lane,
          CAST(round(b.count * ${f} * ${j}) AS BIGINT) AS count, least(1.0, round(b.occupancy * ${f} * ${j}, 3)) AS occupancy,
          round(b.speed * (1.1 - 0.2 * ${j}), 2) AS speed, 60 AS interval,
          CAST(round(b.vehicles * ${f} * ${j}) AS BIGINT) AS vehicles, CAST(round(b.queue * ${f} * ${j}) AS BIGINT) AS queue
        FROM base b, range(24) hr(h), range(${blocks}) bl(k)
        WHERE k * ${DAYS * 24} + ${d * 24} + h < ${units}
        ORDER BY ts, intersection, lane
      ) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`)).getRowsJson()[0][0]);
      dayFiles.push({ file, rows: n });
    }
    say(`generated ${dayFiles.length} daily Parquet files in ${round((performance.now() - t) / 1000, 1)} s`);

    // ---- the hub: its store and folder in the temp dir; the device events' dataset as the server registers it
    store = await openStore(`sqlite:${join(work, 'hub.db')}`);
    hub = await Hub.open({ store, dir: join(work, 'hub'), retentionSweepMs: false, limits: { maxRows: 1_000_000, queryMs: 600_000 } });
    const sys: HubActor = { actor: 'citybrain server', role: 'operator', auditRole: 'system' };
    await hub.registerDepartment(sys, { ...OPERATIONS_DEPARTMENT });
    await hub.registerDataset(sys, DEVICE_EVENT_DATASETS.lane);
    const id = deviceEventsDataset('lane');
    await hub.registerDerived(sys, LANE_HOURLY_DATASET, { inputs: [id], sql: LANE_HOURLY_SQL });
    const loadStart = loadavg()[0];
    let loadSeconds = 0;
    let rollupSeconds = 0;
    for (const { file, rows: n } of dayFiles) {
      const t0 = performance.now();
      const batch = await hub.load(DEVICE_EVENTS_WRITER, id, 'parquet', createReadStream(file, { highWaterMark: 1 << 20 }));
      const t1 = performance.now();
      loadSeconds += (t1 - t0) / 1000;
      if (batch.rows !== n) throw new Error(`loaded ${batch.rows} rows of ${file}, which has ${n}`);
      // the day's hourly rollup, as the server writes it with each published day
      await hub.deriveBatch(DEVICE_EVENTS_WRITER, LANE_HOURLY_DATASET.id, id, batch, LANE_HOURLY_SQL, `device-events:day-${dayFiles.findIndex((x) => x.file === file) + 1}`);
      rollupSeconds += (performance.now() - t1) / 1000;
      rmSync(file);
    }
    conditions.loadAverageDuringLoads = round((loadStart + loadavg()[0]) / 2, 2);
    const dataset = hub.datasets.get(id)!;
    const bytes = dataset.batches.reduce((s, b) => s + b.bytes, 0);
    const loadRowsPerSecond = Math.round(rows / loadSeconds);
    const hourly = hub.datasets.get(LANE_HOURLY_DATASET.id)!;
    const hourlyRows = hourly.batches.reduce((s, b) => s + b.rows, 0);
    const withRollup = Math.round(rows / (loadSeconds + rollupSeconds));
    say(`loaded ${rows} rows in ${dataset.batches.length} daily batches in ${round(loadSeconds, 1)} s: ${loadRowsPerSecond} rows/s; ${bytes} bytes; hourly rollups (${hourlyRows} rows) ${round(rollupSeconds, 1)} s more: ${withRollup} rows/s with them`);

    // ---- a roadworks dataset (transport's, public), loaded as CSV
    await hub.registerDepartment(sys, { id: 'transport', name: 'Transport Bureau' });
    await hub.registerDataset(sys, {
      id: 'roadworks', owner: 'transport', description: 'Planned roadworks', updateFrequency: 'daily', licence: 'CC-BY-4.0', classification: 'public', retentionDays: null,
      columns: [{ name: 'works', type: 'string', nullable: false }, { name: 'intersection', type: 'string', nullable: false }, { name: 'starts', type: 'timestamp', nullable: false }, { name: 'ends', type: 'timestamp', nullable: false }, { name: 'lanes_closed', type: 'integer' }],
    });
    const inters = [...new Set(base.map((e) => e.intersection))].sort();
    const works = ['works,intersection,starts,ends,lanes_closed'];
    const spanDays = Math.max(1, Math.min(DAYS, Math.ceil(units / 24)));
    for (let k = 0; k < blocks; k++) {
      for (let j = 0; j < 3; j++) {
        const day = (k * 7 + j * 11) % spanDays;
        const starts = new Date(MONTH_START + day * 86_400_000 + (9 + j) * 3_600_000).toISOString();
        const ends = new Date(MONTH_START + day * 86_400_000 + (9 + j) * 3_600_000 + (2 + j) * 86_400_000).toISOString();
        works.push(`rw-${k}-${j},b${k}-${inters[(k * 5 + j * 3) % inters.length]},${starts},${ends},${1 + (j % 2)}`);
      }
    }
    await hub.load(sys, 'roadworks', 'csv', (async function* () { yield Buffer.from(works.join('\n') + '\n'); })());

    // ---- queries, as a transport analyst (the events are internal: every department reads them)
    const analyst: HubActor = { actor: 'bench analyst', role: 'analyst', department: 'transport' };
    // a month of citywide hourly figures from the hourly rollup (what it is for), and the same from the raw reports
    const H = LANE_HOURLY_DATASET.id;
    const QUERIES: { name: string; sql: string }[] = [
      { name: 'monthly-hourly-flow', sql: `SELECT intersection, hour, sum(vehicles) AS vehicles FROM ${H} GROUP BY ALL` },
      // the same month's aggregates computed in full but returned as one row: the query without turning 140,000 result rows into JSON
      { name: 'monthly-hourly-flow-computed', sql: `SELECT count(*) AS groups, sum(vehicles) AS vehicles FROM (SELECT intersection, hour, sum(vehicles) AS vehicles FROM ${H} GROUP BY ALL)` },
      { name: 'citywide-hourly-flow', sql: `SELECT hour, sum(vehicles) AS vehicles FROM ${H} GROUP BY hour ORDER BY hour` },
      { name: 'top-congested-lane-hours', sql: `SELECT lane, hour, occupancy, vehicles FROM ${H} ORDER BY occupancy DESC, lane, hour LIMIT 100` },
      {
        name: 'roadworks-join',
        sql: `SELECT r.works, r.intersection, r.lanes_closed, count(*) AS reports, sum(e.count) AS vehicles, avg(e.occupancy) AS occupancy
          FROM roadworks r JOIN ${id} e ON e.intersection = r.intersection AND e.ts >= r.starts AND e.ts < r.ends GROUP BY ALL ORDER BY r.works`,
      },
      { name: 'monthly-hourly-flow-raw', sql: `SELECT intersection, date_trunc('hour', ts) AS hour, sum(count) AS vehicles FROM ${id} GROUP BY ALL` },
      { name: 'top-congested-lane-hours-raw', sql: `SELECT lane, date_trunc('hour', ts) AS hour, avg(occupancy) AS occupancy, sum(count) AS vehicles FROM ${id} GROUP BY ALL ORDER BY occupancy DESC, lane, hour LIMIT 100` },
    ];
    const queries: BenchHubResult['queries'] = [];
    const detail: unknown[][] = [];
    for (const q of QUERIES) {
      const t0 = performance.now();
      const r = await hub.query(analyst, q.sql, 'json');
      const seconds = round((performance.now() - t0) / 1000, 3);
      queries.push({ name: q.name, seconds });
      detail.push([q.name, seconds, r.rowCount, r.truncated ? 'yes' : 'no', round(loadavg()[0], 2)]);
    }

    // ---- a token without access (no department: internal data is not its) is refused before any view or file exists
    const viewer: HubActor = { actor: 'bench viewer', role: 'viewer' };
    const t0 = performance.now();
    let refused = false;
    try {
      await hub.query(viewer, `SELECT count(*) FROM ${id}`, 'json');
    } catch (e) {
      refused = (e as { code?: string }).code === 'CB_FORBIDDEN';
    }
    const refusedMs = round(performance.now() - t0, 1);
    const audit = await store.queryAudit({ actor: viewer.actor, order: 'desc', limit: 10 });
    const unauthorisedRefused = refused && audit.some((a) => a.action === 'hub.query-refused') && !audit.some((a) => a.action === 'hub.read');

    // ---- the load paths beside the Parquet one: a million rows as CSV and as JSON Lines
    const paths = await loadPaths(hub, conn, work, id);

    const result: BenchHubResult = { rows, loadRowsPerSecond, bytesPerMillionRows: Math.round(bytes / (rows / 1e6)), queries, unauthorisedRefused };
    conditions.loadAverageAtEnd = loadavg().map((x) => round(x, 2));
    if (json) {
      say(`conditions: ${JSON.stringify(conditions)}; load paths: ${JSON.stringify(paths)}`);
      return void console.log(JSON.stringify(result));
    }
    console.log(`\nHub benchmark: ${rows.toLocaleString('en')} lane-detector rows, ${blocks * intersections} intersections, ${spanDays} days, ${dataset.batches.length} daily Parquet loads`);
    console.log(`conditions: ${conditions.cores} cores (${conditions.cpu}), Node ${conditions.node}, DuckDB ${conditions.duckdb}, load average at start ${(conditions.loadAverageAtStart as number[]).join(' ')}, during loads ~${conditions.loadAverageDuringLoads}, at end ${(conditions.loadAverageAtEnd as number[]).join(' ')}\n`);
    console.log(table(['figure', 'value', 'target'], [
      ['load (Parquet, daily partitions)', `${loadRowsPerSecond.toLocaleString('en')} rows/s`, '>= 1,000,000 rows/s'],
      ['load with the hourly rollups', `${withRollup.toLocaleString('en')} rows/s (${hourlyRows.toLocaleString('en')} rollup rows)`, ''],
      ['storage', `${result.bytesPerMillionRows.toLocaleString('en')} bytes per million rows`, ''],
      ['unauthorised query refused', `${unauthorisedRefused} (${refusedMs} ms, no data read)`, 'true'],
    ]));
    console.log('');
    console.log(table(['query', 'seconds', 'rows', 'truncated', 'load avg'], detail));
    console.log('');
    console.log(table(['load path (1,000,000 rows)', 'rows/s', 'bytes'], paths.map((p) => [p.format, p.rowsPerSecond.toLocaleString('en'), p.bytes])));
  } finally {
    await hub?.close();
    await store?.close();
    conn.closeSync();
    duck.closeSync();
    rmSync(work, { recursive: true, force: true });
  }
}

/** An hour of the virtual city's lane reports: a 4 x 4 grid, its detectors reporting every 60 s (the first 10 minutes run in, not kept). */
function simulateBaseHour(): LaneEvent[] {
  const city = new VirtualCity(generateGrid({ rows: 4, cols: 4, demand: 0.12 }), { seed: 7, epochMs: MONTH_START - 600_000, sensing: { objects: false, period: 60 } });
  const out: LaneEvent[] = [];
  for (let s = 0; s < 4200; s++) {
    for (const e of city.step()) if (e.kind === 'lane' && e.ts >= MONTH_START && e.ts < MONTH_START + 3_600_000) out.push(e);
  }
  return out;
}

/** A million rows of the loaded events written as CSV and as JSON Lines, each loaded into a dataset of the same schema: rows/s through the fast path. */
async function loadPaths(hub: Hub, conn: Awaited<ReturnType<typeof connectUtc>>, work: string, from: string): Promise<{ format: string; rowsPerSecond: number; bytes: number }[]> {
  const out: { format: string; rowsPerSecond: number; bytes: number }[] = [];
  const src = hub.datasets.get(from)!.batches.map((b) => `'${join(work, 'hub', from, b.file)}'`).join(', ');
  const sys: HubActor = { actor: 'citybrain server', role: 'operator', auditRole: 'system' };
  for (const format of ['csv', 'jsonl'] as const) {
    const file = join(work, `paths.${format}`);
    const ts = format === 'csv' ? "strftime(ts, '%Y-%m-%dT%H:%M:%SZ')" : 'epoch_ms(ts)';
    await conn.run(`COPY (SELECT ${ts} AS ts, * EXCLUDE (ts) FROM read_parquet([${src}]) LIMIT 1000000) TO '${file}' ${format === 'csv' ? '(FORMAT csv, HEADER)' : '(FORMAT json)'}`);
    const id = `paths_${format}`;
    await hub.registerDataset(sys, { ...DEVICE_EVENT_DATASETS.lane, id });
    const t0 = performance.now();
    const b = await hub.load(sys, id, format, createReadStream(file, { highWaterMark: 1 << 20 }));
    out.push({ format, rowsPerSecond: Math.round(b.rows / ((performance.now() - t0) / 1000)), bytes: b.bytes });
    rmSync(file);
  }
  return out;
}
