// The dashboard's pure parts, in Node: dictionaries, frame decoding, signal
// colours, the incident board, the CityFlow replay reader and the fixture city's contract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeVehicleFrame } from '../src/api.js';
import { FixtureCity } from '../src/fixture/city.js';
import { dictionaries, translate, type MessageKey } from '../src/i18n.js';
import { CLEARED_SHOWN, acknowledgerName, activeSetKey, blockedSeconds, formatDuration, incidentBoard, responseSeconds } from '../src/incidents.js';
import { SIGNAL_GREEN, SIGNAL_NONE, SIGNAL_RED, SIGNAL_YELLOW, SignalMap, laneShapes, ribbon, tail } from '../src/map/geometry.js';
import { cityflowReplay } from '../src/replay/source.js';
import type { Incident } from '../src/types.js';
import { approachName, comingFrom, intersectionName, laneName, phaseName, regionName } from '../src/names.js';
import { ApiError } from '../src/api.js';
import { TRANSLATED_CODES, errorInfo, errorSentence } from '../src/server-errors.js';
import { TAKING_OVER_COLOUR, WORKER_COLOURS, clusterBoard } from '../src/cluster.js';
import { auditRows, auditWhat, cellNumber, chartPlan, columnKind, timeMs } from '../src/hub.js';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every language has every label, none empty, with the same placeholders', () => {
  const keys = Object.keys(dictionaries.en).sort();
  for (const lang of ['zh', 'ko'] as const) {
    assert.deepEqual(Object.keys(dictionaries[lang]).sort(), keys, `${lang} keys`);
    for (const k of keys as MessageKey[]) {
      assert.ok(dictionaries[lang][k].trim(), `${lang}.${k} is empty`);
      assert.deepEqual(placeholders(dictionaries[lang][k]), placeholders(dictionaries.en[k]), `${lang}.${k} placeholders`);
    }
  }
  assert.equal(translate('zh', 'stepOf', { i: 3, n: 10 }), '第 3 / 10 步');
  assert.equal(translate('ko', 'etaSeconds', { eta: 42 }), '42초');
});

test('binary live frames decode, and malformed ones are refused with the reason', () => {
  const f = new Float32Array([12, 2, 1, 2, 0, 5, 3, 4, 1, 0]);
  const d = decodeVehicleFrame(f.buffer);
  assert.equal(d.t, 12);
  assert.equal(d.n, 2);
  assert.deepEqual(Array.from(d.data.subarray(6, 8)), [3, 4]);
  assert.throws(() => decodeVehicleFrame(new Float32Array([0, 3, 1, 2, 3, 4]).buffer), /claims 3 vehicles but holds 1/);
  assert.throws(() => decodeVehicleFrame(new ArrayBuffer(6)), /6 bytes is not a Float32Array/);
  assert.equal(d.truth, false);
  assert.equal(d.offset, 2);
});

test('a ground-truth frame decodes as the street\'s, apart from the brain\'s, and a malformed one is refused', () => {
  const d = decodeVehicleFrame(new Float32Array([12, -1, 2, 1, 2, 0, 5, 3, 4, 1, 0]).buffer);
  assert.deepEqual({ t: d.t, n: d.n, offset: d.offset, truth: d.truth }, { t: 12, n: 2, offset: 3, truth: true });
  assert.deepEqual(Array.from(d.data.subarray(d.offset + 4, d.offset + 6)), [3, 4]);
  assert.throws(() => decodeVehicleFrame(new Float32Array([0, -1, 3, 1, 2, 3, 4]).buffer), /ground-truth frame claims 3 vehicles but holds 1/);
});

