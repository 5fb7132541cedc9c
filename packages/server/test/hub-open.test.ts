/**
 * Open data and the datasets that feed the brain, through the API:
 * - the public catalogue (no token) validated against the DCAT-AP 3 shapes
 *   (SEMICeu DCAT-AP 3.0.0 `shacl/shapes.ttl` and `range.ttl`): the mandatory
 *   properties and the cardinalities of Catalog, Dataset, Distribution and
 *   Agent, their node kinds and datatypes, and the classes of their ranges;
 * - downloads of a public dataset (CSV, Parquet) audited as anonymous reads,
 *   none of a dataset that is not public;
 * - lane observations as FIWARE TrafficFlowObserved (NGSI-LD keyValues);
 * - a roadworks dataset marked as a feed closes its lane in the brain's twin,
 *   whose vehicles then stop using it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGrid } from '@citybrain/engine';
import type { LaneEvent } from '@citybrain/brain';
import { startServer, type RunningServer } from '@citybrain/server';

let server: RunningServer;
let dir: string;
const tok: Record<string, string> = {};

async function call(who: string | undefined, method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; json: any; text: string; bytes: Uint8Array; headers: Headers }> {
  const headers: Record<string, string> = who ? { authorization: `Bearer ${tok[who]}` } : {};
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = type;
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const r = await fetch(server.url + path, { method, headers, body: payload });
  const bytes = new Uint8Array(await r.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text, bytes, headers: r.headers };
}

// ------------------------------------------------------------ the DCAT-AP 3 shapes, as checks over the JSON-LD

const XSD = 'http://www.w3.org/2001/XMLSchema#';
type Node = Record<string, unknown>;

/** A compact IRI (prefix:local) by the document's own context, or an absolute IRI as it is. */
function expand(ctx: Record<string, string>, s: string): string {
  const m = /^([a-z][a-z0-9]*):(.*)$/i.exec(s);
  return m && ctx[m[1]] ? ctx[m[1]] + m[2] : s;
}

/** Every node object of the document with its expanded types and properties. */
function nodes(doc: Node): { types: string[]; props: Map<string, unknown[]>; where: string }[] {
  const ctx = doc['@context'] as Record<string, string>;
  assert.equal(typeof ctx, 'object', 'an inline @context (a harvester fetches nothing)');
  const out: ReturnType<typeof nodes> = [];
  const walk = (n: Node, where: string) => {
    const types = ([n['@type'] ?? []].flat() as string[]).map((t) => expand(ctx, t));
    const props = new Map<string, unknown[]>();
    for (const [k, v] of Object.entries(n)) {
      if (k.startsWith('@')) continue;
      const vals = [v].flat();
      props.set(expand(ctx, k), vals);
      vals.forEach((x, i) => {
        if (x && typeof x === 'object' && !('@value' in (x as Node))) walk(x as Node, `${where}.${k}[${i}]`);
      });
    }
    if (types.length > 0) out.push({ types, props, where });
  };
  walk(doc, '$');
  return out;
}

const isLiteral = (x: unknown) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || (typeof x === 'object' && x !== null && '@value' in x);
const isIri = (x: unknown) => typeof x === 'object' && x !== null && typeof (x as Node)['@id'] === 'string' && /^https?:\/\//.test((x as Node)['@id'] as string);
const D = 'http://www.w3.org/ns/dcat#', T = 'http://purl.org/dc/terms/', F = 'http://xmlns.com/foaf/0.1/';

