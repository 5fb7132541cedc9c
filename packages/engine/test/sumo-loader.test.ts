import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as engine from '@citybrain/engine';
import { loadSumoScenario, parseSumoNet, parseSumoRoutes, ScenarioError } from '@citybrain/engine';
import type { FlowJson, Point, RoadJson, RoadnetJson } from '@citybrain/engine';
import { NET, ROUTES } from './sumo-fixtures.js';

// ---------------------------------------------------------------- helpers

/** Lane polylines as CityFlow derives them: offset right of the road polyline (intersection width 0: no trim). */
function lanePolylines(road: RoadJson): Point[][] {
  const pts = road.points;
  const n = pts.length;
  const unit = (x: number, y: number): Point => {
    const l = Math.hypot(x, y);
    return { x: x / l, y: y / l };
  };
  const dirs = pts.map((p, j) => {
    if (j === 0) return unit(pts[1].x - p.x, pts[1].y - p.y);
    if (j === n - 1) return unit(p.x - pts[j - 1].x, p.y - pts[j - 1].y);
    const a = unit(pts[j + 1].x - p.x, pts[j + 1].y - p.y);
    const b = unit(p.x - pts[j - 1].x, p.y - pts[j - 1].y);
    return unit(a.x + b.x, a.y + b.y);
  });
  let dsum = 0;
  return road.lanes.map((lane) => {
    const d = dsum + lane.width / 2;
    dsum += lane.width;
    // right normal of (ux, uy) is (uy, -ux)
    return pts.map((p, j) => ({ x: p.x + dirs[j].y * d, y: p.y - dirs[j].x * d }));
  });
}

function length(pts: Point[]): number {
  let s = 0;
  for (let i = 1; i < pts.length; i++) s += Math.hypot(pts[i].x - pts[i - 1].x, pts[i].y - pts[i - 1].y);
  return s;
}

const close = (a: Point, b: Point, eps = 1e-6) => Math.hypot(a.x - b.x, a.y - b.y) <= eps;

function assertRoutesConnected(roadnet: RoadnetJson, flows: FlowJson[]): void {
  const roads = new Set(roadnet.roads.map((r) => r.id));
  const next = new Set(roadnet.intersections.flatMap((i) => i.roadLinks.map((l) => `${l.startRoad}>${l.endRoad}`)));
  for (const f of flows) {
    for (const [k, r] of f.route.entries()) {
      assert.ok(roads.has(r), `unknown road ${r}`);
      if (k > 0) assert.ok(next.has(`${f.route[k - 1]}>${r}`), `${f.route[k - 1]} -> ${r} not connected`);
    }
  }
}

