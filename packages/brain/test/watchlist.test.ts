import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Confusions, normalisePlate, parsePlate, parseRegisterCsv, plateFormat, PlateWatchlist, type PlateRead, type WatchlistAlert, type WatchlistOptions } from '@citybrain/brain';

const keyer = (t: string) => createHmac('sha256', 'test-key').update(t).digest('hex');
// five junctions on a line, 1 km apart
const locate = (i: string) => (/^j\d$/.test(i) ? { x: Number(i.slice(1)) * 1000, y: 0 } : undefined);
const T0 = 1_767_225_600_000;

function watchlist(opts: Partial<WatchlistOptions> = {}, register: string[] = []): PlateWatchlist {
  const w = new PlateWatchlist({ keyer, locate, ...opts });
  for (const p of register) {
    const k = w.keysOf(p);
    w.register.add(k.key, k.canonicalKey, p.startsWith('浙T') ? 'taxi' : 'private');
  }
  return w;
}
const read = (plate: string, intersection: string, s: number, camera = `cam-${intersection}`): PlateRead => ({ plate, camera, intersection, ts: T0 + s * 1000, confidence: 0.9 });

test('plates are normalised, canonicalised over confusable characters and told apart by their confusions', () => {
  assert.equal(normalisePlate(' 浙a·12 345 '), '浙A12345');
  const c = new Confusions();
  assert.equal(c.canonical('浙A0D8B5'), c.canonical('浙AQ0B85'));
  assert.equal(c.canonical('1I7'), c.canonical('III'));
  assert.notEqual(c.canonical('浙A12345'), c.canonical('浙A12349'));
  assert.equal(c.distance('浙A0D8B5', '浙A0D8B5'), 0);
  assert.equal(c.distance('浙AD0885', '浙A0D8B5'), 3);
  assert.equal(c.distance('浙A12345', '浙A12349'), undefined, '3 and 9 are not confused');
  assert.equal(c.distance('浙A1234', '浙A12345'), undefined);
  // variants within 1 confusion of "0S": O, D, Q for 0 and 5 for S
  const seen: string[] = [];
  c.variants('0S', 1, (v) => (seen.push(v), false));
  assert.deepEqual(seen.sort(), ['05', 'DS', 'OS', 'QS'].sort());
  assert.equal(c.variants('0S', 2, (v) => v === 'D5'), 2);
  assert.throws(() => new Confusions(['0O', 'O1']), /"O" is in two classes/);
});

test('Chinese plate formats (regular, new-energy; no I or O) and a generic one for others', () => {
  assert.equal(plateFormat('浙A12345'), 'cn');
  assert.equal(plateFormat('京BD12345'), 'cn-nev');
  assert.equal(plateFormat('粤B12345F'), 'cn-nev');
  assert.equal(plateFormat('浙AO2345'), undefined, 'O is unused on Chinese plates');
  assert.equal(plateFormat('浙I12345'), undefined);
  assert.equal(plateFormat('浙A1234'), undefined, 'four characters after the letter');
  assert.equal(plateFormat('AB12CDE'), 'generic');
  assert.equal(plateFormat('A'), undefined);
  assert.match((parsePlate('浙AO2345') as { error: string }).error, /no Chinese plate: .*without I or O/);
  assert.match((parsePlate('X!') as { error: string }).error, /"X!" is no plate/);
  assert.deepEqual(parsePlate('浙a 12345'), { plate: '浙A12345', format: 'cn' });
});

test('the register CSV: header, uses, and each fault named with its line', () => {
  assert.deepEqual(parseRegisterCsv('plate,use\n浙A12345,private\n\n浙T00001,taxi\nAB123,\n'), [
    { plate: '浙A12345', use: 'private' }, { plate: '浙T00001', use: 'taxi' }, { plate: 'AB123', use: 'private' },
  ]);
  assert.deepEqual(parseRegisterCsv('owner,plate\nx,浙A12345'), [{ plate: '浙A12345', use: 'private' }]);
  assert.throws(() => parseRegisterCsv('number,use\n'), /^RangeError: register CSV line 1: the header needs a "plate" column/);
  assert.throws(() => parseRegisterCsv('plate,use\n浙A12345,private\n浙AO2345,private'), /^RangeError: register CSV line 3: "浙AO2345" is no Chinese plate/);
  assert.throws(() => parseRegisterCsv('plate,use\n浙A12345,spaceship'), /line 2: use "spaceship" is not one of private, taxi/);
  assert.throws(() => parseRegisterCsv('plate,use\n浙A12345,private\n浙A12345,taxi'), /line 3: plate 浙A12345 is also on line 2/);
  assert.throws(() => parseRegisterCsv('plate,use\n浙A12345'), /line 2: 1 columns, the header has 2/);
});

