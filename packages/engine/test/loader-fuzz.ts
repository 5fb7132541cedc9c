/**
 * Mutants of valid scenario files, for the loaders' fuzz test (and the CLI's):
 * a few edits to a small valid file, some blind (cut, copy, insert a token
 * anywhere), some aimed (a number, a quoted value, an element between two
 * tags, a DOCTYPE before the root, a JSON value at a path), so that mutants
 * both load and fail deep inside the loaders rather than at the first byte.
 */
import fc from 'fast-check';
import { generateGrid, parseFlows, parseRoadnet, parseSumoNet, parseSumoRoutes } from '@citybrain/engine';
import { NET, ROUTES } from './sumo-fixtures.js';

export type Syntax = 'json' | 'xml';

/** A file the fuzz mutates: its valid text, its loader, and the source labels its errors may name. */
export interface FuzzTarget {
  name: string;
  syntax: Syntax;
  /** the file's side of a scenario, and the other side's file, left valid */
  role: 'roadnet' | 'flow';
  partner: { source: string; text: string };
  sources: string[];
  seed: string;
  load(text: string): unknown;
}

const NUMBERS = ['0', '-0', '-1', '1e309', '-1e309', '1e-320', '0.5', '1e21', '9007199254740993', 'NaN', 'Infinity', '', ' ', '1,2', '0x10', '00', '1e', '-'];

const JSON_TOKENS = [
  '{', '}', '[', ']', ',', ':', '"', 'null', 'true', '{}', '[]', '""', '"\\u0000"', '"\\ud800"', '"__proto__"',
  '"__proto__":{"x":1},', '{"__proto__":null}', '"constructor"', '\ufeff', '\u2028', '/*', '//',
  '['.repeat(200), '{"a":'.repeat(200), ...NUMBERS,
];

const XML_TOKENS = [
  '<', '>', '/>', '</', '"', "'", '&', '&amp;', '&lt;', '&#0;', '&#x110000;', '&#xD800;', '&undefined;', '&x;', ']]>',
  '<![CDATA[', '<![CDATA[x]]>', '<!--', '-->', '<!-- c -->', '<?pi x?>', '<?xml version="1.0"?>', '<!DOCTYPE net>',
  '<!ENTITY x "y">', '<__proto__/>', '<constructor/>', '<edge __proto__="1"/>', ' id="dup"', ' id="v0"',
  '<vehicle id="v0" depart="0" route="r1"/>', '<flow id="f1" period="1" route="r1"/>', '<route id="r1" edges="wb"/>',
  '<edge id="wb"/>', '<junction id="B" x="0" y="0"/>', '<lane index="0" speed="1" shape="0,0 1,1"/>', '<phase duration="0" state=""/>',
  '<tlLogic id="B"/>', '<connection from="wb" to="be" fromLane="9" toLane="0"/>', '\u0000', '\uffff', '\r',
  `${'<a>'.repeat(150)}${'</a>'.repeat(150)}`, `${'<a>'.repeat(20)}${'</a>'.repeat(20)}`, ...NUMBERS,
];

/** What may stand in front of the root element. */
const PROLOGS = [
  '<!DOCTYPE net [<!ENTITY x SYSTEM "file:///etc/passwd">]>', '<!DOCTYPE r [<!ENTITY x "xx">]>',
  `<!DOCTYPE r [<!ENTITY x "${'x'.repeat(20_000)}">]>`, '<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>',
  '<!DOCTYPE r [<!ENTITY a "&b;&b;"><!ENTITY b "&a;&a;">]>', '<!DOCTYPE r [<!ELEMENT r ANY>]>', '<!DOCTYPE r SYSTEM "r.dtd">',
  '<!DOCTYPE r>', '<!DOCTYPE a><!DOCTYPE b>', '<?xml version="1.0"?>', '<!-- x -->', '<r/>',
];

type Edit =
  | { op: 'cut'; at: number; len: number }
  | { op: 'copy'; at: number; len: number; to: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'afterTag'; which: number; text: string }
  | { op: 'number'; which: number; text: string }
  | { op: 'quoted'; which: number; text: string }
  | { op: 'prolog'; text: string }
  | { op: 'truncate'; at: number };

/** a JSON-level edit: set or delete the value at the n-th node of the parsed file */
type JsonEdit = { op: 'set'; which: number; value: unknown } | { op: 'delete'; which: number };

function edits(syntax: Syntax): fc.Arbitrary<Edit[]> {
  const tokens = syntax === 'json' ? JSON_TOKENS : XML_TOKENS;
  const token = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
  const pos = fc.nat({ max: 1 << 20 });
  const len = fc.integer({ min: 1, max: 60 });
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ op: fc.constant('cut' as const), at: pos, len }),
    fc.record({ op: fc.constant('copy' as const), at: pos, len, to: pos }),
    fc.record({ op: fc.constant('insert' as const), at: pos, text: token }),
    fc.record({ op: fc.constant('afterTag' as const), which: pos, text: token }),
    fc.record({ op: fc.constant('number' as const), which: pos, text: fc.constantFrom(...NUMBERS) }),
    fc.record({ op: fc.constant('quoted' as const), which: pos, text: token }),
    fc.record({ op: fc.constant('truncate' as const), at: pos }),
    ...(syntax === 'xml' ? [fc.record({ op: fc.constant('prolog' as const), text: fc.constantFrom(...PROLOGS) })] : []),
  );
  return fc.array(edit, { minLength: 1, maxLength: 3 });
}

/** Start of the n-th (mod count) match of `re` in `s`, with its length; undefined if none. */
function nth(s: string, re: RegExp, n: number): { at: number; len: number } | undefined {
  const all = [...s.matchAll(re)];
  if (all.length === 0) return undefined;
  const m = all[n % all.length];
  return { at: m.index!, len: m[0].length };
}

