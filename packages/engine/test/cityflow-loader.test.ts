import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  ScenarioError,
  parseFlows,
  parseRoadnet,
  validateFlows,
  validateRoadnet,
  validateScenario,
} from '@citybrain/engine';

/*
 * A three-node corridor: virtual W -- signalised C -- virtual E, two lanes each way.
 * C has two straight-through links (W->E, E->W) and a two-phase light.
 * W is as bare as CityFlow allows (no width, roadLinks or trafficLight) to exercise defaults.
 */
type J = any; // fixtures are plain JSON, mutated freely to inject errors
const lanes = () => [{ width: 3.5, maxSpeed: 13.9 }, { width: 3.5, maxSpeed: 13.9 }];
const road = (id: string, from: string, to: string, x0: number, x1: number): J => ({
  id, points: [{ x: x0, y: 0 }, { x: x1, y: 0 }], lanes: lanes(), startIntersection: from, endIntersection: to,
});
function roadnet(): J {
  return {
    intersections: [
      { id: 'W', point: { x: -300, y: 0 }, roads: ['W_C', 'C_W'], virtual: true },
      {
        id: 'C', point: { x: 0, y: 0 }, width: 20, roads: ['W_C', 'C_W', 'C_E', 'E_C'], virtual: false,
        roadLinks: [
          { type: 'go_straight', startRoad: 'W_C', endRoad: 'C_E', direction: 0,
            laneLinks: [{ startLaneIndex: 0, endLaneIndex: 0, points: [{ x: -10, y: 0 }, { x: 10, y: 0 }] }, { startLaneIndex: 1, endLaneIndex: 1 }] },
          { type: 'go_straight', startRoad: 'E_C', endRoad: 'C_W', laneLinks: [{ startLaneIndex: 0, endLaneIndex: 0, points: [] }] },
        ],
        trafficLight: { roadLinkIndices: [0, 1], lightphases: [{ time: 5, availableRoadLinks: [] }, { time: 30, availableRoadLinks: [0, 1] }] },
      },
      { id: 'E', point: { x: 300, y: 0 }, width: 0, roads: ['C_E', 'E_C'], roadLinks: [], virtual: true,
        trafficLight: { lightphases: [{ time: 5, availableRoadLinks: [] }] } },
    ],
    roads: [road('W_C', 'W', 'C', -300, 0), road('C_W', 'C', 'W', 0, -300), road('C_E', 'C', 'E', 0, 300), road('E_C', 'E', 'C', 300, 0)],
  };
}
const vehicle = (): J => ({
  length: 5, width: 2, maxPosAcc: 2, maxNegAcc: 4.5, usualPosAcc: 2, usualNegAcc: 4.5, minGap: 2.5, maxSpeed: 11.111, headwayTime: 2,
});
const flow = (route: string[], extra: J = {}): J => ({ vehicle: vehicle(), route, interval: 5, ...extra });

const rn = (o: J) => parseRoadnet(JSON.stringify(o));
const fl = (o: J, net?: J) => parseFlows(JSON.stringify(o), 'flow.json', net && validateRoadnet(net, 'roadnet.json'));

/** asserts fn throws a ScenarioError at exactly `path` whose problem contains `fragment` */
function throwsAt(fn: () => unknown, path: string, fragment: string, source?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
    assert.equal(e.path, path, e.message);
    assert.ok(e.problem.includes(fragment), `"${e.problem}" should contain "${fragment}"`);
    if (source) assert.equal(e.source, source);
    return true;
  });
}

test('a valid roadnet and flow file round-trip', () => {
  const net = rn(roadnet());
  assert.equal(net.roads.length, 4);
  assert.deepEqual(net.roads[0], roadnet().roads[0]);
  const expected = roadnet().intersections[1];
  expected.roadLinks[0].laneLinks[1].points = []; // the only default in C
  assert.deepEqual(net.intersections[1], expected);
  const flows = parseFlows(JSON.stringify([flow(['W_C', 'C_E'], { startTime: 10, endTime: 100 }), flow(['E_C', 'C_W'])]), 'f.json', net);
  assert.equal(flows.length, 2);
  assert.deepEqual(flows[0], { vehicle: vehicle(), route: ['W_C', 'C_E'], interval: 5, startTime: 10, endTime: 100 });
  // The output is itself a valid input, and parsing it again changes nothing.
  assert.deepEqual(rn(net), net);
  assert.deepEqual(parseFlows(JSON.stringify(flows), 'f.json', net), flows);
  assert.doesNotThrow(() => validateScenario(net, flows, 'f.json'));
});