test('lane signals follow the phases: green movements, red others, yellow, none when unsignalised', () => {
  const city = new FixtureCity({ rows: 1, cols: 1, spacing: 200, vehicles: 0 });
  const view = city.view;
  const map = new SignalMap(view, laneShapes(view));
  const centre = view.intersections.findIndex((i) => i.signalised);
  const lane = (id: string) => view.laneOrder.indexOf(id);
  const phases: number[] = view.intersections.map((_, i) => (i === centre ? 1 : -1));
  // phase 1: east-west straight; road_0_1_0 runs east into the centre, road_1_0_1 north
  let s = map.states(phases);
  assert.equal(s[lane('road_0_1_0_1')], SIGNAL_GREEN);
  assert.equal(s[lane('road_1_0_1_1')], SIGNAL_RED);
  assert.equal(s[lane('road_1_1_0_1')], SIGNAL_NONE, 'a lane leaving the city has no signal');
  phases[centre] = 0;
  s = map.states(phases);
  assert.equal(s[lane('road_0_1_0_1')], SIGNAL_YELLOW);
  assert.equal(map.stopBars.length, 12, 'four approaches of three lanes');
});

test('ribbons and tails keep to the polyline', () => {
  assert.deepEqual(ribbon([[0, 0], [10, 0]], 1), [[0, 1], [10, 1], [10, -1], [0, -1]]);
  assert.deepEqual(tail([[0, 0], [30, 0]], 6), [[24, 0], [30, 0]]);
  assert.deepEqual(tail([[0, 0], [9, 0]], 6), [[6, 0], [9, 0]], 'at most a third of a short lane');
});

const roadnet = {
  static: {
    nodes: [],
    edges: [
      { id: 'r1', from: 'a', to: 'b', points: [[0, 0], [100, 0]], nLane: 2, laneWidths: [4, 4] },
      { id: 'r2', from: 'b', to: 'c', points: [[100, 0], [100, 100]], nLane: 1, laneWidths: [3] },
    ],
  },
};

test('a CityFlow replay reads lanes to the right of the road axis, vehicles and lane signals', () => {
  const text = '10 -2 0 car1 0 5 2,50 -6 0 car2 0 5 2,;r1 g r,r2 i,\n12 -2 0 car1 0 5 2,;r1 r r,\n';
  const r = cityflowReplay(JSON.stringify(roadnet), new TextEncoder().encode(text), 'test');
  assert.equal(r.length, 2);
  assert.deepEqual(r.lanes[0].path, [[0, -2], [100, -2]]);
  assert.deepEqual(r.lanes[1].path, [[0, -6], [100, -6]]);
  assert.deepEqual(r.lanes[2].path, [[101.5, 0], [101.5, 100]], 'heading north, right is east');
  const f0 = r.frame(0);
  assert.equal(f0.n, 2);
  assert.deepEqual(Array.from(f0.vehicles.subarray(4, 6)), [50, -6]);
  assert.ok(Number.isNaN(f0.vehicles[3]), 'replays carry no speed');
  assert.deepEqual(Array.from(f0.signals), [1, 2, 0]);
  assert.deepEqual(Array.from(r.frame(1).signals), [2, 2, 0]);
});

test('a broken replay is refused with what and where', () => {
  const bad = structuredClone(roadnet);
  bad.static.edges[1].laneWidths = [3, 3];
  assert.throws(() => cityflowReplay(JSON.stringify(bad), new Uint8Array([10]), 'x'), /static\.edges\[1\]\.laneWidths must hold 1 positive widths/);
  assert.throws(() => cityflowReplay('{"static":{}}', new Uint8Array([10]), 'x'), /static\.edges is missing/);
  assert.throws(() => cityflowReplay('nope', new Uint8Array([10]), 'x'), /replay_roadnet\.json is not JSON/);
  const r = cityflowReplay(JSON.stringify(roadnet), new TextEncoder().encode('1 2 0 a 0 5 2,;r9 g,\nx y 0 a 0 5 2,;\n'), 'x');
  assert.throws(() => r.frame(0), /line 1: road "r9" is not in replay_roadnet\.json/);
  assert.throws(() => r.frame(1), /line 2: vehicle 1 has no x y/);
});

