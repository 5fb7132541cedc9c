/**
 * SUMO files as SUMO's own tools write them (issue #15): turnarounds at dead ends, trips and flows routed by
 * from/to (and via), route distributions, vTypes and depart attributes, and the warnings naming what is ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSumoScenario, parseSumoNet, ScenarioError, Simulation, type Scenario } from '@citybrain/engine';
import { LANE_CHANGE } from './sumo-fixtures.js';

// ---------------------------------------------------------------- a net written by the test

type XY = [number, number];

/**
 * A SUMO net of one-lane edges drawn straight between junctions; `conns` are [from, to, dir]. A connection with
 * dir "t" goes through an internal lane (as netconvert writes a turnaround), the others join the lanes directly.
 */
function sumoNet(junctions: Record<string, XY>, edges: [string, string, string, number][], conns: [string, string, string][]): string {
  const out: string[] = ['<net version="1.9">'];
  const shape = (a: XY, b: XY) => `${a[0]},${a[1]} ${b[0]},${b[1]}`;
  conns.forEach(([from, to, dir], k) => {
    if (dir !== 't') return;
    const end = junctions[edges.find((e) => e[0] === from)![2]];
    out.push(`<edge id=":u${k}" function="internal"><lane id=":u${k}_0" index="0" speed="5" length="5" shape="${shape(end, [end[0] + 3, end[1] + 3])}"/></edge>`);
  });
  for (const [id, from, to, speed] of edges) {
    const a = junctions[from], b = junctions[to];
    out.push(`<edge id="${id}" from="${from}" to="${to}"><lane id="${id}_0" index="0" speed="${speed}" length="${Math.hypot(b[0] - a[0], b[1] - a[1])}" shape="${shape(a, b)}"/></edge>`);
  }
  for (const [id, [x, y]] of Object.entries(junctions)) out.push(`<junction id="${id}" type="priority" x="${x}" y="${y}"/>`);
  conns.forEach(([from, to, dir], k) => {
    const via = dir === 't' ? ` via=":u${k}_0"` : '';
    out.push(`<connection from="${from}" to="${to}" fromLane="0" toLane="0"${via} dir="${dir}" state="M"/>`);
  });
  out.push('</net>');
  return out.join('\n');
}

/** W -- B -- E, both ways; E is a dead end whose only link is the turnaround be -> eb (as OSM nets have). */
const DEAD_END = sumoNet(
  { W: [0, 0], B: [100, 0], E: [200, 0] },
  [['wb', 'W', 'B', 13.89], ['be', 'B', 'E', 13.89], ['eb', 'E', 'B', 13.89], ['bw', 'B', 'W', 13.89]],
  [['wb', 'be', 's'], ['eb', 'bw', 's'], ['be', 'eb', 't']],
);

/**
 * Two ways from `in` to `out`: over U (fast, 50 m/s but longer) or over D (slow, 5 m/s, shorter).
 * I(-100,0) --in--> S(0,0); S --su--> U(100,150) --ut--> T(200,0); S --sd--> D(100,-20) --dt--> T; T --out--> O(300,0).
 */
const TWO_WAYS = sumoNet(
  { I: [-100, 0], S: [0, 0], U: [100, 150], D: [100, -20], T: [200, 0], O: [300, 0] },
  [['in', 'I', 'S', 13.89], ['su', 'S', 'U', 50], ['ut', 'U', 'T', 50], ['sd', 'S', 'D', 5], ['dt', 'D', 'T', 5], ['out', 'T', 'O', 13.89]],
  [['in', 'su', 'l'], ['in', 'sd', 'r'], ['su', 'ut', 'r'], ['sd', 'dt', 'l'], ['ut', 'out', 'r'], ['dt', 'out', 'l']],
);

function runUntilDone(s: Scenario, seconds: number) {
  const sim = new Simulation(s, { seed: 1 });
  sim.step(seconds);
  return sim.metrics();
}

// ---------------------------------------------------------------- turnarounds