test('defaults are filled and extra fields dropped', () => {
  const net = rn(roadnet());
  const w = net.intersections[0];
  assert.equal(w.width, 0);
  assert.deepEqual(w.roadLinks, []);
  assert.deepEqual(w.trafficLight, { lightphases: [] });
  assert.deepEqual(net.intersections[1].roadLinks[0].laneLinks[1].points, []);
  assert.equal('direction' in net.intersections[1].roadLinks[1], false);
  const raw = flow(['W_C'], { comment: 'x' });
  raw.vehicle.colour = 'red';
  const [f] = fl([raw]);
  assert.equal(f.startTime, 0);
  assert.equal(f.endTime, -1);
  assert.equal('comment' in f, false);
  assert.equal('colour' in f.vehicle, false);
});

test('missing field', () => {
  const o = roadnet();
  delete o.roads[1].lanes[0].width;
  throwsAt(() => rn(o), 'roads[1].lanes[0].width', 'missing (expected a number)', 'roadnet.json');
  const f = flow(['W_C']);
  delete f.vehicle.minGap;
  throwsAt(() => fl([f]), 'flows[0].vehicle.minGap', 'missing', 'flow.json');
  const top = roadnet();
  delete top.roads;
  throwsAt(() => rn(top), 'roads', 'missing (expected an array)');
});

test('wrong type', () => {
  const o = roadnet();
  o.roads[2].lanes[1].maxSpeed = 'fast';
  throwsAt(() => rn(o), 'roads[2].lanes[1].maxSpeed', 'expected a number, got "fast"');
  const v = roadnet();
  v.intersections[1].virtual = 'no';
  throwsAt(() => rn(v), 'intersections[1].virtual', 'expected true or false, got "no"');
  const t = roadnet();
  t.intersections[1].roadLinks[0].type = 'u_turn';
  throwsAt(() => rn(t), 'intersections[1].roadLinks[0].type', 'got "u_turn"');
  const long = roadnet();
  long.roads[0].points[1].x = 'a'.repeat(200);
  throwsAt(() => rn(long), 'roads[0].points[1].x', '...'); // the value is shown truncated
});

test('lane index out of range', () => {
  const o = roadnet();
  o.intersections[1].roadLinks[0].laneLinks[1].endLaneIndex = 2;
  throwsAt(() => rn(o), 'intersections[1].roadLinks[0].laneLinks[1].endLaneIndex', 'lane index 2 is out of range: road "C_E" has 2 lanes (0..1)');
  const f = roadnet();
  f.intersections[1].roadLinks[0].laneLinks[0].startLaneIndex = 0.5;
  throwsAt(() => rn(f), 'intersections[1].roadLinks[0].laneLinks[0].startLaneIndex', 'expected an integer lane index, got 0.5');
});

test('roadLink roads must enter and leave the intersection', () => {
  const o = roadnet();
  o.intersections[1].roadLinks[1].startRoad = 'C_E';
  throwsAt(() => rn(o), 'intersections[1].roadLinks[1].startRoad', 'road "C_E" ends at E, not at this intersection (C)');
  const u = roadnet();
  u.roads[3].endIntersection = 'N';
  throwsAt(() => rn(u), 'roads[3].endIntersection', 'unknown intersection "N"');
});

test('non-virtual intersection without trafficLight', () => {
  const o = roadnet();
  delete o.intersections[1].trafficLight;
  throwsAt(() => rn(o), 'intersections[1].trafficLight', 'non-virtual');
});

test('unknown road in route', () => {
  throwsAt(() => fl([flow(['W_C', 'C_E']), flow(['W_C', 'C_N'])], roadnet()), 'flows[1].route[1]', 'unknown road "C_N"');
});

/** flows parsed against the roadnet, and the loader's warnings */
function routed(flows: J[], net: J): { flows: ReturnType<typeof parseFlows>; warnings: string[] } {
  const warnings: string[] = [];
  return { flows: parseFlows(JSON.stringify(flows), 'flow.json', validateRoadnet(net, 'roadnet.json'), warnings), warnings };
}

