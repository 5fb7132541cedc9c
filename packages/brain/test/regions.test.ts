import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network, generateGrid } from '@citybrain/engine';
import { cityRegions, regionOfIntersections } from '@citybrain/brain';

const net = (rows: number, cols: number) => new Network(generateGrid({ rows, cols }).roadnet);

test('regions: every signalised intersection in exactly one region, sizes within one of each other, each a compact block', () => {
  const n = net(12, 12);
  for (const count of [2, 3, 4, 5, 8, 16]) {
    const rs = cityRegions(n, count);
    assert.equal(rs.length, count, `count ${count}`);
    const all = rs.flatMap((r) => r.intersections).sort((a, b) => a - b);
    assert.deepEqual(all, [...n.signalised].sort((a, b) => a - b), `count ${count}: a partition`);
    const sizes = rs.map((r) => r.intersections.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= Math.ceil(144 / count) - Math.floor(144 / count) + 2, `count ${count}: sizes ${sizes}`);
    for (const r of rs) {
      // compact: a region's bounding box holds no more than its own intersections plus a ragged row and column
      const xs = r.intersections.map((i) => n.interX[i]), ys = r.intersections.map((i) => n.interY[i]);
      const spanX = new Set(xs).size, spanY = new Set(ys).size;
      assert.ok(spanX * spanY <= r.intersections.length + spanX + spanY, `count ${count}: region ${r.id} ${spanX}x${spanY} for ${r.intersections.length}`);
    }
  }
});

test('regions: four are the compass quadrants, one is the city; a bad count is refused by name', () => {
  const n = net(4, 4);
  assert.deepEqual(cityRegions(n).map((r) => r.id), ['south-west', 'south-east', 'north-west', 'north-east']);
  assert.deepEqual(cityRegions(n, 1).map((r) => [r.id, r.intersections.length]), [['city', 16]]);
  assert.equal(cityRegions(n, 40).length, 16, 'no more regions than intersections');
  assert.throws(() => cityRegions(n, 0), /regions: count must be a whole number >= 1, got 0/);
  assert.throws(() => cityRegions(n, 2.5), /got 2.5/);
});

test('regions: an unsignalised intersection belongs to the region of its nearest signalised one', () => {
  const n = net(6, 6);
  const rs = cityRegions(n, 4);
  const of = regionOfIntersections(n, rs);
  assert.equal(of.length, n.interX.length);
  for (const r of rs) for (const i of r.intersections) assert.equal(of[i], r.id);
  const sig = new Set(n.signalised);
  let checked = 0;
  for (let j = 0; j < of.length; j++) {
    if (sig.has(j)) continue;
    let best = -1, bd = Infinity;
    for (const i of sig) {
      const d = (n.interX[i] - n.interX[j]) ** 2 + (n.interY[i] - n.interY[j]) ** 2;
      if (d < bd) [bd, best] = [d, i];
    }
    assert.equal(n.interX.length > 0 && of[best] !== undefined, true);
    const nearestD = bd;
    const mine = rs.find((r) => r.id === of[j])!;
    assert.ok(mine.intersections.some((i) => (n.interX[i] - n.interX[j]) ** 2 + (n.interY[i] - n.interY[j]) ** 2 === nearestD), `boundary node ${j}`);
    checked++;
  }
  assert.ok(checked > 0, 'the grid has boundary nodes');
});