test('a turnaround at a dead end (dir="t", through an internal lane) carries a route, and the vehicle drives it', () => {
  const routes = '<routes><vehicle id="u" depart="0"><route edges="wb be eb bw"/></vehicle></routes>';
  const s = loadSumoScenario({ net: DEAD_END, routes });
  assert.deepEqual(s.warnings, []);
  const e = s.scenario.roadnet.intersections.find((i) => i.id === 'E')!;
  assert.equal(e.virtual, false, 'the dead end a route turns at is an intersection');
  assert.equal(e.roadLinks.length, 1);
  assert.equal(e.roadLinks[0].startRoad, 'be');
  assert.equal(e.roadLinks[0].endRoad, 'eb');
  assert.equal(e.roadLinks[0].type, 'turn_left');
  assert.deepEqual(e.roadLinks[0].laneLinks[0].points, [{ x: 200, y: 0 }, { x: 203, y: 3 }], 'the internal lane is the path');
  assert.equal(e.trafficLight.lightphases.length, 1, 'unsignalised: one phase with every link');
  assert.ok(s.scenario.roadnet.intersections.find((i) => i.id === 'W')!.virtual, 'W stays a boundary');

  const m = runUntilDone(s.scenario, 200);
  assert.equal(m.finishedVehicles, 1, 'the vehicle turned at E and left at W');
  // 400 m of road at 13.89 m/s plus the turn: at least 29 s
  assert.ok(m.averageTravelTime > 29, String(m.averageTravelTime));
});

test('a dead end no route turns at stays a network boundary (as CityFlow has them)', () => {
  assert.equal(parseSumoNet(DEAD_END).intersections.find((i) => i.id === 'E')!.virtual, true);
  const s = loadSumoScenario({ net: DEAD_END, routes: '<routes><vehicle id="v" depart="0"><route edges="wb be"/></vehicle></routes>' });
  assert.equal(s.scenario.roadnet.intersections.find((i) => i.id === 'E')!.virtual, true);
});

test('a trip from/to is routed through a dead end\'s turnaround when that is the way', () => {
  const s = loadSumoScenario({ net: DEAD_END, routes: '<routes><trip id="t" depart="0" from="be" to="bw"/></routes>' });
  assert.deepEqual(s.scenario.flows[0].route, ['be', 'eb', 'bw']);
  assert.equal(runUntilDone(s.scenario, 200).finishedVehicles, 1);
});

// ---------------------------------------------------------------- trips and flows by from/to

test('trips and flows with from/to take the fastest route at the speed limits (duarouter\'s default), via forces a way', () => {
  const s = loadSumoScenario({
    net: TWO_WAYS,
    routes: `<routes>
      <trip id="t1" depart="0" from="in" to="out"/>
      <trip id="t2" depart="1" from="in" to="out" via="sd"/>
      <flow id="f1" begin="0" end="100" period="10" from="in" to="out"/>
      <flow id="f2" begin="0" end="3600" vehsPerHour="120" from="in" to="out" via="dt"/>
      <flow id="f3" begin="10" number="4" end="50" from="in" to="out"/>
      <flow id="f4" begin="0" end="60" probability="0.5" from="in" to="out"/>
    </routes>`,
  });
  // su + ut: ~180 m each at 50 m/s (7 s); sd + dt: ~102 m each at 5 m/s (41 s), though shorter
  const fast = ['in', 'su', 'ut', 'out'];
  const slow = ['in', 'sd', 'dt', 'out'];
  const eps = 1e-3;
  assert.deepEqual(s.scenario.flows.map((f) => [f.route, f.interval, f.startTime, f.endTime]), [
    [fast, 1, 0, 0],
    [fast, 10, 0, 100 - eps],
    [slow, 30, 0, 3600 - eps],
    [fast, 2, 0, 60 - eps],
    [slow, 1, 1, 1],
    [fast, 10, 10, 50 - eps],
  ]);
  assert.deepEqual(s.warnings, []);
  const m = runUntilDone(s.scenario, 400);
  assert.equal(m.enteredVehicles, m.finishedVehicles + m.vehiclesInNetwork + m.waitingToEnter);
  assert.ok(m.finishedVehicles >= 10, JSON.stringify(m));
});