test('unregistered: a plate not within maxConfusions of the register, with the read as evidence; OCR misreads of registered plates pass', () => {
  const w = watchlist({ maxConfusions: 2 }, ['浙A0B5S8', '浙A77777']);
  assert.deepEqual(w.read(read('浙A0B5S8', 'j1', 0)).alerts, []);
  const misread = w.read(read('浙ADB558', 'j1', 1)); // D for 0, 5 for S: two confusions
  assert.deepEqual(misread.alerts, []);
  assert.equal(misread.matched, true);
  const far = w.read(read('浙ADBS5B', 'j1', 2)); // three confusions: over the tolerance
  assert.equal(far.alerts.length, 1);
  const a = far.alerts[0] as Extract<WatchlistAlert, { kind: 'unregistered' }>;
  assert.equal(a.kind, 'unregistered');
  assert.equal(a.plate, '浙ADBS5B');
  assert.deepEqual(a.evidence, { read: { ...read('浙ADBS5B', 'j1', 2), x: 1000, y: 0 }, format: 'cn', maxConfusions: 2, registerSize: 2 });
  assert.match(a.explanation, /浙ADBS5B read at cam-j1 \(j1\) is not in the register of 2 vehicles, nor within 2 OCR confusion/);
  const stranger = w.read(read('浙A12345', 'j2', 3));
  assert.equal(stranger.alerts[0].kind, 'unregistered');
  assert.equal(stranger.matched, false);
  // once per plate (its canonical form) and day: a misread of the same stranger raises nothing new
  assert.deepEqual(w.read(read('浙AI2345', 'j2', 60)).alerts, []);
  // unsure reads and no plates are not judged; an empty register flags nothing
  assert.deepEqual(w.read({ ...read('浙A99999', 'j1', 5), confidence: 0.2 }).alerts, []);
  assert.deepEqual(w.read(read('#?', 'j1', 6)).alerts, []);
  assert.equal(w.stats.unjudged, 2);
  assert.deepEqual(watchlist().read(read('浙A99999', 'j1', 0)).alerts, []);
});

