import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateGrid, type Scenario } from '@citybrain/engine';
import type { Event, LaneEvent, PlateEvent } from '@citybrain/brain';
import { CONFUSED_CONFIDENCE, DEFAULT_SENSING, PERFECT_SENSING, PLATE_CONFUSIONS, VirtualCity, plateOf, resolveSensing, type SensingOptions } from '@citybrain/field';

const EPOCH = 1.7e12;
const scenario = (): Scenario => generateGrid({ rows: 2, cols: 2, demand: 0.3 });

/** Every event a city reports over `steps` steps, each with the city's ts when it was delivered. */
function run(opts: SensingOptions | 'perfect', steps: number, seed = 3): { city: VirtualCity; got: { e: Event; at: number }[] } {
  const city = new VirtualCity(scenario(), { seed, epochMs: EPOCH, sensing: opts });
  const got: { e: Event; at: number }[] = [];
  for (let k = 0; k < steps; k++) for (const e of city.step()) got.push({ e, at: city.ts });
  return { city, got };
}

/** The perfect devices over the same street, with one setting changed. */
const only = (o: SensingOptions): SensingOptions => ({ ...PERFECT_SENSING, ...o });
const lanes = (got: { e: Event }[]) => got.map((g) => g.e).filter((e): e is LaneEvent => e.kind === 'lane');
const plates = (got: { e: Event }[]) => got.map((g) => g.e).filter((e): e is PlateEvent => e.kind === 'plate');
const key = (e: LaneEvent) => `${e.lane}@${e.ts}`;

test('perfect sensing reports byte for byte what it reported when recorded: exact devices do not drift', () => {
  // first recorded from the virtual city before sensing.ts (997501b), where perfect sensing matched it byte for byte;
  // recorded again when the street's signal controllers (local plans, confirmations) joined it, and when the parking
  // sensors came to report their bays as they start (their later reports' ids moved on by one; the rest byte for byte)
  // 900 steps of this city
  const city = new VirtualCity(generateGrid({ rows: 2, cols: 3, demand: 0.3 }), { seed: 7, epochMs: EPOCH, breakdownsPerHour: 20, sensing: 'perfect' });
  const h = createHash('sha256');
  let n = 0;
  const booted = new Set<string>();
  for (let k = 0; k < 900; k++) {
    for (const e of city.step()) {
      // the parking sensors' reports as they start came later (one per bay, at the first step)
      if (k === 0 && e.kind === 'parking') {
        booted.add(e.bay);
        continue;
      }
      // tracked vehicles came later (a report's `objects`); everything else is as recorded
      const { objects: _, ...rest } = e as LaneEvent;
      h.update(JSON.stringify(e.kind === 'lane' ? rest : e));
      n++;
    }
  }
  assert.equal(booted.size, city.bays.length);
  assert.equal(n, 16303);
  assert.equal(h.digest('hex'), '0c09bee8aae34885253066a58631527250d5604ee8b2db549ba67da6a5e12b66');
});

test('the street unfolds the same under any sensing: only what the devices report differs', () => {
  const a = new VirtualCity(scenario(), { seed: 5, epochMs: EPOCH, breakdownsPerHour: 30, sensing: 'perfect' });
  const b = new VirtualCity(scenario(), { seed: 5, epochMs: EPOCH, breakdownsPerHour: 30, sensing: { silencesPerDeviceHour: 5 } });
  for (let k = 0; k < 1200; k++) {
    a.step();
    b.step();
  }
  assert.deepEqual(b.breakdowns, a.breakdowns);
  assert.ok(a.breakdowns.length > 0);
  assert.deepEqual(b.bays.map((x) => x.occupied), a.bays.map((x) => x.occupied));
  assert.equal(b.sim.metrics().averageTravelTime, a.sim.metrics().averageTravelTime);
});