function assertScenarioError(fn: () => unknown, source: string, path: RegExp | string, problem: RegExp): ScenarioError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected ScenarioError, got ${String(e)}`);
    assert.equal(e.source, source);
    if (typeof path === 'string') assert.equal(e.path, path);
    else assert.match(e.path, path);
    assert.match(e.problem, problem);
    return e;
  }
  assert.fail('expected a ScenarioError');
}

// ---------------------------------------------------------------- a tiny net: NET and ROUTES in sumo-fixtures.ts

test('tiny net: roads, lanes reversed, geometry on SUMO lane shapes', () => {
  const net = parseSumoNet(NET, 'tiny.net.xml');
  assert.deepEqual(net.roads.map((r) => r.id), ['wb', 'be', 'bn', 'nb']);
  const wb = net.roads[0];
  assert.equal(wb.startIntersection, 'W');
  assert.equal(wb.endIntersection, 'B');
  assert.deepEqual(wb.lanes, [{ width: 3.2, maxSpeed: 13.89 }, { width: 3.2, maxSpeed: 13.89 }]);
  // leftmost lane (SUMO 1, y=-1.6) shifted left by 1.6: the centre line y=0
  assert.ok(close(wb.points[0], { x: 0, y: 0 }) && close(wb.points[1], { x: 92, y: 0 }), JSON.stringify(wb.points));
  // CityFlow's lane 1 lands on SUMO's lane 0
  const [l0, l1] = lanePolylines(wb);
  assert.ok(close(l0[0], { x: 0, y: -1.6 }) && close(l1[1], { x: 92, y: -4.8 }));
  const be = net.roads[1];
  assert.equal(be.lanes[0].width, 3.5);
  assert.ok(close(lanePolylines(be)[0][0], { x: 108, y: -1.75 }));
  const bn = lanePolylines(net.roads[2])[0];
  assert.ok(close(bn[0], { x: 101.6, y: 8 }) && close(bn[1], { x: 101.6, y: 200 }), JSON.stringify(bn));
});

test('tiny net: intersections, roadLinks, laneLinks and signal phases', () => {
  const net = parseSumoNet(NET);
  assert.deepEqual(net.intersections.map((i) => [i.id, i.virtual]), [['W', true], ['B', false], ['E', true], ['N', true]]);
  const b = net.intersections[1];
  assert.equal(b.width, 0);
  assert.deepEqual(b.point, { x: 100, y: 0 });
  assert.deepEqual(b.roads, ['wb', 'nb', 'be', 'bn']);
  assert.deepEqual(
    b.roadLinks.map((l) => [l.type, l.startRoad, l.endRoad, l.laneLinks.map((ll) => [ll.startLaneIndex, ll.endLaneIndex])]),
    [
      ['go_straight', 'wb', 'be', [[1, 0], [0, 0]]], // links 0 and 3 share their states: one roadLink
      ['turn_left', 'wb', 'bn', [[0, 0]]],
      ['turn_left', 'nb', 'be', [[0, 0]]],
    ],
  );
  const [straight, left, nbLeft] = b.roadLinks;
  assert.deepEqual(straight.laneLinks[0].points, [{ x: 92, y: -4.8 }, { x: 108, y: -1.6 }]);
  assert.deepEqual(straight.laneLinks[1].points, []);
  // chained internal lanes joined, shared point once
  assert.deepEqual(left.laneLinks[0].points, [{ x: 92, y: -1.6 }, { x: 98, y: -1.6 }, { x: 101.6, y: 2 }, { x: 101.6, y: 8 }]);
  assert.deepEqual(nbLeft.laneLinks[0].points, []);
  assert.deepEqual(b.trafficLight.lightphases, [
    { time: 30, availableRoadLinks: [0, 1] },
    { time: 3, availableRoadLinks: [] },
    { time: 20, availableRoadLinks: [2] },
    { time: 3, availableRoadLinks: [] },
  ]);
  const w = net.intersections[0];
  assert.deepEqual(w.roads, ['wb']);
  assert.deepEqual(w.roadLinks, []);
});

test('tiny net: a junction without tlLogic gets one phase with every link', () => {
  const unsignalised = NET.replace(/ tl="B" linkIndex="\d"/g, '').replace(/<tlLogic[\s\S]*<\/tlLogic>/, '');
  const b = parseSumoNet(unsignalised).intersections[1];
  assert.equal(b.roadLinks.length, 3);
  assert.deepEqual(b.trafficLight.lightphases.map((p) => p.availableRoadLinks), [[0, 1, 2]]);
});

test('tiny net: an edge\'s street name (netconvert --output.street-names) is the road\'s name, in the network and through a CityFlow roadnet', () => {
  const named = NET
    .replace('<edge id="wb" from="W"', '<edge id="wb" name="Hauptstraße" from="W"')
    .replace('<edge id="nb" from="N"', '<edge id="nb" name="  " from="N"')
    .replace('<edge id="be" from="B"', '<edge id="be" name="Am Markt &amp; Co" from="B"');
  const roadnet = parseSumoNet(named);
  const byId = new Map(roadnet.roads.map((r) => [r.id, r]));
  assert.equal(byId.get('wb')!.name, 'Hauptstraße');
  assert.equal(byId.get('be')!.name, 'Am Markt & Co', 'XML entities decoded');
  assert.ok(!('name' in byId.get('nb')!), 'a blank name is no name');
  assert.ok(!('name' in byId.get('bn')!), 'an edge without one has none');
  const net = new engine.Network(roadnet);
  assert.deepEqual(net.roadIds.map((id) => net.roadNames[net.roadIndex.get(id)!]), net.roadIds.map((id) => byId.get(id)!.name ?? null));
  // a CityFlow roadnet keeps it (CityFlow itself ignores the key); one that is no string is refused by path
  const again = engine.parseRoadnet(JSON.stringify(roadnet));
  assert.deepEqual(again.roads.map((r) => r.name), roadnet.roads.map((r) => r.name));
  const bad = JSON.parse(JSON.stringify(roadnet));
  bad.roads[0].name = 7;
  assert.throws(() => engine.parseRoadnet(JSON.stringify(bad)), /roads\[0\]\.name: expected a string, got 7/);
});

test('tiny net: pedestrian lanes and sidewalk-only edges are not CityFlow lanes', () => {
  const withSidewalk = NET
    .replace('<lane id="wb_0"', '<lane id="wb_s" index="0" allow="pedestrian" speed="2" length="92" shape="0,-8 92,-8"/>\n    <lane id="wb_0"')
    .replace(/id="wb_0" index="0"/, 'id="wb_0" index="1"')
    .replace(/id="wb_1" index="1"/, 'id="wb_1" index="2"')
    .replace(/(from="wb" to="\w+" fromLane=")(\d)/g, (_m, p: string, i: string) => `${p}${Number(i) + 1}`);
  const net = parseSumoNet(withSidewalk);
  const wb = net.roads.find((r) => r.id === 'wb')!;
  assert.equal(wb.lanes.length, 2);
  const links = net.intersections[1].roadLinks;
  assert.deepEqual(links[0].laneLinks.map((l) => [l.startLaneIndex, l.endLaneIndex]), [[1, 0], [0, 0]]);
});

test('tiny routes: vType, vehicle, route by id, flows by period, vehsPerHour, number and probability, from/to', () => {
  const { scenario: { roadnet, flows } } = loadSumoScenario({ net: NET, routes: ROUTES });
  assert.equal(roadnet.roads.length, 4);
  const car = {
    length: 4.5, width: 1.8, maxPosAcc: 3, maxNegAcc: 5, usualPosAcc: 3, usualNegAcc: 5,
    minGap: 2, maxSpeed: 55.56, headwayTime: 1.5,
  };
  const dflt = {
    length: 5, width: 1.8, maxPosAcc: 2.6, maxNegAcc: 4.5, usualPosAcc: 2.6, usualNegAcc: 4.5,
    minGap: 2.5, maxSpeed: 55.56, headwayTime: 1,
  };
  const eps = 1e-3; // SUMO's end is exclusive
  assert.deepEqual(flows, [
    { vehicle: car, route: ['wb', 'be'], interval: 10, startTime: 0, endTime: 100 - eps },
    { vehicle: dflt, route: ['wb', 'bn'], interval: 10, startTime: 0, endTime: 50 - eps },
    { vehicle: dflt, route: ['nb', 'be'], interval: 4, startTime: 0, endTime: 60 - eps },
    { vehicle: car, route: ['wb', 'be'], interval: 1, startTime: 3, endTime: 3 },
    { vehicle: dflt, route: ['wb', 'bn'], interval: 1, startTime: 5, endTime: 5 },
    { vehicle: dflt, route: ['nb', 'be'], interval: 10, startTime: 10, endTime: 70 - eps },
  ]);
  assertRoutesConnected(roadnet, flows);
});

test('routes: route distributions, trips, depart "now", default end', () => {
  const net = parseSumoNet(NET);
  const flows = parseSumoRoutes(`<routes>
    <routeDistribution id="d">
      <route id="a" edges="wb be" probability="3"/>
      <route id="b" edges="wb bn" probability="1"/>
    </routeDistribution>
    <flow id="f" begin="0" period="8" route="d"/>
    <vehicle id="v" depart="now" route="d"/>
    <trip id="t" depart="12.9" from="nb" to="be"/>
  </routes>`, net, 'rou.xml', { end: 3600 });
  assert.deepEqual(flows.map((f) => [f.route.join(' '), f.interval, f.startTime, f.endTime]), [
    ['wb be', 1, 0, 0],
    ['wb be', 8 / 0.75, 0, 3600 - 1e-3],
    ['wb bn', 32, 0, 3600 - 1e-3],
    ['nb be', 1, 12, 12],
  ]);
});

test('routes: a vTypeDistribution of child vTypes splits a flow by share and gives vehicles their vTypes in their shares', () => {
  const vehicles = Array.from({ length: 10 }, (_, i) => `<vehicle id="v${i}" type="d" depart="${i}" route="r"/>`).join('\n');
  const { scenario: { flows }, warnings } = loadSumoScenario({ net: NET, routes: `<routes>
    <vTypeDistribution id="d">
      <vType id="car" length="4.5" probability="0.7"/>
      <vType id="truck" length="12" accel="1.2" probability="0.3"/>
    </vTypeDistribution>
    <route id="r" edges="wb be"/>
    <flow id="f" type="d" begin="0" end="100" period="2" route="r"/>
    <flow id="g" type="truck" begin="0" end="100" period="5" route="r"/>
    ${vehicles}
  </routes>` });
  assert.deepEqual(warnings, []);
  const flow = flows.filter((f) => f.startTime === 0 && f.endTime > 0);
  assert.deepEqual(flow.map((f) => [f.vehicle.length, +f.interval.toFixed(6)]), [[4.5, +(2 / 0.7).toFixed(6)], [12, +(2 / 0.3).toFixed(6)], [12, 5]]);
  assert.equal(flow[1].vehicle.maxPosAcc, 1.2);
  // a child vType is usable by its own id (flow "g"); vehicles: 7 cars and 3 trucks, the first the most probable
  const single = flows.filter((f) => f.startTime === f.endTime).map((f) => f.vehicle.length);
  assert.deepEqual(single, [4.5, 12, 4.5, 4.5, 4.5, 12, 4.5, 4.5, 12, 4.5]);
  assert.equal(single.filter((l) => l === 12).length, 3);
});

test('routes: vTypeDistribution by "vTypes" (with "probabilities", with the vTypes\' own probability, naming a distribution), and with a route distribution', () => {
  const net = parseSumoNet(NET);
  const flows = parseSumoRoutes(`<routes>
    <vType id="van" length="6" probability="3"/>
    <vType id="bus" length="14"/>
    <vTypeDistribution id="p" vTypes="van bus" probabilities="0.25 0.75"/>
    <vTypeDistribution id="own" vTypes="van bus"/>
    <vTypeDistribution id="nest" vTypes="p bus" probabilities="2 2"/>
    <routeDistribution id="rd">
      <route id="a" edges="wb be" probability="3"/>
      <route id="b" edges="wb bn" probability="1"/>
    </routeDistribution>
    <route id="s" edges="wb be"/>
    <flow id="fp" type="p" begin="0" end="10" period="1" route="s"/>
    <flow id="fo" type="own" begin="0" end="10" period="1" route="s"/>
    <flow id="fn" type="nest" begin="0" end="10" period="1" route="s"/>
    <flow id="fx" type="p" begin="0" end="10" period="1" route="rd"/>
  </routes>`, net, 'rou.xml');
  const got = flows.map((f) => [f.vehicle.length, f.route.join(' '), +f.interval.toFixed(6)]);
  const iv = (share: number) => +(1 / share).toFixed(6);
  assert.deepEqual(got, [
    [6, 'wb be', iv(0.25)], [14, 'wb be', iv(0.75)],
    [6, 'wb be', iv(0.75)], [14, 'wb be', iv(0.25)],
    // nest: half p (0.125 van, 0.375 bus), half bus
    [6, 'wb be', iv(0.125)], [14, 'wb be', iv(0.375)], [14, 'wb be', iv(0.5)],
    // the product of the two shares
    [6, 'wb be', iv(0.25 * 0.75)], [6, 'wb bn', iv(0.25 * 0.25)], [14, 'wb be', iv(0.75 * 0.75)], [14, 'wb bn', iv(0.75 * 0.25)],
  ]);
  // a vehicle with both distributions draws each apart: 4 vehicles take 3 "a" and 1 "b", 1 van and 3 buses
  const v = parseSumoRoutes(`<routes>
    <vType id="van" length="6"/><vType id="bus" length="14"/>
    <vTypeDistribution id="p" vTypes="van bus" probabilities="0.25 0.75"/>
    <routeDistribution id="rd"><route id="a" edges="wb be" probability="3"/><route id="b" edges="wb bn" probability="1"/></routeDistribution>
    ${[0, 1, 2, 3].map((i) => `<vehicle id="v${i}" type="p" depart="${i}" route="rd"/>`).join('')}
  </routes>`, net);
  assert.deepEqual(v.map((f) => f.vehicle.length).sort(), [14, 14, 14, 6]);
  assert.deepEqual(v.map((f) => f.route[1]).sort(), ['be', 'be', 'be', 'bn']);
});

test('errors: vTypeDistribution (unknown vType, probabilities count, negative, empty, shared ids, defined later)', () => {
  const net = parseSumoNet(NET);
  const routes = (body: string) => () => parseSumoRoutes(`<routes>\n<vType id="van"/><vType id="bus"/>\n${body}\n</routes>`, net, 'r.rou.xml');
  assertScenarioError(routes('<vTypeDistribution id="d" vTypes="van lorry"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /unknown vType "lorry" in "vTypes"/);
  assertScenarioError(routes('<vTypeDistribution id="d" vTypes="van bus" probabilities="1"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /attribute "probabilities" has 1 values for 2 vTypes in "vTypes"/);
  assertScenarioError(routes('<vTypeDistribution id="d" vTypes="van bus" probabilities="1 x"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /attribute "probabilities" expected numbers, got "x"/);
  assertScenarioError(routes('<vTypeDistribution id="d" vTypes="van bus" probabilities="1 -1"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /negative \(-1\)/);
  assertScenarioError(routes('<vTypeDistribution id="d"><vType id="t" probability="-1"/></vTypeDistribution>'),
    'r.rou.xml', '<vTypeDistribution id="d"> <vType id="t">', /attribute "probability" must be >= 0, got -1/);
  assertScenarioError(routes('<vTypeDistribution id="d"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /no vTypes with positive probability/);
  assertScenarioError(routes('<vTypeDistribution id="d" vTypes="van" probabilities="0"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /no vTypes with positive probability/);
  assertScenarioError(routes('<vTypeDistribution id="van" vTypes="bus"/>'),
    'r.rou.xml', '<vTypeDistribution id="van">', /duplicate vType or vTypeDistribution id "van"/);
  assertScenarioError(routes('<vTypeDistribution id="d" vTypes="bus"/><vTypeDistribution id="d" vTypes="van"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /duplicate vType or vTypeDistribution id "d"/);
  assertScenarioError(routes('<vTypeDistribution id="d"><vType id="bus"/></vTypeDistribution>'),
    'r.rou.xml', '<vTypeDistribution id="d"> <vType id="bus">', /duplicate vType or vTypeDistribution id "bus"/);
  assertScenarioError(routes('<vTypeDistribution id="d" vTypes="e"/><vTypeDistribution id="e" vTypes="van"/>'),
    'r.rou.xml', '<vTypeDistribution id="d">', /vTypeDistribution "e" in "vTypes" must be defined before this one/);
  // nothing dropped in silence: an attribute the loader does not read is named in the warning
  const { warnings } = loadSumoScenario({ net: NET, routes: '<routes><vTypeDistribution id="d" deterministic="5"><vType id="t"/></vTypeDistribution>'
    + '<vehicle id="x" type="d" depart="0"><route edges="wb be"/></vehicle></routes>' });
  assert.match(warnings.join('\n'), /<vTypeDistribution> deterministic \(5\) on 1 vTypeDistributions/);
});

// ---------------------------------------------------------------- errors

test('errors: malformed XML names line and column', () => {
  const xml = '<net>\n  <edge id="a">\n    <lane id="a_0" index="0"\n  </edge>\n</net>';
  const e = assertScenarioError(() => parseSumoNet(xml, 'bad.net.xml'), 'bad.net.xml', /^line 4, column \d+$/, /malformed XML/);
  assert.match(e.message, /^bad\.net\.xml: line 4, column \d+: malformed XML: /);
  assertScenarioError(() => parseSumoNet('<net><edge id="x"></net>'), 'net.xml', /^line 1, column \d+$/, /closing tag/);
  assertScenarioError(() => parseSumoNet(''), 'net.xml', /^line 1/, /malformed XML/);
});

test('errors: a DOCTYPE declaring entities is refused by name, before anything expands', () => {
  // an external entity would read another file into the network's ids; a huge one would fill memory
  const body = NET.replace('<?xml version="1.0" encoding="UTF-8"?>\n', '').replace('<edge id="wb"', '<edge id="&x;wb"');
  const withDoctype = (subset: string) => `<?xml version="1.0"?>\n<!DOCTYPE net [\n  ${subset}\n]>\n${body}`;
  assertScenarioError(() => parseSumoNet(withDoctype('<!ENTITY x SYSTEM "file:///etc/passwd">'), 'x.net.xml'),
    'x.net.xml', 'line 3', /the DOCTYPE declares entity "x": entities are not supported/);
  assertScenarioError(() => parseSumoNet(withDoctype(`<!ENTITY x "${'a'.repeat(50_000)}">`), 'x.net.xml'),
    'x.net.xml', 'line 3', /declares entity "x"/);
  assertScenarioError(() => parseSumoNet(withDoctype('<!ENTITY x "">'), 'x.net.xml'), 'x.net.xml', 'line 3', /declares entity "x"/);
  assertScenarioError(() => parseSumoNet(withDoctype('<!ENTITY % p SYSTEM "http://example.org/p.dtd"> %p;'), 'x.net.xml'),
    'x.net.xml', 'line 3', /declares parameter entity "p"/);
  // a quoted ">" in the external id does not hide the declarations that follow
  assertScenarioError(() => parseSumoNet(`<!DOCTYPE net PUBLIC "a>b" "c" [<!ENTITY x "y">]>\n${body}`, 'x.net.xml'),
    'x.net.xml', 'line 1', /declares entity "x"/);
  assertScenarioError(
    () => parseSumoRoutes(`<!DOCTYPE routes [<!ENTITY e SYSTEM "/dev/zero">]><routes/>`, parseSumoNet(NET), 'r.rou.xml'),
    'r.rou.xml', 'line 1', /declares entity "e"/,
  );
  // a DOCTYPE without entities, and the built-in entities, are fine
  const net = parseSumoNet(`<?xml version="1.0"?>\n<!DOCTYPE net>\n${NET.replace('<?xml version="1.0" encoding="UTF-8"?>\n', '').replace(/"wb"/g, '"w&amp;b"').replace(/"wb_/g, '"w&amp;b_')}`);
  assert.ok(net.roads.some((r) => r.id === 'w&b'));
});