test('the fixture city answers the contract: a dispatched corridor holds the phases its route needs', () => {
  const city = new FixtureCity({ rows: 3, cols: 3, spacing: 200, vehicles: 300, seed: 7 });
  for (let i = 0; i < 30; i++) city.step();
  const view = city.view;
  const road = (id: string) => view.roads.find((r) => r.id === id)!;
  const start = road('road_0_1_0').lanes[1].points[0], end = road('road_3_3_0').lanes[1].points[1];
  const d = city.dispatch({ x: start[0] + 20, y: start[1] }, { x: end[0] - 20, y: end[1] });
  assert.equal(d.route[0], 'road_0_1_0');
  assert.equal(d.route.at(-1), 'road_3_3_0');
  assert.equal(d.corridor.length, d.route.length - 1);
  d.corridor.forEach((c, j) => {
    const ix = view.intersections.find((i) => i.id === c.intersection)!;
    const phase = ix.phases[c.phase];
    assert.ok(phase.movements.some((m) => m.from === d.route[j] && m.to === d.route[j + 1]), `${c.intersection} phase ${c.phase} lets ${d.route[j]} into ${d.route[j + 1]}`);
  });
  // the vehicle moves and the first corridor intersection turns to its phase
  const eta0 = d.eta ?? Infinity;
  for (let i = 0; i < 8; i++) city.step();
  const ev = city.emergencyList()[0];
  assert.ok(ev.eta < eta0);
  const first = view.intersections.findIndex((i) => i.id === d.corridor[0].intersection);
  assert.equal(city.liveState().phases[first], d.corridor[0].phase);
  assert.throws(() => city.dispatch({ x: Number.NaN, y: 0 }, { x: 0, y: 0 }), /from must be \{x, y\}/);
});

const incident = (id: string, o: Partial<Incident> = {}): Incident => ({
  id, status: 'active', lane: `lane-${id}`, road: 'r', intersection: 'i', x: 0, y: 0, since: 100, detectedAt: 120, detectedTs: 1_000_120_000,
  clearedAt: null, clearedTs: null, evidence: { greenSeconds: 20, queue: 3 }, acknowledged: null, ...o,
});

test('the incident board: the live set is the truth for active ones, the history gives the cleared, newest first', () => {
  const a = incident('inc-1', { detectedAt: 100 }), b = incident('inc-2', { detectedAt: 300 }), c = incident('inc-3', { detectedAt: 300 });
  const old = incident('inc-0', { status: 'cleared', detectedAt: 50, clearedAt: 90 });
  const late = incident('inc-4', { status: 'cleared', detectedAt: 60, clearedAt: 400 });
  // inc-1 is active in the (older) history, but the stream no longer has it: cleared since, shown once the history is read again
  const board = incidentBoard([a, c, b], [incident('inc-5'), old, late, { ...a }], new Map());
  assert.deepEqual(board.active.map((i) => i.id), ['inc-2', 'inc-3', 'inc-1'], 'newest detection first, ties by id');
  assert.deepEqual(board.cleared.map((i) => i.id), ['inc-4', 'inc-0'], 'most recently cleared first, no active ones');
  const many = Array.from({ length: CLEARED_SHOWN + 5 }, (_, k) => incident(`c${k}`, { status: 'cleared', clearedAt: k }));
  assert.equal(incidentBoard([], many).cleared.length, CLEARED_SHOWN);
  assert.equal(incidentBoard([], many).cleared[0].id, `c${CLEARED_SHOWN + 4}`);
});

test('an acknowledgement answered by the server shows before the stream carries it, and the stream\'s own wins after', () => {
  const ack = { by: 'alice (tok-1)', ts: 1_000_162_000 };
  const answered = new Map([['inc-1', incident('inc-1', { acknowledged: ack })]]);
  const [shown] = incidentBoard([incident('inc-1')], [], answered).active;
  assert.deepEqual(shown.acknowledged, ack);
  assert.equal(responseSeconds(shown), 42, 'acknowledged minus detected, in (simulated) seconds');
  const other = { by: 'bob (tok-2)', ts: 1_000_130_000 };
  assert.deepEqual(incidentBoard([incident('inc-1', { acknowledged: other })], [], answered).active[0].acknowledged, other);
  assert.equal(responseSeconds(incident('inc-9')), null);
  assert.equal(acknowledgerName(ack.by), 'alice');
  assert.equal(acknowledgerName('admin'), 'admin');
});