test('the defaults the README states are DEFAULT_SENSING', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Sensing'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| setting |')));
  const rows = [...table.matchAll(/^\| `(\w+)` \| `([^`]+)` \|/gm)].map((m) => [m[1], JSON.parse(m[2]) as unknown] as const);
  assert.deepEqual(Object.fromEntries(rows), { ...DEFAULT_SENSING, lateS: [...DEFAULT_SENSING.lateS], silenceS: [...DEFAULT_SENSING.silenceS] });
  assert.equal(rows.length, Object.keys(DEFAULT_SENSING).length, 'every setting once');
  // and a city without sensing options uses them
  assert.deepEqual(new VirtualCity(scenario(), {}).sensing, DEFAULT_SENSING);
});

test('a bad setting is a RangeError naming it', () => {
  assert.throws(() => resolveSensing({ countMissRate: 1.5 }), /sensing\.countMissRate: must be a probability in \[0, 1\], got 1\.5/);
  assert.throws(() => resolveSensing({ lateS: [30, 5] }), /sensing\.lateS: must be \[min, max\]/);
  assert.throws(() => resolveSensing({ detectors: 'radar' as 'video' }), /sensing\.detectors: must be 'video', 'loop' or a video share/);
  assert.throws(() => resolveSensing({ videoRange: 100 } as SensingOptions), /sensing\.videoRange: unknown setting/);
  assert.throws(() => resolveSensing('fuzzy' as 'perfect'), /sensing: unknown preset "fuzzy"/);
  assert.throws(() => new VirtualCity(scenario(), { sensing: { period: 0 } }), /sensing\.period/);
  assert.equal(new VirtualCity(scenario(), { detectorPeriod: 2 }).detectorPeriod, 2, 'the older option still sets the period');
});

test('stop-line loops report count, time occupancy and the speed of vehicles passing, never vehicles or queue', () => {
  const { city, got } = run(only({ detectors: 'loop' }), 1800);
  const loops = lanes(got);
  assert.ok(loops.length > 1000);
  for (const e of loops) {
    assert.equal(e.vehicles, undefined);
    assert.equal(e.queue, undefined);
    assert.ok(e.occupancy >= 0 && e.occupancy <= 1);
  }
  // counts are exact without misses: the same as video's over the same street
  const video = new Map(lanes(run('perfect', 1800).got).map((e) => [key(e), e]));
  for (const e of loops) assert.equal(e.count, video.get(key(e))!.count, key(e));
  // a vehicle standing at the line (video sees a queue) holds the loop; vehicles passing give their speed
  const standing = loops.filter((e) => video.get(key(e))!.queue! > 0 && e.count === 0);
  const standingOcc = standing.reduce((a, e) => a + e.occupancy, 0) / standing.length;
  const empty = loops.filter((e) => video.get(key(e))!.vehicles === 0 && e.count === 0);
  assert.ok(standingOcc > 0.5, `mean occupancy while a queue stands and none passes: ${standingOcc}`);
  assert.ok(empty.every((e) => e.occupancy === 0), 'an empty lane leaves its loop free');
  const passing = loops.filter((e) => e.count > 0);
  // (a vehicle pulling away from the line may cross it still at walking pace)
  const meanSpeed = passing.reduce((a, e) => a + e.speed, 0) / passing.length;
  assert.ok(meanSpeed > 2 && passing.every((e) => e.speed <= 16.67), `mean speed of vehicles passing ${meanSpeed} m/s`);
  assert.ok(loops.filter((e) => e.count === 0).every((e) => e.speed === 0), 'no speed when none passed');
  assert.equal(city.sensors.detectorOf(city.sim.net.laneIndex.get(loops[0].lane)!), 'loop');
});

test('a share of video: exactly that share of the approach lanes', () => {
  const city = new VirtualCity(scenario(), { seed: 1, sensing: { detectors: 0.25 } });
  const net = city.sim.net;
  const detected = [...net.signalised].flatMap((i) => net.incomingLanes(i));
  const video = detected.filter((l) => city.sensors.detectorOf(l) === 'video').length;
  assert.equal(video, Math.round(0.25 * detected.length));
});

test('count misses: each vehicle is missed with countMissRate', () => {
  const exact = lanes(run('perfect', 3600).got).reduce((a, e) => a + e.count, 0);
  const missed = lanes(run(only({ countMissRate: 0.2 }), 3600).got).reduce((a, e) => a + e.count, 0);
  assert.ok(exact > 2000, `${exact} vehicles counted`);
  assert.ok(Math.abs(missed / exact - 0.8) < 0.03, `counted ${missed} of ${exact}`);
});

test('video noise: vehicles and queue off by the relative standard deviation, unbiased; an empty lane stays empty', () => {
  const exact = new Map(lanes(run('perfect', 3600).got).map((e) => [key(e), e]));
  const errs: number[] = [];
  for (const e of lanes(run(only({ vehicleNoise: 0.2 }), 3600).got)) {
    const t = exact.get(key(e))!;
    if (t.vehicles === 0) assert.equal(e.vehicles, 0);
    if (t.vehicles! >= 8) errs.push(e.vehicles! / t.vehicles! - 1);
    assert.ok(e.queue! <= e.vehicles!);
  }
  assert.ok(errs.length > 500, `${errs.length} busy reports`);
  const mean = errs.reduce((a, x) => a + x, 0) / errs.length;
  const sd = Math.sqrt(errs.reduce((a, x) => a + (x - mean) ** 2, 0) / errs.length);
  assert.ok(Math.abs(mean) < 0.03, `mean relative error ${mean}`);
  assert.ok(Math.abs(sd - 0.2) < 0.04, `sd ${sd}`);
});

test('video range: vehicles beyond videoRangeM are not seen, and the report says how far it sees', () => {
  const exact = new Map(lanes(run('perfect', 1800).got).map((e) => [key(e), e]));
  let fewer = 0;
  for (const e of lanes(run(only({ videoRangeM: 60 }), 1800).got)) {
    const t = exact.get(key(e))!;
    assert.equal(e.range, 60);
    assert.ok(e.vehicles! <= t.vehicles! && e.queue! <= t.queue!, key(e));
    // 60 m hold at most 60 / 7.5 = 8 vehicles
    assert.ok(e.vehicles! <= 9);
    if (e.vehicles! < t.vehicles!) fewer++;
  }
  assert.ok(fewer > 100, `${fewer} reports saw fewer than the lane holds`);
  assert.equal(lanes(run('perfect', 10).got)[0].range, undefined, 'a detector seeing the whole lane says nothing');
});

test('dropouts: a report is lost with dropoutRate', () => {
  const all = lanes(run('perfect', 3600).got).length;
  const got = lanes(run(only({ dropoutRate: 0.1 }), 3600).got).length;
  assert.ok(Math.abs(got / all - 0.9) < 0.015, `${got} of ${all} delivered`);
});

test('jitter and late delivery: held back and delivered later, with the ts of when it was observed', () => {
  const exact = new Map(lanes(run('perfect', 3600).got).map((e) => [e.id, e]));
  const { got } = run(only({ jitterS: 2, lateRate: 0.2, lateS: [10, 20] }), 3600);
  const delays = got.filter((g) => g.e.kind === 'lane').map((g) => {
    assert.deepEqual(g.e, exact.get(g.e.id), 'the same report, its ts truthful');
    return (g.at - g.e.ts) / 1000;
  });
  // none lost: every report made before the last 25 s arrived, once
  const end = EPOCH + 3600_000;
  assert.equal(new Set(lanes(got).map((e) => e.id)).size, delays.length);
  assert.equal(delays.length - got.filter((g) => g.e.kind === 'lane' && g.e.ts > end - 25_000).length, [...exact.values()].filter((e) => e.ts <= end - 25_000).length);
  const late = delays.filter((d) => d >= 10);
  assert.ok(delays.every((d) => d >= 0 && d <= 23), 'never early, never beyond jitter + late');
  assert.ok(delays.filter((d) => d < 10).every((d) => d <= 2));
  assert.ok(Math.abs(late.length / delays.length - 0.2) < 0.025, `${late.length} of ${delays.length} late`);
  const onTime = delays.filter((d) => d < 10);
  const meanJitter = onTime.reduce((a, d) => a + d, 0) / onTime.length;
  // delivered at the first step after its delay: a delay uniform in [0, 2] s arrives after 1 or 2 steps of 1 s
  assert.ok(meanJitter > 1.2 && meanJitter < 1.8, `mean jitter ${meanJitter} s`);
});

test('duplicates: the same report, same id, delivered twice with duplicateRate', () => {
  const { got } = run(only({ duplicateRate: 0.1 }), 3600);
  const seen = new Map<string, Event>();
  let twice = 0;
  for (const { e } of got) {
    const k = `${e.device}/${e.id}`;
    const first = seen.get(k);
    if (first) {
      twice++;
      assert.deepEqual(e, first);
    } else seen.set(k, e);
  }
  assert.ok(Math.abs(twice / seen.size - 0.1) < 0.01, `${twice} of ${seen.size} twice`);
});

test('silent devices: a device goes quiet silencesPerDeviceHour times an hour for silenceS, all its reports with it', () => {
  const hours = 4;
  const exact = lanes(run('perfect', hours * 3600).got);
  const { got } = run(only({ silencesPerDeviceHour: 1, silenceS: [300, 300] }), hours * 3600);
  const quiet = lanes(got);
  // expected share lost: a silence of 300 s every 3600 + 300 s on average
  const lost = 1 - quiet.length / exact.length;
  assert.ok(lost > 0.03 && lost < 0.15, `lost ${lost}`);
  // the losses come as whole silences: per device, gaps of 300 s between reports, no lone losses
  const byDevice = new Map<string, number[]>();
  for (const e of quiet) (byDevice.get(e.device) ?? byDevice.set(e.device, []).get(e.device)!).push(e.ts);
  let gaps = 0;
  for (const ts of byDevice.values()) {
    const uniq = [...new Set(ts)].sort((a, b) => a - b);
    for (let k = 1; k < uniq.length; k++) {
      const gap = (uniq[k] - uniq[k - 1]) / 1000;
      if (gap > 5) {
        assert.ok(gap >= 300 && gap <= 305, `a device's gap of ${gap} s`);
        gaps++;
      }
    }
  }
  assert.ok(gaps >= byDevice.size, `${gaps} silences over ${byDevice.size} detectors in ${hours} h`);
});