// ---------------------------------------------------------------- route distributions

test('vehicles referencing a routeDistribution take its routes in their shares, deterministically', () => {
  const vehicles = Array.from({ length: 8 }, (_, k) => `<vehicle id="v${k}" depart="${k}" route="d"/>`).join('');
  const routes = `<routes>
    <routeDistribution id="d">
      <route id="fast" edges="in su ut out" probability="3"/>
      <route id="slow" edges="in sd dt out" probability="1"/>
    </routeDistribution>${vehicles}
    <flow id="f" begin="0" end="100" period="4" route="d"/>
  </routes>`;
  const s = loadSumoScenario({ net: TWO_WAYS, routes });
  const taken = s.scenario.flows.filter((f) => f.startTime === f.endTime).map((f) => f.route[1]);
  assert.deepEqual(taken, ['su', 'su', 'sd', 'su', 'su', 'su', 'sd', 'su'], 'the route furthest behind its share, first on ties');
  // the flow: one flow per route, its interval scaled by the route's share
  const flowParts = s.scenario.flows.filter((f) => f.startTime !== f.endTime).map((f) => [f.route[1], f.interval]);
  assert.deepEqual(flowParts, [['su', 4 / 0.75], ['sd', 16]]);
  // the same file loads the same way twice
  assert.deepEqual(loadSumoScenario({ net: TWO_WAYS, routes }).scenario.flows, s.scenario.flows);
});

// ---------------------------------------------------------------- vTypes, depart attributes, the warnings

test('a vType\'s supported attributes are applied; what the model ignores is named once, with counts', () => {
  const s = loadSumoScenario({
    net: TWO_WAYS,
    routesSource: 'x.rou.xml',
    routes: `<routes>
      <vType id="bus" vClass="bus" length="12" width="2.5" accel="1.2" decel="4" minGap="3" maxSpeed="20" tau="1.4"
             sigma="0.5" carFollowModel="IDM" color="1,0,0"><param key="a" value="b"/></vType>
      <vType id="car" vClass="passenger" sigma="0.2"/>
      <vehicle id="a" type="bus" depart="0" departLane="2" departSpeed="max" departPos="random" route="r"/>
      <vehicle id="b" type="car" depart="1" departLane="best" departSpeed="0" departPos="base" route="r"><stop lane="out_0" duration="5"/></vehicle>
      <vehicle id="c" depart="2" departLane="free" departSpeed="max" route="r"/>
      <flow id="f" begin="0" end="10" period="5" arrivalPos="10" route="r"/>
      <person id="p" depart="0"><walk edges="in su"/></person>
      <route id="r" edges="in su ut out"/>
    </routes>`,
  });
  const bus = s.scenario.flows.find((f) => f.vehicle.length === 12)!.vehicle;
  assert.deepEqual(bus, {
    length: 12, width: 2.5, maxPosAcc: 1.2, maxNegAcc: 4, usualPosAcc: 1.2, usualNegAcc: 4, minGap: 3, maxSpeed: 20, headwayTime: 1.4,
  });
  assert.equal(s.warnings.length, 1, s.warnings.join('\n'));
  const w = s.warnings[0];
  assert.match(w, /^x\.rou\.xml: ignored \(not modelled\): /);
  for (const part of [
    'element <person> on 1 elements',
    '<vType> sigma (0.5, 0.2) on 2 vTypes',
    '<vType> carFollowModel (IDM) on 1 vTypes',
    '<vType> color (1,0,0) on 1 vTypes',
    '<vType> child <param> on 1 vTypes',
    '<vType> vClass (bus) on 1 vTypes',
    '<vehicle> departLane (2) on 1 vehicles',
    '<vehicle> departSpeed (max) on 2 vehicles',
    '<vehicle> departPos (random) on 1 vehicles',
    '<vehicle> child <stop> on 1 vehicles',
    '<flow> arrivalPos (10) on 1 flows',
  ]) assert.ok(w.includes(part), `"${part}" missing from: ${w}`);
  // what the model does take is not named: departLane best/free, departSpeed 0, departPos base, vClass passenger
  assert.doesNotMatch(w, /best|free|base|passenger/);
});