test('incident durations: blocked from the start of the evidence, until now or the clearing; the active-set key ignores order', () => {
  assert.equal(blockedSeconds(incident('a'), 250), 150);
  assert.equal(blockedSeconds(incident('a', { status: 'cleared', clearedAt: 160 }), 999), 60);
  assert.equal(blockedSeconds(incident('a'), 50), 0, 'never negative');
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(75.9), '1:15');
  assert.equal(formatDuration(3600 + 62), '1:01:02');
  assert.equal(activeSetKey([incident('b'), incident('a')]), activeSetKey([incident('a'), incident('b')]));
  assert.notEqual(activeSetKey([incident('a')]), activeSetKey([incident('a'), incident('b')]));
});

test('the fixture city scripts incidents that clear, and acknowledges them once', () => {
  const city = new FixtureCity({ rows: 2, cols: 2, spacing: 250, vehicles: 50 });
  while (city.time < 151) city.step();
  const [inc] = city.incidents('active');
  assert.ok(inc, 'an incident at t = 150');
  assert.deepEqual(city.liveState().incidents?.map((i) => i.id), [inc.id]);
  assert.ok(city.view.laneOrder.includes(inc.lane));
  const first = city.acknowledgeIncident(inc.id, 'op');
  assert.equal(city.acknowledgeIncident(inc.id, 'other').acknowledged?.by, first.acknowledged?.by, 'the first acknowledgement stays');
  assert.throws(() => city.acknowledgeIncident('inc-99', 'op'), /no incident "inc-99"/);
  while (city.time < 460) city.step();
  assert.deepEqual(city.incidents('active'), []);
  assert.equal(city.incidents('cleared')[0].clearedAt, 450);
});

test('names people use: approaches by the side they come from, phases by the movements only they serve, regions by compass', async () => {
  const { generateGrid, Simulation } = await import('@citybrain/engine');
  const { intersectionPhases } = await import('@citybrain/control');
  const { networkView } = await import('@citybrain/server/twin');
  const sim = new Simulation(generateGrid({ rows: 1, cols: 1 }));
  const view = networkView(sim.net, intersectionPhases(sim), []);
  const t = (lang: 'en' | 'zh' | 'ko') => (key: MessageKey, params?: Record<string, string | number>) => translate(lang, key, params);
  // road_0_1_0 runs west to east into intersection_1_1: its traffic comes from the west
  assert.equal(comingFrom(view, 'road_0_1_0'), 'W');
  assert.equal(comingFrom(view, 'road_1_2_3'), 'N');
  assert.equal(approachName(view, 'road_1_0_1', t('en')), 'from south');
  assert.equal(approachName(view, 'no_such_road', t('en')), 'no_such_road');
  const names = [1, 2, 3, 4].map((p) => phaseName(view, 'intersection_1_1', p, t('en')));
  assert.deepEqual(names, ['E–W through', 'N–S through', 'E–W left', 'N–S left']);
  assert.deepEqual([1, 2, 3, 4].map((p) => phaseName(view, 'intersection_1_1', p, t('zh'))), ['东西直行', '南北直行', '东西左转', '南北左转']);
  assert.equal(phaseName(view, 'intersection_1_1', 2, t('ko')), '남북 직진');
  // the yellow phase serves only what every phase serves (right turns): nothing of its own
  assert.equal(phaseName(view, 'intersection_1_1', 0, t('en')), 'Phase 0');
  assert.equal(regionName('south-west', t('en')), 'region south-west');
  assert.equal(regionName('north-east', t('zh')), '区域 东北');
  assert.equal(regionName('city', t('ko')), '도시 전체');
  assert.equal(regionName('harbour', t('en')), 'region harbour');
});