test('plate misses: a camera misses a vehicle with plateMissRate', () => {
  const all = plates(run('perfect', 3600).got).length;
  const got = plates(run(only({ plateMissRate: 0.1 }), 3600).got).length;
  assert.ok(all > 2000);
  assert.ok(Math.abs(got / all - 0.9) < 0.02, `${got} of ${all} read`);
});

test('OCR confusions: each confusable character read as its partner with plateConfusionRate, and the confidence says so', () => {
  const exact = plates(run('perfect', 3600).got);
  const read = plates(run(only({ plateConfusionRate: 0.1 }), 3600).got);
  assert.equal(read.length, exact.length);
  let confusable = 0, confused = 0;
  for (let k = 0; k < read.length; k++) {
    const [t, r] = [exact[k].plate, read[k].plate];
    assert.equal(r.length, t.length);
    let n = 0;
    for (let j = 0; j < t.length; j++) {
      if (!PLATE_CONFUSIONS.has(t[j])) {
        assert.equal(r[j], t[j], 'a character without a partner is read right');
        continue;
      }
      confusable++;
      if (r[j] !== t[j]) {
        assert.equal(r[j], PLATE_CONFUSIONS.get(t[j]));
        n++;
      }
    }
    confused += n;
    // clean reads 0.9..1; each confusion scales by CONFUSED_CONFIDENCE
    if (n === 0) assert.ok(read[k].confidence >= 0.9);
    else assert.ok(read[k].confidence <= CONFUSED_CONFIDENCE ** n + 1e-3 && read[k].confidence >= 0.9 * CONFUSED_CONFIDENCE ** n - 1e-3, `${read[k].confidence} with ${n} confusions`);
  }
  assert.ok(Math.abs(confused / confusable - 0.1) < 0.01, `${confused} of ${confusable} confusable characters confused`);
});