test('errors: the parser\'s limits (nesting, reserved names, a second DOCTYPE) are one-line scenario errors with a line', () => {
  const deep = (n: number) => `<net>\n${'<param>\n'.repeat(n)}${'</param>'.repeat(n)}</net>`;
  // <net> is the first level, the 100th <param> on line 101 the 101st
  assertScenarioError(() => parseSumoNet(deep(150), 'd.net.xml'), 'd.net.xml', 'line 101', /^cannot read the XML: elements nested more than 100 deep$/);
  assertScenarioError(() => parseSumoNet(deep(100_000), 'd.net.xml'), 'd.net.xml', 'line 101', /nested more than 100 deep/);
  assert.deepEqual(parseSumoNet(deep(90)), { intersections: [], roads: [] });
  // comments, CDATA and empty elements do not count as levels
  assert.deepEqual(parseSumoNet(`<net>${'<!-- <a> --><![CDATA[<a>]]><a/><p>'.repeat(99)}${'</p>'.repeat(99)}</net>`), { intersections: [], roads: [] });
  assertScenarioError(() => parseSumoNet('<net>\n\n<__proto__ id="x"/></net>', 'p.net.xml'), 'p.net.xml', 'line 3', /^cannot read the XML: Invalid name: "__proto__"/);
  assertScenarioError(() => parseSumoNet('<!DOCTYPE net>\n<!DOCTYPE net>\n<net/>', 'p.net.xml'), 'p.net.xml', 'line 2', /Multiple DOCTYPE/);
  // a value quoted from the file keeps the message on one line
  const e = assertScenarioError(() => parseSumoNet(NET.replace('id="wb_1" index="1" speed="13.89"', 'id="wb_1" index="1" speed="1\n3"')),
    'net.xml', '<edge id="wb"> <lane index="1">', /expected a number/);
  assert.doesNotMatch(e.message, /\n/);
});