test('names people use: an approach by its direction and its street where the network names it; an intersection by its streets', async () => {
  const { generateGrid, Simulation } = await import('@citybrain/engine');
  const { intersectionPhases } = await import('@citybrain/control');
  const { networkView } = await import('@citybrain/server/twin');
  const scenario = generateGrid({ rows: 1, cols: 1 });
  // as a SUMO or OSM-imported network names its edges
  for (const [id, name] of [['road_0_1_0', 'Hauptstraße'], ['road_1_1_2', 'Hauptstraße'], ['road_1_0_1', 'Am Markt']]) {
    scenario.roadnet.roads.find((r) => r.id === id)!.name = name;
  }
  const sim = new Simulation(scenario);
  const view = networkView(sim.net, intersectionPhases(sim), []);
  assert.equal(view.roads.find((r) => r.id === 'road_0_1_0')!.name, 'Hauptstraße', 'the network view carries the name');
  assert.ok(!('name' in view.roads.find((r) => r.id === 'road_1_2_3')!), 'an unnamed road has no name key');
  const t = (lang: 'en' | 'zh' | 'ko') => (key: MessageKey, params?: Record<string, string | number>) => translate(lang, key, params);
  assert.equal(approachName(view, 'road_0_1_0', t('en')), 'from west (Hauptstraße)');
  assert.equal(approachName(view, 'road_0_1_0', t('zh')), 'Hauptstraße 西进口');
  assert.equal(approachName(view, 'road_1_0_1', t('ko')), 'Am Markt 남쪽 접근로');
  assert.equal(approachName(view, 'road_1_2_3', t('en')), 'from north', 'no name: the direction alone');
  assert.equal(laneName(view, 'road_0_1_0_1', t('en')), 'from west (Hauptstraße), lane 2', 'an incident names road and direction');
  // the streets meeting there, each once; a boundary with one named road, that one; none named: the id
  assert.equal(intersectionName(view, 'intersection_1_1'), 'Am Markt / Hauptstraße', 'in the order the network lists its roads');
  assert.equal(intersectionName(view, 'intersection_0_1'), 'Hauptstraße');
  assert.equal(intersectionName(view, 'intersection_1_2'), 'intersection_1_2');
});

test('server errors: a sentence per code in every language, the server\'s English message kept as the detail', async () => {
  const { ERRORS, FASTIFY_ERRORS } = await import('@citybrain/server');
  assert.deepEqual([...TRANSLATED_CODES].sort(), [...Object.keys(ERRORS), ...Object.keys(FASTIFY_ERRORS)].sort(), 'every code of the catalogue has a sentence');
  for (const lang of ['en', 'zh', 'ko'] as const) {
    for (const code of TRANSLATED_CODES) assert.ok(dictionaries[lang][`err_${code}`].trim(), `${lang} err_${code}`);
  }
  const t = (lang: 'en' | 'zh' | 'ko') => (key: MessageKey, params?: Record<string, string | number>) => translate(lang, key, params);
  const notFound = errorInfo(new ApiError(404, 'no signalised intersection "i9"', 'CB_NOT_FOUND'));
  assert.deepEqual(notFound, { kind: 'server', status: 404, code: 'CB_NOT_FOUND', detail: 'no signalised intersection "i9"' });
  assert.equal(errorSentence(notFound, t('en')), 'not found: it has ended or never existed');
  assert.equal(errorSentence(notFound, t('zh')), '未找到：已结束或不存在');
  assert.equal(errorSentence(errorInfo(new ApiError(403, 'role viewer may not do this', 'CB_FORBIDDEN')), t('ko')), '이 토큰의 역할로는 할 수 없는 작업입니다');
  // no code in the body (a proxy, the in-browser city): the catalogue's code for the status
  assert.deepEqual(errorInfo(new ApiError(401, 'unknown token')), { kind: 'server', status: 401, code: 'CB_UNAUTHENTICATED', detail: 'unknown token' });
  assert.equal(errorInfo(new ApiError(502, 'Bad Gateway')).kind === 'server' && (errorInfo(new ApiError(502, 'Bad Gateway')) as { code: string }).code, 'CB_ERROR');
  // a code this dashboard does not know (a newer server): by its status, the detail kept
  const unknown = errorInfo(new ApiError(422, 'body.x: too odd', 'CB_SOMETHING_NEW'));
  assert.equal(errorSentence(unknown, t('en')), 'the server refused the request (HTTP 422)');
  assert.equal(unknown.detail, 'body.x: too odd');
  const away = errorInfo(new ApiError(0, 'GET /api/v1/network: Failed to fetch'));
  assert.deepEqual([away.kind, errorSentence(away, t('zh')), away.detail], ['unreachable', '无法连接服务器', 'GET /api/v1/network: Failed to fetch']);
  const page = errorInfo(new TypeError('x is undefined'));
  assert.deepEqual([page.kind, errorSentence(page, t('en')), page.detail], ['page', 'something failed in the dashboard', 'x is undefined']);
});