test('a flow whose route cannot be driven is dropped with a warning naming it, as CityFlow drops it; the others stay', () => {
  const { flows, warnings } = routed([flow(['W_C', 'C_E']), flow(['W_C', 'C_W']), flow(['W_C', 'E_C']), flow(['W_C']), flow(['E_C', 'C_W'])], roadnet());
  // every flow keeps its index (CityFlow names vehicles flow_{index}_{n}); a dropped one has an empty route
  assert.deepEqual(flows.map((f) => f.route), [['W_C', 'C_E'], [], [], [], ['E_C', 'C_W']]);
  assert.deepEqual(warnings, [
    'flow.json: flows[1] (route "W_C", "C_W"): dropped, as CityFlow drops it: road "C_W" is not reachable from "W_C" (no roadLink at C joins them, nor does a path through other roads)',
    'flow.json: flows[2] (route "W_C", "E_C"): dropped, as CityFlow drops it: road "E_C" is not reachable from "W_C" (no path of roadLinks leads from "W_C" to "E_C")',
    'flow.json: flows[3] (route "W_C"): dropped, as CityFlow drops it: its route is one road, "W_C" (CityFlow routes have at least two)',
  ]);
  // the same road twice in a row counts once (Router::updateShortestPath), so this is one road too
  assert.match(routed([flow(['W_C', 'W_C'])], roadnet()).warnings[0], /flows\[0\].*its route is one road/);
  // Without a roadnet only the structure is checked.
  assert.equal(fl([flow(['W_C', 'C_W'])]).length, 1);
});

test('a route through a roadLink vehicles cannot drive is dropped', () => {
  // a roadLink without laneLinks joins no lane to the next road
  const empty = roadnet();
  empty.intersections[1].roadLinks[0].laneLinks = [];
  assert.match(routed([flow(['W_C', 'C_E'])], empty).warnings[0],
    /flows\[0\].*road "C_E" is not reachable from "W_C" \(its roadLink at C has no laneLinks\)/);
  // a virtual intersection is a boundary: CityFlow reads no roadLinks there
  const virt = roadnet();
  virt.intersections[1].virtual = true;
  const { flows, warnings } = routed([flow(['E_C', 'C_W'])], virt);
  assert.deepEqual(flows[0].route, []);
  assert.match(warnings[0], /road "C_W" is not reachable from "E_C" \(C is virtual, a network boundary: CityFlow drives no roadLink there\)/);
});

test('a virtual intersection\'s trafficLight and roadLinks are ignored, as CityFlow never reads them', () => {
  const o = roadnet();
  // roadLinkIndices pointing at roadLinks it does not have (issue #15), and links that could not even be parsed
  o.intersections[2].trafficLight = { roadLinkIndices: [0, 1, 2, 3], lightphases: [{ time: 5, availableRoadLinks: [0, 7] }] };
  o.intersections[0].roadLinks = [{ type: 'u_turn' }];
  o.intersections[0].trafficLight = 'none';
  const net = rn(o);
  for (const k of [0, 2]) {
    assert.deepEqual(net.intersections[k].roadLinks, []);
    assert.deepEqual(net.intersections[k].trafficLight, { lightphases: [] });
  }
  // a signalised one is still checked
  const c = roadnet();
  c.intersections[1].trafficLight.roadLinkIndices = [0, 2];
  throwsAt(() => rn(c), 'intersections[1].trafficLight.roadLinkIndices[1]', 'roadLink index 2 is out of range');
});

test('availableRoadLinks out of range', () => {
  const o = roadnet();
  o.intersections[1].trafficLight.lightphases[1].availableRoadLinks = [0, 2];
  throwsAt(() => rn(o), 'intersections[1].trafficLight.lightphases[1].availableRoadLinks[1]',
    'roadLink index 2 is out of range: intersection "C" has 2 roadLinks (0..1)');
});

test('a signal plan whose phases add up to (almost) no time is rejected: it would never advance', () => {
  const o = roadnet();
  for (const p of o.intersections[1].trafficLight.lightphases) p.time = 0;
  throwsAt(() => rn(o), 'intersections[1].trafficLight.lightphases', 'add up to 0 s');
  const tiny = roadnet();
  for (const p of tiny.intersections[1].trafficLight.lightphases) p.time = 1e-20;
  throwsAt(() => rn(tiny), 'intersections[1].trafficLight.lightphases', 'at least 1 s');
  // one phase of 0 s (skipped) is fine, and so is a boundary's light
  const one = roadnet();
  one.intersections[1].trafficLight.lightphases[0].time = 0;
  one.intersections[2].trafficLight.lightphases[0].time = 0;
  assert.equal(rn(one).intersections[1].trafficLight.lightphases[0].time, 0);
});