test('errors: bad number, missing attribute, unknown junction', () => {
  assertScenarioError(
    () => parseSumoNet(NET.replace('id="wb_1" index="1" speed="13.89"', 'id="wb_1" index="1" speed="fast"')),
    'net.xml', '<edge id="wb"> <lane index="1">', /attribute "speed" expected a number, got "fast"/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace('<phase duration="20"', '<phase duration="abc"')),
    'net.xml', '<tlLogic id="B"> <phase> #2', /attribute "duration" expected a number, got "abc"/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace(' x="100" y="0"', ' x="100"')),
    'net.xml', '<junction id="B">', /missing attribute "y"/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace('from="N" to="B"', 'from="Q" to="B"')),
    'net.xml', '<edge id="nb">', /unknown junction "Q"/,
  );
});

test('errors: a tlLogic without phases, with a negative duration or a cycle of (almost) no time', () => {
  assertScenarioError(
    () => parseSumoNet(NET.replace('<phase duration="20"', '<phase duration="-20"')),
    'net.xml', '<tlLogic id="B"> <phase> #2', /attribute "duration" must be >= 0, got -20/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace(/<phase [^>]*>/g, '')),
    'net.xml', '<tlLogic id="B">', /has no <phase>/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace(/duration="\d+"/g, 'duration="0"')),
    'net.xml', '<tlLogic id="B">', /durations add up to 0 s/,
  );
  // a phase of 0 s alone is fine
  assert.equal(parseSumoNet(NET.replace('duration="3"', 'duration="0"')).intersections.find((i) => i.id === 'B')!.trafficLight.lightphases[1].time, 0);
});