test('the cluster board: regions owned by a live worker in its colour; a dead worker\'s regions taking over, from it, until a live worker holds them', () => {
  const w = (id: string, regions: string[], alive: boolean) => ({ id, regions, decisionMs: {}, eventsPerSecond: 0, lagSeconds: 0, updatedAt: 0, alive });
  const regions = [
    { id: 'north-west', owner: 'a', intersections: ['i1', 'i2'] },
    { id: 'north-east', owner: 'b', intersections: ['i3'] },
    { id: 'south-west', owner: null, intersections: ['i4'] },
    { id: 'south-east', owner: null, intersections: ['i5'] },
  ];
  const b = clusterBoard({ cluster: true, regions, workers: [w('a', ['north-west'], true), w('b', ['north-east', 'south-west'], false)], at: 0 });
  assert.deepEqual(b.regions.map((r) => [r.id, r.owner, r.from]), [
    ['north-west', 'a', null],
    // its key not expired yet, but its worker stopped reporting
    ['north-east', null, 'b'],
    // no key any more: the dead worker that last reported it
    ['south-west', null, 'b'],
    // never held by a worker listed
    ['south-east', null, null],
  ]);
  assert.deepEqual(b.workers.map((x) => x.colour), [WORKER_COLOURS[0], WORKER_COLOURS[1]]);
  assert.deepEqual(b.colours.get('i1'), WORKER_COLOURS[0]);
  assert.deepEqual(b.colours.get('i2'), WORKER_COLOURS[0]);
  for (const i of ['i3', 'i4', 'i5']) assert.deepEqual(b.colours.get(i), TAKING_OVER_COLOUR);
  // taken over: owned again, in the survivor's colour
  const after = clusterBoard({ cluster: true, regions: regions.map((r) => ({ ...r, owner: 'a' })), workers: [w('a', regions.map((r) => r.id), true), w('b', [], false)], at: 0 });
  assert.ok(after.regions.every((r) => r.owner === 'a' && r.from === null));
  assert.ok([...after.colours.values()].every((c) => c === WORKER_COLOURS[0]));
});

