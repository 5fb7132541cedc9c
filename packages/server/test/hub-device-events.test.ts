/**
 * Device events published into the hub: a dataset per kind, a batch per
 * closed UTC day, each day once (a second run and a restart write nothing
 * more), queryable with SQL, plates only as their keyed hash, audited as the
 * system's loads; the open day waits until it closes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event } from '@citybrain/brain';
import { DeviceEventPublisher, Hub, openStore } from '@citybrain/server';

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 4, 1);
const keyed = (p: string) => `k:${createHash('sha256').update(`test-key:${p}`).digest('hex').slice(0, 15)}`;

function events(): Event[] {
  const out: Event[] = [];
  let n = 0;
  // three days: 2026-05-01 and -02 closed, -03 still open at `now`
  for (let d = 0; d < 3; d++) {
    for (let m = 0; m < 60; m++) {
      const ts = D0 + d * DAY + 8 * 3_600_000 + m * 60_000;
      for (const lane of ['i1_N_0', 'i1_E_0']) out.push({ kind: 'lane', id: `e${n++}`, device: 'det:i1', ts, intersection: 'i1', lane, count: 3 + d, occupancy: 0.1, speed: 10, interval: 60 });
      if (m % 10 === 0) out.push({ kind: 'signal', id: `e${n++}`, device: 'sig:i1', ts, intersection: 'i1', phase: m % 4, mode: 'central' });
    }
    out.push({ kind: 'plate', id: `e${n++}`, device: 'cam:i1', ts: D0 + d * DAY + 9 * 3_600_000, plate: keyed('ZJA12345'), camera: 'cam:i1', intersection: 'i1', confidence: 0.95 });
  }
  return out;
}

test('device events become a daily partition per kind, once; queryable; plates only as keyed hashes; audited as the system\'s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'citybrain-hub-events-'));
  const now = D0 + 2 * DAY + 12 * 3_600_000;
  const plateHash = (p: string) => (p.startsWith('k:') ? p : keyed(p));
  try {
    let store = await openStore(`sqlite:${join(dir, 'city.db')}`);
    await store.append(events());
    let hub = await Hub.open({ store, dir: join(dir, 'hub'), retentionSweepMs: false, now: () => now });
    const pub = new DeviceEventPublisher(hub, store, plateHash, { now: () => now });
    const first = await pub.publish();
    assert.deepEqual(first.map((p) => `${p.kind} ${p.day} ${p.rows}`).sort(), [
      'lane 2026-05-01 120', 'lane 2026-05-02 120', 'lane-hourly 2026-05-01 2', 'lane-hourly 2026-05-02 2', 'plate 2026-05-01 1', 'plate 2026-05-02 1', 'signal 2026-05-01 6', 'signal 2026-05-02 6',
    ]);
    // a second run (two timers, say) finds nothing to do
    assert.deepEqual(await Promise.all([pub.publish(), pub.publish()]), [[], []]);
    await pub.stop();
    await hub.close();
    await store.close();

    // a restart: nothing written twice; the next day, once it has closed, is
    store = await openStore(`sqlite:${join(dir, 'city.db')}`);
    const later = now + DAY;
    hub = await Hub.open({ store, dir: join(dir, 'hub'), retentionSweepMs: false, now: () => later });
    const again = new DeviceEventPublisher(hub, store, plateHash, { now: () => later });
    assert.deepEqual((await again.publish()).map((p) => `${p.kind} ${p.day}`).sort(), ['lane 2026-05-03', 'lane-hourly 2026-05-03', 'plate 2026-05-03', 'signal 2026-05-03']);
    assert.deepEqual(await again.publish(), []);
    const lane = hub.datasets.get('device_events_lane')!;
    assert.deepEqual(lane.batches.map((b) => b.source), ['device-events:2026-05-01', 'device-events:2026-05-02', 'device-events:2026-05-03']);
    assert.equal(readdirSync(join(dir, 'hub', 'device_events_lane')).length, 3, 'a file per day, nothing else');

    // analysts (a department's tokens) query the traffic history with SQL
    await hub.registerDepartment({ actor: 'op', role: 'operator' }, { id: 'transport', name: 'Transport' });
    const analyst = { actor: 'analyst', role: 'analyst', department: 'transport' };
    const r = await hub.query(analyst, "SELECT strftime(ts, '%Y-%m-%d') AS day, sum(count) AS vehicles FROM device_events_lane GROUP BY day ORDER BY day", 'json');
    assert.deepEqual(r.rows, [['2026-05-01', '360'], ['2026-05-02', '480'], ['2026-05-03', '600']]);
    // the hourly rollup says the same, and its lineage names the lane reports
    const h = await hub.query(analyst, "SELECT strftime(hour, '%Y-%m-%d %H') AS h, sum(vehicles), sum(reports) FROM device_events_lane_hourly GROUP BY h ORDER BY h", 'json');
    assert.deepEqual(h.rows, [['2026-05-01 08', '360', '120'], ['2026-05-02 08', '480', '120'], ['2026-05-03 08', '600', '120']]);
    assert.deepEqual(hub.datasets.get('device_events_lane_hourly')!.lineage?.inputs, ['device_events_lane']);
    // plate reads: personal, so a department without a grant reads the hash as NULL; the owner reads the keyed hash, never the plate
    assert.equal(hub.datasets.get('device_events_plate')!.classification, 'personal');
    await assert.rejects(hub.query(analyst, 'SELECT plate_hash FROM device_events_plate', 'json'), /not a dataset you may read/);
    const owner = { actor: 'ops', role: 'analyst', department: 'operations' };
    const plates = await hub.query(owner, 'SELECT DISTINCT plate_hash FROM device_events_plate', 'json');
    assert.deepEqual(plates.rows, [[keyed('ZJA12345')]]);

    const audit = await store.queryAudit({ action: 'hub.load', order: 'asc', limit: 100 });
    assert.equal(audit.length, 12, 'nine partitions and three rollups');
    for (const e of audit) {
      assert.equal(e.actor, 'citybrain server');
      assert.equal(e.role, 'system');
    }
    await hub.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