test('errors: a lane speed or width that is not positive', () => {
  assertScenarioError(
    () => parseSumoNet(NET.replace('id="wb_1" index="1" speed="13.89"', 'id="wb_1" index="1" speed="-13.89"')),
    'net.xml', '<edge id="wb"> <lane index="1">', /attribute "speed" must be > 0, got -13.89/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace('id="bn_0" index="0" speed="11.11"', 'id="bn_0" index="0" speed="0"')),
    'net.xml', '<edge id="bn"> <lane index="0">', /attribute "speed" must be > 0, got 0/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace('width="3.5"', 'width="-3.5"')),
    'net.xml', '<edge id="be"> <lane index="0">', /attribute "width" must be > 0, got -3.5/,
  );
});

test('errors: vType values out of range', () => {
  const net = parseSumoNet(NET);
  const vType = (attrs: string) => () => parseSumoRoutes(`<routes><vType id="t" ${attrs}/></routes>`, net, 'r.rou.xml');
  assertScenarioError(vType('length="-4.5"'), 'r.rou.xml', '<vType id="t">', /attribute "length" must be > 0, got -4.5/);
  assertScenarioError(vType('accel="0"'), 'r.rou.xml', '<vType id="t">', /attribute "accel" must be > 0, got 0/);
  assertScenarioError(vType('decel="-5"'), 'r.rou.xml', '<vType id="t">', /attribute "decel" must be > 0, got -5/);
  assertScenarioError(vType('maxSpeed="-70"'), 'r.rou.xml', '<vType id="t">', /attribute "maxSpeed" must be > 0, got -70/);
  assertScenarioError(vType('width="0"'), 'r.rou.xml', '<vType id="t">', /attribute "width" must be > 0, got 0/);
  assertScenarioError(vType('minGap="-2"'), 'r.rou.xml', '<vType id="t">', /attribute "minGap" must be >= 0, got -2/);
  assertScenarioError(vType('tau="-1.5"'), 'r.rou.xml', '<vType id="t">', /attribute "tau" must be >= 0, got -1.5/);
  assert.doesNotThrow(vType('minGap="0" tau="0"'));
});