interface PropRule { path: string; min?: number; max?: number; kind?: 'literal' | 'iri'; datatype?: string[]; class?: string }
/** From DCAT-AP 3.0.0's shapes.ttl (cardinality, node kind, datatype) and range.ttl (sh:class of the ranges) for the four classes the test names. */
const SHAPES: Record<string, PropRule[]> = {
  [D + 'Catalog']: [
    { path: T + 'title', min: 1, kind: 'literal' }, { path: T + 'description', min: 1, kind: 'literal' },
    { path: T + 'publisher', min: 1, max: 1, class: F + 'Agent' }, { path: F + 'homepage', max: 1 }, { path: T + 'license', max: 1 },
    { path: T + 'issued', max: 1, datatype: ['date', 'dateTime', 'gYear', 'gYearMonth'] }, { path: T + 'modified', max: 1, datatype: ['date', 'dateTime', 'gYear', 'gYearMonth'] },
    { path: D + 'dataset', class: D + 'Dataset' },
  ],
  [D + 'Dataset']: [
    { path: T + 'title', min: 1, kind: 'literal' }, { path: T + 'description', min: 1, kind: 'literal' }, { path: T + 'identifier', kind: 'literal' },
    { path: T + 'publisher', max: 1, class: F + 'Agent' }, { path: T + 'accrualPeriodicity', max: 1, class: T + 'Frequency' },
    { path: T + 'issued', max: 1, datatype: ['date', 'dateTime', 'gYear', 'gYearMonth'] }, { path: T + 'modified', max: 1, datatype: ['date', 'dateTime', 'gYear', 'gYearMonth'] },
    { path: D + 'distribution', class: D + 'Distribution' }, { path: T + 'temporal', class: T + 'PeriodOfTime' }, { path: T + 'spatial', class: T + 'Location' },
    { path: D + 'keyword', kind: 'literal' },
  ],
  [D + 'Distribution']: [
    { path: D + 'accessURL', min: 1, kind: 'iri' }, { path: D + 'downloadURL', kind: 'iri' }, { path: D + 'mediaType', max: 1, class: T + 'MediaType' },
    { path: T + 'format', max: 1 }, { path: T + 'license', max: 1, class: T + 'LicenseDocument' }, { path: D + 'byteSize', max: 1, datatype: ['decimal'] },
    { path: T + 'title', kind: 'literal' },
  ],
  [F + 'Agent']: [{ path: F + 'name', min: 1, kind: 'literal' }, { path: T + 'type', max: 1 }],
  [T + 'PeriodOfTime']: [{ path: D + 'startDate', max: 1, datatype: ['date', 'dateTime', 'gYear', 'gYearMonth'] }, { path: D + 'endDate', max: 1, datatype: ['date', 'dateTime', 'gYear', 'gYearMonth'] }],
  [T + 'Location']: [{ path: D + 'bbox', max: 1, kind: 'literal' }, { path: D + 'centroid', max: 1, kind: 'literal' }],
};

/** The violations of the document against SHAPES: each names the node, the property and the rule. */
function dcatViolations(doc: Node): string[] {
  const ctx = doc['@context'] as Record<string, string>;
  const bad: string[] = [];
  for (const n of nodes(doc)) {
    for (const t of n.types) {
      for (const r of SHAPES[t] ?? []) {
        const vals = n.props.get(r.path) ?? [];
        const say = (what: string) => bad.push(`${n.where} (${t}) ${r.path}: ${what}`);
        if (r.min !== undefined && vals.length < r.min) say(`at least ${r.min} needed, has ${vals.length}`);
        if (r.max !== undefined && vals.length > r.max) say(`at most ${r.max}, has ${vals.length}`);
        for (const v of vals) {
          if (r.kind === 'literal' && !isLiteral(v)) say(`a literal needed, got ${JSON.stringify(v)}`);
          if (r.kind === 'iri' && !isIri(v)) say(`an IRI needed, got ${JSON.stringify(v)}`);
          if (r.datatype) {
            const dt = typeof v === 'object' && v !== null ? expand(ctx, String((v as Node)['@type'] ?? '')) : '';
            if (!r.datatype.some((x) => dt === XSD + x)) say(`a literal of ${r.datatype.map((x) => `xsd:${x}`).join(' or ')} needed, got ${JSON.stringify(v)}`);
          }
          if (r.class) {
            const types = typeof v === 'object' && v !== null ? [(v as Node)['@type'] ?? []].flat().map((x) => expand(ctx, String(x))) : [];
            if (!types.includes(r.class)) say(`a ${r.class} needed, got ${JSON.stringify(v).slice(0, 120)}`);
          }
        }
      }
    }
  }
  return bad;
}

// ------------------------------------------------------------ the server

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'citybrain-open-'));
  server = await startServer({
    scenario: generateGrid({ rows: 2, cols: 2 }), storeUrl: `sqlite:${join(dir, 'city.db')}`, port: 0, run: false, street: false, logger: false,
    printToken: () => {}, webRoot: false, auth: { rateLimit: false }, hub: { dir: join(dir, 'hub') },
    openData: { title: 'Test City open data', publisher: 'Test City', origin: { lon: 120.15, lat: 30.28 } },
  });
  tok.operator = server.createdTokens[0].token;
  assert.equal((await call('operator', 'POST', '/api/v1/hub/departments', { id: 'transport', name: 'Transport Bureau' })).status, 201);
  const r = await call('operator', 'POST', '/api/v1/tokens', { name: 'transport analyst', role: 'analyst', organisation: 'transport' });
  assert.equal(r.status, 201, r.text);
  tok.transport = r.json.token;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = { owner: 'transport', updateFrequency: 'daily', licence: 'CC-BY-4.0' };