test('routes that need a lane change are taken without a warning (vehicles change lanes along a road)', () => {
  // a two-lane road whose left lane only goes left and right lane only right; the next road's single lane only straight
  const net = `<net version="1.9">
    <edge id="a" from="A" to="B"><lane id="a_0" index="0" speed="10" length="100" shape="0,-4.8 100,-4.8"/><lane id="a_1" index="1" speed="10" length="100" shape="0,-1.6 100,-1.6"/></edge>
    <edge id="l" from="B" to="L"><lane id="l_0" index="0" speed="10" length="100" shape="101.6,0 101.6,100"/></edge>
    <edge id="r" from="B" to="R"><lane id="r_0" index="0" speed="10" length="100" shape="98.4,-8 98.4,-100"/></edge>
    <junction id="A" type="dead_end" x="0" y="0"/><junction id="B" type="priority" x="100" y="0"/>
    <junction id="L" type="dead_end" x="100" y="100"/><junction id="R" type="dead_end" x="100" y="-100"/>
    <connection from="a" to="l" fromLane="1" toLane="0" dir="l" state="M"/>
    <connection from="a" to="r" fromLane="0" toLane="0" dir="r" state="M"/>
  </net>`;
  const ok = loadSumoScenario({ net, routes: '<routes><vehicle id="v" depart="0"><route edges="a l"/></vehicle></routes>' });
  assert.deepEqual(ok.warnings, [], 'a lane of a leads to l: drivable');

  const routes = '<routes><vehicle id="v" depart="0"><route edges="a m x"/></vehicle><vehicle id="w" depart="0"><route edges="m x"/></vehicle></routes>';
  const changing = loadSumoScenario({ net: LANE_CHANGE, routes, routesSource: 'l.rou.xml' });
  assert.deepEqual(changing.warnings, []);
  assert.equal(runUntilDone(changing.scenario, 120).finishedVehicles, 2);
});

// ---------------------------------------------------------------- malformed input

test('malformed trips, flows and distributions: errors name the element and the attribute', () => {
  const load = (body: string) => () => loadSumoScenario({ net: TWO_WAYS, routes: `<routes>${body}</routes>`, routesSource: 'm.rou.xml' });
  const cases: [string, string, RegExp][] = [
    ['<trip id="t" depart="0" from="in"/>', '<trip id="t">', /needs a route: attribute "route", a <route> child, or attributes "from" and "to"/],
    ['<trip id="t" depart="0" from="in" to="nope"/>', '<trip id="t">', /unknown edge "nope"/],
    ['<trip id="t" depart="0" from="in" to="out" via="su nope"/>', '<trip id="t">', /unknown edge "nope"/],
    ['<trip id="t" depart="0" from="out" to="in"/>', '<trip id="t">', /no path from edge "out" to edge "in"/],
    ['<flow id="f" begin="0" end="9" period="x" from="in" to="out"/>', '<flow id="f">', /attribute "period" expected a number or exp\(rate\), got "x"|"period" expected a number/],
    ['<flow id="f" begin="0" end="9" probability="2" from="in" to="out"/>', '<flow id="f">', /attribute "probability" must be in \(0, 1\]/],
    ['<flow id="f" begin="0" from="in" to="out"/>', '<flow id="f">', /needs one of attributes "period", "vehsPerHour", "probability" or "number"/],
    ['<trip id="t" depart="soon" from="in" to="out"/>', '<trip id="t">', /attribute "depart" expected a number, got "soon"/],
    ['<vType id="v" length="-1"/>', '<vType id="v">', /attribute "length" must be > 0/],
    ['<routeDistribution id="d"><route edges="in su ut out" probability="-1"/></routeDistribution>', '<routeDistribution id="d"> <route> #0', /attribute "probability" must be >= 0/],
    ['<vehicle id="v" depart="0" route="d"/>', '<vehicle id="v">', /unknown route "d"/],
  ];
  for (const [body, path, problem] of cases) {
    assert.throws(load(body), (e: unknown) => {
      assert.ok(e instanceof ScenarioError, String(e));
      assert.equal(e.source, 'm.rou.xml');
      assert.equal(e.path, path, body);
      assert.match(e.problem, problem, body);
      return true;
    });
  }
});