test('errors: a negative depart and malformed times', () => {
  const net = parseSumoNet(NET);
  const routes = (body: string) => () => parseSumoRoutes(`<routes>\n${body}\n</routes>`, net, 'r.rou.xml');
  assertScenarioError(routes('<vehicle id="x" depart="-5"><route edges="wb be"/></vehicle>'),
    'r.rou.xml', '<vehicle id="x">', /attribute "depart" must be >= 0, got -5/);
  assertScenarioError(routes('<vehicle id="x" depart="1::"><route edges="wb be"/></vehicle>'),
    'r.rou.xml', '<vehicle id="x">', /attribute "depart" expected a time, got "1::"/);
  assertScenarioError(routes('<flow id="f" begin="0" end="1:" period="2" from="wb" to="be"/>'),
    'r.rou.xml', '<flow id="f">', /attribute "end" expected a time, got "1:"/);
  assertScenarioError(routes('<vehicle id="x" depart="1:2:3:4:5"><route edges="wb be"/></vehicle>'),
    'r.rou.xml', '<vehicle id="x">', /expected a time, got "1:2:3:4:5"/);
  const [v] = routes('<vehicle id="x" depart="1:02:03"><route edges="wb be"/></vehicle>')();
  assert.equal(v.startTime, 3723);
});

test('errors: duplicate edge and junction ids', () => {
  assertScenarioError(
    () => parseSumoNet(NET.replace('<edge id="be"', '<edge id="wb" from="B" to="E"><lane id="x_0" index="0" speed="10" shape="108,-1.75 200,-1.75"/></edge><edge id="be"')),
    'net.xml', '<edge id="wb">', /duplicate edge id "wb"/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace('<junction id="E"', '<junction id="B" type="dead_end" x="999" y="0"/><junction id="E"')),
    'net.xml', '<junction id="B">', /duplicate junction id "B"/,
  );
});

test('errors: a connection to an unknown edge or lane', () => {
  assertScenarioError(
    () => parseSumoNet(NET.replace('<connection from="wb" to="be" fromLane="0"', '<connection from="zz" to="be" fromLane="0"')),
    'net.xml', '<connection from="zz" to="be" fromLane="0" toLane="0">', /unknown edge "zz"/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace('<connection from="wb" to="be" fromLane="0"', '<connection from="wb" to="be" fromLane="7"')),
    'net.xml', '<connection from="wb" to="be" fromLane="7" toLane="0">', /edge "wb" has no lane 7/,
  );
  assertScenarioError(
    () => parseSumoNet(NET.replace('<connection from="nb" to="be" fromLane="0" toLane="0"', '<connection from="nb" to="be" fromLane="0" toLane="2"')),
    'net.xml', '<connection from="nb" to="be" fromLane="0" toLane="2">', /edge "be" has no lane 2/,
  );
});

test('errors: duplicate vType and route ids', () => {
  const net = parseSumoNet(NET);
  const routes = (body: string) => () => parseSumoRoutes(`<routes>\n${body}\n</routes>`, net, 'r.rou.xml');
  assertScenarioError(routes('<vType id="car" length="4"/><vType id="car" length="40"/>'),
    'r.rou.xml', '<vType id="car">', /duplicate vType or vTypeDistribution id "car"/);
  assertScenarioError(routes('<route id="r" edges="wb be"/><route id="r" edges="wb bn"/>'),
    'r.rou.xml', '<route id="r">', /duplicate route id "r"/);
  // redefining SUMO's default type once is allowed
  const [f] = routes('<vType id="DEFAULT_VEHTYPE" length="4"/><vehicle id="x" depart="0"><route edges="wb be"/></vehicle>')();
  assert.equal(f.vehicle.length, 4);
});

test('errors: duplicate vehicle, flow and route-distribution ids (SUMO refuses them)', () => {
  const net = parseSumoNet(NET);
  const routes = (body: string) => () => parseSumoRoutes(`<routes>\n<route id="r" edges="wb be"/>\n${body}\n</routes>`, net, 'r.rou.xml');
  assertScenarioError(routes('<vehicle id="v" depart="0" route="r"/><vehicle id="v" depart="5" route="r"/>'),
    'r.rou.xml', '<vehicle id="v">', /duplicate vehicle id "v"/);
  assertScenarioError(routes('<vehicle id="v" depart="0" route="r"/><trip id="v" depart="5" from="wb" to="be"/>'),
    'r.rou.xml', '<trip id="v">', /duplicate vehicle id "v" \(vehicles and trips share their ids\)/);
  assertScenarioError(routes('<flow id="f" period="5" route="r"/><flow id="f" period="9" route="r"/>'),
    'r.rou.xml', '<flow id="f">', /duplicate flow id "f"/);
  assertScenarioError(routes('<vehicle depart="0" route="r"/>'), 'r.rou.xml', '<vehicle>', /missing attribute "id"/);
  assertScenarioError(routes('<routeDistribution id="r"><route refId="r"/></routeDistribution>'),
    'r.rou.xml', '<routeDistribution id="r">', /duplicate route or routeDistribution id "r"/);
  assertScenarioError(routes('<routeDistribution id="d"><route refId="r"/></routeDistribution><routeDistribution id="d"><route refId="r"/></routeDistribution>'),
    'r.rou.xml', '<routeDistribution id="d">', /duplicate route or routeDistribution id "d"/);
  // a flow's vehicles are named "f.0", "f.1", ...: a vehicle may share the flow's id
  assert.equal(routes('<vehicle id="f" depart="0" route="r"/><flow id="f" period="5" end="20" route="r"/>')().length, 2);
});