function apply(s: string, e: Edit, syntax: Syntax): string {
  const at = (p: number) => p % (s.length + 1);
  switch (e.op) {
    case 'cut': return s.slice(0, at(e.at)) + s.slice(at(e.at) + e.len);
    case 'copy': return s.slice(0, at(e.to)) + s.slice(at(e.at), at(e.at) + e.len) + s.slice(at(e.to));
    case 'insert': return s.slice(0, at(e.at)) + e.text + s.slice(at(e.at));
    case 'truncate': return s.slice(0, at(e.at));
    case 'prolog': {
      // after the XML declaration, where a DOCTYPE belongs
      const decl = /^<\?xml[^>]*\?>\s*/.exec(s);
      const k = decl ? decl[0].length : 0;
      return s.slice(0, k) + e.text + '\n' + s.slice(k);
    }
    case 'afterTag': {
      const m = nth(s, />/g, e.which);
      return m ? s.slice(0, m.at + 1) + e.text + s.slice(m.at + 1) : s + e.text;
    }
    case 'number': {
      const m = nth(s, /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, e.which);
      return m ? s.slice(0, m.at) + e.text + s.slice(m.at + m.len) : s;
    }
    case 'quoted': {
      // the inside of a JSON string or an XML attribute value
      const m = nth(s, syntax === 'json' ? /"(?:[^"\\]|\\.)*"/g : /"[^"]*"/g, e.which);
      return m ? s.slice(0, m.at + 1) + e.text + s.slice(m.at + m.len - 1) : s;
    }
  }
}

const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    which: fc.nat({ max: 1 << 20 }),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom<unknown>(null, -1, 0, 1e308, -1e-300, 0.001, 1e9, '', 'x', [], {}, [0], [[0, 0]], { x: 0, y: 0 }),
    ),
  }),
  fc.record({ op: fc.constant('delete' as const), which: fc.nat({ max: 1 << 20 }) }),
);

/** Applies a JSON-level edit to the n-th (mod count) value below the root, in document order. */
function applyJson(root: unknown, e: JsonEdit): unknown {
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((c, i) => { slots.push({ parent: v, key: i }); walk(c); });
    else if (typeof v === 'object' && v !== null) for (const [k, c] of Object.entries(v)) { slots.push({ parent: v as Record<string, unknown>, key: k }); walk(c); }
  };
  walk(root);
  if (slots.length === 0) return root;
  const { parent, key } = slots[e.which % slots.length];
  if (e.op === 'set') (parent as Record<string | number, unknown>)[key] = e.value;
  else if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key as string];
  return root;
}

/** Mutants of `seed`: JSON files get up to two value-level edits first, then one to three text edits or none. */
export function mutants(seed: string, syntax: Syntax): fc.Arbitrary<string> {
  const text = fc.oneof(edits(syntax), fc.constant([] as Edit[]));
  if (syntax === 'xml') return edits(syntax).map((es) => es.reduce((s, e) => apply(s, e, syntax), seed));
  return fc.tuple(fc.array(jsonEdit, { maxLength: 2 }), text)
    .filter(([js, es]) => js.length + es.length > 0)
    .map(([js, es]) => {
      const doc = js.reduce((v, e) => applyJson(v, e), JSON.parse(seed) as unknown);
      return es.reduce((s, e) => apply(s, e, syntax), JSON.stringify(doc, null, 1));
    });
}

/** A 1 x 1 grid; laneLink points kept on one roadLink only, so that edits land on more than coordinates. */
function cityflowSeed() {
  const { roadnet, flows } = generateGrid({ rows: 1, cols: 1 });
  let kept = false;
  for (const i of roadnet.intersections) {
    for (const l of i.roadLinks) {
      if (kept) for (const ll of l.laneLinks) ll.points = [];
      kept = true;
    }
  }
  return { roadnet: JSON.stringify(roadnet, null, 1), flows: JSON.stringify(flows.slice(0, 4), null, 1) };
}

/** The four files: each mutated while its partner stays valid. */
export function fuzzTargets(): FuzzTarget[] {
  const cf = cityflowSeed();
  const roadnet = parseRoadnet(cf.roadnet, 'roadnet.json');
  const net = parseSumoNet(NET, 'city.net.xml');
  return [
    {
      name: 'CityFlow roadnet', syntax: 'json', role: 'roadnet', partner: { source: 'flow.json', text: cf.flows },
      sources: ['roadnet.json', 'flow.json'], seed: cf.roadnet,
      // a roadnet that loads is used with the flows (which may then not fit it)
      load: (t) => parseFlows(cf.flows, 'flow.json', parseRoadnet(t, 'roadnet.json')),
    },
    {
      name: 'CityFlow flow', syntax: 'json', role: 'flow', partner: { source: 'roadnet.json', text: cf.roadnet },
      sources: ['flow.json'], seed: cf.flows, load: (t) => parseFlows(t, 'flow.json', roadnet),
    },
    {
      name: 'SUMO net', syntax: 'xml', role: 'roadnet', partner: { source: 'city.rou.xml', text: ROUTES },
      sources: ['city.net.xml', 'city.rou.xml'], seed: NET,
      load: (t) => parseSumoRoutes(ROUTES, parseSumoNet(t, 'city.net.xml'), 'city.rou.xml'),
    },
    {
      name: 'SUMO routes', syntax: 'xml', role: 'flow', partner: { source: 'city.net.xml', text: NET },
      sources: ['city.rou.xml'], seed: ROUTES, load: (t) => parseSumoRoutes(t, net, 'city.rou.xml'),
    },
  ];
}