// ---------------------------------------------------------------- netconvert's own output

const NETCONVERT = '/usr/bin/netconvert';

test('a net netconvert writes (dead ends with turnarounds) carries a route through a turnaround', { skip: existsSync(NETCONVERT) ? false : 'netconvert absent (/usr/bin/netconvert)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sumo-nc-'));
  try {
    writeFileSync(join(dir, 'n.nod.xml'), '<nodes><node id="a" x="0" y="0"/><node id="b" x="200" y="0"/><node id="c" x="400" y="0"/><node id="d" x="200" y="200"/></nodes>');
    writeFileSync(join(dir, 'n.edg.xml'), `<edges>
      <edge id="ab" from="a" to="b" numLanes="1" speed="13.89"/><edge id="ba" from="b" to="a" numLanes="1" speed="13.89"/>
      <edge id="bc" from="b" to="c" numLanes="1" speed="13.89"/><edge id="cb" from="c" to="b" numLanes="1" speed="13.89"/>
      <edge id="bd" from="b" to="d" numLanes="1" speed="13.89"/><edge id="db" from="d" to="b" numLanes="1" speed="13.89"/>
    </edges>`);
    const r = spawnSync(NETCONVERT, ['-n', 'n.nod.xml', '-e', 'n.edg.xml', '-o', 'n.net.xml', '--no-warnings'], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, SUMO_HOME: process.env.SUMO_HOME ?? '/usr/share/sumo' },
    });
    assert.equal(r.status, 0, r.stderr);
    const net = readFileSync(join(dir, 'n.net.xml'), 'utf8');
    assert.match(net, /<connection from="bc" to="cb"[^>]*dir="t"/, 'netconvert wrote a turnaround at the dead end c');
    const s = loadSumoScenario({
      net,
      routes: '<routes><vehicle id="u" depart="0"><route edges="ab bc cb bd"/></vehicle><trip id="t" depart="5" from="bc" to="ba"/></routes>',
    });
    assert.deepEqual(s.scenario.flows[1].route, ['bc', 'cb', 'ba']);
    const m = runUntilDone(s.scenario, 300);
    assert.equal(m.finishedVehicles, 2, JSON.stringify(m));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vehicles enter on a lane from which their route can be driven to its end, when one exists (they do not change lanes)', () => {
  // a (2 lanes) -> m: lane 0 to m_0, lane 1 to m_1; only m_1 leads on to x. Entering on a_0 would end the trip at m.
  const net = LANE_CHANGE.replace('<connection from="a" to="m" fromLane="0" toLane="0" dir="s" state="M"/>',
    '<connection from="a" to="m" fromLane="0" toLane="0" dir="s" state="M"/><connection from="a" to="m" fromLane="1" toLane="1" dir="s" state="M"/>');
  const s = loadSumoScenario({ net, routes: '<routes><flow id="f" begin="0" end="60" period="6" route="r"/><route id="r" edges="a m x"/></routes>' });
  assert.deepEqual(s.warnings, []);
  const sim = new Simulation(s.scenario, { seed: 3 });
  const x = sim.net.roadFirstLane[sim.net.roadIndex.get('x')!];
  const onX = new Set<string>();
  const out = new Int32Array(64);
  for (let t = 0; t < 200; t++) {
    sim.step();
    const n = sim.laneVehicles(x, out);
    for (let k = 0; k < n; k++) onX.add(sim.vehicleId(out[k]));
  }
  const m = sim.metrics();
  assert.equal(m.finishedVehicles, 10);
  assert.equal(onX.size, 10, 'every vehicle drove its route to x');
});