test('the public datasets\' catalogue (no token) is DCAT-AP 3 JSON-LD: every mandatory property, cardinality and range class of Catalog, Dataset, Distribution and Agent holds', async () => {
  const roadworks = await call('transport', 'POST', '/api/v1/hub/datasets', {
    ...base, id: 'roadworks_plan', title: 'Planned roadworks', description: 'Lanes closed for works', classification: 'public',
    columns: [{ name: 'lane', type: 'string' }, { name: 'start', type: 'timestamp' }, { name: 'end', type: 'timestamp' }],
  });
  assert.equal(roadworks.status, 201, roadworks.text);
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets', {
    ...base, id: 'counts_internal', description: 'not for the public', classification: 'internal', columns: [{ name: 'n', type: 'integer' }],
  })).status, 201);
  const load = await call('transport', 'POST', '/api/v1/hub/datasets/roadworks_plan/load', 'lane,start,end\nroad_0_1_0_0,2024-05-01T08:00:00Z,2024-05-01T18:00:00Z\nroad_1_0_1_1,2024-05-02T08:00:00Z,2024-05-03T08:00:00Z\n', 'text/csv');
  assert.equal(load.status, 201, load.text);

  const r = await call(undefined, 'GET', '/api/v1/open/catalogue');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/ld\+json/);
  const doc = r.json as Node;
  assert.deepEqual(dcatViolations(doc), []);
  const all = nodes(doc);
  const datasets = all.filter((n) => n.types.includes(D + 'Dataset'));
  assert.deepEqual(datasets.map((d) => (d.props.get(T + 'identifier') ?? [])[0]), ['roadworks_plan'], 'only the public dataset');
  assert.equal(all.filter((n) => n.types.includes(D + 'Catalog')).length, 1);
  const ds = (doc['dcat:dataset'] as Node[])[0];
  assert.deepEqual(ds['dct:accrualPeriodicity'], { '@id': 'http://publications.europa.eu/resource/authority/frequency/DAILY', '@type': 'dct:Frequency' });
  assert.equal((ds['dct:publisher'] as Node)['foaf:name'], 'Transport Bureau');
  assert.deepEqual(ds['dct:temporal'], { '@type': 'dct:PeriodOfTime', 'dcat:startDate': { '@value': '2024-05-01T08:00:00.000Z', '@type': 'xsd:dateTime' }, 'dcat:endDate': { '@value': '2024-05-02T08:00:00.000Z', '@type': 'xsd:dateTime' } });
  assert.match(String(((ds['dct:spatial'] as Node)['dcat:bbox'] as Node)['@value']), /^POLYGON\(\(120\.1\d+ 30\.2\d+,/);
  const dists = ds['dcat:distribution'] as Node[];
  assert.deepEqual(dists.map((d) => (d['dcat:mediaType'] as Node)['@id']), ['http://www.iana.org/assignments/media-types/text/csv', 'http://www.iana.org/assignments/media-types/application/vnd.apache.parquet']);

  // the checks catch what the shapes forbid (they are not vacuous)
  const broken = structuredClone(doc);
  delete (broken['dcat:dataset'] as Node[])[0]['dct:title'];
  delete ((broken['dcat:dataset'] as Node[])[0]['dcat:distribution'] as Node[])[1]['dcat:accessURL'];
  delete (broken['dct:publisher'] as Node)['foaf:name'];
  assert.deepEqual(dcatViolations(broken).map((v) => v.replace(/^\S+ /, '')).sort(), [
    '(http://www.w3.org/ns/dcat#Dataset) http://purl.org/dc/terms/title: at least 1 needed, has 0',
    '(http://www.w3.org/ns/dcat#Distribution) http://www.w3.org/ns/dcat#accessURL: at least 1 needed, has 0',
    '(http://xmlns.com/foaf/0.1/Agent) http://xmlns.com/foaf/0.1/name: at least 1 needed, has 0',
  ]);

  // one dataset's description, and downloads: CSV and Parquet, without a token, audited as anonymous reads
  const one = await call(undefined, 'GET', '/api/v1/open/datasets/roadworks_plan');
  assert.equal(one.status, 200);
  assert.deepEqual(dcatViolations(one.json), []);
  const csv = await call(undefined, 'GET', '/api/v1/open/datasets/roadworks_plan/data.csv');
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.equal(csv.text.trim().split('\n')[0], 'lane,start,end');
  assert.equal(csv.text.trim().split('\n').length, 3);
  assert.match(csv.text, /road_0_1_0_0,2024-05-01 08:00:00/);
  const pq = await call(undefined, 'GET', '/api/v1/open/datasets/roadworks_plan/data.parquet');
  assert.equal(pq.status, 200);
  assert.equal(pq.headers.get('content-type'), 'application/vnd.apache.parquet');
  assert.equal(new TextDecoder().decode(pq.bytes.subarray(0, 4)), 'PAR1');
  const reads = await server.store.queryAudit({ target: 'dataset:roadworks_plan', action: 'hub.read', order: 'desc', limit: 10 });
  assert.deepEqual(reads.slice(0, 2).map((e: any) => [e.after.download, e.after.rows, e.actor.startsWith('anonymous (open data')]), [['parquet', 2, true], ['csv', 2, true]]);
  // not public: as if it did not exist, and nothing read
  for (const p of ['/api/v1/open/datasets/counts_internal/data.csv', '/api/v1/open/datasets/counts_internal']) assert.equal((await call(undefined, 'GET', p)).status, 404);
  assert.equal((await server.store.queryAudit({ target: 'dataset:counts_internal', action: 'hub.read', limit: 10 })).length, 0);
});