test('km/h speeds and implausible vehicles', () => {
  const o = roadnet();
  o.roads[0].lanes[0].maxSpeed = 60;
  throwsAt(() => rn(o), 'roads[0].lanes[0].maxSpeed',
    '60 m/s is implausible for a road; CityFlow speeds are metres per second (did you give km/h?)');
  const v = flow(['W_C']);
  v.vehicle.maxSpeed = 60;
  throwsAt(() => fl([v]), 'flows[0].vehicle.maxSpeed', '60 m/s is implausible for a vehicle');
  const len = flow(['W_C']);
  len.vehicle.length = 45;
  throwsAt(() => fl([len]), 'flows[0].vehicle.length', 'must be > 0 and <= 30 m, got 45');
  const acc = flow(['W_C']);
  acc.vehicle.maxNegAcc = 0;
  throwsAt(() => fl([acc]), 'flows[0].vehicle.maxNegAcc', 'got 0');
  const gap = flow(['W_C']);
  gap.vehicle.minGap = -1;
  throwsAt(() => fl([gap]), 'flows[0].vehicle.minGap', 'must be >= 0, got -1');
  throwsAt(() => fl([flow(['W_C'], { interval: 0 })]), 'flows[0].interval', 'must be > 0, got 0');
  throwsAt(() => fl([flow([])]), 'flows[0].route', 'at least 1 item');
});

test('a road of zero length, or no longer than the intersection widths its lanes stop short of', () => {
  const zero = roadnet();
  zero.roads[0].points[1] = { x: -300, y: 0 };
  throwsAt(() => rn(zero), 'roads[0].points', 'zero length');
  // C is 20 m wide: a 15 m road from C to E leaves no lane
  const short = roadnet();
  short.roads[2].points[1] = { x: 15, y: 0 };
  throwsAt(() => rn(short), 'roads[2].points', 'the road is 15 m long, no longer than the widths of its intersections (20 m at C + 0 m at E)');
  const fits = roadnet();
  fits.roads[2].points[1] = { x: 25, y: 0 };
  assert.equal(rn(fits).roads[2].points[1].x, 25);
});

test('a flow interval too small to be seconds between two vehicles', () => {
  // one flow at 1e-9 s spawned a billion vehicles a step: the process grew until the system killed it
  throwsAt(() => fl([flow(['W_C'], { interval: 1e-9 })]), 'flows[0].interval',
    '1e-9 s between two vehicles is implausible (more than 100 vehicles per second from one flow)');
  assert.equal(fl([flow(['W_C'], { interval: 0.01 })])[0].interval, 0.01);
});

test('duplicate road id', () => {
  const o = roadnet();
  o.roads[3].id = 'W_C';
  throwsAt(() => rn(o), 'roads[3].id', 'duplicate road id "W_C" (also roads[0])');
});

test('JSON syntax errors give line and column', () => {
  // Node 20 reports no position for "Unexpected token": the loader rescans.
  throwsAt(() => parseRoadnet('{\n  "roads": [],\n  "intersections": [,]\n}'), 'line 3, column 21', 'invalid JSON');
  // V8 "at position N" messages.
  throwsAt(() => parseRoadnet('{\n  "roads" []\n}'), 'line 2, column 11', "Expected ':'");
  throwsAt(() => parseFlows('[\n  {"route": ["a"]}\n', 'f.json'), 'line 2, column 19', 'invalid JSON');
  throwsAt(() => parseRoadnet('<?xml version="1.0"?>\n<net/>', 'x.net.xml'), 'line 1, column 1', 'looks like XML', 'x.net.xml');
  throwsAt(() => parseRoadnet(' \n'), '', 'empty');
});

test('flow file not an array, roadnet not an object', () => {
  throwsAt(() => parseFlows('{"roads": [], "intersections": []}'), '', 'expected a JSON array of flows at the top level, got an object (is this a roadnet file?)');
  throwsAt(() => parseFlows('42'), '', 'got a number');
  throwsAt(() => parseRoadnet('[]'), '', 'got an array (is this a flow file?)');
  throwsAt(() => validateFlows([null], 'mem'), 'flows[0]', 'expected an object, got null', 'mem');
});