test('a hub query\'s chart: the first text or time column as x, numeric columns as series; bars over text, a line over time', () => {
  assert.deepEqual(['BIGINT', 'HUGEINT', 'DECIMAL(18,3)', 'DOUBLE', 'VARCHAR', 'DATE', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP', 'BOOLEAN', 'BLOB'].map(columnKind),
    ['number', 'number', 'number', 'number', 'text', 'time', 'time', 'time', 'text', 'other']);
  // DuckDB's JSON: times without a zone are UTC (the hub's connections), with one as it says
  assert.equal(timeMs('2024-05-01'), Date.UTC(2024, 4, 1));
  assert.equal(timeMs('2024-05-01 08:30:00'), Date.UTC(2024, 4, 1, 8, 30));
  assert.equal(timeMs('2024-05-01 08:30:00+08'), Date.UTC(2024, 4, 1, 0, 30));
  assert.equal(timeMs('2024-05-01 08:30:00.25+05:30'), Date.UTC(2024, 4, 1, 3, 0, 0, 250));
  assert.ok(Number.isNaN(timeMs('road_1')) && Number.isNaN(timeMs(17)));
  // BIGINT and HUGEINT sums come as strings
  assert.deepEqual([cellNumber('120'), cellNumber(2.5), cellNumber(null), cellNumber(''), cellNumber('x')], [120, 2.5, null, null, null]);

  const byRoad = chartPlan({
    columns: [{ name: 'n', type: 'BIGINT' }, { name: 'road', type: 'VARCHAR' }, { name: 'mean', type: 'DOUBLE' }],
    rows: [['3', 'road_1', 1.5], ['1', 'road_2', null]],
  });
  assert.deepEqual(byRoad, {
    x: { name: 'road', kind: 'text' }, type: 'bar',
    series: [{ name: 'n', data: [['road_1', 3], ['road_2', 1]] }, { name: 'mean', data: [['road_1', 1.5], ['road_2', null]] }],
  });
  const byDay = chartPlan({ columns: [{ name: 'day', type: 'DATE' }, { name: 'vehicles', type: 'HUGEINT' }], rows: [['2024-05-01', '10'], ['2024-05-02', '12']] });
  assert.deepEqual(byDay, { x: { name: 'day', kind: 'time' }, type: 'line', series: [{ name: 'vehicles', data: [[Date.UTC(2024, 4, 1), 10], [Date.UTC(2024, 4, 2), 12]] }] });
  // a time column with a cell that is no time (NULL) is drawn as text, in the query's order
  assert.equal(chartPlan({ columns: [{ name: 'day', type: 'DATE' }, { name: 'v', type: 'INTEGER' }], rows: [['2024-05-01', 1], [null, 2]] })?.x?.kind, 'text');
  // no text or time column: rows numbered; no numeric column: nothing to draw
  assert.deepEqual(chartPlan({ columns: [{ name: 'total', type: 'BIGINT' }], rows: [['42']] }), { x: null, type: 'bar', series: [{ name: 'total', data: [[1, 42]] }] });
  assert.equal(chartPlan({ columns: [{ name: 'road', type: 'VARCHAR' }], rows: [['road_1']] }), null);
});

test('a hub access-log entry: the rows it read or wrote, and what it did', () => {
  assert.equal(auditRows({ after: { sql: 'SELECT 1', rows: 3, format: 'json' } }), 3);
  assert.equal(auditWhat({ after: { sql: 'SELECT road FROM counts', rows: 3 } }), 'SELECT road FROM counts');
  assert.equal(auditRows({ after: { batch: 'b1', rows: 120, bytes: 900, source: 'csv' } }), 120);
  assert.equal(auditWhat({ after: { batch: 'b1', rows: 120, bytes: 900, source: 'csv' } }), 'csv · b1');
  assert.equal(auditRows({ after: { action: 'reading the access log', needs: 'admin', has: 'read' } }), null);
  assert.equal(auditWhat({ after: { action: 'reading the access log', needs: 'admin', has: 'read' } }), 'reading the access log (admin; read)');
  assert.equal(auditWhat({ after: { sql: 'SELECT 1', rows: 1, format: 'csv' } }), 'SELECT 1 · csv');
  assert.equal(auditWhat({ after: { id: 'counts', title: 'Daily road counts', classification: 'restricted', columns: [] } }), 'Daily road counts (restricted)');
  assert.equal(auditWhat({ after: { id: 'g1', access: 'read', department: 'police' } }), 'read → police');
  assert.equal(auditWhat({ after: null }), '');
});