test('traffic observations as TrafficFlowObserved (NGSI-LD keyValues, no token), from the brain\'s lane estimate and KPIs', async () => {
  const net = server.runtime.twin.net;
  const lane = net.laneIndex.get('road_0_1_0_1')!;
  const inter = net.interIds[net.roadEndInter[net.laneRoad[lane]]];
  const t0 = server.runtime.ts;
  const events: LaneEvent[] = [0, 1, 2].map((k) => ({
    kind: 'lane', id: `e${k}`, device: 'cam-1', ts: t0 + k * 5000, intersection: inter, lane: 'road_0_1_0_1', count: 2, occupancy: 0.3, speed: 7.5, interval: 5, vehicles: 6, queue: 2,
  }));
  server.runtime.ingested(events);
  const r = await call(undefined, 'GET', '/open/ngsi-ld/v1/entities?type=TrafficFlowObserved&options=keyValues');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/ld\+json/);
  assert.equal(r.json.length, 1, 'one reported lane');
  const e = r.json[0];
  assert.equal(e.id, 'urn:ngsi-ld:TrafficFlowObserved:road_0_1_0_1');
  assert.equal(e.type, 'TrafficFlowObserved');
  assert.equal(e.dateObservedTo, new Date(t0 + 10_000).toISOString());
  assert.equal(e.dateObservedFrom, new Date(t0 + 10_000 - 300_000).toISOString());
  assert.equal(e.averageVehicleSpeed, 27);
  assert.equal(e.laneId, 2);
  assert.equal(e.refRoadSegment, 'urn:ngsi-ld:RoadSegment:road_0_1_0');
  assert.ok(Number.isInteger(e.intensity) && e.intensity > 0, `intensity ${e.intensity}`);
  assert.ok(e.occupancy > 0 && e.occupancy <= 1, `occupancy ${e.occupancy}`);
  assert.equal(e.location.type, 'LineString');
  assert.ok(e.location.coordinates.every(([lon, lat]: number[]) => Math.abs(lon - 120.15) < 0.05 && Math.abs(lat - 30.28) < 0.05));
  const byId = await call(undefined, 'GET', `/open/ngsi-ld/v1/entities/${encodeURIComponent(e.id)}`);
  assert.deepEqual(byId.json, e);
  assert.equal((await call(undefined, 'GET', '/open/ngsi-ld/v1/entities?type=ParkingSpot')).status, 400);
});