test('errors: a flow of more than 100 vehicles per second', () => {
  const net = parseSumoNet(NET);
  const routes = (body: string) => () => parseSumoRoutes(`<routes>\n${body}\n</routes>`, net, 'r.rou.xml');
  assertScenarioError(routes('<flow id="f" period="1e-9" from="wb" to="be"/>'), 'r.rou.xml', '<flow id="f">',
    /attribute "period" gives 1e-9 s between two vehicles: implausible \(more than 100 vehicles per second from one flow\)/);
  assertScenarioError(routes('<flow id="f" vehsPerHour="1e12" from="wb" to="be"/>'), 'r.rou.xml', '<flow id="f">', /attribute "vehsPerHour" gives/);
  assertScenarioError(routes('<flow id="f" begin="0" end="50" number="1000000000000" from="wb" to="be"/>'), 'r.rou.xml', '<flow id="f">', /attribute "number" gives/);
  assert.equal(routes('<flow id="f" end="10" vehsPerHour="360000" from="wb" to="be"/>')()[0].interval, 0.01);
  // an empty window emits nothing, whatever its number
  assert.deepEqual(routes('<flow id="f" begin="5" end="5" number="3" from="wb" to="be"/>')(), []);
});

test('errors: two lanes of an edge with the same index', () => {
  // it used to surface in the routes file as "edges wb and bn are not connected"
  assertScenarioError(
    () => parseSumoNet(NET.replace('id="wb_1" index="1"', 'id="wb_1" index="0"')),
    'net.xml', '<edge id="wb"> <lane index="0">', /duplicate lane index 0/,
  );
});

test('errors: unknown edge, unconnected edges, unknown vType, bad depart and numbers in routes', () => {
  const net = parseSumoNet(NET);
  const routes = (body: string) => () => parseSumoRoutes(`<routes>\n${body}\n</routes>`, net, 'r.rou.xml');
  assertScenarioError(routes('<vehicle id="x" depart="0"><route edges="wb zz"/></vehicle>'),
    'r.rou.xml', '<vehicle id="x"> <route>', /unknown edge "zz"/);
  assertScenarioError(routes('<route id="r" edges="wb nb"/>'), 'r.rou.xml', '<route id="r">', /edges "wb" and "nb" are not connected/);
  assertScenarioError(routes('<flow id="f" period="2" from="wb" to="nope"/>'), 'r.rou.xml', '<flow id="f">', /unknown edge "nope"/);
  assertScenarioError(routes('<flow id="f" period="2" from="be" to="wb"/>'), 'r.rou.xml', '<flow id="f">', /no path from edge "be" to edge "wb"/);
  assertScenarioError(routes('<vehicle id="x" type="truck" depart="0" route="r"/>'),
    'r.rou.xml', '<vehicle id="x">', /unknown vType "truck"/);
  assertScenarioError(routes('<vehicle id="x" depart="0" route="r9"/>'), 'r.rou.xml', '<vehicle id="x">', /unknown route "r9"/);
  assertScenarioError(routes('<vType id="t" accel="abc"/>'), 'r.rou.xml', '<vType id="t">', /attribute "accel" expected a number, got "abc"/);
  assertScenarioError(routes('<vehicle id="x" depart="triggered"><route edges="wb be"/></vehicle>'),
    'r.rou.xml', '<vehicle id="x">', /depart="triggered" is not supported/);
  assertScenarioError(routes('<vehicle id="x"><route edges="wb be"/></vehicle>'), 'r.rou.xml', '<vehicle id="x">', /missing attribute "depart"/);
  assertScenarioError(routes('<flow id="f" begin="0" end="10" from="wb" to="be"/>'),
    'r.rou.xml', '<flow id="f">', /needs one of attributes "period"/);
  assertScenarioError(routes('<flow id="f" period="-3" from="wb" to="be"/>'), 'r.rou.xml', '<flow id="f">', /"period" must be positive/);
  assertScenarioError(() => parseSumoRoutes('<net/>', net), 'rou.xml', '', /<routes> root/);
});

// ---------------------------------------------------------------- real data: Hangzhou 4x4

const DATA = new URL('../../../../shared/data/', import.meta.url);
const SUMO_DIR = new URL('hangzhou_4x4/sumo/', DATA);
const NET_FILE = fileURLToPath(new URL('hangzhou_4x4_gudang_18041610_1h.net.xml', SUMO_DIR));
const ROU_FILE = fileURLToPath(new URL('hangzhou_4x4_gudang_18041610_1h.rou.xml', SUMO_DIR));
const TWIN_FILE = fileURLToPath(new URL('hangzhou_4x4/roadnet_4_4.json', DATA));
const skipReal = existsSync(NET_FILE) && existsSync(ROU_FILE) ? false : 'Hangzhou SUMO data absent';