// The public research data sets, when checked out next to the project.
const data = new URL('../../../../shared/data/', import.meta.url);
const real = [
  { name: 'hangzhou 4x4', roadnet: 'hangzhou_4x4/roadnet_4_4.json', flow: 'hangzhou_4x4/anon_4_4_hangzhou_real.json', signals: 16, flows: 2983 },
  { name: 'jinan 3x4', roadnet: 'jinan_3x4/roadnet_3_4.json', flow: 'jinan_3x4/anon_3_4_jinan_real.json', signals: 12, flows: 6295 },
];
for (const s of real) {
  const rPath = new URL(s.roadnet, data);
  const fPath = new URL(s.flow, data);
  const present = existsSync(rPath) && existsSync(fPath);
  test(`real data: ${s.name}`, { skip: present ? false : `${s.roadnet} not found under ${data.pathname}` }, () => {
    const net = parseRoadnet(readFileSync(rPath, 'utf8'), s.roadnet);
    const flows = parseFlows(readFileSync(fPath, 'utf8'), s.flow, net);
    assert.equal(net.intersections.filter((i) => !i.virtual).length, s.signals);
    assert.equal(flows.length, s.flows);
  });
}

test('the flow, lane and laneLink checks refuse just past their bounds, at the value\'s path, and pass the bounds', () => {
  // each check tests its value in one expression and builds the path only for an error (Path): each value here
  // must fail, at its path
  const badVehicle: [string, unknown][] = [
    ['length', 30.000001], ['length', 0], ['width', Infinity], ['width', -2], ['maxPosAcc', 15.5], ['maxNegAcc', NaN],
    ['usualPosAcc', '2'], ['usualNegAcc', null], ['minGap', -0.1], ['minGap', Infinity], ['maxSpeed', 55.7], ['headwayTime', -1],
  ];
  for (const [key, value] of badVehicle) {
    const f = flow(['W_C', 'C_E']);
    f.vehicle[key] = value;
    throwsAt(() => validateFlows([flow(['W_C', 'C_E']), f], 'flow.json'), `flows[1].vehicle.${key}`, '');
  }
  const badFlow: [J, string][] = [
    [{ interval: 0.009 }, 'flows[1].interval'], [{ interval: Infinity }, 'flows[1].interval'], [{ startTime: -1 }, 'flows[1].startTime'],
    [{ endTime: NaN }, 'flows[1].endTime'], [{ startTime: 10, endTime: 5 }, 'flows[1].endTime'], [{ route: ['W_C', 3] }, 'flows[1].route[1]'],
    [{ route: 'W_C' }, 'flows[1].route'], [{ vehicle: [] }, 'flows[1].vehicle'],
  ];
  for (const [extra, path] of badFlow) throwsAt(() => validateFlows([flow(['W_C', 'C_E']), flow(['W_C', 'C_E'], extra)], 'flow.json'), path, '');
  // the bounds themselves pass, and as given
  const edge = flow(['W_C', 'C_E'], { interval: 0.01, startTime: 0, endTime: 0 });
  Object.assign(edge.vehicle, { length: 30, maxPosAcc: 15, minGap: 0, maxSpeed: 55.6, headwayTime: 0 });
  assert.deepEqual(validateFlows([edge], 'flow.json')[0], { ...edge, vehicle: { ...edge.vehicle } });

  const at = 'intersections[1].roadLinks[0].laneLinks[0]';
  const badLaneLink: [J, string][] = [
    [{ startLaneIndex: 2 }, `${at}.startLaneIndex`], [{ startLaneIndex: -1 }, `${at}.startLaneIndex`], [{ endLaneIndex: 1.5 }, `${at}.endLaneIndex`],
    [{ endLaneIndex: '0' }, `${at}.endLaneIndex`], [{ points: [{ x: 0, y: NaN }] }, `${at}.points[0].y`], [{ points: {} }, `${at}.points`],
    [{ points: [[0, 0]] }, `${at}.points[0]`],
  ];
  for (const [change, path] of badLaneLink) {
    const o = roadnet();
    Object.assign(o.intersections[1].roadLinks[0].laneLinks[0], change);
    throwsAt(() => validateRoadnet(o, 'roadnet.json'), path, '');
  }
  for (const [key, value] of [['width', 0], ['width', Infinity], ['maxSpeed', 55.7], ['maxSpeed', '13']] as [string, unknown][]) {
    const o = roadnet();
    o.roads[1].lanes[1][key] = value;
    throwsAt(() => validateRoadnet(o, 'roadnet.json'), `roads[1].lanes[1].${key}`, '');
  }
});