test('a roadworks dataset marked as a feed closes its lane in the brain\'s twin: its vehicles stop using it; unmarked, the lane opens', async () => {
  const twin = server.runtime.twin;
  const net = twin.net;
  const iso = (ms: number) => new Date(ms).toISOString();
  const entries = [...twin.entryLane].flatMap((e, l) => (e ? [l] : []));
  const buf = new Int32Array(256);
  /** 300 s of the whole loop (its controllers set the twin's signals) with demand at every entry (as detectors would measure it); the vehicles seen on each inner lane */
  const drive = async () => {
    for (const l of entries) twin.sim.setEntryRate(l, 0.4);
    const seen = new Map<number, Set<string>>();
    for (let t = 1; t <= 300; t++) {
      await server.runtime.stepOnce();
      for (let l = 0; l < net.nLanes; l++) {
        if (twin.entryLane[l]) continue;
        const n = twin.sim.laneVehicles(l, buf);
        for (let k = 0; k < n; k++) (seen.get(l) ?? seen.set(l, new Set()).get(l)!).add(twin.sim.vehicleId(buf[k]));
      }
    }
    return seen;
  };
  // open: the busiest inner lane of a road with other lanes
  const open = await drive();
  const [lane, openSeen] = [...open].filter(([l]) => net.roadLaneCount[net.laneRoad[l]] > 1).sort((a, b) => b[1].size - a[1].size)[0];
  const laneId = net.drivableId(lane);
  const road = net.laneRoad[lane];
  const others = [...Array(net.roadLaneCount[road]).keys()].map((k) => net.roadFirstLane[road] + k).filter((l) => l !== lane);

  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets', {
    ...base, id: 'works_feed', description: 'Roadworks the brain applies', classification: 'internal',
    columns: [{ name: 'lane', type: 'string' }, { name: 'start', type: 'timestamp' }, { name: 'end', type: 'timestamp' }],
  })).status, 201);
  const now = server.runtime.ts;
  const csv = `lane,start,end\n${laneId},${iso(now - 3_600_000)},${iso(now + 3_600_000)}\nnot_a_lane,${iso(now)},${iso(now + 1000)}\n`;
  assert.equal((await call('transport', 'POST', '/api/v1/hub/datasets/works_feed/load', csv, 'text/csv')).status, 201);
  // a column the kind needs missing: named
  const bad = await call('transport', 'PUT', '/api/v1/hub/datasets/counts_internal/feed', { kind: 'weather' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /a weather feed needs a column "time"/);
  const mark = await call('transport', 'PUT', '/api/v1/hub/datasets/works_feed/feed', { kind: 'roadworks' });
  assert.equal(mark.status, 200, mark.text);
  assert.deepEqual(mark.json.feedStatus, { dataset: 'works_feed', kind: 'roadworks', rows: 2, problems: ['row 1: lane "not_a_lane" is not a lane of this network'] });
  assert.equal(twin.isClosed(lane), true);
  const feeds = await call('transport', 'GET', '/api/v1/hub/feeds');
  assert.deepEqual(feeds.json.conditions.closedLanes, [laneId]);
  const audit = await server.store.queryAudit({ target: 'dataset:works_feed', order: 'desc', limit: 10 });
  assert.ok(audit.some((e: any) => e.action === 'hub.feed' && e.after.feed === 'roadworks'));
  assert.ok(audit.some((e: any) => e.action === 'hub.read' && e.actor === 'citybrain brain (dataset feeds)'));

  // closed: the vehicles drawn from now on keep off it (those routed over it before still drive it), the road's other lanes carry them
  const drawnAtClosure = twin.sim.drawnCount;
  const closed = await drive();
  const count = (seen: Map<number, Set<string>>, ls: number[]) => ls.reduce((n, l) => n + (seen.get(l)?.size ?? 0), 0);
  const drawnSince = (ids: Set<string> | undefined) => [...(ids ?? [])].filter((id) => Number(/^drawn_(\d+)$/.exec(id)?.[1] ?? -1) >= drawnAtClosure).length;
  const onLane = drawnSince(closed.get(lane));
  console.log(`# ${laneId}: open ${openSeen.size} vehicles in 300 s (its road's other lanes ${count(open, others)}); closed ${onLane} of the vehicles drawn since (all: ${closed.get(lane)?.size ?? 0}; others ${count(closed, others)})`);
  assert.ok(openSeen.size >= 20, `open, ${laneId} took ${openSeen.size}`);
  assert.ok(onLane <= openSeen.size * 0.1, `closed, ${laneId} took ${onLane} vehicles that came after it closed (open: ${openSeen.size})`);
  assert.ok(count(closed, others) > count(open, others), 'the road\'s other lanes took more');

  // unmarked: the conditions lift
  assert.equal((await call('transport', 'PUT', '/api/v1/hub/datasets/works_feed/feed', { kind: null })).status, 200);
  assert.equal(twin.isClosed(lane), false);
  assert.equal((await call('transport', 'GET', '/api/v1/hub/feeds')).json.conditions, null);
});
