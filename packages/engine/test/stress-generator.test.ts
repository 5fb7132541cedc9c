import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateStress, Network, Simulation, STRESS_PRESETS, type StressOptions } from '@citybrain/engine';

test('stress scenarios: every route is drivable road to road, and each entry carries the demand asked, split as asked', () => {
  for (const { name, options } of STRESS_PRESETS) {
    const sc = generateStress(options);
    const net = new Network(sc.roadnet);
    // consecutive roads of every route meet at an intersection with a roadLink joining them
    const joined = new Set<string>();
    for (let rl = 0; rl < net.nRoadLinks; rl++) joined.add(`${net.roadLinkStartRoad[rl]}>${net.roadLinkEndRoad[rl]}`);
    for (const f of sc.flows) {
      for (let k = 0; k + 1 < f.route.length; k++) {
        const a = net.roadIndex.get(f.route[k]), b = net.roadIndex.get(f.route[k + 1]);
        assert.ok(a !== undefined && b !== undefined && joined.has(`${a}>${b}`), `${name}: ${f.route[k]} -> ${f.route[k + 1]}`);
      }
      assert.ok(net.interVirtual[net.roadStartInter[net.roadIndex.get(f.route[0])!]] === 1, `${name}: starts at the boundary`);
      assert.ok(net.interVirtual[net.roadEndInter[net.roadIndex.get(f.route.at(-1)!)!]] === 1, `${name}: ends at the boundary`);
    }
    // vehicles per hour by entry road outside the pulse, and the share turning
    const perEntry = new Map<string, { all: number; turning: number }>();
    for (const f of sc.flows) {
      if (options.pulse && f.startTime >= options.pulse.from && f.endTime === options.pulse.to) continue;
      const e = perEntry.get(f.route[0]) ?? { all: 0, turning: 0 };
      const dir = (r: string) => r.slice(-1);
      e.all += 3600 / f.interval;
      if (f.route.some((r) => dir(r) !== dir(f.route[0]))) e.turning += 3600 / f.interval;
      perEntry.set(f.route[0], e);
    }
    assert.equal(perEntry.size, 2 * (options.rows + options.cols), `${name}: one entry per boundary road`);
    for (const [road, e] of perEntry) {
      const want = options.entryPerHour[Number(road.slice(-1))];
      assert.ok(Math.abs(e.all - want) < 1e-6, `${name}: ${road} carries ${e.all} veh/h, not ${want}`);
      assert.ok(Math.abs(e.turning - want * (options.turnShare ?? 0.2)) < 1e-6, `${name}: ${road} turning ${e.turning} veh/h`);
    }
  }
});

test('stress scenarios run: vehicles enter from every side, and a pulse adds its surge within its window only', () => {
  const base: StressOptions = { rows: 2, cols: 2, entryPerHour: [360, 360, 360, 360], endTime: 600 };
  const entered = (o: StressOptions, steps: number) => {
    const sim = new Simulation(generateStress(o), { seed: 0 });
    sim.step(steps);
    return sim.metrics().enteredVehicles;
  };
  // 8 entries at 360/h: 0.8 vehicles a second
  const plain = entered(base, 600);
  assert.ok(Math.abs(plain - 480) <= 16, `${plain} vehicles in 600 s`);
  const surged = entered({ ...base, pulse: { from: 100, to: 300, factor: 3 } }, 600);
  assert.ok(Math.abs(surged - plain - 320) <= 16, `the pulse adds 2 x 0.8 veh/s for 200 s: ${surged - plain}`);
  assert.equal(entered(base, 900), entered(base, 700), 'no vehicle after endTime');
});

test('stress options are checked, each refusal naming the option', () => {
  const ok: StressOptions = { rows: 2, cols: 2, entryPerHour: [100, 100, 100, 100] };
  assert.throws(() => generateStress({ ...ok, rows: 0 }), /stress option rows must be an integer in 1\.\.50, got 0/);
  assert.throws(() => generateStress({ ...ok, turnShare: 1.5 }), /stress option turnShare must be a share in 0\.\.1, got 1\.5/);
  assert.throws(() => generateStress({ ...ok, entryPerHour: [1, 2, 3] as unknown as StressOptions['entryPerHour'] }), /entryPerHour must be four numbers/);
  assert.throws(() => generateStress({ ...ok, entryPerHour: [1, -2, 3, 4] }), /entryPerHour\[1\] must be a number >= 0, got -2/);
  assert.throws(() => generateStress({ ...ok, pulse: { from: 100, to: 50, factor: 2 } }), /pulse\.to must be a number in \(pulse\.from, endTime = 900\], got 50/);
  assert.throws(() => generateStress({ ...ok, pulse: { from: 0, to: 100, factor: 0.5 } }), /pulse\.factor must be a number >= 1, got 0\.5/);
  assert.throws(() => generateStress({ ...ok, blockLength: 40 }), /intersectionWidth/);
});