test('wanted and stolen lists: a hit within the confusions names the entry', () => {
  const w = watchlist({}, ['浙A0B5S8']);
  const k = w.keysOf('浙A0B5S8');
  w.lists.add(k.key, k.canonicalKey, { list: 'stolen', entry: 'case-42', note: 'reported 1 Jan' });
  const out = w.read(read('浙ADB5S8', 'j3', 0)); // D for 0: one confusion
  assert.equal(out.alerts.length, 1);
  const a = out.alerts[0] as Extract<WatchlistAlert, { evidence: { entry: string } }>;
  assert.equal(a.kind, 'stolen');
  assert.equal(a.evidence.entry, 'case-42');
  assert.equal(a.evidence.confusions, 1);
  assert.equal(a.evidence.note, 'reported 1 Jan');
  assert.match(a.explanation, /is on the stolen list \(entry case-42, 1 OCR confusion/);
});

test('cloned: one plate at two cameras too far apart for the time between, with both reads, the distance and the speed', () => {
  const w = watchlist({ maxSpeedKmh: 150 }, ['浙A12345']);
  assert.deepEqual(w.read(read('浙A12345', 'j0', 0)).alerts, []);
  // 1 km in 60 s: 60 km/h, plausible
  assert.deepEqual(w.read(read('浙A12345', 'j1', 60)).alerts, []);
  // 3 km in 20 s: 540 km/h
  const out = w.read(read('浙A1Z345', 'j4', 80));
  assert.equal(out.alerts.length, 1);
  const a = out.alerts[0] as Extract<WatchlistAlert, { kind: 'cloned' }>;
  assert.equal(a.kind, 'cloned');
  assert.deepEqual(a.evidence.reads.map((r) => [r.plate, r.intersection, r.ts]), [['浙A12345', 'j1', T0 + 60_000], ['浙A1Z345', 'j4', T0 + 80_000]]);
  assert.equal(a.evidence.metres, 3000);
  assert.equal(a.evidence.seconds, 20);
  assert.equal(a.evidence.impliedKmh, 540);
  assert.equal(a.evidence.distance, 'straight');
  assert.match(a.explanation, /3000 m apart 20 s apart: 540 km\/h, over the plausible 150 km\/h/);
  // a network distance, when given, is what is compared
  const n = watchlist({ networkDistance: () => 400 }, ['浙A12345']);
  n.read(read('浙A12345', 'j0', 0));
  assert.deepEqual(n.read(read('浙A12345', 'j4', 5)).alerts, [], 'closer than minCloneMetres on the network');
});

test('illegal taxi: minTrips short trips from pick-up points within the window; long trips, other places and vehicles for hire do not count', () => {
  const taxi = { tripGapSeconds: 300, maxTripSeconds: 900, maxTripMeters: 2500, minTrips: 3, windowSeconds: 86_400, pickUpPoints: [{ x: 0, y: 0 }], pickUpRadiusM: 100 };
  const trips = (w: PlateWatchlist, plate: string, n: number, to = 'j2') => {
    const alerts: WatchlistAlert[] = [];
    for (let k = 0; k < n; k++) {
      const s = k * 1800;
      alerts.push(...w.read(read(plate, 'j0', s)).alerts, ...w.read(read(plate, 'j1', s + 120)).alerts, ...w.read(read(plate, to, s + 240)).alerts);
    }
    return alerts;
  };
  const w = watchlist({ taxi }, ['浙A12345', '浙T00001']);
  // the third trip closes only when the fourth starts (or at a flush)
  assert.deepEqual(trips(w, '浙A12345', 3), []);
  const flushed = w.flush(T0 + 3 * 1800_000);
  assert.equal(flushed.length, 1);
  const a = flushed[0] as Extract<WatchlistAlert, { kind: 'illegal-taxi' }>;
  assert.equal(a.kind, 'illegal-taxi');
  assert.equal(a.evidence.qualifying, 3);
  assert.equal(a.evidence.use, 'private');
  assert.deepEqual(a.evidence.trips.map((t) => [t.reads, t.seconds, t.metres, t.atPickUp]), [[3, 240, 2000, true], [3, 240, 2000, true], [3, 240, 2000, true]]);
  assert.match(a.explanation, /made 3 short trips \(at most 900 s and 2500 m\) starting or ending at pick-up points within 24 h/);
  // a licensed taxi is not flagged
  assert.deepEqual([...trips(w, '浙T00001', 5), ...w.flush(T0 + 5 * 1800_000)].filter((x) => x.plate === '浙T00001'), []);
  // trips longer than maxTripMeters do not qualify
  const far = watchlist({ taxi }, ['浙A22222']);
  assert.deepEqual([...trips(far, '浙A22222', 5, 'j4'), ...far.flush(T0 + 5 * 1800_000)], []);
  // nor trips away from pick-up points
  const elsewhere = watchlist({ taxi: { ...taxi, pickUpPoints: [{ x: 9000, y: 9000 }] } }, ['浙A22222']);
  assert.deepEqual([...trips(elsewhere, '浙A22222', 5), ...elsewhere.flush(T0 + 5 * 1800_000)], []);
  assert.throws(() => watchlist({ taxi: { minTrips: 1 } }), /watchlist: taxi.minTrips must be an integer >= 2, got 1/);
  assert.throws(() => watchlist({ maxConfusions: -1 }), /maxConfusions must be an integer 0..4, got -1/);
});

test('a Chinese plate read with I or O (unused there) is taken as 1 or 0', () => {
  const w = watchlist({}, ['浙A10000']);
  const out = w.read(read('浙AIOOOO', 'j0', 0));
  assert.equal(out.matched, true);
  assert.deepEqual(out.alerts, []);
});