test('Hangzhou 4x4: network', { skip: skipReal }, (t) => {
  const xml = readFileSync(NET_FILE, 'utf8');
  const t0 = performance.now();
  const net = parseSumoNet(xml, 'hangzhou.net.xml');
  const ms = performance.now() - t0;
  t.diagnostic(`parsed ${(xml.length / 1e6).toFixed(2)} MB net in ${ms.toFixed(0)} ms`);
  assert.ok(ms < 1000, `parse took ${ms} ms`);

  assert.equal(net.roads.length, 80);
  assert.equal(net.intersections.length, 32);
  const real = net.intersections.filter((i) => !i.virtual);
  assert.equal(real.length, 16);
  for (const i of real) {
    assert.equal(i.roads.length, 8, i.id);
    assert.equal(i.roadLinks.length, 12, i.id); // 4 approaches x (left, straight, right), as in the CityFlow twin
    assert.equal(i.trafficLight.lightphases.length, 16, i.id);
    for (const p of i.trafficLight.lightphases) {
      if (p.time === 5) assert.deepEqual(p.availableRoadLinks, [], 'the 5 s "s" phases are all-red');
      else assert.ok(p.availableRoadLinks.length > 0);
    }
  }
  for (const i of net.intersections.filter((i) => i.virtual)) assert.equal(i.roads.length, 2, i.id);

  // Lane lengths as CityFlow computes them vs SUMO's lane lengths.
  const sumoLength = new Map<string, number>();
  for (const m of xml.matchAll(/<lane id="([^":]+)" index="\d+"[^>]*? length="([\d.]+)"/g)) sumoLength.set(m[1], Number(m[2]));
  let sumRel = 0;
  let count = 0;
  const laneEnd = new Map<string, Point>();
  const laneStart = new Map<string, Point>();
  for (const road of net.roads) {
    lanePolylines(road).forEach((pts, k) => {
      const sumoId = `${road.id}_${road.lanes.length - 1 - k}`;
      const expected = sumoLength.get(sumoId);
      assert.ok(expected !== undefined, sumoId);
      sumRel += Math.abs(length(pts) - expected) / expected;
      count++;
      laneStart.set(`${road.id}#${k}`, pts[0]);
      laneEnd.set(`${road.id}#${k}`, pts[pts.length - 1]);
    });
  }
  assert.equal(count, 240);
  const meanRel = sumRel / count;
  t.diagnostic(`mean relative lane length error ${(meanRel * 100).toFixed(3)}%`);
  assert.ok(meanRel < 0.03, `mean relative error ${meanRel}`);

  // Internal-lane paths join the lanes they connect.
  for (const i of real) {
    for (const rl of i.roadLinks) {
      for (const ll of rl.laneLinks) {
        assert.ok(ll.points.length >= 2);
        assert.ok(close(ll.points[0], laneEnd.get(`${rl.startRoad}#${ll.startLaneIndex}`)!, 0.05));
        assert.ok(close(ll.points[ll.points.length - 1], laneStart.get(`${rl.endRoad}#${ll.endLaneIndex}`)!, 0.05));
      }
    }
  }

  if (existsSync(TWIN_FILE)) {
    const twin = JSON.parse(readFileSync(TWIN_FILE, 'utf8')) as RoadnetJson;
    assert.deepEqual(net.roads.map((r) => r.id).sort(), twin.roads.map((r) => r.id).sort());
    const key = (i: RoadnetJson['intersections'][number]) =>
      `${i.id} ${i.virtual} ${i.roadLinks.map((l) => `${l.type}:${l.startRoad}>${l.endRoad}`).sort().join(',')}`;
    assert.deepEqual(net.intersections.map(key).sort(), twin.intersections.map(key).sort());
  }
});

test('Hangzhou 4x4: routes', { skip: skipReal }, (t) => {
  const t0 = performance.now();
  const { scenario: { roadnet, flows } } = loadSumoScenario({
    net: readFileSync(NET_FILE, 'utf8'),
    routes: readFileSync(ROU_FILE, 'utf8'),
    netSource: 'hangzhou.net.xml',
    routesSource: 'hangzhou.rou.xml',
  });
  t.diagnostic(`net + 2,983 routes loaded in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(flows.length, 2983);
  assertRoutesConnected(roadnet, flows);
  assert.deepEqual(flows[0].route, ['road_4_0_1', 'road_4_1_1', 'road_4_2_0']);
  assert.equal(flows[flows.length - 1].startTime, 3599);
  for (const f of flows) assert.ok(f.startTime === f.endTime && f.interval === 1);
  // no `type` on the vehicles: SUMO runs them as DEFAULT_VEHTYPE
  assert.equal(flows[0].vehicle.usualPosAcc, 2.6);

  // from/to: shortest path over the real net
  const [ft] = parseSumoRoutes('<routes><flow id="f" begin="0" end="60" period="6" from="road_0_1_0" to="road_3_1_3"/></routes>', roadnet);
  assert.deepEqual(ft.route, ['road_0_1_0', 'road_1_1_0', 'road_2_1_0', 'road_3_1_3']);

  // The converted scenario passes the CityFlow loader's validation, when present.
  const validators = engine as unknown as Record<string, unknown>;
  const validateRoadnet = validators.validateRoadnet as ((v: unknown, s: string) => RoadnetJson) | undefined;
  const validateFlows = validators.validateFlows as ((v: unknown, s: string, r?: RoadnetJson) => FlowJson[]) | undefined;
  if (validateRoadnet && validateFlows) {
    const checked = validateRoadnet(JSON.parse(JSON.stringify(roadnet)), 'converted roadnet');
    validateFlows(JSON.parse(JSON.stringify(flows)), 'converted flows', checked);
  } else {
    t.diagnostic('validateRoadnet/validateFlows not available: skipped');
  }
});