test('checkpoint cameras read each vehicle where it enters and where it leaves the network', () => {
  const { city, got } = run(only({ checkpoints: true }), 1800);
  const net = city.sim.net;
  const ps = plates(got);
  const entries = ps.filter((e) => e.position === 'entry');
  const exits = ps.filter((e) => e.position === 'exit');
  assert.ok(entries.length > 300 && exits.length > 200, `${entries.length} entries, ${exits.length} exits`);
  for (const e of entries) {
    const road = net.laneRoad[net.laneIndex.get(e.lane!)!];
    assert.equal(net.interVirtual[net.roadStartInter[road]], 1, 'an entry is on a road from the edge');
    assert.equal(e.intersection, net.interIds[net.roadEndInter[road]], 'reported by the camera of the junction the lane leads to (as lanes are checked)');
  }
  for (const e of exits) assert.equal(net.interVirtual[net.roadEndInter[net.laneRoad[net.laneIndex.get(e.lane!)!]]], 1, 'an exit is on a road to the edge');
  // a vehicle leaves once, having entered once before
  const entered = new Set(entries.map((e) => e.plate));
  assert.equal(entered.size, entries.length);
  assert.ok(exits.every((e) => entered.has(e.plate)));
  assert.equal(new Set(exits.map((e) => e.plate)).size, exits.length);
  // without checkpoints only stop lines are read
  assert.ok(plates(run('perfect', 300).got).every((e) => e.position === undefined));
  assert.equal(plateOf('flow_0_0').length, 7);
});

test('a city continued from its exported state delivers what was on its way, as the original does', () => {
  const opts: SensingOptions = { lateRate: 0.3, lateS: [20, 40], silencesPerDeviceHour: 3, silenceS: [60, 120] };
  const a = new VirtualCity(scenario(), { seed: 9, epochMs: EPOCH, sensing: opts });
  for (let k = 0; k < 600; k++) a.step();
  const state = a.exportState();
  assert.ok(state.sensors!.inFlight.length > 0, 'reports on their way');
  const b = new VirtualCity(scenario(), { seed: 9, epochMs: EPOCH, sensing: opts });
  b.importState(state, EPOCH);
  for (let k = 0; k < 300; k++) {
    const [ea, eb] = [a.step(), b.step()];
    assert.deepEqual(eb.map((e) => `${e.kind}:${e.ts}:${'lane' in e ? e.lane : ''}`), ea.map((e) => `${e.kind}:${e.ts}:${'lane' in e ? e.lane : ''}`), `step ${k}`);
  }
});
